"""A local fpm registry folder as sync and mirror keep it: the version folders, the state
file saying what fpmreg put there, and the fpm config that points at it."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import tomli_w

from fpmreg.client.download import Wanted
from fpmreg.client.errors import ClientError, UsageError
from fpmreg.client.index import write_atomically
from fpmreg.core.unpack import UnpackError, extract_package

# What fpmreg installed in a folder, so a later run knows what is its to replace.
SYNC_STATE = ".fpmreg-sync.json"
MIRROR_STATE = ".fpmreg-mirror.json"
STATE_FORMAT = 1


def read_state(path: Path) -> dict[str, Any]:
    """A folder's state file, empty when absent or unreadable (then all is redone)."""
    try:
        state = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return state if isinstance(state, dict) and state.get("format") == STATE_FORMAT else {}


def write_state(path: Path, entries: dict[str, Any], key: str) -> None:
    """Write a state file, `{"format": 1, key: entries}` sorted, unless it holds that."""
    document = {"format": STATE_FORMAT, key: dict(sorted(entries.items()))}
    write_if_changed(path, json.dumps(document, indent=2, ensure_ascii=False) + "\n")


def install(wanted: Wanted, data: bytes, root: Path) -> None:
    """Unpack a verified tarball into its version folder (atomically replaced)."""
    try:
        extract_package(data, wanted.folder(root))
    except UnpackError as exc:
        raise ClientError(f"{wanted.label} cannot be unpacked: {exc}") from exc


def fpm_config_text(registry_path: str, writer: str) -> str:
    """An fpm global config whose only setting is the local registry `path`
    (docs/fpm-protocol.md §2.1)."""
    try:
        registry_path.encode("utf-8")
    except UnicodeEncodeError:
        # A file name that is not UTF-8: Python keeps its bytes as lone surrogates.
        shown = registry_path.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
        raise UsageError(
            f"the path of `{shown}` is not UTF-8, and a TOML file cannot name it for fpm: "
            "choose a folder whose path is UTF-8 (`--dest`)"
        ) from None
    return f"# Written by `{writer}`: pass it to fpm with `--config-file`.\n" + tomli_w.dumps(
        {"registry": {"path": registry_path}}
    )


def write_if_changed(path: Path, text: str) -> bool:
    """Write `text` to `path` unless it already holds exactly that; True when written."""
    try:
        if path.read_text(encoding="utf-8") == text:
            return False
    except (OSError, UnicodeError):
        pass
    write_atomically(path, text.encode("utf-8"))
    return True


def shown_path(path: Path) -> str:
    """`path` relative to the current folder when it is below it, else absolute."""
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path.resolve())


def remove_tree(path: Path) -> None:
    """Remove a version or package folder (or whatever file or link is in its place)."""
    if path.is_symlink() or not path.is_dir():
        path.unlink(missing_ok=True)
    else:
        shutil.rmtree(path)
