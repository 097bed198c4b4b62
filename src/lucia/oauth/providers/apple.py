"""Sign in with Apple: OpenID Connect whose user comes from the ID token alone.

Three things set Apple apart, each handled here:

- The client secret is an ES256 JWT that lucia makes from the team id, the key
  id and the Sign in with Apple private key (the .p8 file, given as
  ``client_secret`` or ``private_key``), and renews before it expires
  (``AppleClientSecret``); the key itself is never sent or shown.
- Apple requires ``response_mode=form_post`` when the ``name`` or ``email``
  scope is asked for, and lucia always asks for it: the callback is a
  cross-site POST from appleid.apple.com. The sign-in flow sets the transaction cookie
  ``SameSite=None; Secure`` for such a provider, and the integrations' callback
  routes take that POST (``uses_form_post``).
- The user's name arrives only in the first callback, in the browser-sent
  ``user`` form field; it is read for the name only (``callback_user``). The id,
  email and ``email_verified`` (a boolean or the string ``"true"``/``"false"``)
  come from the validated ID token. Apple has no UserInfo endpoint.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Mapping
from dataclasses import InitVar, dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any, ClassVar, Unpack
from urllib.parse import parse_qsl

import httpx
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import ECKey

from lucia.oauth.oidc import OIDCMetadata
from lucia.oauth.providers.catalog import catalog_spec
from lucia.oauth.providers.core import ProviderUser
from lucia.oauth.providers.provider import OIDCSpecProvider, ProviderOptions
from lucia.sessions import utc_now

__all__ = ["APPLE_AUDIENCE", "MAX_CLIENT_SECRET_LIFETIME", "Apple", "AppleClientSecret"]

APPLE_AUDIENCE = "https://appleid.apple.com"
MAX_CLIENT_SECRET_LIFETIME = timedelta(seconds=15_777_000)
"""Apple refuses a client secret that expires more than 15777000 seconds (six months)
after it was made."""
# A name is for display: a browser-sent field longer than this is not one.
_MAX_NAME = 255


@dataclass(eq=False, kw_only=True)
class AppleClientSecret:
    """Apple's client secret: an ES256 JWT signed with the Sign in with Apple private key.

    Header ``kid`` = ``key_id``; claims ``iss`` = ``team_id``, ``sub`` = ``client_id``,
    ``aud`` = https://appleid.apple.com, ``iat`` now and ``exp`` ``lifetime`` later.
    ``current()`` returns the cached secret and makes a new one once less than a
    tenth of its lifetime (at most a day) is left, so a secret in use never
    expires mid-request. The private key is never shown.
    """

    team_id: str
    key_id: str
    client_id: str
    private_key: InitVar[str]
    lifetime: timedelta = timedelta(hours=1)
    clock: Callable[[], datetime] = utc_now
    _key: ECKey = field(init=False)
    # The secret made last, and when (epoch seconds) to make the next one.
    _secret: str | None = field(default=None, init=False)
    _renew_at: int = field(default=0, init=False)

    def __post_init__(self, private_key: str) -> None:
        if not timedelta(minutes=1) <= self.lifetime <= MAX_CLIENT_SECRET_LIFETIME:
            raise ValueError("the Apple client secret's lifetime must be 1 minute to 6 months")
        try:
            key = ECKey.import_key(private_key)
        except (JoseError, ValueError, TypeError):
            raise ValueError(
                "client_secret must be the Sign in with Apple private key (.p8, PEM)"
            ) from None
        if key.curve_name != "P-256" or not key.is_private:
            raise ValueError("the Sign in with Apple private key must be a P-256 private key")
        self._key = key

    def __repr__(self) -> str:
        return f"AppleClientSecret(team_id={self.team_id!r}, key_id={self.key_id!r})"

    def current(self) -> str:
        """The secret to send now: the cached one, or a new one near its expiry."""
        now = int(self.clock().timestamp())
        if self._secret is None or now >= self._renew_at:
            seconds = int(self.lifetime.total_seconds())
            claims = {
                "iss": self.team_id,
                "iat": now,
                "exp": now + seconds,
                "aud": APPLE_AUDIENCE,
                "sub": self.client_id,
            }
            header = {"alg": "ES256", "kid": self.key_id}
            self._secret = jwt.encode(header, claims, self._key, algorithms=["ES256"])
            self._renew_at = now + seconds - min(seconds // 10, 86_400)
        return self._secret


class Apple(OIDCSpecProvider):
    """Sign in with Apple. ``client_secret`` is the Sign in with Apple private key (the
    contents of the .p8 file; or pass it as ``private_key=``, which then wins);
    ``team_id`` and ``key_id`` name the team and that key.

    ``user.id`` is Apple's ``sub`` (stable for the team); ``email`` may be a private
    relay address (the ``is_private_email`` claim is in ``raw``), and
    ``email_verified`` is Apple's own flag. ``client_secret_lifetime`` is how long
    each generated client secret lives (an hour by default; six months at most).
    """

    spec = catalog_spec("apple")
    uses_form_post: ClassVar[bool] = True
    callback_fields: ClassVar[tuple[str, ...]] = ("user",)

    @classmethod
    def example_options(cls) -> dict[str, Any]:
        """A private key of the right kind (a fresh P-256 key), for the catalog's tests."""
        return {"private_key": _example_key()}

    def __init__(
        self,
        client_id: str,
        client_secret: str | None,
        redirect_uri: str,
        *,
        team_id: str | None = None,
        key_id: str | None = None,
        private_key: str | None = None,
        client_secret_lifetime: timedelta = timedelta(hours=1),
        metadata: OIDCMetadata | None = None,
        **options: Unpack[ProviderOptions],
    ) -> None:
        # The private key never reaches the OAuth client or the ID token verifier:
        # the token endpoint gets the JWT made from it. The spec checks the parameters
        # (team_id and key_id are required: ValueError without them).
        super().__init__(
            client_id,
            "",
            redirect_uri,
            team_id=team_id,
            key_id=key_id,
            private_key=private_key,
            metadata=metadata,
            **options,
        )
        private_key = self.parameters.get("private_key") or client_secret
        # Kept only inside the client secret maker: never among the shown parameters.
        self.parameters = {k: v for k, v in self.parameters.items() if k != "private_key"}
        if not private_key:
            raise ValueError("Apple needs its private key: private_key= (or client_secret=)")
        self.client_secret = AppleClientSecret(
            team_id=self.parameters["team_id"],
            key_id=self.parameters["key_id"],
            client_id=client_id,
            private_key=private_key,
            lifetime=client_secret_lifetime,
            clock=self._clock,
        )

    # The token endpoint gets a fresh client secret

    def code_request(self, code: str, code_verifier: str | None) -> httpx.Request:
        return self._with_secret(super().code_request(code, code_verifier))

    def refresh_request(self, refresh_token: str) -> httpx.Request:
        return self._with_secret(super().refresh_request(refresh_token))

    def revocation_request(self, token: str) -> httpx.Request:
        return self._with_secret(super().revocation_request(token))

    def _with_secret(self, request: httpx.Request) -> httpx.Request:
        """``request`` (a form post to Apple) with the current client secret in its form."""
        form = dict(parse_qsl(request.content.decode("ascii"), keep_blank_values=True))
        form["client_secret"] = self.client_secret.current()
        headers = {
            key: value
            for key, value in request.headers.items()
            if key.lower() not in ("content-length", "content-type")
        }
        return httpx.Request(request.method, request.url, data=form, headers=headers)

    # The name from the first callback

    def callback_user(self, user: ProviderUser, fields: Mapping[str, str]) -> ProviderUser:
        """The user with the name Apple sends, on the first sign-in only, in the
        callback's ``user`` field (JSON ``{"name": {"firstName", "lastName"}}``). The
        browser relays that field, so it is read for the name alone; a malformed
        one is ignored."""
        name = _name(fields.get("user"))
        if name is None or user.name is not None:
            return user
        return replace(user, name=name)


@functools.cache
def _example_key() -> str:
    return ECKey.generate_key("P-256").as_pem(private=True).decode("ascii")


def _name(field: str | None) -> str | None:
    """``"First Last"`` from Apple's ``user`` JSON, or None."""
    if not field:
        return None
    try:
        data: Any = json.loads(field)
    except (ValueError, RecursionError):
        return None
    names = data.get("name") if isinstance(data, dict) else None
    if not isinstance(names, dict):
        return None
    parts = [names.get("firstName"), names.get("lastName")]
    text = " ".join(part.strip() for part in parts if isinstance(part, str) and part.strip())
    if not text or len(text) > _MAX_NAME or not text.isprintable():
        return None
    return text
