"""The shape of a part's handler table: RPC name to (request message, handler)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from google.protobuf.message import Message

from stigmer.backend.protocol import Backend

# A handler runs on a pool thread with that thread's backend and the parsed request.
Unary = dict[str, tuple[type[Message], Callable[[Backend, Any], Message]]]

__all__ = ["Unary"]
