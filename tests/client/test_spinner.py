"""The spinner of long waits: on a terminal only, never with `--format json`
(docs/cli.md, "Network")."""

from __future__ import annotations

import io

from rich.console import Console

from fpmreg.client.commands.common import OutputFormat, spinner


def console(terminal: bool) -> tuple[Console, io.StringIO]:
    stream = io.StringIO()
    return Console(file=stream, force_terminal=terminal, width=80), stream


def test_a_terminal_shows_the_spinner_text() -> None:
    terminal, stream = console(terminal=True)

    with spinner(terminal, "resolving against http://127.0.0.1:8000", OutputFormat.TEXT):
        pass

    assert "resolving against http://127.0.0.1:8000" in stream.getvalue()


def test_no_spinner_when_stderr_is_not_a_terminal_or_in_json_mode() -> None:
    pipe, piped = console(terminal=False)
    terminal, shown = console(terminal=True)

    with spinner(pipe, "resolving", OutputFormat.TEXT):
        pass
    with spinner(terminal, "resolving", OutputFormat.JSON):
        pass

    assert piped.getvalue() == ""
    assert shown.getvalue() == ""
