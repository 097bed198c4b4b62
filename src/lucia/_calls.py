"""Calls as values: how lucia writes a multi-step operation once for sync and async.

An operation (a password sign-in, a password reset, the OAuth callback, a
password route) is a generator that yields ``Call``s and receives their
results. ``drive`` runs it with a ``Lucia`` and plain method calls; ``adrive``
runs the very same generator with an ``AsyncLucia``, awaiting each call. An
exception a call raises is thrown back into the generator, which may handle it.

A call with no ``target`` goes to the ``Lucia`` / ``AsyncLucia`` driving the
operation (whose async methods have the same names); a call with a target (a
throttle, a provider, a sign-in flow) goes to ``target.method`` when sync and
to ``target.a<method>`` when async: the naming every lucia object follows.
This module imports nothing but the standard library, so the core-only
modules (``lucia.accounts``, ``lucia.tokens``) use it without any extra installed.
"""

from __future__ import annotations

from collections.abc import Generator, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar, cast

if TYPE_CHECKING:
    from lucia.core import AsyncLucia, Lucia

__all__ = ["Call", "Operation", "adrive", "auth_call", "call", "drive"]

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Call:
    """``target.method(*args, **kwargs)``; no target means the driving ``Lucia``."""

    method: str
    args: tuple[Any, ...]
    kwargs: Mapping[str, Any] = field(default_factory=dict)
    target: Any = None


Operation = Generator[Call, Any, T]


def auth_call(method: str, *args: Any, **kwargs: Any) -> Call:
    """A call of the driving ``Lucia`` / ``AsyncLucia``'s ``method``."""
    return Call(method, args, kwargs)


def call(target: Any, method: str, *args: Any, **kwargs: Any) -> Call:
    """A call of ``target.method`` (``target.a<method>`` when driven asynchronously)."""
    return Call(method, args, kwargs, target)


def drive(operation: Operation[T], auth: Lucia | None) -> T:
    """Run ``operation`` to its end with plain calls; return its result."""
    try:
        op = operation.send(None)
        while True:
            try:
                target = auth if op.target is None else op.target
                result = getattr(target, op.method)(*op.args, **op.kwargs)
            except Exception as exc:  # handed to the operation, which may handle it
                op = operation.throw(exc)
                continue
            op = operation.send(result)
    except StopIteration as stop:
        return cast(T, stop.value)


async def adrive(operation: Operation[T], auth: AsyncLucia | None) -> T:
    """Run ``operation`` to its end, awaiting each call; return its result."""
    try:
        op = operation.send(None)
        while True:
            try:
                if op.target is None:
                    result = await getattr(auth, op.method)(*op.args, **op.kwargs)
                else:
                    result = await getattr(op.target, "a" + op.method)(*op.args, **op.kwargs)
            except Exception as exc:  # handed to the operation, which may handle it
                op = operation.throw(exc)
                continue
            op = operation.send(result)
    except StopIteration as stop:
        return cast(T, stop.value)
