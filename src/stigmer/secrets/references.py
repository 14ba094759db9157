"""``${secrets.NAME}`` and ``${env.NAME}``: references to an Environment's values.

They may appear in any string of a model's options, an MCP server's env and headers,
or a workflow task's fields. :func:`references` lists them (so a run can check, before
any work, that its environment has every one); :func:`substitute` replaces them in
strings and nested data. Other ``${ … }`` expressions are left alone for the workflow
expression language.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from stigmer.errors import NotFound

REFERENCE = re.compile(r"\$\{\s*(secrets|env)\.([A-Za-z_][A-Za-z0-9_]*)\s*\}")
SCOPES = {"secrets": "secret", "env": "variable"}


@dataclass(frozen=True)
class Reference:
    """One reference: ``scope`` is "secrets" or "env"; ``where`` is the field that holds it."""

    scope: str
    name: str
    where: str = ""

    def __str__(self) -> str:
        return f"${{{self.scope}.{self.name}}}"


class MissingReference(NotFound):
    """A value refers to a secret or variable its environment does not have."""

    def __init__(self, ref: Reference, environment: str) -> None:
        kind = SCOPES[ref.scope]
        where = f" (in {ref.where})" if ref.where else ""
        if environment:
            message = f"environment {environment!r} has no {kind} {ref.name!r}, referenced as {ref}{where}"
            option = "--secret" if ref.scope == "secrets" else "--var"
            value = "" if ref.scope == "secrets" else "=VALUE"
            hint = f"stigmer env set {environment} {option} {ref.name}{value}"
        else:
            message = f"{ref}{where} needs an environment, and this run has none"
            hint = "run it with --env ENVIRONMENT (an Environment that holds it)"
        super().__init__(message, hint=hint)
        self.reference = ref


def references(value: Any, where: str = "") -> list[Reference]:
    """Every reference in a string or nested data, in order, each with its field path."""
    found: list[Reference] = []
    if isinstance(value, str):
        found += [Reference(m.group(1), m.group(2), where) for m in REFERENCE.finditer(value)]
    elif isinstance(value, Mapping):
        for key, item in value.items():
            found += references(item, f"{where}.{key}" if where else str(key))
    elif isinstance(value, list | tuple):
        for i, item in enumerate(value):
            found += references(item, f"{where}[{i}]")
    return found


def secret_names(value: Any) -> set[str]:
    """The names of the secrets a value refers to."""
    return {r.name for r in references(value) if r.scope == "secrets"}


def check(
    value: Any,
    *,
    variables: Mapping[str, str],
    secrets: Mapping[str, str],
    where: str = "",
    environment: str = "",
) -> None:
    """Make sure every reference in ``value`` can be resolved.

    Raises:
        MissingReference: The first one that cannot, naming it, its field and the environment.
    """
    for ref in references(value, where):
        if ref.name not in (secrets if ref.scope == "secrets" else variables):
            raise MissingReference(ref, environment)


def substitute(
    value: Any,
    *,
    variables: Mapping[str, str],
    secrets: Mapping[str, str],
    where: str = "",
    environment: str = "",
) -> Any:
    """A copy of ``value`` with every reference replaced by the value it names.

    Raises:
        MissingReference: A reference names a value the environment lacks.
    """
    check(value, variables=variables, secrets=secrets, where=where, environment=environment)
    return _replace(value, variables, secrets)


def _replace(value: Any, variables: Mapping[str, str], secrets: Mapping[str, str]) -> Any:
    if isinstance(value, str):
        return REFERENCE.sub(lambda m: (secrets if m.group(1) == "secrets" else variables)[m.group(2)], value)
    if isinstance(value, Mapping):
        return {key: _replace(item, variables, secrets) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_replace(item, variables, secrets) for item in value]
    return value


__all__ = ["REFERENCE", "MissingReference", "Reference", "check", "references", "secret_names", "substitute"]
