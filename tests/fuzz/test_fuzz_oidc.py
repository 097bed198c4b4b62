"""Fuzzing ID tokens and JWKS documents (SECURITY.md items 32-34).

Random JOSE segments, headers and claims of random shape, signed and unsigned,
and JWK Sets of random shape. The property: the only exceptions are lucia's
``IDTokenError`` / ``OAuthResponseError`` (``OAuthError``s), and a token passes
only when an independent re-check of every rule agrees it should.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from datetime import UTC, datetime
from typing import Any

import httpx
from hypothesis import given
from hypothesis import strategies as st
from joserfc import jws
from joserfc.jwk import ECKey, OctKey

from lucia.errors import OAuthError
from lucia.oauth._sync.http import jwks_key
from lucia.oauth.errors import OAuthResponseError
from lucia.oauth.oidc import (
    IDTokenError,
    JWKSCache,
    decode_header,
    parse_jwks,
    select_key,
    validate_id_token,
)
from tests.fuzz.common import ATTACK_TEXT, fuzz, json_values

ISSUER = "https://op.example"
CLIENT = "client-1"
NONCE = "n-0S6_WzA2Mj"
NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
T = int(NOW.timestamp())
LEEWAY = 60
EC_KEY = ECKey.generate_key("P-256", parameters={"kid": "k1"})
OTHER_EC_KEY = ECKey.generate_key("P-256", parameters={"kid": "k2"})
HMAC_SECRET = b"fuzz-client-secret-0123456789abcdef"
OCT_KEY = OctKey.import_key(HMAC_SECRET)


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64json(value: Any) -> str:
    return b64(json.dumps(value).encode())


segments = st.one_of(
    json_values.map(b64json),
    st.binary(max_size=60).map(b64),
    ATTACK_TEXT,
    st.just(""),
)


@fuzz(300)
@given(st.lists(segments, min_size=0, max_size=5).map(".".join))
def test_fuzz_sec33_decode_header(token: str) -> None:
    try:
        header = decode_header(token, {"ES256", "HS256"})
    except IDTokenError:
        return
    assert header["alg"] in ("ES256", "HS256")
    assert "crit" not in header
    assert "b64" not in header


@fuzz(200)
@given(segments, segments, segments)
def test_fuzz_random_jws_segments_never_validate(header: str, payload: str, sig: str) -> None:
    token = f"{header}.{payload}.{sig}"
    for key in (EC_KEY, OCT_KEY):
        try:
            validate_id_token(
                token, key, issuer=ISSUER, client_id=CLIENT, allowed_algorithms={"ES256", "HS256"}
            )
        except IDTokenError:
            continue
        raise AssertionError("a token with a random signature validated")


def good_or(value: Any, *junk: Any) -> st.SearchStrategy[Any]:
    """Mostly the valid value, else a wrong one or any JSON."""
    return st.one_of(st.just(value), st.sampled_from(junk), json_values)


@st.composite
def claim_sets(draw: st.DrawFn) -> dict[str, Any]:
    candidates = {
        "iss": good_or(ISSUER, ISSUER + "/", "https://op.example.evil", "https://op.exampl", None),
        "aud": good_or(CLIENT, [CLIENT], [CLIENT, "other"], "other", [], [CLIENT, CLIENT]),
        "azp": good_or(CLIENT, "other", None),
        "exp": good_or(T + 600, T - LEEWAY - 1, T - LEEWAY + 1, float("inf"), "9999999999", True),
        "iat": good_or(T, T + LEEWAY + 5, T + LEEWAY - 5, None, -1e300),
        "nbf": good_or(T - 10, T + LEEWAY + 5),
        "nonce": good_or(NONCE, NONCE + "x", NONCE.upper(), ""),
        "sub": good_or("248289761001", "", "x" * 256),
    }
    claims: dict[str, Any] = {}
    for name, strategy in candidates.items():
        # Required claims are usually present; optional ones usually absent.
        present = draw(st.integers(0, 9)) < (3 if name in ("azp", "nbf") else 8)
        if present:
            claims[name] = draw(strategy)
    return claims


def should_pass(header: dict[str, Any], claims: dict[str, Any], alg: str) -> bool:
    """OIDC Core 3.1.3.7, written again independently of lucia.oauth.oidc."""
    if header.get("alg") != alg or "crit" in header or "b64" in header:
        return False
    if "kid" in header and not isinstance(header["kid"], str):
        return False
    aud = claims.get("aud")
    audiences = [aud] if isinstance(aud, str) else aud

    def number(value: Any) -> bool:
        return (
            not isinstance(value, bool)
            and isinstance(value, int | float)
            and abs(value) != float("inf")
        )

    return (
        claims.get("iss") == ISSUER
        and isinstance(audiences, list)
        and all(isinstance(a, str) for a in audiences)
        and CLIENT in audiences
        and all(a == CLIENT for a in audiences)
        and (len(audiences) == 1 or "azp" in claims)
        and claims.get("azp", CLIENT) == CLIENT
        and number(claims.get("exp"))
        and claims["exp"] + LEEWAY > T
        and number(claims.get("iat"))
        and claims["iat"] <= T + LEEWAY
        and ("nbf" not in claims or (number(claims["nbf"]) and claims["nbf"] <= T + LEEWAY))
        and claims.get("nonce") == NONCE
        and isinstance(claims.get("sub"), str)
        and 0 < len(claims["sub"]) <= 255
    )


def check(token: str, key: Any, header: dict[str, Any], claims: dict[str, Any], alg: str) -> None:
    try:
        result = validate_id_token(
            token,
            key,
            issuer=ISSUER,
            client_id=CLIENT,
            allowed_algorithms={alg},
            nonce=NONCE,
            now=NOW,
        )
    except IDTokenError:
        assert not should_pass(header, claims, alg), "a valid token was refused"
        return
    assert should_pass(header, claims, alg), "an invalid token was accepted"
    assert result == claims


headers_extra = st.dictionaries(
    st.sampled_from(["kid", "crit", "b64", "jwk", "jku", "x5u", "x5c", "typ", "cty", "zip"]),
    json_values,
    max_size=3,
)


@fuzz(200)
@given(claim_sets(), headers_extra, st.sampled_from(["HS256", "HS256", "none", "ES256", "HS512"]))
def test_fuzz_sec33_signed_tokens_random_header_and_claims(
    claims: dict[str, Any], extra: dict[str, Any], alg: str
) -> None:
    """HS256 tokens signed by hand, so any header (crit, jwk, a non-string kid, alg
    "none") can carry a valid signature; the key is the client secret."""
    header = {**extra, "alg": alg}
    signing_input = f"{b64json(header)}.{b64json(claims)}"
    digest = hmac.new(HMAC_SECRET, signing_input.encode(), hashlib.sha256).digest()
    token = f"{signing_input}.{b64(digest)}"
    check(token, OCT_KEY, header, claims, "HS256")
    # The same token against the provider's public key: never (HS/RS confusion).
    try:
        validate_id_token(token, EC_KEY, issuer=ISSUER, client_id=CLIENT, nonce=NONCE, now=NOW)
    except IDTokenError:
        pass
    else:
        raise AssertionError("an HMAC-signed token validated against a public key")


@fuzz(150)
@given(claim_sets(), st.booleans())
def test_fuzz_sec32_es256_tokens_random_claims(claims: dict[str, Any], right_key: bool) -> None:
    header = {"alg": "ES256", "kid": "k1"}
    token = jws.serialize_compact(header, json.dumps(claims).encode(), EC_KEY)
    if right_key:
        check(token, EC_KEY, header, claims, "ES256")
        return
    try:
        validate_id_token(
            token, OTHER_EC_KEY, issuer=ISSUER, client_id=CLIENT, nonce=NONCE, now=NOW
        )
    except IDTokenError as error:
        assert error.check == "signature"  # noqa: PT017 (either outcome is valid)
    else:
        raise AssertionError("a token validated under another key")


REAL_JWK = EC_KEY.as_dict(private=False)
jwk_members = st.sampled_from(
    ["kty", "crv", "x", "y", "n", "e", "kid", "alg", "use", "key_ops", "d"]
)


@st.composite
def jwk_entries(draw: st.DrawFn) -> Any:
    kind = draw(st.integers(0, 3))
    if kind == 0:
        return draw(json_values)
    if kind == 1:
        return draw(st.dictionaries(jwk_members, json_values, max_size=6))
    entry = dict(REAL_JWK)
    for member in draw(st.lists(jwk_members, max_size=3)):
        if draw(st.booleans()):
            entry.pop(member, None)
        else:
            entry[member] = draw(
                st.one_of(json_values, st.sampled_from(["EC", "RSA", "OKP", "oct", "P-384", "sig"]))
            )
    return entry


jwks_documents = st.one_of(
    json_values,
    st.lists(jwk_entries(), max_size=4).map(lambda keys: {"keys": keys}),
    st.just({"keys": [REAL_JWK]}),
)
jose_headers = st.one_of(
    st.fixed_dictionaries({"alg": st.sampled_from(["ES256", "ES384", "RS256", "EdDSA"])}),
    st.fixed_dictionaries(
        {"alg": st.sampled_from(["ES256", "PS256"]), "kid": st.one_of(st.just("k1"), st.text())}
    ),
)


@fuzz(250)
@given(jwks_documents, jose_headers)
def test_fuzz_sec34_parse_jwks_and_select_key(document: Any, header: dict[str, Any]) -> None:
    try:
        keys = parse_jwks(document)
    except OAuthResponseError:
        assert not isinstance(document, dict) or not isinstance(document.get("keys"), list)
        return
    for published in keys:
        assert published.kty in ("RSA", "EC", "OKP")
    try:
        key = select_key(keys, header)
    except IDTokenError as error:
        assert error.check == "kid"  # noqa: PT017 (either outcome is valid)
        assert "kid" not in header
        return
    if key is not None:
        assert any(published.key is key and published.suits(header["alg"]) for published in keys)


@fuzz(100)
@given(st.lists(st.one_of(jwks_documents, st.binary(max_size=40)), min_size=2, max_size=2))
def test_fuzz_sec34_jwks_cache_with_random_documents(documents: list[Any]) -> None:
    """``jwks_key`` fed two random JWKS answers (the fetch and the one refetch)."""
    cache = JWKSCache(clock=lambda: NOW)
    answers = iter(documents)

    def handler(request: httpx.Request) -> httpx.Response:
        body = next(answers)  # a third fetch would find none: at most one refetch
        content = body if isinstance(body, bytes) else json.dumps(body).encode()
        return httpx.Response(200, content=content, headers={"content-type": "application/json"})

    try:
        with httpx.Client(transport=httpx.MockTransport(handler)) as http:
            key = jwks_key(http, cache, {"alg": "ES256", "kid": "k1"}, "https://op.example/jwks")
        found = key.as_dict(private=False)
        assert (found["x"], found["y"]) == (REAL_JWK["x"], REAL_JWK["y"])
    except OAuthError:
        pass
