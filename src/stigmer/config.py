"""Where Stigmer keeps its files, and the settings in ``$STIGMER_HOME/config.yaml``."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from stigmer.errors import InvalidArgument

CONFIG_FILE = "config.yaml"
DATABASE_FILE = "local.db"
BACKENDS = ("local",)
OUTPUT_FORMATS = ("table", "yaml", "json")


def home_dir(explicit: str | os.PathLike[str] | None = None) -> Path:
    """The Stigmer home: ``--home``, else ``$STIGMER_HOME``, else ``~/.stigmer``."""
    chosen = explicit or os.environ.get("STIGMER_HOME") or Path.home() / ".stigmer"
    return Path(chosen).expanduser().absolute()


@dataclass
class Config:
    """The settings of one home. Unknown keys are kept, so newer settings survive a save."""

    home: Path
    backend: str = "local"
    database: str = ""
    output: str = "table"
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def database_path(self) -> Path:
        """The SQLite file of the local backend."""
        return Path(self.database).expanduser() if self.database else self.home / DATABASE_FILE

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"backend": self.backend, "output": self.output}
        if self.database:
            data["database"] = self.database
        return {**self.extra, **data}


def load_config(home: Path) -> Config:
    """Read ``config.yaml`` of a home; defaults when it does not exist.

    Raises:
        InvalidArgument: The file is not valid YAML or holds an invalid setting.
    """
    path = home / CONFIG_FILE
    if not path.exists():
        return Config(home=home)
    import yaml

    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as exc:
        raise InvalidArgument(f"invalid YAML: {exc}", source=str(path)) from None
    if not isinstance(data, dict):
        raise InvalidArgument("the config must be a mapping of settings", source=str(path))
    config = Config(home=home, extra=data)
    for key, allowed in (("backend", BACKENDS), ("output", OUTPUT_FORMATS)):
        value = data.pop(key, getattr(config, key))
        if value not in allowed:
            raise InvalidArgument(
                f"invalid {key} {value!r}",
                source=str(path),
                field=key,
                hint=f"use one of: {', '.join(allowed)}",
            )
        setattr(config, key, value)
    config.database = str(data.pop("database", "") or "")
    return config


def save_config(config: Config) -> Path:
    """Write ``config.yaml`` atomically."""
    import yaml

    path = config.home / CONFIG_FILE
    config.home.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(yaml.safe_dump(config.to_dict(), sort_keys=False), encoding="utf-8")
    tmp.replace(path)
    return path


__all__ = [
    "BACKENDS",
    "CONFIG_FILE",
    "DATABASE_FILE",
    "OUTPUT_FORMATS",
    "Config",
    "home_dir",
    "load_config",
    "save_config",
]
