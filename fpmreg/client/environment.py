"""What every client request and cache shares, kept free of heavy imports so a command
that needs only these (`fpmreg verify`) starts quickly: the user agent, the CI header
and the cache folder."""

from __future__ import annotations

import os
from pathlib import Path

from fpmreg import __version__

USER_AGENT = f"fpmreg/{__version__}"
CI_HEADER = "X-Fpmreg-CI"
_FALSE = {"", "0", "false", "no", "off"}
# Not a secret, a folder: `$XDG_CACHE_HOME/fpmreg`, else `~/.cache/fpmreg`.
CACHE_ENV = "XDG_CACHE_HOME"


def in_ci() -> bool:
    """Whether env `CI` is set to a truthy value, as CI services set it."""
    return os.environ.get("CI", "").strip().lower() not in _FALSE


def request_headers(token: str | None = None, agent: str = USER_AGENT) -> dict[str, str]:
    """The headers of every request: who is calling, from CI or not, and the token."""
    headers = {"User-Agent": agent}
    if in_ci():
        headers[CI_HEADER] = "1"
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    return headers


def cache_root() -> Path:
    """`$XDG_CACHE_HOME/fpmreg`, `~/.cache/fpmreg` when unset or relative (XDG spec)."""
    base = os.environ.get(CACHE_ENV, "")
    root = Path(base) if base and Path(base).is_absolute() else Path.home() / ".cache"
    return root / "fpmreg"
