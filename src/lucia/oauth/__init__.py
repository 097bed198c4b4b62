"""Sign in with OAuth 2.0 and OpenID Connect providers.

    from lucia.oauth import GitHub, generate_state, generate_code_verifier
    from lucia.oauth import provider          # any provider by slug: provider("discord", ...)

Providers build the authorization URL, exchange the code for ``OAuth2Tokens``,
and fetch the provider's user as a ``ProviderUser``, sync or async (``a``-prefixed
methods). ``SignInFlow`` (``lucia.oauth.flow``) runs the whole eight-step sign-in;
its errors (``SignInError`` and subclasses) import from here too.
"""

from lucia.oauth import errors
from lucia.oauth.client import (
    OAuth2Client,
    OAuth2Tokens,
    create_code_challenge,
    generate_code_verifier,
    generate_nonce,
    generate_state,
)
from lucia.oauth.errors import *  # noqa: F403  # every OAuth and sign-in error: errors.__all__
from lucia.oauth.flow import FlowResult, FlowStart, SignInFlow, normalize_email, safe_next
from lucia.oauth.oidc import IDTokenError, OIDCDiscoveryError, OIDCMetadata
from lucia.oauth.providers.base import OAuthProvider, ProviderUser
from lucia.oauth.providers.github import GitHub
from lucia.oauth.providers.google import Google
from lucia.oauth.providers.openid import OIDCTokens, OpenIDConnect
from lucia.oauth.providers.provider import OIDCSpecProvider, SpecProvider
from lucia.oauth.providers.registry import provider, providers, register
from lucia.oauth.providers.spec import Parameter, ProviderSpec, UserFields, UserInfoRequest

__all__ = [
    "FlowResult",
    "FlowStart",
    "GitHub",
    "Google",
    "IDTokenError",
    "OAuth2Client",
    "OAuth2Tokens",
    "OAuthProvider",
    "OIDCDiscoveryError",
    "OIDCMetadata",
    "OIDCSpecProvider",
    "OIDCTokens",
    "OpenIDConnect",
    "Parameter",
    "ProviderSpec",
    "ProviderUser",
    "SignInFlow",
    "SpecProvider",
    "UserFields",
    "UserInfoRequest",
    "create_code_challenge",
    "generate_code_verifier",
    "generate_nonce",
    "generate_state",
    "normalize_email",
    "provider",
    "providers",
    "register",
    "safe_next",
]
__all__ += errors.__all__
