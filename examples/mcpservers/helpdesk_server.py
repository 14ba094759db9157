"""A small helpdesk MCP server: orders, tickets and refunds, plus tools that tests lean on.

Run it over stdio (how ``examples/mcpservers/helpdesk.yaml`` starts it)::

    python examples/mcpservers/helpdesk_server.py

or over streamable HTTP on 127.0.0.1 (endpoint ``http://127.0.0.1:PORT/mcp``)::

    python examples/mcpservers/helpdesk_server.py --http --port 8765

When the environment variable ``HELPDESK_LOG`` names a file, every tool call appends one
JSON line ``{"pid": …, "tool": …, "arguments": {…}}`` to it before it runs, so tests can
count how many times a tool really executed (exactly once, even across crashes) and find
the server's process id.
"""

from __future__ import annotations

import argparse
import json
import os
import zlib
from pathlib import Path
from typing import Any

import anyio
from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ToolError

server = MCPServer("helpdesk", instructions="Look up orders, open tickets and issue refunds.")

_PRODUCTS = ["blue mug", "desk lamp", "notebook", "usb cable", "wool scarf", "tea sampler"]
_STATUSES = ["processing", "shipped", "delivered"]


def _record(tool: str, **arguments: Any) -> None:
    """Append one line per call to $HELPDESK_LOG (the side effect tests count)."""
    log = os.environ.get("HELPDESK_LOG")
    if not log:
        return
    line = json.dumps({"pid": os.getpid(), "tool": tool, "arguments": arguments}, sort_keys=True)
    # One write of a whole line with O_APPEND, so lines from concurrent calls never interleave.
    with Path(log).open("a", encoding="utf-8") as f:
        f.write(line + "\n")


def _digest(text: str) -> int:
    # crc32, not hash(): the answer must be the same in every process.
    return zlib.crc32(text.encode("utf-8"))


@server.tool()
def find_order(id: str) -> str:
    """Look up an order by its id and describe it."""
    _record("find_order", id=id)
    n = _digest(id)
    quantity = 1 + n % 3
    product = _PRODUCTS[n % len(_PRODUCTS)]
    total = quantity * (5 + n % 40)
    status = _STATUSES[(n >> 8) % len(_STATUSES)]
    return f"Order {id}: {quantity} x {product}, total {total}.00 EUR, status {status}."


@server.tool()
def create_ticket(subject: str) -> str:
    """Open a support ticket with the given subject; returns the ticket id."""
    _record("create_ticket", subject=subject)
    return f"Ticket T-{_digest(subject) % 100000:05d} created: {subject}"


@server.tool()
def refund_order(id: str) -> str:
    """Refund an order in full (a person must approve this in the examples)."""
    _record("refund_order", id=id)
    return f"Refund issued for order {id}."


@server.tool()
def echo_env(name: str) -> str:
    """Return the value of an environment variable of the server process (empty if unset)."""
    _record("echo_env", name=name)
    return os.environ.get(name, "")


@server.tool()
def echo_header(name: str, ctx: Context) -> str:
    """Return a header of the HTTP request that carried this call (empty over stdio)."""
    _record("echo_header", name=name)
    return (ctx.headers or {}).get(name.lower(), "")


@server.tool()
def fail(message: str = "the helpdesk is on fire") -> str:
    """Always fail with the given message."""
    _record("fail", message=message)
    raise ToolError(message)


@server.tool()
async def sleep(seconds: float) -> str:
    """Wait for the given number of seconds, then say so."""
    _record("sleep", seconds=seconds)
    await anyio.sleep(seconds)
    return f"slept {seconds}s"


def main() -> None:
    """Serve over stdio, or over streamable HTTP on 127.0.0.1 with ``--http``."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--http", action="store_true", help="serve streamable HTTP instead of stdio")
    parser.add_argument("--port", type=int, default=8765, help="HTTP port on 127.0.0.1")
    args = parser.parse_args()
    if args.http:
        server.run("streamable-http", host="127.0.0.1", port=args.port)
    else:
        server.run()


if __name__ == "__main__":
    main()
