"""Sign in with Google: OpenID Connect with PKCE and a nonce.

Google's endpoints are those of its discovery document
(https://accounts.google.com/.well-known/openid-configuration), built in so a
sign-in needs no discovery round trip; its signing keys are fetched from
``jwks_uri`` and cached like any OpenID provider's. Pass ``metadata`` to point
it elsewhere (a local stand-in in tests).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Literal, Unpack

from lucia.oauth.oidc import OIDCMetadata
from lucia.oauth.providers.provider import OIDCSpecProvider, ProviderOptions
from lucia.oauth.providers.spec import ProviderSpec

__all__ = ["GOOGLE_ISSUER", "GOOGLE_METADATA", "Google"]

GOOGLE_ISSUER = "https://accounts.google.com"
GOOGLE_METADATA = OIDCMetadata(
    issuer=GOOGLE_ISSUER,
    authorization_endpoint="https://accounts.google.com/o/oauth2/v2/auth",
    token_endpoint="https://oauth2.googleapis.com/token",
    userinfo_endpoint="https://openidconnect.googleapis.com/v1/userinfo",
    revocation_endpoint="https://oauth2.googleapis.com/revoke",
    jwks_uri="https://www.googleapis.com/oauth2/v3/certs",
    id_token_signing_alg_values_supported=("RS256",),
    token_endpoint_auth_methods_supported=("client_secret_post", "client_secret_basic"),
    code_challenge_methods_supported=("plain", "S256"),
)


class Google(OIDCSpecProvider):
    """Google accounts. ``user.id`` is Google's ``sub``; ``email_verified`` is Google's own flag.

    ``access_type="offline"`` asks for a refresh token, which Google sends at
    the first consent only unless ``prompt="consent"`` is also set.
    """

    # The endpoints are those of GOOGLE_METADATA, Google's discovery document.
    spec = ProviderSpec(
        slug="google",
        name="Google",
        protocol="oidc",
        issuer=GOOGLE_ISSUER,
        authorization_endpoint=GOOGLE_METADATA.authorization_endpoint,
        token_endpoint=GOOGLE_METADATA.token_endpoint,
        userinfo_endpoint=GOOGLE_METADATA.userinfo_endpoint,
        revocation_endpoint=GOOGLE_METADATA.revocation_endpoint,
        jwks_uri=GOOGLE_METADATA.jwks_uri,
        scopes=("openid", "email", "profile"),
        # Google documents both forms of its issuer in ID tokens.
        additional_issuers=("accounts.google.com",),
        docs=(
            "https://developers.google.com/identity/openid-connect/openid-connect",
            "https://accounts.google.com/.well-known/openid-configuration",
            "https://developers.google.com/identity/protocols/oauth2/web-server",
        ),
    )

    def __init__(
        self,
        client_id: str,
        client_secret: str,
        redirect_uri: str,
        *,
        access_type: Literal["online", "offline"] | None = None,
        prompt: str | None = None,
        metadata: OIDCMetadata = GOOGLE_METADATA,
        **options: Unpack[ProviderOptions],
    ) -> None:
        super().__init__(client_id, client_secret, redirect_uri, metadata=metadata, **options)
        self.access_type = access_type
        self.prompt = prompt

    def authorization_params(self) -> Mapping[str, str]:
        """``access_type`` and ``prompt``, when set."""
        params: dict[str, str] = {}
        if self.access_type is not None:
            params["access_type"] = self.access_type
        if self.prompt is not None:
            params["prompt"] = self.prompt
        return params
