"""Every adapter class in the wrong flavour of lucia fails at construction (issue 14):
a sync ``Lucia`` over an async store never awaited its coroutines and stored
nothing; ``AsyncLucia`` over a sync store failed at the first await."""

from __future__ import annotations

import pytest

from lucia import AsyncLucia, Lucia
from lucia.adapters.memory import AsyncMemoryAdapter, MemoryAdapter
from tests.conformance.model import Backend, Stores


async def test_the_other_flavour_of_lucia_is_refused_with_the_class_to_use(
    backend: Backend, stores: Stores
) -> None:
    right, wrong = (AsyncLucia, Lucia) if backend.is_async else (Lucia, AsyncLucia)
    adapter = type(stores.adapter).__name__
    with pytest.raises(TypeError, match=f"{adapter} is .*: use {right.__name__}\\b") as caught:
        wrong(stores.adapter)
    assert f"{wrong.__name__} needs" in str(caught.value)
    if stores.session_adapter is not None:
        # A user store of the wrong Lucia's own flavour: only the session store is off.
        users = MemoryAdapter() if backend.is_async else AsyncMemoryAdapter()
        sessions = type(stores.session_adapter).__name__
        with pytest.raises(TypeError, match=f"session_adapter, and {sessions} is "):
            wrong(users, session_adapter=stores.session_adapter)
    right(stores.adapter, session_adapter=stores.session_adapter)  # the right one is fine


@pytest.mark.parametrize(
    ("lucia", "adapter", "instead"),
    [
        (Lucia, AsyncMemoryAdapter, "use AsyncLucia (or MemoryAdapter)"),
        (AsyncLucia, MemoryAdapter, "use Lucia (or AsyncMemoryAdapter)"),
    ],
)
def test_the_message_names_the_counterpart_adapter(
    lucia: type[Lucia] | type[AsyncLucia], adapter: type, instead: str
) -> None:
    with pytest.raises(TypeError) as caught:
        lucia(adapter())
    assert str(caught.value).endswith(instead)
