"""The error inside the exception groups that the SDK's (anyio) task groups wrap it in."""

from __future__ import annotations

import anyio


def root_cause(exc: BaseException) -> BaseException:
    """The first real error inside (nested) exception groups, skipping cancellations."""
    cancelled = anyio.get_cancelled_exc_class()
    while isinstance(exc, BaseExceptionGroup):
        errors = [e for e in exc.exceptions if not isinstance(e, cancelled)] or list(exc.exceptions)
        exc = errors[0]
    return exc


__all__ = ["root_cause"]
