"""Triggers: Schedules and Webhooks that start runs by themselves, and the provenance of runs."""

__all__: list[str] = []
