"""Reading resource files for commands, and pointing backend errors back at their lines."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from stigmer.errors import InvalidArgument
from stigmer.resources.documents import Document, read
from stigmer.resources.kinds import Resource, kind_info
from stigmer.resources.names import slugify


def python_documents(file: Path) -> list[Document]:
    """The resources a Python file defines, as documents."""
    # Imported only when a .py file is given: reading YAML needs no SDK.
    from stigmer.sdk.collect import documents

    return documents(file)


class Loaded:
    """Resources decoded from files, each remembering the document it came from."""

    def __init__(self, pairs: list[tuple[Document, Resource]]) -> None:
        self.pairs = pairs

    @property
    def resources(self) -> list[Resource]:
        return [r for _, r in self.pairs]

    def locate(self, exc: InvalidArgument) -> InvalidArgument:
        """Add ``file:line`` to an error the backend raised about one of these resources."""
        if exc.source or not exc.resource:
            return exc
        for doc, res in self.pairs:
            if exc.resource == f"{kind_info(res).kind}/{res.metadata.name}":
                exc.source = doc.where(exc.field)
                break
        return exc


def load(paths: Sequence[str], *, exact: bool = False, stdin: Any = None) -> Loaded:
    """Read and decode every resource in ``paths``; refuse a name used twice.

    Raises:
        InvalidArgument: With ``file:line`` for the first problem found.
    """
    from stigmer.resources.decode import decode

    documents = read(paths, stdin=stdin, python=python_documents)
    if not documents:
        raise InvalidArgument(
            f"no resources found in {', '.join(paths)}", hint="each document needs apiVersion and kind"
        )
    pairs = [(doc, decode(doc, exact=exact)) for doc in documents]
    seen: dict[tuple[str, str], Document] = {}
    for doc, res in pairs:
        kind = kind_info(res).kind
        key = (kind, slugify(res.metadata.name))
        if key in seen and res.metadata.name:
            raise InvalidArgument(
                f"{kind} {res.metadata.name!r} is defined twice (also at {seen[key].where('metadata.name')})",
                source=doc.where("metadata.name"),
                hint="names are unique per kind; rename one of them",
            )
        seen[key] = doc
    return Loaded(pairs)


__all__ = ["Loaded", "load"]
