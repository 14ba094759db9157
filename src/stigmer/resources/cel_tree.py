"""A parsed CEL expression as a tree: what it reads and calls, and Stigmer's additions in CEL.

The CEL runtime (cel-expr-python) parses an expression and hands back its tree
(:class:`~stigmer.api.cel.v1.syntax_pb2.ParsedExpr`); :func:`analyse` reads it and
:func:`rewrite` turns what Stigmer adds to CEL into plain CEL the runtime can run:

- ``default(x, fallback)``: ``fallback`` when ``x`` is missing or null. For a path, each
  step is tested first (a map that has the key, a list long enough), so nothing fails.
- ``has(x)`` on any path, ``has(tasks.fetch-pr)`` and ``has(item)`` too (CEL's own takes
  only ``a.b``); written ``_stigmer_has(x)`` by the text rewriting before parsing.
- ``needle in text``: a substring test when the right side is text.
- ``text[i]``: the character at ``i``; ``list[-1]``: the last item (a literal index below 0
  counts from the end).
- ``string(null)`` is ``"null"``.
- ``==`` and ``!=`` between an int and a double (or a uint) fail, as comparing a value read
  from data with a number of the other kind is most often a mistake (``ratio == 1``).

The functions these call are Stigmer's (:data:`HELPERS`); expressions.py provides them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from google.protobuf import struct_pb2

from stigmer.api.cel.v1.syntax_pb2 import Expr, ParsedExpr

HAS = "_stigmer_has"
IN_TEXT = "_stigmer_in_text"
CHAR_AT = "_stigmer_char_at"
MISMATCH = "_stigmer_mismatch"
HELPERS = frozenset({IN_TEXT, CHAR_AT, MISMATCH})
# Nesting default() in the first argument of another is refused past this depth.
MAX_DEFAULT_DEPTH = 8

_NUMBERS = ("int", "uint", "double")
_ARITHMETIC = ("_+_", "_-_", "_*_", "_/_")
_CONSTANT_KINDS = {"int64_value": "int", "uint64_value": "uint", "double_value": "double"}

Key = str | int | Expr
"""A step of a path: a name, a list index, or a computed key."""


class Refused(Exception):
    """An expression uses an addition wrongly (``default`` with one argument, ``has(1)``)."""

    def __init__(self, what: str, detail: str = "", hint: str = "") -> None:
        super().__init__(what)
        self.what = what
        self.detail = detail
        self.hint = hint


@dataclass
class Usage:
    """What an expression reads and calls."""

    # (root, first name) pairs: ("tasks", "fetch"), ("item", ""), ("tasks", "") for tasks[x].
    references: set[tuple[str, str]] = field(default_factory=set)
    # Functions called by name (operators and macros left out).
    calls: set[str] = field(default_factory=set)
    # The paths read outside default() and has(), as far as their keys are constants:
    # where to look when an evaluation finds something missing.
    paths: list[tuple[str | int, ...]] = field(default_factory=list)
    # The roots read outside default() and has(): they must have a value.
    required: set[str] = field(default_factory=set)


def _is_operator(name: str) -> bool:
    return name.startswith(("_", "@", "!", "-")) and name != HAS


def _constant_key(expr: Expr) -> str | int | None:
    if expr.WhichOneof("expr_kind") != "const_expr":
        return None
    kind = expr.const_expr.WhichOneof("constant_kind")
    if kind == "string_value":
        return expr.const_expr.string_value
    if kind == "int64_value":
        return expr.const_expr.int64_value
    return None


def path_of(expr: Expr) -> tuple[str, list[Key]] | None:
    """The root name and the keys of a path (``a.b["c"][0][k]``), or None."""
    keys: list[Key] = []
    node = expr
    while True:
        kind = node.WhichOneof("expr_kind")
        if kind == "ident_expr":
            keys.reverse()
            return node.ident_expr.name, keys
        if kind == "select_expr" and not node.select_expr.test_only:
            keys.append(node.select_expr.field)
            node = node.select_expr.operand
        elif kind == "call_expr" and node.call_expr.function == "_[_]" and len(node.call_expr.args) == 2:
            index = node.call_expr.args[1]
            constant = _constant_key(index)
            keys.append(index if constant is None else constant)
            node = node.call_expr.args[0]
        else:
            return None


def _static(keys: list[Key]) -> tuple[str | int, ...]:
    out: list[str | int] = []
    for key in keys:
        if isinstance(key, Expr):
            break
        out.append(key)
    return tuple(out)


def _children(expr: Expr) -> Iterator[Expr]:
    kind = expr.WhichOneof("expr_kind")
    if kind == "select_expr":
        yield expr.select_expr.operand
    elif kind == "call_expr":
        if expr.call_expr.HasField("target"):
            yield expr.call_expr.target
        yield from expr.call_expr.args
    elif kind == "list_expr":
        yield from expr.list_expr.elements
    elif kind == "struct_expr":
        for entry in expr.struct_expr.entries:
            if entry.HasField("map_key"):
                yield entry.map_key
            yield entry.value


def analyse(parsed: ParsedExpr) -> Usage:
    """The names, paths and functions an expression uses (loop variables of macros left out)."""
    usage = Usage()
    _analyse(parsed.expr, frozenset(), usage, guarded=False)
    return usage


def _analyse(expr: Expr, bound: frozenset[str], usage: Usage, *, guarded: bool) -> None:
    path = path_of(expr)
    if path is not None:
        _analyse_path(*path, bound, usage, guarded=guarded)
        return
    kind = expr.WhichOneof("expr_kind")
    if kind == "comprehension_expr":
        loop = expr.comprehension_expr
        _analyse(loop.iter_range, bound, usage, guarded=guarded)
        _analyse(loop.accu_init, bound, usage, guarded=guarded)
        inner = bound | {loop.iter_var, loop.iter_var2, loop.accu_var}
        for part in (loop.loop_condition, loop.loop_step, loop.result):
            _analyse(part, inner, usage, guarded=guarded)
        return
    children = list(_children(expr))
    if kind == "call_expr":
        call = expr.call_expr
        if not _is_operator(call.function):
            usage.calls.add(call.function)
        if call.function in ("default", HAS) and not call.HasField("target") and call.args:
            _analyse(call.args[0], bound, usage, guarded=True)
            children = children[1:]
    for child in children:
        _analyse(child, bound, usage, guarded=guarded)


def _analyse_path(root: str, keys: list[Key], bound: frozenset[str], usage: Usage, *, guarded: bool) -> None:
    if root not in bound:
        first = keys[0] if keys and isinstance(keys[0], str) else ""
        usage.references.add((root, first))
        if not guarded:
            usage.required.add(root)
            usage.paths.append((root, *_static(keys)))
    for key in keys:
        if isinstance(key, Expr):
            _analyse(key, bound, usage, guarded=guarded)


# ---------------------------------------------------------------------------- rewriting


class _Builder:
    """Makes new nodes, each with an id of its own (the runtime keys its plan by id)."""

    def __init__(self, parsed: ParsedExpr) -> None:
        self.next_id = max((e.id for e in _walk(parsed.expr)), default=0) + 1
        self.names = 0

    def node(self) -> Expr:
        expr = Expr(id=self.next_id)
        self.next_id += 1
        return expr

    def copy(self, expr: Expr) -> Expr:
        out = Expr()
        out.CopyFrom(expr)
        for node in _walk(out):
            node.id = self.next_id
            self.next_id += 1
        return out

    def ident(self, name: str) -> Expr:
        expr = self.node()
        expr.ident_expr.name = name
        return expr

    def const(self, value: str | int | bool | None) -> Expr:
        expr = self.node()
        if value is None:
            expr.const_expr.null_value = struct_pb2.NULL_VALUE
        elif isinstance(value, bool):
            expr.const_expr.bool_value = value
        elif isinstance(value, int):
            expr.const_expr.int64_value = value
        else:
            expr.const_expr.string_value = value
        return expr

    def call(self, function: str, *args: Expr, target: Expr | None = None) -> Expr:
        expr = self.node()
        expr.call_expr.function = function
        if target is not None:
            expr.call_expr.target.CopyFrom(target)
        for arg in args:
            expr.call_expr.args.add().CopyFrom(arg)
        return expr

    def list(self, *elements: Expr) -> Expr:
        expr = self.node()
        expr.list_expr.SetInParent()  # an empty list is a list too
        for element in elements:
            expr.list_expr.elements.add().CopyFrom(element)
        return expr

    def all(self, *terms: Expr) -> Expr:
        out = terms[0]
        for term in terms[1:]:
            out = self.call("_&&_", out, term)
        return out

    def is_type(self, value: Expr, *types: str) -> Expr:
        """``type(value) == t`` (or ``in [t, …]``)."""
        kind = self.call("type", self.copy(value))
        if len(types) == 1:
            return self.call("_==_", kind, self.ident(types[0]))
        return self.call("@in", kind, self.list(*(self.ident(t) for t in types)))

    def choose(self, test: Expr, then: Expr, otherwise: Expr) -> Expr:
        return self.call("_?_:_", test, then, otherwise)

    def let(self, value: Expr, body: Callable[[Expr], Expr]) -> Expr:
        """``body(v)`` with ``value`` evaluated once; a plain path is read again instead."""
        if path_of(value) is not None or value.WhichOneof("expr_kind") == "const_expr":
            return body(value)
        self.names += 1
        name = f"@v{self.names}"
        expr = self.node()
        loop = expr.comprehension_expr
        loop.iter_var = "#unused"
        loop.iter_range.CopyFrom(self.list())
        loop.accu_var = name
        loop.accu_init.CopyFrom(value)
        loop.loop_condition.CopyFrom(self.const(False))
        loop.loop_step.CopyFrom(self.ident(name))
        loop.result.CopyFrom(body(self.ident(name)))
        return expr


def _walk(expr: Expr) -> Iterator[Expr]:
    stack = [expr]
    while stack:
        node = stack.pop()
        yield node
        if node.WhichOneof("expr_kind") == "comprehension_expr":
            loop = node.comprehension_expr
            stack += (loop.iter_range, loop.accu_init, loop.loop_condition, loop.loop_step, loop.result)
        else:
            stack += _children(node)


def rewrite(parsed: ParsedExpr) -> ParsedExpr | None:
    """The expression with Stigmer's additions in plain CEL, or None when it has none.

    Raises:
        Refused: ``default`` without two arguments or nested too deep, ``has`` of no path.
    """
    out = ParsedExpr()
    out.CopyFrom(parsed)
    rewriter = _Rewriter(_Builder(out))
    rewriter.visit(out.expr, 0)
    return out if rewriter.changed else None


class _Rewriter:
    def __init__(self, builder: _Builder) -> None:
        self.b = builder
        self.changed = False

    def visit(self, expr: Expr, depth: int) -> None:
        """Rewrite ``expr`` in place (``depth``: how many default() first arguments it is in)."""
        kind = expr.WhichOneof("expr_kind")
        if kind == "call_expr" and not expr.call_expr.HasField("target"):
            function = expr.call_expr.function
            if function == "default":
                self._replace(expr, self._default(expr, depth))
                return
            if function == HAS:
                self._replace(expr, self._has(expr))
                return
        if kind == "call_expr" and expr.call_expr.function == "default":
            raise Refused("malformed expression", hint="write default(value, fallback)")
        if kind == "comprehension_expr":
            loop = expr.comprehension_expr
            parts = (loop.iter_range, loop.accu_init, loop.loop_condition, loop.loop_step, loop.result)
            children = list(parts)
        else:
            children = list(_children(expr))
        for child in children:
            self.visit(child, depth)
        if kind == "call_expr":
            new = self._operator(expr)
            if new is not None:
                self._replace(expr, new)

    def _replace(self, expr: Expr, new: Expr) -> None:
        expr.CopyFrom(new)
        self.changed = True

    # -- default() and has()

    def _default(self, expr: Expr, depth: int) -> Expr:
        args = expr.call_expr.args
        if len(args) != 2:
            raise Refused(
                "malformed expression",
                detail=f"default() takes 2 arguments, got {len(args)}",
                hint="write default(value, fallback)",
            )
        if depth >= MAX_DEFAULT_DEPTH:
            raise Refused("expression too large", hint="nest default() in the fallback instead")
        value, fallback = Expr(), Expr()
        value.CopyFrom(args[0])
        fallback.CopyFrom(args[1])
        path = path_of(value)
        guards = [self._guard(*path, present=True)] if path is not None else self._guards_within(value)
        self.visit(value, depth + 1)
        self.visit(fallback, depth)
        if path is not None:
            return self.b.choose(guards[0], value, fallback)
        # Not a path: its value once, null when a path in it is missing, then the fallback if null.
        guarded = self.b.choose(self.b.all(*guards), value, self.b.const(None)) if guards else value
        return self.b.let(
            guarded,
            lambda v: self.b.choose(
                self.b.call("_!=_", self.b.copy(v), self.b.const(None)), self.b.copy(v), fallback
            ),
        )

    def _has(self, expr: Expr) -> Expr:
        args = expr.call_expr.args
        path = path_of(args[0]) if len(args) == 1 else None
        if path is None:
            raise Refused(
                "malformed expression", detail="has() takes a path", hint="write has(tasks.NAME.outputs.KEY)"
            )
        return self._guard(*path, present=False)

    def _guards_within(self, expr: Expr) -> list[Expr]:
        """A guard for each path read in ``expr`` (not within another default())."""
        guards: list[Expr] = []

        def collect(node: Expr, bound: frozenset[str]) -> None:
            path = path_of(node)
            if path is not None:
                if path[0] not in bound:
                    guards.append(self._guard(*path, present=False))
                return
            kind = node.WhichOneof("expr_kind")
            if kind == "call_expr" and node.call_expr.function in ("default", HAS):
                return
            if kind == "comprehension_expr":
                loop = node.comprehension_expr
                collect(loop.iter_range, bound)
                collect(loop.accu_init, bound)
                return  # paths of loop variables are theirs to guard
            for child in _children(node):
                collect(child, bound)

        collect(expr, frozenset())
        return guards

    def _guard(self, root: str, keys: list[Key], *, present: bool) -> Expr:
        """True when each step of the path exists (and, if ``present``, its value is not null)."""
        b = self.b
        node = b.ident(root)
        terms = [b.call("_!=_", b.copy(node), b.const(None))]
        for key in keys:
            if isinstance(key, str):
                terms.append(b.is_type(node, "map"))
                terms.append(b.call("@in", b.const(key), b.copy(node)))
                step = b.const(key)
            elif isinstance(key, int) and key < 0:  # from the end
                terms.append(b.is_type(node, "list"))
                step = b.call("_+_", b.call("size", b.copy(node)), b.const(key))
                terms.append(b.call("_>=_", b.copy(step), b.const(0)))
            elif isinstance(key, int):
                terms.append(b.is_type(node, "list"))
                terms.append(b.call("_<_", b.const(key), b.call("size", b.copy(node))))
                step = b.const(key)
            else:
                computed = b.copy(key)
                self.visit(computed, 0)
                in_map = b.all(b.is_type(node, "map"), b.call("@in", b.copy(computed), b.copy(node)))
                in_list = b.all(
                    b.is_type(node, "list"),
                    b.is_type(computed, "int"),
                    b.call("_>=_", b.copy(computed), b.const(0)),
                    b.call("_<_", b.copy(computed), b.call("size", b.copy(node))),
                )
                terms.append(b.call("_||_", in_map, in_list))
                step = computed
            node = b.call("_[_]", node, step)
        if present:
            terms.append(b.call("_!=_", node, b.const(None)))
        return b.all(*terms)

    # -- operators

    def _operator(self, expr: Expr) -> Expr | None:
        call = expr.call_expr
        if call.function == "string" and not call.HasField("target") and len(call.args) == 1:
            return self._string(call.args[0])
        if call.HasField("target") or len(call.args) != 2:
            return None
        left, right = call.args
        if call.function == "@in":
            return self._in(left, right)
        if call.function == "_[_]":
            return self._index(left, right)
        if call.function in ("_==_", "_!=_"):
            return self._equality(call.function, left, right)
        if call.function in _ARITHMETIC:
            return self._arithmetic(call.function, left, right)
        return None

    def _in(self, needle: Expr, haystack: Expr) -> Expr | None:
        kind = haystack.WhichOneof("expr_kind")
        if kind in ("list_expr", "struct_expr", "comprehension_expr"):
            return None
        b = self.b
        if kind == "const_expr":
            return b.call(IN_TEXT, needle, haystack)
        return b.let(
            haystack,
            lambda h: b.choose(
                b.is_type(h, "string"),
                b.call(IN_TEXT, b.copy(needle), b.copy(h)),
                b.call("@in", b.copy(needle), b.copy(h)),
            ),
        )

    def _index(self, container: Expr, index: Expr) -> Expr | None:
        """``text[i]`` is a character; ``list[-1]`` (a literal below 0) counts from the end."""
        kind = container.WhichOneof("expr_kind")
        constant = _constant_key(index)
        if isinstance(constant, str) or kind == "struct_expr":
            return None
        b = self.b
        if kind == "const_expr":
            return b.call(CHAR_AT, container, index)
        from_end = isinstance(constant, int) and constant < 0
        if kind == "list_expr" and not from_end:
            return None

        def pick(c: Expr) -> Expr:
            item = b.call("_[_]", b.copy(c), b.copy(index))
            if from_end:
                counted = b.call("_[_]", b.copy(c), b.call("_+_", b.call("size", b.copy(c)), b.copy(index)))
                item = b.choose(b.is_type(c, "list"), counted, item)
            return b.choose(b.is_type(c, "string"), b.call(CHAR_AT, b.copy(c), b.copy(index)), item)

        return b.let(container, pick)

    def _string(self, value: Expr) -> Expr | None:
        """``string(null)`` is ``"null"``, as JSON writes it."""
        constant = value.const_expr.WhichOneof("constant_kind") if value.HasField("const_expr") else None
        if constant not in (None, "null_value"):
            return None
        b = self.b
        return b.let(
            value,
            lambda v: b.choose(b.is_type(v, "null_type"), b.const("null"), b.call("string", b.copy(v))),
        )

    def _equality(self, function: str, left: Expr, right: Expr) -> Expr | None:
        kinds = [_number_kind(left), _number_kind(right)]
        if None in kinds or _same_type(left, right):
            return None  # one side is no number, or both are of one kind: nothing to refuse
        b = self.b
        operator = b.const(function.strip("_"))
        if "" not in kinds:  # two number literals
            return b.call(MISMATCH, operator, left, right) if kinds[0] != kinds[1] else None

        def compare(x: Expr, y: Expr) -> Expr:
            if kinds[0]:
                mismatch = b.is_type(y, *(k for k in _NUMBERS if k != kinds[0]))
            elif kinds[1]:
                mismatch = b.is_type(x, *(k for k in _NUMBERS if k != kinds[1]))
            else:
                mismatch = b.all(
                    b.call("_!=_", b.call("type", b.copy(x)), b.call("type", b.copy(y))),
                    b.is_type(x, *_NUMBERS),
                    b.is_type(y, *_NUMBERS),
                )
            same = b.call(function, b.copy(x), b.copy(y))
            return b.choose(mismatch, b.call(MISMATCH, b.copy(operator), b.copy(x), b.copy(y)), same)

        return b.let(left, lambda x: b.let(right, lambda y: compare(x, y)))

    def _arithmetic(self, function: str, left: Expr, right: Expr) -> Expr | None:
        """``a + b`` of an int (or uint) and a double: the int as a double, as in arithmetic."""
        kinds = (_number_kind(left), _number_kind(right))
        if None in kinds or _same_type(left, right):
            return None
        b = self.b
        if "" not in kinds:  # two number literals
            if kinds[0] == kinds[1] or "double" not in kinds:
                return None
            return b.call(
                function,
                *(_as_double(e) if k != "double" else e for e, k in zip((left, right), kinds, strict=True)),
            )

        if kinds[0] or kinds[1]:  # a number literal and a value
            literal, value = (left, right) if kinds[0] else (right, left)
            kind = kinds[0] or kinds[1]

            def ordered(lit: Expr, v: Expr) -> list[Expr]:
                return [lit, v] if literal is left else [v, lit]

            if kind == "double":  # 2.5 * v: v as a double when it is an int
                return b.let(
                    value,
                    lambda v: b.choose(
                        b.is_type(v, "int", "uint"),
                        b.call(function, *ordered(b.copy(literal), b.call("double", b.copy(v)))),
                        b.call(function, *ordered(b.copy(literal), b.copy(v))),
                    ),
                )
            return b.let(  # v + 1: the literal as a double when v is one
                value,
                lambda v: b.choose(
                    b.is_type(v, "double"),
                    b.call(function, *ordered(_as_double(literal), b.copy(v))),
                    b.call(function, *ordered(b.copy(literal), b.copy(v))),
                ),
            )

        def mixed(x: Expr, y: Expr) -> Expr:
            x_int, y_int = (b.is_type(e, "int", "uint") for e in (x, y))
            return b.choose(
                b.all(b.is_type(x, "double"), y_int),
                b.call(function, b.copy(x), b.call("double", b.copy(y))),
                b.choose(
                    b.all(b.is_type(y, "double"), x_int),
                    b.call(function, b.call("double", b.copy(x)), b.copy(y)),
                    b.call(function, b.copy(x), b.copy(y)),
                ),
            )

        return b.let(left, lambda x: b.let(right, lambda y: mixed(x, y)))


def _as_double(expr: Expr) -> Expr:
    """A number literal as a double literal."""
    out = Expr(id=expr.id)
    constant = expr.const_expr
    number = (
        constant.int64_value
        if constant.WhichOneof("constant_kind") == "int64_value"
        else constant.uint64_value
    )
    out.const_expr.double_value = float(number)
    return out


def _same_type(left: Expr, right: Expr) -> bool:
    known = _result_type(left)
    return known is not None and known == _result_type(right)


def _number_kind(expr: Expr) -> str | None:
    """``int``, ``uint`` or ``double`` for a number literal; "" for what may be a number at run
    time; None for what cannot (text, bool, null, lists, maps, and what is built of them)."""
    if expr.WhichOneof("expr_kind") == "const_expr":
        return _CONSTANT_KINDS.get(expr.const_expr.WhichOneof("constant_kind") or "")
    known = _result_type(expr)
    return "" if known is None or known in _NUMBERS else None


_BOOLEAN = frozenset(
    {"_==_", "_!=_", "_<_", "_<=_", "_>_", "_>=_", "_&&_", "_||_", "!_", "@in", "@not_strictly_false"}
    | {"contains", "startsWith", "endsWith", "matches", IN_TEXT}
)
_RETURNS = {
    "size": "int", "length": "int", "int": "int", "uint": "uint", "double": "double",
    "string": "string", "lower": "string", "upper": "string", "json": "string", CHAR_AT: "string",
}  # fmt: skip
_CONSTANT_TYPES = {
    "int64_value": "int", "uint64_value": "uint", "double_value": "double", "string_value": "string",
    "bool_value": "bool", "null_value": "null", "bytes_value": "bytes",
}  # fmt: skip


def _result_type(expr: Expr) -> str | None:
    """The type of what ``expr`` gives when it is plain from the tree (``"a" + x`` is text,
    ``size(x)`` an int), else None."""
    kind = expr.WhichOneof("expr_kind")
    if kind == "const_expr":
        return _CONSTANT_TYPES.get(expr.const_expr.WhichOneof("constant_kind") or "")
    if kind == "list_expr":
        return "list"
    if kind == "struct_expr":
        return "map"
    if kind != "call_expr":
        return None
    function = expr.call_expr.function
    if function in _BOOLEAN:
        return "bool"
    if function in _RETURNS:
        return _RETURNS[function]
    if function == "_+_" and len(expr.call_expr.args) == 2:
        sides = {_result_type(arg) for arg in expr.call_expr.args}
        for joined in ("string", "list", "bytes"):
            if joined in sides:
                return joined
        return sides.pop() if len(sides) == 1 else None
    return None


__all__ = ["HAS", "HELPERS", "Refused", "Usage", "analyse", "path_of", "rewrite"]
