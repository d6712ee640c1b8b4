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
