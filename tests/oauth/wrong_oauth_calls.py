"""Deliberately wrong OAuth calls: ``mypy --strict`` must report every line marked
``# wrong`` and nothing else (``test_typecheck.py``). Never imported or run."""

from __future__ import annotations

from collections.abc import Sequence

import httpx
from httpx import Response

from lucia.core import AsyncLucia, Lucia
from lucia.oauth._sync.http import send_request
from lucia.oauth.client import OAuth2Client, OAuth2Tokens
from lucia.oauth.flow import SignInFlow
from lucia.oauth.providers.base import OAuthProvider, ProviderUser
from lucia.oauth.providers.github import GitHub
from lucia.oauth.providers.google import Google


def provider_calls(github: GitHub, tokens: OAuth2Tokens) -> None:
    github.get_usr(tokens)  # wrong
    github.validate_authorization_code(42)  # wrong
    print(github.get_user(tokens) + 1)  # wrong
    github.revoke_token(tokens)  # wrong
    github.get_user(tokens)


async def async_provider_calls(github: GitHub, tokens: OAuth2Tokens) -> None:
    github.aget_user(tokens)  # wrong
    await github.arefresh_access_token(tokens.refresh_token)  # wrong
    await github.aget_user(tokens)


def http_calls(client: httpx.AsyncClient, request: httpx.Request) -> None:
    send_request(client, request)  # wrong


class MisspeltHook(OAuthProvider):
    def user_requests(self, tokens: OAuth2Tokens) -> Sequence[httpx.Request]:
        return ()

    def parse_usr(self, tokens: OAuth2Tokens, responses: Sequence[Response]) -> ProviderUser:
        return ProviderUser(id="1")


class WrongHook(OAuthProvider):
    def user_requests(self, tokens: str) -> Sequence[httpx.Request]:  # wrong
        return ()

    def parse_user(self, tokens: OAuth2Tokens, responses: Sequence[Response]) -> str:  # wrong
        return ""


def providers(client: OAuth2Client) -> None:
    MisspeltHook(client)  # wrong
    # Google's options besides its own keywords are typed (ProviderOptions).
    Google("id", "secret", "https://app.example/cb", timout=3)  # wrong
    Google("id", "secret", "https://app.example/cb", timeout="3")  # wrong
    Google("id", "secret", "https://app.example/cb", access_type="sometimes")  # wrong
    Google("id", "secret", "https://app.example/cb", access_type="offline", timeout=3, scopes=())


async def flow_calls(flow: SignInFlow, auth: AsyncLucia, sync_auth: Lucia) -> None:
    await flow.astart("github", nxt="/")  # wrong
    flow.callback("github", 42, None)  # wrong
    await auth.get_user_by_key("github", 42)  # wrong
    sync_auth.add_key("u1", "github")  # wrong
    await flow.acallback("github", "code=x&state=y", None)
