"""Sign in with LinkedIn using OpenID Connect.

LinkedIn's endpoints are built in (no discovery). No nonce and no PKCE are sent;
neither rests on a LinkedIn statement about this product:

- nonce: LinkedIn's pages on it name no ``nonce`` parameter, and other libraries
  report ID tokens without the nonce they sent (python-social-auth, authlib,
  directus, oqtane); one not echoed would fail every sign-in.
- PKCE: LinkedIn documents PKCE only for native apps, enabled per app by LinkedIn
  on request, with loopback redirects; a web app's ``code_verifier`` was reported
  refused at the token endpoint (``invalid_client``, in next-auth's tracker).

The client authenticates in the form body, as LinkedIn's own API client sends
``client_id`` and ``client_secret`` (Arctic: LinkedIn "doesn't seem to support
HTTP Basic"). The user is the ID token's, checked against UserInfo, whose
``email_verified`` is LinkedIn's own flag. catalog.toml names the sources.
"""

from __future__ import annotations

from typing import ClassVar

from lucia.oauth.providers.catalog import catalog_spec
from lucia.oauth.providers.provider import OIDCSpecProvider

__all__ = ["LinkedIn"]


class LinkedIn(OIDCSpecProvider):
    """LinkedIn members. ``user.id`` is LinkedIn's ``sub``. LinkedIn grants refresh
    tokens to approved partners only."""

    spec = catalog_spec("linkedin")
    # Other libraries report LinkedIn's ID tokens without the nonce sent (LinkedIn's own
    # pages are silent): one not echoed would fail every sign-in.
    uses_nonce: ClassVar[bool] = False
