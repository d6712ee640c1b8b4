"""The client's exceptions; each carries the exit status its command ends with."""

from __future__ import annotations

from fpmreg.core.problem import Problem

# Exit statuses of every `fpmreg` command (shell convention, as `grep` and `git` use them).
EXIT_OK = 0
EXIT_FAILED = 1  # the package or the registry said no
EXIT_USAGE = 2  # the command cannot run as asked: bad path, not a git repository...


class ClientError(Exception):
    """The command failed; the message says what to do next (never a secret)."""

    exit_code = EXIT_FAILED


class UsageError(ClientError):
    """The command cannot run as given: a missing path, no git repository, no token."""

    exit_code = EXIT_USAGE


class ProblemsFound(ClientError):
    """The command failed because of these problems (printed one a line, and listed in
    the `--format json` error document)."""

    def __init__(self, message: str, problems: list[Problem]) -> None:
        self.problems = problems
        super().__init__(message)


class RegistryRefused(ProblemsFound):
    """The registry answered with its error envelope (`docs/api-design.md`, "Errors")."""

    def __init__(self, status: int, problems: list[Problem]) -> None:
        self.status = status
        super().__init__(f"the registry refused the request (HTTP {status})", problems)


class RegistryUnreachable(ClientError):
    """No answer at all from a registry (refused, timed out, DNS): one cause, one line,
    however many packages needed it (docs/cli.md, "Network")."""

    def __init__(self, registry: str, reason: str) -> None:
        self.registry = registry
        self.reason = reason
        super().__init__(f"cannot reach the registry at `{registry}`: {reason}")


class UnexpectedAnswer(ClientError):
    """An answer that is not the registry's API (HTML, a bare 404, malformed JSON): the
    URL may be wrong, which `registry.blame_url` checks (docs/cli.md, "Registry URL")."""
