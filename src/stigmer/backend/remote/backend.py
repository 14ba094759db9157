"""RemoteBackend: the Backend protocol over gRPC, against `stigmer server`, composed of its parts.

Each part is a mixin over :class:`~stigmer.backend.remote.channel.RemoteChannel` in a module of
its own; a new part is a new module whose mixin joins the bases below.
"""

from __future__ import annotations

from stigmer.backend.remote.api_keys import RemoteApiKeys
from stigmer.backend.remote.executions import RemoteExecutions
from stigmer.backend.remote.journal import RemoteRunJournal
from stigmer.backend.remote.resources import RemoteResources
from stigmer.backend.remote.sign_ins import RemoteMcpSignIns


class RemoteBackend(RemoteResources, RemoteMcpSignIns, RemoteExecutions, RemoteRunJournal, RemoteApiKeys):
    """The Backend of a `stigmer server`.

    Args:
        url: The server (see :func:`~stigmer.backend.remote.channel.parse_server_url`).
        token: An API key (`stigmer server keys create`).
        ca_cert: PEM of the CA that signed the server's certificate, when not a public one.
        timeout: Seconds each call may take (bulk writes get more).
        retries: How often a call that is safe to repeat is retried when the server is
            unreachable, with exponential backoff.
    """


__all__ = ["RemoteBackend"]
