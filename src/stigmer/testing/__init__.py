"""Helpers for testing automations built on Stigmer (and for Stigmer's own tests)."""

from stigmer.testing.home import crash_at, temporary_backend
from stigmer.testing.sandbox import sandbox, scripted, tool_call

__all__ = ["crash_at", "sandbox", "scripted", "temporary_backend", "tool_call"]
