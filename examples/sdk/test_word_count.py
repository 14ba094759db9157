"""A @task is a plain function in a unit test, and a workflow step under the engine."""

import pytest
from word_count import count, counting

from stigmer import Client
from stigmer.sdk import outputs


def test_the_function_is_still_a_function() -> None:
    assert count("a bb ccc", min_length=2) == {"words": 2}
    with pytest.raises(TypeError, match="min_length"):
        count("a bb", min_length="two")  # type: ignore[arg-type]


def test_the_workflow_counts_words(stigmer_client: Client) -> None:
    stigmer_client.apply(counting)
    run = stigmer_client.workflows.execute("count-words", {"text": "the engine calls python functions"})
    assert outputs(run) == {"words": 5, "wordy": True}
