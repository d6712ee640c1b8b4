"""Verdicts as JSON: everything a person reads in the text form is in it too."""

from __future__ import annotations

import json

from fpmreg.core.vet.evaluate import LockEntry, evaluate_lock
from fpmreg.core.vet.report import lock_verdict_to_json

from .builders import SAFE_DEPLOY, evidence, full, policy, sha


def test_a_failing_lock_verdict_in_json_names_the_fix_and_the_inputs() -> None:
    audit = full("1.0.0")
    entries = [
        LockEntry("pkg:fpm/fortran-lang/stdlib@1.0.0", sha("1.0.0")),
        LockEntry("pkg:fpm/fortran-lang/stdlib@1.1.0", sha("1.1.0")),
    ]
    body = lock_verdict_to_json(evaluate_lock(entries, policy(), evidence(audit)))
    assert json.loads(json.dumps(body)) == body
    assert body["result"] == "FAILED"
    ok, failed = body["packages"]
    assert ok["result"] == "PASSED" and ok["inputs"] == [audit.id]
    [fix] = failed["suggestions"]
    assert fix["deltaFrom"] == {"purl": "pkg:fpm/fortran-lang/stdlib@1.0.0", "sha256": sha("1.0.0")}
    assert fix["subject"]["purl"] == "pkg:fpm/fortran-lang/stdlib@1.1.0"
    assert fix["criteria"] == [SAFE_DEPLOY] and fix["text"].startswith("a delta audit")
    assert {r["code"] for r in failed["reasons"]} == {"vet-not-certified"}
