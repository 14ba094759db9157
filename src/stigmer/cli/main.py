"""The `stigmer` entry point: global options, lazy command loading and error reporting.

Command modules are imported only when their command runs, so `stigmer version` and
`stigmer --help` stay fast; every command's short help is kept here for the listing.
"""

from __future__ import annotations

import importlib
import sqlite3
import sys
from typing import Any

import click

from stigmer.cli.context import App
from stigmer.errors import StigmerError
from stigmer.version import __version__

# command -> (module:attribute, short help). Order is the order of `stigmer --help`.
COMMANDS: dict[str, tuple[str, str]] = {
    "init": ("stigmer.cli.init:init", "Create the Stigmer home, its config and database."),
    "version": ("stigmer.cli.init:version", "Print the Stigmer version."),
    "apply": ("stigmer.cli.apply:apply", "Create or update resources from YAML/JSON files."),
    "get": ("stigmer.cli.get:get", "Show resources of a kind, or one by name."),
    "delete": ("stigmer.cli.get:delete", "Delete a resource."),
    "history": ("stigmer.cli.history:history", "Show every version of a resource."),
    "rollback": ("stigmer.cli.history:rollback", "Make an old version of a resource current again."),
    "agent": ("stigmer.cli.agent:agent", "Create, list, show, delete and execute agents."),
    "workflow": ("stigmer.cli.workflow:workflow", "Create, list, show and delete workflows."),
    "execution": (
        "stigmer.cli.execution:execution",
        "List, inspect, follow, approve, resume, cancel and prune runs.",
    ),
    "mcpserver": (
        "stigmer.cli.mcpserver:mcpserver",
        "Inspect MCP servers (their live tools); sign in to those behind OAuth.",
    ),
    "worker": ("stigmer.cli.worker:worker", "Run queued executions until stopped."),
    "schedule": (
        "stigmer.cli.schedule:schedule",
        "Pause, resume and trigger Schedules; show their coming fire times.",
    ),
    "env": ("stigmer.cli.env:env", "Create and change Environments: variables and sealed secrets."),
    "secrets": ("stigmer.cli.secrets:secrets", "Rotate the master key that seals every secret."),
    "export": ("stigmer.cli.transfer:export", "Write resources to a file that `stigmer import` restores."),
    "import": ("stigmer.cli.transfer:import_", "Restore resources written by `stigmer export`."),
    "migrate": (
        "stigmer.cli.migrate:migrate",
        "Copy this home's store into an empty PostgreSQL database (or back).",
    ),
    "backend": ("stigmer.cli.backend:backend", "Show which backend the CLI talks to, or switch it."),
    "login": ("stigmer.cli.login:login", "Use a Stigmer server (URL and API key) from now on."),
    "logout": ("stigmer.cli.login:logout", "Forget the server's key and use this machine again."),
    "server": ("stigmer.cli.server:server", "Serve this home over gRPC for a team; manage its API keys."),
    "models": ("stigmer.cli.models:models", "Show which model providers are usable here, and why."),
    "synth": ("stigmer.cli.synth:synth", "Print the resources a Python file defines, as YAML."),
    "ui": ("stigmer.cli.ui:ui", "Serve the web dashboard on 127.0.0.1: resources, live runs, approvals."),
}


class LazyGroup(click.Group):
    """A group whose subcommands are imported only when they are invoked."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return list(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        target = COMMANDS.get(cmd_name)
        if target is None:
            return None
        module_name, _, attr = target[0].partition(":")
        command = getattr(importlib.import_module(module_name), attr)
        assert isinstance(command, click.Command)
        return command

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        with formatter.section("Commands"):
            formatter.write_dl([(name, short) for name, (_, short) in COMMANDS.items()])


@click.group(
    cls=LazyGroup,
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
    epilog="Start with `stigmer init`, then `stigmer apply -f examples/`. Every command takes --help.",
)
@click.option(
    "--home",
    envvar="STIGMER_HOME",
    type=click.Path(file_okay=False),
    help="Stigmer home directory (default ~/.stigmer, or $STIGMER_HOME).",
)
@click.option("--debug", is_flag=True, help="Show tracebacks for errors.")
@click.option(
    "-o",
    "--output",
    type=click.Choice(["table", "yaml", "json"]),
    default=None,
    help="Default output format of read commands.",
)
@click.version_option(__version__, message="stigmer %(version)s")
@click.pass_context
def cli(ctx: click.Context, home: str | None, debug: bool, output: str | None) -> None:
    """Stigmer: declare AI agents and agentic workflows, run them, inspect every run.

    Everything lives in resource files (apiVersion: agentic.stigmer.ai/v1) that
    `stigmer apply -f` stores in a local SQLite database under the Stigmer home.
    """
    from stigmer.cli.logs import configure

    configure(debug=debug)
    ctx.obj = App(home=home, debug=debug, output=output)
    ctx.call_on_close(ctx.obj.close)


def plain_error(exc: BaseException) -> StigmerError:
    """What a failure of the machine or of the input means, for a person (never a traceback)."""
    from stigmer.errors import InvalidArgument
    from stigmer.store.database import corrupt

    if isinstance(exc, UnicodeError):
        return InvalidArgument(
            "the input is not UTF-8 text (a binary file?)",
            hint="give a YAML, JSON or text file; a binary secret can be base64-encoded first",
        )
    if isinstance(exc, NotADirectoryError):
        return InvalidArgument(
            f"{exc.filename or 'a path'} lies under a file, not a directory",
            hint="choose another home: --home DIR or STIGMER_HOME",
        )
    if isinstance(exc, sqlite3.OperationalError):
        return StigmerError(
            f"the database cannot be used: {exc}",
            hint="another process may hold it, or its file or directory is not writable; try again",
        )
    return corrupt("of this home", exc)


def main(argv: list[str] | None = None) -> Any:
    """Run the CLI; map errors to messages on stderr and the documented exit codes."""
    debug = "--debug" in (argv if argv is not None else sys.argv[1:])
    try:
        return cli.main(args=argv, prog_name="stigmer", standalone_mode=False)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except click.exceptions.Abort:
        click.echo("Aborted.", err=True)
        sys.exit(1)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except (StigmerError, UnicodeError, NotADirectoryError, sqlite3.DatabaseError) as raised:
        if debug:
            raise
        error = raised if isinstance(raised, StigmerError) else plain_error(raised)
        click.echo(f"Error: {error}", err=True)
        if error.hint:
            click.echo(f"Hint: {error.hint}", err=True)
        sys.exit(error.exit_code)
    except BrokenPipeError:
        sys.stderr.close()
        sys.exit(1)
    except KeyboardInterrupt:
        click.echo("Interrupted.", err=True)
        sys.exit(130)


if __name__ == "__main__":
    main()
