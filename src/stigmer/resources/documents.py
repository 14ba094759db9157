"""Reading resource files: YAML or JSON, multi-document, from files, directories or stdin.

Every value keeps the line it was written on, so later errors can point at it.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from stigmer.errors import InvalidArgument

SUFFIXES = (".yaml", ".yml", ".json")
# libyaml's parser is ~8x faster and its nodes carry the same line marks.
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


@dataclass
class Document:
    """One YAML document: its data, where it came from, and the line of every field path."""

    source: str
    index: int
    data: dict[str, Any]
    lines: dict[str, int] = field(default_factory=dict)

    def line_of(self, path: str) -> int:
        """The line of ``path`` ("spec.tasks[1].agent"), or of its nearest written ancestor."""
        while True:
            if path in self.lines:
                return self.lines[path]
            if not path:
                return 1
            cut = max(path.rfind("."), path.rfind("["))
            path = path[: max(cut, 0)]

    def where(self, path: str = "") -> str:
        """``file:line`` for a field path, for error messages."""
        return f"{self.source}:{self.line_of(path)}"


def _child(path: str, key: str | int) -> str:
    if isinstance(key, int):
        return f"{path}[{key}]"
    return f"{path}.{key}" if path else key


class _Builder:
    """Turns composed YAML nodes into plain data while recording each node's line."""

    def __init__(self, source: str, lines: dict[str, int]) -> None:
        self.source = source
        self.lines = lines
        self.constructor = yaml.SafeLoader("")

    def build(self, node: yaml.Node, path: str) -> Any:
        self.lines.setdefault(path, node.start_mark.line + 1)
        if isinstance(node, yaml.MappingNode):
            self.constructor.flatten_mapping(node)
            result: dict[str, Any] = {}
            for key_node, value_node in node.value:
                key = self.constructor.construct_object(key_node, deep=True)
                if not isinstance(key, str):
                    key = str(key)
                child = _child(path, key)
                if key in result:
                    raise InvalidArgument(
                        f"duplicate key {key!r}",
                        source=f"{self.source}:{key_node.start_mark.line + 1}",
                        field=child,
                    )
                self.lines[child] = key_node.start_mark.line + 1
                result[key] = self.build(value_node, child)
            return result
        if isinstance(node, yaml.SequenceNode):
            return [self.build(item, _child(path, i)) for i, item in enumerate(node.value)]
        return self.constructor.construct_object(node, deep=True)


def parse(text: str, source: str) -> list[Document]:
    """Parse a YAML or JSON stream into documents; empty documents are skipped.

    Raises:
        InvalidArgument: The text is not valid YAML, or a document is not a mapping.
    """
    documents: list[Document] = []
    try:
        for node in yaml.compose_all(text, Loader=_LOADER):
            if node is None:
                continue
            lines: dict[str, int] = {}
            data = _Builder(source, lines).build(node, "")
            if data is None:
                continue
            # A JSON array (as `get -o json` and `export -o json` print) holds one resource per item.
            items = list(enumerate(data)) if isinstance(data, list) else [(None, data)]
            for position, item in items:
                prefix = "" if position is None else f"[{position}]"
                if not isinstance(item, dict):
                    raise InvalidArgument(
                        "a resource must be a mapping with apiVersion, kind, metadata and spec",
                        source=f"{source}:{lines.get(prefix, node.start_mark.line + 1)}",
                    )
                item_lines = {
                    k[len(prefix) :].lstrip("."): v for k, v in lines.items() if k.startswith(prefix)
                }
                documents.append(Document(source, len(documents), item, item_lines))
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        if exc.context_mark and exc.problem_mark and exc.problem_mark.index >= len(text.rstrip()):
            # The text ended inside something left open: point at where it was opened, not
            # at a line past the end of the file.
            mark = exc.context_mark
        line = mark.line + 1 if mark else 1
        raise InvalidArgument(
            f"invalid YAML: {exc.problem or exc.context}", source=f"{source}:{line}"
        ) from None
    except yaml.YAMLError as exc:
        raise InvalidArgument(f"invalid YAML: {exc}", source=source) from None
    return documents


def _files(path: Path) -> Iterator[Path]:
    if path.is_dir():
        yield from sorted(p for p in path.rglob("*") if p.suffix in SUFFIXES and p.is_file())
    elif path.exists():
        yield path
    else:
        raise InvalidArgument(f"no such file or directory: {path}", hint="check the path given to -f")


# Reads the resources a Python file defines; the caller provides it (the CLI: the SDK's
# collector), so reading YAML never imports the SDK, which sits above resources.
PythonReader = Callable[[Path], list[Document]]


def read(paths: Iterable[str], *, stdin: Any = None, python: PythonReader | None = None) -> list[Document]:
    """Every document in the given paths: files, directories (recursively, *.yaml, *.yml,
    *.json, in name order) or ``-`` for standard input. A ``.py`` file given by name
    (never one found in a directory) contributes the resources ``python`` finds in it
    (``stigmer.sdk.collect.documents``).

    Raises:
        InvalidArgument: A path is missing or unreadable, or a file is malformed, or a
            ``.py`` file is given without ``python``.
    """
    documents: list[Document] = []
    for given in paths:
        if given == "-":
            stream = stdin if stdin is not None else sys.stdin
            documents.extend(parse(stream.read(), "<stdin>"))
            continue
        root = Path(given)
        found = list(_files(root))
        if root.is_dir() and not found:
            raise InvalidArgument(f"no .yaml, .yml or .json files in directory {root}")
        for file in found:
            if file.suffix == ".py" and not root.is_dir():
                if python is None:
                    raise InvalidArgument(
                        f"cannot read resources from the Python file {file} here",
                        hint="give YAML or JSON files, or apply it with `stigmer apply -f FILE.py`",
                    )
                documents.extend(python(file))
                continue
            try:
                text = file.read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError) as exc:
                raise InvalidArgument(f"cannot read {file}: {exc}") from None
            documents.extend(parse(text, str(file)))
    return documents


__all__ = ["SUFFIXES", "Document", "PythonReader", "parse", "read"]
