"""The server's code-execution policy applied to requests that write resources."""

from __future__ import annotations

from typing import Any

from stigmer.backend.wire import unpack
from stigmer.policy import ExecutionPolicy, check_resources

_ONE = ("CreateResource", "UpdateResource")
_MANY = ("ApplyResources", "ImportResources")


def refuse_disallowed_code(policy: ExecutionPolicy, method: str, request: Any) -> None:
    """Refuse a write whose resources ask for code the policy does not allow.

    Raises:
        PolicyRefusal: One does (INVALID_ARGUMENT, with the field and the setting to change).
    """
    if method in _ONE and request.HasField("resource"):
        check_resources(policy, [unpack(request.resource)])
    elif method in _MANY:
        check_resources(policy, [unpack(r) for r in request.resources])


__all__ = ["refuse_disallowed_code"]
