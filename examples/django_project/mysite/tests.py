"""The example project's tests (``python manage.py test``): GitHub sign-in through
lucia's local GitHub stand-in, password accounts, and the cross-site POST refusal."""

from typing import Any

from django.test import TestCase

from lucia.oauth import GitHub
from lucia.testing.github import LocalGitHub

BASE = "https://testserver"
SAME_ORIGIN = {"HTTP_ORIGIN": BASE}
PASSWORD = "correct horse battery staple"  # noqa: S105 (a test's)
CALLBACK = f"{BASE}/auth/login/github/callback/"


class ExampleTests(TestCase):
    def setUp(self) -> None:
        self.github = self.enterContext(LocalGitHub(redirect_uris=[CALLBACK]))
        provider = GitHub(
            self.github.client_id,
            self.github.client_secret,
            CALLBACK,
            enterprise_url=self.github.url,
        )
        self.enterContext(self.settings(LUCIA={"PROVIDERS": {"github": provider}}))
        self.addCleanup(provider.close)

    def get(self, path: str, **query: str) -> Any:
        return self.client.get(path, query, secure=True)

    def post(self, path: str, form: dict[str, str] | None = None, origin: str = BASE) -> Any:
        return self.client.post(path, form or {}, secure=True, HTTP_ORIGIN=origin)

    def test_sign_in_with_github_then_sign_out(self) -> None:
        assert "Sign in with GitHub" in self.get("/").text
        assert self.get("/me").status_code == 401

        start = self.get("/auth/login/github/", next="/")
        assert start.status_code == 302
        assert start["Location"].startswith(self.github.url)
        done = self.get("/auth/login/github/callback/", **self.github.authorize(start["Location"]))
        assert done.status_code == 303
        assert done["Location"] == "/"

        assert self.get("/me").json()["attributes"]["username"] == "octocat"
        assert "Signed in as octocat" in self.get("/").text

        assert self.post("/auth/logout/").status_code == 303
        assert self.get("/me").status_code == 401

    def test_password_sign_up_sign_in(self) -> None:
        form = {"email": "Ada@Example.com", "password": PASSWORD}
        assert self.post("/signup", form).status_code == 303
        assert self.get("/me").json()["attributes"]["email"] == "ada@example.com"
        assert self.post("/signup", form).status_code == 409

        self.post("/auth/logout/")
        wrong = {"email": "ada@example.com", "password": "not the password"}
        assert self.post("/signin", wrong).status_code == 400
        assert self.get("/me").status_code == 401
        assert self.post("/signin", form).status_code == 303
        assert self.get("/me").status_code == 200

    def test_common_password_is_refused(self) -> None:
        answer = self.post("/signup", {"email": "bob@example.com", "password": "password123"})
        assert answer.status_code == 400

    def test_cross_site_form_post_is_refused(self) -> None:
        form = {"email": "eve@example.com", "password": PASSWORD}
        assert self.post("/signup", form, origin="https://evil.example").status_code == 403
        assert self.get("/me").status_code == 401
