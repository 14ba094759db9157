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
  ``default(x, fallback)`` (the fallback when ``x`` is missing, null or fails).

A string that is exactly one expression yields its value with its type (number, boolean,
list, map, …); anywhere else each expression's value is written into the text.

``celpy`` is imported by the functions that compile or run expressions: importing it and
building its parser costs ~100 ms, once per process.
"""

from __future__ import annotations

import functools
import json
import re
import sys
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from stigmer.errors import InvalidArgument
from stigmer.resources.steps import plain

if TYPE_CHECKING:
    import celpy
    import lark

ROOTS = ("workflow", "tasks", "env", "secrets", "item", "index")
FUNCTIONS = ("length", "lower", "upper", "json", "default")

_MACROS = frozenset({"all", "exists", "exists_one", "map", "filter"})
# default(x, y) becomes `has(x) && _present(x) ? x : y`: CEL evaluates a function's
# arguments first and stops at the first error, so no function could see a missing x.
_PRESENT = "__stigmer_present__"
_QUOTE_LIMIT = 160
_MAX_REWRITTEN = 20_000
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


_OPEN = "([{"
_CLOSE = ")]}"


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


def _parts(text: str) -> list[str | _Expr]:
    """The literal text and the expressions of a string, in order."""
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
    return parts


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


def _split(text: str, where: str) -> list[str | _Expr]:
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


def _call_arguments(tokens: list[_Tok], open_paren: int) -> tuple[list[list[_Tok]], int] | None:
    """The arguments of the call whose ``(`` is at ``open_paren``, and the index past its ``)``."""
    args: list[list[_Tok]] = [[]]
    depth = 0
    for i in range(open_paren + 1, len(tokens)):
        tok = tokens[i]
        if tok.kind == "op" and tok.text in _OPEN:
            depth += 1
        elif tok.kind == "op" and tok.text in _CLOSE:
            if depth == 0:
                return ([] if len(args) == 1 and not _text(args[0]).strip() else args), i + 1
            depth -= 1
        elif tok.kind == "op" and tok.text == "," and depth == 0:
            args.append([])
            continue
        args[-1].append(tok)
    return None


def _text(tokens: list[_Tok]) -> str:
    return "".join(t.text for t in tokens)


def _rewrite_default(tokens: list[_Tok]) -> str:
    out: list[str] = []
    i = 0
    while i < len(tokens):
        tok = tokens[i]
        paren = _significant(tokens, i + 1, 1)
        if (
            tok.kind == "name"
            and tok.text == "default"
            and not _after_dot(tokens, i)
            and paren is not None
            and tokens[paren].text == "("
            and (call := _call_arguments(tokens, paren)) is not None
        ):
            args, i = call
            if len(args) != 2:
                raise _Problem(
                    "malformed expression",
                    detail=f"default() takes 2 arguments, got {len(args)}",
                    hint="write default(value, fallback)",
                )
            value, fallback = (_rewrite_default(arg) for arg in args)
            if len(value) > _MAX_REWRITTEN:
                # Each default() in the first argument of another repeats it three times.
                raise _Problem("expression too large", hint="nest default() in the fallback instead")
            out.append(f"(has({value}) && {_PRESENT}({value}) ? ({value}) : ({fallback}))")
            continue
        out.append(tok.text)
        i += 1
    return "".join(out)


def _rewrite(source: str) -> str:
    """Our additions to CEL, in plain CEL: hyphenated names, ``.output.``, ``default()``."""
    tokens = _tokens(source)
    _output_synonym(tokens)
    for tok in tokens:
        if tok.kind == "seg":
            tok.kind, tok.text = "op", f'["{tok.text[1:]}"]'
    return _rewrite_default(tokens)


# ---------------------------------------------------------------------------- compiling


@dataclass(frozen=True)
class _Program:
    runner: celpy.Runner
    references: frozenset[tuple[str, str]]
    roots: frozenset[str]
    # The tasks it reads by name; None when it reads `tasks` as a whole or by a computed key.
    tasks: frozenset[str] | None


@functools.cache
def _environment() -> celpy.Environment:
    import celpy

    # celpy sets the process's recursion limit to 2500 when an Environment is made; keep a
    # higher one if the process had set it.
    limit = sys.getrecursionlimit()
    environment = celpy.Environment()
    sys.setrecursionlimit(max(limit, sys.getrecursionlimit()))
    return environment


@functools.lru_cache(maxsize=16384)
def _compile(source: str, roots: tuple[str, ...] = ROOTS) -> _Program:
    from celpy.celparser import CELParseError

    rewritten = _rewrite(source)
    try:
        ast = _environment().compile(rewritten)
    except CELParseError as exc:
        raise _Problem("malformed expression", detail=_complaint(exc), hint=_HINT) from None
    refs: set[tuple[str, str]] = set()
    calls: set[str] = set()
    _visit(ast, frozenset(), refs, calls)
    for root, _ in sorted(refs):
        if root not in roots:
            raise _Problem(f"unknown name {root!r} in", hint=_root_hint(root, roots))
    unknown = sorted(calls - _known_functions())
    if unknown:
        raise _Problem(
            f"unknown function {unknown[0]!r} in",
            hint=f"functions: {', '.join(FUNCTIONS)}, and CEL's own (size, contains, int, string, …)",
        )
    runner = _environment().program(ast, functions=_functions())
    tasks = None if ("tasks", "") in refs else frozenset(name for root, name in refs if root == "tasks")
    return _Program(runner, frozenset(refs), frozenset(root for root, _ in refs), tasks)


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


_CLOSERS = {"RPAR": ")", "RSQB": "]", "RBRACE": "}", "COLON": ":"}


def _complaint(exc: Exception) -> str:
    """What the parser did not like, in words."""
    cause = exc.__context__
    token = getattr(cause, "token", None)
    expected = set(getattr(cause, "expected", None) or ())
    if token is not None and token.type == "$END":
        closer = [_CLOSERS[e] for e in expected if e in _CLOSERS]
        return f"{closer[0]!r} is missing at the end" if len(closer) == 1 else "it ends too early"
    if token is not None:
        return f"unexpected {str(token)!r}"
    char = getattr(cause, "char", None)
    if char == "=":
        return "unexpected '=' (compare with ==)"
    if char in ("'", '"'):
        return f"a {char} is not closed"
    if char is not None:
        return f"unexpected {char!r}"
    return str(exc).splitlines()[0] if str(exc) else "it cannot be parsed"


def _unwrap(node: Any) -> Any:
    """Below the chain of one-child rules CEL's grammar wraps every term in."""
    import lark

    while isinstance(node, lark.Tree) and len(node.children) == 1 and isinstance(node.children[0], lark.Tree):
        node = node.children[0]
    return node


def _ident(node: Any) -> str | None:
    """The name, when ``node`` is a bare identifier."""
    import lark

    node = _unwrap(node)
    if isinstance(node, lark.Tree) and node.data == "ident":
        return str(node.children[0])
    return None


def _literal(node: Any) -> str | int | None:
    """The value, when ``node`` is a string or integer literal."""
    import lark
    from celpy.evaluation import celstr

    node = _unwrap(node)
    if not (isinstance(node, lark.Tree) and node.data == "literal"):
        return None
    token = node.children[0]
    assert isinstance(token, lark.Token)
    if token.type in ("STRING_LIT", "MLSTRING_LIT"):
        return str(celstr(token))
    if token.type == "INT_LIT":
        try:
            return int(token, 0)
        except ValueError:
            return None
    return None


def _children(node: lark.Tree[Any]) -> list[Any]:
    return [c for c in node.children if c is not None]


def _visit(node: Any, bound: frozenset[str], refs: set[tuple[str, str]], calls: set[str]) -> None:
    """Collect the (root, first name) pairs and the functions an expression uses."""
    import lark

    if not isinstance(node, lark.Tree):
        return
    kids = _children(node)
    if node.data in ("member_dot", "member_index"):
        root = _ident(kids[0])
        if root is not None:
            if root not in bound:
                first = str(kids[1]) if node.data == "member_dot" else _literal(kids[1])
                refs.add((root, first if isinstance(first, str) else ""))
            kids = kids[1:]
    elif node.data == "member_dot_arg":
        method = str(kids[1])
        calls.add(method)
        args = _children(kids[2]) if len(kids) > 2 else []
        var = _ident(args[0]) if method in _MACROS and len(args) >= 2 else None
        if var is not None:
            _visit(kids[0], bound, refs, calls)
            for arg in args[1:]:
                _visit(arg, bound | {var}, refs, calls)
            return
    elif node.data in ("ident_arg", "dot_ident_arg"):
        calls.add(str(kids[0]))
    elif node.data in ("ident", "dot_ident"):
        if str(kids[0]) not in bound:
            refs.add((str(kids[0]), ""))
        return
    for kid in kids:
        _visit(kid, bound, refs, calls)


@functools.cache
def _known_functions() -> frozenset[str]:
    from celpy.evaluation import base_functions

    return frozenset(base_functions) | frozenset(_functions()) | _MACROS | {"has"}


# ---------------------------------------------------------------------------- functions


def _member(item: Any, container: Any) -> Any:
    """``in``: as CEL for lists and maps; for a string, a substring test (CEL has none)."""
    from celpy import celtypes
    from celpy.evaluation import CELEvalError, operator_in

    if isinstance(container, str) and not isinstance(item, CELEvalError):
        if not isinstance(item, str):
            return CELEvalError(f"'in' a string takes a string, not {_kind(item)}")
        return celtypes.BoolType(item in container)
    return operator_in(item, container)


@functools.cache
def _functions() -> dict[str, Callable[..., Any]]:
    from celpy import celtypes
    from celpy.evaluation import CELEvalError

    def length(value: Any) -> Any:
        if isinstance(value, str | bytes | list | dict):
            return celtypes.IntType(len(value))
        return CELEvalError(f"length() takes a string, list or map, not {_kind(value)}")

    def text_function(name: str, convert: Callable[[str], str]) -> Callable[[Any], Any]:
        def function(value: Any) -> Any:
            if isinstance(value, str):
                return celtypes.StringType(convert(value))
            return CELEvalError(f"{name}() takes a string, not {_kind(value)}")

        return function

    def to_json(value: Any) -> Any:
        return celtypes.StringType(_json(_to_plain(value)))

    def present(value: Any) -> Any:
        return celtypes.BoolType(value is not None)

    def string(value: Any) -> Any:
        # celpy writes booleans the Python way (True); CEL and JSON write true.
        if isinstance(value, celtypes.BoolType | bool):
            return celtypes.StringType("true" if value else "false")
        return celtypes.StringType("null" if value is None else value)

    return {
        "_in_": _member,
        "length": length,
        "lower": text_function("lower", str.lower),
        "upper": text_function("upper", str.upper),
        "json": to_json,
        "string": string,
        _PRESENT: present,
    }


# ---------------------------------------------------------------------------- values

_KINDS = {
    "BoolType": "a boolean",
    "IntType": "an int",
    "UintType": "a uint",
    "DoubleType": "a double",
    "StringType": "a string",
    "BytesType": "bytes",
    "ListType": "a list",
    "MapType": "a map",
    "NoneType": "null",
    "TimestampType": "a timestamp",
    "DurationType": "a duration",
    "bool": "a boolean",
    "int": "an int",
    "float": "a double",
    "str": "a string",
    "list": "a list",
    "dict": "a map",
}


def _kind(value: Any) -> str:
    return _KINDS.get(type(value).__name__, type(value).__name__)


def _to_plain(value: Any) -> Any:
    """A CEL value as plain Python data (bool, int, float, str, None, list, dict)."""
    from celpy import celtypes

    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, celtypes.BoolType):
        return bool(value)
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        return float(value)
    if isinstance(value, str):
        return str(value)
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")
    if isinstance(value, Mapping):
        return {_key(k): _to_plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_to_plain(v) for v in value]
    if isinstance(value, type):
        return _KINDS.get(value.__name__, value.__name__).split(" ")[-1]
    return str(value)


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
    """The context of one evaluation, converted to CEL when first used: a root at a time, and
    under ``tasks`` a task at a time (a workflow's outputs can be large; an expression reads few)."""

    def __init__(self, context: Mapping[str, Any], roots: tuple[str, ...] = ROOTS) -> None:
        self.data = context
        self.roots = roots
        self.cel: dict[str, Any] = {}

    def activation(self, program: _Program) -> dict[str, Any]:
        from celpy.adapter import json_to_cel

        tasks = self.data.get("tasks")
        by_task = isinstance(tasks, Mapping)
        for root in program.roots - self.cel.keys():
            if root in self.data and not (root == "tasks" and by_task):
                self.cel[root] = json_to_cel(plain(self.data[root]))
        if "tasks" in program.roots and isinstance(tasks, Mapping):
            self._tasks(tasks, tasks.keys() if program.tasks is None else program.tasks)
        return self.cel

    def _tasks(self, tasks: Mapping[str, Any], names: Iterable[str]) -> None:
        from celpy.adapter import json_to_cel
        from celpy.celtypes import MapType, StringType

        cel = self.cel.setdefault("tasks", MapType())
        for name in names:
            key = StringType(name)
            if name in tasks and key not in cel:
                cel[key] = json_to_cel(plain(tasks[name]))


def _run(expr: _Expr, scope: _Scope, where: str) -> Any:
    from celpy.evaluation import CELEvalError, CELUnsupportedError

    program = _program(expr, where, scope.roots)
    try:
        result = program.runner.evaluate(scope.activation(program))
    except CELEvalError as exc:
        message, hint = _explain(exc, scope.data)
        raise ExpressionError(
            f"cannot evaluate {_short(expr.text)}: {message}", field=where, hint=hint, expression=expr.text
        ) from None
    except (CELUnsupportedError, ArithmeticError, LookupError, TypeError, ValueError, RecursionError) as exc:
        raise ExpressionError(
            f"cannot evaluate {_short(expr.text)}: {exc}", field=where, hint=_HINT, expression=expr.text
        ) from None
    return _to_plain(result)


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
    "relation_eq": "==",
    "relation_ne": "!=",
    "relation_lt": "<",
    "relation_le": "<=",
    "relation_gt": ">",
    "relation_ge": ">=",
    "relation_in": "in",
    "addition_add": "+",
    "addition_sub": "-",
    "multiplication_mul": "*",
    "multiplication_div": "/",
    "multiplication_mod": "%",
}
_OVERLOAD = re.compile(r"overload for Token\('RULE', '(\w+)'\) applied to '\((.*)\)'")
_CLASS = re.compile(r"celtypes\.(\w+)'|<class '(\w+)'>")


def _path_of(node: Any) -> list[str | int] | None:
    """The path a member expression reads (``["tasks", "fetch", "outputs"]``), if it is a plain path."""
    import lark

    node = _unwrap(node)
    if not isinstance(node, lark.Tree):
        return None
    kids = _children(node)
    if node.data == "ident":
        return [str(kids[0])]
    if node.data not in ("member_dot", "member_index"):
        return None
    inner = _path_of(kids[0])
    key = str(kids[1]) if node.data == "member_dot" else _literal(kids[1])
    return None if inner is None or key is None else [*inner, key]


_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]*$")


def _render(path: list[str | int]) -> str:
    out = str(path[0])
    for key in path[1:]:
        if isinstance(key, int):
            out += f"[{key}]"
        else:
            out += f".{key}" if _NAME.match(key) else f"[{json.dumps(key)}]"
    return out


_MISSING = object()


def _lookup(data: Mapping[str, Any], path: list[str | int]) -> Any:
    value: Any = data
    for key in path:
        in_list = isinstance(value, list) and isinstance(key, int) and -len(value) <= key < len(value)
        if in_list or (isinstance(value, Mapping) and key in value):
            value = value[key]
        else:
            return _MISSING
    return value


def _explain(exc: Exception, data: Mapping[str, Any]) -> tuple[str, str]:
    """An evaluation error in the user's terms: what was missing or mismatched, and a hint."""
    message = str(exc.args[0]) if exc.args else "evaluation failed"
    cause = exc.args[1] if len(exc.args) > 1 else None
    path = _path_of(getattr(exc, "tree", None)) if getattr(exc, "tree", None) is not None else None
    if path is not None and len(path) > 1 and cause in (KeyError, IndexError, TypeError):
        return _missing(path, data)
    if message.startswith("undeclared reference"):
        name = re.search(r"'([^']*)'", message)
        root = name.group(1) if name else "?"
        hint = f"{root} is only defined inside forEach.do" if root in ("item", "index") else ""
        return f"no value at {root}", hint
    if overload := _OVERLOAD.search(message):
        op = _OPERATORS.get(overload.group(1), overload.group(1))
        kinds = [_KINDS.get(a or b, a or b) for a, b in _CLASS.findall(overload.group(2))]
        return (
            f"cannot apply {op} to {' and '.join(kinds)}",
            "convert a value with int(…), double(…) or string(…), or check the names",
        )
    if cause is ZeroDivisionError:
        return "division by zero", ""
    if message == "return error for overflow":
        return "the number is too large (integers are 64-bit)", ""
    token = getattr(exc, "token", None)
    if message == "no such overload" and token is not None:
        return f"{token}() cannot take these arguments", "check the argument types"
    return message, ""


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
