"""What started an execution: the trigger a new run records, and the labels that find it again.

Every execution created on a backend carries ``spec.trigger``: a person (``manual``, with the
writer as actor), a Schedule and its fire time, or a Webhook and its delivery id. The trigger is
mirrored into ``stigmer.ai/…`` labels so that listing executions by trigger is a label filter,
which every backend already serves.
"""

from __future__ import annotations

from datetime import UTC
from typing import Any

from stigmer.api.common.v1.trigger_pb2 import ExecutionTrigger
from stigmer.errors import InvalidArgument
from stigmer.resources.kinds import Execution

TRIGGER_LABEL = "stigmer.ai/trigger"
SOURCE_LABELS = {"schedule": "stigmer.ai/schedule", "webhook": "stigmer.ai/webhook"}
TYPES = ("manual", "schedule", "webhook")


def fire_key(trigger: ExecutionTrigger) -> tuple[str, str] | None:
    """The (source, key) a triggered run is unique by: one run per schedule fire time and per
    webhook delivery; None for manual runs and for `stigmer schedule trigger`."""
    if trigger.type == "schedule" and trigger.via != "trigger":
        when = trigger.fire_time.ToDatetime(UTC).isoformat()
        return f"schedule:{trigger.source}", when
    if trigger.type == "webhook":
        return f"webhook:{trigger.source}", trigger.delivery_id
    return None


def stamp(execution: Execution, *, actor: str) -> tuple[str, str] | None:
    """Complete a new execution's trigger and labels; return its fire key (see :func:`fire_key`).

    A run without a trigger, and every retry, was started by ``actor``. A child run started by
    its parent records nothing of its own: its parent says what started it.

    Raises:
        InvalidArgument: An unknown trigger type, or a schedule or webhook trigger without its
            source, fire time or delivery id.
    """
    spec: Any = execution.spec
    trigger: ExecutionTrigger = spec.trigger
    labels = execution.metadata.labels
    for key in (TRIGGER_LABEL, *SOURCE_LABELS.values()):
        labels.pop(key, None)  # system labels: what the trigger says, never what a caller wrote
    if spec.parent_execution_id and not spec.HasField("trigger"):
        return None
    if getattr(spec, "retry_of", "") or not trigger.type:
        trigger.Clear()
        trigger.type = "manual"
    if trigger.type == "manual":
        trigger.actor = actor  # who wrote it, whatever the caller claimed
    if trigger.type not in TYPES:
        raise InvalidArgument(
            f"unknown trigger type {trigger.type!r}",
            field="spec.trigger.type",
            hint=f"one of: {', '.join(TYPES)}",
        )
    if trigger.type != "manual":
        if not trigger.source:
            raise InvalidArgument(f"a {trigger.type} trigger names its source", field="spec.trigger.source")
        if trigger.type == "schedule" and not trigger.HasField("fire_time"):
            raise InvalidArgument("a schedule trigger has a fire time", field="spec.trigger.fireTime")
        if trigger.type == "webhook" and not trigger.delivery_id:
            raise InvalidArgument("a webhook trigger has a delivery id", field="spec.trigger.deliveryId")
        labels[SOURCE_LABELS[trigger.type]] = trigger.source
    labels[TRIGGER_LABEL] = trigger.type
    return fire_key(trigger)


def trigger_labels(trigger: str, source: str = "") -> dict[str, str]:
    """The label filter that lists runs started by ``trigger`` (and, given, that source).

    Raises:
        InvalidArgument: ``trigger`` is not manual, schedule or webhook.
    """
    if trigger not in TYPES:
        raise InvalidArgument(
            f"unknown trigger {trigger!r}", field="trigger", hint=f"one of: {', '.join(TYPES)}"
        )
    labels = {TRIGGER_LABEL: trigger}
    if source and trigger in SOURCE_LABELS:
        labels[SOURCE_LABELS[trigger]] = source
    return labels


def describe(trigger: ExecutionTrigger) -> str:
    """One line for people: "schedule weekly-digest at 2025-03-30T09:00:00+02:00"."""
    if trigger.type == "schedule":
        when = trigger.fire_time.ToJsonString() if trigger.HasField("fire_time") else ""
        extra = " (triggered by hand)" if trigger.via == "trigger" else ""
        return f"schedule {trigger.source} at {when}{extra}"
    if trigger.type == "webhook":
        return f"webhook {trigger.source}, delivery {trigger.delivery_id}"
    if trigger.type == "manual":
        via = f" via {trigger.via}" if trigger.via else ""
        return f"manual by {trigger.actor or 'unknown'}{via}"
    return ""


__all__ = ["SOURCE_LABELS", "TRIGGER_LABEL", "TYPES", "describe", "fire_key", "stamp", "trigger_labels"]
