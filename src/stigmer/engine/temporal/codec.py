"""What crosses between the Temporal engine's workflows and activities, as plain data.

Temporal records every activity's input and result in the workflow's history; these are
kept small (a task is named, not sent; an attempt's scope holds only the outcomes of the
tasks it reads) and never hold a secret (outputs are masked before they leave an activity).
"""

from __future__ import annotations

from typing import Any

from stigmer.runners.workflow.attempt import Attempt, Begun, Failure, Tried
from stigmer.runners.workflow.journal import Outcome


def outcome_to(outcome: Outcome) -> dict[str, Any]:
    data: dict[str, Any] = {"phase": outcome.phase, "outputs": outcome.outputs}
    if outcome.error:
        data["error"] = outcome.error
    if outcome.code:
        data["code"] = outcome.code
    if outcome.tolerated:
        data["tolerated"] = True
    return data


def outcome_from(data: dict[str, Any]) -> Outcome:
    return Outcome(
        str(data["phase"]),
        dict(data.get("outputs") or {}),
        str(data.get("error", "")),
        str(data.get("code", "")),
        bool(data.get("tolerated", False)),
    )


def tried_to(tried: Tried) -> dict[str, Any]:
    return {"outcome": outcome_to(tried.outcome), "retryAt": tried.retry_at}


def tried_from(data: dict[str, Any]) -> Tried:
    return Tried(outcome_from(data["outcome"]), str(data.get("retryAt", "")))


def begun_to(begun: Begun) -> dict[str, Any]:
    data: dict[str, Any] = {"kind": begun.kind, "startedAt": begun.started_at}
    if begun.tried is not None:
        data["tried"] = tried_to(begun.tried)
    if begun.until:
        data["until"] = begun.until
    if begun.child_id:
        data["childId"] = begun.child_id
    if begun.items:
        data["items"] = begun.items
    if not begun.exact:
        data["exact"] = False
    if begun.decided:
        data["decided"] = True
    return data


def begun_from(data: dict[str, Any]) -> Begun:
    tried = data.get("tried")
    return Begun(
        str(data["kind"]),
        tried_from(tried) if tried else None,
        str(data.get("startedAt", "")),
        str(data.get("until", "")),
        str(data.get("childId", "")),
        list(data.get("items") or []),
        bool(data.get("exact", True)),
        bool(data.get("decided", False)),
    )


def failure_to(failure: Failure | None) -> dict[str, Any] | None:
    if failure is None:
        return None
    return {"code": failure.code, "message": failure.message, "retryable": failure.retryable}


def failure_from(data: dict[str, Any] | None) -> Failure | None:
    if not data:
        return None
    return Failure(str(data["code"]), str(data["message"]), bool(data.get("retryable", True)))


def attempt_to(execution_id: str, attempt: Attempt, scope: dict[str, Any]) -> dict[str, Any]:
    """An attempt as an activity's input: the task by name (the task whose item it is, for an item)."""
    data: dict[str, Any] = {
        "executionId": execution_id,
        "task": attempt.parent or attempt.task.name,
        "key": attempt.key,
        "attempt": attempt.attempt,
        "scope": scope,
    }
    if attempt.parent:
        data["item"] = True
    if attempt.started:
        data["started"] = attempt.started
    if attempt.extra:
        data["extra"] = attempt.extra
    return data


__all__ = [
    "attempt_to",
    "begun_from",
    "begun_to",
    "failure_from",
    "failure_to",
    "outcome_from",
    "outcome_to",
    "tried_from",
    "tried_to",
]
