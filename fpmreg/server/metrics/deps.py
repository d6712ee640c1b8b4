"""The metrics domain's wiring and dependency aliases: `DownloadsDep`, `MetricsDep`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request

from fpmreg.server.http import SessionDep, StateDep
from fpmreg.server.metrics.instruments import Instruments
from fpmreg.server.metrics.recorder import DownloadRecorder
from fpmreg.server.metrics.service import DownloadsService


@dataclass
class MetricsWiring:
    """The metrics objects of one app process (on `app.state.metrics`)."""

    recorder: DownloadRecorder  # buffered download counts of this process
    instruments: Instruments  # Prometheus metrics of this process


def metrics_wiring(request: Request) -> MetricsWiring:
    """This app's metrics objects."""
    wiring: MetricsWiring = request.app.state.metrics
    return wiring


def downloads_service(state: StateDep, session: SessionDep) -> DownloadsService:
    """The download counts service on this request's session."""
    return DownloadsService(session, state.clock)


DownloadsDep = Annotated[DownloadsService, Depends(downloads_service)]
MetricsDep = Annotated[MetricsWiring, Depends(metrics_wiring)]
