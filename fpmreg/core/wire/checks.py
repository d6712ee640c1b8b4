"""The upload checks' catalogue, as `/api/v1/checks` and `fpmreg check --list` give it."""

from __future__ import annotations

from typing import Literal

from fpmreg.core.wire import WireModel


class CheckEntry(WireModel):
    """One check: its stable code, whether it blocks, what it finds and why."""

    code: str
    severity: Literal["error", "warning"]
    title: str
    reason: str
    server_only: bool


class CheckList(WireModel):
    """Every check."""

    checks: list[CheckEntry]
