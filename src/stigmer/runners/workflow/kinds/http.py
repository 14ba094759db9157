"""The ``http`` task: one HTTP request; its outputs are ``{status, headers, body}``.

Every try of one attempt sends the same ``Idempotency-Key`` (a retry after a crash is
recognisable by the server); the next attempt sends a new one.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

from google.protobuf import json_format

from stigmer import policy
from stigmer.api.workflow.v1.workflow_pb2 import Task
from stigmer.errors import InvalidArgument
from stigmer.resources.codec import to_dict
from stigmer.resources.steps import plain
from stigmer.runners.workflow.attempt import Attempt
from stigmer.runners.workflow.kinds.base import (
    Attempts,
    Fields,
    TaskCall,
    TaskError,
    TaskKind,
    idempotency_key,
)
from stigmer.runners.workflow.kinds.registry import register

HTTP_TIMEOUT_SECONDS = 30.0


class HttpKind(TaskKind):
    """``http: {method, url, headers, query, body, expectStatus}``."""

    field = "http"
    label = "http"
    heartbeats = True

    def validate(self, task: Task, field: str) -> None:
        if not task.http.url:
            raise InvalidArgument("an http task needs a url", field=f"{field}.http.url")
        if task.http.max_response_bytes < 0:
            raise InvalidArgument("maxResponseBytes must be positive", field=f"{field}.http.maxResponseBytes")

    def value_fields(self, task: Task) -> list[tuple[str, Any]]:
        http = task.http
        values: list[tuple[str, Any]] = [
            ("http.url", http.url),
            ("http.headers", dict(http.headers)),
            ("http.query", dict(http.query)),
        ]
        if http.HasField("body"):
            values.append(("http.body", json_format.MessageToDict(http.body)))
        return values

    def describe(self, task: Task) -> str:
        return f"http {task.http.method or 'GET'} {task.http.url}"

    async def begin(self, run: Attempts, call: Attempt, started: TaskCall, fields: Fields) -> dict[str, Any]:
        spec = call.task.http
        request = {
            "method": spec.method,
            "url": fields.value(spec.url, "http.url"),
            "headers": fields.value(dict(spec.headers), "http.headers"),
            "query": fields.value(dict(spec.query), "http.query"),
            "body": fields.value(plain(to_dict(spec.body)), "http.body") if spec.HasField("body") else None,
            "expectStatus": list(spec.expect_status),
            "maxResponseBytes": spec.max_response_bytes,
        }
        # The method and URL go in the journal (secrets masked): traces show the request from there.
        run.record_start(started, method=request_method(request), url=str(request["url"]))
        return await http(started, request)


def request_method(request: dict[str, Any]) -> str:
    """The request's method: as written, else POST with a body and GET without."""
    return str(request.get("method") or ("POST" if request.get("body") is not None else "GET")).upper()


async def http(call: TaskCall, request: dict[str, Any]) -> dict[str, Any]:
    """Send the request; the response (status, headers, body as JSON when it is JSON) is the output."""
    import httpx

    method = request_method(request)
    url = str(request["url"])
    headers = {str(k): str(v) for k, v in (request.get("headers") or {}).items()}
    if not any(k.lower() == "idempotency-key" for k in headers):
        headers["Idempotency-Key"] = idempotency_key(call)
    query = {str(k): str(v) for k, v in (request.get("query") or {}).items()}
    expected = [int(s) for s in request.get("expectStatus") or []]
    body = request.get("body")
    rules = policy.current()

    async def check_egress(outgoing: httpx.Request) -> None:
        # Every request the client sends (a redirect too), after resolving its host.
        await asyncio.to_thread(rules.check_url, str(outgoing.url))

    try:
        async with httpx.AsyncClient(
            timeout=HTTP_TIMEOUT_SECONDS, event_hooks={"request": [check_egress]}
        ) as client:
            outgoing = client.build_request(
                method, url, headers=headers, params=query or None, json=body if body is not None else None
            )
            response = await client.send(outgoing, stream=True)
            try:
                limit = int(request.get("maxResponseBytes") or rules.max_response_bytes)
                content = await _read_at_most(response, limit, f"{method} {url}")
            finally:
                await response.aclose()
    except policy.PolicyRefusal as exc:
        raise TaskError(
            "EGRESS_REFUSED", f"{method} {url}: {exc.message} (hint: {exc.hint})", retryable=False
        ) from None
    except httpx.HTTPError as exc:
        raise TaskError("HTTP_ERROR", f"{method} {url}: {type(exc).__name__}: {exc}") from exc
    text = content.decode(response.encoding or "utf-8", "replace")
    try:
        payload: Any = json.loads(content)
    except ValueError:
        payload = text
    ok = response.status_code in expected if expected else 200 <= response.status_code < 300
    if not ok:
        want = ", ".join(map(str, expected)) if expected else "2xx"
        raise TaskError(
            "HTTP_STATUS",
            f"{method} {url} returned {response.status_code} (expected {want}): {text[:300]}",
        )
    return {"status": response.status_code, "headers": dict(response.headers), "body": payload}


async def _read_at_most(response: Any, limit: int, what: str) -> bytes:
    """Read the body, failing (and keeping nothing) as soon as it passes ``limit`` bytes."""
    chunks: list[bytes] = []
    size = 0
    async for chunk in response.aiter_bytes():
        size += len(chunk)
        if size > limit:
            raise TaskError(
                "RESPONSE_TOO_LARGE",
                f"{what}: the response is larger than {limit} bytes (maxResponseBytes); "
                "nothing of it is kept",
                retryable=False,
            )
        chunks.append(chunk)
    return b"".join(chunks)


register(HttpKind())

__all__ = ["HTTP_TIMEOUT_SECONDS", "HttpKind", "http"]
