"""Several session cookies in one request (SECURITY.md item 48): the framework-free
pieces every integration uses. At the HTTP level: tests/integrations/test_duplicate_cookies.py."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lucia import AsyncLucia, Lucia
from lucia.adapters.memory import AsyncMemoryAdapter, MemoryAdapter
from lucia.cookies import read_cookie, read_cookies
from lucia.core import MAX_SESSION_COOKIES
from tests.conftest import Clock

A = "A" * 20 + "." + "B" * 43
C = "C" * 20 + "." + "D" * 43


@pytest.fixture
def auth(clock: Clock) -> Lucia:
    return Lucia(MemoryAdapter(), clock=clock, session_expires_in=timedelta(hours=2))


def test_sec48_every_session_cookie_is_read_in_the_order_sent(auth: Lucia) -> None:
    header = f"x=1; auth_session={A}; theme=dark; auth_session={C}"
    assert auth.read_session_cookies(header) == [A, C]
    assert auth.read_session_cookie(header) == A  # the single reader: first as before
    # Empty, malformed and repeated values are no extra token; other names never are.
    header = (
        f'auth_session=; auth_session={A}; auth_session="{A}"; auth_session=a b; Auth_session={C}'
    )
    assert auth.read_session_cookies(header) == [A]
    for nothing in [None, "", "auth_session=", "other=1", 42, "auth_session=" + "x" * 70_000]:
        assert auth.read_session_cookies(nothing) == []  # type: ignore[arg-type]


def test_sec48_the_cookies_read_are_bounded(auth: Lucia) -> None:
    many = [f"{c * 20}.{c * 43}" for c in "EFGHIJKLMNOP"]
    header = "; ".join(f"auth_session={token}" for token in many)
    # One more than are tried: enough to tell that some went untried.
    assert auth.read_session_cookies(header) == many[: MAX_SESSION_COOKIES + 1]


def test_sec48_the_first_valid_token_is_used(auth: Lucia) -> None:
    user = auth.create_user("github", "1")
    session = auth.create_session(user.id)
    assert session.token is not None
    for tokens in ([A, session.token], [session.token, A], [A, C, "junk", session.token]):
        found = auth.validate_session_tokens(tokens)
        assert found is not None
        assert found[0].id == session.id
    assert auth.validate_session_tokens([A, C]) is None
    assert auth.validate_session_tokens([]) is None
    # Past the bound nothing is tried, valid or not.
    assert auth.validate_session_tokens([A] * MAX_SESSION_COOKIES + [session.token]) is None


async def test_sec48_the_first_valid_token_is_used_async(clock: Clock) -> None:
    auth = AsyncLucia(AsyncMemoryAdapter(), clock=clock)
    user = await auth.create_user("github", "1")
    session = await auth.create_session(user.id)
    assert session.token is not None
    found = await auth.validate_session_tokens([A, C, session.token])
    assert found is not None
    assert found[0].id == session.id
    assert await auth.validate_session_tokens([A, C]) is None
    assert (await auth.validate_session_tokens([session.token])) is not None


def test_sec48_a_cookie_is_cleared_only_when_none_sent_can_be_valid(
    auth: Lucia, clock: Clock
) -> None:
    user = auth.create_user("github", "1")
    session = auth.create_session(user.id)
    assert session.token is not None
    found = auth.validate_session_tokens([A, session.token])
    assert found is not None
    assert auth.session_cookie_upkeep([A, session.token], found[0]) is None
    assert auth.session_cookie_upkeep([], None) is None  # no cookie: nothing to clear
    blank = auth.session_cookie_upkeep([A, C], None)
    assert blank is not None
    assert blank.attributes.max_age == 0
    # More cookies than are tried: one untried may be the real one, so none is cleared.
    assert auth.session_cookie_upkeep([A] * (MAX_SESSION_COOKIES + 1), None) is None
    clock.advance(minutes=61)
    renewed = auth.validate_session_tokens([A, session.token])
    assert renewed is not None
    assert renewed[0].fresh
    cookie = auth.session_cookie_upkeep([A, session.token], renewed[0])
    assert cookie is not None
    assert cookie.value == session.token


def test_sec48_one_cookie_takes_the_direct_path(
    auth: Lucia, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The usual request holds one session cookie: it goes straight to
    # validate_session, not through the walk over several cookies.
    user = auth.create_user("github", "1")
    session = auth.create_session(user.id)
    walked: list[int] = []
    walk = Lucia._first_valid

    def spy(self: Lucia, tokens: Sequence[str]) -> object:
        walked.append(len(tokens))
        return walk(self, tokens)

    monkeypatch.setattr(Lucia, "_first_valid", spy)
    assert auth.validate_session_tokens([session.token or ""]) is not None
    assert walked == []
    assert auth.validate_session_tokens([A, session.token or ""]) is not None
    assert walked == [2]


def _reference(header: str, name: str, limit: int) -> list[str]:
    """What ``read_cookies`` promises, by the plain walk over every pair: pairs end at
    ";", and at a comma after a blank or after a pair of ``name`` (nowhere else)."""
    from lucia.cookies import _cookie_value

    values: list[str] = []
    for piece in header.split(";"):
        rest, comma = piece, ","
        while comma:
            crumb, comma, rest = rest.partition(",")
            pair_name, sep, raw_value = crumb.strip(" \t").partition("=")
            if pair_name == name and sep:
                value = _cookie_value(raw_value)
                if value and value not in values:
                    values.append(value)
            elif pair_name or sep:
                break  # another cookie's value: its commas are not separators
    return values[:limit]


_PIECES = st.sampled_from(
    ["auth_session", "xauth_session", "auth_sessionx", "a", "auth_session ", " auth_session"]
)
_VALUES = st.sampled_from(
    [A, C, "", '""', f'"{A}"', "a b", "x=auth_session=1", "auth_session=" + A, "v,w", "\t" + A]
)
_SEPARATORS = st.sampled_from(["; ", ";", " ; ", "\t;", ";;", "", "\n", ",", ", ", ";,", "; ,"])


@settings(max_examples=300, derandomize=True, database=None, deadline=None)
@given(
    st.lists(
        st.tuples(_PIECES, st.sampled_from(["=", "", " ="]), _VALUES, _SEPARATORS), max_size=6
    ),
    st.text(max_size=3),
)
def test_sec48_the_fast_reader_reads_as_the_walk_over_every_pair(
    pairs: list[tuple[str, str, str, str]], noise: str
) -> None:
    header = noise + "".join(name + eq + value + sep for name, eq, value, sep in pairs)
    for limit in (1, MAX_SESSION_COOKIES + 1):
        assert read_cookies(header, "auth_session", limit) == _reference(
            header, "auth_session", limit
        ), header
    first = read_cookie(header, "auth_session")
    if header.count("auth_session=") == 1:
        assert read_cookies(header, "auth_session", 5) == ([] if first is None else [first])
