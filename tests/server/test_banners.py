"""The server says where it really listens, and warns when --insecure exposes it."""

from __future__ import annotations

import re
import time
from pathlib import Path

from tests.server.conftest import create_key, server_home
from tests.server.harness import ServerProcess


def test_a_server_on_every_address_says_so_and_warns_about_insecure(tmp_path: Path) -> None:
    home = server_home(tmp_path)
    create_key(home, "admin")
    server = ServerProcess(home, "--host", "0.0.0.0", "--insecure", "--ui-port", "0")
    try:
        server.start_unready()
        deadline = time.monotonic() + 30
        while "dashboard:" not in server.output() and time.monotonic() < deadline:
            assert server.process is not None and server.process.poll() is None, server.output()
            time.sleep(0.05)
        out = server.output()
        assert re.search(r"listening on 0\.0\.0\.0:\d+", out), out
        assert re.search(r"dashboard: http://0\.0\.0\.0:\d+/ \(every address", out), out
        assert "127.0.0.1" not in out.split("dashboard:")[1].splitlines()[0]
        assert "WARNING: --insecure on 0.0.0.0 without TLS" in out and "in clear" in out
    finally:
        server.stop()


def test_a_loopback_server_gives_no_insecure_warning(tmp_path: Path) -> None:
    home = server_home(tmp_path)
    create_key(home, "admin")
    server = ServerProcess(home, "--insecure").start()
    try:
        assert "WARNING" not in server.output()
    finally:
        server.stop()
