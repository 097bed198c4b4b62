"""Sign in with GitHub (github.com or a GitHub Enterprise Server).

GitHub's quirks, handled here:

- token errors come back as HTTP 200 with an ``error`` field: the ``"oauth2"``
  error convention reads them whatever the status (``OAuthProviderError``);
- the stable identifier is the numeric ``id`` (the ``login`` can be renamed and
  then reused by someone else);
- the profile's ``email`` is only the *public* address and says nothing about
  verification: the verified primary address comes from ``/user/emails``, which
  needs the ``user:email`` scope.
"""

from __future__ import annotations

import base64
import logging
from collections.abc import Mapping, Sequence
from typing import Any

import httpx

from lucia.oauth.client import USER_AGENT, OAuth2Tokens
from lucia.oauth.errors import OAuthResponseError
from lucia.oauth.providers.catalog import catalog_spec
from lucia.oauth.providers.core import ProviderUser
from lucia.oauth.providers.provider import SpecProvider
from lucia.oauth.providers.spec import Endpoints

__all__ = ["GITHUB_API_VERSION", "GitHub", "parse_github_user"]

logger = logging.getLogger("lucia.oauth.github")

_SPEC = catalog_spec("github")
#: The REST API version lucia's requests name (the catalog's, in its user request).
GITHUB_API_VERSION = _SPEC.userinfo.headers["X-GitHub-Api-Version"]
_GITHUB_WEB = "https://github.com"
_GITHUB_API = "https://api.github.com"


class GitHub(SpecProvider):
    """GitHub OAuth apps and GitHub Apps' user authorization.

    With ``enterprise_url`` (``https://github.example.com``) the provider talks to
    that GitHub Enterprise Server: the same paths, and the REST API under
    ``/api/v3``. Users are keyed on ``("github", str(numeric id))``; an app that
    signs in against two GitHub servers should give each its own ``name``
    (``name="github-work"``, or a subclass with ``name = "github-work"``), as their
    id spaces overlap.
    """

    spec = _SPEC

    @property
    def api_url(self) -> str:
        """The REST API's base URL (``https://api.github.com``, or the server's ``/api/v3``)."""
        base = self.parameters.get("enterprise_url")
        return _GITHUB_API if base is None else f"{base}/api/v3"

    def resolve_endpoints(self) -> Endpoints:
        """github.com's endpoints, or the same paths on the Enterprise Server."""
        endpoints = super().resolve_endpoints()
        base = self.parameters.get("enterprise_url")
        if base is None:
            return endpoints
        api = f"{base}/api/v3"

        def rebase(url: str) -> str:
            if url.startswith(_GITHUB_API):
                return api + url.removeprefix(_GITHUB_API)
            return base + url.removeprefix(_GITHUB_WEB)

        return endpoints.moved(rebase)

    def user_requests(self, tokens: OAuth2Tokens) -> Sequence[httpx.Request]:
        """``/user``, then ``/user/emails`` for the verified primary address."""
        profile = self.userinfo_request(tokens)
        # Always ask for the emails: even a public profile email says nothing
        # about verification.
        emails = httpx.Request("GET", f"{self.api_url}/user/emails", headers=profile.headers)
        return (profile, emails)

    def parse_user(self, tokens: OAuth2Tokens, responses: Sequence[httpx.Response]) -> ProviderUser:
        """The user of ``/user`` with the address ``/user/emails`` marks verified
        (``parse_github_user``)."""
        profile_response, emails_response = responses
        profile = self.read_json(profile_response, what="the GitHub user request")
        emails: Any = None
        if emails_response.status_code in (403, 404):
            # The user:email scope was not granted (GitHub answers 404 or 403):
            # the public email may still be used, but never as verified.
            logger.debug("github: /user/emails refused (HTTP %d)", emails_response.status_code)
        else:
            emails = self.read_json(emails_response, what="the GitHub emails request")
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
        secret = self._client_secret or ""
        credentials = base64.b64encode(f"{client_id}:{secret}".encode()).decode()
        assert self.endpoints.revocation is not None  # the spec has one
        headers = {
            "Authorization": f"Basic {credentials}",
            "Accept": "application/vnd.github+json",
            "X-GitHub-Api-Version": GITHUB_API_VERSION,
            "User-Agent": USER_AGENT,
        }
        return httpx.Request(
            "DELETE", self.endpoints.revocation, headers=headers, json={"access_token": token}
        )

    def read_revocation(self, response: httpx.Response) -> None:
        """Nothing for a revocation GitHub accepted (204); else the right ``OAuthError``
        (an error body too, whatever the status, as with GitHub's token errors)."""
        self.client.read_revocation(response)
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
