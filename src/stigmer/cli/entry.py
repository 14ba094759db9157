"""The console script: answers `stigmer version` before loading the CLI framework.

`stigmer version` is how people and scripts check an install; it should cost little
more than starting Python. Everything else goes to :func:`stigmer.cli.main.main`.
"""

from __future__ import annotations

import contextlib
import os
import sys
from typing import Any


def main(argv: list[str] | None = None) -> Any:
    """Run the `stigmer` command."""
    args = sys.argv[1:] if argv is None else argv
    if args in (["version"], ["--version"]):
        from stigmer.version import __version__

        sys.stdout.write(f"stigmer {__version__}\n")
        return 0
    from stigmer.cli.main import main as cli_main

    if argv is not None:
        return cli_main(argv)
    try:
        code = cli_main(argv)
    except SystemExit as exc:
        code = exc.code
    if "temporalio.bridge" in sys.modules:
        _exit_now(code)
    return code


def _exit_now(code: Any) -> None:
    """Exit without the interpreter's teardown: the Temporal client's native threads can
    outlive it and abort the process while it finalizes (temporalio/sdk-python#300)."""
    status = code if isinstance(code, int) else (0 if code is None else 1)
    if not isinstance(code, int) and code is not None:
        sys.stderr.write(f"{code}\n")
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError, ValueError):  # closed (a broken pipe)
            stream.flush()
    os._exit(status)
