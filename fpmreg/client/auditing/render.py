"""The audit report, built once and printed as text (for people) or JSON (for scripts).

Text: one block per package, one line per finding, then ignored findings and a summary
line. JSON: `fpmreg.core.wire.audit.AuditReport` (docs/audit.md). SARIF: `sarif.py`.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from itertools import groupby

from rich.console import Console
from rich.text import Text

from fpmreg.client.report import print_note
from fpmreg.core.problem import Severity
from fpmreg.core.wire.audit import (
    AuditFinding,
    AuditIgnored,
    AuditReport,
    AuditSummary,
    FindingKind,
)

_STYLE = {
    FindingKind.ADVISORY: "bold red",
    FindingKind.DELETED: "bold red",
    FindingKind.YANKED: "yellow",
    FindingKind.DEPRECATED: "yellow",
}


def build_report(
    project: str,
    lock: str,
    packages: int,
    findings: Sequence[AuditFinding],
    ignored: Sequence[AuditIgnored] = (),
    notes: Sequence[str] = (),
) -> AuditReport:
    """The whole report, with its summary counts."""
    kinds = Counter(str(f.kind) for f in findings)
    return AuditReport(
        project=project,
        lock=lock,
        findings=list(findings),
        ignored=list(ignored),
        notes=list(notes),
        summary=AuditSummary(
            packages=packages,
            findings=len(findings),
            ignored=len(ignored),
            by_kind={k: kinds[k] for k in sorted(kinds)},
        ),
    )


def fix_text(finding: AuditFinding) -> str:
    """What to do about one finding, in a few words."""
    fix = finding.fix
    parts: list[str] = []
    if fix is not None and fix.switch_to:
        parts.append(f"switch to `{fix.switch_to}`")
    elif fix is not None and fix.upgrade_to:
        if fix.within_range:
            parts.append(f"upgrade to {fix.upgrade_to}")
        else:
            parts.append(
                f"upgrade to {fix.upgrade_to}, outside the allowed `{fix.range}`: change "
                "the requirement in fpm.toml"
            )
    elif finding.kind is FindingKind.ADVISORY:
        parts.append("no fixed version is published yet")
    elif finding.kind is not FindingKind.DEPRECATED:
        parts.append("no later version is published")
    mitigation = finding.mitigation
    if mitigation is not None:
        advice = (
            f"switch to `{mitigation.switch_to}`"
            if mitigation.switch_to
            else f"upgrade to {mitigation.upgrade_to}"
        )
        parts.append(f"the advisory suggests: {advice}")
    return "; ".join(parts)


def finding_line(finding: AuditFinding) -> str:
    """`advisory FPMREG-2026-0001: summary (CVE-...); fix: upgrade to 1.2.0`."""
    if finding.kind is FindingKind.ADVISORY:
        aliases = f" ({', '.join(finding.aliases)})" if finding.aliases else ""
        text = f"advisory {finding.id}: {finding.summary}{aliases}"
    else:
        text = f"{finding.kind}: {finding.summary}"
    advice = fix_text(finding)
    return f"{text}; fix: {advice}" if advice else text


def warning_line(finding: AuditFinding) -> str:
    """One line for `fpmreg lock` and `fpmreg sync`: the package, then `finding_line`."""
    return f"`{finding.package}` {finding.version}: {finding_line(finding)}"


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def summary_line(report: AuditReport) -> str:
    """`found 3 problems in 2 of 10 packages: 1 advisory, ...` or `no problems found ...`."""
    summary = report.summary
    ignored = f" ({summary.ignored} ignored)" if summary.ignored else ""
    if not summary.findings:
        return f"no problems found in {_plural(summary.packages, 'package')}{ignored}"
    affected = len({f.package for f in report.findings})
    kinds = ", ".join(f"{n} {k}" for k, n in summary.by_kind.items())
    return (
        f"found {_plural(summary.findings, 'problem')} in {affected} of "
        f"{_plural(summary.packages, 'package')}: {kinds}{ignored}"
    )


def print_text(out: Console, err: Console, report: AuditReport) -> None:
    """The report for people: findings on `out`, notes (expired entries...) on `err`."""
    for note in report.notes:
        print_note(err, Severity.WARNING, note)
    for (package, version), group in groupby(report.findings, lambda f: (f.package, f.version)):
        out.print(Text(f"{package} {version}", style="bold"))
        for finding in group:
            kind = str(finding.kind)
            line = Text("  ")
            line.append(kind, style=_STYLE[finding.kind])
            line.append(finding_line(finding).removeprefix(kind))
            out.print(line)
    for item in report.ignored:
        out.print(
            f"ignored {item.id} in {item.package} {item.version} until {item.expires}: "
            f"{item.reason}"
        )
    out.print(summary_line(report))


def report_json(report: AuditReport) -> str:
    """`--format json`."""
    return report.model_dump_json(indent=2)
