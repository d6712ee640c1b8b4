"""The `fpmreg-server` entry point: the real command line, or one line saying which extra
to install when the server's packages are missing (README.md, "Install").

`pip install fpmreg` installs the client alone, and with it this script; the server's
packages come with `pip install 'fpmreg[server]'`. This module imports nothing of the
server until it runs, so that a client-only install gets a sentence, not a traceback.
"""

from __future__ import annotations

import sys

SERVER_EXTRA_HINT = "fpmreg-server needs the server extra: pip install 'fpmreg[server]'"

# Import names of the `server` extra's packages (pyproject.toml) and of what they pull in.
SERVER_PACKAGES = frozenset(
    {
        "fastapi",
        "starlette",
        "uvicorn",
        "gunicorn",
        "sqlalchemy",
        "alembic",
        "psycopg",
        "pydantic_settings",
        "jinja2",
        "multipart",
        "python_multipart",
        "argon2",
        "markdown_it",
        "prometheus_client",
        "limits",
        "redis",
        "zxcvbn",
        "pyotp",
        "segno",
        "jsonschema",
        "cvss",
        "boto3",
        "botocore",
    }
)


def missing_server_package(exc: ModuleNotFoundError) -> str | None:
    """The server-extra package `exc` says is missing, or None for any other module."""
    top = (exc.name or "").partition(".")[0]
    return top if top in SERVER_PACKAGES else None


def main() -> None:
    """Run `fpmreg-server`; exit 2 with a one-line hint when the server extra is missing."""
    try:
        from fpmreg.server.cli import main as server_main

        server_main()
    except ModuleNotFoundError as exc:
        missing = missing_server_package(exc)
        if missing is None:
            raise
        print(f"{SERVER_EXTRA_HINT} (`{missing}` is not installed)", file=sys.stderr)
        raise SystemExit(2) from None
