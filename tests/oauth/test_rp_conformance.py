"""The OpenID Foundation's relying-party test modules, ported to pytest.

The OIDF conformance suite (Java, Docker, MongoDB) cannot run here, so each RP
case it runs is a test named after it, against LocalOIDCProvider misbehaving
on purpose in the same way, sync and async. A refusal is an ``IDTokenError``
naming the failed check, made before any UserInfo call (SECURITY.md items
32-36). Then the CVEs of the same family, each as the attack it was.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from lucia.oauth import generate_code_verifier, generate_nonce, generate_state
from lucia.oauth.oidc import IDTokenError, OIDCDiscoveryError
from lucia.testing.oidc_provider import OMIT, LocalOIDCProvider
from tests.conftest import Clock
from tests.oauth import test_oidc
from tests.oauth.test_oidc import (
    REDIRECT_URI,
    Twin,
    authorize,
    finish,
    make_provider,
    refused,
    sign_in,
    sign_in_user,
)

# The fixtures of test_oidc.py, bound here so pytest finds them for this module.
asynchronous = test_oidc.asynchronous
op = test_oidc.op
twin = test_oidc.twin


def now(clock: Clock) -> int:
    return int(clock().timestamp())


# Response type and signatures


async def test_rp_response_type_code(twin: Twin, op: LocalOIDCProvider) -> None:
    await twin.call("discover")
    state, verifier = generate_state(), generate_code_verifier()
    url = twin.provider.create_authorization_url(state, verifier, nonce=generate_nonce())
    assert parse_qs(urlsplit(url).query)["response_type"] == ["code"]
    user = await sign_in_user(twin, op)
    assert user.id == op.user["sub"]


async def test_rp_response_type_code_unsupported_by_the_provider(
    twin: Twin, op: LocalOIDCProvider
) -> None:
    op.discovery_overrides = {"response_types_supported": ["id_token", "id_token token"]}
    with pytest.raises(OIDCDiscoveryError, match="authorization code"):
        await twin.call("discover")


async def test_rp_id_token_sig_rs256(twin: Twin, op: LocalOIDCProvider) -> None:
    tokens, _ = await sign_in(twin, op)
    assert tokens.id_token is not None
    assert tokens.id_token_claims["sub"] == op.user["sub"]


async def test_sec33_rp_id_token_sig_none(twin: Twin, op: LocalOIDCProvider) -> None:
    op.signing = "none"
    # Even a provider that advertises "none" gets no unsigned token through.
    op.discovery_overrides = {"id_token_signing_alg_values_supported": ["RS256", "none"]}
    await refused(twin, op, "alg")
    assert op.count("jwks") == 0  # refused on the header, before any key is fetched


async def test_sec33_rp_id_token_bad_sig_rs256(twin: Twin, op: LocalOIDCProvider) -> None:
    op.signing = "bad-signature"
    await refused(twin, op, "signature")


async def test_sec33_alg_outside_the_allowlist(
    asynchronous: bool, op: LocalOIDCProvider, clock: Clock
) -> None:
    provider = make_provider(op, clock, allowed_algorithms=["ES256"])
    await refused(Twin(provider, asynchronous), op, "alg")
    await provider.aclose()


async def test_sec33_alg_not_advertised_by_the_provider(twin: Twin, op: LocalOIDCProvider) -> None:
    # The default allowlist is the metadata's, intersected with the public-key algorithms.
    op.discovery_overrides = {"id_token_signing_alg_values_supported": ["ES256"]}
    await refused(twin, op, "alg")


# Claims (item 32)


async def test_sec32_rp_id_token_issuer_mismatch(twin: Twin, op: LocalOIDCProvider) -> None:
    op.id_token_claims = {"iss": "https://example.org/"}
    await refused(twin, op, "iss")


@pytest.mark.parametrize(
    "variant",
    [
        "{issuer}/",  # trailing slash
        "{issuer}0",  # the issuer as a prefix
        "{issuer}/evil",
        "{short}",  # a prefix of the issuer
        "http://127.0.0.1",  # a substring
        "{upper}",
        " {issuer}",
        "",
    ],
)
async def test_sec32_issuer_prefix_and_substring_variants_cve_2024_53861(
    twin: Twin, op: LocalOIDCProvider, variant: str
) -> None:
    issuer = op.issuer
    op.id_token_claims = {
        "iss": variant.format(issuer=issuer, short=issuer[:-1], upper=issuer.upper())
    }
    await refused(twin, op, "iss")


@pytest.mark.parametrize("iss", [OMIT, None, 42])
async def test_sec32_issuer_missing_or_not_a_string(
    twin: Twin, op: LocalOIDCProvider, iss: Any
) -> None:
    op.id_token_claims = {"iss": iss}
    await refused(twin, op, "iss")


async def test_sec32_issuer_in_a_list(twin: Twin, op: LocalOIDCProvider) -> None:
    op.id_token_claims = {"iss": [op.issuer]}
    await refused(twin, op, "iss")


@pytest.mark.parametrize("sub", [OMIT, "", 12345, None])
async def test_sec32_rp_id_token_sub(twin: Twin, op: LocalOIDCProvider, sub: Any) -> None:
    op.id_token_claims = {"sub": sub}
    await refused(twin, op, "sub")


async def test_sec32_rp_id_token_aud(twin: Twin, op: LocalOIDCProvider) -> None:
    op.id_token_claims = {"aud": "some-other-client"}
    await refused(twin, op, "aud")


async def test_sec32_aud_missing(twin: Twin, op: LocalOIDCProvider) -> None:
    op.id_token_claims = {"aud": OMIT}
    await refused(twin, op, "aud")


async def test_sec32_untrusted_extra_audience(twin: Twin, op: LocalOIDCProvider) -> None:
    op.id_token_claims = {"aud": [op.client_id, "https://api.example"], "azp": op.client_id}
    await refused(twin, op, "aud")


async def test_sec32_trusted_extra_audience_with_azp(
    asynchronous: bool, op: LocalOIDCProvider, clock: Clock
) -> None:
    provider = make_provider(op, clock, trusted_audiences=["https://api.example"])
    op.id_token_claims = {"aud": [op.client_id, "https://api.example"], "azp": op.client_id}
    user = await sign_in_user(Twin(provider, asynchronous), op)
    assert user.id == op.user["sub"]
    await provider.aclose()


async def test_sec32_multiple_audiences_without_azp(
    asynchronous: bool, op: LocalOIDCProvider, clock: Clock
) -> None:
    provider = make_provider(op, clock, trusted_audiences=["https://api.example"])
    op.id_token_claims = {"aud": [op.client_id, "https://api.example"]}
    await refused(Twin(provider, asynchronous), op, "azp")
    await provider.aclose()


@pytest.mark.parametrize("aud", ["{client}", ["{client}"]])
async def test_sec32_azp_other_than_the_client(twin: Twin, op: LocalOIDCProvider, aud: Any) -> None:
    op.id_token_claims = {
        "aud": op.client_id if isinstance(aud, str) else [op.client_id],
        "azp": "some-other-client",
    }
    await refused(twin, op, "azp")


async def test_sec32_rp_id_token_iat(twin: Twin, op: LocalOIDCProvider) -> None:
    op.id_token_claims = {"iat": OMIT}
    await refused(twin, op, "iat")


async def test_sec32_iat_in_the_future(twin: Twin, op: LocalOIDCProvider, clock: Clock) -> None:
    op.id_token_claims = {"iat": now(clock) + 3600}
    await refused(twin, op, "iat")


async def test_sec32_iat_ahead_within_the_leeway(
    twin: Twin, op: LocalOIDCProvider, clock: Clock
) -> None:
    op.id_token_claims = {"iat": now(clock) + 30}  # the provider's clock is 30 s fast
    assert (await sign_in_user(twin, op)).id == op.user["sub"]


@pytest.mark.parametrize("exp", [-3600, -61, OMIT])
async def test_sec32_exp_past_the_leeway(
    twin: Twin, op: LocalOIDCProvider, clock: Clock, exp: Any
) -> None:
    op.id_token_claims = {"exp": exp if exp is OMIT else now(clock) + exp}
    await refused(twin, op, "exp")


async def test_sec32_exp_just_past_within_the_leeway(
    twin: Twin, op: LocalOIDCProvider, clock: Clock
) -> None:
    op.id_token_claims = {"exp": now(clock) - 30}
    assert (await sign_in_user(twin, op)).id == op.user["sub"]


@pytest.mark.parametrize("nonce", ["another-nonce", "", OMIT, 42])
async def test_sec32_rp_nonce_invalid(twin: Twin, op: LocalOIDCProvider, nonce: Any) -> None:
    op.id_token_claims = {"nonce": nonce}
    await refused(twin, op, "nonce")


async def test_sec32_nonce_of_another_sign_in(twin: Twin, op: LocalOIDCProvider) -> None:
    # An attacker's code (bound to the attacker's nonce) injected into the victim's
    # callback. PKCE alone stops it at the token endpoint (invalid_grant); here the
    # verifier leaked too, so only the nonce is left to catch it.
    await twin.call("discover")
    attacker = authorize(twin, op)
    victim = authorize(twin, op)
    victim.code, victim.verifier = attacker.code, attacker.verifier
    with pytest.raises(IDTokenError) as caught:
        await finish(twin, victim)
    assert caught.value.check == "nonce"


# Keys (item 34)


async def test_sec34_rp_id_token_kid_absent_single_jwks(twin: Twin, op: LocalOIDCProvider) -> None:
    op.id_token_header = {"kid": OMIT}
    assert (await sign_in_user(twin, op)).id == op.user["sub"]


async def test_sec34_kid_absent_and_the_jwks_key_has_no_kid(
    twin: Twin, op: LocalOIDCProvider
) -> None:
    public = op.signing_key.as_dict(private=False)
    del public["kid"]
    op.published_keys = []
    op.jwks_extra = [public]
    op.id_token_header = {"kid": OMIT}
    assert (await sign_in_user(twin, op)).id == op.user["sub"]


async def test_sec34_rp_id_token_kid_absent_multiple_jwks(
    twin: Twin, op: LocalOIDCProvider
) -> None:
    # The OIDF suite's current RP plan expects rejection: no kid, several candidate
    # keys is ambiguous (trying each would let any published key sign for the others).
    op.publish_key()
    op.id_token_header = {"kid": OMIT}
    await refused(twin, op, "kid")
    assert op.count("jwks") == 1  # ambiguity is not a reason to refetch


async def test_sec34_kid_absent_with_keys_of_other_types(twin: Twin, op: LocalOIDCProvider) -> None:
    # One RSA key among EC and OKP keys: the alg picks the only suitable key.
    op.publish_key("ES256")
    op.publish_key("EdDSA")
    op.id_token_header = {"kid": OMIT}
    assert (await sign_in_user(twin, op)).id == op.user["sub"]


async def test_sec34_rp_discovery_jwks_uri_keys(twin: Twin, op: LocalOIDCProvider) -> None:
    op.publish_key()  # two keys, picked by kid
    metadata = await twin.call("discover")
    assert metadata.jwks_uri == op.url("jwks")
    await sign_in_user(twin, op)
    await sign_in_user(twin, op)
    assert op.count("jwks") == 1  # fetched from jwks_uri once, then cached


async def test_sec34_rp_key_rotation_op_sign_key(twin: Twin, op: LocalOIDCProvider) -> None:
    await sign_in_user(twin, op)
    op.rotate_signing_key()
    user = await sign_in_user(twin, op)
    assert user.id == op.user["sub"]
    assert op.count("jwks") == 2  # exactly one refetch


async def test_sec34_unknown_kid_refetch_is_rate_limited(
    twin: Twin, op: LocalOIDCProvider, clock: Clock
) -> None:
    await sign_in_user(twin, op)
    op.signing = "unpublished-key"
    await refused(twin, op, "kid")
    assert op.count("jwks") == 2  # one refetch, then rejection
    await refused(twin, op, "kid")
    await refused(twin, op, "kid")
    assert op.count("jwks") == 2  # within 60 s: no more refetches
    clock.advance(seconds=61)
    await refused(twin, op, "kid")
    assert op.count("jwks") == 3


async def test_sec34_rotation_soon_after_a_refused_kid_waits_for_the_rate_limit(
    twin: Twin, op: LocalOIDCProvider, clock: Clock
) -> None:
    await sign_in_user(twin, op)
    op.signing = "unpublished-key"
    await refused(twin, op, "kid")
    op.signing = "key"
    op.rotate_signing_key()
    await refused(twin, op, "kid")
    clock.advance(seconds=60)
    assert (await sign_in_user(twin, op)).id == op.user["sub"]


async def test_sec34_unparseable_jwks_entry_is_skipped(twin: Twin, op: LocalOIDCProvider) -> None:
    op.jwks_extra = [
        {"kty": "RSA", "kid": "broken", "n": "!!not-base64!!", "e": "AQAB"},
        {"kty": "EC", "kid": "no-curve", "x": "AA"},
        {"kty": "made-up"},
        "not an object",
        {"kty": "oct", "kid": "symmetric", "k": "c2VjcmV0"},
    ]
    assert (await sign_in_user(twin, op)).id == op.user["sub"]


async def test_sec34_kid_pointing_at_an_unparseable_entry(
    twin: Twin, op: LocalOIDCProvider
) -> None:
    op.jwks_extra = [{"kty": "RSA", "kid": "broken", "n": "!!", "e": "AQAB"}]
    op.id_token_header = {"kid": "broken"}
    await refused(twin, op, "kid")


# Hash claims (item 35)


async def test_sec35_rp_id_token_bad_at_hash(twin: Twin, op: LocalOIDCProvider) -> None:
    op.id_token_claims = {"at_hash": "AAAAAAAAAAAAAAAAAAAAAA"}
    await refused(twin, op, "at_hash")


async def test_sec35_rp_id_token_bad_c_hash(twin: Twin, op: LocalOIDCProvider) -> None:
    op.include_c_hash = True
    op.id_token_claims = {"c_hash": "AAAAAAAAAAAAAAAAAAAAAA"}
    await refused(twin, op, "c_hash")


async def test_sec35_good_c_hash_and_missing_at_hash_pass(
    twin: Twin, op: LocalOIDCProvider
) -> None:
    op.include_c_hash = True
    op.id_token_claims = {"at_hash": OMIT}  # optional in the code flow
    tokens, _ = await sign_in(twin, op)
    assert "c_hash" in tokens.id_token_claims


# Discovery and UserInfo (item 36)


async def test_sec36_rp_discovery_openid_configuration(twin: Twin, op: LocalOIDCProvider) -> None:
    metadata = await twin.call("discover")
    assert metadata.issuer == op.issuer
    assert metadata.authorization_endpoint == op.url("authorize")
    assert metadata.token_endpoint == op.url("token")
    assert metadata.userinfo_endpoint == op.url("userinfo")
    assert op.requests == ["discovery"]


async def test_sec36_rp_discovery_issuer_not_matching_config(
    twin: Twin, op: LocalOIDCProvider
) -> None:
    op.discovery_overrides = {"issuer": "https://example.org/"}
    with pytest.raises(OIDCDiscoveryError, match="issuer"):
        await twin.call("discover")
    with pytest.raises(OIDCDiscoveryError):
        await twin.call("validate_authorization_code", "code", "verifier", nonce="n")
    assert op.count("token") == 0


async def test_sec36_rp_userinfo_bad_sub_claim(twin: Twin, op: LocalOIDCProvider) -> None:
    tokens, _ = await sign_in(twin, op)
    op.userinfo_overrides = {"sub": "another-subject"}
    with pytest.raises(IDTokenError) as caught:
        await twin.call("get_user", tokens)
    assert caught.value.check == "userinfo_sub"
    assert op.count("userinfo") == 1


async def test_rp_scope_userinfo_claims(twin: Twin, op: LocalOIDCProvider) -> None:
    # The profile and email claims come from UserInfo when the ID token lacks them.
    op.id_token_claims = {
        claim: OMIT
        for claim in ("email", "email_verified", "name", "picture", "preferred_username")
    }
    tokens, _ = await sign_in(twin, op)
    assert "email" not in tokens.id_token_claims
    user = await twin.call("get_user", tokens)
    assert (user.email, user.email_verified) == ("alice@example.test", True)
    assert (user.name, user.username) == ("Alice Example", "alice")
    assert user.avatar_url == "https://example.test/alice.png"


async def test_rp_token_endpoint_client_secret_basic(asynchronous: bool, clock: Clock) -> None:
    with LocalOIDCProvider(token_endpoint_auth_methods=["client_secret_basic"], clock=clock) as o:
        provider = make_provider(o, clock)
        assert (await sign_in_user(Twin(provider, asynchronous), o)).id == o.user["sub"]
        assert provider.client.token_endpoint_auth == "client_secret_basic"
        await provider.aclose()


# Signature attacks (item 33)


async def test_sec33_hs256_signed_with_the_public_key_cve_2024_37568(
    twin: Twin, op: LocalOIDCProvider
) -> None:
    op.signing = "hs256-public-key"
    op.discovery_overrides = {"id_token_signing_alg_values_supported": ["RS256", "HS256"]}
    await refused(twin, op, "alg")  # HS* is never taken from the metadata


async def test_sec33_hs256_with_the_public_key_when_hs256_is_configured(
    asynchronous: bool, op: LocalOIDCProvider, clock: Clock
) -> None:
    # Even a client that opted in to HS256 keys it by its client secret only.
    provider = make_provider(op, clock, allowed_algorithms=["RS256", "HS256"])
    op.signing = "hs256-public-key"
    await refused(Twin(provider, asynchronous), op, "signature")
    assert op.count("jwks") == 0
    await provider.aclose()


async def test_sec33_hs256_keyed_by_the_client_secret_when_configured(
    asynchronous: bool, op: LocalOIDCProvider, clock: Clock
) -> None:
    provider = make_provider(op, clock, allowed_algorithms=["HS256"])
    op.signing = "hs256-client-secret"
    user = await sign_in_user(Twin(provider, asynchronous), op)
    assert user.id == op.user["sub"]
    assert op.count("jwks") == 0
    await provider.aclose()


@pytest.mark.parametrize("kid", ["key-1", OMIT, "attacker"])
async def test_sec33_embedded_jwk_header_is_ignored_cve_2026_27962(
    twin: Twin, op: LocalOIDCProvider, kid: Any
) -> None:
    op.signing = "embedded-jwk"  # signed by the attacker, whose key rides in the header
    op.id_token_header = {"kid": kid}
    await refused(twin, op, "kid" if kid == "attacker" else "signature")


@pytest.mark.parametrize(
    "header",
    [
        {"jku": "http://127.0.0.1:9/attacker-jwks"},
        {"x5u": "http://127.0.0.1:9/attacker.pem"},
    ],
)
async def test_sec33_jku_and_x5u_headers_are_ignored(
    twin: Twin, op: LocalOIDCProvider, header: dict[str, Any]
) -> None:
    # A genuine token naming a remote key source: the key still comes from the JWKS.
    op.id_token_header = header
    assert (await sign_in_user(twin, op)).id == op.user["sub"]


@pytest.mark.parametrize(
    "header",
    [
        {"crit": ["exp"], "exp": 1},
        {"crit": ["urn:example:unknown"], "urn:example:unknown": True},
        {"crit": ["b64"], "b64": True},
        {"b64": True},
    ],
)
async def test_sec33_unknown_crit_is_rejected_cve_2025_59420(
    twin: Twin, op: LocalOIDCProvider, header: dict[str, Any]
) -> None:
    op.id_token_header = header
    await refused(twin, op, "crit")


async def test_sec33_oversized_token_is_rejected_before_decoding_cve_2025_61920(
    twin: Twin, op: LocalOIDCProvider
) -> None:
    op.id_token_claims = {"padding": "x" * 16_000}
    await refused(twin, op, "size")
    assert op.count("jwks") == 0


async def test_sec33_token_just_under_the_limit_passes(twin: Twin, op: LocalOIDCProvider) -> None:
    op.id_token_claims = {"padding": "x" * 10_000}
    assert (await sign_in_user(twin, op)).id == op.user["sub"]


async def test_sec33_an_encrypted_token_is_not_accepted(twin: Twin, op: LocalOIDCProvider) -> None:
    op.token_response_overrides = {"id_token": "eyJhbGciOiJkaXIifQ..aXY.Y2lwaGVy.dGFn"}
    await refused(twin, op, "format")


async def test_redirect_uri_is_the_configured_one(twin: Twin, op: LocalOIDCProvider) -> None:
    await twin.call("discover")
    url = twin.provider.create_authorization_url(generate_state(), generate_code_verifier())
    assert parse_qs(urlsplit(url).query)["redirect_uri"] == [REDIRECT_URI]
