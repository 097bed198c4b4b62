"""The scopes asked for reach the provider's login URL: per call, per provider and
through the sign-in flow. No network: the URLs are only built."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest

from lucia import Lucia
from lucia.adapters.memory import MemoryAdapter
from lucia.oauth import GitHub, Google, OAuthProvider, OIDCMetadata, OpenIDConnect, SignInFlow

REDIRECT_URI = "https://app.example/login/callback"
METADATA = OIDCMetadata(
    issuer="https://id.example",
    authorization_endpoint="https://id.example/authorize",
    token_endpoint="https://id.example/token",
    jwks_uri="https://id.example/jwks",
)


def scope_of(url: str) -> list[str]:
    (scope,) = parse_qs(urlsplit(url).query)["scope"]
    return scope.split(" ")


def providers() -> list[OAuthProvider]:
    return [
        GitHub("id", "secret", REDIRECT_URI),
        Google("id", "secret", REDIRECT_URI),
        OpenIDConnect(
            "https://id.example", "id", "secret", REDIRECT_URI, metadata=METADATA, name="corp"
        ),
    ]


@pytest.mark.parametrize("provider", providers(), ids=lambda p: p.name)
def test_requested_scopes_are_in_the_login_url_in_order(provider: OAuthProvider) -> None:
    url = provider.create_authorization_url("state", scopes=["read:org", "email", "x.y/z"])
    asked = ["read:org", "email", "x.y/z"]
    # OpenID providers always ask for "openid" too, first.
    expected = asked if isinstance(provider, GitHub) else ["openid", *asked]
    assert scope_of(url) == expected


@pytest.mark.parametrize(
    ("provider", "default"),
    [
        (GitHub("id", "secret", REDIRECT_URI), ["read:user", "user:email"]),
        (Google("id", "secret", REDIRECT_URI), ["openid", "email", "profile"]),
        (
            Google("id", "secret", REDIRECT_URI, scopes=("openid", "email")),
            ["openid", "email"],
        ),
        (
            OpenIDConnect(
                "https://id.example",
                "id",
                "secret",
                REDIRECT_URI,
                metadata=METADATA,
                scopes=("email", "groups"),
            ),
            ["openid", "email", "groups"],
        ),
    ],
)
def test_the_providers_scopes_when_none_are_asked_for(provider: GitHub, default: list[str]) -> None:
    assert scope_of(provider.create_authorization_url("state")) == default


def test_scopes_asked_of_the_flow_reach_the_login_url() -> None:
    flow = SignInFlow(
        Lucia(MemoryAdapter()),
        providers(),
        secure_cookies=False,
        secret_keys=["a test key of thirty-two bytes!!"],
    )
    assert scope_of(flow.start("github", scopes=["repo", "gist"]).url) == ["repo", "gist"]
    assert scope_of(flow.start("github").url) == ["read:user", "user:email"]
    assert scope_of(flow.start("google", scopes=["email"]).url) == ["openid", "email"]
    assert scope_of(flow.start("corp", scopes=["groups"]).url) == ["openid", "groups"]
