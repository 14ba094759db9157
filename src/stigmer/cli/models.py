"""`stigmer models`: which model providers are usable here, and which model is the default."""

from __future__ import annotations

from typing import Any

import click

from stigmer.cli.context import App, output_option, pass_app


def report(config_model: str) -> dict[str, Any]:
    """Every provider with whether it is usable and why, and the default model with why.

    Cheap: providers answer from the environment and installed packages (found, never
    imported), so no SDK or model is loaded.
    """
    from stigmer.models.registry import default_model, get_provider, provider_names, split_model

    providers = []
    for name in provider_names():
        provider = get_provider(name)
        availability = provider.availability()
        providers.append(
            {
                "name": name,
                "usable": availability.usable,
                "reason": availability.reason,
                "description": provider.description,
            }
        )
    model, why = default_model(config_model)
    usable = {p["name"]: p["usable"] for p in providers}
    return {
        "providers": providers,
        "default": {"model": model, "reason": why, "usable": usable.get(split_model(model)[0], False)},
    }


@click.command()
@output_option
@pass_app
def models(app: App, output: str | None) -> None:
    """Show which model providers are usable here, and why, and the model agents get by default.

    The default is `model` in config.yaml, else STIGMER_MODEL, else an Anthropic or
    OpenAI key in the environment, else an Ollama server on 127.0.0.1:11434, else the
    embedded local/smollm2.
    """
    from stigmer.cli.output import dump_json, dump_yaml, table

    data = report(str(app.config.extra.get("model", "") or ""))
    fmt = app.output(output)
    if fmt == "json":
        click.echo(dump_json(data))
        return
    if fmt == "yaml":
        click.echo(dump_yaml([data]).rstrip("\n"))
        return
    rows = [[p["name"], "yes" if p["usable"] else "no", p["reason"]] for p in data["providers"]]
    click.echo(table(["PROVIDER", "USABLE", "WHY"], rows))
    default = data["default"]
    click.echo("")
    click.echo(f"default model: {default['model']} ({default['reason']})")
    if not default["usable"]:
        click.echo(
            f"warning: the provider of {default['model']} is not usable here (see WHY above)", err=True
        )
