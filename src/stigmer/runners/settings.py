"""What a home's config.yaml says about running: the default model, the model prices, and
where telemetry goes.

The engine reads them once (:func:`run_settings`) and hands them to every runner it starts,
so a run on a worker is priced by that worker's home.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from stigmer.config import CONFIG_FILE, Config, TelemetrySettings, telemetry_settings
from stigmer.prices import Prices, parse_prices


@dataclass(frozen=True)
class RunSettings:
    """The settings runners use.

    Attributes:
        model: The default model (``model`` in config.yaml), for agents that name none.
        prices: What model calls cost (``prices`` in config.yaml).
        telemetry: Where finished runs' traces and metrics go (OpenTelemetry); None: nowhere.
    """

    model: str = ""
    prices: Prices = field(default_factory=Prices)
    telemetry: TelemetrySettings | None = None


DEFAULTS = RunSettings()
"""No default model of the home's (the usual order then: see models.registry) and no prices."""


def run_settings(config: Config) -> RunSettings:
    """The run settings of a home.

    Raises:
        InvalidArgument: ``prices`` or ``telemetry`` in config.yaml is malformed.
    """
    source = str(config.home / CONFIG_FILE)
    return RunSettings(
        model=str(config.extra.get("model", "") or ""),
        prices=parse_prices(config.extra.get("prices"), source=source),
        telemetry=telemetry_settings(config),
    )


__all__ = ["DEFAULTS", "RunSettings", "run_settings"]
