"""Sign in with GitHub (github.com or a GitHub Enterprise Server).

GitHub's quirks, handled here:

- token errors come back as HTTP 200 with an ``error`` field: ``json_response``
  turns them into ``OAuthProviderError``;
- the stable identifier is the numeric ``id`` (the ``login`` can be renamed and
  then reused by someone else);
- the profile's ``email`` is only the *public* address and says nothing about
  verification: the verified primary address comes from ``/user/emails``, which
  needs the ``user:email`` scope.
"""

from __future__ import annotations

import base64
import logging
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Any
from urllib.parse import quote, urlsplit

import httpx

from lucia.oauth.client import (
    DEFAULT_TIMEOUT,
    USER_AGENT,
    OAuth2Client,
    OAuth2Tokens,
    json_response,
)
from lucia.oauth.errors import OAuthResponseError
from lucia.oauth.providers.base import OAuthProvider, ProviderUser
from lucia.sessions import utc_now

__all__ = ["GITHUB_API_VERSION", "GitHub", "parse_github_user"]

logger = logging.getLogger("lucia.oauth.github")

GITHUB_API_VERSION = "2022-11-28"
_GITHUB_WEB = "https://github.com"
_GITHUB_API = "https://api.github.com"


class GitHub(OAuthProvider):
    """GitHub OAuth apps and GitHub Apps' user authorization.

    With ``enterprise_url`` (``https://github.example.com``) the provider talks to
    that GitHub Enterprise Server: the same paths, and the REST API under
    ``/api/v3``. Users are keyed on ``("github", str(numeric id))``; an app that
    signs in against two GitHub servers should give each its own ``name``
    (a subclass with ``name = "github-work"``), as their id spaces overlap.
    """

    name = "github"
    uses_pkce = True
    default_scopes = ("read:user", "user:email")

    def __init__(
        self,
        client_id: str,
        client_secret: str,
        redirect_uri: str | None,
        *,
        enterprise_url: str | None = None,
        http_client: httpx.Client | None = None,
        async_http_client: httpx.AsyncClient | None = None,
        timeout: float | httpx.Timeout = DEFAULT_TIMEOUT,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        if enterprise_url is None:
            web, api = _GITHUB_WEB, _GITHUB_API
        else:
            web = _server_url(enterprise_url)
            api = f"{web}/api/v3"
        # GitHub documents client_id and client_secret as form parameters of the
        # token request (client_secret_post). It also takes HTTP Basic, but the
        # documented form works on every GitHub Enterprise Server version too.
        client = OAuth2Client(
            client_id,
            client_secret,
            redirect_uri,
            authorization_endpoint=f"{web}/login/oauth/authorize",
            token_endpoint=f"{web}/login/oauth/access_token",
            token_endpoint_auth="client_secret_post",
            clock=clock,
        )
        super().__init__(
            client, http_client=http_client, async_http_client=async_http_client, timeout=timeout
        )
        self.api_url = api
        self._client_secret = client_secret

    def _api_request(
        self,
        method: str,
        path: str,
        authorization: str,
        *,
        json: Mapping[str, Any] | None = None,
    ) -> httpx.Request:
        headers = {
            "Authorization": authorization,
            "Accept": "application/vnd.github+json",
            "X-GitHub-Api-Version": GITHUB_API_VERSION,
            "User-Agent": USER_AGENT,
        }
        return httpx.Request(method, f"{self.api_url}{path}", headers=headers, json=json)

    def user_requests(self, tokens: OAuth2Tokens) -> Sequence[httpx.Request]:
        """``/user``, then ``/user/emails`` for the verified primary address."""
        bearer = f"Bearer {tokens.access_token}"
        # Always ask for the emails: even a public profile email says nothing
        # about verification.
        return (
            self._api_request("GET", "/user", bearer),
            self._api_request("GET", "/user/emails", bearer),
        )

    def parse_user(self, tokens: OAuth2Tokens, responses: Sequence[httpx.Response]) -> ProviderUser:
        profile_response, emails_response = responses
        profile = json_response(profile_response, what="the GitHub user request")
        emails: Any = None
        if emails_response.status_code in (403, 404):
            # The user:email scope was not granted (GitHub answers 404 or 403):
            # the public email may still be used, but never as verified.
            logger.debug("github: /user/emails refused (HTTP %d)", emails_response.status_code)
        else:
            emails = json_response(emails_response, what="the GitHub emails request")
        user = parse_github_user(profile, emails)
        logger.debug(
            "github: user id=%s login=%s email %s",
            user.id,
            user.username,
            "absent" if user.email is None else "verified" if user.email_verified else "unverified",
        )
        return user

    def revocation_request(self, token: str) -> httpx.Request:
        """GitHub's "delete an app token" (``DELETE /applications/{client_id}/token``)."""
        client_id = self.client.client_id
        # The REST API's plain HTTP Basic (RFC 7617), not the token endpoint's
        # form-encoded variant.
        credentials = base64.b64encode(f"{client_id}:{self._client_secret}".encode()).decode()
        return self._api_request(
            "DELETE",
            f"/applications/{quote(client_id, safe='')}/token",
            f"Basic {credentials}",
            json={"access_token": token},
        )

    def read_revocation(self, response: httpx.Response) -> None:
        if not response.is_success:
            # Raises: an error answer is never a success.
            json_response(response, what="the GitHub token revocation")
        logger.debug("github: token revoked")


def parse_github_user(profile: Any, emails: Any | None) -> ProviderUser:
    """The ``ProviderUser`` of a ``/user`` answer and a ``/user/emails`` answer.

    ``emails`` is None when ``/user/emails`` was refused. ``id`` is the numeric
    id as a decimal string (``OAuthResponseError`` when it is missing or not an
    integer); ``email_verified`` is True only for an address that ``/user/emails``
    marks verified: the primary one first, else the public one.
    """
    if not isinstance(profile, Mapping):
        raise OAuthResponseError("the GitHub user is not a JSON object")
    user_id = profile.get("id")
    # bool is an int in Python; a string id ("123") is not GitHub's shape either.
    if type(user_id) is not int or user_id <= 0:
        raise OAuthResponseError("the GitHub user has no numeric id")
    public_email = _string(profile.get("email"))
    if emails is None:
        email, verified = public_email, False
    elif isinstance(emails, Sequence) and not isinstance(emails, str | bytes):
        email, verified = _choose_email(public_email, emails)
    else:
        raise OAuthResponseError("the GitHub emails answer is not a JSON array")
    return ProviderUser(
        id=str(user_id),
        email=email,
        email_verified=verified,
        name=_string(profile.get("name")),
        username=_string(profile.get("login")),
        avatar_url=_string(profile.get("avatar_url")),
        raw=dict(profile),
    )


def _choose_email(public_email: str | None, emails: Sequence[Any]) -> tuple[str | None, bool]:
    entries = [
        entry
        for entry in emails
        if isinstance(entry, Mapping) and isinstance(entry.get("email"), str) and entry["email"]
    ]
    for entry in entries:
        if entry.get("primary") is True and entry.get("verified") is True:
            return entry["email"], True
    if public_email is not None:
        verified = any(
            entry["email"] == public_email and entry.get("verified") is True for entry in entries
        )
        return public_email, verified
    for entry in entries:
        if entry.get("primary") is True:
            return entry["email"], False
    return None, False


def _string(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _server_url(url: str) -> str:
    """A GitHub Enterprise Server base URL, without a trailing slash."""
    parts = urlsplit(url)
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise ValueError("enterprise_url must be an http(s) URL")
    if parts.query or parts.fragment or parts.username or parts.password:
        raise ValueError("enterprise_url must have no query, fragment or credentials")
    return url.rstrip("/")
