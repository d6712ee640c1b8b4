"""Where a release's source repository is: the package page links it, CodeMeta and the
page's JSON-LD name it as `codeRepository` (docs/pages.md, "Package pages";
docs/linked-data.md)."""

from __future__ import annotations

import tomllib
from typing import Any
from urllib.parse import urlsplit

from fpmreg.server.packages.models import Version

# Hosts whose pages are source repositories: a homepage there is shown as the
# repository too (a subdomain counts: `git.sr.ht`, `www.github.com`).
FORGES = ("github.com", "gitlab.com", "codeberg.org", "sr.ht", "bitbucket.org")
# Where fpm.toml may name the repository: fpm ignores `[extra]`, so these are free.
REPOSITORY_KEYS = (("extra", "repository"), ("extra", "fpmreg", "repository"))


def _web_url(value: object) -> str:
    """`value` if it is an http(s) URL with a host, else ""."""
    if not isinstance(value, str):
        return ""
    parts = urlsplit(value.strip())
    return value.strip() if parts.scheme in ("https", "http") and parts.hostname else ""


def _is_forge(url: str) -> bool:
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    on_forge = any(host == f or host.endswith("." + f) for f in FORGES)
    return on_forge and parts.path.strip("/") != ""


def _lookup(table: dict[str, Any], keys: tuple[str, ...]) -> object:
    value: object = table
    for key in keys:
        value = value.get(key) if isinstance(value, dict) else None
    return value


def repository_link(version: Version) -> str:
    """The source repository of a version: `[extra] repository` (or
    `[extra.fpmreg] repository`) of its fpm.toml, else its homepage when that is on a
    forge; "" when neither says."""
    try:
        manifest = tomllib.loads(version.manifest or "")
    except tomllib.TOMLDecodeError:
        manifest = {}
    for keys in REPOSITORY_KEYS:
        url = _web_url(_lookup(manifest, keys))
        if url:
            return url
    homepage = _web_url(version.homepage)
    return homepage if homepage and _is_forge(homepage) else ""
