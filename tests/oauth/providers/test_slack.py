"""Sign in with Slack (OpenID Connect), against answers in Slack's documented shapes
(never Slack).

Shapes: https://docs.slack.dev/reference/methods/openid.connect.token (the token
answer, errors as HTTP 200 with ``ok: false``) and
https://docs.slack.dev/reference/methods/openid.connect.userInfo (the user). The
ID token is signed with a test key whose JWKS the mock serves.
"""

from __future__ import annotations

import functools
from typing import Any

import pytest

from lucia.oauth import (
    OAuthProviderError,
    OAuthResponseError,
    ProviderFailedError,
)
from lucia.oauth.providers.slack import Slack
from tests.oauth.providers.harness import (
    IDTokenSigner,
    ProviderMock,
    answer_oidc,
    assert_authorization_url,
    assert_by_slug,
    assert_client_auth,
    assert_signed_in_email,
    assert_token_error,
    first_sign_in,
    load_fixture,
    mocked,
    refreshed,
    refused_revocation,
    revoked,
    sign_in,
    sign_in_fails,
    without,
)

ISSUER = "https://slack.com"
TOKEN = "https://slack.com/api/openid.connect.token"
USERINFO = "https://slack.com/api/openid.connect.userInfo"
KEYS = "https://slack.com/openid/connect/keys"
TEAM = "https://slack.com/team_id"

fixture = functools.partial(load_fixture, "slack")

USERINFO_ANSWER = fixture("userinfo")


slack = functools.partial(mocked, Slack)


def answering(userinfo: dict[str, Any] | None = None, **claims: Any) -> ProviderMock:
    """Slack's token answer (with an ID token carrying the user and team claims and the
    nonce sent), its keys and UserInfo."""
    info = USERINFO_ANSWER if userinfo is None else userinfo
    mock = answer_oidc(
        ProviderMock(),
        IDTokenSigner(ISSUER),
        token_url=TOKEN,
        keys_url=KEYS,
        token=fixture("token"),
        claims={"sub": info["sub"], TEAM: info.get(TEAM), **claims},
    )
    mock.route("POST", USERINFO, json=info)  # Slack's UserInfo is a POST
    return mock


def test_authorization_url_on_slacks_host_with_state_and_nonce() -> None:
    assert_authorization_url(
        slack(ProviderMock()),
        "https://slack.com/openid/connect/authorize",
        scope="openid email profile",
        pkce=False,
    )


async def test_sign_in_through_the_flow(mode: str) -> None:
    mock = answering()
    result = await first_sign_in(mode, slack, mock)
    user = result.provider_user
    # Per workspace: the team id and the user id.
    assert user.id == "T0R7GR:U0R7JM"
    assert user.email == "krane@slack-corp.com"
    assert user.email_verified is True
    assert user.name == "krane"
    assert user.avatar_url == USERINFO_ANSWER["picture"]
    assert_client_auth(mock.last("POST", TOKEN), "post")
    # UserInfo as Slack documents it: a POST with the token.
    assert mock.last("POST", USERINFO).headers["authorization"] == "Bearer xoxp-1234"


async def test_the_same_user_id_in_another_workspace_is_another_identity(mode: str) -> None:
    mock = answering({**USERINFO_ANSWER, TEAM: "T0THER"})
    user = (await sign_in(mode, slack(mock), mock=mock)).provider_user
    assert user.id == "T0THER:U0R7JM"


async def test_an_unverified_email_is_never_verified(mode: str) -> None:
    mock = answering({**USERINFO_ANSWER, "email_verified": False})
    await assert_signed_in_email(mode, slack(mock), mock, "krane@slack-corp.com")


async def test_without_the_email_scope_there_is_no_email(mode: str) -> None:
    info = {k: v for k, v in USERINFO_ANSWER.items() if not k.startswith(("email", "date_"))}
    mock = answering(info)
    await assert_signed_in_email(mode, slack(mock, scopes=["openid", "profile"]), mock, None)


async def test_a_token_error_is_http_200_with_ok_false(mode: str) -> None:
    await assert_token_error(
        mode, slack, answering(), TOKEN, fixture("token_error"), status=200, error="invalid_code"
    )


async def test_a_userinfo_error_is_http_200_with_ok_false(mode: str) -> None:
    mock = answering()
    mock.route("POST", USERINFO, json=fixture("userinfo_error"))
    await sign_in_fails(mode, slack(mock), mock, OAuthProviderError)


async def test_a_userinfo_without_ok_true_is_refused(mode: str) -> None:
    mock = answering()
    mock.route("POST", USERINFO, json=without(USERINFO_ANSWER, "ok"))
    with pytest.raises(ProviderFailedError):
        await sign_in(mode, slack(mock), mock=mock)


async def test_a_user_without_a_team_is_refused(mode: str) -> None:
    mock = answering(without(USERINFO_ANSWER, TEAM))
    with pytest.raises(ProviderFailedError):
        await sign_in(mode, slack(mock), mock=mock)


async def test_refresh_for_apps_with_token_rotation(mode: str) -> None:
    answer = {**fixture("token"), "access_token": "xoxp-new"}
    tokens, _ = await refreshed(mode, slack, TOKEN, answer, "xoxe-1-refresh")
    assert tokens.access_token == "xoxp-new"


def test_a_refresh_error_is_http_200_with_ok_false() -> None:
    mock = ProviderMock()
    mock.route("POST", TOKEN, json={"ok": False, "error": "invalid_refresh_token"})
    with pytest.raises(OAuthProviderError):
        slack(mock).refresh_access_token("xoxe-1-refresh")


REVOKE = "https://slack.com/api/auth.revoke"


async def test_revocation_is_auth_revoke_with_the_token(mode: str) -> None:
    answer = {"ok": True, "revoked": True}
    sent = await revoked(mode, slack, "xoxp-the-token", REVOKE, json=answer)
    assert sent.headers["authorization"] == "Bearer xoxp-the-token"
    # The token travels in the header only: not in the URL, not in a body.
    assert "xoxp-the-token" not in str(sent.url)
    assert sent.content == b""


@pytest.mark.parametrize(
    ("answer", "error"),
    [
        ({"ok": False, "error": "invalid_auth"}, OAuthProviderError),
        ({"ok": True, "revoked": False}, OAuthResponseError),
    ],
)
def test_a_refused_revocation_raises(answer: dict[str, Any], error: type[Exception]) -> None:
    # Slack answers HTTP 200 either way.
    refused_revocation(slack, REVOKE, error, json=answer, token="xoxp-the-token")


def test_by_slug_is_the_same_provider() -> None:
    assert_by_slug("slack", Slack)
