"""examples/fastapi_app: GitHub sign-in through the local stand-in, password accounts, CSRF."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from lucia.oauth import GitHub
from lucia.testing.github import LocalGitHub
from tests.examples.conftest import BASE, PASSWORD, SAME_ORIGIN, load_example

example = load_example("fastapi_app/app.py")


@pytest.fixture
async def client(tmp_path: Path, local_github: LocalGitHub) -> AsyncIterator[httpx.AsyncClient]:
    github = GitHub(
        local_github.client_id,
        local_github.client_secret,
        f"{BASE}/login/github/callback",
        enterprise_url=local_github.url,
    )
    app = example.create_app(str(tmp_path / "app.sqlite3"), base_url=BASE, github=github)
    transport = httpx.ASGITransport(app=app)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=transport, base_url=BASE) as client,
    ):
        yield client


async def test_sign_in_with_github_then_sign_out(
    client: httpx.AsyncClient, local_github: LocalGitHub
) -> None:
    assert "Sign in with GitHub" in (await client.get("/")).text
    assert (await client.get("/me")).status_code == 401

    start = await client.get("/login/github", params={"next": "/"})
    assert start.status_code == 302
    assert start.headers["location"].startswith(local_github.url)
    callback = local_github.authorize(start.headers["location"])
    done = await client.get("/login/github/callback", params=callback)
    assert done.status_code == 303
    assert done.headers["location"] == "/"

    me = (await client.get("/me")).json()
    assert me["attributes"]["username"] == "octocat"
    assert "Signed in as octocat" in (await client.get("/")).text

    assert (await client.post("/logout", headers=SAME_ORIGIN)).status_code == 303
    assert (await client.get("/me")).status_code == 401


async def test_password_sign_up_sign_in(client: httpx.AsyncClient) -> None:
    form = {"email": "Ada@Example.com", "password": PASSWORD}
    assert (await client.post("/signup", data=form, headers=SAME_ORIGIN)).status_code == 303
    me = (await client.get("/me")).json()
    assert me["attributes"]["email"] == "ada@example.com"
    assert (await client.post("/signup", data=form, headers=SAME_ORIGIN)).status_code == 409

    await client.post("/logout", headers=SAME_ORIGIN)
    wrong = {"email": "ada@example.com", "password": "not the password"}
    assert (await client.post("/signin", data=wrong, headers=SAME_ORIGIN)).status_code == 400
    assert (await client.get("/me")).status_code == 401
    assert (await client.post("/signin", data=form, headers=SAME_ORIGIN)).status_code == 303
    assert (await client.get("/me")).status_code == 200


async def test_common_password_is_refused(client: httpx.AsyncClient) -> None:
    form = {"email": "bob@example.com", "password": "password123"}
    answer = await client.post("/signup", data=form, headers=SAME_ORIGIN)
    assert answer.status_code == 400
    assert "password refused" in answer.text


async def test_cross_site_form_post_is_refused(client: httpx.AsyncClient) -> None:
    form = {"email": "eve@example.com", "password": PASSWORD}
    answer = await client.post("/signup", data=form, headers={"Origin": "https://evil.example"})
    assert answer.status_code == 403
    assert (await client.get("/me")).status_code == 401
