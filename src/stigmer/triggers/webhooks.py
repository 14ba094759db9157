"""Receiving webhooks: check a delivery's signature, map its payload to inputs, start one run.

A delivery is accepted only with an HMAC-SHA256 signature of its raw body, made with the
secret the Webhook names in its Environment, in GitHub's ``X-Hub-Signature-256: sha256=HEX``
header or the generic ``X-Stigmer-Signature: sha256=HEX``. Each delivery starts at most one
run: its id (``X-GitHub-Delivery``, ``X-Stigmer-Delivery``, else the SHA-256 of the body) is
the run's fire key in the store, so a replayed or retried delivery is refused with 409.

Every answer is a status and a JSON body; nothing here knows HTTP servers, so the dashboard
and the server serve the same :func:`receive`.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from stigmer.api.webhook.v1.webhook_pb2 import Webhook
from stigmer.api.workflowexecution.v1.workflowexecution_pb2 import WorkflowExecution
from stigmer.backend.protocol import Backend
from stigmer.errors import AlreadyExists, InvalidArgument, NotFound, SecretError, StigmerError
from stigmer.resources import expressions
from stigmer.resources.codec import to_dict
from stigmer.resources.kinds import API_VERSION
from stigmer.resources.trigger_specs import DEFAULT_MAX_BODY, DEFAULT_SECRET, WEBHOOK_ROOTS

PATH_PREFIX = "/hooks/"
SIGNATURE_HEADERS = ("x-hub-signature-256", "x-stigmer-signature")
DELIVERY_HEADERS = ("x-github-delivery", "x-stigmer-delivery")


@dataclass(frozen=True)
class Answer:
    """What to answer a delivery: an HTTP status and a JSON body."""

    status: int
    body: dict[str, Any]


def _refused(status: int, code: str, message: str) -> Answer:
    return Answer(status, {"error": message, "code": code})


def find(backend: Backend, name: str) -> Webhook | None:
    """The Webhook called ``name``, None when there is none."""
    try:
        return backend.get(Webhook, name)
    except (NotFound, InvalidArgument):
        return None


def body_limit(webhook: Webhook) -> int:
    """The largest body ``webhook`` accepts, in bytes."""
    return int(webhook.spec.max_body_bytes) or DEFAULT_MAX_BODY


def sign(secret: str, body: bytes) -> str:
    """The signature header value of ``body``: ``sha256=HEX`` (as GitHub sends it)."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def signature_ok(secret: str, body: bytes, headers: Mapping[str, str]) -> bool:
    """Whether one of the signature headers carries the HMAC-SHA256 of ``body`` under ``secret``."""
    expected = sign(secret, body)
    given = [headers.get(h, "").strip() for h in SIGNATURE_HEADERS]
    # compare_digest: the time taken says nothing of how much of a forged signature matched.
    return any(value and hmac.compare_digest(value.encode(), expected.encode()) for value in given)


def delivery_id(body: bytes, headers: Mapping[str, str]) -> str:
    """The delivery's id: the sender's header, or the SHA-256 of the body when it sends none."""
    for header in DELIVERY_HEADERS:
        value = headers.get(header, "").strip()
        if value:
            return value[:200]
    return "sha256:" + hashlib.sha256(body).hexdigest()


def receive(backend: Backend, name: str, headers: Mapping[str, str], body: bytes) -> Answer:
    """Handle one delivery to ``/hooks/NAME``; ``headers`` have lower-case names.

    Answers 404 (no such webhook), 413 (body too large), 401 (unsigned or badly signed),
    400 (not JSON), 409 (delivery already received), 422 (inputs do not map or fit the
    workflow), 503 (its secret cannot be read), 200 (``when`` is false: nothing started) or
    202 with the execution id. Only 202 starts anything.
    """
    webhook = find(backend, name)
    if webhook is None:
        return _refused(404, "NOT_FOUND", f"no webhook {name!r}")
    limit = body_limit(webhook)
    if len(body) > limit:
        return _refused(413, "TOO_LARGE", f"the body is larger than {limit} bytes")
    spec = webhook.spec
    try:
        secret = backend.reveal_secret(spec.environment, spec.secret or DEFAULT_SECRET)
    except (NotFound, SecretError) as exc:
        # The sender cannot fix this; its retries will succeed once the owner does.
        return _refused(503, "NOT_CONFIGURED", f"webhook {name!r} cannot check signatures: {exc}")
    if not signature_ok(secret, body, headers):
        return _refused(401, "BAD_SIGNATURE", "missing or wrong signature (X-Hub-Signature-256: sha256=HMAC)")
    try:
        payload = json.loads(body) if body.strip() else {}
    except ValueError:
        return _refused(400, "NOT_JSON", "the body is not JSON")
    delivery = delivery_id(body, headers)
    context = {"body": payload, "headers": dict(headers), "webhook": {"name": name, "deliveryId": delivery}}
    try:
        if not expressions.condition(spec.when, context, where="spec.when", roots=WEBHOOK_ROOTS):
            return Answer(
                200, {"started": False, "reason": "the webhook's `when` is false for this delivery"}
            )
        inputs = expressions.evaluate(to_dict(spec.inputs), context, where="spec.inputs", roots=WEBHOOK_ROOTS)
        execution = WorkflowExecution(api_version=API_VERSION, kind="WorkflowExecution")
        execution.spec.workflow = spec.workflow
        execution.spec.environment = spec.environment
        if inputs:
            execution.spec.inputs.update(inputs)
        trigger = execution.spec.trigger
        trigger.type, trigger.source, trigger.delivery_id = "webhook", webhook.metadata.name, delivery
        created = backend.create_execution(execution)
    except AlreadyExists:
        return _refused(409, "REPLAYED", f"delivery {delivery} was already received; nothing was started")
    except InvalidArgument as exc:
        where = f" ({exc.field})" if exc.field else ""
        return _refused(422, "INVALID_ARGUMENT", f"{exc}{where}")
    except StigmerError as exc:
        return _refused(503, "UNAVAILABLE", str(exc))
    return Answer(202, {"executionId": created.metadata.id, "deliveryId": delivery})


__all__ = [
    "DELIVERY_HEADERS",
    "PATH_PREFIX",
    "SIGNATURE_HEADERS",
    "Answer",
    "body_limit",
    "delivery_id",
    "find",
    "receive",
    "sign",
    "signature_ok",
]
