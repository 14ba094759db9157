"""The workflow expression language: ``${ … }`` in string fields, evaluated by CEL.

A string field of a workflow may hold expressions: ``"Changes for ${workflow.inputs.week}"``.
Each one is a CEL expression (https://cel.dev), which is total and sandboxed: it cannot
loop forever, read files or the clock, or run code. On top of CEL:

- Names start from one of :data:`ROOTS`: ``workflow.inputs.week``, ``tasks.NAME.outputs.KEY``
  (``tasks.NAME.output.KEY`` is accepted too), ``env.NAME``, ``secrets.NAME``, and inside
  ``forEach.do`` the current ``item`` and its ``index``.
- A name with hyphens may be written in a dotted path: ``tasks.fetch-pr.outputs`` means
  ``tasks["fetch-pr"].outputs``. So subtraction needs spaces: ``a - b``, not ``a-b``.
- Functions besides CEL's own (``size``, ``contains``, ``startsWith``, ``int``, …):
  ``length(x)``, ``lower(s)``, ``upper(s)``, ``json(x)`` (compact JSON text) and
  ``default(x, fallback)`` (the fallback when ``x``, or a path read in it, is missing or null).
- ``has(x)`` takes any path; ``needle in text`` tests for a substring; ``text[i]`` is a
  character; ``==`` between an int and a double fails (see :mod:`stigmer.resources.cel_tree`).

A string that is exactly one expression yields its value with its type (number, boolean,
list, map, …); anywhere else each expression's value is written into the text.

CEL here is Google's C++ implementation (``cel-expr-python``). It and the expression trees
are imported by the functions that compile or run expressions, never by a command that
does not (``stigmer --help``, ``stigmer get``): the runtime and protobuf cost ~40 ms.
"""

from __future__ import annotations

import datetime
import functools
import json
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from stigmer.errors import InvalidArgument
from stigmer.resources.steps import plain

if TYPE_CHECKING:
    from cel_expr_python import cel

ROOTS = ("workflow", "tasks", "env", "secrets", "item", "index")
FUNCTIONS = ("length", "lower", "upper", "json", "default")

# CEL's standard functions (macros are expanded by the parser and never show as calls).
_CEL_FUNCTIONS = frozenset(
    {
        "size", "contains", "startsWith", "endsWith", "matches",
        "int", "uint", "double", "string", "bytes", "bool", "type", "dyn",
        "timestamp", "duration", "getFullYear", "getMonth", "getDayOfYear", "getDayOfMonth",
        "getDate", "getDayOfWeek", "getHours", "getMinutes", "getSeconds", "getMilliseconds",
    }
)  # fmt: skip
_QUOTE_LIMIT = 160
_HINT = (
    'expressions are CEL: compare with ==, combine with && and ||, quote text in "…"; '
    "subtraction needs spaces (a - b)"
)


class ExpressionError(InvalidArgument):
    """An expression is malformed, names something unknown, or failed to evaluate.

    Args:
        message: What is wrong, quoting the expression.
        field: Where the expression is written, e.g. ``spec.tasks[2].http.headers.Authorization``.
        expression: The expression as written.
    """

    def __init__(self, message: str, *, field: str = "", hint: str = "", expression: str = "") -> None:
        super().__init__(message, field=field, hint=hint)
        self.expression = expression


class _Problem(Exception):
    """A problem with one expression, before it is known where the expression is written."""

    def __init__(self, what: str, detail: str = "", hint: str = "") -> None:
        super().__init__(what)
        self.what = what
        self.detail = detail
        self.hint = hint

    def error(self, quoted: str, where: str) -> ExpressionError:
        message = f"{self.what} {_short(quoted)}" + (f": {self.detail}" if self.detail else "")
        return ExpressionError(message, field=where, hint=self.hint, expression=quoted)


def _short(text: str) -> str:
    return text if len(text) <= _QUOTE_LIMIT else text[: _QUOTE_LIMIT - 1] + "…"


# ---------------------------------------------------------------------------- scanning

_TOKEN_PATTERN = (
    r"""
    (?P<ws>\s+)
    |(?P<str>
        (?:[bB]?[rR]|[rR][bB])(?:'''.*?'''|\"\"\".*?\"\"\"|'[^'\n]*'|"[^"\n]*")
        |[bB]?(?:'''(?:\\.|[^\\])*?'''|\"\"\"(?:\\.|[^\\])*?\"\"\"|'(?:\\.|[^\\'\n])*'|"(?:\\.|[^\\"\n])*")
    )
    |(?P<open>['"])
    |(?P<seg>\.[A-Za-z_][A-Za-z0-9_]*(?:-[A-Za-z0-9_]+)+)
    |(?P<num>(?:0[xX][0-9a-fA-F]+|\d+(?:\.\d*)?(?:[eE][+-]?\d+)?|\.\d+(?:[eE][+-]?\d+)?)[uU]?)
    |(?P<name>[A-Za-z_][A-Za-z0-9_]*)
    |(?P<op>.)
    """,
    re.VERBOSE | re.DOTALL,
)


@functools.cache
def _token() -> re.Pattern[str]:
    # Compiled on first use: ~2 ms that a read-only command (``stigmer get``) never needs.
    return re.compile(*_TOKEN_PATTERN)


@dataclass
class _Tok:
    kind: str
    text: str


def _tokens(source: str) -> list[_Tok]:
    """CEL source as tokens: string literals whole, dotted names with hyphens as ``seg``."""
    out: list[_Tok] = []
    pos = 0
    while pos < len(source):
        match = _token().match(source, pos)
        assert match is not None and match.lastgroup is not None  # `op` matches any character
        out.append(_Tok(match.lastgroup, match.group()))
        pos = match.end()
    return out


@dataclass(frozen=True)
class _Expr:
    """One ``${ … }`` as written (``text``) and the CEL source inside it."""

    text: str
    source: str


@functools.lru_cache(maxsize=16384)
def _parts(text: str) -> tuple[str | _Expr, ...]:
    """The literal text and the expressions of a string, in order (a workflow's strings are
    split once per process, not at every evaluation)."""
    parts: list[str | _Expr] = []
    pos = 0
    while (start := text.find("${", pos)) >= 0:
        if start > pos and text[start - 1] == "$":  # "$${" is a literal "${" (shell snippets)
            parts.append(text[pos : start - 1] + "${")
            pos = start + 2
            continue
        if start > pos:
            parts.append(text[pos:start])
        end = _expression_end(text, start + 2)
        source = text[start + 2 : end]
        if not source.strip():
            raise _Problem("empty expression", detail="write a name or a value between ${ and }")
        parts.append(_Expr(text[start : end + 1], source))
        pos = end + 1
    if pos < len(text):
        parts.append(text[pos:])
    return tuple(parts)


def _expression_end(text: str, pos: int) -> int:
    """The index of the ``}`` that closes the expression starting at ``pos``."""
    depth = 0
    while pos < len(text):
        match = _token().match(text, pos)
        assert match is not None
        kind, token = match.lastgroup, match.group()
        if kind == "open":
            raise _Problem("unterminated string in", detail=f"a {token} is not closed", hint=_HINT)
        if kind == "op" and token == "{":
            depth += 1
        elif kind == "op" and token == "}":
            if depth == 0:
                return pos
            depth -= 1
        pos = match.end()
    raise _Problem(
        "unterminated expression",
        detail="${ has no closing }",
        hint="close it with }, or check the quotes and braces inside it",
    )


def _quoted_start(text: str) -> str:
    start = text.find("${")
    return text[start:] if start >= 0 else text


def _split(text: str, where: str) -> tuple[str | _Expr, ...]:
    try:
        return _parts(text)
    except _Problem as problem:
        raise problem.error(_quoted_start(text), where) from None


# ---------------------------------------------------------------------------- rewriting


def _significant(tokens: list[_Tok], start: int, step: int) -> int | None:
    i = start
    while 0 <= i < len(tokens):
        if tokens[i].kind != "ws":
            return i
        i += step
    return None


def _after_dot(tokens: list[_Tok], i: int) -> bool:
    prev = _significant(tokens, i - 1, -1)
    return prev is not None and tokens[prev].kind == "op" and tokens[prev].text == "."


def _segment_end(tokens: list[_Tok], i: int | None) -> int | None:
    """The index just past a path segment (``.name``, ``.a-b`` or ``["name"]``) at ``i``."""
    if i is None:
        return None
    tok = tokens[i]
    if tok.kind == "seg":
        return i + 1
    nxt = _significant(tokens, i + 1, 1)
    if nxt is None or tok.kind != "op":
        return None
    if tok.text == "." and tokens[nxt].kind == "name":
        return nxt + 1
    close = _significant(tokens, nxt + 1, 1)
    if tok.text == "[" and tokens[nxt].kind == "str" and close is not None and tokens[close].text == "]":
        return close + 1
    return None


def _output_synonym(tokens: list[_Tok]) -> None:
    """``tasks.X.output.Y`` -> ``tasks.X.outputs.Y``; a final ``tasks.X.output`` is left alone."""
    for i, tok in enumerate(tokens):
        if tok.kind != "name" or tok.text != "tasks" or _after_dot(tokens, i):
            continue
        after_task = _segment_end(tokens, _significant(tokens, i + 1, 1))
        dot = _significant(tokens, after_task, 1) if after_task is not None else None
        if dot is None or tokens[dot].text != ".":
            continue
        name = _significant(tokens, dot + 1, 1)
        if name is None or tokens[name].kind != "name" or tokens[name].text != "output":
            continue
        follower = _significant(tokens, name + 1, 1)
        if follower is not None and (tokens[follower].kind == "seg" or tokens[follower].text in (".", "[")):
            tokens[name] = _Tok("name", "outputs")


def _rewrite(source: str) -> str:
    """Our additions to CEL that its parser would refuse, in text it takes: hyphenated names,
    ``.output.``, and ``has(…)`` as a call of our own (CEL's ``has`` takes only ``a.b``)."""
    from stigmer.resources.cel_tree import HAS

    tokens = _tokens(source)
    _output_synonym(tokens)
    for i, tok in enumerate(tokens):
        if tok.kind == "seg":
            tok.kind, tok.text = "op", f'["{tok.text[1:]}"]'
        elif tok.kind == "name" and tok.text == "has" and not _after_dot(tokens, i):
            paren = _significant(tokens, i + 1, 1)
            if paren is not None and tokens[paren].text == "(":
                tok.text = HAS
    return "".join(t.text for t in tokens)


# ---------------------------------------------------------------------------- compiling


@dataclass(frozen=True)
class _Program:
    expression: cel.Expression
    references: frozenset[tuple[str, str]]
    roots: frozenset[str]
    # The tasks it reads by name; None when it reads `tasks` as a whole or by a computed key.
    tasks: frozenset[str] | None
    # The roots it reads outside default() and has(), which must have a value.
    required: frozenset[str]
    # The paths it reads, to say which one was missing when an evaluation fails.
    paths: tuple[tuple[str | int, ...], ...]


def _parse(source: str) -> Any:
    """The parsed tree of CEL source (a ParsedExpr).

    Raises:
        _Problem: The source is not CEL.
    """
    from google.protobuf import any_pb2

    from stigmer.api.cel.v1.syntax_pb2 import ParsedExpr

    try:
        parsed = _environment().compile(source, disable_check=True)
    except RuntimeError as exc:
        raise _Problem("malformed expression", detail=_complaint(str(exc)), hint=_HINT) from None
    return ParsedExpr.FromString(any_pb2.Any.FromString(parsed.serialize()).value)


def _runnable(parsed: Any) -> cel.Expression:
    from google.protobuf import any_pb2

    packed = any_pb2.Any(type_url="type.googleapis.com/cel.expr.ParsedExpr", value=parsed.SerializeToString())
    return _environment().deserialize(packed.SerializeToString())


@functools.lru_cache(maxsize=16384)
def _compile(source: str, roots: tuple[str, ...] = ROOTS) -> _Program:
    from stigmer.resources import cel_tree

    parsed = _parse(_rewrite(source))
    usage = cel_tree.analyse(parsed)
    for root, _ in sorted(usage.references):
        if root not in roots:
            raise _Problem(f"unknown name {root!r} in", hint=_root_hint(root, roots))
    unknown = sorted(usage.calls - _known_functions())
    if unknown:
        raise _Problem(
            f"unknown function {unknown[0]!r} in",
            hint=f"functions: {', '.join(FUNCTIONS)}, and CEL's own (size, contains, int, string, …)",
        )
    try:
        rewritten = cel_tree.rewrite(parsed)
    except cel_tree.Refused as refused:
        raise _Problem(refused.what, detail=refused.detail, hint=refused.hint) from None
    refs = usage.references
    tasks = None if ("tasks", "") in refs else frozenset(name for root, name in refs if root == "tasks")
    return _Program(
        expression=_runnable(rewritten if rewritten is not None else parsed),
        references=frozenset(refs),
        roots=frozenset(root for root, _ in refs),
        tasks=tasks,
        required=frozenset(usage.required),
        paths=tuple(usage.paths),
    )


def _program(expr: _Expr, where: str, roots: tuple[str, ...] = ROOTS) -> _Program:
    try:
        return _compile(expr.source, roots)
    except _Problem as problem:
        raise problem.error(expr.text, where) from None


def _root_hint(root: str, roots: tuple[str, ...] = ROOTS) -> str:
    if roots != ROOTS:
        return f"an expression here starts from one of: {', '.join(roots)}"
    if root == "inputs":
        return "workflow inputs are workflow.inputs.NAME"
    if root in ("outputs", "output"):
        return "a task's outputs are tasks.NAME.outputs.KEY"
    return f"an expression starts from one of: {', '.join(ROOTS)}; for a literal ${{, write $${{"


# Patterns of messages read only when something failed: compiled then (re caches them), not
# by every command that imports this module.
_SYNTAX = r"ERROR: <input>:\d+:\d+: (?:Syntax error: )?(.*)"


def _complaint(message: str) -> str:
    """What the parser did not like, in words (from the first of its errors)."""
    first = re.search(_SYNTAX, message)
    text = first.group(1).strip() if first else message.splitlines()[0]
    if missing := re.match(r"missing '(.+?)' at '<EOF>'", text):
        return f"{missing.group(1)!r} is missing at the end"
    if text.startswith("mismatched input '<EOF>'"):
        return "it ends too early"
    if unexpected := re.match(r"(?:extraneous|mismatched) input '(.+?)' expecting", text):
        return f"unexpected {unexpected.group(1)!r}"
    if bad := re.match(r"token recognition error at: '(.)", text):
        char = bad.group(1)
        if char == "=":
            return "unexpected '=' (compare with ==)"
        if char in ("'", '"'):
            return f"a {char} is not closed"
        return f"unexpected {char!r}"
    if viable := re.match(r"no viable alternative at input '(.+?)'", text):
        return f"unexpected {viable.group(1)[-1:]!r}"
    return text


@functools.cache
def _known_functions() -> frozenset[str]:
    from stigmer.resources.cel_tree import HAS

    return _CEL_FUNCTIONS | frozenset(FUNCTIONS) | {HAS}


# ---------------------------------------------------------------------------- functions

# What each function of ours takes, for the error when it is given something else.
_TAKES = {"length": "a string, list or map", "lower": "a string", "upper": "a string"}


def _length(value: Any) -> int:
    return len(value)


def _char_at(text: str, index: int) -> str:
    if not -len(text) <= index < len(text):
        raise ValueError(f"text has {len(text)} characters, no index {index}")
    return text[index]


def _mismatch(kinds: tuple[str, str]) -> Callable[[str, Any, Any], bool]:
    def refuse(operator: str, left: Any, right: Any) -> bool:
        raise ValueError(f"cannot apply {operator} to {_KINDS[kinds[0]]} and {_KINDS[kinds[1]]}")

    return refuse


@functools.cache
def _environment() -> cel.Env:
    """The CEL environment: CEL's standard library and our functions (one per process).

    Expressions are compiled unchecked (every name is dynamic), so an overload is chosen by
    the types of the values at run time; each of ours is declared for each type it takes,
    as a function and as a method (``x.upper()``).
    """
    from cel_expr_python import cel

    t = cel.Type
    every = {
        "string": t.STRING, "int": t.INT, "uint": t.UINT, "double": t.DOUBLE, "bool": t.BOOL,
        "null": t.NULL, "bytes": t.BYTES, "list": t.LIST, "map": t.MAP,
        "timestamp": t.TIMESTAMP, "duration": t.DURATION,
    }  # fmt: skip
    ours: dict[str, tuple[Any, dict[str, Any], Callable[..., Any]]] = {
        "length": (t.INT, {k: every[k] for k in ("string", "bytes", "list", "map")}, _length),
        "lower": (t.STRING, {"string": t.STRING}, str.lower),
        "upper": (t.STRING, {"string": t.STRING}, str.upper),
        "json": (t.STRING, every, lambda value: _json(_to_plain(value))),
    }
    declarations = []
    for name, (returns, takes, impl) in ours.items():
        overloads = [
            cel.Overload(
                f"{name}_{kind}{'_method' if method else ''}", returns, [arg], is_member=method, impl=impl
            )
            for kind, arg in takes.items()
            for method in (False, True)
        ]
        declarations.append(cel.FunctionDecl(name, overloads))
    from stigmer.resources import cel_tree

    declarations.append(
        cel.FunctionDecl(
            cel_tree.IN_TEXT,
            [cel.Overload("in_text", t.BOOL, [t.STRING, t.STRING], impl=lambda a, b: a in b)],
        )
    )
    declarations.append(
        cel.FunctionDecl(
            cel_tree.CHAR_AT, [cel.Overload("char_at", t.STRING, [t.STRING, t.INT], impl=_char_at)]
        )
    )
    numbers = ("int", "uint", "double")
    declarations.append(
        cel.FunctionDecl(
            cel_tree.MISMATCH,
            [
                cel.Overload(
                    f"mismatch_{a}_{b}", t.BOOL, [t.STRING, every[a], every[b]], impl=_mismatch((a, b))
                )
                for a in numbers
                for b in numbers
                if a != b
            ],
        )
    )
    return cel.NewEnv(functions=declarations)


# ---------------------------------------------------------------------------- values

_KINDS = {
    # Python's types, of plain data
    "bool": "a boolean",
    "int": "an int",
    "float": "a double",
    "str": "a string",
    "list": "a list",
    "dict": "a map",
    "NoneType": "null",
    # CEL's, as its runtime names them
    "int64": "an int",
    "uint": "a uint",
    "uint64": "a uint",
    "double": "a double",
    "string": "a string",
    "bytes": "bytes",
    "map": "a map",
    "null_type": "null",
    "timestamp": "a timestamp",
    "google.protobuf.Timestamp": "a timestamp",
    "duration": "a duration",
    "google.protobuf.Duration": "a duration",
}
# CEL's names of the types `type(x)` gives, where the runtime's differ.
_TYPE_NAMES = {
    "NULL": "null_type",
    "TIMESTAMP": "google.protobuf.Timestamp",
    "DURATION": "google.protobuf.Duration",
}


def _kind(value: Any) -> str:
    return _KINDS.get(type(value).__name__, type(value).__name__)


def _to_plain(value: Any) -> Any:
    """A CEL value, as the runtime gives it to Python, as plain data (bool, int, float, str,
    None, list, dict): bytes as text, times as RFC 3339 text, a type as its CEL name, a map
    with its keys sorted."""
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, bytes | bytearray):
        return bytes(value).decode("utf-8", errors="replace")
    if isinstance(value, Mapping):
        # CEL's maps keep no order: sorted keys make the same map the same text every time.
        return dict(sorted(((_key(k), _to_plain(v)) for k, v in value.items()), key=lambda kv: kv[0]))
    if isinstance(value, list | tuple):
        return [_to_plain(v) for v in value]
    if isinstance(value, datetime.datetime):
        return value.isoformat().replace("+00:00", "Z")
    if isinstance(value, datetime.timedelta):
        return f"{value.total_seconds():g}s"
    name = str(value.name()) if hasattr(value, "name") else str(value)  # a cel.Type
    return _TYPE_NAMES.get(name, name.split("<")[0].lower())


def _key(key: Any) -> str:
    plain_key = _to_plain(key)
    if isinstance(plain_key, bool):
        return "true" if plain_key else "false"
    return str(plain_key)


def _json(value: Any) -> str:
    return json.dumps(plain(value), separators=(",", ":"), ensure_ascii=False)


def _as_text(value: Any) -> str:
    """A value written into text."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return value
    if isinstance(value, float) and value.is_integer() and abs(value) < 2**53:
        return str(int(value))
    if isinstance(value, dict | list):
        return _json(value)
    return str(value)


# ---------------------------------------------------------------------------- evaluating


class _Scope:
    """The context of one evaluation as plain data, converted when first used: a root at a
    time, and under ``tasks`` a task at a time (a workflow's outputs can be large; an
    expression reads few)."""

    def __init__(self, context: Mapping[str, Any], roots: tuple[str, ...] = ROOTS) -> None:
        self.data = context
        self.roots = roots
        self.values: dict[str, Any] = {}

    def activation(self, program: _Program) -> dict[str, Any]:
        """The roots ``program`` reads (null for one the context lacks: default() reads it so)."""
        tasks = self.data.get("tasks")
        by_task = isinstance(tasks, Mapping)
        for root in program.roots - self.values.keys():
            if not (root == "tasks" and by_task):
                self.values[root] = plain(self.data[root]) if root in self.data else None
        if "tasks" in program.roots and isinstance(tasks, Mapping):
            self._tasks(tasks, tasks.keys() if program.tasks is None else program.tasks)
        return {root: self.values[root] for root in program.roots}

    def _tasks(self, tasks: Mapping[str, Any], names: Iterable[str]) -> None:
        values = self.values.setdefault("tasks", {})
        for name in names:
            if name in tasks and name not in values:
                values[name] = plain(tasks[name])


def _run(expr: _Expr, scope: _Scope, where: str) -> Any:
    from cel_expr_python import cel

    program = _program(expr, where, scope.roots)

    def failed(message: str, hint: str) -> ExpressionError:
        return ExpressionError(
            f"cannot evaluate {_short(expr.text)}: {message}", field=where, hint=hint, expression=expr.text
        )

    for root in sorted(program.required - scope.data.keys()):
        hint = f"{root} is only defined inside forEach.do" if root in ("item", "index") else ""
        raise failed(f"no value at {root}", hint)
    try:
        result = program.expression.eval(_environment().Activation(scope.activation(program)))
    except (RuntimeError, TypeError, ValueError) as exc:  # data CEL cannot hold
        raise failed(str(exc), _HINT) from None
    if result.type() == cel.Type.ERROR:
        raise failed(*_explain(str(result.value()), program, scope.data))
    return _to_plain(result.plain_value())


def _evaluate_text(text: str, scope: _Scope, where: str) -> Any:
    if "${" not in text:
        return text
    parts = _split(text, where)
    exprs = [p for p in parts if isinstance(p, _Expr)]
    if len(exprs) == 1 and all(isinstance(p, _Expr) or not p.strip() for p in parts):
        return _run(exprs[0], scope, where)
    return "".join(p if isinstance(p, str) else _as_text(_run(p, scope, where)) for p in parts)


def _evaluate(value: Any, scope: _Scope, where: str) -> Any:
    if isinstance(value, str):
        return _evaluate_text(value, scope, where)
    if isinstance(value, Mapping):
        return {k: _evaluate(v, scope, f"{where}.{k}") for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_evaluate(v, scope, f"{where}[{i}]") for i, v in enumerate(value)]
    return value


# ---------------------------------------------------------------------------- explaining

_OPERATORS = {
    "_==_": "==",
    "_!=_": "!=",
    "_<_": "<",
    "_<=_": "<=",
    "_>_": ">",
    "_>=_": ">=",
    "@in": "in",
    "_+_": "+",
    "_-_": "-",
    "_*_": "*",
    "_/_": "/",
    "_%_": "%",
    "-_": "-",
    "!_": "!",
    "_[_]": "[]",
}
_STATUS = r"^[A-Z_]+: "
_NO_OVERLOAD = (
    r"No matching overloads found : (?:\((?P<target>[^)]*)\)\.)?(?P<name>[^(\s]+)(?:\((?P<args>.*)\))?"
)
_KEY = r'Key not found in map : "?(.*?)"?$'
_MISSING_VALUE = (
    "Key not found in map",
    "Applying SELECT to non-message type",
    "Index error",
    "No value with name",
)
_CONVERT = "convert a value with int(…), double(…) or string(…), or check the names"


def _explain(message: str, program: _Program, data: Mapping[str, Any]) -> tuple[str, str]:
    """An evaluation error in the user's terms: what was missing or mismatched, and a hint."""
    text = re.sub(_STATUS, "", message).strip()
    if text.startswith(_MISSING_VALUE):
        key = re.search(_KEY, text)
        path = _failing_path(program.paths, data, key.group(1) if key else None)
        if path is not None:
            return _missing(path, data)
        if key:
            return f"no member {key.group(1)!r}", ""
    if overload := re.search(_NO_OVERLOAD, text):
        return _no_overload(overload)
    if text.startswith("cannot apply"):
        return text, _CONVERT
    if text in ("divide by zero", "modulus by zero"):
        return "division by zero", ""
    if "integer overflow" in text or "out of int64 range" in text:
        return "the number is too large (integers are 64-bit)", ""
    return text, ""


def _no_overload(overload: re.Match[str]) -> tuple[str, str]:
    """A function or operator given values of types it does not take."""
    from stigmer.resources import cel_tree

    name = overload.group("name")
    args = (overload.group("args") or "").split(",")
    kinds = [_KINDS.get(k.strip(), k.strip()) for k in args if k.strip()]
    if overload.group("target"):
        kinds.insert(0, _KINDS.get(overload.group("target"), overload.group("target")))
    if name in _OPERATORS:
        return f"cannot apply {_OPERATORS[name]} to {' and '.join(kinds) or 'this value'}", _CONVERT
    if name in _TAKES and kinds:
        return f"{name}() takes {_TAKES[name]}, not {kinds[0]}", "check the argument types"
    if name == cel_tree.IN_TEXT and kinds:
        return f"'in' a string takes a string, not {kinds[0]}", "check the argument types"
    if name == cel_tree.CHAR_AT and len(kinds) > 1:
        return f"text[i] takes an int, not {kinds[1]}", "check the argument types"
    return f"{name}() cannot take these arguments", "check the argument types"


def _failing_path(
    paths: Iterable[tuple[str | int, ...]], data: Mapping[str, Any], key: str | None
) -> list[str | int] | None:
    """The first path read whose last step is missing from ``data`` (one missing ``key``
    first, when the runtime named it), up to that step."""
    failing: list[list[str | int]] = []
    for path in paths:
        value: Any = data
        for i, step in enumerate(path):
            if _has_step(value, step):
                value = value[step]
                continue
            if i > 0:
                failing.append(list(path[: i + 1]))
            break
    named = [p for p in failing if key is not None and str(p[-1]) == key]
    return next(iter(named or failing), None)


def _has_step(value: Any, step: str | int) -> bool:
    if isinstance(value, list):
        return isinstance(step, int) and -len(value) <= step < len(value)
    return isinstance(value, Mapping) and step in value


_NAME = r"^[A-Za-z_][A-Za-z0-9_-]*$"


def _render(path: list[str | int]) -> str:
    out = str(path[0])
    for key in path[1:]:
        if isinstance(key, int):
            out += f"[{key}]"
        else:
            out += f".{key}" if re.match(_NAME, key) else f"[{json.dumps(key)}]"
    return out


_MISSING = object()


def _lookup(data: Mapping[str, Any], path: list[str | int]) -> Any:
    value: Any = data
    for key in path:
        if not _has_step(value, key):
            return _MISSING
        value = value[key]
    return value


def _task_phase(path: list[str | int], data: Mapping[str, Any]) -> str:
    """Why a task's value may be missing, when the engine recorded the task's phase."""
    phase = _lookup(data, ["tasks", path[1], "phase"]) if path[0] == "tasks" and len(path) > 2 else None
    if isinstance(phase, str) and phase and phase != "COMPLETED":
        return f" (task {path[1]!r} is {phase.lower()})"
    return ""


def _missing(path: list[str | int], data: Mapping[str, Any]) -> tuple[str, str]:
    parent, key = path[:-1], path[-1]
    at = _render(path)
    if parent == ["tasks"]:
        return (
            f"no value at {at}: task {key!r} has not run or was skipped",
            "list it in dependsOn, or give a fallback with default(…, fallback)",
        )
    value = plain(_lookup(data, parent))
    where = _render(parent)
    if isinstance(value, Mapping):
        keys = ", ".join(sorted(map(str, value))[:20])
        hint = f"{where} has: {keys}" if keys else f"{where} is empty"
        if isinstance(key, str) and "-" in key:
            hint += "; subtraction needs spaces (a - b)"
        return f"no value at {at}: {where} has no member {key!r}{_task_phase(path, data)}", hint
    if isinstance(value, list):
        return f"no value at {at}: {where} has {len(value)} items", ""
    if value is _MISSING:
        return f"no value at {at}", ""
    return f"no value at {at}: {where} is {_kind(value)}, not a map", ""


# ---------------------------------------------------------------------------- public


def iter_strings(value: Any, where: str) -> Iterator[tuple[str, str]]:
    """Each string in ``value`` (a string, or nested dicts and lists) with its field path."""
    if isinstance(value, str):
        yield where, value
    elif isinstance(value, Mapping):
        for key in sorted(value, key=str):
            yield from iter_strings(value[key], f"{where}.{key}")
    elif isinstance(value, list | tuple):
        for i, item in enumerate(value):
            yield from iter_strings(item, f"{where}[{i}]")


def has_expressions(value: Any) -> bool:
    """Whether a string, or any string in nested dicts and lists, holds a ``${ … }``."""
    return any("${" in text for _, text in iter_strings(value, ""))


def _expressions(value: Any, where: str) -> Iterator[tuple[str, _Expr]]:
    for field_path, text in iter_strings(value, where):
        if "${" in text:
            for part in _split(text, field_path):
                if isinstance(part, _Expr):
                    yield field_path, part


def references(value: Any, *, where: str = "") -> set[tuple[str, str]]:
    """Every (root, first name) the expressions in ``value`` use.

    ``"${tasks.fetch-pr.outputs.x}"`` gives ``{("tasks", "fetch-pr")}``; ``"${item}"`` gives
    ``{("item", "")}``.

    Raises:
        ExpressionError: An expression is malformed.
    """
    refs: set[tuple[str, str]] = set()
    for field_path, expr in _expressions(value, where):
        refs |= _program(expr, field_path).references
    return refs


def check(value: Any, *, where: str, roots: tuple[str, ...] = ROOTS) -> None:
    """Compile every expression in ``value`` (a string, or nested dicts and lists).

    Raises:
        ExpressionError: Naming the field (``where`` and the path below it) of the first
            malformed expression, or of one that names something other than :data:`ROOTS`.
    """
    for field_path, expr in _expressions(value, where):
        _program(expr, field_path, roots)


def evaluate(value: Any, context: Mapping[str, Any], *, where: str, roots: tuple[str, ...] = ROOTS) -> Any:
    """A copy of ``value`` with its expressions evaluated against ``context``.

    ``context`` maps roots (``workflow``, ``tasks``, ``env``, ``secrets``, ``item``,
    ``index``) to plain data. A string that is exactly one expression yields the value with
    its type; otherwise each value is written into the text (null as nothing, booleans as
    true/false, lists and maps as compact JSON). Scalars other than strings are returned as is.

    Raises:
        ExpressionError: Naming the field and the expression, and what was missing.
    """
    return _evaluate(value, _Scope(context, roots), where)


def _condition_expr(text: str, where: str) -> _Expr | None:
    stripped = text.strip()
    if not stripped:
        return None
    if "${" not in stripped:
        return _Expr(stripped, stripped)
    parts = _split(stripped, where)
    if len(parts) != 1 or not isinstance(parts[0], _Expr):
        raise ExpressionError(
            f"a condition is one expression, not text: {_short(stripped)}",
            field=where,
            hint="write it as ${ a == b } or a == b",
            expression=stripped,
        )
    return parts[0]


def condition(text: str, context: Mapping[str, Any], *, where: str, roots: tuple[str, ...] = ROOTS) -> bool:
    """Evaluate a ``when``: ``${ expr }`` or a bare ``expr``, which must be true or false.

    Empty text is true.

    Raises:
        ExpressionError: The condition is malformed, fails, or is not a boolean.
    """
    expr = _condition_expr(text, where)
    if expr is None:
        return True
    result = _run(expr, _Scope(context, roots), where)
    if not isinstance(result, bool):
        shown = _short(_json(result))
        raise ExpressionError(
            f"condition {_short(expr.text)} gave {_kind(result)} ({shown}), not true or false",
            field=where,
            hint='compare it, e.g. x == "yes" or size(x) > 0',
            expression=expr.text,
        )
    return result


def check_condition(text: str, *, where: str, roots: tuple[str, ...] = ROOTS) -> None:
    """Compile a ``when`` (``${ expr }`` or bare ``expr``).

    Raises:
        ExpressionError: The condition is malformed or names something unknown.
    """
    expr = _condition_expr(text, where)
    if expr is not None:
        _program(expr, where, roots)


def condition_references(text: str, *, where: str = "") -> set[tuple[str, str]]:
    """Every (root, first name) a ``when`` uses, written bare or as ``${ … }``."""
    expr = _condition_expr(text, where)
    return set(_program(expr, where).references) if expr is not None else set()


__all__ = [
    "FUNCTIONS",
    "ROOTS",
    "ExpressionError",
    "check",
    "check_condition",
    "condition",
    "condition_references",
    "evaluate",
    "has_expressions",
    "iter_strings",
    "references",
]
