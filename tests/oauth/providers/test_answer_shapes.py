"""The plain OAuth 2.0 providers against answers of shapes no provider documents: a list,
null, a string, a number, wrong types in the fields lucia reads, JSON nested deeper than
Python's parser recurses. Each must give a clean ``OAuthError`` (or a user when the
answer still holds one), never another exception, and never a verified address out of
an answer that does not say so; and an error body must never pass as success. Sync only:
the answers are read by the same code in both modes."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from lucia.oauth import OAuth2Tokens, OAuthError
from lucia.oauth.providers import SpecProvider
from tests.oauth.providers.harness import PLAIN_PROVIDERS, plain_provider

# Deeper than any recursive JSON parser goes: Python's raises RecursionError.
DEEP = b"[" * 100_000
DEEP_OBJECT = b'{"a":' * 100_000

ODD_USERS: list[Any] = [
    None,
    [],
    [{"id": "1"}],
    "a string",
    12,
    True,
    {},
    {"id": None},
    {"id": []},
    {"id": {"nested": 1}},
    {"id": True},
    {"id": 1.5},
    {"data": [], "user": [], "response": [], "uuid": [], "account_id": []},
    {"data": "s", "user": "s", "response": "s"},
    {"resultcode": "00", "response": None},
    {"resultcode": None, "response": {"id": "1"}},
    {"kakao_account": "s", "id": 1},
    {"kakao_account": {"profile": [], "email": 5, "is_email_verified": True}, "id": 1},
    {"id": "1", "email": ["a@example.com"], "verified": True, "email_verified": True},
    {"id": "1", "email": {"a": 1}, "verified": "true"},
    {"id": "1", "name": {"display_name": []}, "images": "s", "picture": {"data": []}},
    {"id": "1", "links": [], "avatar": {"a": 1}, "default_avatar_id": 5},
    {"error": {"message": "m", "code": 190}},
    {"error": 401, "message": "Unauthorized"},
]


def tokens() -> OAuth2Tokens:
    return OAuth2Tokens(access_token="an-access-token", scopes=("users.email",))


@pytest.mark.parametrize("cls", PLAIN_PROVIDERS, ids=lambda cls: cls.__name__)
def test_an_odd_user_answer_is_a_clean_oauth_error(cls: type[SpecProvider]) -> None:
    bodies = [json.dumps(shape).encode() for shape in ODD_USERS] + [DEEP, DEEP_OBJECT]
    for body in bodies:
        provider = plain_provider(cls, httpx.Response(200, content=body))
        try:
            user = provider.get_user(tokens())
        except OAuthError:
            continue
        except Exception as exc:  # pragma: no cover - the failure being tested for
            pytest.fail(f"{cls.__name__} raised {type(exc).__name__} on {body[:60]!r}")
        # Each odd answer that still holds a user holds no address with a usable flag.
        assert user.email_verified is False, body


@pytest.mark.parametrize("cls", PLAIN_PROVIDERS, ids=lambda cls: cls.__name__)
@pytest.mark.parametrize("body", [DEEP, DEEP_OBJECT], ids=["array", "object"])
def test_a_deeply_nested_token_answer_is_a_clean_oauth_error(
    cls: type[SpecProvider], body: bytes
) -> None:
    provider = plain_provider(cls, httpx.Response(200, content=body))
    with pytest.raises(OAuthError):
        provider.read_tokens(httpx.Response(200, content=body), what="the token request")
