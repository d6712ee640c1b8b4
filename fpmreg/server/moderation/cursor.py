"""Opaque keyset cursors for the lists of this domain (newest first, by row id).

A cursor says "rows older than this one": no row is skipped or repeated when new ones
arrive between two pages (docs/api-design.md, "Pagination")."""

from __future__ import annotations

import base64
import binascii

from fpmreg.server.errors import InvalidInput

# A row id of up to 19 digits (a 64-bit integer) in base64: at most 28 characters.
MAX_CURSOR_LENGTH = 32
# What one page holds, unless asked for fewer; `MAX_PAGE_SIZE` bounds one request's read.
DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 200


def encode_cursor(row_id: int) -> str:
    """The cursor of the page after the row `row_id`."""
    return base64.urlsafe_b64encode(str(row_id).encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> int | None:
    """The row id a cursor continues after; None for the first page; `cursor-invalid`."""
    if not cursor:
        return None
    try:
        if len(cursor) > MAX_CURSOR_LENGTH:
            raise ValueError
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode("ascii")
        if not text.isdigit() or len(text) > 19:
            raise ValueError
        return int(text)
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise InvalidInput(
            "cursor-invalid",
            "the cursor was not given out by this registry: pass back `next_cursor` as it is",
            "cursor",
        ) from None


def check_limit(limit: int) -> int:
    """Refuse a page size outside 1 to `MAX_PAGE_SIZE` (400 `limit-out-of-range`)."""
    if not 1 <= limit <= MAX_PAGE_SIZE:
        raise InvalidInput("limit-out-of-range", f"`limit` must be 1 to {MAX_PAGE_SIZE}", "limit")
    return limit
