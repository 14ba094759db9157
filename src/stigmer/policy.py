"""What a `stigmer server` lets resources do on its host: run Python, start commands, reach
addresses.

On your own machine (local mode) everything stays allowed. A server is stricter, because an
API key is not a login to its host:

- ``python`` tasks call only functions of modules the operator lists in config.yaml as
  ``server.python.allowedModules`` (a module allows its submodules too); default: none.
- stdio MCP servers start only commands listed as ``server.mcp.allowedCommands`` (exactly
  as written in the resource); default: none. HTTP MCP servers are fine.
- ``http`` tasks and HTTP MCP servers reach no loopback, link-local, private, shared or
  cloud-metadata address, checked after DNS resolution and on every redirect, unless the
  address or network is listed as ``server.egress.allow`` (``10.1.2.3``, ``10.0.0.0/8``,
  ``localhost``).

Each is refused when a resource is applied to the server (INVALID_ARGUMENT, the field and
the setting to change) and again when it would run (:func:`current` is the policy of the
process: `stigmer server` installs its own).
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from stigmer.errors import InvalidArgument

DEFAULT_MAX_RESPONSE_BYTES = 10 * 1024 * 1024
RESPONSE_KEY = "server.http.maxResponseBytes"
PYTHON_KEY = "server.python.allowedModules"
MCP_KEY = "server.mcp.allowedCommands"
EGRESS_KEY = "server.egress.allow"

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
_METADATA = (ipaddress.ip_network("169.254.0.0/16"), ipaddress.ip_network("fd00:ec2::/32"))


class PolicyRefusal(InvalidArgument):
    """A resource asks for what this server's operator does not allow."""


@dataclass(frozen=True)
class ExecutionPolicy:
    """What runs may do here. ``None`` for a list means anything (local mode).

    Args:
        python_modules: Modules whose functions python tasks may call.
        mcp_commands: Commands stdio MCP servers may start.
        private_egress: Whether http tasks and HTTP MCP servers may reach private addresses.
        egress_allow: Networks reachable even when private egress is off.
        egress_hosts: Host names reachable even when private egress is off.
        max_response_bytes: The default limit of an http task's response body.
    """

    python_modules: frozenset[str] | None = None
    mcp_commands: frozenset[str] | None = None
    private_egress: bool = True
    egress_allow: tuple[Network, ...] = ()
    egress_hosts: frozenset[str] = field(default_factory=frozenset)
    max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES

    @property
    def open(self) -> bool:
        return self.python_modules is None and self.mcp_commands is None and self.private_egress

    @classmethod
    def for_server(cls, settings: dict[str, Any] | None) -> ExecutionPolicy:
        """A server's policy from the ``server:`` mapping of its config.yaml.

        Raises:
            InvalidArgument: A setting is not a list of strings (or a network is not one).
        """
        settings = settings or {}
        modules = _strings(_dig(settings, "python", "allowedModules"), PYTHON_KEY)
        commands = _strings(_dig(settings, "mcp", "allowedCommands"), MCP_KEY)
        networks: list[Network] = []
        hosts: set[str] = set()
        for entry in _strings(_dig(settings, "egress", "allow"), EGRESS_KEY):
            try:
                networks.append(ipaddress.ip_network(entry, strict=False))
            except ValueError:
                if not entry or "/" in entry:
                    raise InvalidArgument(
                        f"{entry!r} is neither an address, a network nor a host name", field=EGRESS_KEY
                    ) from None
                hosts.add(entry.lower())
        limit = _dig(settings, "http", "maxResponseBytes")
        if limit is None:
            limit = DEFAULT_MAX_RESPONSE_BYTES
        if not isinstance(limit, int) or isinstance(limit, bool) or not 1 <= limit <= 2**31 - 1:
            raise InvalidArgument("must be a whole number of bytes from 1 to 2147483647", field=RESPONSE_KEY)
        return cls(frozenset(modules), frozenset(commands), False, tuple(networks), frozenset(hosts), limit)

    # -- code execution ----------------------------------------------------------------

    def check_python(self, target: str, *, field: str = "python", resource: str = "") -> None:
        """Refuse a python task's ``module:function`` unless its module is allowed.

        Raises:
            PolicyRefusal: It is not.
        """
        if self.python_modules is None:
            return
        module = target.partition(":")[0].strip()
        if any(module == m or module.startswith(f"{m}.") for m in self.python_modules):
            return
        raise PolicyRefusal(
            f"this server runs python tasks only from modules its operator allows, and {module!r} is not one",
            field=field,
            resource=resource,
            hint=f"the server's operator may add it to {PYTHON_KEY} in its config.yaml",
        )

    def check_command(self, command: str, *, field: str = "stdio.command", resource: str = "") -> None:
        """Refuse a stdio MCP server's command unless it is allowed.

        Raises:
            PolicyRefusal: It is not.
        """
        if self.mcp_commands is None or command in self.mcp_commands:
            return
        raise PolicyRefusal(
            f"this server starts only the MCP server commands its operator allows, "
            f"and {command!r} is not one",
            field=field,
            resource=resource,
            hint=f"use an HTTP MCP server, or ask the server's operator to add it to {MCP_KEY} "
            "in config.yaml",
        )

    # -- egress ------------------------------------------------------------------------

    def check_url(self, url: str, *, field: str = "url") -> None:
        """Refuse a URL whose host is, or resolves to, an address this server may not reach.

        Raises:
            PolicyRefusal: It is.
        """
        if self.private_egress:
            return
        parts = urlsplit(url)
        host = (parts.hostname or "").lower()
        if not host:
            return  # not a URL the client will fetch; it fails there with its own error
        if host in self.egress_hosts:
            return
        for address in _resolve(host, parts.port or (443 if parts.scheme == "https" else 80)):
            if _private(address) and not any(address in n for n in self.egress_allow):
                raise PolicyRefusal(
                    f"this server does not reach {host} ({address}): a loopback, private, link-local "
                    "or cloud-metadata address",
                    field=field,
                    hint=f"the server's operator may allow it in {EGRESS_KEY} in config.yaml",
                )


OPEN = ExecutionPolicy()
_current: ExecutionPolicy = OPEN


def current() -> ExecutionPolicy:
    """The policy of this process: open, unless a server installed its own."""
    return _current


def install(policy: ExecutionPolicy) -> None:
    """Make ``policy`` the one runs in this process follow (`stigmer server` does at start)."""
    global _current
    _current = policy


def _dig(settings: dict[str, Any], section: str, key: str) -> Any:
    part = settings.get(section)
    return part.get(key) if isinstance(part, dict) else None


def _strings(value: Any, key: str) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise InvalidArgument("must be a list of strings", field=key)
    return [v.strip() for v in value]


def _resolve(host: str, port: int) -> Iterator[ipaddress.IPv4Address | ipaddress.IPv6Address]:
    try:
        yield ipaddress.ip_address(host.strip("[]"))
        return
    except ValueError:
        pass
    try:
        found = socket.getaddrinfo(host, port, proto=socket.IPPROTO_TCP)
    except OSError:
        return  # unresolvable: the request fails by itself
    for *_, sockaddr in found:
        yield ipaddress.ip_address(str(sockaddr[0]).split("%")[0])


def _private(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return (
        address.is_loopback
        or address.is_private
        or address.is_link_local
        or address.is_reserved
        or address.is_unspecified
        or address.is_multicast
        or any(address in n for n in _METADATA)
        or (isinstance(address, ipaddress.IPv4Address) and address in ipaddress.ip_network("100.64.0.0/10"))
    )


# -- what a resource asks for -----------------------------------------------------------


def check_resources(policy: ExecutionPolicy, resources: Iterable[Any]) -> None:
    """Refuse the first resource that asks for code the policy does not allow.

    Raises:
        PolicyRefusal: One does; its field and the setting to change are named.
    """
    if policy.python_modules is None and policy.mcp_commands is None:
        return
    from stigmer.resources.kinds import kind_info

    for resource in resources:
        kind = kind_info(resource).kind
        where = f"{kind}/{resource.metadata.name}"
        if kind == "Workflow":
            for path, task in _tasks(resource.spec.tasks, "spec.tasks"):
                if task.WhichOneof("kind") == "python":
                    policy.check_python(task.python, field=f"{path}.python", resource=where)
        elif kind == "McpServer" and resource.spec.HasField("stdio"):
            policy.check_command(resource.spec.stdio.command, field="spec.stdio.command", resource=where)
        elif kind == "Agent":
            for i, usage in enumerate(resource.spec.mcp_servers):
                if usage.HasField("stdio"):
                    policy.check_command(
                        usage.stdio.command, field=f"spec.mcpServers[{i}].stdio.command", resource=where
                    )


def _tasks(tasks: Iterable[Any], prefix: str) -> Iterator[tuple[str, Any]]:
    for i, task in enumerate(tasks):
        path = f"{prefix}[{i}]"
        yield path, task
        if task.WhichOneof("kind") == "for_each" and task.for_each.HasField("do"):
            yield from _tasks([task.for_each.do], f"{path}.forEach.do")


__all__ = [
    "DEFAULT_MAX_RESPONSE_BYTES",
    "EGRESS_KEY",
    "MCP_KEY",
    "OPEN",
    "PYTHON_KEY",
    "RESPONSE_KEY",
    "ExecutionPolicy",
    "PolicyRefusal",
    "check_resources",
    "current",
    "install",
]
