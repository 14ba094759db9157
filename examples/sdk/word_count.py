"""Python functions as workflow tasks, and the asyncio client.

`@task` turns a function into a `python` task: the engine calls it with the task's
inputs (checked against its annotations) and its returned dict is the task's outputs.
A worker imports it by module name, so run this from its directory:
`cd examples/sdk && python word_count.py`, or `stigmer apply -f word_count.py` there.
"""

from stigmer import Workflow, task
from stigmer.sdk import set_task


@task
def count(text: str, min_length: int = 1) -> dict[str, int]:
    """How many words of at least ``min_length`` letters ``text`` holds."""
    return {"words": sum(1 for word in text.split() if len(word) >= min_length)}


counting = Workflow(
    "count-words",
    inputs={"text": str},
    tasks=[
        count.step("all", text="${workflow.inputs.text}"),
        count.step("long", text="${workflow.inputs.text}", min_length=5),
        set_task("verdict", {"wordy": "${tasks.long.outputs.words * 2 > tasks.all.outputs.words}"}),
    ],
    outputs={"words": "${tasks.all.outputs.words}", "wordy": "${tasks.verdict.outputs.wordy}"},
)

if __name__ == "__main__":
    import asyncio

    from stigmer import AsyncClient
    from stigmer.sdk import outputs

    async def main() -> None:
        async with AsyncClient() as client:
            await client.apply(counting)
            run = await client.workflows.execute("count-words", {"text": "Stigmer runs durable workflows"})
            print(outputs(run))  # {'words': 4, 'wordy': True}

    asyncio.run(main())
