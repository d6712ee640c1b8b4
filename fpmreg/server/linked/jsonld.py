"""JSON-LD without the network: a pyld document loader that answers from the contexts
vendored in `contexts/` and refuses every other URL (docs/linked-data.md, "Contexts")."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

CONTEXTS_DIR = Path(__file__).with_name("contexts")


class UnknownContext(ValueError):
    """A document names a context that is not vendored: it is never fetched."""


@cache
def vendored() -> dict[str, Any]:
    """Every vendored context by its URL. Each file of `contexts/` is one JSON object:
    `{"url": ..., "source": where it was copied from, "license": ..., "document": {...}}`,
    so adding a context is adding a file."""
    found: dict[str, Any] = {}
    for path in sorted(CONTEXTS_DIR.glob("*.json")):
        entry = json.loads(path.read_text(encoding="utf-8"))
        found[entry["url"]] = entry["document"]
    return found


def load_document(url: str, options: object = None) -> dict[str, Any]:
    """pyld's `documentLoader`: the vendored copy of `url`, or `UnknownContext`."""
    document = vendored().get(url.rstrip("#"))
    if document is None:
        raise UnknownContext(
            f"the JSON-LD context `{url[:200]}` is not vendored, and is never fetched"
        )
    return {"contentType": "application/ld+json", "contextUrl": None,
            "documentUrl": url, "document": document}  # fmt: skip
