"""examples/flask_app: GitHub sign-in through the local stand-in, password accounts, CSRF."""

from __future__ import annotations

from pathlib import Path

import pytest
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from lucia.oauth import GitHub
from lucia.testing.github import LocalGitHub
from tests.examples.conftest import BASE, PASSWORD, load_example

example = load_example("flask_app/app.py")


@pytest.fixture
def client(tmp_path: Path, local_github: LocalGitHub) -> FlaskClient:
    github = GitHub(
        local_github.client_id,
        local_github.client_secret,
        f"{BASE}/login/github/callback",
        enterprise_url=local_github.url,
    )
    app = example.create_app(str(tmp_path / "app.sqlite3"), base_url=BASE, github=github)
    return app.test_client()


def get(client: FlaskClient, path: str, **query: str) -> TestResponse:
    return client.get(path, query_string=query, base_url=BASE)


def post(
    client: FlaskClient, path: str, form: dict[str, str] | None = None, origin: str = BASE
) -> TestResponse:
    return client.post(path, data=form or {}, base_url=BASE, headers={"Origin": origin})


def test_sign_in_with_github_then_sign_out(client: FlaskClient, local_github: LocalGitHub) -> None:
    assert "Sign in with GitHub" in get(client, "/").text
    assert get(client, "/me").status_code == 401

    start = get(client, "/login/github", next="/")
    assert start.status_code == 302
    assert start.location.startswith(local_github.url)
    done = get(client, "/login/github/callback", **local_github.authorize(start.location))
    assert done.status_code == 303
    assert done.location == "/"

    assert get(client, "/me").json["attributes"]["username"] == "octocat"
    assert "Signed in as octocat" in get(client, "/").text

    assert post(client, "/logout").status_code == 303
    assert get(client, "/me").status_code == 401


def test_password_sign_up_sign_in(client: FlaskClient) -> None:
    form = {"email": "Ada@Example.com", "password": PASSWORD}
    assert post(client, "/signup", form).status_code == 303
    assert get(client, "/me").json["attributes"]["email"] == "ada@example.com"
    assert post(client, "/signup", form).status_code == 409

    post(client, "/logout")
    wrong = {"email": "ada@example.com", "password": "not the password"}
    assert post(client, "/signin", wrong).status_code == 400
    assert get(client, "/me").status_code == 401
    assert post(client, "/signin", form).status_code == 303
    assert get(client, "/me").status_code == 200


def test_common_password_is_refused(client: FlaskClient) -> None:
    answer = post(client, "/signup", {"email": "bob@example.com", "password": "password123"})
    assert answer.status_code == 400
    assert "password refused" in answer.text


def test_cross_site_form_post_is_refused(client: FlaskClient) -> None:
    form = {"email": "eve@example.com", "password": PASSWORD}
    assert post(client, "/signup", form, origin="https://evil.example").status_code == 403
    assert get(client, "/me").status_code == 401
