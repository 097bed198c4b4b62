"""What each integration adds on top of ``validate_session``: the per-request glue.

For each framework (Flask, Django under WSGI, Starlette under ASGI) three apps
serve the same route, whose view answers with ``user.id`` when something put a
user on the request and "anonymous" otherwise, called in-process with a
hand-built environ or scope carrying a valid session cookie:

- **bare**: the framework alone, no middleware (the cookie is sent and ignored);
- **minimum**: a hand-written middleware doing the least any session glue must
  do: take the token out of the ``Cookie`` header, call ``validate_session``,
  put the user on the request (no CSRF check, no cookie upkeep, no headers);
- **lucia**: lucia's own integration (``LuciaFlask``, the Django
  ``LuciaMiddleware``, the Starlette ``LuciaMiddleware``);
- for Flask, **floor**: the minimum calling the floor (SHA-256 of the secret +
  one raw primary-key join on the driver itself, ``competitors.raw_access``)
  instead of ``validate_session``: what a store call with no lucia code in it
  costs inside a request (not with ``--stub``).

And, alone in a loop on the same tokens, ``Lucia.validate_session`` (the one
the WSGI integrations call), ``AsyncLucia.validate_session`` (Starlette's) and
the floor.
Per round, each subject runs a batch of requests picked at random over 2,000
users, timed as a whole by the thread's CPU clock (``time.thread_time_ns``:
other processes on this shared machine taking the core are not counted, the
garbage collections a request triggers are) and by the wall clock; the order of
the subjects is shuffled every round. From each round's per-request means:

- **net** = lucia - bare, the integration's whole cost on that route;
- **glue** = net - validate_session of the same round: what lucia adds on top of
  the one store call (issue 15's bar: at most 10 µs on SQLite, and no more on
  PostgreSQL than on SQLite);
- **net ÷ validate**: the ratio against the baseline measured in the same round;
- glue split in two: **framework** = minimum - bare - validate_session (the same
  call costing more inside a request: the request's objects trigger garbage
  collections and push the store's code out of the CPU caches; any glue pays
  it), and **lucia over minimum** = lucia - minimum (lucia's own code: the
  credential rules, the CSRF gate, the response's cookie upkeep and headers).

Figures printed are medians over rounds of these per-round differences.
``--stub`` replaces ``validate_session`` by a lookup in a table of its answers
(made beforehand, no store call): what is left is each glue's own Python, with
no database and no cache interplay, the steadiest figure for lucia's own code.
``--db postgres`` runs the same on a schema of its own on the local server
(dropped on the way out); there the CPU clock counts the client's work only
and the wall clock adds the round trip and the server's wake-ups.

Each table also shows, per framework, ``validate_session`` of the same rounds
(the baseline), the goal (the 10 µs bar on SQLite; on PostgreSQL the SQLite
glue of the same invocation, with ``--db both``) and whether the glue meets it.
On PostgreSQL with ``--db both`` it adds, per framework, whether the minimum's
own glue meets that goal (when it does not, no middleware can: the store call
costs more inside any request there) and lucia's own part (lucia - minimum)
against the same part on SQLite: the fair test of what lucia adds.

``--instructions`` counts instead of timing: the script runs itself again under
valgrind's callgrind (``_callgrind.py``), where each subject serves the same
``--requests`` requests twice, a warm-up then a counted pass, each after a full
garbage collection and ``gc.freeze()``; it prints the main thread's instructions
per request of every subject, the harness's own (an empty call per request)
subtracted, and per framework minimum - bare, lucia - minimum, lucia - bare and
minimum - bare - validate_session. Counts do not follow the machine's load:
they are the figure to compare lucia's own part across changes and databases.

Run: ``.venv/bin/python benchmarks/glue.py [--db sqlite|postgres|both] [--rounds N]
[--stub]``, or ``.venv/bin/python benchmarks/glue.py --instructions
[--db sqlite|postgres|both] [--stub] [--requests N]`` (valgrind needed), by hand
(``make bench`` does not run it; docs/performance.md has the last figures).
Nothing here asserts a timing.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import io
import json
import random
import statistics
import subprocess
import sys
import tempfile
import time
import types
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import _callgrind
import _shared
from competitors import TABLES, Database, populate_lucia, raw_access

from lucia import AsyncLucia, Lucia

HOST = "app.example"
ROUNDS = 40
ROUND_BUDGET = 0.1  # seconds of wall time per group per round
PICKED = 2000
FRAMEWORKS = ("flask", "django", "starlette")
# What each framework's figures subtract: the flavour of lucia its integration calls.
FLAVOUR = {"flask": "validate sync", "django": "validate sync", "starlette": "validate async"}
BAR_US = 10.0

LOOP = asyncio.new_event_loop()


@dataclass
class Subject:
    """One thing timed: ``fn(credential)``, a coroutine function when ``is_async``."""

    name: str
    fn: Callable[[Any], Any]
    creds: list[Any]
    is_async: bool
    answer: Callable[[Any], str]
    cpu_us: list[float] = field(default_factory=list)  # per-request mean, one per round
    wall_us: list[float] = field(default_factory=list)


# Requests built by hand, so no test client's work is timed.

BASE_ENVIRON: dict[str, Any] = {
    "REQUEST_METHOD": "GET",
    "SCRIPT_NAME": "",
    "PATH_INFO": "/",
    "QUERY_STRING": "",
    "SERVER_NAME": HOST,
    "SERVER_PORT": "443",
    "SERVER_PROTOCOL": "HTTP/1.1",
    "HTTP_HOST": HOST,
    "REMOTE_ADDR": "127.0.0.1",
    "wsgi.version": (1, 0),
    "wsgi.url_scheme": "https",
    "wsgi.errors": sys.stderr,
    "wsgi.multithread": False,
    "wsgi.multiprocess": False,
    "wsgi.run_once": False,
}


def wsgi_get(app: Any, cookie: str) -> tuple[str, bytes]:
    """GET / with ``cookie`` through the WSGI ``app``: the status and the body."""
    environ = {**BASE_ENVIRON, "HTTP_COOKIE": cookie, "wsgi.input": io.BytesIO(b"")}
    started: list[str] = []

    def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
        started.append(status)

    result = app(environ, start_response)
    try:
        body = b"".join(result)
    finally:
        close = getattr(result, "close", None)
        if close is not None:
            close()  # Django's request_finished runs here
    return started[0], body


def wsgi_answer(result: tuple[str, bytes]) -> str:
    return result[1].decode() if result[0].startswith("200") else f"status {result[0]}"


def asgi_answer(result: tuple[int, bytes]) -> str:
    return result[1].decode() if result[0] == 200 else f"status {result[0]}"


def token_of(cookie_header: str, name: str) -> str | None:
    """The minimum's cookie reading: the first ``name=`` pair's value."""
    for pair in cookie_header.split(";"):
        key, _, value = pair.strip().partition("=")
        if key == name:
            return value
    return None


# The three frameworks, each: bare, minimum, lucia.


def flask_subjects(
    auth: Lucia, cookies: list[str], floor: Callable[[str], Any] | None = None
) -> list[Subject]:
    from flask import Flask, g

    from lucia.integrations.flask import LuciaFlask

    def me() -> str:
        user = g.get("user")
        if user is not None:
            return str(user.id)
        row = g.get("row")  # the floor app's: the raw join's row
        return "anonymous" if row is None else str(row[1])

    def make(name: str) -> Flask:
        app = Flask(name)
        app.add_url_rule("/", "me", me)
        return app

    bare, minimum, lucia = make("bare"), make("minimum"), make("lucia")
    validate, cookie_name = auth.validate_session, auth.session_cookie_name

    @minimum.before_request
    def load_user() -> None:
        from flask import request

        token = token_of(request.environ.get("HTTP_COOKIE", ""), cookie_name)
        found = validate(token) if token else None
        g.session, g.user = found if found is not None else (None, None)

    LuciaFlask(lucia, auth=auth)
    apps = [("bare", bare), ("minimum", minimum), ("lucia", lucia)]
    if floor is not None:
        # The minimum with the floor (SHA-256 + one raw join, no lucia code) in
        # place of validate_session: what a store call costs inside a request.
        floored = make("floor")

        @floored.before_request
        def load_row() -> None:
            from flask import request

            token = token_of(request.environ.get("HTTP_COOKIE", ""), cookie_name)
            g.row = floor(token) if token else None

        apps.append(("floor", floored))
    return [
        Subject(f"flask {name}", lambda c, a=app: wsgi_get(a, c), cookies, False, wsgi_answer)
        for name, app in apps
    ]


class DjangoMinimum:
    """The least a Django session middleware does (the benchmark's ``minimum``)."""

    auth: Lucia  # set before the handler is built

    def __init__(self, get_response: Callable[[Any], Any]) -> None:
        self.get_response = get_response
        self.validate = self.auth.validate_session
        self.cookie_name = self.auth.session_cookie_name

    def __call__(self, request: Any) -> Any:
        token = token_of(request.META.get("HTTP_COOKIE", ""), self.cookie_name)
        found = self.validate(token) if token else None
        request.lucia_session, request.lucia_user = found if found is not None else (None, None)
        return self.get_response(request)


def django_subjects(
    auth: Lucia, cookies: list[str], stub: dict[str, Any] | None = None
) -> list[Subject]:
    import django
    from django.conf import settings

    urls = types.ModuleType("bench_glue_urls")
    sys.modules["bench_glue_urls"] = urls
    module = types.ModuleType("bench_glue_middleware")
    module.DjangoMinimum = DjangoMinimum  # type: ignore[attr-defined]
    sys.modules["bench_glue_middleware"] = module
    DjangoMinimum.auth = auth
    settings.configure(
        DEBUG=False,
        SECRET_KEY="benchmark-only-secret-key-" + "x" * 32,
        ALLOWED_HOSTS=[HOST],
        USE_TZ=True,
        ROOT_URLCONF="bench_glue_urls",
        INSTALLED_APPS=[],
        MIDDLEWARE=[],
        DATABASES={},
        LUCIA={"ADAPTER": lambda: auth.adapter, "SECURE_COOKIES": True},
        LOGGING_CONFIG=None,
    )
    django.setup()
    if stub is not None:
        from lucia.integrations.django.conf import get_lucia

        stub_validation(get_lucia(), stub)  # the middleware's own Lucia
    from django.core.handlers.wsgi import WSGIHandler
    from django.http import HttpResponse
    from django.test.utils import override_settings
    from django.urls import path

    def me(request: Any) -> HttpResponse:
        user = getattr(request, "lucia_user", None)
        return HttpResponse("anonymous" if user is None else user.id)

    urls.urlpatterns = [path("", me)]  # type: ignore[attr-defined]
    subjects = []
    for name, middleware in (
        ("bare", []),
        ("minimum", ["bench_glue_middleware.DjangoMinimum"]),
        ("lucia", ["lucia.integrations.django.middleware.LuciaMiddleware"]),
    ):
        with override_settings(MIDDLEWARE=middleware):
            handler = WSGIHandler()
        subjects.append(
            Subject(
                f"django {name}", lambda c, h=handler: wsgi_get(h, c), cookies, False, wsgi_answer
            )
        )
    return subjects


def starlette_subjects(auth: AsyncLucia, cookies: list[str]) -> list[Subject]:
    from starlette.applications import Starlette
    from starlette.middleware import Middleware
    from starlette.requests import Request
    from starlette.responses import PlainTextResponse, Response
    from starlette.routing import Route

    from lucia.integrations.starlette import LuciaMiddleware

    async def me(request: Request) -> Response:
        user = request.scope.get("state", {}).get("user")
        return PlainTextResponse("anonymous" if user is None else user.id)

    validate, cookie_name = auth.validate_session, auth.session_cookie_name

    class Minimum:
        def __init__(self, app: Any) -> None:
            self.app = app

        async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
            if scope["type"] == "http":
                cookie = ""
                for key, value in scope["headers"]:
                    if key == b"cookie":
                        cookie = value.decode("latin-1")
                token = token_of(cookie, cookie_name)
                found = await validate(token) if token else None
                state = scope.setdefault("state", {})
                state["session"], state["user"] = found if found is not None else (None, None)
            await self.app(scope, receive, send)

    routes = [Route("/", me)]
    apps = {
        "bare": Starlette(routes=routes),
        "minimum": Starlette(routes=routes, middleware=[Middleware(Minimum)]),
        "lucia": Starlette(routes=routes, middleware=[Middleware(LuciaMiddleware, auth=auth)]),
    }
    raw = [cookie.encode("latin-1") for cookie in cookies]
    return [
        Subject(
            f"starlette {name}",
            lambda c, a=app: _shared.asgi_get(a, c, HOST),
            raw,
            True,
            asgi_answer,
        )
        for name, app in apps.items()
    ]


# Measurement


def run_group(group: list[Subject], picks: list[int]) -> None:
    """One round of a group: for each pick, one request to every subject of the group
    in turn (the order rotating), each timed alone by the thread's CPU clock and the
    wall clock; each subject's round figure is the median of its requests. Taking
    turns call by call, the apps of one framework see the same moment of this
    shared machine and the same cache state; a median leaves out the few requests
    that a switch to another process left with cold caches."""
    cpu, wall = time.thread_time_ns, time.perf_counter_ns
    cpu_ns: list[list[int]] = [[] for _ in group]
    wall_ns: list[list[int]] = [[] for _ in group]
    order = [(k, subject.fn, subject.creds) for k, subject in enumerate(group)]
    turns = [order[i:] + order[:i] for i in range(len(order))]

    if group[0].is_async:

        async def go() -> None:
            for n, j in enumerate(picks):
                for k, fn, creds in turns[n % len(turns)]:
                    cred = creds[j]
                    c0, w0 = cpu(), wall()
                    await fn(cred)
                    w1, c1 = wall(), cpu()
                    cpu_ns[k].append(c1 - c0)
                    wall_ns[k].append(w1 - w0)

        LOOP.run_until_complete(go())
    else:
        for n, j in enumerate(picks):
            for k, fn, creds in turns[n % len(turns)]:
                cred = creds[j]
                c0, w0 = cpu(), wall()
                fn(cred)
                w1, c1 = wall(), cpu()
                cpu_ns[k].append(c1 - c0)
                wall_ns[k].append(w1 - w0)
    for k, subject in enumerate(group):
        subject.cpu_us.append(statistics.median(cpu_ns[k]) / 1000)
        subject.wall_us.append(statistics.median(wall_ns[k]) / 1000)


def call_once(subject: Subject, cred: Any) -> Any:
    if subject.is_async:
        return LOOP.run_until_complete(subject.fn(cred))
    return subject.fn(cred)


def check(groups: list[list[Subject]], expected: dict[str, list[str]]) -> None:
    """Raise unless every subject gives the expected answer to 40 of its requests."""
    for subject in (s for group in groups for s in group):
        for j in random.sample(range(len(subject.creds)), 40):
            got = subject.answer(call_once(subject, subject.creds[j]))
            if got != expected[subject.name][j]:
                raise AssertionError(f"{subject.name}: {got!r}, not {expected[subject.name][j]!r}")


def measure(
    groups: list[list[Subject]], expected: dict[str, list[str]], rounds: int
) -> dict[str, int]:
    """Check each subject answers as it should, then time the groups round after
    round, in a shuffled order; the number of requests per subject and round."""
    n = len(groups[0][0].creds)
    check(groups, expected)
    calls = {}
    for group in groups:
        run_group(group, list(range(100)))  # warm up
        started = time.perf_counter()
        run_group(group, list(range(100, 300)))
        per_turn = (time.perf_counter() - started) / 200
        calls[" + ".join(s.name for s in group)] = max(50, int(ROUND_BUDGET / per_turn))
        for subject in group:
            subject.cpu_us.clear()
            subject.wall_us.clear()
    for _ in range(rounds):
        order = groups[:]
        random.shuffle(order)
        for group in order:
            count = calls[" + ".join(s.name for s in group)]
            run_group(group, random.choices(range(n), k=count))
    return calls


def summary(subjects: dict[str, Subject], clock: str) -> dict[str, Any]:
    """Per framework, the medians over rounds of the per-round differences (µs) and ratios."""

    def series(name: str) -> list[float]:
        s = subjects[name]
        return s.cpu_us if clock == "cpu" else s.wall_us

    out: dict[str, Any] = {
        "validate sync": statistics.median(series("validate sync")),
        "validate async": statistics.median(series("validate async")),
    }
    for framework in FRAMEWORKS:
        bare, minimum, lucia = (series(f"{framework} {k}") for k in ("bare", "minimum", "lucia"))
        validate = series(FLAVOUR[framework])
        rows = list(zip(bare, minimum, lucia, validate, strict=True))
        out[framework] = {
            "bare": statistics.median(bare),
            "minimum": statistics.median(minimum),
            "lucia": statistics.median(lucia),
            "validate": statistics.median(validate),
            "net": statistics.median(lu - b for b, _, lu, _ in rows),
            "glue": statistics.median(lu - b - v for b, _, lu, v in rows),
            "net_over_validate": statistics.median((lu - b) / v for b, _, lu, v in rows),
            "framework": statistics.median(m - b - v for b, m, _, v in rows),
            "lucia_over_minimum": statistics.median(lu - m for _, m, lu, _ in rows),
            "glue_min": min(lu - b - v for b, _, lu, v in rows),
            "glue_max": max(lu - b - v for b, _, lu, v in rows),
        }
    if "floor" in subjects:
        bare, floored, minimum = (series(f"flask {k}") for k in ("bare", "floor", "minimum"))
        alone = series("floor")
        rows = list(zip(bare, floored, minimum, alone, strict=True))
        out["floor"] = {
            "alone": statistics.median(alone),
            "in_request": statistics.median(f - b for b, f, _, _ in rows),
            "minimum_over_floor": statistics.median((m - b) / (f - b) for b, f, m, _ in rows),
        }
    return out


def stub_validation(auth: Lucia | AsyncLucia, answers: dict[str, Any]) -> None:
    """Make ``auth.validate_session`` (and so ``validate_session_tokens``) a lookup."""
    if isinstance(auth, Lucia):
        auth.validate_session = answers.get  # type: ignore[method-assign]
        return

    async def validate_session(token: str) -> Any:
        return answers.get(token)

    auth.validate_session = validate_session  # type: ignore[method-assign]


@contextmanager
def prepared(
    kind: str, users: int, stub: bool = False
) -> Iterator[tuple[list[list[Subject]], dict[str, list[str]]]]:
    """The store (``users`` users, a session each) and the subjects on it, in
    groups (a framework's apps together), and each subject's expected answers;
    the adapters are closed and the store dropped on the way out."""
    with ExitStack() as stack:
        if kind == "sqlite":
            from lucia.adapters.sqlite import AsyncSQLiteAdapter, SQLiteAdapter

            tmp = stack.enter_context(tempfile.TemporaryDirectory())
            db = Database("sqlite", path=Path(tmp) / "bench.sqlite3")
            sync_adapter: Any = SQLiteAdapter(db.path, tables=TABLES)  # type: ignore[arg-type]
            async_adapter: Any = AsyncSQLiteAdapter(db.path, tables=TABLES)  # type: ignore[arg-type]
            stack.callback(async_adapter.close)
        else:
            from lucia.adapters.postgres import AsyncPostgresAdapter, PostgresAdapter

            schema, conninfo = stack.enter_context(_shared.postgres_schema())
            db = Database("postgres", conninfo=conninfo, schema=schema)
            # One connection: used serially, a pool that rotates over several
            # warm connections costs more per query (benchmarks/README.md).
            sync_adapter = PostgresAdapter(conninfo, tables=TABLES, min_size=1, max_size=1)
            async_adapter = AsyncPostgresAdapter(conninfo, tables=TABLES, min_size=1, max_size=1)
            stack.callback(lambda: LOOP.run_until_complete(async_adapter.aclose()))
        stack.callback(sync_adapter.close)
        sync_auth, async_auth = Lucia(sync_adapter), AsyncLucia(async_adapter)
        pairs = populate_lucia(db, sync_auth, users)
        picks = random.sample(range(users), min(PICKED, users))
        tokens = [pairs[i][1] for i in picks]
        ids = [pairs[i][0] for i in picks]
        cookies = [f"{sync_auth.session_cookie_name}={token}" for token in tokens]

        def user_id(found: Any) -> str:
            return "none" if found is None else str(found[1].id)

        floor: Callable[[str], Any] | None = None
        answers: dict[str, Any] | None = None
        if stub:
            answers = {token: sync_auth.validate_session(token) for token in tokens}
            stub_validation(sync_auth, answers)
            stub_validation(async_auth, answers)
        else:
            floor = stack.enter_context(raw_access(db))[0]

        groups = [
            [Subject("validate sync", sync_auth.validate_session, tokens, False, user_id)],
            [Subject("validate async", async_auth.validate_session, tokens, True, user_id)],
            flask_subjects(sync_auth, cookies, floor),
            django_subjects(sync_auth, cookies, answers),
            starlette_subjects(async_auth, cookies),
        ]
        if floor is not None:

            def row_user(row: Any) -> str:
                return "none" if row is None else str(row[1])

            groups.append([Subject("floor", floor, tokens, False, row_user)])
        expected = {
            s.name: ["anonymous"] * len(ids) if s.name.endswith(" bare") else ids
            for group in groups
            for s in group
        }
        yield groups, expected


def run(kind: str, users: int, rounds: int, stub: bool = False) -> dict[str, Any]:
    with prepared(kind, users, stub) as (groups, expected):
        started = time.perf_counter()
        calls = measure(groups, expected, rounds)
        seconds = time.perf_counter() - started
    subjects = [subject for group in groups for subject in group]
    by_name = {s.name: s for s in subjects}
    return {
        "db": kind,
        "stub": stub,
        "users": users,
        "rounds": rounds,
        "measure_seconds": round(seconds, 1),
        "requests_per_round": calls,
        "cpu": summary(by_name, "cpu"),
        "wall": summary(by_name, "wall"),
        "rounds_us": {
            s.name: {
                "cpu": [round(v, 2) for v in s.cpu_us],
                "wall": [round(v, 2) for v in s.wall_us],
            }
            for s in subjects
        },
    }


# Instruction counts (--instructions)

REQUESTS = 300


async def _nothing(cred: Any) -> None:
    return None


def run_segment(subject: Subject, creds: list[Any]) -> None:
    """``subject``'s requests on ``creds``, one after the other (the counted stretch)."""
    fn = subject.fn
    if subject.is_async:

        async def go() -> None:
            for cred in creds:
                await fn(cred)

        LOOP.run_until_complete(go())
    else:
        for cred in creds:
            fn(cred)


def count_segments(kind: str, users: int, requests: int, stub: bool) -> None:
    """The run under callgrind: per subject, the same ``requests`` requests twice, a
    warm-up then the counted pass, each after a full collection and ``gc.freeze()``
    (a collection the requests trigger walks only what they made, not the setup's
    heap). ``empty sync`` and ``empty async`` are the harness alone (an empty call
    per request), subtracted from every figure."""
    segments = _callgrind.Segments()
    with prepared(kind, users, stub) as (groups, expected):
        check(groups, expected)
        creds = groups[0][0].creds
        subjects = [subject for group in groups for subject in group]
        subjects += [
            Subject("empty sync", lambda c: None, creds, False, str),
            Subject("empty async", _nothing, creds, True, str),
        ]
        for subject in subjects:
            for label in (None, subject.name):
                gc.collect()
                gc.freeze()
                segments.mark(None)
                run_segment(subject, subject.creds[:requests])
                segments.mark(label)
    segments.save()


def count_instructions(kind: str, users: int, requests: int, stub: bool) -> dict[str, Any]:
    """Run ``count_segments`` under callgrind: instructions per request of each
    subject (the harness's own subtracted) and, per framework, the differences."""
    args = ["--instructions", "--db", kind, "--users", str(users), "--requests", str(requests)]
    started = time.perf_counter()
    counted = _callgrind.count(__file__, args + (["--stub"] if stub else []))
    seconds = time.perf_counter() - started

    def per_request(name: str) -> float:
        harness = counted["empty async" if name in ASYNC_SUBJECTS else "empty sync"]
        return (counted[name] - harness) / requests

    subjects = {name: per_request(name) for name in counted if not name.startswith("empty")}
    result: dict[str, Any] = {
        "db": kind,
        "stub": stub,
        "users": users,
        "requests": requests,
        "seconds": round(seconds, 1),
        "harness": {k: counted[f"empty {k}"] / requests for k in ("sync", "async")},
        "subjects": subjects,
    }
    for framework in FRAMEWORKS:
        bare, minimum, lucia = (subjects[f"{framework} {k}"] for k in ("bare", "minimum", "lucia"))
        result[framework] = {
            "minimum_over_bare": minimum - bare,
            "lucia_over_minimum": lucia - minimum,
            "lucia_over_bare": lucia - bare,
            # The minimum's own code, and whatever more the store call runs in a request.
            "minimum_own": minimum - bare - subjects[FLAVOUR[framework]],
        }
    return result


ASYNC_SUBJECTS = {"validate async", *(f"starlette {k}" for k in ("bare", "minimum", "lucia"))}


def instruction_report(result: dict[str, Any]) -> list[str]:
    """The instruction counts as text lines."""
    s = result["subjects"]
    lines = [
        f"{result['db']}{' (validate_session stubbed)' if result['stub'] else ''}:"
        f" {result['users']:,} users; instructions per request (callgrind, main thread),"
        f" {result['requests']} requests per subject after a warm-up of the same;"
        f" the harness's own ({result['harness']['sync']:,.0f} sync,"
        f" {result['harness']['async']:,.0f} async) subtracted",
        f"  validate_session sync {s['validate sync']:,.0f}, async {s['validate async']:,.0f}"
        + (f"; the floor alone {s['floor']:,.0f}" if "floor" in s else ""),
        f"  {'':10}{'bare':>9}{'minimum':>9}{'lucia':>9}{'min-bare':>10}"
        f"{'lucia-min':>11}{'lucia-bare':>12}{'min-bare-validate':>19}",
    ]
    for framework in FRAMEWORKS:
        f = result[framework]
        bare, minimum, lucia = (s[f"{framework} {k}"] for k in ("bare", "minimum", "lucia"))
        lines.append(
            f"  {framework:10}{bare:>9,.0f}{minimum:>9,.0f}{lucia:>9,.0f}"
            f"{f['minimum_over_bare']:>10,.0f}{f['lucia_over_minimum']:>11,.0f}"
            f"{f['lucia_over_bare']:>12,.0f}{f['minimum_own']:>19,.0f}"
        )
    if "flask floor" in s:
        lines.append(
            f"  the floor in a bare Flask request: {s['flask floor'] - s['flask bare']:,.0f}"
            f" more than the bare request (alone {s['floor']:,.0f})"
        )
    lines.append(f"  ({result['seconds']:.0f} s under callgrind)")
    return lines


def goals_for(result: dict[str, Any], sqlite: dict[str, Any] | None = None) -> dict[str, Any]:
    """Per clock and framework, the most the glue may be (µs), or None when unknown:
    ``BAR_US`` on SQLite; on PostgreSQL the SQLite glue of the same invocation
    (``--db both``), the bar being "no larger than on SQLite"."""
    goals: dict[str, Any] = {}
    for clock in ("cpu", "wall"):
        if result["db"] == "sqlite":
            goals[clock] = dict.fromkeys(FRAMEWORKS, BAR_US)
        elif sqlite is not None:
            goals[clock] = {f: sqlite[clock][f]["glue"] for f in FRAMEWORKS}
        else:
            goals[clock] = dict.fromkeys(FRAMEWORKS)
    return goals


def report(result: dict[str, Any], sqlite: dict[str, Any] | None = None) -> list[str]:
    """The figures as text lines. ``sqlite``: the SQLite result of the same
    invocation, the goal of a PostgreSQL one."""
    goals = goals_for(result, sqlite)
    goal_text = (
        f"goal: glue <= {BAR_US:g} µs"
        if result["db"] == "sqlite"
        else "goal: glue <= the SQLite glue of the same invocation"
        + ("" if sqlite is not None else " (run --db both to see it)")
    )
    lines = [
        f"{result['db']}{' (validate_session stubbed)' if result['stub'] else ''}:"
        f" {result['users']:,} users; {result['rounds']} rounds, interleaved;"
        " medians over rounds, µs per request",
        "  net = lucia - bare; glue = net - validate_session of the same round"
        f" (issue 15's definition); {goal_text}",
    ]
    for clock in ("cpu", "wall"):
        figures = result[clock]
        lines.append(
            f"  {'thread CPU time' if clock == 'cpu' else 'wall time'}:"
            f" validate_session sync {figures['validate sync']:.1f},"
            f" async {figures['validate async']:.1f}"
        )
        lines.append(
            f"  {'':10}{'bare':>8}{'minimum':>9}{'lucia':>8}{'net':>8}{'validate':>10}"
            f"{'net÷val':>9}{'glue':>8}{'(range)':>15}{'goal':>8}{'':>6}"
            f"{'framework':>11}{'lucia-min':>11}"
        )
        for framework in FRAMEWORKS:
            f = figures[framework]
            span = f"{f['glue_min']:.1f}..{f['glue_max']:.1f}"
            goal = goals[clock][framework]
            if goal is None:
                goal_cell, verdict = "?", ""
            else:
                goal_cell, verdict = f"{goal:.1f}", "ok" if f["glue"] <= goal else "OVER"
            lines.append(
                f"  {framework:10}{f['bare']:>8.1f}{f['minimum']:>9.1f}{f['lucia']:>8.1f}"
                f"{f['net']:>8.1f}{f['validate']:>10.1f}{f['net_over_validate']:>8.2f}x"
                f"{f['glue']:>8.1f}{span:>15}{goal_cell:>8}{verdict:>6}"
                f"{f['framework']:>11.1f}{f['lucia_over_minimum']:>11.1f}"
            )
        if "floor" in figures:
            fl = figures["floor"]
            lines.append(
                f"  the floor (SHA-256 + one raw join, no lucia code) alone {fl['alone']:.1f},"
                f" in a bare Flask request {fl['in_request']:.1f}"
                f" (+{fl['in_request'] - fl['alone']:.1f}: what any store call pays there);"
                f" validate_session in a request {fl['minimum_over_floor']:.2f}x the floor's"
            )
        if sqlite is not None:
            lines.extend(fair_lines(figures, sqlite[clock]))
    return lines


def fair_lines(postgres: dict[str, Any], sqlite: dict[str, Any]) -> list[str]:
    """On PostgreSQL, per framework: whether the hand-written minimum itself meets
    the literal bar (its glue, the framework column, against the SQLite glue), and
    lucia's own part (lucia - minimum) against the same part on SQLite: the figure
    that leaves out what any middleware pays there."""
    lines = []
    for framework in FRAMEWORKS:
        pg, lite = postgres[framework], sqlite[framework]
        minimum_ok = "meets" if pg["framework"] <= lite["glue"] else "misses"
        own_ok = "ok" if pg["lucia_over_minimum"] <= lite["lucia_over_minimum"] else "OVER"
        lines.append(
            f"    {framework}: the minimum's own glue {pg['framework']:.1f} {minimum_ok}"
            f" the goal {lite['glue']:.1f}; lucia - minimum {pg['lucia_over_minimum']:.1f}"
            f" vs {lite['lucia_over_minimum']:.1f} on SQLite: {own_ok}"
        )
    return lines


def run_both(args: argparse.Namespace) -> tuple[dict[str, Any], dict[str, Any]]:
    """SQLite then PostgreSQL, each in a process of its own (Django is configured
    once per process): the two results."""
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        for db in ("sqlite", "postgres"):
            out = Path(tmp) / f"{db}.json"
            command = [sys.executable, __file__, "--db", db, "--json", str(out)]
            command += ["--users", str(args.users), "--rounds", str(args.rounds)]
            command += ["--stub"] if args.stub else []
            subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
            results.append(json.loads(out.read_text()))
    return results[0], results[1]


def instructions_main(args: argparse.Namespace) -> int:
    """--instructions: in the run under callgrind, count; else start that run
    (per database) and print its figures."""
    if not 0 < args.requests <= PICKED:
        raise SystemExit(f"--requests: 1 to {PICKED}")
    if _callgrind.active():
        count_segments(args.db, args.users, args.requests, args.stub)
        return 0
    kinds = ("sqlite", "postgres") if args.db == "both" else (args.db,)
    results = {
        kind: count_instructions(kind, args.users, args.requests, args.stub) for kind in kinds
    }
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))
    print("\n".join(line for result in results.values() for line in instruction_report(result)))
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument(
        "--db",
        choices=["sqlite", "postgres", "both"],
        default="sqlite",
        help="both: SQLite, then PostgreSQL with the SQLite glue as its goal",
    )
    parser.add_argument("--users", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=ROUNDS)
    parser.add_argument("--json", type=Path, help="write the figures here")
    parser.add_argument(
        "--stub", action="store_true", help="validate_session answers from a table (no store)"
    )
    parser.add_argument(
        "--instructions",
        action="store_true",
        help="count instructions per request under valgrind's callgrind instead of timing",
    )
    parser.add_argument(
        "--requests",
        type=int,
        default=REQUESTS,
        help=f"with --instructions: requests counted per subject (at most {PICKED})",
    )
    args = parser.parse_args()
    _shared.terminate_as_exit()
    if args.instructions:
        return instructions_main(args)
    if args.db == "both":
        sqlite, postgres = run_both(args)
        if args.json:
            args.json.write_text(json.dumps({"sqlite": sqlite, "postgres": postgres}, indent=2))
        print("\n".join([*report(sqlite), *report(postgres, sqlite)]))
        return 0
    result = run(args.db, args.users, args.rounds, args.stub)
    LOOP.close()
    if args.json:
        args.json.write_text(json.dumps(result, indent=2))
    print("\n".join(report(result)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
