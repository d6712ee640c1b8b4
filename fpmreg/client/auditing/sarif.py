"""`fpmreg audit --format sarif`: SARIF 2.1.0 (OASIS), for code-scanning dashboards.

One rule per advisory id and one per other finding kind (`fpmreg/yanked`,
`fpmreg/deprecated`, `fpmreg/deleted`); each result points at the package's entry in
`fpm.lock` (and at its line in fpm.toml when it is a direct dependency). Ignored
findings are results with an external suppression carrying the entry's reason. The
tests validate every document against the official schema, vendored in
`tests/data/sarif/` from oasis-tcs/sarif-spec.
"""

from __future__ import annotations

import json
import re
from typing import Any

from fpmreg import __version__
from fpmreg.client.auditing.render import finding_line, fix_text
from fpmreg.core.wire.audit import AuditFinding, AuditReport, FindingKind

SARIF_VERSION = "2.1.0"
SARIF_SCHEMA = (
    "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
)
_LEVEL = {
    FindingKind.ADVISORY: "error",
    FindingKind.DELETED: "error",
    FindingKind.YANKED: "warning",
    FindingKind.DEPRECATED: "warning",
}
_KIND_RULES = {
    FindingKind.YANKED: "the locked version was yanked by its maintainers",
    FindingKind.DEPRECATED: "the locked package is deprecated",
    FindingKind.DELETED: "the locked version was deleted from the registry",
}


def rule_id(finding: AuditFinding) -> str:
    """The advisory id, or `fpmreg/yanked`, `fpmreg/deprecated`, `fpmreg/deleted`."""
    return finding.id if finding.kind is FindingKind.ADVISORY else f"fpmreg/{finding.kind}"


def lock_lines(lock_text: str) -> dict[str, int]:
    """`namespace/name` → the line of its `version = ...` in fpm.lock (1-based)."""
    lines: dict[str, int] = {}
    namespace = name = ""
    version_line = 0
    for number, line in enumerate([*lock_text.splitlines(), "[[package]]"], start=1):
        if line.startswith("[["):
            if namespace and name and version_line:
                lines[f"{namespace}/{name}"] = version_line
            namespace = name = ""
            version_line = 0
        elif match := re.match(r'^(namespace|name|version) = "(.*)"$', line):
            key, value = match.groups()
            if key == "namespace":
                namespace = value
            elif key == "name":
                name = value
            else:
                version_line = number
    return lines


def manifest_line(manifest_text: str, name: str) -> int:
    """The line of `name = ...` (or `name.key = ...`) in fpm.toml's dependency tables, 0 if none."""
    pattern = re.compile(rf'^\s*"?{re.escape(name)}"?\s*[.=]')
    in_dependencies = False
    for number, line in enumerate(manifest_text.splitlines(), start=1):
        stripped = line.strip()
        if stripped.startswith("["):
            in_dependencies = "dependencies" in stripped
        elif in_dependencies and pattern.match(line):
            return number
    return 0


def _location(uri: str, line: int) -> dict[str, Any]:
    physical: dict[str, Any] = {"artifactLocation": {"uri": uri}}
    if line:
        physical["region"] = {"startLine": line}
    return {"physicalLocation": physical}


def _rule(finding: AuditFinding) -> dict[str, Any]:
    if finding.kind is not FindingKind.ADVISORY:
        return {
            "id": rule_id(finding),
            "shortDescription": {"text": _KIND_RULES[finding.kind]},
            "help": {"text": "see `fpmreg audit` (docs/audit.md)"},
            "defaultConfiguration": {"level": _LEVEL[finding.kind]},
        }
    rule: dict[str, Any] = {
        "id": finding.id,
        "shortDescription": {"text": finding.summary},
        "fullDescription": {"text": finding.details or finding.summary},
        "defaultConfiguration": {"level": "error"},
        "properties": {"tags": ["security", *finding.aliases]},
    }
    if finding.references:
        rule["helpUri"] = finding.references[0]
    return rule


class SarifBuilder:
    """Results and rules of one run, rules listed once each."""

    def __init__(self, lock_uri: str, lock_text: str, manifest_uri: str, manifest_text: str):
        self.lock_uri = lock_uri
        self.lines = lock_lines(lock_text)
        self.manifest_uri = manifest_uri
        self.manifest_text = manifest_text
        self.rules: list[dict[str, Any]] = []
        self.index: dict[str, int] = {}
        self.results: list[dict[str, Any]] = []

    def add(self, finding: AuditFinding, suppression: str = "") -> None:
        """One result; `suppression`: the ignore entry's reason, when it is ignored."""
        rid = rule_id(finding)
        if rid not in self.index:
            self.index[rid] = len(self.rules)
            self.rules.append(_rule(finding))
        name = finding.package.split("/", 1)[-1]
        locations = [_location(self.lock_uri, self.lines.get(finding.package, 0))]
        if self.manifest_text and (line := manifest_line(self.manifest_text, name)):
            locations.append(_location(self.manifest_uri, line))
        result: dict[str, Any] = {
            "ruleId": rid,
            "ruleIndex": self.index[rid],
            "level": _LEVEL[finding.kind],
            "message": {"text": f"`{finding.package}` {finding.version}: {finding_line(finding)}"},
            "locations": locations,
            "partialFingerprints": {"fpmreg/finding/v1": f"{finding.id}|{finding.package}"},
            "properties": {"package": finding.package, "version": finding.version,
                           "fix": fix_text(finding)},
        }  # fmt: skip
        if suppression:
            result["suppressions"] = [{"kind": "external", "justification": suppression}]
        self.results.append(result)


def report_sarif(
    report: AuditReport,
    ignored: list[AuditFinding],
    *,
    lock_uri: str,
    lock_text: str,
    manifest_uri: str = "fpm.toml",
    manifest_text: str = "",
) -> str:
    """The SARIF log of `report`; `ignored` are the findings its ignore entries hid."""
    builder = SarifBuilder(lock_uri, lock_text, manifest_uri, manifest_text)
    for finding in report.findings:
        builder.add(finding)
    reasons = {(i.id, i.package): i.reason for i in report.ignored}
    for finding in ignored:
        builder.add(finding, reasons.get((finding.id, finding.package), "ignored"))
    log = {
        "$schema": SARIF_SCHEMA,
        "version": SARIF_VERSION,
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "fpmreg audit",
                        "version": __version__,
                        "rules": builder.rules,
                    }
                },
                "results": builder.results,
            }
        ],
    }
    return json.dumps(log, indent=2)
