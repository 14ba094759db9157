"""A pytest plugin for testing your own automations against a throwaway Stigmer home.

Installing stigmer registers it with pytest (a ``pytest11`` entry point), so a test
only asks for ``stigmer_client``::

    from stigmer.testing import scripted

    def test_bot_answers(stigmer_client):
        stigmer_client.agents.apply(
            {"metadata": {"name": "bot"}, "spec": {"instructions": "…", "model": scripted("Hi!")}}
        )
        assert stigmer_client.agents.execute("bot", "hello").status.output == "Hi!"
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from stigmer.sdk.client import Client
from stigmer.testing.sandbox import sandbox


@pytest.fixture
def stigmer_client() -> Iterator[Client]:
    """A Client on a fresh temporary home (see :func:`stigmer.testing.sandbox`), for one test."""
    with sandbox() as client:
        yield client


__all__ = ["stigmer_client"]
