"""Verdicts as plain JSON: what `fpmreg vet --json` prints and what a signed verdict
(docs/vetting.md, "The algorithm") carries as its body."""

from __future__ import annotations

from typing import Any

from fpmreg.core.vet.evaluate import LockVerdict, PackageVerdict, Suggestion
from fpmreg.core.vet.refs import release_purl


def _result(passed: bool) -> str:
    return "PASSED" if passed else "FAILED"  # SLSA verification summaries' spelling


def suggestion_to_json(suggestion: Suggestion) -> dict[str, Any]:
    """One suggested audit: `deltaFrom` is absent for a full audit."""
    out: dict[str, Any] = {
        "count": suggestion.count,
        "subject": {
            "purl": release_purl(suggestion.package, suggestion.target.version),
            "sha256": suggestion.target.sha256,
        },
        "criteria": sorted(suggestion.criteria),
        "text": str(suggestion),
    }
    if suggestion.base is not None:
        out["deltaFrom"] = {
            "purl": release_purl(suggestion.package, suggestion.base.version),
            "sha256": suggestion.base.sha256,
        }
    return out


def package_verdict_to_json(verdict: PackageVerdict) -> dict[str, Any]:
    """One package's verdict, with its reasons, suggestions and the audits it rests on."""
    return {
        "purl": verdict.purl,
        "sha256": verdict.sha256,
        "dev": verdict.is_dev,
        "result": _result(verdict.passed),
        "required": sorted(verdict.required),
        "reasons": [{"code": r.code, "message": r.message} for r in verdict.reasons],
        "suggestions": [suggestion_to_json(s) for s in verdict.suggestions],
        "inputs": list(verdict.inputs),
    }


def lock_verdict_to_json(verdict: LockVerdict) -> dict[str, Any]:
    """A whole lock's verdict; packages in lock order."""
    return {
        "policy": verdict.policy,
        "result": _result(verdict.passed),
        "packages": [package_verdict_to_json(p) for p in verdict.packages],
    }
