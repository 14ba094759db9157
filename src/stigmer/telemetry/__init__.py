"""Seeing inside runs: their traces (built from the journal), OpenTelemetry export and metrics."""

from stigmer.telemetry.trace import Span, Trace, build_trace

__all__ = ["Span", "Trace", "build_trace"]
