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
