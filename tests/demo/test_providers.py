"""The demo's providers from the environment: every registered provider by its
``LUCIA_<SLUG>_...`` variables, the problems reported (never a value), ``--help``.

The provider list is the registry's, never written here: a provider added to
``lucia.oauth.providers`` is covered by these tests as it is by the demo.
"""

from __future__ import annotations

import base64
import contextlib
import logging
import sys
from collections.abc import AsyncIterator, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
import uvicorn
from starlette.applications import Starlette

from lucia.cli import main
from lucia.demo.app import create_app, dev_provider, run
from lucia.demo.providers import DemoProvider, env_name, providers_from_env
from lucia.oauth.providers.registry import providers, spec_of
from lucia.oauth.providers.spec import ProviderSpec
from tests.demo.conftest import BASE

#: Every registered provider whose endpoints are known without discovery.
STATIC = [slug for slug, cls in providers().items() if not spec_of(cls).discovery]
SECRET = "s3cret-value-never-shown"


def _spec(slug: str) -> ProviderSpec:
    return spec_of(providers()[slug])


def _settings(slug: str) -> dict[str, str]:
    """Valid values for every required parameter of ``slug`` (and what its
    ``example_options`` give for its parameters: Apple's private key)."""
    spec = _spec(slug)
    declared = {p.name for p in spec.parameters}
    values = {p.name: p.example_value for p in spec.parameters if p.required}
    options = providers()[slug].example_options()
    values.update({name: value for name, value in options.items() if name in declared})
    return values


def _env(slug: str) -> dict[str, str]:
    """The variables that configure ``slug`` completely."""
    env = {
        env_name(slug, "client_id"): f"id-{slug}",
        env_name(slug, "client_secret"): f"{SECRET}-{slug}",
    }
    env.update({env_name(slug, name): value for name, value in _settings(slug).items()})
    return env


def _read(environ: Mapping[str, str], **options: Any) -> tuple[list[DemoProvider], list[str]]:
    problems: list[str] = []
    found = providers_from_env(BASE, environ, report=problems.append, **options)
    return found, problems


@contextlib.asynccontextmanager
async def _serving(found: list[DemoProvider], tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    """A browser on the demo offering ``found`` (its lifespan running)."""
    app = create_app(tmp_path / "demo.sqlite3", providers=found)
    client = httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url=BASE, headers={"Origin": BASE}
    )
    async with app.router.lifespan_context(app), client:
        yield client


# Configured providers


def test_an_empty_environment_offers_nothing() -> None:
    assert _read({"PATH": "/usr/bin", "LUCIA_OAUTH_SECRET": "x"}) == ([], [])


@pytest.mark.parametrize("slug", STATIC)
async def test_a_configured_provider_has_its_button_and_login_redirect(
    slug: str, tmp_path: Path
) -> None:
    found, problems = _read(_env(slug))
    assert problems == []
    assert [(p.route, p.label) for p in found] == [(slug, _spec(slug).name)]
    spec = _spec(slug)
    defaults = {p.name: p.default for p in spec.parameters if p.default is not None}
    endpoint = urlsplit(spec.endpoints({**defaults, **_settings(slug)}).authorization)
    async with _serving(found, tmp_path) as client:
        page = (await client.get("/signin")).text
        assert f'action="/signin/{slug}"' in page
        assert f"Sign in with {_spec(slug).name}" in page
        for response in (await client.get(f"/login/{slug}"), await client.post(f"/signin/{slug}")):
            assert response.status_code in (302, 303), response.text
            location = urlsplit(response.headers["location"])
            assert (location.scheme, location.hostname, location.path) == (
                endpoint.scheme,
                endpoint.hostname,
                endpoint.path,
            )
            query = parse_qs(location.query)
            assert query["client_id"] == [f"id-{slug}"]
            assert query["redirect_uri"] == [f"{BASE}/login/{slug}/callback"]
            assert query["state"]
            assert SECRET not in response.headers["location"]


def test_every_configured_provider_at_once_in_slug_order() -> None:
    env = {name: value for slug in STATIC for name, value in _env(slug).items()}
    found, problems = _read(env)
    assert problems == []
    assert [p.route for p in found] == sorted(STATIC)


def test_an_optional_parameter_is_passed_on() -> None:
    env = {**_env("github"), "LUCIA_GITHUB_ENTERPRISE_URL": "https://git.example.com"}
    (github,), problems = _read(env)
    assert problems == []
    assert urlsplit(github.provider.create_authorization_url("s")).hostname == "git.example.com"


def _client_id(entry: DemoProvider) -> str:
    url = entry.provider.create_authorization_url("state", "v" * 43)
    return parse_qs(urlsplit(url).query)["client_id"][0]


def _redirect_uri(entry: DemoProvider) -> str:
    url = entry.provider.create_authorization_url("state", "v" * 43)
    return parse_qs(urlsplit(url).query)["redirect_uri"][0]


def test_a_secret_may_come_from_a_file(tmp_path: Path) -> None:
    secret_file = tmp_path / "secret"
    secret_file.write_text(f"{SECRET}\n", encoding="utf-8")
    sent: list[str] = []

    def token_endpoint(request: httpx.Request) -> httpx.Response:
        sent.append(request.headers["authorization"])
        return httpx.Response(200, json={"access_token": "at", "token_type": "Bearer"})

    http = httpx.Client(transport=httpx.MockTransport(token_endpoint))
    env = {"LUCIA_DISCORD_CLIENT_ID": "id", "LUCIA_DISCORD_CLIENT_SECRET_FILE": str(secret_file)}
    (discord,), problems = _read(env, http_client=http)
    assert problems == []
    discord.provider.validate_authorization_code("code", "v" * 43)
    # client_secret_basic: the secret read from the file, without its newline.
    assert sent == ["Basic " + base64.b64encode(f"id:{SECRET}".encode()).decode()]
    missing = {**env, "LUCIA_DISCORD_CLIENT_SECRET_FILE": str(tmp_path / "nowhere")}
    assert _read(missing) == (
        [],
        [
            "Discord is not offered: LUCIA_DISCORD_CLIENT_SECRET_FILE: cannot read the file"
            " (No such file or directory)"
        ],
    )


def test_the_older_github_and_oidc_variables_still_work() -> None:
    found, problems = _read(
        {
            "GITHUB_CLIENT_ID": "id",
            "GITHUB_CLIENT_SECRET": SECRET,
            "OIDC_ISSUER": "https://accounts.example.com",
            "OIDC_CLIENT_ID": "oid",
            "OIDC_CLIENT_SECRET": SECRET,
        }
    )
    assert problems == []
    assert [(p.route, p.label) for p in found] == [
        ("github", "GitHub"),
        ("oidc", "accounts.example.com"),
    ]
    github, oidc = (p.provider for p in found)
    assert "redirect_uri=http%3A%2F%2Ftestserver%2Flogin%2Fgithub%2Fcallback" in (
        github.create_authorization_url("state-1")
    )
    assert oidc.name == "https://accounts.example.com"  # keys as before: (issuer, sub)
    assert found[1].provider.redirect_uri == f"{BASE}/login/oidc/callback"  # type: ignore[attr-defined]
    # The new names win over the old ones.
    newer = {"GITHUB_CLIENT_ID": "old", "GITHUB_CLIENT_SECRET": "old"} | _env("github")
    (github_entry,), _ = _read(newer)
    assert _client_id(github_entry) == "id-github"
    labelled = {
        "OIDC_ISSUER": "https://accounts.example.com",
        "OIDC_CLIENT_ID": "oid",
        "OIDC_CLIENT_SECRET": SECRET,
        "OIDC_NAME": "Corp",
    }
    assert [p.label for p in _read(labelled)[0]] == ["Corp"]


async def test_an_openid_provider_by_discovery(tmp_path: Path) -> None:
    op, _ = dev_provider(BASE)
    try:
        env = {
            "LUCIA_OPENID_ISSUER": op.issuer,
            "LUCIA_OPENID_CLIENT_ID": op.client_id,
            "LUCIA_OPENID_CLIENT_SECRET": op.client_secret,
        }
        (entry,), problems = _read(env)
        assert problems == []
        assert (entry.route, entry.label) == ("openid", "127.0.0.1")
        assert [p.label for p in _read({**env, "LUCIA_OPENID_NAME": "Corp SSO"})[0]] == ["Corp SSO"]
        async with _serving([entry], tmp_path) as client:
            response = await client.get("/login/openid")
            assert response.status_code in (302, 303), response.text
            assert response.headers["location"].startswith(f"{op.issuer}/")
    finally:
        op.stop()


# Problems: reported, never a crash, never a value


@pytest.mark.parametrize(
    ("env", "problem"),
    [
        (
            {"LUCIA_DISCORD_CLIENT_ID": "id"},
            "Discord is not offered: missing LUCIA_DISCORD_CLIENT_SECRET",
        ),
        (
            {"LUCIA_DISCORD_CLIENT_SECRET": SECRET},
            "Discord is not offered: missing LUCIA_DISCORD_CLIENT_ID",
        ),
        (
            {"GITHUB_CLIENT_ID": "id"},
            "GitHub is not offered: missing LUCIA_GITHUB_CLIENT_SECRET (or GITHUB_CLIENT_SECRET)",
        ),
        (
            {"LUCIA_GITHUB_CLIENT_ID": "id", "LUCIA_GITHUB_CLIENT_SECRET": SECRET,
             "LUCIA_GITHUB_ENTERPRISE_URL": f"http://{SECRET}.example.com"},
            "GitHub is not offered: LUCIA_GITHUB_ENTERPRISE_URL is not valid: enterprise_url"
            " must be an https:// URL (http:// only for a loopback host)",
        ),
        (
            {"LUCIA_NOSUCH_CLIENT_ID": "id", "LUCIA_NOSUCH_CLIENT_SECRET": SECRET},
            "LUCIA_NOSUCH_CLIENT_ID: lucia has no provider 'nosuch' (`lucia providers` lists them)",
        ),
        (
            {"LUCIA_DISCORD_CLIENT_ID": "id", "LUCIA_DISCORD_CLIENT_SECRET": SECRET,
             "LUCIA_DISCORD_TENANT": SECRET},
            "LUCIA_DISCORD_TENANT is not a setting of Discord (LUCIA_DISCORD_CLIENT_ID,"
            " LUCIA_DISCORD_CLIENT_SECRET)",
        ),
        (
            {"OIDC_ISSUER": "https://accounts.example.com", "OIDC_CLIENT_ID": "oid"},
            "OpenID Connect (any issuer, by discovery) is not offered: missing OIDC_CLIENT_SECRET",
        ),
    ],
)  # fmt: skip
def test_a_problem_is_reported_by_its_variable(env: dict[str, str], problem: str) -> None:
    _, problems = _read(env)
    assert problem in problems
    assert all(SECRET not in line for line in problems)


def test_a_missing_required_parameter_names_its_variable() -> None:
    """Every required parameter of every provider: left out, it is named (with what
    it is), and the provider is not offered."""
    for slug in STATIC:
        for parameter in _spec(slug).parameters:
            if not parameter.required:
                continue
            variable = env_name(slug, parameter.name)
            env = {name: value for name, value in _env(slug).items() if name != variable}
            found, problems = _read(env)
            assert found == []
            assert len(problems) == 1
            assert problems[0].startswith(f"{_spec(slug).name} is not offered: missing ")
            assert variable in problems[0]


def test_the_rest_is_offered_beside_a_problem() -> None:
    env = {**_env("discord"), "LUCIA_GITHUB_CLIENT_ID": "id", "LUCIA_NOSUCH_CLIENT_ID": "x"}
    found, problems = _read(env)
    assert [p.route for p in found] == ["discord"]
    assert len(problems) == 2


def test_problems_go_to_the_log_by_default(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="lucia.demo"):
        assert providers_from_env(BASE, {"LUCIA_DISCORD_CLIENT_SECRET": SECRET}) == []
    assert [r.getMessage() for r in caplog.records] == [
        "Discord is not offered: missing LUCIA_DISCORD_CLIENT_ID"
    ]
    assert SECRET not in caplog.text


def test_a_provider_refusing_a_secret_does_not_echo_it() -> None:
    """Apple checks its key itself: the message is Apple's, the value is not in it."""
    if "apple" not in providers():
        pytest.skip("no Apple provider registered")
    env = {**_env("apple"), "LUCIA_APPLE_PRIVATE_KEY": SECRET}
    found, problems = _read(env)
    assert found == []
    assert len(problems) == 1
    assert problems[0].startswith("Apple is not offered: ")
    assert SECRET not in problems[0]


# lucia demo


def test_run_starts_with_the_configured_providers_and_reports_the_rest(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    served: list[Starlette] = []
    monkeypatch.setattr(uvicorn, "run", lambda app, **kwargs: served.append(app))
    out: list[str] = []
    err: list[str] = []
    env = {**_env("discord"), "LUCIA_GITHUB_CLIENT_SECRET": SECRET}
    run(
        database=tmp_path / "demo.sqlite3",
        port=8123,
        dev=False,
        environ=env,
        announce=out.append,
        warn=err.append,
    )
    (app,) = served
    assert [p.route for p in app.state.demo.providers] == ["discord"]
    assert "lucia demo: sign in with Discord (from the environment)" in out
    assert err == [
        "lucia demo: GitHub is not offered: missing LUCIA_GITHUB_CLIENT_ID (or GITHUB_CLIENT_ID)"
    ]
    assert SECRET not in "\n".join(out + err)
    assert _redirect_uri(app.state.demo.providers[0]) == (
        "http://127.0.0.1:8123/login/discord/callback"
    )


def _help(capsys: pytest.CaptureFixture[str]) -> str:
    with pytest.raises(SystemExit) as exited:
        main(["demo", "--help"])
    assert exited.value.code == 0
    return capsys.readouterr().out


def test_demo_help_lists_every_providers_variables(capsys: pytest.CaptureFixture[str]) -> None:
    out = _help(capsys)
    assert "--no-dev-provider" in out
    for slug, cls in providers().items():
        spec = spec_of(cls)
        assert f"{spec.name} ({slug}): {env_name(slug, 'client_id')}" in out
        if spec.token_auth != "none":
            assert env_name(slug, "client_secret") in out
        for parameter in spec.parameters:
            assert env_name(slug, parameter.name) in out
    assert "GITHUB_CLIENT_ID and GITHUB_CLIENT_SECRET" in out  # the older names
    assert "/login/<slug>/callback" in out
    assert max(len(line) for line in out.splitlines()) <= 80


def test_demo_help_without_the_extra(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "lucia.demo.providers", None)  # import fails
    out = _help(capsys)
    assert "--no-dev-provider" in out
    assert "pip install 'lucia-auth[demo]'" in out


async def test_a_form_post_callback_passes_the_origin_check(tmp_path: Path) -> None:
    """A provider answering by a cross-site POST (Apple's form_post) reaches its
    callback; the flow's state and transaction cookie guard it instead, and every
    other POST is still refused from another origin."""
    env = {name: value for slug in STATIC for name, value in _env(slug).items()}
    found, _ = _read(env)
    form_post = [p.route for p in found if p.provider.uses_form_post]
    if not form_post:
        pytest.skip("no registered provider answers by form_post")
    async with _serving(found, tmp_path) as client:
        cross_site = {"Origin": "https://id.example.net"}
        for route in form_post:
            response = await client.post(
                f"/login/{route}/callback", data={"code": "c", "state": "s"}, headers=cross_site
            )
            # The flow's answer (no transaction cookie here), not the middleware's refusal.
            assert response.status_code == 400, response.text
            assert "sign-in link is invalid or has expired" in response.text
        refused = await client.post("/signin", data={"email": "a@example.com"}, headers=cross_site)
        assert (refused.status_code, refused.text) == (403, "Forbidden: cross-site request")
