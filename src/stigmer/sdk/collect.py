"""The resources a Python file defines, for ``stigmer apply -f app.py`` and ``stigmer synth``.

The file is imported as a module named after it (``app.py`` → ``app``) with its
directory first on ``sys.path``, so ``@task`` functions in it are ``app:NAME``, which a
worker started in that directory imports. Every resource object bound at the module's top
level (or held in a top-level list, tuple or dict) is collected, in the order the names
were bound, each after the objects it refers to: an McpServer or a Skill passed straight
to an Agent is a resource of its own, since documents refer to one another by name.
"""

from __future__ import annotations

import importlib.machinery
import importlib.util
import sys
import traceback
from collections.abc import Iterable
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any

from stigmer.errors import InvalidArgument
from stigmer.resources.names import slugify
from stigmer.sdk.authoring import Definition

if TYPE_CHECKING:
    from stigmer.resources.documents import Document

# Module name -> file, for the modules collect() imported (a later collect may replace them).
_IMPORTED: dict[str, Path] = {}


def collect(path: str | Path) -> list[Definition[Any]]:
    """Import a Python file and return the resources it defines, each checked as apply would.

    Raises:
        InvalidArgument: The file cannot be imported (the error names it, and the line),
            defines no resources, or defines an invalid one (``file:line`` of its definition).
    """
    given = str(path)
    module = _import(Path(path), given)
    found: list[Definition[Any]] = []
    for name, value in vars(module).items():
        if name.startswith("__"):
            continue
        if isinstance(value, Definition):
            found.append(value)
        elif isinstance(value, list | tuple):
            found += [v for v in value if isinstance(v, Definition)]
        elif isinstance(value, dict):
            found += [v for v in value.values() if isinstance(v, Definition)]
    objects = with_dependencies(found)
    if not objects:
        raise InvalidArgument(
            "defines no resources",
            source=given,
            hint="bind Agent, Workflow, Skill, McpServer or Environment objects at the top level of the file",
        )
    for obj in objects:
        obj.to_resource()
    return objects


def with_dependencies(objects: Iterable[Definition[Any]]) -> list[Definition[Any]]:
    """``objects`` and every object they refer to, each once, each after what it refers to.

    Raises:
        InvalidArgument: Two different definitions of the same kind and name.
    """
    out: list[Definition[Any]] = []
    done: set[int] = set()
    seen: dict[tuple[str, str], Definition[Any]] = {}

    def add(obj: Definition[Any]) -> None:
        if id(obj) in done:
            return
        done.add(id(obj))  # before its dependencies: an agent may name itself as a sub-agent
        for dependency in obj.dependencies():
            add(dependency)
        key = (obj.kind, slugify(obj.name))
        other = seen.get(key)
        if other is None:
            seen[key] = obj
            out.append(obj)
        elif other.to_document() != obj.to_document():
            raise InvalidArgument(
                f"{obj.kind} {obj.name!r} is defined twice, differently (also at {other.where})",
                source=obj.where,
                resource=obj.label,
                hint="names are unique per kind: rename one, or define it once and reuse the object",
            )

    for obj in objects:
        add(obj)
    return out


def documents(path: str | Path) -> list[Document]:
    """The resources of a Python file as documents, each pointing at the line that defined it."""
    # Imported here, not above: Client.apply uses with_dependencies and needs no YAML reader.
    from stigmer.resources.documents import Document

    docs: list[Document] = []
    for obj in collect(path):
        source, _, line = obj.where.rpartition(":")
        docs.append(Document(source or str(path), len(docs), obj.to_document(), {"": int(line or 1)}))
    return docs


def _import(path: Path, given: str) -> ModuleType:
    if path.suffix != ".py" or not path.is_file():
        raise InvalidArgument(f"no such Python file: {given}", hint="give the path of a .py file")
    file = path.resolve()
    name = _module_name(file, given)
    directory = str(file.parent)
    if directory not in sys.path:
        sys.path.insert(0, directory)
    spec = importlib.util.spec_from_file_location(name, file)
    if spec is None or spec.loader is None:
        raise InvalidArgument(f"cannot import {given}", source=given)
    module = importlib.util.module_from_spec(spec)
    previous = sys.modules.get(name)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except InvalidArgument as exc:
        _restore(name, previous)
        exc.source = exc.source or _line_in(exc, file, given)
        raise
    except (Exception, SystemExit) as exc:
        _restore(name, previous)
        raise InvalidArgument(
            f"importing it raised {type(exc).__name__}: {exc}",
            source=_line_in(exc, file, given),
            hint=f"run `python {given}` to see the whole traceback"
            + (
                "; put code that runs things under `if __name__ == '__main__':`"
                if isinstance(exc, SystemExit)
                else ""
            ),
        ) from exc
    _IMPORTED[name] = file
    return module


def _module_name(file: Path, given: str) -> str:
    """The file's stem, unless a worker importing that name would get another module."""
    name = file.stem
    rename = "rename the file: its name is the module name a worker imports"
    if not name or "." in name:
        raise InvalidArgument(f"{name!r} is not a module name", source=given, hint=rename)
    if name in sys.builtin_module_names or name in sys.stdlib_module_names:
        raise InvalidArgument(f"its module name {name!r} is a standard module", source=given, hint=rename)
    origin: str | None = None
    loaded = sys.modules.get(name)
    if loaded is not None and name not in _IMPORTED:
        origin = getattr(loaded, "__file__", None) or repr(loaded)
    elif loaded is None:
        others = [p for p in sys.path if _resolved(p) != file.parent]
        spec = importlib.machinery.PathFinder.find_spec(name, others)
        origin = spec.origin if spec is not None else None
    if origin and _resolved(origin) != file:
        raise InvalidArgument(
            f"its module name {name!r} is already the module at {origin}, which a worker would import",
            source=given,
            hint=rename,
        )
    return name


def _resolved(entry: str) -> Path | None:
    try:
        return Path(entry or ".").resolve()
    except OSError:
        return None


def _restore(name: str, previous: ModuleType | None) -> None:
    if previous is None:
        sys.modules.pop(name, None)
    else:
        sys.modules[name] = previous


def _line_in(exc: BaseException, file: Path, given: str) -> str:
    """``given:line`` of the deepest frame of the traceback in ``file`` (or of a SyntaxError)."""
    if isinstance(exc, SyntaxError) and exc.filename and Path(exc.filename).resolve() == file:
        return f"{given}:{exc.lineno or 1}"
    line = 0
    for frame in traceback.extract_tb(exc.__traceback__):
        if frame.filename and Path(frame.filename).resolve() == file:
            line = frame.lineno or line
    return f"{given}:{line}" if line else given


__all__ = ["collect", "documents", "with_dependencies"]
