"""What every provider offers, sync and async, written once.

``OAuthProvider`` is a provider's hooks and configuration
(``lucia.oauth.providers.core.ProviderCore``) with its calls in both flavours:
``validate_authorization_code``, ``refresh_access_token``, ``revoke_token``,
``get_user`` and ``prepare``, and their ``a``-prefixed async twins, written once
in ``lucia.oauth._async.http`` (the sync ones generated from them). Each
runs with an ``httpx.Client`` or an ``httpx.AsyncClient``: a caller's own, or
one the provider makes (``timeout`` seconds, 10 by default; no redirects
followed) and closes with ``close()`` / ``aclose()``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import ClassVar

from lucia.oauth._async.http import _AsyncProviderHTTP
from lucia.oauth._sync.http import _ProviderHTTP
from lucia.oauth.providers.core import ProviderCore, ProviderUser

__all__ = ["OAuthProvider", "ProviderCore", "ProviderUser"]


class OAuthProvider(_ProviderHTTP, _AsyncProviderHTTP):
    """Base class of the providers (GitHub, Google, OpenIDConnect, ...): a
    ``ProviderCore`` (configuration and hooks) with its calls, sync and async.

    ``uses_form_post``: the provider answers the authorization request with a
    cross-site POST to the callback (``response_mode=form_post``, as Apple does);
    the sign-in flow then sets the transaction cookie ``SameSite=None; Secure``
    and the integrations' callback routes take that POST. ``callback_fields``
    are the callback parameters, besides the protocol's, that ``callback_user``
    and ``callback_code_request`` read.
    """

    uses_form_post: ClassVar[bool] = False
    callback_fields: ClassVar[tuple[str, ...]] = ()

    def callback_user(self, user: ProviderUser, fields: Mapping[str, str]) -> ProviderUser:
        """The provider's user with what the callback's ``callback_fields`` add (given
        only when the callback had them). The browser relays those fields, so the sign-in
        flow refuses a result whose id, email or ``email_verified`` differ from ``user``."""
        return user
