"""README badges drawn here, in shields.io's `flat` style: a grey label box and a coloured
value box, text measured with a Verdana 11px width table (docs/badges.md, "Drawing")."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from xml.sax.saxutils import escape, quoteattr

# Advance widths in pixels of Verdana at 11px (the font shields.io measures with: its
# width table comes from the font's own metrics, units per em 2048). A browser without
# Verdana draws DejaVu Sans, which `textLength` squeezes or stretches to these widths.
VERDANA_11 = {
    " ": 3.87, "!": 4.33, '"': 5.05, "#": 9.0, "$": 6.99, "%": 11.84, "&": 7.99, "'": 2.95,
    "(": 4.99, ")": 4.99, "*": 6.99, "+": 9.0, ",": 4.0, "-": 4.99, ".": 4.0, "/": 4.99,
    "0": 6.99, "1": 6.99, "2": 6.99, "3": 6.99, "4": 6.99, "5": 6.99, "6": 6.99, "7": 6.99,
    "8": 6.99, "9": 6.99, ":": 4.99, ";": 4.99, "<": 9.0, "=": 9.0, ">": 9.0, "?": 6.0,
    "@": 11.0, "A": 7.52, "B": 7.54, "C": 7.68, "D": 8.48, "E": 6.96, "F": 6.32, "G": 8.53,
    "H": 8.27, "I": 4.63, "J": 5.0, "K": 7.62, "L": 6.12, "M": 9.27, "N": 8.23, "O": 8.66,
    "P": 6.63, "Q": 8.66, "R": 7.65, "S": 7.52, "T": 6.78, "U": 8.05, "V": 7.52, "W": 10.88,
    "X": 7.54, "Y": 6.77, "Z": 7.54, "[": 4.99, "\\": 4.99, "]": 4.99, "^": 9.0, "_": 6.99,
    "`": 6.99, "a": 6.61, "b": 6.85, "c": 5.73, "d": 6.85, "e": 6.55, "f": 3.87, "g": 6.85,
    "h": 6.96, "i": 3.02, "j": 3.79, "k": 6.51, "l": 3.02, "m": 10.66, "n": 6.96, "o": 6.68,
    "p": 6.85, "q": 6.85, "r": 4.69, "s": 5.73, "t": 4.33, "u": 6.96, "v": 6.51, "w": 9.0,
    "x": 6.51, "y": 6.51, "z": 5.78, "{": 6.98, "|": 4.99, "}": 6.98, "~": 9.0,
}  # fmt: skip
# A character outside the table (any non-ASCII) counts as the widest letter, so a value
# is never clipped: at worst its box is a little wide.
FALLBACK_WIDTH = VERDANA_11["m"]
# What XML 1.0 cannot hold (control characters, U+FFFE/U+FFFF, lone surrogates).
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff\ud800-\udfff]")
# shields.io's padding: 5 px either side of each text.
PADDING = 5
HEIGHT = 20
# Values are short (a version, a count, an SPDX expression); a longer one is cut so a
# badge stays a badge (an SPDX expression can be long; fpm.toml's `license` is ≤ 256).
MAX_TEXT_CHARS = 64

# The accessible name (`<title>`, `aria-label`) names the package too: a little longer.
MAX_TITLE_CHARS = 200

# shields.io's named colours.
GREY = "#555"
BLUE = "#007ec6"
GREEN = "#4c1"
RED = "#e05d44"
LIGHTGREY = "#9f9f9f"


def text_width(text: str) -> float:
    """The width in pixels of `text` drawn in Verdana 11px."""
    return sum(VERDANA_11.get(char, FALLBACK_WIDTH) for char in text)


def format_count(count: int) -> str:
    """A download count as shields.io writes it: 999, 1.2k, 34k, 3.4M, 1.2G."""
    if count < 1000:
        return str(max(count, 0))
    for divisor, suffix in ((10**9, "G"), (10**6, "M"), (10**3, "k")):
        if count >= divisor:
            value = count / divisor
            # One decimal below ten, none above (1.2k, 12k); never round up past it.
            text = f"{math.floor(value * 10) / 10:.1f}" if value < 10 else f"{math.floor(value)}"
            return text.removesuffix(".0") + suffix
    return str(count)  # pragma: no cover - the loop always returns


def _xml_text(text: str) -> str:
    """`text` on one line, with the characters XML 1.0 cannot hold replaced."""
    text = " ".join(text.split())  # no newlines or tabs inside a badge
    return _NOT_XML.sub("\ufffd", text)


def _clip(text: str) -> str:
    text = _xml_text(text)
    return text if len(text) <= MAX_TEXT_CHARS else text[: MAX_TEXT_CHARS - 1] + "…"


@dataclass(frozen=True, slots=True)
class Badge:
    """One badge: `label` on grey, `value` on `color`; `title` names the package too."""

    label: str
    value: str
    color: str
    title: str

    def svg(self) -> str:
        """The badge as a standalone SVG document, every text XML-escaped."""
        label, value = _clip(self.label), _clip(self.value)
        label_box = math.ceil(text_width(label)) + 2 * PADDING
        value_box = math.ceil(text_width(value)) + 2 * PADDING
        width = label_box + value_box
        title = _xml_text(self.title)[:MAX_TITLE_CHARS]
        return "".join(
            (
                '<svg xmlns="http://www.w3.org/2000/svg" '
                f'width="{width}" height="{HEIGHT}" role="img" aria-label={quoteattr(title)}>',
                f"<title>{escape(title)}</title>",
                '<linearGradient id="s" x2="0" y2="100%">'
                '<stop offset="0" stop-color="#bbb" stop-opacity=".1"/>'
                '<stop offset="1" stop-opacity=".1"/></linearGradient>',
                f'<clipPath id="r"><rect width="{width}" height="{HEIGHT}" rx="3" fill="#fff"/>'
                "</clipPath>",
                f'<g clip-path="url(#r)"><rect width="{label_box}" height="{HEIGHT}" '
                f'fill="{GREY}"/><rect x="{label_box}" width="{value_box}" height="{HEIGHT}" '
                f'fill={quoteattr(self.color)}/><rect width="{width}" height="{HEIGHT}" '
                'fill="url(#s)"/></g>',
                '<g fill="#fff" text-anchor="middle" '
                'font-family="Verdana,Geneva,DejaVu Sans,sans-serif" '
                'text-rendering="geometricPrecision" font-size="110">',
                _text(label, 0, label_box),
                _text(value, label_box, value_box),
                "</g></svg>",
            )
        )


def _text(text: str, left: int, box: int) -> str:
    """A text centred in its box with shields.io's shadow, drawn at ten times the size
    and scaled down (sharper hinting), stretched to the measured width."""
    x = (left * 2 + box) * 5  # the centre, in tenths of a pixel
    length = round(text_width(text) * 10)
    body = escape(text)
    return (
        f'<text aria-hidden="true" x="{x}" y="150" fill="#010101" fill-opacity=".3" '
        f'transform="scale(.1)" textLength="{length}">{body}</text>'
        f'<text aria-hidden="true" x="{x}" y="140" transform="scale(.1)" '
        f'textLength="{length}">{body}</text>'
    )
