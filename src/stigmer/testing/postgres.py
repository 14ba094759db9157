"""A throwaway PostgreSQL server for tests and benchmarks: Debian's binaries, a temporary
directory, a free port on 127.0.0.1, stopped (and its files removed) afterwards.

PostgreSQL refuses to run as root: as root, the server runs as the ``postgres`` user (which
Debian's ``postgresql`` package creates) through ``runuser``. The binaries are found in
``$STIGMER_POSTGRES_BIN``, else the newest ``/usr/lib/postgresql/*/bin``, else on ``PATH``.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path
from types import TracebackType
from typing import Self

from stigmer.errors import StigmerError

BIN_VARIABLE = "STIGMER_POSTGRES_BIN"
SUPERUSER = "stigmer"
INSTALL_HINT = (
    "install Debian's PostgreSQL (apt-get install postgresql; scripts/bootstrap --test-tools does it), "
    f"or point {BIN_VARIABLE} at a directory holding initdb and pg_ctl"
)


def postgres_bin() -> Path:
    """The directory of ``initdb`` and ``pg_ctl``.

    Raises:
        StigmerError: PostgreSQL is not installed (the hint says how to install it).
    """
    chosen = os.environ.get(BIN_VARIABLE)
    if chosen:
        if not (Path(chosen) / "initdb").exists():
            raise StigmerError(f"{BIN_VARIABLE}={chosen} holds no initdb", hint=INSTALL_HINT)
        return Path(chosen)

    def major(path: Path) -> int:
        name = path.parent.name
        return int(name) if name.isdigit() else 0

    installed = sorted(Path("/usr/lib/postgresql").glob("*/bin"), key=major)
    if installed and (installed[-1] / "initdb").exists():
        return installed[-1]
    found = shutil.which("initdb")
    if found:
        return Path(found).parent
    raise StigmerError("PostgreSQL's server binaries (initdb, pg_ctl) are not installed", hint=INSTALL_HINT)


def free_port() -> int:
    """A TCP port on 127.0.0.1 nobody listens on now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class PostgresServer:
    """One PostgreSQL cluster on 127.0.0.1, for as long as the ``with`` block lasts.

    Tuned for tests: no fsync (a crash of the machine may lose it; it is thrown away anyway),
    trust authentication on loopback only, the ``C`` locale.

    Example:
        >>> with PostgresServer() as server:  # doctest: +SKIP
        ...     url = server.create_database("demo")
    """

    def __init__(self, *, port: int = 0, fsync: bool = False) -> None:
        self.bin = postgres_bin()
        self.port = port or free_port()
        self.fsync = fsync
        self.directory: Path | None = None
        self._as_postgres = os.geteuid() == 0

    def _run(self, *args: str) -> subprocess.CompletedProcess[str]:
        command = [str(self.bin / args[0]), *args[1:]]
        if self._as_postgres:
            command = ["runuser", "-u", "postgres", "--", *command]
        return subprocess.run(command, capture_output=True, text=True, check=False, timeout=120)

    def _checked(self, *args: str) -> None:
        done = self._run(*args)
        if done.returncode != 0:
            raise StigmerError(
                f"{args[0]} failed ({done.returncode}): {(done.stderr or done.stdout).strip()[-2000:]}",
                hint=INSTALL_HINT,
            )

    def start(self) -> None:
        """Create the cluster in a temporary directory and start it; wait until it accepts connections."""
        self.directory = Path(tempfile.mkdtemp(prefix="stigmer-postgres-"))
        data = self.directory / "data"
        if self._as_postgres:
            shutil.chown(self.directory, "postgres", "postgres")
        self._checked(
            "initdb", "-D", str(data), "-U", SUPERUSER, "-A", "trust", "-E", "UTF8", "--locale=C", "--no-sync"
        )
        settings = [
            f"-p {self.port}",
            f"-k {self.directory}",
            "-c listen_addresses=127.0.0.1",
            "-c max_connections=200",
        ]
        if not self.fsync:
            settings += ["-c fsync=off", "-c full_page_writes=off", "-c synchronous_commit=off"]
        self._checked(
            "pg_ctl", "-D", str(data), "-l", str(self.directory / "server.log"), "-w", "-t", "60",
            "-o", " ".join(settings), "start",
        )  # fmt: skip

    def stop(self) -> None:
        """Stop the server at once and remove its files."""
        if self.directory is None:
            return
        self._run("pg_ctl", "-D", str(self.directory / "data"), "-m", "immediate", "-w", "stop")
        shutil.rmtree(self.directory, ignore_errors=True)
        self.directory = None

    def url(self, database: str = "postgres") -> str:
        """The URL of one database of this server."""
        return f"postgresql://{SUPERUSER}@127.0.0.1:{self.port}/{database}"

    def admin(self, statement: str) -> None:
        """Run one statement as the superuser, outside a transaction (CREATE/DROP DATABASE)."""
        import psycopg  # the tests' and benchmarks' dependency, in the `postgres` extra

        with psycopg.connect(self.url(), autocommit=True) as conn:
            conn.execute(statement.encode())

    def create_database(self, name: str, *, template: str = "") -> str:
        """Create a database (copied from ``template``, when given); its URL."""
        copy = f' TEMPLATE "{template}" STRATEGY FILE_COPY' if template else ""
        self.admin(f'CREATE DATABASE "{name}"{copy}')
        return self.url(name)

    def drop_database(self, name: str) -> None:
        """Drop a database, ending the connections still open to it."""
        self.admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def __enter__(self) -> Self:
        try:
            self.start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


__all__ = ["BIN_VARIABLE", "PostgresServer", "free_port", "postgres_bin"]
