"""Sign in with LinkedIn using OpenID Connect.

LinkedIn's endpoints are built in (no discovery). Two quirks, both reported by
other libraries and handled here: LinkedIn's ID tokens carry no ``nonce`` (so
none is sent), and its token endpoint refuses ``code_verifier`` from a web app
(PKCE is for approved native apps only), so no PKCE either. LinkedIn refuses
HTTP Basic at the token endpoint: the client authenticates in the form body.
The user is the ID token's, checked against UserInfo, whose ``email_verified``
is LinkedIn's own flag.
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
    # LinkedIn's ID tokens do not echo a nonce: one sent would fail every sign-in.
    uses_nonce: ClassVar[bool] = False
