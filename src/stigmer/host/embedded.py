"""A whole server host on a thread of this process, for tests and tools."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable

from stigmer.backend.local import LocalBackend
from stigmer.backend.protocol import Backend
from stigmer.host.host import Host, HostOptions
from stigmer.server.app import ServerOptions, StigmerServer
from stigmer.server.auth import Verify


class EmbeddedServer:
    """A server (as `stigmer server` runs it: with its worker, retention and dashboard, as
    ``options`` say) on a thread of this process, for tests and tools.

    Example::

        with EmbeddedServer(ServerOptions(database=path, port=0, worker=False)) as server:
            backend = RemoteBackend(server.url, token=token)
    """

    def __init__(
        self,
        options: ServerOptions,
        *,
        open_backend: Callable[[], Backend] | None = None,
        verify: Verify | None = None,
        retention_seconds: int = 0,
    ) -> None:
        self.options = options
        self.host = Host(
            HostOptions.for_server(options, retention_seconds=retention_seconds),
            open_backend=open_backend
            or (lambda: LocalBackend.open(options.database, durability=options.durability)),
            verify=verify,
        )
        self._thread = threading.Thread(target=self._main, name="stigmer-server", daemon=True)
        self._ready = threading.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._done: asyncio.Event | None = None
        self._error: BaseException | None = None
        self._url = ""

    @property
    def server(self) -> StigmerServer:
        """The gRPC server (once started)."""
        assert self.host.server is not None, "the server is not running"
        return self.host.server

    @property
    def url(self) -> str:
        return self._url

    def _main(self) -> None:
        async def main() -> None:
            self._loop = asyncio.get_running_loop()
            self._done = asyncio.Event()
            try:
                await self.host.start()
            except BaseException as exc:
                self._error = exc
                self._ready.set()
                return
            self._url = self.server.url
            self._ready.set()
            await self._done.wait()
            await self.host.stop(0)

        asyncio.run(main())

    def start(self) -> EmbeddedServer:
        self._thread.start()
        self._ready.wait()
        if self._error is not None:
            raise self._error
        return self

    def stop(self) -> None:
        if self._loop is not None and self._done is not None and self._thread.is_alive():
            self._loop.call_soon_threadsafe(self._done.set)
        self._thread.join()

    def __enter__(self) -> EmbeddedServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


__all__ = ["EmbeddedServer"]
