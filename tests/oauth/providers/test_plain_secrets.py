"""No secret of a sign-in with a plain OAuth 2.0 provider reaches a URL, a log record, an
exception or a repr (SECURITY.md items 9 and 42): the client secret, the code, the PKCE
verifier, the access and refresh tokens. Each of the 12 providers runs its whole life,
the code exchange, the user, a refresh and a revocation where it offers them, and a
refused token request and user request, at DEBUG, against one mock that answers every
provider's requests in a shape it reads."""

from __future__ import annotations

import logging
from urllib.parse import parse_qsl, unquote

import httpx
import pytest

from lucia.oauth import OAuth2Tokens, OAuthError
from lucia.oauth.providers import VK
from lucia.oauth.providers.provider import SpecProvider
from tests.oauth.providers.harness import PLAIN_PROVIDERS, plain_provider

CLIENT_SECRET = "client-secret-6f1d0c2b9a"
CODE = "the-code-5e8a2d1c7b"
VERIFIER = "the-verifier-" + "v" * 40
ACCESS = "access-token-3c9e7a1f0d"
REFRESH = "refresh-token-8b2f4d6a1e"
NEW_ACCESS = "new-access-token-1a2b3c4d"
SECRETS = (CLIENT_SECRET, CODE, VERIFIER, ACCESS, REFRESH, NEW_ACCESS)

# One answer each provider reads as success: the tokens (with Naver's deletion result),
# the user in every provider's place for it, a confirmed revocation in every shape.
TOKENS = {
    "access_token": ACCESS,
    "token_type": "bearer",
    "expires_in": 3600,
    "refresh_token": REFRESH,
    "result": "success",
}
USER = {
    "id": 1,
    "uuid": "{1}",
    "account_id": "dbid:1",
    "data": {"id": "1"},
    "user": {"user_id": "1"},
    "response": {"id": "1"},
    "resultcode": "00",
}
REVOKED = {"success": True, "response": 1, "id": 1, "result": "success"}


class Mock:
    """Answers a provider's requests; ``fail`` makes the token and user requests fail with
    answers that quote what was sent (a provider's error page may)."""

    def __init__(self, provider_cls: type[SpecProvider]) -> None:
        self.cls = provider_cls
        self.requests: list[httpx.Request] = []
        self.fail = False

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        endpoints = self.provider.endpoints
        url = str(request.url.copy_with(query=None))
        if self.fail:
            return httpx.Response(400, json={"error": "invalid_request", "error_description": ""})
        if url == endpoints.token:
            return httpx.Response(200, json=TOKENS)
        if url == endpoints.revocation:
            return httpx.Response(200, json=REVOKED)
        if url.endswith("/user/emails"):
            bitbucket = request.url.host == "api.bitbucket.org"
            return httpx.Response(200, json={"values": []} if bitbucket else [])
        return httpx.Response(200, json=USER)

    def build(self) -> SpecProvider:
        self.provider = plain_provider(self.cls, self, client_secret=CLIENT_SECRET)
        return self.provider


def exchange(provider: SpecProvider) -> OAuth2Tokens:
    fields = {"device_id": "a-device", "state": "a-state"} if isinstance(provider, VK) else None
    return provider.validate_authorization_code(CODE, VERIFIER, callback_fields=fields)


@pytest.mark.parametrize("cls", PLAIN_PROVIDERS, ids=lambda cls: cls.__name__)
def test_no_secret_in_urls_logs_errors_or_reprs(
    cls: type[SpecProvider], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    mock = Mock(cls)
    provider = mock.build()
    tokens = exchange(provider)
    assert tokens.access_token == ACCESS
    user = provider.get_user(tokens)
    assert user.id
    texts = [repr(provider), repr(tokens), repr(user)]
    if provider.spec.refresh:
        refreshed = provider.refresh_access_token(REFRESH)
        texts.append(repr(refreshed))
    if provider.endpoints.revocation is not None:
        provider.revoke_token(ACCESS)
    mock.fail = True
    for attempt in (lambda: exchange(provider), lambda: provider.get_user(tokens)):
        with pytest.raises(OAuthError) as caught:
            attempt()
        texts += [str(caught.value), repr(caught.value), repr(vars(caught.value))]
    texts += [record.getMessage() for record in caplog.records]
    assert any(record.name.startswith("httpx") for record in caplog.records)
    # The URLs and their queries, decoded: a secret is in no request's URL.
    for request in mock.requests:
        texts.append(str(request.url))
        texts += [unquote(value) for _, value in parse_qsl(request.url.query.decode())]
    for secret in SECRETS:
        for text in texts:
            assert secret not in text, f"{cls.__name__}: a secret leaked into {text!r}"
