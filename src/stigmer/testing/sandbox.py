"""Unit-testing your own automations: a throwaway home, a client on it, a scripted model.

Example:
    >>> from stigmer.testing import sandbox, scripted, tool_call
    >>> with sandbox() as client:
    ...     _ = client.agents.apply(
    ...         {"metadata": {"name": "bot"}, "spec": {"instructions": "Greet.", "model": scripted("Hi!")}}
    ...     )
    ...     client.agents.execute("bot", "hello").status.output
    'Hi!'
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from stigmer.sdk.client import Client
    from stigmer.sdk.resources import ResourceLike

SCRIPTED = "scripted"


@contextmanager
def sandbox(*resources: ResourceLike, model: str = SCRIPTED) -> Iterator[Client]:
    """A :class:`~stigmer.sdk.client.Client` on a fresh Stigmer home in a temporary
    directory, removed afterwards.

    Runs happen in this process, on the home's own SQLite file (``durability: normal``: it is
    thrown away). Its master key is kept in a
    file of the home, never in the OS keyring, and agents that name no model use ``model``
    (the offline ``scripted`` one by default), so nothing reaches a paid API by accident.

    Args:
        resources: Resources to apply first (messages, authoring objects, file-form dicts).
        model: The home's default model (``model`` in its config.yaml); "" for none.
    """
    from stigmer.config import Config, save_config
    from stigmer.sdk.client import Client
    from stigmer.secrets.keys import MASTER_KEY_FILE, FileKeys, MasterKeys

    with tempfile.TemporaryDirectory(prefix="stigmer-sandbox-") as directory:
        home = Path(directory)
        # A home deleted at the end needs no commit to survive a power loss: no fsync per step.
        save_config(Config(home=home, durability="normal", extra={"model": model} if model else {}))
        # A key file that exists is always used: the keyring is never touched.
        MasterKeys(home, backend=FileKeys(home / MASTER_KEY_FILE)).ensure()
        with Client(home=home) as client:
            if resources:
                client.apply(*resources)
            yield client


def scripted(*turns: str | dict[str, Any]) -> dict[str, Any]:
    """The model of an agent that plays ``turns`` in order (see :mod:`stigmer.models.scripted`).

    A turn is a text answer (a string, or ``{"text": …}``), tool calls (:func:`tool_call`),
    or ``{"echoToolResult": True}``. Once the turns are used up it answers
    ``echo: <the last user message>``.

    Example:
        >>> scripted(tool_call("find_order", id="A-1"), "Order A-1 ships today.")["options"]["script"][1]
        {'text': 'Order A-1 ships today.'}
    """
    script = [{"text": turn} if isinstance(turn, str) else dict(turn) for turn in turns]
    return {"provider": SCRIPTED, "options": {"script": script}}


def tool_call(name: str, /, **arguments: Any) -> dict[str, Any]:
    """A scripted turn that calls the tool ``name`` with ``arguments``."""
    return {"toolCalls": [{"name": name, "arguments": arguments}]}


__all__ = ["sandbox", "scripted", "tool_call"]
