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

from lucia.oauth._async.http import _AsyncProviderHTTP
from lucia.oauth._sync.http import _ProviderHTTP
from lucia.oauth.providers.core import ProviderCore, ProviderUser

__all__ = ["OAuthProvider", "ProviderCore", "ProviderUser"]


class OAuthProvider(_ProviderHTTP, _AsyncProviderHTTP):
    """Base class of the providers (GitHub, Google, OpenIDConnect, ...): a
    ``ProviderCore`` (configuration and hooks) with its calls, sync and async."""
