"""Sign in with Reddit: OAuth 2.0, the user from ``/api/v1/me`` (``identity`` scope).

Reddit's quirks, handled here:

- every request must carry a unique, descriptive ``User-Agent``, which Reddit
  documents as ``<platform>:<app ID>:<version string> (by /u/<reddit username>)``;
  lucia sends one naming the app's client id, and ``user_agent=`` replaces it with
  the app's own (Reddit throttles or bans generic and false ones);
- ``duration=permanent`` is required for a refresh token (``temporary``: one hour,
  no refresh);
- token errors may come back as HTTP 200 with an ``error`` field: the ``"oauth2"``
  error convention reads them whatever the status;
- ``raw_json=1`` opts out of Reddit's legacy HTML escaping of ``&``, ``<``, ``>`` in
  JSON (the avatar URL's query otherwise arrives as ``&amp;``);
- Reddit gives no email: ``email`` is None. ``id`` is the account's base-36 id,
  never the ``name`` (some accounts may rename once).
"""

from __future__ import annotations

from typing import Any

from lucia.oauth.providers.catalog import catalog_spec
from lucia.oauth.providers.provider import SpecProvider

__all__ = ["Reddit"]


class Reddit(SpecProvider):
    """Reddit accounts (``user.id`` is the base-36 account id; no email).

    ``user_agent``: the ``User-Agent`` sent with every request, in Reddit's
    format (``"web:com.example.app:v1.2.3 (by /u/you)"``); by default
    ``web:<client id>:lucia-auth-<version>``.
    """

    spec = catalog_spec("reddit")

    def __init__(
        self,
        client_id: str,
        client_secret: str | None,
        redirect_uri: str | None,
        *,
        user_agent: str | None = None,
        **options: Any,
    ) -> None:
        if user_agent is not None and not (
            isinstance(user_agent, str)
            and user_agent.strip()
            and user_agent.isascii()
            and user_agent.isprintable()
        ):
            raise ValueError("user_agent must be one line of printable ASCII")
        super().__init__(client_id, client_secret, redirect_uri, **options)
        self.user_agent = user_agent

    def headers(self) -> dict[str, str]:
        """The ``User-Agent`` Reddit requires: ``user_agent``, else the spec's."""
        headers = super().headers()
        if self.user_agent is not None:
            headers["User-Agent"] = self.user_agent
        return headers
