"""OAuth 2.0 / OpenID Connect providers: their catalog, a module for each with hooks, and
the registry.

    from lucia.oauth.providers import Discord
    discord = Discord(client_id, client_secret, redirect_uri)

    from lucia.oauth import provider
    discord = provider("discord", client_id=..., client_secret=..., redirect_uri=...)

A provider is a ``ProviderSpec`` (``lucia.oauth.providers.spec``) on a
``SpecProvider`` or ``OIDCSpecProvider`` subclass, plus public hooks for what the
data cannot say (docs/oauth/add-a-provider.md). lucia's own specs are the entries of
``catalog.toml`` (``lucia.oauth.providers.catalog``); a provider without hooks has no
module: its class is made from its entry (``registry.catalog_class``).
"""

from typing import TYPE_CHECKING

from lucia.oauth.providers.apple import Apple
from lucia.oauth.providers.base import OAuthProvider, ProviderUser
from lucia.oauth.providers.bitbucket import Bitbucket
from lucia.oauth.providers.cognito import Cognito
from lucia.oauth.providers.dropbox import Dropbox
from lucia.oauth.providers.facebook import Facebook
from lucia.oauth.providers.github import GitHub
from lucia.oauth.providers.google import Google
from lucia.oauth.providers.kakao import Kakao
from lucia.oauth.providers.line import Line
from lucia.oauth.providers.linkedin import LinkedIn
from lucia.oauth.providers.microsoft import Microsoft
from lucia.oauth.providers.naver import Naver
from lucia.oauth.providers.okta import Okta
from lucia.oauth.providers.openid import OpenIDConnect
from lucia.oauth.providers.provider import OIDCSpecProvider, ProviderOptions, SpecProvider
from lucia.oauth.providers.reddit import Reddit
from lucia.oauth.providers.registry import catalog_class, provider, providers, register
from lucia.oauth.providers.slack import Slack
from lucia.oauth.providers.spec import (
    Parameter,
    ProviderSpec,
    UserFields,
    UserInfoRequest,
)
from lucia.oauth.providers.twitch import Twitch
from lucia.oauth.providers.vk import VK
from lucia.oauth.providers.x import X
from lucia.oauth.providers.yandex import Yandex

if TYPE_CHECKING:
    # The providers without hooks, made from their catalog entries below, as type
    # checkers see them: a class of that name on the right base (checked by
    # tests/oauth/providers/test_catalog_file.py).
    class Auth0(OIDCSpecProvider): ...

    class Discord(SpecProvider): ...

    class GitLab(OIDCSpecProvider): ...

    class Keycloak(OIDCSpecProvider): ...

    class Salesforce(OIDCSpecProvider): ...

    class Spotify(SpecProvider): ...

else:
    Auth0 = catalog_class("auth0")
    Discord = catalog_class("discord")
    GitLab = catalog_class("gitlab")
    Keycloak = catalog_class("keycloak")
    Salesforce = catalog_class("salesforce")
    Spotify = catalog_class("spotify")

__all__ = [
    "VK",
    "Apple",
    "Auth0",
    "Bitbucket",
    "Cognito",
    "Discord",
    "Dropbox",
    "Facebook",
    "GitHub",
    "GitLab",
    "Google",
    "Kakao",
    "Keycloak",
    "Line",
    "LinkedIn",
    "Microsoft",
    "Naver",
    "OAuthProvider",
    "OIDCSpecProvider",
    "Okta",
    "OpenIDConnect",
    "Parameter",
    "ProviderOptions",
    "ProviderSpec",
    "ProviderUser",
    "Reddit",
    "Salesforce",
    "Slack",
    "SpecProvider",
    "Spotify",
    "Twitch",
    "UserFields",
    "UserInfoRequest",
    "X",
    "Yandex",
    "provider",
    "providers",
    "register",
]
