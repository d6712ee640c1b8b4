"""Audits: a person's signed claim that a release (or a diff between two) meets criteria,
or that a range of versions violates them; read from and written to plain JSON.

Shape (docs/vetting.md, "Audits"): a full audit names `subject` {purl, sha256}; a delta
audit names `deltaFrom` and `deltaTo`; a violation names `violation` {purl, range}.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from fpmreg.core.problem import Problem, ProblemsError
from fpmreg.core.versions import InvalidRequirement, Requirement
from fpmreg.core.vet.criteria import MAX_IMPLIES, uri_problems
from fpmreg.core.vet.refs import (
    SHA256,
    InvalidReference,
    PackageName,
    Release,
    parse_purl,
    release_purl,
)

# Notes are a paragraph or two, not the review itself (which lives with the diff).
MAX_NOTES_LENGTH = 10_000
# Criteria an audit claims, organisations an auditor belongs to: a handful each.
MAX_CRITERIA = MAX_IMPLIES
MAX_ORGANISATIONS = 16

_KEYS = frozenset(
    {
        "type",
        "id",
        "subject",
        "deltaFrom",
        "deltaTo",
        "violation",
        "verdict",
        "criteria",
        "thoroughness",
        "understanding",
        "auditor",
        "organisations",
        "community",
        "notes",
    }
)


class AuditError(ProblemsError):
    """An audit document that cannot be read; `problems` lists everything wrong."""


class Level(StrEnum):
    """How thoroughly, or with how much understanding, an auditor reviewed (crev's scale)."""

    NONE = "none"
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"

    @property
    def rank(self) -> int:
        """0 for `none` up to 3 for `high`."""
        return _LEVEL_ORDER.index(self)

    def at_least(self, minimum: Level) -> bool:
        """Whether this level meets `minimum`."""
        return self.rank >= minimum.rank


_LEVEL_ORDER = (Level.NONE, Level.LOW, Level.MEDIUM, Level.HIGH)


class Verdict(StrEnum):
    """What the audit says: the reviewed code meets the criteria, or a range fails them."""

    CERTIFY = "certify"
    VIOLATION = "violation"


@dataclass(frozen=True, slots=True)
class Audit:
    """One audit. `base` is None for a full audit (a review from the empty package);
    `target` is None only for a violation that reviewed no particular release."""

    id: str
    package: PackageName
    verdict: Verdict
    criteria: frozenset[str]
    auditor: str
    community: str
    target: Release | None = None
    base: Release | None = None
    violation: Requirement | None = None
    thoroughness: Level = Level.NONE
    understanding: Level = Level.NONE
    organisations: frozenset[str] = frozenset()
    notes: str = ""

    def __post_init__(self) -> None:
        if self.verdict is Verdict.CERTIFY and (self.target is None or self.violation):
            raise ValueError("a certifying audit names the release it reviewed and no range")
        if self.verdict is Verdict.VIOLATION and self.violation is None:
            raise ValueError("a violation names the range of versions it is about")
        if self.base is not None and self.target is None:
            raise ValueError("a delta audit names the release it ends at")

    @property
    def is_delta(self) -> bool:
        """Whether this audit reviewed the diff between two releases."""
        return self.base is not None

    def describe(self) -> str:
        """One line for explanations: what was audited, by whom."""
        if self.verdict is Verdict.VIOLATION:
            what = f"violation of {self.package}{' ' + str(self.violation)}"
        elif self.base is not None and self.target is not None:
            what = f"delta {self.package} {self.base.version} → {self.target.version}"
        else:
            assert self.target is not None
            what = f"full audit of {self.package} {self.target.version}"
        return f"`{self.id}` ({what} by `{self.auditor}`)"


def _ref_to_json(package: PackageName, release: Release) -> dict[str, str]:
    return {"purl": release_purl(package, release.version), "sha256": release.sha256}


def audit_to_json(audit: Audit) -> dict[str, Any]:
    """The plain-JSON form `parse_audit` reads back to an equal audit."""
    out: dict[str, Any] = {"type": "Audit", "id": audit.id, "verdict": str(audit.verdict)}
    if audit.target is not None:
        key = "deltaTo" if audit.base is not None else "subject"
        out[key] = _ref_to_json(audit.package, audit.target)
    if audit.base is not None:
        out["deltaFrom"] = _ref_to_json(audit.package, audit.base)
    if audit.violation is not None:
        out["violation"] = {"purl": audit.package.purl, "range": str(audit.violation)}
    out |= {
        "criteria": sorted(audit.criteria),
        "thoroughness": str(audit.thoroughness),
        "understanding": str(audit.understanding),
        "auditor": audit.auditor,
        "organisations": sorted(audit.organisations),
        "community": audit.community,
        "notes": audit.notes,
    }
    return out


class _Reader:
    """Collects every problem of one document instead of stopping at the first."""

    def __init__(self, raw: Mapping[str, Any]) -> None:
        self.raw = raw
        self.problems: list[Problem] = []
        self.packages: list[PackageName] = []

    def fail(self, code: str, field: str, message: str) -> None:
        self.problems.append(Problem(code, field, message))

    def uri(self, key: str) -> str:
        value = self.raw.get(key)
        found = uri_problems(value, key)
        self.problems.extend(found)
        return str(value) if not found else ""

    def uris(self, key: str, limit: int, *, required: bool) -> frozenset[str]:
        value = self.raw.get(key, [])
        if not isinstance(value, list) or len(value) > limit or (required and not value):
            need = "a non-empty list" if required else "a list"
            self.fail("vet-field-invalid", key, f"`{key}` must be {need} of at most {limit} URIs")
            return frozenset()
        for index, item in enumerate(value):
            self.problems.extend(uri_problems(item, f"{key}[{index}]"))
        return frozenset(v for v in value if isinstance(v, str))

    def level(self, key: str) -> Level:
        value = self.raw.get(key, "none")
        try:
            return Level(value)
        except ValueError:
            self.fail(
                "vet-field-invalid",
                key,
                f"`{key}` must be one of {', '.join(_LEVEL_ORDER)}, not `{value}`"[:300],
            )
            return Level.NONE

    def release(self, key: str) -> Release | None:
        value = self.raw.get(key)
        if not isinstance(value, Mapping):
            self.fail(
                "vet-field-invalid", key, f"`{key}` must be an object with `purl` and `sha256`"
            )
            return None
        try:
            package, version = parse_purl(value.get("purl"), versioned=True)  # type: ignore[arg-type]
        except InvalidReference as error:
            self.fail("vet-field-invalid", f"{key}.purl", str(error))
            return None
        self.packages.append(package)
        if version is not None and version.is_zero and "sha256" not in value and key == "deltaFrom":
            return None  # a delta from `0.0.0` without a digest starts at the empty package
        sha256 = value.get("sha256")
        if not isinstance(sha256, str) or not SHA256.fullmatch(sha256):
            self.fail(
                "vet-field-invalid",
                f"{key}.sha256",
                f"`{key}.sha256` must be 64 lowercase hexadecimal digits",
            )
            return None
        assert version is not None
        return Release(version, sha256)

    def violation(self) -> Requirement | None:
        value = self.raw.get("violation")
        if not isinstance(value, Mapping):
            self.fail(
                "vet-field-invalid", "violation", "a violation needs `violation` {`purl`, `range`}"
            )
            return None
        try:
            package, _ = parse_purl(value.get("purl"), versioned=False)  # type: ignore[arg-type]
            self.packages.append(package)
            return Requirement.parse(value.get("range"))  # type: ignore[arg-type]
        except (InvalidReference, InvalidRequirement) as error:
            self.fail("vet-field-invalid", "violation", str(error))
            return None


def _subject(reader: _Reader, verdict: Verdict | None) -> tuple[Release | None, Release | None]:
    raw = reader.raw
    full, delta = "subject" in raw, "deltaFrom" in raw or "deltaTo" in raw
    if full and delta:
        reader.fail(
            "vet-field-invalid",
            "subject",
            "an audit names `subject` or `deltaFrom` and `deltaTo`, not both",
        )
        return None, None
    if delta:
        return reader.release("deltaFrom"), reader.release("deltaTo")
    if full or verdict is Verdict.CERTIFY:
        return None, reader.release("subject")
    return None, None


def parse_audit(raw: object) -> Audit:
    """Read one audit from plain JSON, or raise `AuditError` listing every problem."""
    if not isinstance(raw, Mapping):
        raise AuditError([Problem("vet-not-object", "audit", "an audit must be a JSON object")])
    reader = _Reader(raw)
    for key in sorted(set(raw) - _KEYS)[:5]:
        reader.fail("vet-unknown-field", str(key)[:60], f"`{str(key)[:60]}` is not an audit field")
    try:
        verdict: Verdict | None = Verdict(str(raw.get("verdict")))
    except ValueError:
        reader.fail("vet-field-invalid", "verdict", "`verdict` must be `certify` or `violation`")
        verdict = None
    base, target = _subject(reader, verdict)
    violation = reader.violation() if verdict is Verdict.VIOLATION else None
    if verdict is Verdict.CERTIFY and "violation" in raw:
        reader.fail("vet-field-invalid", "violation", "a certifying audit has no `violation` range")
    if len({p.key for p in reader.packages}) > 1:
        reader.fail(
            "vet-field-invalid",
            "subject",
            "every package URL of one audit must name the same package",
        )
    notes = raw.get("notes", "")
    if not isinstance(notes, str) or len(notes) > MAX_NOTES_LENGTH:
        reader.fail(
            "vet-field-invalid",
            "notes",
            f"`notes` must be text of at most {MAX_NOTES_LENGTH:,} characters",
        )
    audit_id, auditor, community = reader.uri("id"), reader.uri("auditor"), reader.uri("community")
    criteria = reader.uris("criteria", MAX_CRITERIA, required=True)
    organisations = reader.uris("organisations", MAX_ORGANISATIONS, required=False)
    thoroughness, understanding = reader.level("thoroughness"), reader.level("understanding")
    if reader.problems or verdict is None or not reader.packages:
        raise AuditError(reader.problems or [Problem("vet-field-invalid", "subject", "no subject")])
    return Audit(
        id=audit_id,
        package=reader.packages[0],
        verdict=verdict,
        criteria=criteria,
        auditor=auditor,
        community=community,
        target=target,
        base=base,
        violation=violation,
        thoroughness=thoroughness,
        understanding=understanding,
        organisations=organisations,
        notes=str(notes),
    )
