"""Build package tarballs in memory, shaped as `git archive HEAD --format=tar.gz` makes them."""

from __future__ import annotations

import gzip
import io
import tarfile
from typing import Any

DEFAULT_LICENSE = "MIT"


def manifest(
    name: str, version: str = "0.1.0", license: str = DEFAULT_LICENSE, extra: str = ""
) -> str:
    """A minimal publishable fpm.toml."""
    return (
        f'name = "{name}"\nversion = "{version}"\nlicense = "{license}"\n'
        f'description = "The {name} package"\nauthor = "A. Fortran"\n'
        f"[build]\nmodule-naming = true\n{extra}"
    )


def library_source(name: str) -> str:
    """A one-module library obeying fpm's module naming."""
    module = name.replace("-", "_")
    return (
        f"module {module}\n  implicit none\ncontains\n"
        f"  integer function {module}_answer()\n    {module}_answer = 42\n"
        f"  end function\nend module {module}\n"
    )


def tarball(files: dict[str, str | bytes]) -> bytes:
    """A gzip tar with exactly these files at the root."""
    buffer = io.BytesIO()
    # A fixed gzip timestamp: the same files always give the same bytes (and sha256).
    with (
        gzip.GzipFile(fileobj=buffer, mode="wb", mtime=0) as gz,
        tarfile.open(fileobj=gz, mode="w") as tar,
    ):
        for path, content in files.items():
            data = content.encode() if isinstance(content, str) else content
            info = tarfile.TarInfo(path)
            info.size = len(data)
            info.mode = 0o644
            tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def package_tarball(
    name: str,
    version: str = "0.1.0",
    license: str = DEFAULT_LICENSE,
    *,
    readme: str | None = None,
    extra_manifest: str = "",
    files: dict[str, str | bytes] | None = None,
) -> bytes:
    """A valid package tarball: fpm.toml, one library module, a README and a LICENSE."""
    contents: dict[str, str | bytes] = {
        "fpm.toml": manifest(name, version, license, extra_manifest),
        f"src/{name.replace('-', '_')}.f90": library_source(name),
        "README.md": readme if readme is not None else f"# {name}\n\nA Fortran package.\n",
        "LICENSE": "MIT License\n",
    }
    contents.update(files or {})
    return tarball(contents)


def fpm_publish_form(
    name: str, version: str, license: str, token: str, data: bytes
) -> dict[str, Any]:
    """`data=` and `files=` for httpx, as `fpm publish` sends them through `curl -F`:
    fields in fpm's order, the token last, an extension-less temp-file name."""
    return {
        "data": {
            "package_name": name,
            "package_license": license,
            "package_version": version,
            "upload_token": token,
        },
        "files": {"tarball": ("fileB0Nbbs", data, "application/octet-stream")},
    }
