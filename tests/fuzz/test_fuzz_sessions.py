"""Fuzzing session tokens: ``parse_token`` and ``validate_session`` on a memory and a
SQLite store holding real sessions (SECURITY.md items 2, 3).

The property: only a real token validates, and validating anything creates no
session; no input raises.
"""

from __future__ import annotations

import string
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import Phase, example, find, given, settings
from hypothesis import strategies as st

from lucia import Lucia
from lucia.adapters.memory import MemoryAdapter
from lucia.adapters.sqlite import SQLiteAdapter
from lucia.sessions import parse_token
from tests.fuzz.common import ATTACK_TEXT, fuzz

B64URL = string.ascii_letters + string.digits + "-_"


@st.composite
def mutated(draw: st.DrawFn, token: str) -> str:
    """A real token with one small edit: a character replaced, inserted or removed,
    the halves swapped, case flipped, padding or whitespace added."""
    how = draw(st.sampled_from(["replace", "insert", "delete", "swap", "case", "pad", "cut"]))
    i = draw(st.integers(0, len(token) - 1))
    char = draw(st.one_of(st.sampled_from(B64URL + ".=%+/ \x00"), st.characters()))
    if how == "replace":
        return token[:i] + char + token[i + 1 :]
    if how == "insert":
        return token[:i] + char + token[i:]
    if how == "delete":
        return token[:i] + token[i + 1 :]
    if how == "swap":
        left, _, right = token.partition(".")
        return f"{right}.{left}"
    if how == "case":
        return token.swapcase()
    if how == "pad":
        return draw(st.sampled_from([" ", "=", "\t", "\n"])) + token + draw(st.just("="))
    return token[:i]


token_shaped = st.tuples(
    st.text(alphabet=B64URL, min_size=20, max_size=20),
    st.text(alphabet=B64URL, min_size=43, max_size=43),
).map(".".join)


@fuzz(500)
@given(
    st.one_of(
        ATTACK_TEXT,
        st.text(max_size=100),
        token_shaped,
        # One edit away from a token: the shapes parse_token must tell apart.
        token_shaped.flatmap(mutated),
        st.binary(max_size=70),
    )
)
@example("a" * 20 + "." + "b" * 43)
@example("é" * 20 + "." + "b" * 43)
def test_fuzz_sec3_parse_token(value: object) -> None:
    parsed = parse_token(value)
    if parsed is None:
        return
    session_id, secret = parsed
    assert isinstance(value, str)
    assert value == f"{session_id}.{secret}"
    assert len(session_id) == 20
    assert len(secret) == 43
    assert value.isascii()
    assert session_id.isprintable()  # no control character reaches a store (item 45)


def test_fuzz_sec3_near_tokens_reach_both_answers() -> None:
    # Edited tokens must sometimes still parse (a replaced character) and sometimes
    # not (a cut, a control character in the id): Hypothesis has to find each.
    near = token_shaped.flatmap(mutated)
    quick = settings(max_examples=300, database=None, derandomize=True, phases=[Phase.generate])
    find(near, lambda value: parse_token(value) is not None, settings=quick)
    find(near, lambda value: parse_token(value) is None and len(value) == 64, settings=quick)


@pytest.fixture(scope="module", params=["memory", "sqlite"])
def store(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Lucia, list[str], dict[str, str]]]:
    """A Lucia with two users and three real sessions; returns the tokens and their users."""
    if request.param == "memory":
        adapter: MemoryAdapter | SQLiteAdapter = MemoryAdapter()
    else:
        adapter = SQLiteAdapter(Path(tmp_path_factory.mktemp("fuzz")) / "auth.db")
    adapter.create_tables()
    auth = Lucia(adapter)
    owners: dict[str, str] = {}
    for name in ("alice", "bob"):
        user = auth.create_user("email", f"{name}@example.test")
        for _ in range(1 if name == "bob" else 2):
            session = auth.create_session(user.id)
            assert session.token is not None
            owners[session.token] = user.id
    yield auth, list(owners), owners
    if isinstance(adapter, SQLiteAdapter):
        adapter.close()


def _session_count(auth: Lucia, owners: dict[str, str]) -> int:
    return sum(len(auth.get_user_sessions(user_id)) for user_id in set(owners.values()))


@fuzz(250)
@given(data=st.data())
def test_fuzz_sec2_validate_session_only_real_tokens(
    store: tuple[Lucia, list[str], dict[str, str]], data: st.DataObject
) -> None:
    auth, tokens, owners = store
    real = data.draw(st.sampled_from(tokens))
    candidate = data.draw(
        st.one_of(
            mutated(real),
            token_shaped,
            ATTACK_TEXT,
            st.text(max_size=80),
            # Another session's id with this one's secret, and the reverse.
            st.sampled_from(tokens).map(
                lambda other: other.split(".")[0] + "." + real.split(".")[1]
            ),
            st.just(real),
        )
    )
    before = _session_count(auth, owners)
    result = auth.validate_session(candidate)
    if candidate in owners:
        assert result is not None
        session, user = result
        assert user.id == owners[candidate]
        assert session.user_id == user.id
    else:
        assert result is None
    assert _session_count(auth, owners) == before
