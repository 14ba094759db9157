"""The workflow runner: task graphs run durably, task by task."""
