"""Sign in with Google: OpenID Connect with PKCE and a nonce.

Google's endpoints are those of its discovery document
(https://accounts.google.com/.well-known/openid-configuration), built in so a
sign-in needs no discovery round trip; its signing keys are fetched from
``jwks_uri`` and cached like any OpenID provider's. Pass ``metadata`` to point
it elsewhere (a local stand-in in tests).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Literal, Unpack

from lucia.oauth.oidc import OIDCMetadata
from lucia.oauth.providers.catalog import catalog_spec
from lucia.oauth.providers.provider import OIDCSpecProvider, ProviderOptions, oidc_metadata

__all__ = ["GOOGLE_ISSUER", "GOOGLE_METADATA", "Google"]

_SPEC = catalog_spec("google")
GOOGLE_METADATA = dataclasses.replace(
    oidc_metadata(_SPEC, _SPEC.endpoints({})),
    # Google's discovery document lists both client authentications and PKCE methods.
    token_endpoint_auth_methods_supported=("client_secret_post", "client_secret_basic"),
    code_challenge_methods_supported=("plain", "S256"),
)
GOOGLE_ISSUER = GOOGLE_METADATA.issuer


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
