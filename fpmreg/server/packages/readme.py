"""READMEs as safe HTML, rendered once at publish within a size and CPU-time budget.

Package pages show `versions.readme_html` as stored; nothing is rendered per view
(`docs/security.md`, "README rendering"). A README that is too large or too slow to
render is shown as escaped plain text instead.

markdown-it-py (4.x) parses in time linear in its input, but with a large constant:
up to ~30 µs per byte for inputs made only of `![` or `\\n[` (measured on the CI
machine: 512 KiB of `\\n[`, the largest README an archive keeps, took 18 s). So the input
is capped, and a budget rule placed first in markdown-it's block and inline rule chains
(which run at every line and every inline position) stops a render that has used more
CPU time than `RENDER_CPU_SECONDS`, whatever construct a future version turns out to
handle slowly.

Images are shown as links to their source, not loaded: a README image from another
host would make every visitor's browser call that host (`docs/security.md`, "README
images"). `data:image/...` images, which markdown-it allows, load nothing and stay.

Fenced code blocks in a known language are highlighted here with Pygments, as CSS
classes (`tok-*`, styled in static/style.css; the CSP forbids inline styles), within
their own byte limits and the same CPU budget (`docs/pages.md`, "README code").
"""

from __future__ import annotations

import html
import time
from collections.abc import MutableMapping, Sequence
from typing import Any

from markdown_it import MarkdownIt
from markdown_it.common.utils import unescapeAll
from markdown_it.renderer import RendererHTML
from markdown_it.rules_block import StateBlock
from markdown_it.rules_inline import StateInline
from markdown_it.token import Token
from markdown_it.utils import OptionsDict

# Pygments ships no type hints (types-Pygments is not a dependency).
from pygments import highlight  # type: ignore[import-untyped]
from pygments.formatters import HtmlFormatter  # type: ignore[import-untyped]
from pygments.lexer import Lexer  # type: ignore[import-untyped]
from pygments.lexers import get_lexer_by_name  # type: ignore[import-untyped]
from sqlalchemy.orm import object_session

from fpmreg.server.packages.models import Version

# Markdown longer than this is shown as plain text. The READMEs of large Fortran and
# scientific projects are 5-40 KiB; past 128 KiB a README is a manual (which belongs
# on a documentation site), and the worst-case render of 128 KiB stays near a second.
MAX_MARKDOWN_BYTES = 128 * 1024
# CPU seconds (of the rendering thread, so other processes' load does not count) one
# render may use. Real READMEs take a few milliseconds; only crafted input gets near.
RENDER_CPU_SECONDS = 0.5
# Rendered HTML over this is dropped for plain text: tables of empty cells expand ~9x,
# and a page that large is no use on a phone.
MAX_HTML_BYTES = 1024 * 1024
# Rule calls between two reads of the CPU clock (a system call): the budget is
# overshot by at most this many cheap calls.
_STEPS_PER_CHECK = 256
_MARKDOWN_SUFFIXES = (".md", ".markdown")
# Code blocks longer than this, or past this much highlighted code in one README, are
# shown unhighlighted: Pygments' lexers take up to ~10 ms per KiB on crafted input.
MAX_HIGHLIGHT_BLOCK_BYTES = 8 * 1024
MAX_HIGHLIGHT_BYTES = 32 * 1024
# Info strings (```fortran) highlighted, and the Pygments lexer for each: the languages
# of Fortran projects' READMEs. Lexers are chosen from a list measured on crafted input
# (Pygments' Makefile lexer took 7 s on 16 KiB), never by whatever name a README gives.
HIGHLIGHTED = {
    "fortran": "fortran", "f90": "fortran", "f95": "fortran", "f03": "fortran",
    "f08": "fortran", "f": "fortranfixed", "f77": "fortranfixed", "toml": "toml",
    "sh": "bash", "bash": "bash", "shell": "bash", "console": "console",
    "shell-session": "console", "python": "python", "py": "python", "c": "c",
    "cpp": "cpp", "c++": "cpp", "cmake": "cmake", "json": "json", "yaml": "yaml",
    "ini": "ini", "diff": "diff",
}  # fmt: skip
_FORMATTER = HtmlFormatter(nowrap=True, classprefix="tok-")
_LEXERS: dict[str, Lexer] = {}
_LINK_REL = "nofollow ugc noopener"


class _OverBudget(Exception):
    """The render used more CPU time than `RENDER_CPU_SECONDS`."""


def _spend(env: MutableMapping[str, Any]) -> None:
    steps = env["steps"] = env["steps"] + 1
    if steps % _STEPS_PER_CHECK == 0 and time.thread_time() > env["deadline"]:
        raise _OverBudget


def _block_budget(state: StateBlock, start: int, end: int, silent: bool) -> bool:
    _spend(state.env)
    return False  # never matches: markdown-it goes on to the real rules


def _inline_budget(state: StateInline, silent: bool) -> bool:
    _spend(state.env)
    return False


def _lexer(info: str) -> Lexer | None:
    """The lexer for a fence's info string, if its language is one `HIGHLIGHTED` names."""
    words = unescapeAll(info).split(maxsplit=1)
    name = HIGHLIGHTED.get(words[0].lower()) if words else None
    if name is None:
        return None
    if name not in _LEXERS:
        _LEXERS[name] = get_lexer_by_name(name)
    return _LEXERS[name]


class _SafeRenderer(RendererHTML):
    """markdown-it's HTML renderer with README links marked as user content, images
    from anywhere but a `data:` URL shown as links instead of loaded, and code blocks
    in a known language highlighted."""

    def fence(
        self, tokens: Sequence[Token], idx: int, options: OptionsDict, env: MutableMapping[str, Any]
    ) -> str:
        token = tokens[idx]
        code = token.content
        lexer = _lexer(token.info)
        used = env.get("highlighted", 0) + len(code.encode())
        if (
            lexer is None
            or len(code.encode()) > MAX_HIGHLIGHT_BLOCK_BYTES
            or used > MAX_HIGHLIGHT_BYTES
            or time.thread_time() > env["deadline"]
        ):
            return super().fence(tokens, idx, options, env)
        env["highlighted"] = used
        language = html.escape(lexer.aliases[0] if lexer.aliases else "text")
        body = highlight(code, lexer, _FORMATTER)
        return f'<pre class="highlight"><code class="language-{language}">{body}</code></pre>\n'

    def link_open(
        self, tokens: Sequence[Token], idx: int, options: OptionsDict, env: MutableMapping[str, Any]
    ) -> str:
        env["links"] = env.get("links", 0) + 1
        tokens[idx].attrSet("rel", _LINK_REL)
        return self.renderToken(tokens, idx, options, env)

    def link_close(
        self, tokens: Sequence[Token], idx: int, options: OptionsDict, env: MutableMapping[str, Any]
    ) -> str:
        env["links"] = env.get("links", 1) - 1
        return self.renderToken(tokens, idx, options, env)

    def image(
        self, tokens: Sequence[Token], idx: int, options: OptionsDict, env: MutableMapping[str, Any]
    ) -> str:
        token = tokens[idx]
        src = str(token.attrGet("src") or "")
        if src.startswith("data:image/"):
            return super().image(tokens, idx, options, env)
        alt = self.renderInlineAsText(token.children or [], options, env) or "image"
        text = f'<span class="readme-image">{html.escape(alt)}</span>'
        # Inside a link (a badge: `[![CI](badge.svg)](ci-page)`) the alt text alone is
        # shown, since a link cannot hold another; relative sources name files of the
        # package's repository, which this registry does not serve.
        if env.get("links", 0) > 0 or not src.startswith(("https://", "http://")):
            return text
        href = html.escape(src)
        return f'<a class="readme-image" href="{href}" rel="{_LINK_REL}">{html.escape(alt)}</a>'


# Raw HTML in READMEs is escaped, not rendered (`html=False`); markdown-it also refuses
# `javascript:`/`vbscript:`/`file:`/non-image `data:` links.
_MARKDOWN = MarkdownIt(
    "commonmark", {"html": False, "linkify": False}, renderer_cls=_SafeRenderer
).enable("table")
_MARKDOWN.block.ruler.before(_MARKDOWN.block.ruler.get_all_rules()[0], "budget", _block_budget)
_MARKDOWN.inline.ruler.before(_MARKDOWN.inline.ruler.get_all_rules()[0], "budget", _inline_budget)


def plain_text_html(text: str) -> str:
    """A README shown as it is: escaped, in a `<pre>` that wraps long lines."""
    return f'<pre class="readme-plain">{html.escape(text)}</pre>'


def render_readme(name: str, text: str) -> str:
    """A README as safe HTML: Markdown rendered within the budget, else plain text."""
    if not text:
        return ""
    text = text.replace("\x00", "\ufffd")  # as stored; PostgreSQL text holds no NUL
    is_markdown = name.lower().endswith(_MARKDOWN_SUFFIXES) or name.upper() == "README"
    if not is_markdown or len(text.encode()) > MAX_MARKDOWN_BYTES:
        return plain_text_html(text)
    env: dict[str, Any] = {"steps": 0, "deadline": time.thread_time() + RENDER_CPU_SECONDS}
    try:
        rendered = str(_MARKDOWN.render(text, env))
    except _OverBudget:
        return plain_text_html(text)
    if len(rendered) > MAX_HTML_BYTES or time.thread_time() > env["deadline"]:
        return plain_text_html(text)
    return rendered


def stored_readme_html(version: Version) -> str:
    """The version's README HTML. A version published before READMEs were rendered at
    publish gets it rendered now and kept on its row, so each is rendered once."""
    if version.readme and not version.readme_html:
        version.readme_html = render_readme(version.readme_name, version.readme)
        session = object_session(version)
        if session is not None:
            session.flush()  # the request's unit of work commits it
    return version.readme_html
