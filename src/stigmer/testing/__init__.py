"""Helpers for testing automations built on Stigmer (and for Stigmer's own tests)."""

from stigmer.testing.home import crash_at, temporary_backend

__all__ = ["crash_at", "temporary_backend"]
