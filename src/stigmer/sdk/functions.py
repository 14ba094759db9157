"""``@task``: Python functions as workflow tasks (``python`` tasks).

A decorated function is still the function (call it in your tests); ``fn.step(…)`` is a
task that calls it, and when a workflow engine calls it, its arguments are checked and
converted against its annotations first, since values reach it through JSON (where
``2`` may arrive as ``2.0``)::

    @task
    def add(a: int, b: int) -> dict[str, int]:
        return {"sum": a + b}

    add(1, 2)                                   # {"sum": 3}
    step = add.step(a="${workflow.inputs.a}", b=2)
"""

from __future__ import annotations

import collections.abc
import functools
import inspect
import types
import typing
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Literal, ParamSpec, Protocol, TypeVar, cast, overload

from stigmer.errors import InvalidArgument
from stigmer.sdk.authoring import Duration, OnError, Retry, Task
from stigmer.sdk.targets import function_target

P = ParamSpec("P")
R = TypeVar("R")
R_co = TypeVar("R_co", covariant=True)


class TaskFunction(Protocol[P, R_co]):
    """A ``@task`` function: called as before, and ``.step(…)`` makes it a workflow task."""

    __name__: str

    def __call__(self, *args: P.args, **kwargs: P.kwargs) -> R_co: ...

    @property
    def function(self) -> Callable[P, R_co]:
        """The undecorated function."""
        ...

    @property
    def target(self) -> str:
        """``module:function``, as the ``python`` field of its tasks names it."""
        ...

    def step(
        self,
        name: str | None = None,
        /,
        *,
        inputs: Mapping[str, Any] | None = None,
        depends_on: Sequence[Task | str] = (),
        when: str = "",
        retry: Retry | int | None = None,
        timeout: Duration = "",
        on_error: OnError = None,
        **kwargs: Any,
    ) -> Task:
        """A ``python`` task that calls this function; see :func:`task`."""
        ...


@overload
def task(function: Callable[P, R], /) -> TaskFunction[P, R]: ...
@overload
def task() -> Callable[[Callable[P, R]], TaskFunction[P, R]]: ...
def task(function: Callable[P, R] | None = None, /) -> Any:
    """Make a function usable as a workflow task (a ``python`` task).

    The function keeps working as before (call it in your own tests); when a workflow
    engine calls it, each argument is checked against its annotation and converted where
    that loses nothing (an integral float to ``int``, an ``int`` to ``float``), and a
    ``TypeError`` names the parameter otherwise. Annotations understood: ``str``, ``int``,
    ``float``, ``bool``, ``list[…]``, ``tuple[…]``, ``dict[…]``, unions, ``Optional``,
    ``Literal`` and classes (checked with ``isinstance``); anything else passes unchecked.
    The function returns a dict (the task's outputs) or any value (``{"output": value}``);
    async functions are awaited.

    ``fn.step(name=None, /, *, inputs=None, depends_on=(), when="", retry=None, timeout="",
    on_error=None, **kwargs)`` is a task that calls it: keyword arguments are its inputs
    (values or ``${…}`` expressions), checked against its parameters now; pass ``inputs={…}``
    for a parameter whose name is also an option of ``step``. The task is named after the
    function unless a name is given first (``fn.step("lookup", name="ada")`` passes
    ``name`` to the function).

    A worker imports the function's module by name (``steps:add``), from its working
    directory or installed packages, so define it at the top level of a module. A function
    of the script you run (``python app.py``: module ``__main__``) cannot be a step: import
    it from a module instead. ``stigmer apply -f app.py`` imports the file as module ``app``,
    so its functions can.
    """
    if function is None:
        return task
    return _wrap(function)


def _wrap(function: Callable[P, R]) -> TaskFunction[P, R]:
    checker = _Checker(function)
    call: Callable[..., Any] = function
    wrapper: Callable[..., Any]
    if inspect.iscoroutinefunction(function):

        @functools.wraps(function)
        async def async_wrapper(*args: Any, **kwargs: Any) -> Any:
            args, kwargs = checker.check(args, kwargs)
            return await call(*args, **kwargs)

        wrapper = async_wrapper
    else:

        @functools.wraps(function)
        def sync_wrapper(*args: Any, **kwargs: Any) -> Any:
            args, kwargs = checker.check(args, kwargs)
            return call(*args, **kwargs)

        wrapper = sync_wrapper

    def step(
        name: str | None = None,
        /,
        *,
        inputs: Mapping[str, Any] | None = None,
        depends_on: Sequence[Task | str] = (),
        when: str = "",
        retry: Retry | int | None = None,
        timeout: Duration = "",
        on_error: OnError = None,
        **kwargs: Any,
    ) -> Task:
        given = {**(inputs or {}), **kwargs}
        target = function_target(wrapper)
        checker.check_inputs(target, given)
        return Task(
            name or function.__name__,
            "python",
            target,
            inputs=given,
            depends_on=depends_on,
            when=when,
            retry=retry,
            timeout=timeout,
            on_error=on_error,
        )

    setattr(wrapper, "step", step)  # noqa: B010
    setattr(wrapper, "function", function)  # noqa: B010
    setattr(wrapper, "target", f"{function.__module__}:{function.__qualname__}")  # noqa: B010
    return cast("TaskFunction[P, R]", wrapper)


def _has_expression(value: Any) -> bool:
    if isinstance(value, str):
        return "${" in value
    if isinstance(value, Mapping):
        return any(_has_expression(v) for v in value.values())
    if isinstance(value, list | tuple):
        return any(_has_expression(v) for v in value)
    return False


class _Checker:
    """Checks and converts a function's arguments against its annotations."""

    def __init__(self, function: Callable[..., Any]) -> None:
        self.function = function
        self.signature = inspect.signature(function)
        self._hints: dict[str, Any] | None = None

    @property
    def hints(self) -> dict[str, Any]:
        # Resolved on first use: annotations may name things defined after the function.
        if self._hints is None:
            try:
                self._hints = typing.get_type_hints(self.function)
            except Exception:
                self._hints = {}
        return self._hints

    def check(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> tuple[tuple[Any, ...], dict[str, Any]]:
        label = getattr(self.function, "__qualname__", "function")
        try:
            bound = self.signature.bind(*args, **kwargs)
        except TypeError as exc:
            raise TypeError(f"{label}(): {exc}") from None
        for name, value in bound.arguments.items():
            parameter = self.signature.parameters[name]
            hint = self.hints.get(name, Any)
            if parameter.kind is inspect.Parameter.VAR_POSITIONAL:
                value = tuple(
                    _coerce(v, hint, f"{label}(): parameter {name!r}[{i}]") for i, v in enumerate(value)
                )
            elif parameter.kind is inspect.Parameter.VAR_KEYWORD:
                value = {k: _coerce(v, hint, f"{label}(): parameter {k!r}") for k, v in value.items()}
            else:
                value = _coerce(value, hint, f"{label}(): parameter {name!r}")
            bound.arguments[name] = value
        return bound.args, bound.kwargs

    def check_inputs(self, target: str, given: Mapping[str, Any]) -> None:
        """Refuse inputs the function does not take, and missing or mistyped ones."""
        parameters = self.signature.parameters
        named = {
            n: p
            for n, p in parameters.items()
            if p.kind in (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)
        }
        open_ended = any(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters.values())
        for key, value in given.items():
            if key not in named and not open_ended:
                raise InvalidArgument(
                    f"{target} has no parameter {key!r}",
                    field=f"inputs.{key}",
                    hint=f"its parameters: {', '.join(named) or '(none)'}",
                )
            if _has_expression(value):
                continue
            hint = self.hints.get(key, Any)
            try:
                _coerce(value, hint, f"parameter {key!r}")
            except TypeError as exc:
                raise InvalidArgument(f"{target}: {exc}", field=f"inputs.{key}") from None
        missing = [n for n, p in named.items() if p.default is inspect.Parameter.empty and n not in given]
        if missing:
            raise InvalidArgument(
                f"{target} needs input {', '.join(repr(n) for n in missing)}",
                field=f"inputs.{missing[0]}",
                hint="give it as a keyword argument of .step(), a value or a ${…} expression",
            )


def _type_label(hint: Any) -> str:
    if isinstance(hint, type) and not typing.get_args(hint):
        return hint.__name__
    return str(hint).replace("typing.", "")


def _shown(value: Any) -> str:
    text = repr(value)
    return f"{type(value).__name__} {text if len(text) <= 60 else text[:57] + '...'}"


_SEQUENCES = (list, tuple, set, frozenset, collections.abc.Sequence, collections.abc.Iterable)
_MAPPINGS = (dict, collections.abc.Mapping)


def _coerce(value: Any, hint: Any, where: str) -> Any:  # noqa: C901
    """``value`` as ``hint`` wants it, converted where nothing is lost; else TypeError."""
    if hint is Any or hint is object or hint is inspect.Parameter.empty or isinstance(hint, TypeVar):
        return value
    origin = typing.get_origin(hint)
    args = typing.get_args(hint)
    if origin is typing.Union or origin is types.UnionType:
        if value is None and type(None) in args:
            return None
        for member in args:
            if member is type(None):
                continue
            try:
                return _coerce(value, member, where)
            except TypeError:
                continue
    elif origin is Literal:
        if value in args:
            return value
    elif origin is typing.Annotated:
        return _coerce(value, args[0], where)
    elif hint is None or hint is type(None):
        if value is None:
            return None
    elif hint is bool:
        if isinstance(value, bool):
            return value
    elif hint is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        if isinstance(value, float) and value.is_integer():
            return int(value)
    elif hint is float:
        if isinstance(value, int | float) and not isinstance(value, bool):
            return float(value)
    elif hint is str:
        if isinstance(value, str):
            return value
    elif (origin or hint) in _MAPPINGS:
        if isinstance(value, Mapping):
            item = args[1] if len(args) == 2 else Any
            return {k: _coerce(v, item, f"{where}[{k!r}]") for k, v in value.items()}
    elif (origin or hint) in _SEQUENCES:
        if isinstance(value, list | tuple):
            kind = origin or hint
            if kind is tuple and args and (len(args) != 2 or args[1] is not Ellipsis):
                if len(args) != len(value):
                    raise TypeError(f"{where} expects {_type_label(hint)}, got {_shown(value)}")
                return tuple(
                    _coerce(v, a, f"{where}[{i}]") for i, (v, a) in enumerate(zip(value, args, strict=True))
                )
            item = args[0] if args else Any
            items = [_coerce(v, item, f"{where}[{i}]") for i, v in enumerate(value)]
            if kind in (tuple, set, frozenset):
                return kind(items)
            return items
    elif isinstance(origin or hint, type):
        if isinstance(value, origin or hint):
            return value
    else:
        return value  # an annotation this check does not understand: pass the value as it is
    raise TypeError(f"{where} expects {_type_label(hint)}, got {_shown(value)}")


__all__ = ["TaskFunction", "function_target", "task"]
