"""Schedule and Webhook specs: their short forms and their checks, before anything is written."""

from __future__ import annotations

from typing import Any

from stigmer.api.schedule.v1.schedule_pb2 import Schedule, ScheduleSpec
from stigmer.api.webhook.v1.webhook_pb2 import Webhook
from stigmer.errors import InvalidArgument
from stigmer.resources import expressions
from stigmer.resources.codec import to_dict

OVERLAP = ("skip", "queue", "allow")
SCHEDULE_ROOTS = ("schedule",)
WEBHOOK_ROOTS = ("body", "headers", "webhook")
DEFAULT_SECRET = "WEBHOOK_SECRET"
DEFAULT_MAX_BODY = 1024 * 1024


def normalise_schedule(spec: dict[str, Any]) -> None:
    """``catchUp: 3`` (a number in YAML) is the text "3" in the proto."""
    if isinstance(spec.get("catchUp"), int) and not isinstance(spec.get("catchUp"), bool):
        spec["catchUp"] = str(spec["catchUp"])


def catch_up_limit(spec: ScheduleSpec) -> int:
    """How many missed fires a schedule runs: 0 for none, 1 for last, N for a number.

    Raises:
        InvalidArgument: Neither none, last nor a positive whole number.
    """
    value = spec.catch_up.strip().lower() or "none"
    if value == "none":
        return 0
    if value == "last":
        return 1
    if value.isdigit() and 0 < int(value) <= 1000:
        return int(value)
    raise InvalidArgument(
        f"invalid catchUp {spec.catch_up!r}",
        field="spec.catchUp",
        hint="none, last or a number from 1 to 1000",
    )


def overlap_policy(spec: ScheduleSpec) -> str:
    """skip (the default), queue or allow.

    Raises:
        InvalidArgument: Another word.
    """
    value = spec.overlap.strip().lower() or "skip"
    if value not in OVERLAP:
        raise InvalidArgument(
            f"invalid overlap {spec.overlap!r}", field="spec.overlap", hint=f"one of: {', '.join(OVERLAP)}"
        )
    return value


def validate_schedule(schedule: Schedule) -> None:
    """Check a Schedule: its timing, target, policies and expressions.

    Raises:
        InvalidArgument: Naming the field.
    """
    from stigmer.resources.schedule_times import FireTimes

    spec = schedule.spec
    FireTimes.of(spec)
    overlap_policy(spec)
    catch_up_limit(spec)
    if bool(spec.workflow) == bool(spec.agent):
        raise InvalidArgument(
            "a Schedule runs exactly one of a workflow and an agent",
            field="spec.workflow",
            hint="write workflow: NAME (with inputs) or agent: NAME (with message)",
        )
    if spec.agent and not spec.message:
        raise InvalidArgument("an agent schedule needs a message", field="spec.message")
    if spec.workflow and spec.message:
        raise InvalidArgument("message is for agent schedules; a workflow takes inputs", field="spec.message")
    if spec.agent and spec.HasField("inputs") and spec.inputs.fields:
        raise InvalidArgument(
            "inputs are for workflow schedules; an agent takes a message", field="spec.inputs"
        )
    expressions.check(spec.message, where="spec.message", roots=SCHEDULE_ROOTS)
    expressions.check(to_dict(spec.inputs), where="spec.inputs", roots=SCHEDULE_ROOTS)


def validate_webhook(webhook: Webhook) -> None:
    """Check a Webhook: its target, secret, limits and expressions.

    Raises:
        InvalidArgument: Naming the field.
    """
    spec = webhook.spec
    if not spec.workflow:
        raise InvalidArgument("a Webhook names the workflow it starts", field="spec.workflow")
    if not spec.environment:
        raise InvalidArgument(
            "a Webhook names the Environment that holds its signing secret",
            field="spec.environment",
            hint=f"create one: stigmer env create hooks --secret {DEFAULT_SECRET}",
        )
    if spec.max_body_bytes < 0:
        raise InvalidArgument("maxBodyBytes must not be negative", field="spec.maxBodyBytes")
    expressions.check(to_dict(spec.inputs), where="spec.inputs", roots=WEBHOOK_ROOTS)
    expressions.check_condition(spec.when, where="spec.when", roots=WEBHOOK_ROOTS)


__all__ = [
    "DEFAULT_MAX_BODY",
    "DEFAULT_SECRET",
    "OVERLAP",
    "SCHEDULE_ROOTS",
    "WEBHOOK_ROOTS",
    "catch_up_limit",
    "normalise_schedule",
    "overlap_policy",
    "validate_schedule",
    "validate_webhook",
]
