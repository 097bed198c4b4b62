"""LuciaFlask on a small Flask app, driven by Flask's test client at https://app.example.

Sign-in goes through ``LocalOIDCProvider`` (and once through the real npm
oidc-provider), password sign-up, sign-in and change through test views built
on ``lucia.accounts``; the security tests are named after SECURITY.md items.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from http.cookies import SimpleCookie
from typing import Any
from urllib.parse import urlsplit

import pytest
from flask import Flask, g, jsonify, request
from flask.testing import FlaskClient
from werkzeug.test import TestResponse
from werkzeug.wrappers import Response as BaseResponse

from lucia import Lucia, accounts
from lucia.adapters.memory import MemoryAdapter
from lucia.errors import DatabaseError, InvalidCredentialsError, InvalidPasswordError
from lucia.integrations.flask import (
    LuciaFlask,
    current_user,
    login_required,
    session_attributes,
    sign_in_response,
)
from lucia.oauth.flow import SignInFlow
from lucia.oauth.providers.openid import OpenIDConnect
from lucia.sessions import utc_now
from lucia.testing.oidc_provider import LocalOIDCProvider
from tests.conftest import Clock
from tests.integrations.common import PASSWORD, ROUTE, FlakyStore
from tests.oauth.conftest import REDIRECT_URIS, NodeOIDCProvider
from tests.oauth.conftest import oidc_provider as oidc_provider  # the session fixture
from tests.oauth.test_oidc_provider_e2e import Browser

BASE = "https://app.example"
HOST = "app.example"
SAME_SITE = {"Origin": BASE}
EVIL = {"Origin": "https://evil.example"}
NEW_PASSWORD = "a brand new passphrase 42"


def set_cookies(response: TestResponse) -> dict[str, str]:
    """Raw Set-Cookie headers by cookie name."""
    return {raw.split("=", 1)[0]: raw for raw in response.headers.getlist("Set-Cookie")}


def attributes(raw: str) -> dict[str, str]:
    parsed = SimpleCookie()
    parsed.load(raw)
    (morsel,) = parsed.values()
    result = {key.lower(): str(value) for key, value in morsel.items() if value}
    for flag in ("Secure", "HttpOnly"):
        if flag.lower() in raw.lower():
            result[flag.lower()] = "yes"
    return result


# The app


def make_app(auth: Lucia, flow: SignInFlow | None, **options: Any) -> Flask:
    app = Flask(__name__)
    app.config.update(SERVER_NAME=HOST, PREFERRED_URL_SCHEME="https")
    LuciaFlask(app, auth=auth, flow=flow, csrf_exempt=["/webhooks"], **options)

    @app.get("/")
    def home() -> str:
        return "home"

    @app.get("/me")
    @login_required
    def me() -> Any:
        return jsonify(id=g.user.id, session=g.session.id, proxy=bool(current_user))

    @app.get("/public")
    def public() -> BaseResponse:
        response = app.make_response("public")
        response.headers["Cache-Control"] = "public, max-age=600"
        return response

    @app.get("/varies/<vary>")
    def varies(vary: str) -> BaseResponse:
        response = app.make_response("varies")
        response.headers["Vary"] = "*" if vary == "star" else "Accept-Encoding"
        return response

    @app.post("/change")
    def change() -> str:
        return "changed" if g.user is not None else "anonymous change"

    @app.post("/webhooks/github")
    @app.post("/webhooks-evil", endpoint="webhook_evil")
    def webhook() -> str:
        return f"hook user={g.user is not None}"

    @app.get("/broken")
    def broken() -> str:
        raise DatabaseError("SQL: SELECT secret")

    @app.post("/password/signup")
    def signup() -> Any:
        data = request.get_json()
        try:
            signed = accounts.sign_up(
                auth, data["email"], data["password"], session_attributes=session_attributes()
            )
        except accounts.EmailTakenError as error:
            return error.code, 409
        except InvalidPasswordError as error:
            return error.reason, 400
        return sign_in_response(jsonify(id=signed.user.id), signed)

    @app.post("/password/login")
    def password_login() -> Any:
        data = request.get_json()
        try:
            signed = accounts.sign_in(
                auth,
                data["email"],
                data["password"],
                current_session_id=None if g.session is None else g.session.id,
                session_attributes=session_attributes(),
            )
        except InvalidCredentialsError:
            return "wrong email or password", 400
        return sign_in_response(app.make_response("signed in"), signed)

    @app.post("/password/change")
    @login_required
    def password_change() -> Any:
        data = request.get_json()
        try:
            signed = accounts.change_password(
                auth,
                g.user.id,
                g.user.attributes["email"],
                data["current"],
                data["new"],
                session_attributes=session_attributes(),
            )
        except InvalidCredentialsError:
            return "wrong password", 400
        return sign_in_response(app.make_response("changed"), signed)

    return app


@dataclass
class Env:
    clock: Clock
    store: FlakyStore
    auth: Lucia
    flow: SignInFlow
    provider: OpenIDConnect
    op: LocalOIDCProvider
    app: Flask
    client: FlaskClient

    def oidc_sign_in(self, next: str | None = None) -> TestResponse:
        """Sign in through the provider like a browser; the callback's response."""
        start = self.client.get(
            f"/login/{ROUTE}", query_string={} if next is None else {"next": next}
        )
        assert start.status_code == 302
        callback_url = self.op.login(start.headers["Location"])
        assert callback_url.startswith(f"{BASE}/login/{ROUTE}/callback?")
        return self.client.get(callback_url)

    def password_user(self, email: str = "ada@example.com") -> str:
        return accounts.sign_up(self.auth, email, PASSWORD).user.id

    def with_token(self, path: str, token: str) -> TestResponse:
        """GET ``path`` from a fresh browser holding only this session cookie."""
        other = self.app.test_client()
        other.set_cookie(self.auth.session_cookie_name, token, domain=HOST)
        return other.get(path)

    def session_cookie(self) -> str | None:
        cookie = self.client.get_cookie(self.auth.session_cookie_name, domain=HOST)
        return None if cookie is None else cookie.value

    def me(self) -> dict[str, Any]:
        response = self.client.get("/me")
        assert response.status_code == 200
        body: dict[str, Any] = response.get_json()
        return body

    def post_json(self, path: str, data: dict[str, str], **headers: str) -> TestResponse:
        return self.client.post(path, json=data, headers=headers or SAME_SITE)


@pytest.fixture
def env(op_server: LocalOIDCProvider) -> Iterator[Env]:
    clock = Clock(utc_now().replace(microsecond=0))
    store = FlakyStore()
    auth = Lucia(store, clock=clock)
    provider = OpenIDConnect(
        op_server.issuer,
        op_server.client_id,
        op_server.client_secret,
        f"{BASE}/login/{ROUTE}/callback",
    )
    flow = SignInFlow(auth, {ROUTE: provider})
    app = make_app(auth, flow)
    yield Env(clock, store, auth, flow, provider, op_server, app, app.test_client())
    provider.close()


# Sign-in, protected routes, renewal, sign-out


def test_oidc_sign_in_then_protected_route_works(env: Env) -> None:
    assert env.client.get("/me").status_code == 401
    callback = env.oidc_sign_in()
    assert callback.status_code == 303
    assert callback.headers["Location"] == "/"
    body = env.me()
    user = env.auth.get_user_by_key(env.provider.name, env.op.user["sub"])
    assert user is not None
    assert body["id"] == user.id
    assert body["proxy"] is True


def test_next_is_honoured_when_safe(env: Env) -> None:
    callback = env.oidc_sign_in(next="/settings?tab=2")
    assert callback.headers["Location"] == "/settings?tab=2"


def test_password_sign_up_then_protected_route_works(env: Env) -> None:
    response = env.post_json("/password/signup", {"email": "Ada@Example.com", "password": PASSWORD})
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    user_id = response.get_json()["id"]
    assert env.me()["id"] == user_id
    user = env.auth.get_user(user_id)
    assert user is not None
    assert user.attributes == {"email": "ada@example.com", "email_verified": False}
    taken = env.post_json("/password/signup", {"email": "ada@example.com", "password": PASSWORD})
    assert taken.status_code == 409
    assert taken.text == "AUTH_EMAIL_TAKEN"
    weak = env.post_json("/password/signup", {"email": "bob@example.com", "password": "short"})
    assert weak.status_code == 400
    assert weak.text == "too_short"


def test_password_sign_in_then_protected_route_works(env: Env) -> None:
    user_id = env.password_user()
    wrong = env.post_json("/password/login", {"email": "ada@example.com", "password": "nope"})
    assert wrong.status_code == 400
    assert env.session_cookie() is None
    response = env.post_json("/password/login", {"email": "ada@example.com", "password": PASSWORD})
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    assert env.me()["id"] == user_id


def test_sec19_password_change_needs_the_current_password(env: Env) -> None:
    env.password_user()
    env.post_json("/password/login", {"email": "ada@example.com", "password": PASSWORD})
    wrong = env.post_json("/password/change", {"current": "a wrong guess", "new": NEW_PASSWORD})
    assert wrong.status_code == 400
    assert env.client.get("/me").status_code == 200
    assert env.client.post("/password/change", json={}, headers=EVIL).status_code == 403


def test_sec6_password_change_revokes_every_session_but_the_new_one(env: Env) -> None:
    user_id = env.password_user()
    other_device = env.auth.create_session(user_id)
    env.post_json("/password/login", {"email": "ada@example.com", "password": PASSWORD})
    old_token = env.session_cookie()
    assert old_token is not None
    response = env.post_json("/password/change", {"current": PASSWORD, "new": NEW_PASSWORD})
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    new_token = env.session_cookie()
    assert new_token not in (None, old_token)
    assert env.me()["id"] == user_id
    assert other_device.token is not None
    assert env.with_token("/me", other_device.token).status_code == 401
    assert env.with_token("/me", old_token).status_code == 401
    assert len(env.auth.get_user_sessions(user_id)) == 1


def test_sec5_sign_out_deletes_the_session_and_the_old_cookie_gets_401(env: Env) -> None:
    env.oidc_sign_in()
    token = env.session_cookie()
    assert token is not None
    session_id = env.me()["session"]
    response = env.client.post("/logout", headers=SAME_SITE)
    assert response.status_code == 303
    assert response.headers["Location"] == "/"
    assert response.headers["Cache-Control"] == "no-store"
    cleared = attributes(set_cookies(response)[env.auth.session_cookie_name])
    assert cleared["max-age"] == "0"
    assert cleared["path"] == "/"
    assert env.store.get_session(session_id) is None
    assert env.client.get("/me").status_code == 401
    assert env.with_token("/me", token).status_code == 401


def test_sec5_logout_is_post_only(env: Env) -> None:
    env.oidc_sign_in()
    assert env.client.get("/logout").status_code == 405
    assert env.client.get("/me").status_code == 200


def test_login_required_redirects_to_login_view_when_configured(env: Env) -> None:
    app = make_app(env.auth, env.flow, login_view="/signin")
    client = app.test_client()
    response = client.get("/me", query_string={"tab": "2"})
    assert response.status_code == 302
    assert response.headers["Location"] == "/signin?next=%2Fme%3Ftab%3D2"
    # Unsafe methods are not redirected (a redirect would lose the body).
    assert client.post("/password/change", json={}, headers=SAME_SITE).status_code == 401


def test_login_view_may_be_an_endpoint_name(env: Env) -> None:
    app = make_app(env.auth, env.flow, login_view="home")
    response = app.test_client().get("/me")
    assert response.status_code == 302
    assert response.headers["Location"] == "/?next=%2Fme"


def test_g42_no_token_or_password_in_logs(env: Env, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.DEBUG):
        env.oidc_sign_in()
        oidc_token = env.session_cookie()
        env.post_json("/password/signup", {"email": "ada@example.com", "password": PASSWORD})
        env.post_json("/password/change", {"current": PASSWORD, "new": NEW_PASSWORD})
        password_token = env.session_cookie()
        env.client.post("/logout", headers=SAME_SITE)
    text = caplog.text + "".join(repr(record.__dict__) for record in caplog.records)
    for secret in (oidc_token, password_token, PASSWORD, NEW_PASSWORD):
        assert secret is not None
        assert secret not in text


# B. Cookies, caching, CSRF


def test_sec11_session_cookie_attributes(env: Env) -> None:
    callback = env.oidc_sign_in()
    attrs = attributes(set_cookies(callback)[env.auth.session_cookie_name])
    assert attrs["secure"] == attrs["httponly"] == "yes"
    assert attrs["samesite"].lower() == "lax"
    assert attrs["path"] == "/"
    assert "domain" not in attrs


def test_sec13_transaction_cookie_attributes_and_deletion(env: Env) -> None:
    start = env.client.get(f"/login/{ROUTE}")
    name = env.flow.transaction_cookie_name
    attrs = attributes(set_cookies(start)[name])
    assert name.startswith("__Host-")
    assert attrs["secure"] == attrs["httponly"] == "yes"
    assert attrs["samesite"].lower() == "lax"
    assert 0 < int(attrs["max-age"]) <= 600
    assert start.headers["Cache-Control"] == "no-store"
    callback = env.client.get(env.op.login(start.headers["Location"]))
    assert attributes(set_cookies(callback)[name])["max-age"] == "0"


def test_sec15_logout_and_password_login_are_origin_checked(env: Env) -> None:
    env.password_user()
    login = env.post_json(
        "/password/login", {"email": "ada@example.com", "password": PASSWORD}, **EVIL
    )
    assert login.status_code == 403
    assert env.session_cookie() is None
    env.oidc_sign_in()
    assert env.client.post("/logout", headers=EVIL).status_code == 403
    assert env.client.get("/me").status_code == 200


# Session fixation, unknown and malformed cookies


def test_sec1_planted_cookie_is_not_adopted_at_oidc_sign_in(env: Env) -> None:
    planted = env.auth.create_session(env.password_user("victim@example.com"))
    assert planted.token is not None
    env.client.set_cookie(env.auth.session_cookie_name, planted.token, domain=HOST)
    callback = env.oidc_sign_in()
    assert env.auth.session_cookie_name in set_cookies(callback)
    assert env.session_cookie() not in (None, planted.token)
    assert env.store.get_session(planted.id) is None
    assert env.with_token("/me", planted.token).status_code == 401


def test_sec1_password_sign_in_replaces_the_current_session(env: Env) -> None:
    env.oidc_sign_in()
    old_token = env.session_cookie()
    old_id = env.me()["session"]
    env.password_user()
    response = env.post_json("/password/login", {"email": "ada@example.com", "password": PASSWORD})
    assert response.status_code == 200
    assert env.session_cookie() not in (None, old_token)
    assert env.store.get_session(old_id) is None


def test_sec1_sign_in_response_kills_the_previous_session_on_sign_up(env: Env) -> None:
    # sign_up knows nothing of the request: sign_in_response invalidates it.
    env.oidc_sign_in()
    old_token = env.session_cookie()
    old_id = env.me()["session"]
    response = env.post_json("/password/signup", {"email": "new@example.com", "password": PASSWORD})
    assert response.status_code == 200
    assert env.session_cookie() not in (None, old_token)
    assert env.store.get_session(old_id) is None
    assert env.me()["id"] == response.get_json()["id"]


# D. The OAuth callback at the HTTP level


def test_sec22_forged_state_gets_400_and_creates_nothing(env: Env) -> None:
    start = env.client.get(f"/login/{ROUTE}")
    callback_url = env.op.login(start.headers["Location"])
    token_requests = env.op.count("token")
    parts = urlsplit(callback_url)
    forged = parts.query.replace("state=", "state=forged")
    response = env.client.get(f"{parts.path}?{forged}")
    assert response.status_code == 400
    assert response.mimetype == "text/html"
    assert env.store._users == {}
    assert env.store._sessions == {}
    assert env.session_cookie() is None
    assert env.op.count("token") == token_requests


def test_sec22_replayed_state_gets_400(env: Env) -> None:
    start = env.client.get(f"/login/{ROUTE}")
    transaction = env.client.get_cookie(env.flow.transaction_cookie_name, domain=HOST)
    assert transaction is not None
    callback_url = env.op.login(start.headers["Location"])
    assert env.client.get(callback_url).status_code == 303
    user = env.auth.get_user_by_key(env.provider.name, env.op.user["sub"])
    assert user is not None
    env.client.set_cookie(env.flow.transaction_cookie_name, transaction.value, domain=HOST)
    replay = env.client.get(callback_url)
    assert replay.status_code == 400
    assert len(env.auth.get_user_sessions(user.id)) == 1


def test_sec22_missing_transaction_cookie_gets_400(env: Env) -> None:
    start = env.client.get(f"/login/{ROUTE}")
    env.client.delete_cookie(env.flow.transaction_cookie_name, domain=HOST)
    response = env.client.get(env.op.login(start.headers["Location"]))
    assert response.status_code == 400
    assert env.auth.get_user_by_key(env.provider.name, env.op.user["sub"]) is None


def test_sec23_state_bound_to_the_provider(env: Env) -> None:
    other = OpenIDConnect(
        env.op.issuer, env.op.client_id, env.op.client_secret, f"{BASE}/login/other/callback"
    )
    flow = SignInFlow(env.auth, {ROUTE: env.provider, "other": other})
    client = make_app(env.auth, flow).test_client()
    start = client.get(f"/login/{ROUTE}")
    query = urlsplit(env.op.login(start.headers["Location"])).query
    response = client.get(f"/login/other/callback?{query}")
    other.close()
    assert response.status_code == 400
    assert env.auth.get_user_by_key(env.provider.name, env.op.user["sub"]) is None


def test_sec26_access_denied_shows_a_page_and_deletes_the_cookie(env: Env) -> None:
    start = env.client.get(f"/login/{ROUTE}")
    env.op.authorization_error = "access_denied"
    try:
        callback_url = env.op.login(start.headers["Location"])
    finally:
        env.op.authorization_error = None
    response = env.client.get(callback_url)
    assert 400 <= response.status_code < 500
    assert "<script" not in response.text
    cleared = set_cookies(response)[env.flow.transaction_cookie_name]
    assert attributes(cleared)["max-age"] == "0"
    assert response.headers["Referrer-Policy"] == "no-referrer"
    assert env.auth.get_user_by_key(env.provider.name, env.op.user["sub"]) is None


def test_unknown_provider_gets_404(env: Env) -> None:
    assert env.client.get("/login/nope").status_code == 404


@pytest.mark.parametrize(
    "next_value",
    [
        "//evil.example",
        "/\\evil.example",
        "https://evil.example",
        "%2F%2Fevil.example",
        "javascript:alert(1)",
        "https://app@evil.example",
        "/\t/evil.example",
    ],
)
def test_sec29_unsafe_next_lands_on_the_default_page(env: Env, next_value: str) -> None:
    callback = env.oidc_sign_in(next=next_value)
    assert callback.status_code == 303
    assert callback.headers["Location"] == "/"


def test_sec30_callback_is_a_303_with_no_referrer_and_no_store(env: Env) -> None:
    callback = env.oidc_sign_in()
    assert callback.status_code == 303
    assert callback.headers["Referrer-Policy"] == "no-referrer"
    assert callback.headers["Cache-Control"] == "no-store"
    assert "?" not in callback.headers["Location"]


def test_url_prefix_moves_the_routes(env: Env) -> None:
    client = make_app(env.auth, env.flow, url_prefix="/auth").test_client()
    assert client.get(f"/auth/login/{ROUTE}").status_code == 302
    assert client.get(f"/login/{ROUTE}").status_code == 404


# Configuration


def test_extension_rejects_bad_configuration() -> None:
    auth = Lucia(MemoryAdapter())
    with pytest.raises(TypeError, match="lists of strings"):
        LuciaFlask(auth=auth, allowed_origins="https://app.example")
    with pytest.raises(ValueError, match="path prefixes"):
        LuciaFlask(auth=auth, csrf_exempt=["webhooks"])
    with pytest.raises(TypeError, match="Lucia"):
        LuciaFlask(auth=object())  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="same Lucia"):
        LuciaFlask(auth=auth, flow=SignInFlow(Lucia(MemoryAdapter()), {}))
    with pytest.raises(ValueError, match="after_logout"):
        LuciaFlask(auth=auth, after_logout="//evil.example")
    app = Flask(__name__)
    extension = LuciaFlask(auth=auth)
    extension.init_app(app)
    with pytest.raises(RuntimeError, match="already installed"):
        extension.init_app(app)


def test_helpers_need_the_extension() -> None:
    app = Flask(__name__)

    @app.get("/")
    @login_required
    def home() -> str:
        return "home"

    app.config["PROPAGATE_EXCEPTIONS"] = True
    with pytest.raises(RuntimeError, match="LuciaFlask"):
        app.test_client().get("/")


# The real OpenID provider (npm oidc-provider@9)


def test_e2e_sign_in_through_npm_oidc_provider(oidc_provider: NodeOIDCProvider) -> None:
    redirect_uri = REDIRECT_URIS[1]
    assert redirect_uri == f"{BASE}/login/oidc/callback"
    store = MemoryAdapter()
    auth = Lucia(store)
    provider = OpenIDConnect(
        oidc_provider.issuer, oidc_provider.client_id, oidc_provider.client_secret, redirect_uri
    )
    client = make_app(auth, SignInFlow(auth, {"oidc": provider})).test_client()
    browser = Browser(redirect_uri)
    login = f"user-{secrets.token_hex(4)}"
    try:
        start = client.get("/login/oidc", query_string={"next": "//evil.example"})
        assert start.status_code == 302
        query = browser.sign_in(start.headers["Location"], login)
        callback = client.get(f"/login/oidc/callback?{query}")
        assert callback.status_code == 303
        assert callback.headers["Location"] == "/"
        me = client.get("/me")
        assert me.status_code == 200
        user = auth.get_user_by_key(provider.name, login)
        assert user is not None
        assert me.get_json()["id"] == user.id
        replay = client.get(f"/login/oidc/callback?{query}")
        assert replay.status_code == 400
        assert len(auth.get_user_sessions(user.id)) == 1
    finally:
        browser.close()
        provider.close()
