"""Every registered provider, checked the same way (a new provider is checked here
without a line added): its spec is sane, it builds by slug with its parameters, its
authorization URL is on the spec's host and path with state (and PKCE S256 and a
nonce where the spec says so), a parameter value can never reach another host or
path, and ``lucia providers --json`` lists it."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from lucia.cli import main
from lucia.oauth import OAuthProvider, provider
from lucia.oauth.oidc import discovery_url
from lucia.oauth.providers.registry import describe, providers, spec_of
from lucia.oauth.providers.spec import OIDC_USER_FIELDS, ProviderSpec, UserFields, template_names
from tests.oauth.providers.harness import (
    CLIENT_ID,
    CLIENT_SECRET,
    REDIRECT_URI,
    ProviderMock,
    authorization_params,
)

SLUGS = sorted(providers())
# The 25 of issue 16: each must be registered (test_the_issue_16_providers_are_registered).
ISSUE_16 = [
    "google",
    "github",
    "apple",
    "microsoft",
    "facebook",
    "discord",
    "gitlab",
    "x",
    "linkedin",
    "slack",
    "okta",
    "auth0",
    "keycloak",
    "cognito",
    "twitch",
    "spotify",
    "bitbucket",
    "dropbox",
    "salesforce",
    "vk",
    "kakao",
    "yandex",
    "line",
    "naver",
    "reddit",
]

HOSTILE = {
    "host": [
        "evil.example/path",
        "id.example.com?x=1",
        "user@evil.example",
        "a b",
        "",
        "id.example.com/",
    ],
    "url": [
        "https://evil.example/?x=1",
        "https://evil.example/#frag",
        "https://user:pw@evil.example",
        "ftp://evil.example",
        "http://evil.example",
        "evil.example",
        "",
        # Read differently by browsers and httpx, or dropped by urlsplit (78516c5).
        "https://evil.example\\.id.example.com",
        "https://id.example.com/a\nb",
        "https://id.example.com/a\tb",
        "https://id.example.com/..",
        "https://id.example.com/a/../b",
        "https://id.example.com/%2e%2e",
    ],
    "token": ["a/b", "a?b", "a#b", "a@b", "..%2f", "", "a b", ".", "..", "a\nb", "a\\b"],
}


def spec(slug: str) -> ProviderSpec:
    return spec_of(providers()[slug])


def examples(slug: str) -> dict[str, str]:
    """A valid value for every required parameter."""
    return {p.name: p.example_value for p in spec(slug).parameters if p.required}


def build(slug: str, mock: ProviderMock, **options: Any) -> OAuthProvider:
    return provider(
        slug,
        client_id=CLIENT_ID,
        client_secret=CLIENT_SECRET,
        redirect_uri=REDIRECT_URI,
        **{**examples(slug), **providers()[slug].example_options(), **mock.clients(), **options},
    )


def discovery_document(issuer: str) -> dict[str, Any]:
    return {
        "issuer": issuer,
        "authorization_endpoint": f"{issuer}/authorize",
        "token_endpoint": f"{issuer}/token",
        "jwks_uri": f"{issuer}/jwks",
        "response_types_supported": ["code"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["RS256"],
    }


def prepared(slug: str, **options: Any) -> tuple[OAuthProvider, str]:
    """The provider (built with ``options``), ready to build its URL, and where that
    URL must point."""
    mock = ProviderMock()
    values = examples(slug)
    if spec(slug).discovery:
        issuer = values["issuer"]
        document = discovery_document(issuer)
        mock.route("GET", discovery_url(issuer), json=document)
        built = build(slug, mock, **options)
        built.prepare()
        return built, document["authorization_endpoint"]
    built = build(slug, mock, **options)
    built.prepare()
    defaults = {p.name: p.default for p in spec(slug).parameters if p.default is not None}
    expected = spec(slug).endpoints({**defaults, **values, "client_id": CLIENT_ID}).authorization
    assert expected is not None
    return built, expected


def test_the_issue_16_providers_are_registered() -> None:
    missing = [slug for slug in ISSUE_16 if slug not in SLUGS]
    assert not missing, f"issue 16's providers not registered: {missing}"
    assert len(ISSUE_16) == len(set(ISSUE_16)) == 25
    assert "openid" in SLUGS


@pytest.mark.parametrize("slug", SLUGS)
def test_spec_is_sane(slug: str) -> None:
    found = spec(slug)
    assert found.slug == slug
    assert found.name.strip()
    assert found.docs
    for url in found.docs:
        assert urlsplit(url).scheme == "https", url
    defaults = {p.name: p.default for p in found.parameters if p.default is not None}
    values = {**defaults, **examples(slug), "client_id": CLIENT_ID}
    endpoints = found.endpoints(values)
    for url in (
        endpoints.authorization,
        endpoints.token,
        endpoints.userinfo,
        endpoints.revocation,
        endpoints.issuer,
        endpoints.jwks_uri,
    ):
        if url is not None:
            parts = urlsplit(url)
            assert parts.scheme == "https", url
            assert parts.hostname, url
            assert "{" not in url, url
    if found.protocol == "oauth2":
        assert endpoints.userinfo is not None
    elif not found.discovery:
        assert endpoints.issuer is not None
        assert endpoints.jwks_uri is not None
    assert found.scope_separator in (" ", ",", "+")
    for parameter in found.parameters:
        assert parameter.description or parameter.default is not None or parameter.optional, (
            f"{slug}: say what {parameter.name} is"
        )


@pytest.mark.parametrize("slug", SLUGS)
def test_authorization_url_on_the_specs_host_and_path(slug: str) -> None:
    built, expected = prepared(slug)
    found = spec(slug)
    nonce = "the-nonce" if built.uses_nonce else None
    verifier = "v" * 43 if built.uses_pkce else None
    url = built.create_authorization_url("the-state", verifier, nonce=nonce)
    parts, wanted = urlsplit(url), urlsplit(expected)
    assert (parts.scheme, parts.netloc, parts.path) == (wanted.scheme, wanted.netloc, wanted.path)
    params = authorization_params(url)
    assert params["state"] == "the-state"
    assert params["response_type"] == "code"
    assert params["client_id"] == CLIENT_ID
    if found.pkce != "none":
        assert built.uses_pkce
        assert params["code_challenge_method"] == found.pkce
        assert params["code_challenge"]
    else:
        assert not built.uses_pkce
        assert "code_challenge" not in params
    if found.protocol == "oidc":
        assert "openid" in params["scope"].split(found.scope_separator)
    if built.uses_nonce:
        assert params["nonce"] == "the-nonce"
    else:
        assert "nonce" not in params
    scopes = params.get("scope", "")
    assert scopes.split(found.scope_separator) == list(built.default_scopes) or not scopes
    for key, value in found.authorization_params.items():
        assert params[key] == value


@pytest.mark.parametrize("slug", SLUGS)
def test_built_by_slug_and_named_by_it(slug: str) -> None:
    built = build(slug, ProviderMock())
    assert isinstance(built, providers()[slug])
    if not spec(slug).discovery:
        assert built.name == slug
    assert CLIENT_SECRET not in repr(built)


@pytest.mark.parametrize("slug", SLUGS)
def test_every_provider_takes_the_common_options(slug: str) -> None:
    # Issue 16 item 2: scopes=, timeout= and clock= (and http_client= /
    # async_http_client=, which every build here passes) by slug, for each provider.
    def clock() -> datetime:
        return datetime(2031, 1, 2, tzinfo=UTC)

    built, _ = prepared(slug, scopes=("extra-a", "extra-b"), timeout=2.5, clock=clock)
    assert built.timeout == httpx.Timeout(2.5)
    assert built.client.clock is clock
    url = built.create_authorization_url(
        "the-state",
        "v" * 43 if built.uses_pkce else None,
        nonce="the-nonce" if built.uses_nonce else None,
    )
    scopes = authorization_params(url)["scope"].split(spec(slug).scope_separator)
    assert {"extra-a", "extra-b"} <= set(scopes)


@pytest.mark.parametrize("slug", [s for s in SLUGS if spec(s).required_parameters])
def test_a_required_parameter_is_required(slug: str) -> None:
    name = spec(slug).required_parameters[0]
    values = {k: v for k, v in examples(slug).items() if k != name}
    with pytest.raises((TypeError, ValueError), match=name):
        provider(
            slug,
            client_id=CLIENT_ID,
            client_secret=CLIENT_SECRET,
            redirect_uri=REDIRECT_URI,
            **values,
        )


TEMPLATED = [
    (slug, parameter.name, parameter.kind, value)
    for slug in SLUGS
    if not spec(slug).discovery
    for parameter in spec(slug).parameters
    if parameter.kind in HOSTILE
    and any(parameter.name in template_names(t) for t in spec(slug).templates().values())
    for value in HOSTILE[parameter.kind]
]


@pytest.mark.parametrize(("slug", "name", "kind", "value"), TEMPLATED)
def test_a_parameter_value_cannot_inject_a_host_path_or_query(
    slug: str, name: str, kind: str, value: str
) -> None:
    with pytest.raises(ValueError, match=name):
        build(slug, ProviderMock(), **{name: value})


def test_providers_json_lists_every_provider(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["providers", "--json"]) == 0
    listed = {entry["slug"]: entry for entry in json.loads(capsys.readouterr().out)}
    assert sorted(listed) == SLUGS
    for slug in SLUGS:
        assert listed[slug] == describe(providers()[slug])


def test_a_provider_outside_the_package_can_register() -> None:
    from lucia.oauth.providers import ProviderSpec, SpecProvider, register, registry

    class Acme(SpecProvider):
        spec = ProviderSpec(
            slug="acme-test",
            name="Acme",
            authorization_endpoint="https://id.acme.test/authorize",
            token_endpoint="https://id.acme.test/token",
            userinfo_endpoint="https://api.acme.test/me",
            docs=("https://acme.test/docs",),
        )

    register(Acme)
    try:
        built = provider(
            "acme-test", client_id=CLIENT_ID, client_secret=None, redirect_uri=REDIRECT_URI
        )
        assert isinstance(built, Acme)

        class Other(SpecProvider):
            spec = Acme.spec

        with pytest.raises(ValueError, match="acme-test"):
            register(Other)
    finally:
        registry._registered.pop("acme-test", None)


def test_an_unknown_slug_names_the_known_ones() -> None:
    with pytest.raises(KeyError, match="discord"):
        provider("nope", client_id="x", client_secret="y", redirect_uri=None)


def test_user_fields_default_to_the_protocols() -> None:
    common: dict[str, Any] = {
        "authorization_endpoint": None,
        "token_endpoint": None,
        "docs": ("https://docs.example",),
    }
    oidc = ProviderSpec(slug="o", name="O", protocol="oidc", discovery=True, **common)
    plain = ProviderSpec(
        slug="p",
        name="P",
        authorization_endpoint="https://p.example/authorize",
        token_endpoint="https://p.example/token",
        userinfo_endpoint="https://p.example/me",
        docs=("https://docs.example",),
    )
    assert oidc.user == OIDC_USER_FIELDS
    assert plain.user == UserFields()
    # Given explicitly, the plain fields are kept for an OpenID provider too.
    given = ProviderSpec(
        slug="g", name="G", protocol="oidc", discovery=True, user=UserFields(), **common
    )
    assert given.user == UserFields()


def test_an_id_scope_claim_is_openid_connects_only() -> None:
    """The id scope is an ID token claim: a plain OAuth 2.0 spec cannot have one."""
    with pytest.raises(ValueError, match="id_scope_claim"):
        ProviderSpec(
            slug="p",
            name="P",
            authorization_endpoint="https://p.example/authorize",
            token_endpoint="https://p.example/token",
            userinfo_endpoint="https://p.example/me",
            docs=("https://docs.example",),
            id_scope_claim="team",
        )


def test_an_oidc_specs_scope_separator_and_error_convention_are_used() -> None:
    from lucia.oauth.errors import OAuthProviderError
    from lucia.oauth.providers import OIDCSpecProvider

    class Commas(OIDCSpecProvider):
        spec = ProviderSpec(
            slug="commas-test",
            name="Commas",
            protocol="oidc",
            issuer="https://id.commas.test",
            authorization_endpoint="https://id.commas.test/authorize",
            token_endpoint="https://id.commas.test/token",
            jwks_uri="https://id.commas.test/jwks",
            scopes=("openid", "email"),
            scope_separator=",",
            errors="ok_false",
            docs=("https://commas.test/docs",),
        )

    mock = ProviderMock()
    # HTTP 200, and no OAuth error field: only the "ok_false" convention reads a failure.
    mock.route("POST", "https://id.commas.test/token", json={"ok": False})
    built = Commas(CLIENT_ID, CLIENT_SECRET, REDIRECT_URI, **mock.clients())
    url = built.create_authorization_url("the-state", "v" * 43, nonce="the-nonce")
    assert authorization_params(url)["scope"] == "openid,email"
    with pytest.raises(OAuthProviderError):
        built.validate_authorization_code("a-code", "v" * 43, nonce="the-nonce")
