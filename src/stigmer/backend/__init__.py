"""The Backend protocol and its implementations."""

from stigmer.backend.protocol import ApplyOutcome, Backend, ExecutionQuery, Page

__all__ = ["ApplyOutcome", "Backend", "ExecutionQuery", "Page"]
