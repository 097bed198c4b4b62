"""Sign in with Bitbucket Cloud: OAuth 2.0, the user from ``/2.0/user`` and its
address from ``/2.0/user/emails``.

- ``id`` is the account's ``uuid`` (``{...}``), never its ``username`` or
  ``nickname``, which the user can change;
- ``/2.0/user`` carries no email: ``/2.0/user/emails`` lists every address of the
  account, confirmed or not, each with ``is_primary`` and ``is_confirmed``. The
  primary one is used, verified only when Bitbucket marks it confirmed; without
  the ``email`` permission that request is refused and there is no email;
- the OAuth consumer's permissions (set on Bitbucket) decide the scopes; lucia asks
  for ``account`` and ``email``. Access tokens last two hours; refresh them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import httpx

from lucia.oauth.client import OAuth2Tokens
from lucia.oauth.errors import OAuthResponseError
from lucia.oauth.providers.catalog import catalog_spec
from lucia.oauth.providers.core import ProviderUser
from lucia.oauth.providers.provider import SpecProvider
from lucia.oauth.providers.spec import read_user

__all__ = ["Bitbucket"]

_EMAILS = "https://api.bitbucket.org/2.0/user/emails"


class Bitbucket(SpecProvider):
    """Bitbucket Cloud accounts (``user.id`` is the account ``uuid``; the address is the
    primary one of ``/2.0/user/emails``, verified when Bitbucket says it is confirmed)."""

    spec = catalog_spec("bitbucket")

    def user_requests(self, tokens: OAuth2Tokens) -> Sequence[httpx.Request]:
        """``/2.0/user``, then ``/2.0/user/emails`` for the primary address."""
        user = self.userinfo_request(tokens)
        return (user, httpx.Request("GET", _EMAILS, headers=user.headers))

    def parse_user(self, tokens: OAuth2Tokens, responses: Sequence[httpx.Response]) -> ProviderUser:
        """The account, with its primary address when ``/2.0/user/emails`` answered."""
        account = self.read_json(responses[0], what="the Bitbucket user request")
        primary: Mapping[str, Any] = {}
        # Without the email permission Bitbucket refuses the list (403): no address.
        if responses[1].status_code != 403:
            emails = self.read_json(responses[1], what="the Bitbucket emails request")
            values = emails.get("values") if isinstance(emails, Mapping) else None
            if not isinstance(values, list):
                raise OAuthResponseError("the Bitbucket emails answer has no values")
            primary = next(
                (e for e in values if isinstance(e, Mapping) and e.get("is_primary") is True), {}
            )
        return read_user(
            account,
            self.spec.user,
            self.spec.email,
            what="the Bitbucket user",
            email_source=primary,
        )
