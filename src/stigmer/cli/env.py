"""`stigmer env create|set|unset|list|get|delete|reveal`: Environments, variables and secrets."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from stigmer.cli.context import App, echo_result, output_option, parse_pairs, pass_app, result_output_option

F = TypeVar("F", bound=Callable[..., Any])


@click.group()
def env() -> None:
    """Create and change Environments: variables, and secrets sealed at rest.

    Secret values are sealed (AES-256-GCM) before they are stored; `get`, `list`,
    `export` and every log show their names and ****, never their values. An execution
    run with `--env NAME` gets them just in time; reference them as ${secrets.NAME} and
    variables as ${env.NAME} in model options and MCP server env, headers and URLs.
    """


def value_options(func: F) -> F:
    """--var, --secret and --secret-file, shared by `env create` and `env set`."""
    for option in reversed(
        [
            click.option(
                "--var",
                "variables",
                multiple=True,
                metavar="K=V",
                help="A variable (not a secret). Repeatable.",
            ),
            click.option(
                "--secret",
                "secrets",
                multiple=True,
                metavar="K=V|K",
                help="A secret. K alone asks for the value with hidden input (or reads a line from "
                "stdin when it is not a terminal), keeping it out of shell history. Repeatable.",
            ),
            click.option(
                "--secret-file",
                "secret_files",
                multiple=True,
                metavar="K=PATH",
                help="A secret whose value is the content of PATH (less one final newline). Repeatable.",
            ),
        ]
    ):
        func = option(func)
    return func


def _read_secret(name: str) -> str:
    if sys.stdin.isatty():
        value: str = click.prompt(f"Value of secret {name}", hide_input=True, err=True)
        return value
    line = sys.stdin.readline()
    value = line.removesuffix("\n").removesuffix("\r")
    if not value:
        raise click.UsageError(f"--secret {name}: no value (type it at the prompt, or pipe it on stdin)")
    return value


def _secret_file(pair: str) -> tuple[str, str]:
    key, sep, path = pair.partition("=")
    if not sep or not key or not path:
        raise click.BadParameter(f"expected KEY=PATH, got {pair!r}", param_hint="--secret-file")
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise click.BadParameter(f"cannot read {path}: {exc.strerror}", param_hint="--secret-file") from None
    return key, text.removesuffix("\n").removesuffix("\r")


def collect(
    variables: tuple[str, ...], secrets: tuple[str, ...], secret_files: tuple[str, ...]
) -> tuple[dict[str, str], dict[str, str]]:
    """The variables and secret values the options give (prompting for bare --secret K)."""
    values: dict[str, str] = {}
    for item in secrets:
        key, sep, value = item.partition("=")
        if not key:
            raise click.BadParameter(f"expected KEY=VALUE or KEY, got {item!r}", param_hint="--secret")
        values[key] = value if sep else _read_secret(key)
    for pair in secret_files:
        key, value = _secret_file(pair)
        values[key] = value
    return parse_pairs(variables, option="--var"), values


@env.command("create")
@click.argument("name")
@value_options
@click.option("--description", default="", help="One line shown in listings.")
@click.option("-l", "--label", "labels", multiple=True, metavar="KEY=VALUE", help="A label. Repeatable.")
@result_output_option
@pass_app
def create(
    app: App,
    name: str,
    variables: tuple[str, ...],
    secrets: tuple[str, ...],
    secret_files: tuple[str, ...],
    description: str,
    labels: tuple[str, ...],
) -> None:
    """Create the Environment NAME.

    \b
    Examples:
      stigmer env create prod --var REGION=eu-west-1 --secret GITHUB_TOKEN
      stigmer env create prod --secret-file TLS_KEY=./tls.key
      printf '%s\\n' "$TOKEN" | stigmer env create ci --secret TOKEN
    """
    from stigmer.cli.definitions import build
    from stigmer.cli.definitions import create as create_resource

    values, sealed = collect(variables, secrets, secret_files)
    spec: dict[str, Any] = {"variables": values, "secrets": sealed}
    if description:
        spec["description"] = description
    create_resource(app, build("Environment", name, spec, labels=parse_pairs(labels, option="--label")))


@env.command("set")
@click.argument("name")
@value_options
@result_output_option
@pass_app
def set_(
    app: App, name: str, variables: tuple[str, ...], secrets: tuple[str, ...], secret_files: tuple[str, ...]
) -> None:
    """Add or change variables and secrets of the Environment NAME; the others stay.

    \b
    Examples:
      stigmer env set prod --var REGION=us-east-1
      stigmer env set prod --secret GITHUB_TOKEN        # asks for the new value
    """
    from stigmer.api.environment.v1.environment_pb2 import Environment

    values, sealed = collect(variables, secrets, secret_files)
    if not values and not sealed:
        raise click.UsageError("nothing to set: give --var, --secret or --secret-file")
    current = app.backend.get(Environment, name)
    # Secrets read back as ****, which an update keeps; only the given ones change.
    current.spec.variables.update(values)
    current.spec.secrets.update(sealed)
    updated = app.backend.update(current)
    changed = [*(f"variable {k}" for k in values), *(f"secret {k}" for k in sealed)]
    echo_result(app, f"environment/{updated.metadata.name} updated: {', '.join(changed)}", updated)


@env.command("unset")
@click.argument("name")
@click.argument("keys", nargs=-1, required=True)
@result_output_option
@pass_app
def unset(app: App, name: str, keys: tuple[str, ...]) -> None:
    """Remove variables or secrets (by KEY) from the Environment NAME."""
    from stigmer.api.environment.v1.environment_pb2 import Environment
    from stigmer.errors import NotFound

    current = app.backend.get(Environment, name)
    for key in keys:
        if key not in current.spec.variables and key not in current.spec.secrets:
            known = sorted({*current.spec.variables, *current.spec.secrets})
            raise NotFound(
                f"environment {current.metadata.name!r} has no variable or secret {key!r}",
                hint=f"it has: {', '.join(known) or 'nothing'}",
            )
        current.spec.variables.pop(key, None)
        current.spec.secrets.pop(key, None)
    updated = app.backend.update(current)
    echo_result(app, f"environment/{updated.metadata.name} updated: removed {', '.join(keys)}", updated)


@env.command("list")
@click.option("-l", "--selector", multiple=True, metavar="KEY=VALUE", help="Only those with this label.")
@output_option
@pass_app
def list_(app: App, selector: tuple[str, ...], output: str | None) -> None:
    """List Environments with their variable and secret names."""
    from stigmer.cli.reads import list_resources

    list_resources(
        app,
        "Environment",
        labels=parse_pairs(selector, option="--selector"),
        limit=None,
        fmt=app.output(output),
    )


@env.command("get")
@click.argument("name")
@output_option
@pass_app
def get(app: App, name: str, output: str | None) -> None:
    """Show the Environment NAME (secret values as ****)."""
    from stigmer.cli.reads import show_resource

    show_resource(app, "Environment", name, app.output(output))


@env.command("delete")
@click.argument("name")
@result_output_option
@pass_app
def delete(app: App, name: str) -> None:
    """Delete the Environment NAME and its secrets."""
    from stigmer.cli.reads import delete_resource

    delete_resource(app, "Environment", name)


@env.command("reveal")
@click.argument("name")
@click.argument("key")
@pass_app
def reveal(app: App, name: str, key: str) -> None:
    """Print the value of the secret KEY of the Environment NAME (and nothing else) to stdout.

    For the person who owns the secret; nothing else ever shows a value.
    """
    click.echo(app.backend.reveal_secret(name, key))
