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
from lucia.oauth.providers.catalog import catalog_spec
from lucia.oauth.providers.provider import OIDCSpecProvider, ProviderOptions

__all__ = ["GOOGLE_ISSUER", "GOOGLE_METADATA", "Google"]

_SPEC = catalog_spec("google")
# The catalog's Google entry has them all (they are the endpoints of its discovery).
assert _SPEC.issuer is not None
assert _SPEC.authorization_endpoint is not None
assert _SPEC.token_endpoint is not None
assert _SPEC.jwks_uri is not None

GOOGLE_ISSUER = _SPEC.issuer
GOOGLE_METADATA = OIDCMetadata(
    issuer=GOOGLE_ISSUER,
    authorization_endpoint=_SPEC.authorization_endpoint,
    token_endpoint=_SPEC.token_endpoint,
    userinfo_endpoint=_SPEC.userinfo_endpoint,
    revocation_endpoint=_SPEC.revocation_endpoint,
    jwks_uri=_SPEC.jwks_uri,
    id_token_signing_alg_values_supported=_SPEC.id_token_algorithms,
    token_endpoint_auth_methods_supported=("client_secret_post", "client_secret_basic"),
    code_challenge_methods_supported=("plain", "S256"),
)


class Google(OIDCSpecProvider):
    """Google accounts. ``user.id`` is Google's ``sub``; ``email_verified`` is Google's own flag.

    ``access_type="offline"`` asks for a refresh token, which Google sends at
    the first consent only unless ``prompt="consent"`` is also set.
    """

    spec = _SPEC

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
