"""Tarballs for the upload scenarios: a big realistic package and gzip bombs.

Both are built deterministically (fixed seeds, gzip mtime 0) and streamed: the bombs
never hold more than one chunk of their gigabyte in memory.
"""

from __future__ import annotations

import gzip
import io
import random
import tarfile
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from tests.support.tarballs import DEFAULT_LICENSE, manifest

_CHUNK = 1024 * 1024
# What tar.close() and the gzip trailer add after the last data file: two zero blocks,
# padding to a 10 KiB record (compressed to a few bytes) and 8 bytes of trailer.
_END_MARGIN = 4 * 1024
# `git archive --format=tar.gz` compresses with zlib's default level.
_GIT_ARCHIVE_LEVEL = 6

_WORDS = (
    "grid", "flux", "state", "field", "mesh", "coef", "weight", "norm", "resid", "temp",
    "press", "dens", "vel", "accel", "mass", "energy", "phase", "spec", "mode", "wave",
    "knot", "node", "edge", "cell", "face", "bound", "halo", "stage", "step", "order",
)  # fmt: skip
_OPS = ("+", "-", "*")


@dataclass(frozen=True)
class BigPackage:
    """A publishable package tarball close to the compressed size limit."""

    name: str
    version: str
    data: bytes
    sources: int
    data_files: int
    members: int
    uncompressed_bytes: int  # file contents, as the archive reader counts them

    @property
    def compressed_bytes(self) -> int:
        """The tarball's size."""
        return len(self.data)

    def describe(self) -> dict[str, int | float | str]:
        """JSON-ready facts about the tarball."""
        return {
            "package": f"{self.name}@{self.version}",
            "compressed_bytes": self.compressed_bytes,
            "uncompressed_bytes": self.uncompressed_bytes,
            "ratio": round(self.uncompressed_bytes / self.compressed_bytes, 2),
            "members": self.members,
            "fortran_sources": self.sources,
            "data_files": self.data_files,
        }


def _name(rng: random.Random) -> str:
    return f"{rng.choice(_WORDS)}_{rng.choice(_WORDS)}"


def _real(rng: random.Random) -> str:
    return f"{rng.uniform(-10, 10):.15e}_dp"


def _procedure(rng: random.Random, part: int, index: int) -> str:
    """One documented subroutine: a stencil over arrays with random coefficients."""
    name = f"{_name(rng)}_{part:04d}_{index:02d}"
    x, y, z = (_name(rng) for _ in range(3))
    terms = " &\n           ".join(
        f"{rng.choice(_OPS)} {_real(rng)} * {x}(i{offset:+d})" for offset in (-1, 0, 1)
    )
    lines = [
        f"  !> Apply the {name.replace('_', ' ')} stencil to `{x}`, scaled by `alpha`,",
        f"  !> and accumulate the result in `{y}` (boundary cells are left alone).",
        f"  pure subroutine {name}(n, {x}, {y}, alpha)",
        "    integer(i32), intent(in) :: n",
        f"    real(dp), intent(in) :: {x}(n), alpha",
        f"    real(dp), intent(inout) :: {y}(n)",
        f"    real(dp) :: {z}",
        "    integer(i32) :: i",
        "",
        "    do i = 2, n - 1",
        f"      {z} = 0.0_dp {terms}",
        f"      {y}(i) = {y}(i) + alpha * {z}",
        "    end do",
        f"  end subroutine {name}",
        "",
    ]
    return "\n".join(lines)


def fortran_module(module: str, part: int, rng: random.Random) -> str:
    """A library module of numerical kernels named as fpm requires (`{pkg}__partN`)."""
    count = rng.randint(12, 40)
    bodies = [_procedure(rng, part, i) for i in range(count)]
    names = [body.split("pure subroutine ", 1)[1].split("(", 1)[0] for body in bodies]
    table = ", &\n    ".join(_real(rng) for _ in range(16))
    public = ", &\n    ".join(names)
    return (
        f"!> {module}: numerical kernels, part {part}.\n"
        f"module {module}\n"
        "  use, intrinsic :: iso_fortran_env, only: dp => real64, i32 => int32\n"
        "  implicit none\n  private\n\n"
        f"  public :: {public}\n\n"
        f"  real(dp), parameter, public :: table_{part:04d}(16) = [ &\n    {table} ]\n\n"
        "contains\n\n" + "".join(bodies) + f"end module {module}\n"
    )


def numeric_table(rng: random.Random, rows: int) -> str:
    """A whitespace-separated table of measurements: the least compressible kind of text."""
    header = "# step        time               " + "  ".join(f"c{k:<20d}" for k in range(6))
    lines = [header]
    for row in range(rows):
        values = "  ".join(f"{rng.gauss(0.0, 1e3):+.14e}" for _ in range(6))
        lines.append(f"{row:8d}  {row * 1e-3:.10e}  {values}")
    return "\n".join(lines) + "\n"


class _Writer:
    """A tar.gz being written into memory, whose compressed size is known after each file."""

    def __init__(self, buffer: io.BytesIO, gz: gzip.GzipFile, tar: tarfile.TarFile) -> None:
        self.buffer, self.gz, self.tar = buffer, gz, tar
        self.members = 0
        self.content_bytes = 0
        self.data_files = 0

    def directory(self, path: str) -> None:
        info = tarfile.TarInfo(path)
        info.type = tarfile.DIRTYPE
        info.mode = 0o755
        self.tar.addfile(info)
        self.members += 1

    def file(self, path: str, text: str) -> None:
        data = text.encode()
        info = tarfile.TarInfo(path)
        info.size = len(data)
        info.mode = 0o644
        self.tar.addfile(info, io.BytesIO(data))
        self.members += 1
        self.content_bytes += len(data)

    def compressed_so_far(self) -> int:
        """Bytes written so far, once zlib has flushed what it holds (a sync flush)."""
        self.gz.flush(zlib.Z_SYNC_FLUSH)
        return self.buffer.tell()


def big_package(
    name: str,
    version: str,
    *,
    limit: int,
    sources: int = 1200,
    seed: int = 20240601,
) -> BigPackage:
    """fpm.toml, README, LICENSE, `sources` modules under src/ (plus the root module),
    then numeric tables under data/ until the tarball is within a few KiB of `limit`."""
    rng = random.Random(seed)
    buffer = io.BytesIO()
    with (
        gzip.GzipFile(fileobj=buffer, mode="wb", compresslevel=_GIT_ARCHIVE_LEVEL, mtime=0) as gz,
        tarfile.open(fileobj=gz, mode="w", format=tarfile.PAX_FORMAT) as tar,
    ):
        writer = _Writer(buffer, gz, tar)
        _fill(writer, name, version, limit, sources, rng)
    data = buffer.getvalue()
    if len(data) > limit:
        raise ValueError(f"the package came out at {len(data)} bytes, over {limit}")
    return BigPackage(
        name, version, data, sources + 1, writer.data_files, writer.members, writer.content_bytes
    )


def _fill(
    writer: _Writer, name: str, version: str, limit: int, sources: int, rng: random.Random
) -> None:
    """Write the package's files; the tables stop when the next would not fit in `limit`."""
    module = name.replace("-", "_")
    writer.file("fpm.toml", manifest(name, version, DEFAULT_LICENSE))
    writer.file(
        "README.md",
        f"# {name}\n\nNumerical kernels in {sources} modules, with reference tables in "
        "`data/` for the tests.\n\n```toml\n[dependencies]\n"
        f'{name} = {{ namespace = "bench", v = "{version}" }}\n```\n',
    )
    writer.file("LICENSE", "MIT License\n\nCopyright (c) the bench authors\n")
    writer.directory("src")
    writer.file(
        f"src/{module}.f90",
        f"!> {name}: the package's entry module.\nmodule {module}\n  implicit none\n"
        f'  character(len=*), parameter, public :: version = "{version}"\nend module {module}\n',
    )
    for part in range(1, sources + 1):
        writer.file(
            f"src/{module}__part{part:04d}.f90",
            fortran_module(f"{module}__part{part:04d}", part, rng),
        )
    writer.directory("data")
    size = writer.compressed_so_far()
    if size + _END_MARGIN > limit:
        raise ValueError(f"{sources} sources alone compress to {size} bytes, over {limit}")
    bytes_per_row = 0.0  # compressed, learned from the tables written so far
    while True:
        room = limit - _END_MARGIN - size
        rows = 6000 if not bytes_per_row else min(6000, int(room * 0.9 / bytes_per_row))
        if rows < 50:
            break
        writer.file(f"data/table_{writer.data_files:03d}.dat", numeric_table(rng, rows))
        writer.data_files += 1
        grown = writer.compressed_so_far()
        bytes_per_row = (grown - size) / rows
        size = grown


# Gzip bombs ----------------------------------------------------------------------


class _Zeros(io.RawIOBase):
    """`size` zero bytes, read in chunks: a gigabyte that is never in memory at once."""

    def __init__(self, size: int) -> None:
        self.left = size

    def readable(self) -> bool:
        return True

    def read(self, n: int = -1) -> bytes:
        n = self.left if n < 0 else min(n, self.left)
        n = min(n, _CHUNK)
        self.left -= n
        return bytes(n)


@dataclass(frozen=True)
class GzipBomb:
    """A tar.gz of zeros on disk."""

    path: Path
    members: int
    member_bytes: int

    @property
    def compressed_bytes(self) -> int:
        """The file's size."""
        return self.path.stat().st_size

    @property
    def uncompressed_bytes(self) -> int:
        """What the members hold together."""
        return self.members * self.member_bytes

    def describe(self) -> dict[str, int | float]:
        """JSON-ready facts about the bomb."""
        return {
            "compressed_bytes": self.compressed_bytes,
            "uncompressed_bytes": self.uncompressed_bytes,
            "members": self.members,
            "member_bytes": self.member_bytes,
            "ratio": round(self.uncompressed_bytes / self.compressed_bytes),
        }

    def open(self) -> BinaryIO:
        """The tarball, for reading."""
        return self.path.open("rb")


def gzip_bomb(path: Path, *, total: int = 1 << 30, members: int = 1) -> GzipBomb:
    """Write a tar.gz whose `members` files hold `total` zero bytes between them,
    streaming the zeros through gzip (level 9) one chunk at a time."""
    member_bytes = total // members
    path.parent.mkdir(parents=True, exist_ok=True)
    with (
        path.open("wb") as raw,
        gzip.GzipFile(fileobj=raw, mode="wb", compresslevel=9, mtime=0) as gz,
        tarfile.open(fileobj=gz, mode="w", format=tarfile.PAX_FORMAT) as tar,
    ):
        for index in range(members):
            info = tarfile.TarInfo(f"data/zeros-{index:03d}.bin" if members > 1 else "zeros.bin")
            info.size = member_bytes
            info.mode = 0o644
            tar.addfile(info, _Zeros(member_bytes))
    return GzipBomb(path, members, member_bytes)


# Adversarial packages -------------------------------------------------------------

# What `adversarial_packages` scales each shape up to: the archive limits an upload must
# fit (the ratio limit is left out, so inputs past it measure the cost of their refusal).
_SCALE_LIMITS = (10 * 1024 * 1024, 100 * 1024 * 1024, 10_000)  # compressed, content, members
_MAX_SCALE = 1024


@dataclass(frozen=True)
class Built:
    """One adversarial tarball and what the archive limits count in it."""

    data: bytes
    content_bytes: int
    members: int

    def fits(self) -> bool:
        """Whether an attacker can send it: within the compressed, content and member limits."""
        compressed, content, members = _SCALE_LIMITS
        return (
            len(self.data) <= compressed
            and self.content_bytes <= content
            and self.members <= members
        )


@dataclass(frozen=True)
class Adversarial:
    """A package built to make the upload checks slow (each from an attacker's probe),
    at `scale` 1 as the probe was, and larger: `build(k)` repeats its shape k times."""

    name: str
    what: str
    build: Callable[[int], Built]
    scalable: bool = True

    @property
    def data(self) -> bytes:
        """The probe as it was (scale 1)."""
        return self.build(1).data

    def describe(self) -> dict[str, int | str]:
        """JSON-ready facts about it."""
        return {"what": self.what, "compressed_bytes": len(self.data)}

    def largest(self) -> tuple[int, Built]:
        """The largest power-of-two scale whose tarball still fits the archive limits."""
        scale, built = 1, self.build(1)
        while self.scalable and scale < _MAX_SCALE:
            bigger = self.build(scale * 2)
            if not bigger.fits():
                break
            scale, built = scale * 2, bigger
        return scale, built


def _adversarial_tarball(files: dict[str, str | bytes], tail: str = "") -> Built:
    """A publishable package (`adv`, module naming on) plus `files`, fpm.toml ending in
    `tail`, written as `git archive` would (pax headers for long names)."""
    base: dict[str, str | bytes] = {
        "fpm.toml": manifest("adv", "1.0.0", DEFAULT_LICENSE, tail),
        "README.md": "# adv\n",
        "LICENSE": "MIT\n",
        "src/adv.f90": "module adv\nend module adv\n",
    }
    buffer = io.BytesIO()
    content = 0
    everything = {**base, **files}
    with (
        gzip.GzipFile(fileobj=buffer, mode="wb", compresslevel=_GIT_ARCHIVE_LEVEL, mtime=0) as gz,
        tarfile.open(fileobj=gz, mode="w", format=tarfile.PAX_FORMAT) as tar,
    ):
        for path, text in everything.items():
            data = text.encode() if isinstance(text, str) else text
            info = tarfile.TarInfo(path)
            info.size = len(data)
            info.mode = 0o644
            tar.addfile(info, io.BytesIO(data))
            content += len(data)
    return Built(buffer.getvalue(), content, len(everything))


def _pax_digits(members: int) -> Built:
    """Members whose pax headers hold 60,000 digits (CPython's parser: 4 s a header)."""
    buffer = io.BytesIO()
    with (
        gzip.GzipFile(fileobj=buffer, mode="wb", mtime=0) as gz,
        tarfile.open(fileobj=gz, mode="w", format=tarfile.PAX_FORMAT) as tar,
    ):
        info = tarfile.TarInfo("fpm.toml")
        text = manifest("adv", "1.0.0").encode()
        info.size = len(text)
        tar.addfile(info, io.BytesIO(text))
        for index in range(members):
            info = tarfile.TarInfo(f"doc/n{index}.md")
            info.pax_headers = {"comment": "1" * 60_000}
            tar.addfile(info, io.BytesIO(b""))
    return Built(buffer.getvalue(), len(text), members + 1)


def _noise(seed: int, size: int) -> bytes:
    """Incompressible bytes: they keep a package's ratio under the bomb limit."""
    return random.Random(seed).randbytes(size)


def _copies(k: int, files: Callable[[int], dict[str, str | bytes]]) -> dict[str, str | bytes]:
    """`files(i)` for each copy i < k, merged (each copy's paths carry its number)."""
    merged: dict[str, str | bytes] = {}
    for copy in range(k):
        merged.update(files(copy))
    return merged


def _declaration_inputs() -> list[Adversarial]:
    """Inputs aimed at the module scan."""
    return [
        Adversarial(
            "declarations-one-file",
            "one source of 95,000 `module m` lines (the probe that froze the server)",
            lambda k: _adversarial_tarball({"src/many.f90": "module m\n" * 95_000 * k}),
        ),
        Adversarial(
            "declarations-one-file-padded",
            "the same with 6 KiB of noise, so that its ratio passes the bomb limit",
            lambda k: _adversarial_tarball(
                _copies(
                    k,
                    lambda c: {
                        f"src/many{c}.f90": "module m\n" * 95_000,
                        f"data/noise{c}.bin": _noise(c, 6 * 1024),
                    },
                )
            ),
        ),
        Adversarial(
            "declarations-many-files",
            "300 sources of 3,000 misnamed `module` lines each (past the package limit)",
            lambda k: _adversarial_tarball(
                {f"src/m{i:04}.f90": f"module bad_{i}\n" * 3_000 for i in range(300 * k)}
                | {"data/noise.bin": _noise(1, 64 * 1024 * k)}
            ),
        ),
        Adversarial(
            "long-lines",
            "40 sources of 1 MiB lines that each start a `module` statement",
            lambda k: _adversarial_tarball(
                {
                    f"src/l{i:03}.f90": f"module adv__l{i} " + " " * (1 << 20) + "\n"
                    for i in range(40 * k)
                }
                | {"data/noise.bin": _noise(2, 220 * 1024 * k)}
            ),
        ),
        Adversarial(
            "odule-everywhere",
            "1 MiB of `odule` on one line, and a file of 200,000 short `odule` lines",
            lambda k: _adversarial_tarball(
                _copies(
                    k,
                    lambda c: {
                        f"src/a{c}.f90": "odule " * 170_000 + "\n",
                        f"src/b{c}.f90": "x odule\n" * 200_000,
                        f"data/noise{c}.bin": _noise(c, 16 * 1024),
                    },
                )
            ),
        ),
    ]


_DEEP = "/".join(f"d{level}" for level in range(31))


def _archive_inputs() -> list[Adversarial]:
    """Inputs aimed at the archive reader, the secret scan and the manifest parser."""
    return [
        Adversarial(
            "many-small-files",
            "9,990 one-line sources, each a misnamed module (scaled: k lines each)",
            lambda k: _adversarial_tarball(
                {f"src/f{i:04}.f90": f"module bad_{i}\n" * k for i in range(9_990)}
            ),
        ),
        Adversarial(
            "deep-include-nesting",
            "2,000 sources 31 folders deep, each `#include`-ing the one above it",
            lambda k: _adversarial_tarball(
                {
                    f"src/{_DEEP}/inc{i:05}.f90": f'#include "inc{i + 1:05}.f90"\n'
                    f"module adv__inc{i}\n"
                    for i in range(2_000 * k)
                }
            ),
        ),
        Adversarial(
            "secret-markers",
            "1 MiB files full of near-miss token and key markers",
            lambda k: _adversarial_tarball(
                _copies(
                    k,
                    lambda c: {
                        f"a{c}.txt": "fpmreg_x ghp_x glpat-x xoxb-x pypi-x AKIAx " * 25_000,
                        f"b{c}.txt": "-----BEGIN " + "A " * 500_000,
                        f"data/noise{c}.bin": _noise(c, 12 * 1024),
                    },
                )
            ),
        ),
        Adversarial(
            "manifest-nesting",
            "fpm.toml with an array 2,000 deep and a 20,000-part table header (refused)",
            lambda k: _adversarial_tarball(
                {},
                "[extra]\nx = " + "[" * 2_000 + "]" * 2_000 + "\n[extra." + "a." * 20_000 + "b]\n",
            ),
            scalable=False,  # fpm.toml is capped at 256 KiB and refused at its nesting
        ),
        Adversarial(
            "pax-digits",
            "20 members with 60,000-digit pax headers",
            lambda k: _pax_digits(20 * k),
        ),
    ]


def adversarial_packages() -> list[Adversarial]:
    """Every adversarial input of the `adversarial-checks` scenario (deterministic)."""
    return _declaration_inputs() + _archive_inputs()
