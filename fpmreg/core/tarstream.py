"""The gzip and tar stream underneath the archive reader, hardened against bombs.

`archive.read_archive` reads a tarball through these: a gunzip that stops at the end of
the first gzip member and at a byte limit, and a `tarfile.TarInfo` that refuses the
header tricks (huge or chained extended headers, digit-bomb pax records, sparse files)
whose cost in CPython's `tarfile` is not bounded by the archive's size.
"""

from __future__ import annotations

import io
import re
import tarfile
import zlib
from typing import Any

# How much is decompressed or hashed at a time.
CHUNK = 64 * 1024


class Gunzip(io.RawIOBase):
    """The first gzip member of `data`, decompressed, at most `limit` bytes of it.

    Unlike `gzip.GzipFile`, which reads on into any further member, it stops at the end
    of the first, so `trailing` can tell whether anything was appended after it."""

    def __init__(self, data: bytes, limit: int) -> None:
        self._data = memoryview(data)
        self._position = 0
        self._inflate = zlib.decompressobj(16 + zlib.MAX_WBITS)
        self._limit = limit
        self.count = 0

    def readable(self) -> bool:
        return True

    def allow(self, more: int) -> None:
        """Raise the limit by `more` bytes (a member's headers and padding)."""
        self._limit += more

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        out = b""
        while not out:
            if self._inflate.eof:
                return 0
            chunk: bytes | memoryview = self._inflate.unconsumed_tail
            if not chunk:
                if self._position >= len(self._data):
                    raise EOFError(
                        "Compressed file ended before the end-of-stream marker was reached"
                    )
                chunk = self._data[self._position : self._position + CHUNK]
                self._position += len(chunk)
            out = self._inflate.decompress(chunk, min(len(buffer), CHUNK))
        self.count += len(out)
        if self.count > self._limit:
            raise TooBig
        buffer[: len(out)] = out
        return len(out)

    @property
    def trailing(self) -> bool:
        """Whether bytes follow the gzip member (once it has been read to its end)."""
        return bool(self._inflate.unused_data) or self._position < len(self._data)


class TooBig(Exception):
    pass


class Trailing(Exception):
    pass


class TooCostly(Exception):
    pass


# `tarfile` reads a pax or GNU long-name header whole, and a GNU sparse map into lists,
# before the reader sees the member: refuse big headers and sparse files before that.
_MAX_EXTENDED_HEADER_BYTES = 64 * 1024
# A member has at most a pax header, a GNU long name and a long link name before it.
_MAX_CHAINED_HEADERS = 4
_EXTENDED_HEADER_TYPES = (
    tarfile.XHDTYPE,
    tarfile.XGLTYPE,
    tarfile.SOLARIS_XHDTYPE,
    tarfile.GNUTYPE_LONGNAME,
    tarfile.GNUTYPE_LONGLINK,
)


# CPython's pax parser (3.11.7) searches the header with `\\d+ hdrcharset=`, which takes
# time quadratic in a run of digits (CVE-2024-6232): 64 KiB of digits cost 4 s. Longer
# runs than this are refused before it runs; real headers hold times and sizes.
_MAX_PAX_DIGITS = 64
_PAX_DIGIT_RUN = re.compile(rb"[0-9]{%d}" % (_MAX_PAX_DIGITS + 1))


class Replay:
    """A tar's file object whose next `read` gives back `first`, already read from it."""

    def __init__(self, first: bytes, inner: Any) -> None:
        self._first: bytes | None = first
        self._inner = inner

    def read(self, size: int = -1) -> bytes:
        if self._first is not None:
            first, self._first = self._first, None
            return first
        return self._inner.read(size)  # type: ignore[no-any-return]

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


class SafeTarInfo(tarfile.TarInfo):
    """A `TarInfo` that refuses the headers `tarfile` would buffer without bound, or
    parse in more than linear time."""

    def _proc_pax(self, tar):  # type: ignore[no-untyped-def]
        inner = tar.fileobj
        first = inner.read(self._block(self.size))  # type: ignore[attr-defined]
        if _PAX_DIGIT_RUN.search(first):
            raise tarfile.HeaderError(f"a pax header has over {_MAX_PAX_DIGITS} digits in a row")
        tar.fileobj = Replay(first, inner)
        try:
            return super()._proc_pax(tar)  # type: ignore[misc]
        finally:
            tar.fileobj = inner

    @classmethod
    def frombuf(cls, buf, encoding, errors):  # type: ignore[no-untyped-def]
        # `tarfile` takes a damaged or cut header after the first member for the end of
        # the archive, and reads no further; GNU tar skips it and unpacks what follows.
        try:
            return super().frombuf(buf, encoding, errors)
        except (tarfile.InvalidHeaderError, tarfile.TruncatedHeaderError) as exc:  # type: ignore[attr-defined]
            raise tarfile.ReadError(f"a damaged tar header ({exc})") from None

    def _proc_member(self, tar):  # type: ignore[no-untyped-def]
        if self.type == tarfile.GNUTYPE_SPARSE:
            raise tarfile.HeaderError("sparse files are not allowed")
        if self.type not in _EXTENDED_HEADER_TYPES:
            return super()._proc_member(tar)  # type: ignore[misc]
        if self.size > _MAX_EXTENDED_HEADER_BYTES:
            raise TooBig
        # `tarfile` reads a header that follows an extended one by calling itself.
        chained = getattr(tar, "_fpmreg_chained", 0)
        if chained >= _MAX_CHAINED_HEADERS:
            raise tarfile.HeaderError(f"more than {_MAX_CHAINED_HEADERS} extended headers in a row")
        setattr(tar, "_fpmreg_chained", chained + 1)  # noqa: B010 - not a TarFile attribute
        try:
            return super()._proc_member(tar)  # type: ignore[misc]
        finally:
            setattr(tar, "_fpmreg_chained", chained)  # noqa: B010

    def _proc_gnusparse_00(self, *args):  # type: ignore[no-untyped-def]
        raise tarfile.HeaderError("sparse files are not allowed")

    _proc_gnusparse_01 = _proc_gnusparse_10 = _proc_gnusparse_00
