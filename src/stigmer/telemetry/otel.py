"""Exporting a finished run's spans to OpenTelemetry (OTLP over HTTP).

Imported only when telemetry is on (see :func:`stigmer.config.telemetry_settings`): this
module is where ``opentelemetry`` is imported, from the ``telemetry`` extra.

A run's spans are built from its journal (:func:`stigmer.telemetry.trace.run_spans`) when the
run finishes, by the process that finishes it, and handed to the SDK's batch processor with
the ids the journal gives them. So a run that moved between processes (a crash and a resume,
a wait for a person, Temporal workers) is one trace all the same, and each of its child runs,
finishing wherever it runs, joins it under the span that started it.
"""

from __future__ import annotations

import atexit
import threading
from datetime import datetime
from typing import TYPE_CHECKING, Any

from stigmer.api.backend.v1.backend_pb2 import ExecutionStep
from stigmer.api.common.v1.execution_pb2 import ExecutionPhase
from stigmer.config import TelemetrySettings
from stigmer.errors import InvalidArgument
from stigmer.resources.kinds import Execution
from stigmer.resources.trace_ids import run_span_id, run_trace_id
from stigmer.telemetry.trace import Span, run_spans

if TYPE_CHECKING:
    from opentelemetry.sdk.trace import ReadableSpan
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

INSTALL_HINT = "install the telemetry extra: pip install 'stigmer[telemetry]'"
_KINDS = {"model": "CLIENT", "http": "CLIENT"}


class RunExporter:
    """Sends finished runs' spans to one OTLP endpoint, in batches, from a thread of its own."""

    def __init__(self, settings: TelemetrySettings) -> None:
        try:
            from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
            from opentelemetry.sdk.resources import Resource
            from opentelemetry.sdk.trace.export import BatchSpanProcessor
        except ImportError:
            raise InvalidArgument(
                "telemetry is on (an OTLP endpoint is set) but OpenTelemetry is not installed",
                hint=f"{INSTALL_HINT}, or unset OTEL_EXPORTER_OTLP_ENDPOINT and telemetry.endpoint",
            ) from None
        from stigmer.version import __version__

        self.settings = settings
        self.resource = Resource.create(
            {"service.name": settings.service_name, "service.version": __version__}
        )
        endpoint = f"{settings.endpoint}/v1/traces" if settings.endpoint else None
        exporter = OTLPSpanExporter(endpoint=endpoint, headers=dict(settings.headers) or None)
        self.processor: BatchSpanProcessor = BatchSpanProcessor(exporter)

    def export(self, execution: Execution, steps: list[ExecutionStep]) -> None:
        """Queue the spans of a run that finished, or, of a run that parked to wait for an
        approval, those that ended since it last parked (not those of its child runs: they
        export theirs).

        A viewer so sees a waiting run's work while it waits; the run's own span, the approval
        and what follows go when it ends, in the same trace. Which park sent a span is told by
        the journal alone: a span goes with the first park (or the end) after it ended.
        """
        root = run_spans(execution, steps, content=self.settings.capture_content)
        trace_id = int(run_trace_id(execution.metadata.id, execution.spec.trace_parent), 16)
        retry_of = str(getattr(execution.spec, "retry_of", ""))
        for span in _sent_now(root, parked=execution.status.phase == ExecutionPhase.WAITING_APPROVAL):
            if span.status == "reused":
                continue  # it belongs to the trace of the run it was copied from
            link = retry_of if span is root else ""
            self.processor.on_end(self._readable(span, trace_id, root.end, link))

    def flush(self, timeout_millis: int = 30_000) -> bool:
        """Send what is queued now."""
        return bool(self.processor.force_flush(timeout_millis))

    def shutdown(self) -> None:
        """Send what is queued and stop."""
        self.processor.shutdown()  # type: ignore[no-untyped-call]

    def _readable(self, span: Span, trace_id: int, run_end: datetime | None, retry_of: str) -> ReadableSpan:
        from opentelemetry.sdk.trace import ReadableSpan
        from opentelemetry.sdk.util.instrumentation import InstrumentationScope
        from opentelemetry.trace import Link, SpanContext, SpanKind, Status, StatusCode, TraceFlags

        from stigmer.version import __version__

        sampled = TraceFlags(TraceFlags.SAMPLED)
        context = SpanContext(trace_id, int(span.span_id, 16), is_remote=False, trace_flags=sampled)
        parent = (
            SpanContext(trace_id, int(span.parent_id, 16), is_remote=False, trace_flags=sampled)
            if span.parent_id
            else None
        )
        links = []
        if retry_of:
            source = SpanContext(
                int(run_trace_id(retry_of), 16), int(run_span_id(retry_of), 16), True, sampled
            )
            links.append(Link(source, {"stigmer.link": "retry_of"}))
        status = (
            Status(StatusCode.ERROR, span.error or span.status)
            if span.status in ("error", "cancelled")
            else Status()
        )
        start = span.start or run_end
        end = span.end or run_end or start
        attributes: dict[str, Any] = {
            k: v for k, v in span.attributes.items() if v is not None and v != "" and v != []
        }
        attributes.setdefault("stigmer.execution.id", span.execution_id)
        if span.status not in ("ok", "error"):
            attributes["stigmer.status"] = span.status
        return ReadableSpan(
            name=span.name,
            context=context,
            parent=parent,
            resource=self.resource,
            attributes=attributes,
            links=links,
            kind=getattr(SpanKind, _KINDS.get(span.kind, "INTERNAL")),
            status=status,
            start_time=_nanos(start),
            end_time=_nanos(end),
            instrumentation_scope=InstrumentationScope("stigmer", __version__),
        )


def _sent_now(root: Span, *, parked: bool) -> list[Span]:
    """The spans of a run to send now: at a park, those that ended since the park before it;
    at its end, the rest (those that ended after its last park, and the run's own)."""
    approvals = [s for s in root.walk() if s.kind == "approval" and s.start is not None]
    waiting = [s.start for s in approvals if s.status == "waiting" and s.start is not None]
    decided = [s.start for s in approvals if s.status != "waiting" and s.start is not None]
    if not parked:
        last = max(decided, default=None)
        return [s for s in root.walk() if s is root or s.end is None or last is None or s.end > last]
    if not waiting:
        return []  # it waits on a child run's behalf, or for an answer: all of it at its end
    parked_at = max(waiting)
    since = max((d for d in decided if d < min(waiting)), default=None)
    return [
        s
        for s in root.walk()
        if s is not root and s.end is not None and s.end <= parked_at and (since is None or s.end > since)
    ]


def _nanos(when: datetime | None) -> int | None:
    return int(when.timestamp() * 1_000_000_000) if when else None


_exporters: dict[TelemetrySettings, RunExporter] = {}
_lock = threading.Lock()


def exporter_for(settings: TelemetrySettings) -> RunExporter:
    """The process's exporter for these settings (made once; flushed when the process exits).

    Raises:
        InvalidArgument: OpenTelemetry is not installed.
    """
    with _lock:
        found = _exporters.get(settings)
        if found is None:
            found = _exporters[settings] = RunExporter(settings)
            atexit.register(found.shutdown)
        return found


def close(settings: TelemetrySettings) -> None:
    """Send what the exporter of these settings holds, and stop it (a test's receiver goes away)."""
    with _lock:
        found = _exporters.pop(settings, None)
    if found is not None:
        found.shutdown()
        atexit.unregister(found.shutdown)


def flush_all() -> None:
    """Send every exporter's queued spans now (tests, and a process about to stop)."""
    with _lock:
        exporters = list(_exporters.values())
    for exporter in exporters:
        exporter.flush()


__all__ = ["INSTALL_HINT", "RunExporter", "close", "exporter_for", "flush_all"]
