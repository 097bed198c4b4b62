"""Sign in with Spotify: OAuth 2.0 (authorization code), the user from ``/v1/me``.

Spotify documents the address ``/v1/me`` returns (``user-read-email`` scope) as
"unverified; there is no proof that it actually belongs to the user", so
``email_verified`` is always False. The client authenticates with HTTP Basic at
the token endpoint and also sends PKCE S256: Spotify's authorization endpoint
takes ``code_challenge`` (its PKCE flow page) and binds it to the code, so the
token request must then carry the verifier, secret or not.
"""

from __future__ import annotations

from lucia.oauth.providers.provider import SpecProvider
from lucia.oauth.providers.spec import ProviderSpec, UserFields

__all__ = ["Spotify"]


class Spotify(SpecProvider):
    """Spotify accounts (``user.id`` is the Spotify user ID; the email is never verified)."""

    spec = ProviderSpec(
        slug="spotify",
        name="Spotify",
        authorization_endpoint="https://accounts.spotify.com/authorize",
        token_endpoint="https://accounts.spotify.com/api/token",
        userinfo_endpoint="https://api.spotify.com/v1/me",
        # display_name and images need no scope; the address needs user-read-email.
        scopes=("user-read-email",),
        user=UserFields(name="display_name", avatar_url="images.0.url"),
        email="unverified",
        docs=(
            "https://developer.spotify.com/documentation/web-api/tutorials/code-flow",
            "https://developer.spotify.com/documentation/web-api/tutorials/code-pkce-flow",
            "https://developer.spotify.com/documentation/web-api/tutorials/refreshing-tokens",
            "https://developer.spotify.com/documentation/web-api/reference/get-current-users-profile",
        ),
    )
