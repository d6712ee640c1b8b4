"""Jinja filters for the pages (registered in `app.build_state`)."""

from __future__ import annotations

import re

from markupsafe import Markup, escape

BACKTICKED = re.compile(r"`([^`\n]+)`")
CODE = Markup("<code>{}</code>")


def backticks_to_code(text: object) -> Markup:
    """A message with `backticked` parts as <code>. Every part is escaped, so a message
    never carries markup of its own (`<b>` stays text, in or out of the backticks)."""
    parts = BACKTICKED.split(str(text))  # text, code, text, code, ..., text
    return Markup("").join(CODE.format(p) if i % 2 else escape(p) for i, p in enumerate(parts))


def filesize(size: int) -> str:
    """A size as people read it: 812 bytes, 4.2 KB, 1.5 MB (1 KB = 1024 bytes)."""
    if size < 1024:
        return f"{size} byte{'' if size == 1 else 's'}"
    if size < 1024 * 1024:
        return f"{size / 1024:.1f} KB"
    return f"{size / (1024 * 1024):.1f} MB"
