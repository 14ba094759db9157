"""Metrics of runs (OpenTelemetry), exported over OTLP and shown as Prometheus text.

Imported only when metrics are on (an OTLP endpoint is set, or `stigmer server
--metrics-port`). Recorded where the engines start and end runs, from each run's journal:

- ``stigmer.executions.started`` and ``stigmer.executions.finished`` (counters, by ``kind``
  and, when finished, ``phase``);
- ``stigmer.task.attempt.duration`` (histogram, seconds, by workflow, task and ``phase``);
- ``gen_ai.client.operation.duration`` (histogram, seconds) and ``gen_ai.client.token.usage``
  (histogram, tokens, by ``gen_ai.token.type``) of model calls, by ``gen_ai.provider.name``
  and ``gen_ai.request.model`` — the GenAI semantic conventions' client metrics;
- ``stigmer.cost`` (counter, US dollars, by model);
- ``stigmer.lease.takeovers`` (counter, by ``kind``): runs a worker took over from one that
  died or stalled;
- ``stigmer.executions.queued`` (gauge, by ``kind``): the queue's depth, runs waiting for a
  worker, read from the store when the metrics are read (see :mod:`stigmer.telemetry.queue`).
"""

from __future__ import annotations

import atexit
import logging
import math
import threading
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from stigmer.api.agentexecution.v1.agentexecution_pb2 import AgentExecution
from stigmer.api.backend.v1.backend_pb2 import ExecutionStep
from stigmer.api.common.v1.execution_pb2 import ExecutionPhase
from stigmer.config import TelemetrySettings
from stigmer.errors import InvalidArgument
from stigmer.resources.kinds import Execution
from stigmer.resources.steps import MODEL, duration_ms, output_of
from stigmer.resources.workflow_steps import END

if TYPE_CHECKING:
    from opentelemetry.metrics import CallbackOptions, Observation
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.metrics.export import InMemoryMetricReader, MetricsData

SECONDS_BUCKETS = [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 900, 3600]
TOKEN_BUCKETS = [1, 4, 16, 64, 256, 1024, 4096, 16384, 65536, 262144, 1048576, 4194304]
INSTALL_HINT = "install the telemetry extra: pip install 'stigmer[telemetry]'"
log = logging.getLogger("stigmer.telemetry")


def _kind(execution: Execution) -> str:
    return "agent" if isinstance(execution, AgentExecution) else "workflow"


class RunMetrics:
    """The instruments of one process, and where their readings go.

    Args:
        settings: Its telemetry settings: OTLP export when ``settings.export``.
        prometheus: Also keep readings to show as Prometheus text (``--metrics-port``).
    """

    def __init__(self, settings: TelemetrySettings, *, prometheus: bool) -> None:
        try:
            from opentelemetry.sdk.metrics import MeterProvider
            from opentelemetry.sdk.metrics.export import InMemoryMetricReader, MetricReader
            from opentelemetry.sdk.resources import Resource
        except ImportError:
            raise InvalidArgument(
                "metrics are on but OpenTelemetry is not installed", hint=INSTALL_HINT
            ) from None
        from stigmer.version import __version__

        readers: list[MetricReader] = []
        self.exporting = settings.export
        self.pull: InMemoryMetricReader | None = None
        if prometheus:
            self.pull = InMemoryMetricReader()
            readers.append(self.pull)
        if settings.export:
            from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter
            from opentelemetry.sdk.metrics.export import PeriodicExportingMetricReader

            endpoint = f"{settings.endpoint}/v1/metrics" if settings.endpoint else None
            exporter = OTLPMetricExporter(endpoint=endpoint, headers=dict(settings.headers) or None)
            readers.append(PeriodicExportingMetricReader(exporter))
        resource = Resource.create({"service.name": settings.service_name, "service.version": __version__})
        self.provider: MeterProvider = MeterProvider(metric_readers=readers, resource=resource)
        meter = self.provider.get_meter("stigmer", __version__)
        self.started = meter.create_counter("stigmer.executions.started", "{execution}", "Runs started")
        self.finished = meter.create_counter("stigmer.executions.finished", "{execution}", "Runs finished")
        self.takeovers = meter.create_counter(
            "stigmer.lease.takeovers", "{execution}", "Runs taken over from a worker that died or stalled"
        )
        self.attempts = meter.create_histogram(
            "stigmer.task.attempt.duration",
            "s",
            "How long workflow task attempts took",
            explicit_bucket_boundaries_advisory=SECONDS_BUCKETS,
        )
        self.model_calls = meter.create_histogram(
            "gen_ai.client.operation.duration",
            "s",
            "How long model calls took",
            explicit_bucket_boundaries_advisory=SECONDS_BUCKETS,
        )
        self.tokens = meter.create_histogram(
            "gen_ai.client.token.usage",
            "{token}",
            "Tokens of model calls",
            explicit_bucket_boundaries_advisory=TOKEN_BUCKETS,
        )
        self.cost = meter.create_counter(
            "stigmer.cost", "USD", "What model calls cost, from the prices in config.yaml"
        )
        # Where the queue's depth is read from (a service of a long-running worker sets it).
        self.queue: Callable[[], dict[str, int]] | None = None
        meter.create_observable_gauge(
            "stigmer.executions.queued",
            [self._observe_queue],
            "{execution}",
            "Runs waiting for a worker (the queue's depth)",
        )

    def run_started(self, execution: Execution, *, taken_over: bool = False) -> None:
        """A worker claimed a run (a new one, or one taken over: from a worker whose lease ran
        out, or, with ``taken_over``, as the engine saw it)."""
        kind = {"kind": _kind(execution)}
        self.started.add(1, kind)
        if taken_over or execution.status.taken_over_from:
            self.takeovers.add(1, kind)

    def _observe_queue(self, options: CallbackOptions) -> Iterable[Observation]:
        from opentelemetry.metrics import Observation

        count = self.queue
        if count is None:
            return []
        try:
            depth = count()
        except Exception as exc:  # a store that does not answer: no reading, not a failure
            log.warning("telemetry: the queue's depth could not be read: %s", exc)
            return []
        return [Observation(n, {"kind": kind}) for kind, n in sorted(depth.items())]

    def run_ended(self, execution: Execution, steps: Iterable[ExecutionStep]) -> None:
        """A run finished: count it, and what its journal says of its model calls and tasks."""
        kind = _kind(execution)
        self.finished.add(1, {"kind": kind, "phase": ExecutionPhase.Name(execution.status.phase)})
        for step in steps:
            out = output_of(step)
            if out.get("reusedFrom"):
                continue  # recorded by the run it was copied from
            if step.name == MODEL:
                self._model_call(step, out, execution)
            elif step.name.startswith(END) and step.HasField("end_time"):
                # An attempt that failed and is tried again ended FAILED; its task goes on.
                labels = {
                    "stigmer.workflow.name": str(getattr(execution.spec, "workflow", "")),
                    "stigmer.task.name": step.name[len(END) :].partition("[")[0],
                    "phase": str(out.get("phase", "COMPLETED")),
                }
                self.attempts.record(duration_ms(step) / 1000, labels)

    def _model_call(self, step: ExecutionStep, out: dict[str, Any], execution: Execution) -> None:
        model_id = str(out.get("model") or getattr(execution.status, "model", ""))
        provider, _, model = model_id.partition("/")
        labels = {
            "gen_ai.operation.name": "chat",
            "gen_ai.provider.name": provider,
            "gen_ai.request.model": model or provider,
        }
        self.model_calls.record(duration_ms(step) / 1000, labels)
        usage = dict(out.get("usage") or {})
        if not usage.get("unreported"):
            self.tokens.record(int(usage.get("inputTokens", 0)), {**labels, "gen_ai.token.type": "input"})
            self.tokens.record(int(usage.get("outputTokens", 0)), {**labels, "gen_ai.token.type": "output"})
        if "cost" in usage:
            self.cost.add(float(usage["cost"]), labels)

    def collect(self) -> MetricsData | None:
        """The readings now (for Prometheus text); None without a pull reader."""
        return self.pull.get_metrics_data() if self.pull is not None else None

    def shutdown(self) -> None:
        """Export what is left and stop."""
        self.provider.shutdown()


_current: RunMetrics | None = None
_lock = threading.Lock()


def metrics_for(settings: TelemetrySettings) -> RunMetrics:
    """The process's metrics (one meter provider per process, as OpenTelemetry has it), made by
    the first settings that ask; settings asking for more later (a Prometheus port, OTLP export)
    make them again with both."""
    global _current
    prometheus = settings.metrics_port is not None
    with _lock:
        found = _current
        if (
            found is not None
            and (found.pull is not None or not prometheus)
            and (found.exporting or not settings.export)
        ):
            return found
        if found is not None:
            found.shutdown()
            atexit.unregister(found.shutdown)
            prometheus = prometheus or found.pull is not None
        _current = RunMetrics(settings, prometheus=prometheus)
        _current.queue = found.queue if found is not None else None
        atexit.register(_current.shutdown)
        return _current


def current() -> RunMetrics | None:
    """The process's metrics, if they were made."""
    return _current


def reset() -> None:
    """Forget the process's metrics (tests)."""
    global _current
    with _lock:
        if _current is not None:
            _current.shutdown()
            atexit.unregister(_current.shutdown)
        _current = None


# -- Prometheus text ---------------------------------------------------------------------------


def prometheus_text(data: MetricsData | None) -> str:
    """Readings in the Prometheus text exposition format (version 0.0.4)."""
    if data is None:
        return ""
    from opentelemetry.sdk.metrics.export import HistogramDataPoint, NumberDataPoint, Sum

    lines: list[str] = []
    for resource_metrics in data.resource_metrics:
        for scope in resource_metrics.scope_metrics:
            for metric in scope.metrics:
                name = _metric_name(metric.name, metric.unit or "")
                counter = isinstance(metric.data, Sum) and metric.data.is_monotonic
                histogram = any(isinstance(p, HistogramDataPoint) for p in metric.data.data_points)
                shown = f"{name}_total" if counter else name
                kind = "counter" if counter else "histogram" if histogram else "gauge"
                lines += [f"# HELP {shown} {metric.description or ''}", f"# TYPE {shown} {kind}"]
                for point in metric.data.data_points:
                    labels = dict(point.attributes or {})
                    if isinstance(point, HistogramDataPoint):
                        running = 0
                        for bound, count in zip(point.explicit_bounds, point.bucket_counts, strict=False):
                            running += count
                            lines.append(
                                f"{name}_bucket{_labels({**labels, 'le': _number(bound)})} {running}"
                            )
                        lines.append(f"{name}_bucket{_labels({**labels, 'le': '+Inf'})} {point.count}")
                        lines.append(f"{name}_sum{_labels(labels)} {_number(point.sum)}")
                        lines.append(f"{name}_count{_labels(labels)} {point.count}")
                    elif isinstance(point, NumberDataPoint):
                        lines.append(f"{shown}{_labels(labels)} {_number(point.value)}")
    return "\n".join(lines) + "\n"


_UNITS = {"s": "seconds", "USD": "usd", "{token}": "tokens"}


def _metric_name(name: str, unit: str) -> str:
    base = "".join(c if c.isalnum() else "_" for c in name)
    suffix = _UNITS.get(unit, "")
    return f"{base}_{suffix}" if suffix and not base.endswith(suffix) else base


def _labels(labels: dict[str, Any]) -> str:
    if not labels:
        return ""
    pairs = []
    for key, value in sorted(labels.items()):
        safe = "".join(c if c.isalnum() else "_" for c in str(key))
        text = str(value).replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
        pairs.append(f'{safe}="{text}"')
    return "{" + ",".join(pairs) + "}"


def _number(value: float) -> str:
    if isinstance(value, float) and math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


__all__ = ["RunMetrics", "current", "metrics_for", "prometheus_text", "reset"]
