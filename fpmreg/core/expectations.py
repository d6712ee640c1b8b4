"""Expectations set by a package's owners: how it is maintained and how security
reports are handled (docs/expectations.md).

Pure: the allowed values, and the checks of what an owner sends. A contact is an email
address or an `https://` URL; supported versions are a version requirement that
`fpmreg.core.versions.Requirement` reads.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from fpmreg.core.problem import Problem
from fpmreg.core.versions import InvalidRequirement, Requirement

# The maintenance statuses, in order, and how pages and the client name them.
STATUSES: dict[str, str] = {
    "active": "Actively maintained",
    "fixes-only": "Maintained for fixes only",
    "hobby": "A hobby project",
    "looking-for-maintainers": "Looking for maintainers",
    "unmaintained": "Unmaintained",
}
# The statuses a package page shows as a notice, not only as a line.
NOTICE_STATUSES = frozenset({"looking-for-maintainers", "unmaintained"})
# Whether security reports get a response.
RESPONSES: dict[str, str] = {
    "yes": "Security reports get a response",
    "no": "Security reports get no response",
    "best-effort": "Security reports get a response on a best-effort basis",
}
MAX_CONTACT_LENGTH = 254  # an email address's limit (RFC 5321); URLs alike
MAX_SUPPORTED_LENGTH = 100
MAX_NOTE_LENGTH = 500
# One `@`, no spaces or angle brackets, a dotted domain: enough to catch typos without
# pretending to validate deliverability.
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?"
_EMAIL = re.compile(r"^[^@\s<>()\[\],;:\"]+@" + _LABEL + r"(?:\." + _LABEL + r")+$")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def check_contact(text: str) -> str:
    """The contact, trimmed (`""` for none), or `ValueError` saying what to write."""
    value = text.strip()
    if not value:
        return ""
    if len(value) > MAX_CONTACT_LENGTH:
        raise ValueError(f"the contact is over {MAX_CONTACT_LENGTH} characters")
    if _CONTROL.search(value) or any(c.isspace() for c in value):
        raise ValueError("the contact has spaces or control characters: write one address")
    if "://" in value or value.lower().startswith(("http:", "https:")):
        parts = urlsplit(value)
        if parts.scheme != "https" or not parts.hostname or parts.username or parts.password:
            raise ValueError(
                f"`{value}` is not an `https://` URL with a host: give an https page "
                "or an email address"
            )
        return value
    if _EMAIL.fullmatch(value) is None:
        raise ValueError(
            f"`{value}` is neither an email address (`security@example.org`) nor an `https://` URL"
        )
    return value


def check_supported(text: str) -> str:
    """The supported versions in canonical form (`""` for none said), or `ValueError`."""
    value = text.strip()
    if not value:
        return ""
    if len(value) > MAX_SUPPORTED_LENGTH:
        raise ValueError(f"the supported versions are over {MAX_SUPPORTED_LENGTH} characters")
    try:
        return str(Requirement.parse(value))
    except InvalidRequirement as exc:
        raise ValueError(f"supported versions: {exc}") from None


def check_note(text: str) -> str:
    """The note, trimmed, or `ValueError` when it is too long."""
    value = text.strip()
    if len(value) > MAX_NOTE_LENGTH:
        raise ValueError(f"the note is over {MAX_NOTE_LENGTH} characters: say it shorter")
    return value


def expectation_problems(
    status: str, contact: str, response: str, supported: str, note: str
) -> list[Problem]:
    """Every problem of a declaration, each naming its field; empty when it is valid."""
    problems = []
    if status not in STATUSES:
        problems.append(
            Problem(
                "expectations-status-invalid",
                "status",
                f"`{status}` is not a maintenance status: use one of " + ", ".join(STATUSES),
            )
        )
    if response not in RESPONSES:
        problems.append(
            Problem(
                "expectations-response-invalid",
                "response",
                f'`{response}` is not an answer to "do security reports get a response": '
                "use one of " + ", ".join(RESPONSES),
            )
        )
    try:
        check_contact(contact)
    except ValueError as exc:
        problems.append(Problem("expectations-contact-invalid", "contact", str(exc)))
    try:
        check_supported(supported)
    except ValueError as exc:
        problems.append(Problem("expectations-supported-invalid", "supported", str(exc)))
    try:
        check_note(note)
    except ValueError as exc:
        problems.append(Problem("expectations-note-invalid", "note", str(exc)))
    if response in ("yes", "best-effort") and not contact.strip():
        problems.append(
            Problem(
                "expectations-contact-missing",
                "contact",
                "say where to send security reports (an email address or an https URL) "
                f"when they get a response (`{response}`)",
            )
        )
    return problems
