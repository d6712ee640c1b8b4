"""The one exception tree of the server; `http.py` maps it to each envelope."""

from __future__ import annotations

from fpmreg.core.problem import Problem


class DomainError(Exception):
    """A request cannot be done; `problems` say why, `status` is the HTTP status."""

    status = 400

    def __init__(self, code: str, detail: str, field: str = "") -> None:
        super().__init__(detail)
        self.problems = [Problem(code, field, detail)]

    @classmethod
    def of(cls, problems: list[Problem]) -> DomainError:
        """An error carrying several problems at once."""
        error = cls(problems[0].code, problems[0].message, problems[0].field)
        error.problems = problems
        return error

    @property
    def detail(self) -> str:
        """Every problem's message, one sentence each."""
        return "; ".join(p.message for p in self.problems)


class InvalidInput(DomainError):
    """The request, form, archive or manifest is malformed (400)."""

    status = 400


class Unauthenticated(DomainError):
    """No valid credentials were given (401)."""

    status = 401


class Forbidden(DomainError):
    """The credentials do not allow this (403)."""

    status = 403


class NotFound(DomainError):
    """The thing asked for does not exist (404)."""

    status = 404


class Conflict(DomainError):
    """The request conflicts with what exists, e.g. a version already published (409)."""

    status = 409


class Gone(DomainError):
    """The thing was deleted for good; its tombstone says when and why (410)."""

    status = 410


class TooLarge(DomainError):
    """The request body is over the size limit (413)."""

    status = 413


class RateLimited(DomainError):
    """Too many requests of this kind; try again in `retry_after` seconds (429)."""

    status = 429

    def __init__(self, code: str, detail: str, field: str = "", *, retry_after: int = 60) -> None:
        super().__init__(code, detail, field)
        self.retry_after = max(1, retry_after)  # the `Retry-After` header, whole seconds


class BodyTooLarge(TooLarge):
    """Raised while receiving a request body that goes over the upload limit."""

    def __init__(self, limit: int) -> None:
        super().__init__("archive-too-large", f"the tarball is larger than {limit} bytes")


class Unavailable(DomainError):
    """Something the registry depends on (e.g. blob storage) does not answer (503)."""

    status = 503
