"""The password routes read their body with each framework's own parser.

HTML forms and Django's test client send ``multipart/form-data``; before,
the routes parsed urlencoded and JSON bodies themselves and answered 415 to
multipart. Each framework (Starlette, FastAPI, Flask, Django; the apps of
``test_password_routes``) now accepts urlencoded, multipart and JSON; any
other type stays 415, a body its parser refuses is a clean 400, and a body
over the limit 413, all before any password is checked.
"""

from __future__ import annotations

import secrets
from typing import Any

import httpx
import pytest
from django.test import Client, override_settings

from lucia import AsyncLucia
from lucia.adapters.memory import AsyncMemoryAdapter
from lucia.integrations import _passwords
from lucia.integrations import starlette as starlette_integration
from lucia.integrations.django.conf import get_lucia
from tests.conformance.backends_django import fresh_database
from tests.integrations.common import PASSWORD
from tests.integrations.test_password_routes import (
    COOKIE,
    EMAIL,
    SAME_SITE,
    Env,
    env,
    make_env,
    portal,
)

__all__ = ["env", "make_env", "portal"]  # fixtures

JSON_ANSWER = {**SAME_SITE, "Accept": "application/json"}


def multipart(
    fields: list[tuple[str, str]], files: tuple[tuple[str, str, bytes], ...] = ()
) -> tuple[bytes, str]:
    """A multipart/form-data body as a browser builds it: (body, Content-Type)."""
    boundary = "----lucia" + secrets.token_hex(8)
    parts = [
        f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode()
        for name, value in fields
    ]
    parts += [
        (
            f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; filename="{filename}"'
            "\r\nContent-Type: application/octet-stream\r\n\r\n"
        ).encode()
        + content
        + b"\r\n"
        for name, filename, content in files
    ]
    body = b"".join(parts) + f"--{boundary}--\r\n".encode()
    return body, f"multipart/form-data; boundary={boundary}"


def send(env: Env, route: str, fields: dict[str, str], encoding: str) -> httpx.Response:
    """POST ``fields`` to ``route`` as ``encoding``: urlencoded, multipart or json."""
    headers = dict(SAME_SITE)
    if encoding == "json":
        return env.client.post(env.url(route), json=fields, headers=headers)
    if encoding == "urlencoded":
        return env.client.post(env.url(route), data=fields, headers=headers)
    body, content_type = multipart(list(fields.items()))
    return env.client.post(
        env.url(route), content=body, headers={**headers, "Content-Type": content_type}
    )


def raw(env: Env, route: str, body: bytes, content_type: str) -> httpx.Response:
    headers = {**JSON_ANSWER, "Content-Type": content_type}
    return env.client.post(env.url(route), content=body, headers=headers)


@pytest.mark.parametrize("encoding", ["urlencoded", "multipart", "json"])
def test_sign_up_and_sign_in_accept_every_encoding(env: Env, encoding: str) -> None:
    fields = {"email": EMAIL, "password": PASSWORD, "next": "/welcome"}
    signed_up = send(env, "signup", fields, encoding)
    assert signed_up.status_code == (200 if encoding == "json" else 303), signed_up.text
    first = env.token()
    assert env.valid(first)
    signed_in = send(env, "signin", fields, encoding)
    assert signed_in.status_code == (200 if encoding == "json" else 303), signed_in.text
    if encoding != "json":
        assert signed_in.headers["location"] == "/welcome"
    assert env.token() != first
    assert env.valid(env.token())
    assert env.hasher.checks == 1  # the sign-in's one password check


@pytest.mark.parametrize("encoding", ["urlencoded", "multipart", "json"])
def test_a_wrong_password_is_401_in_every_encoding(env: Env, encoding: str) -> None:
    env.sign_up()
    wrong = send(env, "signin", {"email": EMAIL, "password": "not it at all"}, encoding)
    assert wrong.status_code == 401


def test_a_multipart_password_change_works_too(env: Env) -> None:
    env.sign_up()
    fields = {"current_password": PASSWORD, "new_password": "a brand new passphrase 42"}
    assert send(env, "password", fields, "multipart").status_code == 303
    again = send(env, "signin", {"email": EMAIL, "password": PASSWORD}, "multipart")
    assert again.status_code == 401


def test_a_file_part_is_not_a_field(env: Env) -> None:
    env.sign_up()
    body, content_type = multipart(
        [("email", EMAIL), ("password", PASSWORD)], (("avatar", "me.png", b"\x89PNG\r\n"),)
    )
    assert raw(env, "signin", body, content_type).status_code == 200
    # A password sent as a file is no password.
    body, content_type = multipart([("email", EMAIL)], (("password", "p.txt", PASSWORD.encode()),))
    response = raw(env, "signin", body, content_type)
    assert response.status_code == 400
    assert response.json()["message"] == "missing field: password"


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        (b"email=a%40b.c&password=x", "text/plain"),
        (b"<xml/>", "application/xml"),
        (b"email=a%40b.c&password=x", "multipart/mixed; boundary=x"),
    ],
)
def test_other_types_stay_415(env: Env, body: bytes, content_type: str) -> None:
    response = raw(env, "signin", body, content_type)
    assert response.status_code == 415
    assert response.json()["error"] == "AUTH_UNSUPPORTED_BODY"
    assert response.headers["cache-control"] == "no-store"
    assert env.hasher.checks == 0


def broken_bodies() -> list[tuple[bytes, str]]:
    repeated, repeated_type = multipart([("email", EMAIL), ("email", "b@example.com")])
    return [
        (b"{not json", "application/json"),
        (b'{"email": "a@b.c", "password": ', "application/json"),
        (b"\xff\xfe{}", "application/json"),
        (b"[1, 2]", "application/json"),
        # No boundary at all, and a boundary the body never uses.
        (
            b"--x\r\nContent-Disposition: form-data; name=email\r\n\r\na\r\n--x--",
            "multipart/form-data",
        ),
        (b"garbage without any boundary line", "multipart/form-data; boundary=abc"),
        (repeated, repeated_type),
        (b"&".join(b"f%d=1" % n for n in range(40)), "application/x-www-form-urlencoded"),
    ]


@pytest.mark.parametrize("case", range(len(broken_bodies())))
def test_a_broken_body_is_a_clean_400(env: Env, case: int) -> None:
    body, content_type = broken_bodies()[case]
    response = raw(env, "signin", body, content_type)
    assert response.status_code == 400, response.text
    assert response.json()["error"] == "AUTH_BAD_REQUEST"
    assert response.headers["cache-control"] == "no-store"
    assert env.hasher.checks == 0


def test_an_oversized_multipart_body_is_413_before_any_check(env: Env) -> None:
    body, content_type = multipart([("email", EMAIL), ("password", "x" * 20_000)])
    response = raw(env, "signin", body, content_type)
    assert response.status_code == 413
    assert env.hasher.checks == 0


def test_json_members_that_are_not_strings_are_missing(env: Env) -> None:
    response = env.client.post(
        env.url("signin"), json={"email": EMAIL, "password": 12345678}, headers=JSON_ANSWER
    )
    assert response.status_code == 400
    assert response.json()["message"] == "missing field: password"


def test_djangos_test_client_posts_multipart_and_signs_in() -> None:
    # The client's default encoding is multipart/form-data: what failed with 415.
    fresh_database()
    with override_settings(LUCIA={"PASSWORD_ROUTES": True}):
        client = Client(headers={"Origin": "https://testserver"})
        signed_up = client.post(
            "/auth/signup/", {"email": EMAIL, "password": PASSWORD}, secure=True
        )
        assert signed_up.status_code == 303, signed_up.content
        assert signed_up.request["CONTENT_TYPE"].startswith("multipart/form-data")
        client.cookies.clear()
        signed_in = client.post(
            "/auth/signin/", {"email": EMAIL, "password": PASSWORD, "next": "/me"}, secure=True
        )
        assert signed_in.status_code == 303, signed_in.content
        assert signed_in["Location"] == "/me"
        token = signed_in.cookies[COOKIE].value
        assert get_lucia().validate_session(token) is not None
        assert client.get("/me", secure=True).status_code == 200


def test_the_core_takes_parsed_fields() -> None:
    assert _passwords.body_kind("multipart/form-data; boundary=x") == "form"
    assert _passwords.body_kind("Application/X-WWW-Form-Urlencoded; charset=utf-8") == "form"
    assert _passwords.body_kind(None) == "form"
    assert _passwords.body_kind("application/vnd.api+json") == "json"
    with pytest.raises(_passwords.UnsupportedBodyError):
        _passwords.body_kind("text/plain")
    upload: Any = object()  # what a framework gives for a file part
    assert _passwords.form_fields([("a", "1"), ("f", upload), ("f", upload)]) == {"a": "1"}
    with pytest.raises(_passwords.BadRequestError):
        _passwords.form_fields([("a", "1"), ("a", "2")])
    with pytest.raises(_passwords.BadRequestError):
        _passwords.form_fields((f"f{n}", "") for n in range(_passwords.MAX_FIELDS + 1))
    assert _passwords.json_fields({"a": "1", "b": 2, "c": None}) == {"a": "1"}
    with pytest.raises(_passwords.BadRequestError):
        _passwords.json_fields(["a"])


def test_starlette_routes_refuse_to_start_without_python_multipart(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Starlette's form parser needs it: without, every form post would be a 500.
    monkeypatch.setattr(starlette_integration, "find_spec", lambda name: None)
    with pytest.raises(RuntimeError, match="python-multipart"):
        starlette_integration.PasswordEndpoints(AsyncLucia(AsyncMemoryAdapter()), None)
