"""`stigmer export` and `stigmer import`: portable backups of a home's resources."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any

import click

from stigmer.cli.context import App, echo_result, pass_app, result_output_option

if TYPE_CHECKING:
    from stigmer.resources.kinds import Resource
    from stigmer.secrets.passphrase import PassphraseSealer

# Execution contexts are ephemeral (and hold sealed secrets); history stays home.
NOT_EXPORTED = ("ExecutionContext", "ApiResourceVersion")

passphrase_option = click.option(
    "--passphrase-file",
    type=click.Path(dir_okay=False),
    help="A file whose first line is the passphrase that seals (or opens) secret values.",
)


@click.command()
@click.argument("kinds", nargs=-1)
@click.option("--all", "all_kinds", is_flag=True, help="Every kind (the default when no KIND is given).")
@click.option("-o", "--output", "fmt", type=click.Choice(["yaml", "json"]), default="yaml", show_default=True)
@click.option(
    "--include-secrets",
    is_flag=True,
    help="Write secret values too, sealed with a key derived from --passphrase-file (scrypt).",
)
@passphrase_option
@pass_app
def export(
    app: App,
    kinds: tuple[str, ...],
    all_kinds: bool,
    fmt: str,
    include_secrets: bool,
    passphrase_file: str | None,
) -> None:
    """Write resources to stdout, exactly as stored: ids, versions, times and status.

    `stigmer import` restores the file into any home. Executions and sessions are
    included with --all; history is not. Secret values are left out (shown as ****)
    unless --include-secrets seals them with a passphrase, which `stigmer import
    --passphrase-file` needs to restore them.

    \b
    Examples:
      stigmer export --all > backup.yaml
      stigmer export agents skills > agents.yaml
      stigmer export --all --include-secrets --passphrase-file pass.txt > backup.yaml
    """
    from stigmer.backend.protocol import ExecutionQuery
    from stigmer.cli.output import dump_json, dump_yaml
    from stigmer.resources.codec import to_dict
    from stigmer.resources.kinds import KINDS, kind_info

    if kinds and all_kinds:
        raise click.UsageError("give kinds or --all, not both")
    sealer = None
    if include_secrets:
        if not passphrase_file:
            raise click.UsageError("--include-secrets needs --passphrase-file: secret values leave sealed")
        sealer = _sealer(passphrase_file)
    chosen = [kind_info(k) for k in kinds] if kinds else [k for k in KINDS if k.kind not in NOT_EXPORTED]
    documents = []
    for info in chosen:
        token = ""
        while True:
            items: list[Resource]
            if info.execution:
                executions = app.backend.list_executions(
                    ExecutionQuery(kind=info.kind, page_size=500, page_token=token)
                )
                items, token = list(executions.items), executions.next_page_token
            else:
                resources = app.backend.list(info.message, page_size=500, page_token=token)
                items, token = list(resources.items), resources.next_page_token
            for item in items:
                data = to_dict(item)
                status = data.get("status", {})
                status.pop("references", None)  # resolved on read, not stored
                if not status:
                    data.pop("status", None)
                documents.append(data)
            if not token:
                break
    secrets = _export_secrets(app, documents, sealer)
    click.echo(dump_json(documents) if fmt == "json" else dump_yaml(documents).rstrip("\n"))
    click.echo(f"Exported {len(documents)} resources.", err=True)
    if secrets and sealer:
        click.echo(f"{secrets} secret values are sealed with the passphrase.", err=True)
    elif secrets:
        click.echo(
            f"{secrets} secret values were left out (shown as ****); to carry them, export with "
            "--include-secrets --passphrase-file FILE.",
            err=True,
        )


def _sealer(passphrase_file: str) -> PassphraseSealer:
    from stigmer.secrets.passphrase import PassphraseSealer, read_passphrase_file

    return PassphraseSealer(read_passphrase_file(passphrase_file))


def _export_secrets(app: App, documents: list[dict[str, Any]], sealer: PassphraseSealer | None) -> int:
    """Count the secrets of exported Environments; with a sealer, seal their values in place."""
    count = 0
    for data in documents:
        secrets: dict[str, str] = (
            data.get("spec", {}).get("secrets", {}) if data["kind"] == "Environment" else {}
        )
        for name in secrets:
            count += 1
            if sealer is not None:
                env_id = data["metadata"]["id"]
                value = app.backend.reveal_secret(env_id, name)
                secrets[name] = sealer.seal(value, environment_id=env_id, name=name)
    return count


@click.command("import")
@click.option(
    "-f", "--filename", "path", default="-", show_default=True, help="The export to restore; - for stdin."
)
@passphrase_option
@result_output_option
@pass_app
def import_(app: App, path: str, passphrase_file: str | None) -> None:
    """Restore resources written by `stigmer export`, ids and versions included.

    All or nothing: on any error the home is unchanged. A resource with the same id is
    replaced; one with the same name but another id is an error. Secret values exported
    with --include-secrets need the same passphrase (--passphrase-file) and are sealed
    again with this home's master key; those exported as **** keep the value this home
    already has, or are left out (and listed).

    \b
    Examples:
      stigmer --home /tmp/new import < backup.yaml
      stigmer --home /tmp/new import -f backup.yaml --passphrase-file pass.txt
    """
    from stigmer.cli.locate import load
    from stigmer.errors import InvalidArgument

    loaded = load([path], exact=True, stdin=sys.stdin)
    masked = _open_secrets(loaded.resources, passphrase_file)
    try:
        count = app.backend.import_resources(loaded.resources)
    except InvalidArgument as exc:
        raise loaded.locate(exc) from None
    echo_result(app, f"Imported {count} resources.", {"imported": count})
    _report_left_out(app, masked)


def _open_secrets(resources: list[Resource], passphrase_file: str | None) -> dict[str, list[str]]:
    """Open passphrase-sealed secret values in place; return the secrets exported as **** by env."""
    from stigmer.api.environment.v1.environment_pb2 import Environment
    from stigmer.errors import InvalidArgument
    from stigmer.secrets.passphrase import is_passphrase_sealed
    from stigmer.secrets.redaction import MASK

    sealer = _sealer(passphrase_file) if passphrase_file else None
    masked: dict[str, list[str]] = {}
    for res in resources:
        if not isinstance(res, Environment):
            continue
        for name, value in sorted(res.spec.secrets.items()):
            if value == MASK:
                masked.setdefault(res.metadata.id, []).append(name)
            elif is_passphrase_sealed(value):
                if sealer is None:
                    raise InvalidArgument(
                        f"secret {name} of environment {res.metadata.name!r} is sealed with an export "
                        "passphrase; nothing was imported",
                        hint="pass the passphrase it was exported with: --passphrase-file FILE",
                    )
                res.spec.secrets[name] = sealer.unseal(
                    value,
                    environment_id=res.metadata.id,
                    name=name,
                    label=f"secret {name} of environment {res.metadata.name!r}",
                )
    return masked


def _report_left_out(app: App, masked: dict[str, list[str]]) -> None:
    from stigmer.api.environment.v1.environment_pb2 import Environment

    for env_id, names in masked.items():
        env = app.backend.get(Environment, env_id)
        missing = [n for n in names if n not in env.spec.secrets]
        if missing:
            click.echo(
                f"Warning: environment {env.metadata.name!r}: the export has no value for secret "
                f"{', '.join(missing)}; set {'them' if len(missing) > 1 else 'it'} with "
                f"`stigmer env set {env.metadata.name} --secret NAME`",
                err=True,
            )
