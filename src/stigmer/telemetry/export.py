"""Where the engines tell telemetry that a run ended: one cheap check when it is off.

Nothing here imports OpenTelemetry; :mod:`stigmer.telemetry.otel` is imported only when
telemetry is on, by the first run that ends.
"""

from __future__ import annotations

import logging

from stigmer.api.common.v1.execution_pb2 import ExecutionPhase
from stigmer.backend.protocol import ExecutionReads
from stigmer.config import TelemetrySettings
from stigmer.resources.kinds import Execution

FINISHED = (ExecutionPhase.COMPLETED, ExecutionPhase.FAILED, ExecutionPhase.CANCELLED)
PARKED = ExecutionPhase.WAITING_APPROVAL
log = logging.getLogger("stigmer.telemetry")
_warned: set[str] = set()


def run_started(
    execution: Execution, settings: TelemetrySettings | None, *, taken_over: bool = False
) -> None:
    """Count a run a worker claimed (and whether it took it over from a worker that died:
    its lease ran out, or, ``taken_over``, its engine tried its work again elsewhere)."""
    if settings is None:
        return
    try:
        from stigmer.telemetry.metrics import metrics_for

        metrics_for(settings).run_started(execution, taken_over=taken_over)
    except Exception as exc:
        _warn(execution, exc)


def run_ended(reads: ExecutionReads, execution: Execution, settings: TelemetrySettings | None) -> None:
    """Export the spans and metrics of a run that finished, or the spans that ended so far of a
    run that parked to wait for a person (its metrics when it ends).

    Telemetry never fails a run: an export that cannot be made is logged once and dropped.
    """
    phase = execution.status.phase
    if settings is None or not (phase in FINISHED or (phase == PARKED and settings.export)):
        return
    try:
        steps = reads.list_steps(execution.metadata.id)
        if settings.export:
            from stigmer.telemetry.otel import exporter_for

            exporter_for(settings).export(execution, steps)
        if phase == PARKED:
            return
        from stigmer.telemetry.metrics import metrics_for

        metrics_for(settings).run_ended(execution, steps)
    except Exception as exc:
        _warn(execution, exc)


def _warn(execution: Execution, exc: Exception) -> None:
    hint = str(getattr(exc, "hint", "") or "")
    text = f"{exc}" + (f" ({hint})" if hint else "")
    if text not in _warned:
        _warned.add(text)
        log.warning("telemetry: what %s did was not exported: %s", execution.metadata.id, text)


__all__ = ["run_ended", "run_started"]
