"""OpenID Connect for relying parties: discovery, JWKS, and ID token validation.

- ``discovery_request(issuer)`` is the request for
  ``{issuer}/.well-known/openid-configuration``; ``read_discovery`` turns its
  answer into ``OIDCMetadata`` whose ``issuer`` equals the configured one
  exactly (OIDC Discovery §4.3).
- ``JWKSCache`` holds a provider's signing keys: fetched once, refetched once
  for an unknown ``kid`` (at most once per ``refetch_interval``), then the token
  is refused (SECURITY.md item 34). The fetching itself is
  ``lucia.oauth._async.http.ajwks_key`` (and its generated sync twin).
- ``IDTokenVerifier`` is everything a provider checks an ID token with, but
  the keys it fetches.
- ``decode_header`` and ``validate_id_token`` check an ID token (items 32-35):
  size before anything, ``alg`` against an allowlist, no ``crit`` extension,
  the signature through joserfc with a key from the JWKS only (``jwk``,
  ``jku``, ``x5u`` and ``x5c`` headers are never used), then the claims of
  OIDC Core 3.1.3.7 and the ``at_hash`` / ``c_hash`` of 3.1.3.8 and 3.3.2.11.

Failures raise ``IDTokenError`` whose ``check`` names the failed check; no
message ever holds the token, the nonce, the code or a key.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import logging
import math
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, fields
from datetime import datetime, timedelta
from typing import Any, ClassVar
from urllib.parse import urlsplit

import httpx
from joserfc import jws
from joserfc.errors import JoseError
from joserfc.jwk import ECKey, JWKRegistry, Key, OctKey, OKPKey, RSAKey

from lucia.oauth.client import OAuth2Tokens, api_request, json_response
from lucia.oauth.errors import OAuthError, OAuthResponseError, safe_excerpt
from lucia.sessions import utc_now

__all__ = [
    "ASYMMETRIC_ALGORITHMS",
    "DEFAULT_LEEWAY",
    "MAX_ID_TOKEN_BYTES",
    "PROTOCOL_CLAIMS",
    "SYMMETRIC_ALGORITHMS",
    "IDTokenError",
    "IDTokenVerifier",
    "JWKSCache",
    "OIDCDiscoveryError",
    "OIDCMetadata",
    "OIDCTokens",
    "PublishedKey",
    "check_issuer",
    "check_url",
    "decode_header",
    "discovery_request",
    "discovery_url",
    "parse_jwks",
    "read_discovery",
    "select_key",
    "token_hash",
    "unverified_claims",
    "validate_id_token",
]

logger = logging.getLogger("lucia.oauth.oidc")

#: The signature algorithms accepted by default (public-key ones only). ``none``
#: is never accepted; HS256/384/512 only when a provider is configured for them,
#: and then keyed by the client secret, never by a key from the JWKS.
ASYMMETRIC_ALGORITHMS = frozenset(
    {"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"}
    | {"Ed25519"}  # RFC 9864's fully-specified name for EdDSA over Ed25519
)
SYMMETRIC_ALGORITHMS = frozenset({"HS256", "HS384", "HS512"})
#: Tokens longer than this are refused before any decoding (CVE-2025-61920).
MAX_ID_TOKEN_BYTES = 16 * 1024
DEFAULT_LEEWAY = timedelta(seconds=60)

# alg -> (kty, curves) of the keys that can verify it; no curves: RSA.
_KEY_TYPES: dict[str, tuple[str, frozenset[str]]] = {
    **{f"{p}{n}": ("RSA", frozenset()) for p in ("RS", "PS") for n in ("256", "384", "512")},
    "ES256": ("EC", frozenset({"P-256"})),
    "ES384": ("EC", frozenset({"P-384"})),
    "ES512": ("EC", frozenset({"P-521"})),
    "EdDSA": ("OKP", frozenset({"Ed25519", "Ed448"})),
    "Ed25519": ("OKP", frozenset({"Ed25519"})),
}
# Claims that only serve the protocol; dropped from what a provider hands on.
PROTOCOL_CLAIMS = frozenset({"nonce", "at_hash", "c_hash", "s_hash", "sid"})


class IDTokenError(OAuthError):
    """The ID token (or the UserInfo answer tied to it) failed a check; the sign-in is refused.

    ``check`` names the check: ``missing``, ``size``, ``format``, ``alg``,
    ``crit``, ``kid``, ``signature``, ``iss``, ``aud``, ``azp``, ``exp``,
    ``iat``, ``nbf``, ``nonce``, ``sub``, ``at_hash``, ``c_hash``, or
    ``userinfo_sub``. Status 400: like a forged state, a refused token ends
    this sign-in attempt (a mismatched nonce is what an injected code looks
    like), and a retry starts a fresh one; it is not an outage to report as 502.
    """

    code = "AUTH_OAUTH_INVALID_ID_TOKEN"
    default_message = "the ID token is invalid"
    status: ClassVar[int] = 400

    def __init__(self, check: str, reason: str) -> None:
        self.check = check
        super().__init__(f"ID token rejected ({check}): {reason}")

    def __repr__(self) -> str:
        return f"IDTokenError(check={self.check!r}, message={self.message!r})"


class OIDCDiscoveryError(OAuthResponseError):
    """The discovery document is unusable: wrong issuer, a missing or bad endpoint."""

    code = "AUTH_OAUTH_INVALID_DISCOVERY"
    default_message = "the OpenID provider's discovery document is invalid"


@dataclass(frozen=True, slots=True)
class OIDCTokens(OAuth2Tokens):
    """Tokens whose ID token was validated; ``id_token_claims`` holds its claims (not in repr)."""

    id_token_claims: Mapping[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_tokens(cls, tokens: OAuth2Tokens, claims: Mapping[str, Any]) -> OIDCTokens:
        """``tokens`` with the validated ``claims`` of their ID token attached."""
        values = {f.name: getattr(tokens, f.name) for f in fields(OAuth2Tokens)}
        return cls(**values, id_token_claims=dict(claims))


# Discovery


def _is_loopback(host: str | None) -> bool:
    return host in ("127.0.0.1", "::1", "localhost")


def check_url(url: str, what: str) -> str:
    """``url`` if it is an absolute https URL (plain http only on loopback); else ``ValueError``."""
    parts = urlsplit(url)
    if not parts.netloc or not (
        parts.scheme == "https" or (parts.scheme == "http" and _is_loopback(parts.hostname))
    ):
        raise ValueError(f"{what} must be an https URL (http only on loopback)")
    return url


def check_issuer(issuer: str) -> str:
    """``issuer`` if it is a valid issuer identifier: an https URL, no query or fragment."""
    # urlsplit drops tabs and newlines and browsers read a backslash as a slash, so such
    # an issuer would be read one way here and another by the browser sent to it.
    if not isinstance(issuer, str) or any(
        c.isspace() or not c.isprintable() or c == "\\" for c in issuer
    ):
        raise ValueError("the issuer must be a plain URL (no spaces, controls or backslashes)")
    check_url(issuer, "the issuer")
    parts = urlsplit(issuer)
    if parts.query or parts.fragment or "?" in issuer or "#" in issuer:
        raise ValueError("the issuer must have no query or fragment")
    if any(
        s.lower() in (".", "..", "%2e", "%2e%2e", ".%2e", "%2e.") for s in parts.path.split("/")
    ):
        raise ValueError("the issuer's path must have no dot segments")
    return issuer


def discovery_url(issuer: str) -> str:
    """Where ``issuer``'s metadata lives: the issuer without a trailing slash, plus
    ``/.well-known/openid-configuration`` (OIDC Discovery §4)."""
    return issuer.rstrip("/") + "/.well-known/openid-configuration"


def _strings(value: Any) -> tuple[str, ...] | None:
    if isinstance(value, list) and all(isinstance(item, str) for item in value):
        return tuple(value)
    return None


@dataclass(frozen=True, slots=True, kw_only=True)
class OIDCMetadata:
    """An OpenID provider's metadata (OIDC Discovery §3), the fields lucia uses.

    Optional lists take the spec's defaults when absent: ``RS256`` for ID
    tokens, ``client_secret_basic`` for the token endpoint.
    """

    issuer: str
    authorization_endpoint: str
    token_endpoint: str
    jwks_uri: str
    userinfo_endpoint: str | None = None
    revocation_endpoint: str | None = None
    id_token_signing_alg_values_supported: tuple[str, ...] = ("RS256",)
    token_endpoint_auth_methods_supported: tuple[str, ...] = ("client_secret_basic",)
    code_challenge_methods_supported: tuple[str, ...] = ()
    authorization_response_iss_parameter_supported: bool = False
    raw: Mapping[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_document(cls, data: Any, *, issuer: str) -> OIDCMetadata:
        """Parse a discovery document for the configured ``issuer``; ``OIDCDiscoveryError`` if bad.

        The document's ``issuer`` must equal ``issuer`` exactly: a simple string
        comparison, so a trailing slash, a prefix or another case all fail.
        """
        where = discovery_url(issuer)
        if not isinstance(data, dict):
            raise OIDCDiscoveryError(f"the discovery document at {where} is not a JSON object")
        found = data.get("issuer")
        if found != issuer:
            shown = safe_excerpt(found, 200) if isinstance(found, str) else "no issuer"
            hint = ""
            if isinstance(found, str) and found.rstrip("/") == issuer.rstrip("/"):
                hint = (
                    " (they differ by a trailing slash: configure the issuer exactly "
                    "as the provider writes it)"
                )
            raise OIDCDiscoveryError(
                f"the discovery document at {where} names the issuer {shown!r}, "
                f"not the configured {issuer!r}{hint}"
            )

        def url(name: str, *, required: bool) -> str | None:
            value = data.get(name)
            if value is None and not required:
                return None
            if not isinstance(value, str):
                raise OIDCDiscoveryError(f"the discovery document at {where} has no valid {name}")
            try:
                return check_url(value, name)
            except ValueError as exc:
                raise OIDCDiscoveryError(f"the discovery document at {where}: {exc}") from None

        def strings(name: str, default: tuple[str, ...]) -> tuple[str, ...]:
            value = data.get(name)
            if value is None:
                return default
            parsed = _strings(value)
            if parsed is None:
                raise OIDCDiscoveryError(f"the discovery document at {where}: {name} is not a list")
            return parsed

        response_types = data.get("response_types_supported")
        if response_types is not None and "code" not in (_strings(response_types) or ()):
            # rp-response_type-code: lucia signs in with the authorization code flow only.
            raise OIDCDiscoveryError(
                f"the provider at {where} does not support the authorization code flow"
            )
        return cls(
            issuer=issuer,
            authorization_endpoint=url("authorization_endpoint", required=True) or "",
            token_endpoint=url("token_endpoint", required=True) or "",
            jwks_uri=url("jwks_uri", required=True) or "",
            userinfo_endpoint=url("userinfo_endpoint", required=False),
            revocation_endpoint=url("revocation_endpoint", required=False),
            id_token_signing_alg_values_supported=strings(
                "id_token_signing_alg_values_supported", ("RS256",)
            ),
            token_endpoint_auth_methods_supported=strings(
                "token_endpoint_auth_methods_supported", ("client_secret_basic",)
            ),
            code_challenge_methods_supported=strings("code_challenge_methods_supported", ()),
            authorization_response_iss_parameter_supported=(
                data.get("authorization_response_iss_parameter_supported") is True
            ),
            raw=dict(data),
        )


def discovery_request(issuer: str) -> httpx.Request:
    """The request for ``issuer``'s discovery document."""
    return api_request("GET", discovery_url(issuer))


def read_discovery(response: httpx.Response, issuer: str) -> OIDCMetadata:
    """``issuer``'s metadata from the answer to ``discovery_request``; else an ``OAuthError``."""
    data = json_response(response, what=f"the discovery request to {discovery_url(issuer)}")
    metadata = OIDCMetadata.from_document(data, issuer=issuer)
    logger.debug("discovered the OpenID provider %s", issuer)
    return metadata


# Keys


@dataclass(frozen=True, slots=True)
class PublishedKey:
    """One usable key of a JWK Set, with the members that decide what it can verify."""

    key: Key
    kid: str | None
    kty: str
    crv: str | None
    alg: str | None

    def suits(self, alg: str) -> bool:
        """Whether this key can verify a signature made with ``alg``."""
        kty, curves = _KEY_TYPES[alg]
        if self.kty != kty or (curves and self.crv not in curves):
            return False
        return self.alg is None or self.alg == alg


def parse_jwks(data: Any) -> list[PublishedKey]:
    """The usable signature keys of a JWK Set; unparseable or unsuitable entries are skipped.

    Skipped: entries joserfc cannot import, symmetric (``oct``) keys, and keys
    marked for encryption only (``use`` other than ``sig``, ``key_ops`` without ``verify``).
    """
    if not isinstance(data, dict) or not isinstance(data.get("keys"), list):
        raise OAuthResponseError("the JWKS is not a JSON object with a keys list")
    keys: list[PublishedKey] = []
    for entry in data["keys"]:
        if not isinstance(entry, dict) or entry.get("kty") not in ("RSA", "EC", "OKP"):
            continue
        if entry.get("use", "sig") != "sig":
            continue
        key_ops = entry.get("key_ops")
        if key_ops is not None and (not isinstance(key_ops, list) or "verify" not in key_ops):
            continue
        kid, alg, crv = entry.get("kid"), entry.get("alg"), entry.get("crv")
        try:
            key = JWKRegistry.import_key(entry)
        # joserfc and cryptography raise many exception types for a malformed key.
        except Exception:
            logger.debug("skipped an unparseable JWKS entry (kid %r)", kid)
            continue
        keys.append(
            PublishedKey(
                key=key,
                kid=kid if isinstance(kid, str) else None,
                kty=entry["kty"],
                crv=crv if isinstance(crv, str) else None,
                alg=alg if isinstance(alg, str) else None,
            )
        )
    return keys


def select_key(keys: Sequence[PublishedKey], header: Mapping[str, Any]) -> Key | None:
    """The key that verifies a token with this header, or None if the set has none.

    With a ``kid``: the suitable key with that ``kid``. Without one: the only
    suitable key; several suitable keys are ambiguous and refused with
    ``IDTokenError``. The OpenID Foundation's RP suite allows either refusing
    or trying every key in ``kid-absent-multiple-jwks``; its current plan
    expects refusal, and trying every key would let each forged token cost one
    signature check per published key.
    """
    alg = header["alg"]
    kid = header.get("kid")
    suitable = [k for k in keys if k.suits(alg)]
    if kid is not None:
        matches = [k for k in suitable if k.kid == kid]
        return matches[0].key if len(matches) == 1 else None
    if len(suitable) > 1:
        raise IDTokenError("kid", "the token names no key and the provider publishes several")
    return suitable[0].key if suitable else None


Clock = Callable[[], datetime]


class JWKSCache:
    """A provider's published signing keys, cached.

    Keys are fetched on first use and again when older than ``max_age``. A
    token whose key is not in the cache triggers one refetch (key rotation,
    OIDF rp-key-rotation-op-sign-key), at most once per ``refetch_interval``,
    so a stream of tokens with made-up ``kid``s cannot make lucia hammer the
    provider; after that the token is refused.
    """

    def __init__(
        self,
        *,
        refetch_interval: timedelta = timedelta(seconds=60),
        max_age: timedelta = timedelta(hours=1),
        clock: Clock | None = None,
    ) -> None:
        self.refetch_interval = refetch_interval
        self.max_age = max_age
        self._clock = clock or utc_now
        self._keys: tuple[PublishedKey, ...] = ()
        self._fetched_at: datetime | None = None
        self._last_refetch: datetime | None = None

    def now(self) -> datetime:
        """The cache's clock."""
        return self._clock()

    def is_stale(self, now: datetime) -> bool:
        """True when the keys were never fetched or are older than ``max_age``."""
        return self._fetched_at is None or now - self._fetched_at >= self.max_age

    def request(self, jwks_uri: str) -> httpx.Request:
        """The request for the JWK Set at ``jwks_uri``."""
        return api_request("GET", jwks_uri)

    def store(self, response: httpx.Response) -> None:
        """Keep the usable keys of a JWKS answer (an ``OAuthError`` if it is unusable)."""
        keys = parse_jwks(json_response(response, what="the JWKS request"))
        self._keys = tuple(keys)
        self._fetched_at = self._clock()
        logger.debug("fetched the JWKS: %d usable keys", len(keys))

    def select(self, header: Mapping[str, Any]) -> Key | None:
        """The cached key for a token with this header, or None (see ``select_key``)."""
        return select_key(self._keys, header)

    def allow_refetch(self, now: datetime) -> None:
        """Record a refetch for an unknown key; ``IDTokenError`` if one was made less
        than ``refetch_interval`` ago, so made-up ``kid``s cannot hammer the provider."""
        if self._last_refetch is not None and now - self._last_refetch < self.refetch_interval:
            logger.debug("unknown signing key; JWKS refetch rate-limited")
            raise IDTokenError("kid", "no published key matches the token")
        self._last_refetch = now
        logger.debug("unknown signing key; refetching the JWKS once")


# ID tokens


def _b64decode(segment: str) -> bytes:
    try:
        return base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))
    except (binascii.Error, ValueError):
        raise IDTokenError("format", "the token is not valid base64url") from None


def _json_object(segment: str, part: str) -> dict[str, Any]:
    """A token segment's JSON object; ``IDTokenError("format")`` naming ``part`` else."""
    try:
        value = json.loads(_b64decode(segment))
    except (ValueError, RecursionError):  # RecursionError: JSON nested too deep to parse
        raise IDTokenError("format", f"the token {part} is not JSON") from None
    if not isinstance(value, dict):
        raise IDTokenError("format", f"the token {part} is not a JSON object")
    return value


def unverified_claims(id_token: str) -> dict[str, Any]:
    """The claims of an ID token read WITHOUT checking its signature: only to choose how
    to check it (Microsoft's issuer is its tenant's), never to trust. Call it after
    ``decode_header`` (which bounds the size); ``IDTokenError("format")`` if unreadable."""
    segments = id_token.split(".")
    if len(segments) != 3:
        raise IDTokenError("format", "the token is not a signed JWT")
    return _json_object(segments[1], "payload")


def decode_header(id_token: str, allowed_algorithms: Collection[str]) -> dict[str, Any]:
    """The JOSE header of an ID token, after the checks that come before any key is chosen.

    Refused, in this order: a token over ``MAX_ID_TOKEN_BYTES`` (before any
    decoding), anything but three segments (no JWE), an ``alg`` outside
    ``allowed_algorithms`` (``none`` never passes), any ``crit`` or ``b64``
    header (lucia understands no JWS extension, RFC 7515 §4.1.11), and an empty
    payload or signature.
    """
    if not isinstance(id_token, str) or len(id_token) > MAX_ID_TOKEN_BYTES:
        raise IDTokenError("size", "the token is too large")
    segments = id_token.split(".")
    if len(segments) != 3 or not segments[0]:
        raise IDTokenError("format", "the token is not a signed JWT")
    header = _json_object(segments[0], "header")
    alg = header.get("alg")
    if not isinstance(alg, str) or alg == "none" or alg not in allowed_algorithms:
        raise IDTokenError("alg", _refused_algorithm(alg, allowed_algorithms))
    if "crit" in header or "b64" in header:
        raise IDTokenError("crit", "the token uses a JWS extension lucia does not understand")
    if "kid" in header and not isinstance(header["kid"], str):
        raise IDTokenError("format", "the token's kid is not a string")
    if not segments[1] or not segments[2]:
        raise IDTokenError("format", "the token has no payload or no signature")
    return header


def _refused_algorithm(alg: object, allowed: Collection[str]) -> str:
    """Why ``alg`` is refused, naming it, the allowed ones and the option that allows more."""
    accepted = ", ".join(sorted(allowed)) or "none"
    if not isinstance(alg, str):
        return f"the token names no signature algorithm (allowed: {accepted})"
    shown = safe_excerpt(alg, 40)
    if alg == "none":
        return f"the signature algorithm {shown!r} (unsigned) is never accepted"
    if alg in ASYMMETRIC_ALGORITHMS | SYMMETRIC_ALGORITHMS:
        return (
            f"the signature algorithm {shown!r} is not allowed (allowed: {accepted}); "
            f"OpenIDConnect(allowed_algorithms=[..., {shown!r}]) allows it"
        )
    return f"the signature algorithm {shown!r} is not supported (allowed: {accepted})"


def token_hash(value: str, alg: str, key: Key | None = None) -> str:
    """``at_hash`` / ``c_hash`` of ``value``: base64url of the left half of its hash under ``alg``.

    The hash is the one in ``alg``'s name (SHA-256 for RS256, ...); for EdDSA it
    is SHA-512 with Ed25519 (and for the ``Ed25519`` alg) and SHAKE256 (114
    bytes) with Ed448.
    """
    data = value.encode("ascii", "replace")
    if alg in ("EdDSA", "Ed25519"):
        crv = key.as_dict().get("crv") if isinstance(key, OKPKey) else "Ed25519"
        digest = (
            hashlib.shake_256(data).digest(114) if crv == "Ed448" else hashlib.sha512(data).digest()
        )
    else:
        digest = hashlib.new(f"sha{alg[-3:]}", data).digest()
    half = digest[: len(digest) // 2]
    return base64.urlsafe_b64encode(half).rstrip(b"=").decode("ascii")


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if math.isfinite(value) else None


def _verify_signature(id_token: str, header: Mapping[str, Any], key: Key) -> dict[str, Any]:
    alg = header["alg"]
    if alg in SYMMETRIC_ALGORITHMS and not isinstance(key, OctKey):
        raise IDTokenError("alg", "a symmetric algorithm needs the client secret")
    if alg not in SYMMETRIC_ALGORITHMS and not isinstance(key, RSAKey | ECKey | OKPKey):
        raise IDTokenError("alg", "an asymmetric algorithm needs a published public key")
    # Unknown non-critical headers must be ignored (RFC 7515 §4), hence not strict;
    # crit was refused by decode_header.
    registry = jws.JWSRegistry(algorithms=[alg], strict_check_header=False)
    registry.max_header_length = registry.max_payload_length = MAX_ID_TOKEN_BYTES
    try:
        signed = jws.deserialize_compact(id_token, key, registry=registry)
    except (JoseError, ValueError, TypeError):
        raise IDTokenError("signature", "the signature does not verify") from None
    try:
        claims = json.loads(signed.payload)
    except (ValueError, RecursionError):
        raise IDTokenError("format", "the token's claims are not JSON") from None
    if not isinstance(claims, dict):
        raise IDTokenError("format", "the token's claims are not a JSON object")
    return claims


def validate_id_token(
    id_token: str,
    key: Key,
    *,
    issuer: str | Iterable[str],
    client_id: str,
    allowed_algorithms: Collection[str] = ASYMMETRIC_ALGORITHMS,
    nonce: str | None = None,
    access_token: str | None = None,
    code: str | None = None,
    trusted_audiences: Collection[str] = (),
    now: datetime | None = None,
    leeway: timedelta = DEFAULT_LEEWAY,
) -> dict[str, Any]:
    """The claims of ``id_token`` if ``key`` signed it and it is valid; else ``IDTokenError``.

    The checks are those of OIDC Core 3.1.3.7 and 3.1.3.8 / 3.3.2.11.

    ``issuer`` is the discovered issuer (or the few a provider documents),
    compared as exact strings. ``aud`` must contain ``client_id``, and any
    other audience must be in ``trusted_audiences``; with several audiences,
    ``azp`` must be present, and any ``azp`` must be ``client_id``. ``exp`` must
    be ahead and ``iat`` present and not ahead, give or take ``leeway``.
    ``nonce``, when one was sent, must come back identical. ``sub`` must be a
    non-empty string. ``at_hash`` / ``c_hash``, when present, must match
    ``access_token`` / ``code`` when those are given.
    """
    header = decode_header(id_token, allowed_algorithms)
    claims = _verify_signature(id_token, header, key)
    issuers = (issuer,) if isinstance(issuer, str) else tuple(issuer)

    iss = claims.get("iss")
    if not isinstance(iss, str) or iss not in issuers:
        shown = repr(safe_excerpt(iss, 200)) if isinstance(iss, str) else "no issuer"
        expected = " or ".join(repr(value) for value in issuers)
        raise IDTokenError("iss", f"the token's issuer is {shown}, expected {expected}")

    aud = claims.get("aud")
    audiences = [aud] if isinstance(aud, str) else aud
    if not isinstance(audiences, list) or not all(isinstance(a, str) for a in audiences):
        raise IDTokenError("aud", "the audience is missing or malformed")
    if client_id not in audiences:
        raise IDTokenError("aud", "the token is not for this client")
    if any(a != client_id and a not in trusted_audiences for a in audiences):
        raise IDTokenError("aud", "the token names an untrusted extra audience")
    azp = claims.get("azp")
    if len(audiences) > 1 and azp is None:
        raise IDTokenError("azp", "several audiences but no authorized party")
    if azp is not None and azp != client_id:
        raise IDTokenError("azp", "the authorized party is not this client")

    current = (now or utc_now()).timestamp()
    slack = leeway.total_seconds()
    exp = _number(claims.get("exp"))
    if exp is None:
        raise IDTokenError("exp", "the token has no valid expiry")
    if current >= exp + slack:
        raise IDTokenError("exp", "the token has expired")
    iat = _number(claims.get("iat"))
    if iat is None:
        raise IDTokenError("iat", "the token has no valid issue time")
    if iat > current + slack:
        raise IDTokenError("iat", "the token was issued in the future")
    if "nbf" in claims:
        nbf = _number(claims["nbf"])
        if nbf is None or nbf > current + slack:
            raise IDTokenError("nbf", "the token is not valid yet")

    if nonce is not None:
        sent = claims.get("nonce")
        if not isinstance(sent, str) or not hmac.compare_digest(
            sent.encode("utf-8", "replace"), nonce.encode("utf-8", "replace")
        ):
            raise IDTokenError("nonce", "the nonce is missing or not the one sent")

    sub = claims.get("sub")
    if not isinstance(sub, str) or not sub or len(sub) > 255:
        raise IDTokenError("sub", "the subject is missing or malformed")

    for claim, value in (("at_hash", access_token), ("c_hash", code)):
        if claim in claims and value is not None:
            expected = token_hash(value, header["alg"], key)
            got = claims[claim]
            if not isinstance(got, str) or not hmac.compare_digest(
                got.encode("ascii", "replace"), expected.encode("ascii")
            ):
                raise IDTokenError(claim, f"the {claim} does not match")
    return claims


@dataclass(frozen=True, slots=True, kw_only=True)
class IDTokenVerifier:
    """How one provider checks its ID tokens: every check of ``validate_id_token`` and
    the key choice, all but fetching the published keys (``jwks`` from ``jwks_uri``).

    ``client_secret`` keys HS256/384/512 tokens (OIDC Core 10.1) when those are allowed.
    """

    issuers: tuple[str, ...]
    client_id: str
    allowed_algorithms: frozenset[str]
    trusted_audiences: frozenset[str]
    jwks: JWKSCache
    jwks_uri: str
    client_secret: str = field(repr=False)
    clock: Clock
    leeway: timedelta = DEFAULT_LEEWAY

    def header(self, id_token: str) -> dict[str, Any]:
        """The token's header, checked before any key is looked for (``decode_header``)."""
        return decode_header(id_token, self.allowed_algorithms)

    def local_key(self, header: Mapping[str, Any]) -> Key | None:
        """The client secret's key for an HS256/384/512 token; None: a published key is needed."""
        if header["alg"] in SYMMETRIC_ALGORITHMS:
            return OctKey.import_key(self.client_secret)
        return None

    def claims(
        self,
        id_token: str,
        key: Key,
        *,
        nonce: str | None,
        access_token: str | None,
        code: str | None,
    ) -> dict[str, Any]:
        """The token's claims if ``key`` signed it and it passes ``validate_id_token``."""
        return validate_id_token(
            id_token,
            key,
            issuer=self.issuers,
            client_id=self.client_id,
            allowed_algorithms=self.allowed_algorithms,
            nonce=nonce,
            access_token=access_token,
            code=code,
            trusted_audiences=self.trusted_audiences,
            now=self.clock(),
            leeway=self.leeway,
        )
