"""How the client prints problems: one `error[code] field: message` line, on every command.

`fpmreg check` and `fpmreg publish` print a problem the same way (house style 6)."""

from __future__ import annotations

import json
from collections.abc import Iterable

from rich.console import Console
from rich.text import Text

from fpmreg.core.catalogue import CATALOGUE
from fpmreg.core.problem import Problem, Severity

_STYLE = {Severity.ERROR: "bold red", Severity.WARNING: "yellow"}


def _console(stderr: bool, interactive: bool = True) -> Console:
    # No markup (messages contain `[...]`), no highlighting, no wrapping: lines stay greppable.
    # Not interactive: never a terminal, so no progress bar or spinner (`--format json`).
    return Console(
        stderr=stderr,
        markup=False,
        highlight=False,
        soft_wrap=True,
        emoji=False,
        force_terminal=None if interactive else False,
    )


def out() -> Console:
    """The console for a command's result (stdout)."""
    return _console(stderr=False)


def err(interactive: bool = True) -> Console:
    """The console for diagnostics (stderr); `interactive=False` for `--format json`,
    which shows no progress bar or spinner even on a terminal (docs/cli.md, "Scripting")."""
    return _console(stderr=True, interactive=interactive)


def problem_line(problem: Problem) -> Text:
    """`error[code] field: message`, the severity coloured on a terminal."""
    line = Text()
    line.append(str(problem.severity), style=_STYLE[problem.severity])
    line.append(f"[{problem.code}]")
    line.append(f" {problem.field}: " if problem.field else ": ")
    line.append(problem.message)
    return line


def print_problems(console: Console, problems: Iterable[Problem]) -> None:
    """One line per problem, in the order the checks found them."""
    for problem in problems:
        console.print(problem_line(problem))


def print_note(console: Console, severity: Severity, message: str) -> None:
    """`warning: message` or `error: message`, for things that are not package problems."""
    line = Text()
    line.append(str(severity), style=_STYLE[severity])
    line.append(f": {message}")
    console.print(line)


def count(problems: list[Problem]) -> str:
    """`2 errors, 1 warning`."""
    errors = sum(p.is_error for p in problems)
    warnings = len(problems) - errors

    def plural(n: int, word: str) -> str:
        return f"{n} {word}{'' if n == 1 else 's'}"

    return f"{plural(errors, 'error')}, {plural(warnings, 'warning')}"


def catalogue_json() -> str:
    """Every check, as JSON (the same fields as the registry's `/api/v1/checks`)."""
    return json.dumps(
        [check.as_dict() for check in CATALOGUE.values()],
        indent=2,
    )


def print_catalogue(console: Console) -> None:
    """One line per check: code, severity and title; server-only checks marked."""
    width = max(len(code) for code in CATALOGUE)
    for check in CATALOGUE.values():
        line = Text(f"{check.code:<{width}}  ")
        line.append(f"{check.severity!s:<7}", style=_STYLE[check.severity])
        line.append(f"  {check.title}")
        if check.server_only:
            line.append("  (checked by the registry)", style="dim")
        console.print(line)
