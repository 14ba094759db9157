"""Where a worker finds a Python function: ``module:function``, for ``python`` tasks and
``@task`` functions."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from stigmer.errors import InvalidArgument


def function_target(function: Callable[..., Any]) -> str:
    """``module:function``, which a worker imports; refused when no worker could."""
    module = getattr(function, "__module__", None)
    qualname = getattr(function, "__qualname__", None) or getattr(function, "__name__", "")
    label = qualname or repr(function)
    if not module or not qualname:
        raise InvalidArgument(f"{label} is not a module-level function", field="python")
    if module == "__main__":
        module = _script_module() or module
    if module == "__main__":
        raise InvalidArgument(
            f"{qualname} is defined in the script being run (__main__), which a worker cannot import",
            field="python",
            hint="move it to a module (e.g. steps.py) and import it from there, "
            "or apply this file with `stigmer apply -f FILE.py`",
        )
    if "." in qualname:
        raise InvalidArgument(
            f"{qualname} is not at the top level of {module}, so a worker cannot import it",
            field="python",
            hint="define the function at the top level of its module",
        )
    return f"{module}:{qualname}"


def _script_module() -> str:
    """The module name of the script being run (``python app.py`` → ``app``), which a
    worker started in its directory imports; "" when there is no such file (a REPL)."""
    main = sys.modules.get("__main__")
    path = getattr(main, "__file__", None)
    if not path or not path.endswith(".py"):
        return ""
    stem = Path(path).stem
    return stem if stem.isidentifier() else ""


__all__ = ["function_target"]
