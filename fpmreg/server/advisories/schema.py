"""Validation of OSV records against the vendored official schema plus a small overlay.

The official schema (`osv-schema/schema.json`, ossf/osv-schema) lists its ecosystems
and home-database id prefixes as closed sets. The overlay (docs/advisories.md,
"Validation") widens exactly three definitions, each to "the official definition OR
ours": `ecosystemName` gains `fpm`, `ecosystemWithSuffix` gains `fpm` and `fpm:...`,
and `prefix` gains `<configured prefix>-`. Everything else is the schema unchanged.
"""

from __future__ import annotations

import copy
import json
import re
from functools import lru_cache
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator

from fpmreg.core.advisory import FPM_ECOSYSTEM
from fpmreg.core.problem import Problem

SCHEMA_PATH = Path(__file__).parent / "osv-schema" / "schema.json"
# A record with more problems than this is reported by its first few.
MAX_REPORTED_PROBLEMS = 10


@lru_cache(maxsize=1)
def official_schema() -> dict[str, Any]:
    """The vendored official OSV schema, as published."""
    loaded: dict[str, Any] = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    return loaded


def overlay_schema(prefix: str) -> dict[str, Any]:
    """The official schema with the `fpm` ecosystem and the `prefix-` ids added."""
    schema = copy.deepcopy(official_schema())
    defs = schema["$defs"]
    defs["ecosystemName"] = {
        "anyOf": [defs["ecosystemName"], {"const": FPM_ECOSYSTEM}],
    }
    defs["ecosystemWithSuffix"] = {
        "anyOf": [
            defs["ecosystemWithSuffix"],
            {"type": "string", "pattern": f"^{FPM_ECOSYSTEM}(:.+)?$"},
        ]
    }
    defs["prefix"] = {
        "anyOf": [defs["prefix"], {"type": "string", "pattern": f"^{re.escape(prefix)}-"}]
    }
    return schema


@lru_cache(maxsize=8)
def validator(prefix: str) -> Draft202012Validator:
    """A validator of the overlay schema for `prefix` (cached per prefix)."""
    schema = overlay_schema(prefix)
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER)


def record_problems(record: Any, prefix: str) -> list[Problem]:
    """Every way `record` breaks the OSV schema (with the overlay), as problems."""
    errors = sorted(validator(prefix).iter_errors(record), key=lambda e: list(e.absolute_path))
    problems = []
    for error in errors[:MAX_REPORTED_PROBLEMS]:
        where = "/".join(str(p) for p in error.absolute_path) or "record"
        problems.append(
            Problem(
                "osv-schema",
                where,
                f"the OSV record does not match the OSV schema at `{where}`: {error.message}",
            )
        )
    return problems


def is_valid(record: Any, prefix: str) -> bool:
    """Whether `record` validates against the overlay schema for `prefix`."""
    return bool(validator(prefix).is_valid(record))
