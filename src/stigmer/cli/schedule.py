"""`stigmer schedule`: pause, resume, trigger a Schedule, and check its coming fire times."""

from __future__ import annotations

import click

from stigmer.cli.context import App, output_option, pass_app


@click.group()
def schedule() -> None:
    """Pause, resume and trigger Schedules, and show when they fire.

    Schedules are resources (`kind: Schedule`): write them in files and `stigmer apply`
    them; `stigmer get schedules` lists them with their next fire time and last run. They
    fire from whatever runs a worker here: `stigmer worker`, `stigmer server` or `stigmer ui`.
    """


def _set_paused(app: App, name: str, paused: bool) -> None:
    from stigmer.api.schedule.v1.schedule_pb2 import Schedule

    current = app.backend.get(Schedule, name)
    word = "paused" if paused else "resumed"
    if current.spec.paused == paused:
        click.echo(f"schedule/{current.metadata.name} is already {'paused' if paused else 'running'}")
        return
    current.spec.paused = paused
    current.ClearField("status")
    app.backend.update(current)
    click.echo(f"schedule/{current.metadata.name} {word}")


@schedule.command()
@click.argument("name")
@pass_app
def pause(app: App, name: str) -> None:
    """Stop NAME from firing until it is resumed (fires meanwhile are not caught up)."""
    _set_paused(app, name, True)


@schedule.command()
@click.argument("name")
@pass_app
def resume(app: App, name: str) -> None:
    """Let a paused schedule fire again, from its next fire time on."""
    _set_paused(app, name, False)


@schedule.command()
@click.argument("name")
@output_option
@pass_app
def trigger(app: App, name: str, output: str | None) -> None:
    """Start one run of NAME now, as if it fired now (paused or not).

    \b
    Examples:
      stigmer schedule trigger weekly-digest
      stigmer execution logs $(stigmer schedule trigger weekly-digest -o json | jq -r .executionId) -f
    """
    from stigmer.api.schedule.v1.schedule_pb2 import Schedule
    from stigmer.cli.output import dump_json, dump_yaml
    from stigmer.clock import utcnow
    from stigmer.errors import StigmerError
    from stigmer.triggers.schedules import ScheduleFirer

    fmt = app.output(output)
    found = app.backend.get(Schedule, name)
    now = utcnow()
    fire = ScheduleFirer(app.backend).start(found, now, by_hand=True)
    if fire.outcome != "started":
        raise StigmerError(
            f"schedule {name} did not start a run: {fire.error}", hint="fix the schedule and try again"
        )
    data = {"schedule": found.metadata.name, "executionId": fire.execution_id, "fireTime": now.isoformat()}
    if fmt == "json":
        click.echo(dump_json(data))
    elif fmt == "yaml":
        click.echo(dump_yaml([data]).rstrip("\n"))
    else:
        click.echo(f"schedule/{found.metadata.name} triggered: {fire.execution_id}")


@schedule.command(name="next")
@click.argument("name")
@click.option(
    "-n", "count", type=click.IntRange(min=1, max=1000), default=5, show_default=True, help="How many."
)
@output_option
@pass_app
def next_(app: App, name: str, count: int, output: str | None) -> None:
    """Show the coming fire times of NAME, in its time zone and in UTC (to check an expression).

    \b
    Examples:
      stigmer schedule next weekly-digest -n 5
    """
    from datetime import UTC

    from stigmer.api.schedule.v1.schedule_pb2 import Schedule
    from stigmer.cli.output import dump_json, dump_yaml, table
    from stigmer.clock import utcnow
    from stigmer.resources.schedule_times import FireTimes

    fmt = app.output(output)
    found = app.backend.get(Schedule, name)
    # Shown even while paused: this is for checking the expression.
    fires = FireTimes.of(found.spec).next(utcnow(), count)
    rows = [
        {"local": f.isoformat(), "utc": f.astimezone(UTC).isoformat().replace("+00:00", "Z")} for f in fires
    ]
    if fmt == "json":
        click.echo(dump_json(rows))
    elif fmt == "yaml":
        click.echo(dump_yaml([rows]).rstrip("\n"))
    else:
        if found.spec.paused:
            click.echo(
                f"schedule/{found.metadata.name} is paused: it fires at these times once resumed", err=True
            )
        click.echo(table(["FIRE TIME", "UTC"], [[r["local"], r["utc"]] for r in rows]))
