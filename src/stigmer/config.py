"""Where Stigmer keeps its files, and the settings in ``$STIGMER_HOME/config.yaml``."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from stigmer.errors import InvalidArgument

CONFIG_FILE = "config.yaml"
DATABASE_FILE = "local.db"
CREDENTIALS_FILE = "credentials.yaml"
DEFAULT_SERVER_PORT = 7878
# "cloud" is a `stigmer server` (see `stigmer login`); "local" is the SQLite file of the home.
BACKENDS = ("local", "cloud")
OUTPUT_FORMATS = ("table", "yaml", "json")
# What runs executions: this process and `stigmer worker` processes on the store's leases
# ("local"), or Temporal workers ("temporal", see `temporal:` below).
ENGINES = ("local", "temporal")
ENGINE_VARIABLE = "STIGMER_ENGINE"
TEMPORAL_ADDRESS_VARIABLE = "STIGMER_TEMPORAL_ADDRESS"
DEFAULT_TEMPORAL_ADDRESS = "127.0.0.1:7233"
# How far a committed write is durable: "full" survives a power loss (SQLite synchronous=FULL, an
# fsync per commit), "normal" survives a crashed process (synchronous=NORMAL in WAL mode: the
# last commits may be lost with the machine). Measured here: 0.25 ms against 0.02 ms a commit.
DURABILITIES = ("full", "normal")
DURABILITY_VARIABLE = "STIGMER_DURABILITY"
DEFAULT_DURABILITY = "full"
# The store of the local backend (and of `stigmer server` and `stigmer worker`): a PostgreSQL
# URL here, or `database:` in config.yaml (a URL or a SQLite file), else the home's local.db.
DATABASE_URL_VARIABLE = "STIGMER_DATABASE_URL"


@dataclass(frozen=True)
class TemporalSettings:
    """Where the Temporal engine's executions go: ``temporal: {address, namespace, taskQueue}``."""

    address: str = DEFAULT_TEMPORAL_ADDRESS
    namespace: str = "default"
    task_queue: str = "stigmer"

    def to_dict(self) -> dict[str, str]:
        return {"address": self.address, "namespace": self.namespace, "taskQueue": self.task_queue}


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
    # The `stigmer server` of the cloud backend (its API key is in CREDENTIALS_FILE), and the
    # CA certificate that signed its TLS certificate when it is not a public one.
    server: str = ""
    server_ca_cert: str = ""
    engine: str = "local"
    temporal: TemporalSettings | None = None
    # What `stigmer server` run from this home allows (``server: {python: …, mcp: …, egress: …}``);
    # see stigmer.policy. ``server`` may be a mapping then, with the URL as ``server.url``.
    server_settings: dict[str, Any] = field(default_factory=dict)
    # "" when config.yaml does not say: see durability_of().
    durability: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def database_path(self) -> Path:
        """The SQLite file of the local backend (when ``database`` is not a PostgreSQL URL)."""
        return Path(self.database).expanduser() if self.database else self.home / DATABASE_FILE

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"backend": self.backend, "output": self.output}
        if self.database:
            data["database"] = self.database
        if self.server_settings:
            data["server"] = {**self.server_settings, **({"url": self.server} if self.server else {})}
        elif self.server:
            data["server"] = self.server
        if self.server_ca_cert:
            data["server_ca_cert"] = self.server_ca_cert
        if self.engine != "local":
            data["engine"] = self.engine
        if self.durability:
            data["durability"] = self.durability
        if self.temporal is not None:
            data["temporal"] = self.temporal.to_dict()
        return {**self.extra, **data}


def load_config(home: Path) -> Config:
    """Read ``config.yaml`` of a home; defaults when it does not exist.

    Raises:
        InvalidArgument: The file is not valid YAML or holds an invalid setting.
    """
    path = home / CONFIG_FILE
    if not path.exists():
        return Config(home=home)
    text = path.read_text(encoding="utf-8")
    data = flat_settings(text)
    if data is None:
        import yaml

        try:
            data = yaml.safe_load(text) or {}
        except yaml.YAMLError as exc:
            raise InvalidArgument(f"invalid YAML: {exc}", source=str(path)) from None
    if not isinstance(data, dict):
        raise InvalidArgument("the config must be a mapping of settings", source=str(path))
    config = Config(home=home, extra=data)
    for key, allowed in (("backend", BACKENDS), ("output", OUTPUT_FORMATS), ("engine", ENGINES)):
        value = data.pop(key, getattr(config, key))
        if value not in allowed:
            raise InvalidArgument(
                f"invalid {key} {value!r}",
                source=str(path),
                field=key,
                hint=f"use one of: {', '.join(allowed)}",
            )
        setattr(config, key, value)
    durability = data.pop("durability", None)
    if durability is not None:
        config.durability = _durability(durability, field="durability", source=str(path))
    config.database = str(data.pop("database", "") or "")
    server = data.pop("server", "") or ""
    if isinstance(server, dict):
        config.server_settings = dict(server)
        server = config.server_settings.pop("url", "") or ""
    config.server = str(server)
    config.server_ca_cert = str(data.pop("server_ca_cert", "") or "")
    if "temporal" in data:
        config.temporal = _temporal(data.pop("temporal"), str(path))
    return config


# `key: word` where YAML reads the word as a string whatever its resolver: it starts with a
# letter (so no number, date or sexagesimal) and has no space, quote, flow or comment character.
_FLAT_LINE = re.compile(r"([A-Za-z_][A-Za-z0-9_]*):[ \t]+([A-Za-z][A-Za-z0-9_./@:+-]*)[ \t]*")
_YAML_WORDS = frozenset({"true", "false", "yes", "no", "on", "off", "null"})


def flat_settings(text: str) -> dict[str, Any] | None:
    """The settings of a config.yaml made only of ``key: word`` lines (as `stigmer init` and
    `stigmer login` write it), read without importing the YAML parser (~9 ms of every command);
    None when the file holds anything else, for YAML to read."""
    data: dict[str, Any] = {}
    for line in text.splitlines():
        stripped = line.strip()
        if not stripped or (stripped.startswith("#") and line.startswith("#")):
            continue
        match = _FLAT_LINE.fullmatch(line)
        if match is None or match.group(2).lower() in _YAML_WORDS or match.group(1) in data:
            return None
        data[match.group(1)] = match.group(2)
    return data


def _temporal(value: Any, source: str) -> TemporalSettings:
    if value is None:
        return TemporalSettings()
    if not isinstance(value, dict):
        raise InvalidArgument(
            "temporal must be a mapping",
            source=source,
            field="temporal",
            hint="temporal: {address: HOST:PORT}",
        )
    known = {"address": "address", "namespace": "namespace", "taskQueue": "task_queue"}
    unknown = sorted(set(value) - set(known))
    if unknown:
        raise InvalidArgument(
            f"unknown setting temporal.{unknown[0]}",
            source=source,
            field=f"temporal.{unknown[0]}",
            hint="temporal takes address, namespace and taskQueue",
        )
    given = {known[k]: str(v) for k, v in value.items() if v not in (None, "")}
    return TemporalSettings(**given)


def engine_of(config: Config) -> str:
    """The engine that runs this home's executions: ``$STIGMER_ENGINE``, else ``engine`` in
    config.yaml, else ``local``.

    Raises:
        InvalidArgument: ``$STIGMER_ENGINE`` names no engine.
    """
    chosen = os.environ.get(ENGINE_VARIABLE, "").strip() or config.engine
    if chosen not in ENGINES:
        raise InvalidArgument(
            f"unknown engine {chosen!r}", field=ENGINE_VARIABLE, hint=f"use one of: {', '.join(ENGINES)}"
        )
    return chosen


def temporal_settings(config: Config) -> TemporalSettings:
    """The Temporal server of the temporal engine: ``temporal:`` in config.yaml, its address
    overridden by ``$STIGMER_TEMPORAL_ADDRESS``."""
    settings = config.temporal or TemporalSettings()
    address = os.environ.get(TEMPORAL_ADDRESS_VARIABLE, "").strip()
    if address:
        settings = TemporalSettings(address, settings.namespace, settings.task_queue)
    return settings


def _durability(value: Any, *, field: str, source: str = "") -> str:
    if value not in DURABILITIES:
        raise InvalidArgument(
            f"invalid durability {value!r}",
            source=source,
            field=field,
            hint="use full (commits survive a power loss) or normal (they survive a crashed process)",
        )
    return str(value)


def durability_of(config: Config) -> str:
    """How durable this home's commits are: ``$STIGMER_DURABILITY``, else ``durability`` in
    config.yaml, else ``full``.

    Raises:
        InvalidArgument: ``$STIGMER_DURABILITY`` is neither ``full`` nor ``normal``.
    """
    from_env = os.environ.get(DURABILITY_VARIABLE, "").strip()
    if from_env:
        return _durability(from_env, field=DURABILITY_VARIABLE)
    return config.durability or DEFAULT_DURABILITY


def database_of(config: Config) -> str:
    """Where this home's store is: ``$STIGMER_DATABASE_URL``, else ``database`` in config.yaml
    (a ``postgresql://`` URL or a SQLite file), else the home's ``local.db``.

    Raises:
        InvalidArgument: ``$STIGMER_DATABASE_URL`` is set but is not a PostgreSQL URL.
    """
    from_env = os.environ.get(DATABASE_URL_VARIABLE, "").strip()
    if from_env:
        if not is_database_url(from_env):
            raise InvalidArgument(
                f"{DATABASE_URL_VARIABLE} is not a PostgreSQL URL",
                field=DATABASE_URL_VARIABLE,
                hint="set it to postgresql://USER:PASSWORD@HOST:PORT/DATABASE, or unset it to use "
                "the home's SQLite file",
            )
        return from_env
    if is_database_url(config.database):
        return config.database
    return str(config.database_path)


def redacted(location: str) -> str:
    """A database location without the password a URL may hold, for messages and ``info``."""
    return re.sub(r"(://[^:/@]*):[^@/]*@", r"\1:****@", location)


def is_database_url(location: str) -> bool:
    """Whether a database setting is a PostgreSQL URL (else a SQLite file)."""
    return location.startswith(("postgresql://", "postgres://"))


RETENTION_VARIABLE = "STIGMER_RETENTION"


def retention_seconds(config: Config) -> int | None:
    """How old a finished execution may get before `stigmer worker` prunes it, in seconds:
    ``$STIGMER_RETENTION`` when set, else ``retention`` in config.yaml (e.g. ``30d``); None when
    neither is set, and runs are kept for ever.

    Raises:
        InvalidArgument: The setting is not an age such as ``30d``.
    """
    from stigmer.resources.durations import parse_age

    from_env = os.environ.get(RETENTION_VARIABLE, "").strip()
    if from_env:
        return parse_age(from_env, field=RETENTION_VARIABLE)
    value = config.extra.get("retention")
    if value is None or value == "":
        return None
    return parse_age(str(value), field="retention", source=str(config.home / CONFIG_FILE))


@dataclass(frozen=True)
class TelemetrySettings:
    """Where a process sends its runs' traces and metrics (OpenTelemetry, OTLP over HTTP).

    Attributes:
        endpoint: The OTLP/HTTP base URL (``/v1/traces`` and ``/v1/metrics`` are added);
            "" leaves it to the exporter, which reads the ``OTEL_EXPORTER_OTLP_*`` variables.
        headers: Sent with every export (``OTEL_EXPORTER_OTLP_HEADERS`` adds to them).
        service_name: ``service.name`` of the resource (``OTEL_SERVICE_NAME`` wins).
        capture_content: Put prompts, completions, tool arguments and results in the spans
            (masked like every stored output); off by default.
        export: Send traces and metrics over OTLP (False: only show metrics on a port).
        metrics_port: Where `stigmer server --metrics-port` shows metrics as Prometheus text.
    """

    endpoint: str = ""
    headers: tuple[tuple[str, str], ...] = ()
    service_name: str = "stigmer"
    capture_content: bool = False
    export: bool = True
    metrics_port: int | None = None


_OTLP_VARIABLES = ("OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
CAPTURE_CONTENT_VARIABLE = "OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT"


def telemetry_settings(config: Config) -> TelemetrySettings | None:
    """Whether, and where, this home's processes export telemetry: on when an OTLP endpoint is
    set (``OTEL_EXPORTER_OTLP_ENDPOINT`` or ``OTEL_EXPORTER_OTLP_TRACES_ENDPOINT``, or
    ``telemetry: {endpoint: URL}`` in config.yaml), off otherwise and with
    ``OTEL_SDK_DISABLED=true``. None when off.

    Raises:
        InvalidArgument: ``telemetry`` in config.yaml is malformed.
    """
    source = str(config.home / CONFIG_FILE)
    value = config.extra.get("telemetry")
    if value is None:
        value = {}
    if not isinstance(value, dict):
        raise InvalidArgument(
            "telemetry must be a mapping", source=source, field="telemetry", hint="telemetry: {endpoint: URL}"
        )
    known = {"endpoint", "headers", "serviceName", "captureContent"}
    unknown = sorted(set(value) - known)
    if unknown:
        raise InvalidArgument(
            f"unknown setting telemetry.{unknown[0]}",
            source=source,
            field=f"telemetry.{unknown[0]}",
            hint="telemetry takes endpoint, headers, serviceName and captureContent",
        )
    headers = value.get("headers") or {}
    if not isinstance(headers, dict):
        raise InvalidArgument("telemetry.headers must be a mapping", source=source, field="telemetry.headers")
    if os.environ.get("OTEL_SDK_DISABLED", "").strip().lower() == "true":
        return None
    endpoint = str(value.get("endpoint") or "")
    if not endpoint and not any(os.environ.get(name, "").strip() for name in _OTLP_VARIABLES):
        return None
    from_env = os.environ.get(CAPTURE_CONTENT_VARIABLE, "").strip().lower()
    capture = from_env in ("true", "1", "yes") if from_env else bool(value.get("captureContent", False))
    return TelemetrySettings(
        endpoint=endpoint.rstrip("/"),
        headers=tuple(sorted((str(k), str(v)) for k, v in headers.items())),
        service_name=os.environ.get("OTEL_SERVICE_NAME", "").strip()
        or str(value.get("serviceName") or "stigmer"),
        capture_content=capture,
    )


def save_config(config: Config) -> Path:
    """Write ``config.yaml`` atomically."""
    import yaml

    path = config.home / CONFIG_FILE
    config.home.mkdir(parents=True, exist_ok=True, mode=0o700)
    tmp = path.with_suffix(".tmp")
    # Owner-only from the first byte: it may name servers and where keys are.
    handle = os.open(tmp, os.O_CREAT | os.O_WRONLY | os.O_TRUNC, 0o600)
    with os.fdopen(handle, "w", encoding="utf-8") as out:
        out.write(yaml.safe_dump(config.to_dict(), sort_keys=False))
    tmp.chmod(0o600)  # an older tmp file may have been wider
    tmp.replace(path)
    return path


_WARNED: set[Path] = set()


def wide_home_warning(home: Path) -> str:
    """A warning, once per process, when a home is readable by others ("" otherwise).

    The home is left as it is (its owner decides), and nothing is written into it.
    """
    if home in _WARNED:
        return ""
    try:
        mode = home.stat().st_mode & 0o777
    except OSError:
        return ""
    if not mode & 0o077:
        return ""
    _WARNED.add(home)
    return (
        f"Warning: {home} is readable by other users of this machine (mode {mode:o}): they may "
        f"read transcripts and settings there. Make it private: chmod 700 {home}"
    )


def _read_credentials(home: Path) -> dict[str, str]:
    path = home / CREDENTIALS_FILE
    if not path.exists():
        return {}
    import yaml

    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as exc:
        raise InvalidArgument(f"invalid YAML: {exc}", source=str(path)) from None
    tokens = data.get("tokens", {}) if isinstance(data, dict) else None
    if not isinstance(tokens, dict):
        raise InvalidArgument("expected `tokens:` mapping server URLs to API keys", source=str(path))
    return {str(k): str(v) for k, v in tokens.items()}


def load_token(home: Path, server: str) -> str:
    """The API key for ``server``: ``$STIGMER_TOKEN``, else the one `stigmer login` stored."""
    return os.environ.get("STIGMER_TOKEN") or _read_credentials(home).get(server, "")


def save_token(home: Path, server: str, token: str) -> Path:
    """Store the API key for ``server`` in the home's credentials file (mode 0600)."""
    tokens = _read_credentials(home)
    if token:
        tokens[server] = token
    else:
        tokens.pop(server, None)
    import yaml

    home.mkdir(parents=True, exist_ok=True, mode=0o700)
    path = home / CREDENTIALS_FILE
    tmp = path.with_suffix(".tmp")
    tmp.unlink(missing_ok=True)
    # Created 0600 from the start: the key is never readable by others, not even briefly.
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write("# API keys of Stigmer servers, written by `stigmer login`. Keep this file private.\n")
        handle.write(yaml.safe_dump({"tokens": tokens}, sort_keys=True))
    tmp.replace(path)
    return path


__all__ = [
    "BACKENDS",
    "CAPTURE_CONTENT_VARIABLE",
    "CONFIG_FILE",
    "CREDENTIALS_FILE",
    "DATABASE_FILE",
    "DEFAULT_DURABILITY",
    "DEFAULT_SERVER_PORT",
    "DEFAULT_TEMPORAL_ADDRESS",
    "DURABILITIES",
    "DURABILITY_VARIABLE",
    "ENGINES",
    "ENGINE_VARIABLE",
    "OUTPUT_FORMATS",
    "RETENTION_VARIABLE",
    "TEMPORAL_ADDRESS_VARIABLE",
    "Config",
    "TelemetrySettings",
    "TemporalSettings",
    "durability_of",
    "engine_of",
    "home_dir",
    "load_config",
    "load_token",
    "retention_seconds",
    "save_config",
    "save_token",
    "telemetry_settings",
    "temporal_settings",
]
