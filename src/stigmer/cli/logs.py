"""Where log records go in the CLI: Stigmer's own to stderr, libraries' only with --debug.

Libraries log warnings of their own (the MCP SDK's "Session termination failed" when an
HTTP server died, for one). Python prints those through its last-resort handler, above
Stigmer's own error that already says what happened; so, unless ``--debug``, one handler
on the root logger shows only ``stigmer.*`` records.
"""

from __future__ import annotations

import logging

FORMAT = "%(name)s %(levelname)s: %(message)s"


def configure(*, debug: bool) -> None:
    """Install the CLI's root handler (once per process)."""
    root = logging.getLogger()
    if any(getattr(h, "_stigmer", False) for h in root.handlers):
        return
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter(FORMAT))
    handler._stigmer = True  # type: ignore[attr-defined]
    if not debug:
        handler.addFilter(lambda record: record.name == "stigmer" or record.name.startswith("stigmer."))
    root.addHandler(handler)
    if root.level == logging.NOTSET or root.level > logging.WARNING:
        root.setLevel(logging.WARNING)


def timestamped() -> None:
    """Put the time on every line (for long-running commands: server, worker, ui)."""
    for handler in logging.getLogger().handlers:
        if getattr(handler, "_stigmer", False):
            handler.setFormatter(logging.Formatter("%(asctime)s " + FORMAT))


__all__ = ["FORMAT", "configure", "timestamped"]
