"""What every command shares: the home, its config, the backend, and reusable options."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

if TYPE_CHECKING:
    from stigmer.backend.protocol import Backend
    from stigmer.config import Config

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

    @property
    def config(self) -> Config:
        if self._config is None:
            from stigmer.config import load_config

            self._config = load_config(self.home)
        return self._config

    @property
    def backend(self) -> Backend:
        if self._backend is None:
            from stigmer.backend.factory import open_backend

            self._backend = open_backend(self.config)
        return self._backend

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


def parse_pairs(values: tuple[str, ...], *, option: str) -> dict[str, str]:
    """`k=v` option values to a dict, with a usage error that names the option."""
    pairs: dict[str, str] = {}
    for value in values:
        key, sep, val = value.partition("=")
        if not sep or not key:
            raise click.BadParameter(f"expected KEY=VALUE, got {value!r}", param_hint=option)
        pairs[key] = val
    return pairs


def add_read_and_delete(group: click.Group, kind: str, noun: str) -> None:
    """Give a kind's command group its `list`, `get NAME` and `delete NAME` subcommands."""

    @group.command("list")
    @click.option(
        "-l", "--selector", multiple=True, metavar="KEY=VALUE", help=f"Only {noun}s with this label."
    )
    @output_option
    @pass_app
    def list_(app: App, selector: tuple[str, ...], output: str | None) -> None:
        from stigmer.cli.get import list_resources

        labels = parse_pairs(selector, option="--selector")
        list_resources(app, kind, labels=labels, limit=None, fmt=app.output(output))

    @group.command("get")
    @click.argument("name")
    @output_option
    @pass_app
    def get(app: App, name: str, output: str | None) -> None:
        from stigmer.cli.get import show_resource

        show_resource(app, kind, name, app.output(output))

    @group.command("delete")
    @click.argument("name")
    @pass_app
    def delete(app: App, name: str) -> None:
        from stigmer.cli.get import delete_resource

        delete_resource(app, kind, name)

    list_.help = f"List {noun}s."
    get.help = f"Show the {noun} NAME."
    delete.help = f"Delete the {noun} NAME and its default instance."


__all__ = ["App", "add_read_and_delete", "output_option", "parse_pairs", "pass_app"]
