"""The console script: answers `stigmer version` before loading the CLI framework.

`stigmer version` is how people and scripts check an install; it should cost little
more than starting Python. Everything else goes to :func:`stigmer.cli.main.main`.
"""

from __future__ import annotations

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

    return cli_main(argv)
