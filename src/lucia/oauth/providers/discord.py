"""Sign in with Discord: OAuth 2.0 with PKCE; the user from ``/users/@me``.

``id`` is the user's snowflake; ``email`` needs the ``email`` scope and comes with
Discord's ``verified`` flag; the avatar URL is built from the avatar hash.
"""

from __future__ import annotations

from lucia.oauth.providers.provider import SpecProvider
from lucia.oauth.providers.spec import ProviderSpec, UserFields

__all__ = ["Discord"]


class Discord(SpecProvider):
    """Discord accounts (``user.id`` is the snowflake; ``email_verified`` is Discord's flag)."""

    spec = ProviderSpec(
        slug="discord",
        name="Discord",
        authorization_endpoint="https://discord.com/oauth2/authorize",
        token_endpoint="https://discord.com/api/oauth2/token",
        userinfo_endpoint="https://discord.com/api/users/@me",
        revocation_endpoint="https://discord.com/api/oauth2/token/revoke",
        issuer="https://discord.com",
        scopes=("identify", "email"),
        user=UserFields(
            email_verified="verified",
            name=("global_name", "username"),
            username="username",
            avatar_url_template="https://cdn.discordapp.com/avatars/{id}/{avatar}.png",
        ),
        docs=(
            "https://discord.com/developers/docs/topics/oauth2",
            "https://discord.com/developers/docs/resources/user#user-object",
            "https://discord.com/.well-known/oauth-authorization-server",
        ),
    )
