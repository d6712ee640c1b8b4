"""Where the registry URL and the API token come from, and the file `fpmreg login` writes.

Order, first found wins: the command-line option, the environment (`FPMREG_TOKEN`,
`FPMREG_REGISTRY`), the config file, then the default registry. The file is TOML at
`$XDG_CONFIG_HOME/fpmreg/config.toml` (XDG Base Directory spec), mode 0600:

    registry = "https://registry.example.org"

    [registries."https://registry.example.org"]
    token = "fpmreg_..."
"""

from __future__ import annotations

import os
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import tomli_w

from fpmreg.client.errors import UsageError

DEFAULT_REGISTRY = "http://127.0.0.1:8000"
TOKEN_ENV = "FPMREG_TOKEN"  # noqa: S105 - the variable's name, not a secret
REGISTRY_ENV = "FPMREG_REGISTRY"
# What the registry issues: `fpmreg_` and `token_urlsafe` characters (docs/api-design.md,
# "Tokens"). Checked before use, so a pasted newline never reaches an HTTP header.
TOKEN_PATTERN = re.compile(r"fpmreg_[A-Za-z0-9_-]{16,}")
# Printable ASCII only: no space or control character can reach the file or a request.
_URL_CHARACTERS = re.compile(r"[!-~]+")
_HEADER = "# Written by `fpmreg login`. It holds API tokens: keep it private.\n"


@dataclass
class Config:
    """The config file's content: a default registry and one token per registry URL."""

    registry: str = ""
    tokens: dict[str, str] = field(default_factory=dict)


def config_path() -> Path:
    """`$XDG_CONFIG_HOME/fpmreg/config.toml`, `~/.config/...` when unset or relative."""
    base = os.environ.get("XDG_CONFIG_HOME", "")
    root = Path(base) if base and Path(base).is_absolute() else Path.home() / ".config"
    return root / "fpmreg" / "config.toml"


def normalize_registry(url: str) -> str:
    """An http(s) registry URL without a trailing slash; refuses anything else."""
    url = url.strip().rstrip("/")
    try:
        parsed = httpx.URL(url)
    except httpx.InvalidURL as exc:
        raise UsageError(f"registry URL `{url}` is not valid: {exc}") from exc
    if (
        parsed.scheme not in ("http", "https")
        or not parsed.host
        or not _URL_CHARACTERS.fullmatch(url)
        or parsed.query
        or parsed.fragment
    ):
        raise UsageError(
            f"registry URL `{url}` is not valid: give an http:// or https:// URL, "
            "e.g. `https://registry.example.org`"
        )
    return url


def load_config(path: Path) -> Config:
    """The config file, or an empty config when there is none."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return Config()
    except OSError as exc:
        raise UsageError(f"cannot read the config file `{path}`: {exc.strerror}") from exc
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise UsageError(
            f"the config file `{path}` is not valid TOML ({exc}): fix it, or delete it and "
            "run `fpmreg login` again"
        ) from exc
    config = Config(
        registry=raw.get("registry", "") if isinstance(raw.get("registry"), str) else ""
    )
    tables = raw.get("registries", {})
    for url, table in tables.items() if isinstance(tables, dict) else []:
        if isinstance(table, dict) and isinstance(table.get("token"), str):
            config.tokens[url.rstrip("/")] = table["token"]
    return config


def config_text(config: Config) -> str:
    """The TOML of the config file; `tomli_w` escapes whatever the values hold."""
    document: dict[str, Any] = {"registry": config.registry} if config.registry else {}
    document["registries"] = {url: {"token": token} for url, token in sorted(config.tokens.items())}
    return _HEADER + tomli_w.dumps(document)


def save_config(path: Path, config: Config) -> None:
    """Write the config atomically with mode 0600 (it holds tokens); remove it when empty."""
    if not config.tokens:
        path.unlink(missing_ok=True)
        return
    text = config_text(config)
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    # Created 0600 from the start: the token is never readable by others, not even briefly.
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise


def resolve_registry(option: str | None, config: Config) -> str:
    """`--registry`, else `FPMREG_REGISTRY`, else the config's, else the default."""
    for candidate in (option, os.environ.get(REGISTRY_ENV), config.registry):
        if candidate:
            return normalize_registry(candidate)
    return DEFAULT_REGISTRY


def check_token(token: str, source: str) -> str:
    """`token` when it looks like a registry token; the message never repeats it."""
    token = token.strip()
    if not TOKEN_PATTERN.fullmatch(token):
        raise UsageError(
            f"the token from {source} does not look like an fpmreg token (`fpmreg_` "
            "followed by letters, digits, `-` and `_`): copy it again from your account's "
            "token page"
        )
    return token


def resolve_token(option: str | None, config: Config, registry: str) -> str:
    """`--token`, else `FPMREG_TOKEN`, else the token saved for `registry` by `login`."""
    if option:
        return check_token(option, "`--token`")
    from_env = os.environ.get(TOKEN_ENV)
    if from_env:
        return check_token(from_env, f"`{TOKEN_ENV}`")
    saved = config.tokens.get(registry)
    if saved:
        return check_token(saved, f"the config file for `{registry}`")
    raise UsageError(
        f"no token for `{registry}`: pass `--token`, set `{TOKEN_ENV}`, or run "
        f"`fpmreg login --registry {registry}`"
    )
