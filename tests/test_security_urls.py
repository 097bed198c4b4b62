"""SECURITY.md item 9, the part the audit found untested: the session token never
appears in a URL. An OAuth sign-in through the Starlette routes against
``LocalGitHub``: no redirect (``Location``), no page and no request lucia sends to
the provider holds the token or its secret half."""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import urlencode

import pytest
from starlette.testclient import TestClient

from lucia.testing.github import LocalGitHub
from tests.github_app import github_app


@pytest.fixture
def github_server() -> Iterator[LocalGitHub]:
    with LocalGitHub() as server:
        yield server


def test_sec9_session_token_never_in_a_url(github_server: LocalGitHub) -> None:
    app = github_app(github_server, lambda user: "signed in")
    answers = []
    with TestClient(app, base_url="http://testserver") as client:
        login = client.get("/login/github?next=/", follow_redirects=False)
        answers.append(login)
        query = urlencode(github_server.authorize(login.headers["location"]))
        callback = client.get(f"/login/github/callback?{query}", follow_redirects=False)
        answers.append(callback)
        assert callback.status_code == 303
        token = client.cookies.get("auth_session")
        assert token
        home_page = client.get("/")
        answers.append(home_page)
        assert home_page.text == "signed in"
        answers.append(client.post("/logout", headers={"Origin": "http://testserver"}))
    secret = token.partition(".")[2]
    for answer in answers:
        for value in (answer.headers.get("location", ""), str(answer.url), answer.text):
            assert token not in value
            assert secret not in value
    paths = [request.path for request in github_server.requests]
    assert paths  # the code exchange and the user requests went to the provider
    assert not any(token in path or secret in path for path in paths)
