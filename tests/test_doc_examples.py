"""Every ```python block of README.md and docs/ runs here, as a reader would run it.

How a page runs (CONTRIBUTING.md, "Writing docs", says the same for authors):

- One test per block, named ``<page>:<line>`` (the line of its opening fence),
  and tracebacks point into the page itself: ``File ".../docs/flask.md", line 57``.
- The blocks of a page share one namespace and run in order, top to bottom: a
  page reads as a story, so a later block may use what an earlier one made (the
  first example's ``auth``, say). Selecting one block (``-k``) runs the blocks
  before it first; when one of them fails, the blocks after it fail too, naming it.
- Each page runs in a fresh temporary working directory (SQLite files land
  there) under ``__name__ == "__doc_example__"``, so a server start guarded by
  ``if __name__ == "__main__":`` is shown but not run.
- A block with top-level ``await`` runs on the page's event loop (one per page,
  so what one block makes, the next can await).
- No network: a name lookup or connection that is not loopback fails at once
  (Python sockets; a C driver such as libpq is not covered, so examples that
  need a database server are the ``examples/`` scripts, tested in tests/examples).
  Providers in examples point at nothing real; a page that signs in for real
  uses ``lucia.testing``'s loopback stand-ins.
- Each framework app a block assigns to ``app`` (Starlette, FastAPI, Flask) is
  requested after the page's last block (later blocks may add routes): a GET of
  ``/`` and of every GET route without a path parameter, through the
  framework's test client (Starlette's with its lifespan), over https; a 5xx
  fails the page's last block, naming the block that made the app.
- A fragment, a block that cannot run as it stands, has ``<!-- fragment: reason -->``
  on the line directly before its opening fence, and is skipped with its page,
  line and reason (``-ra`` lists it). Keep them rare: readers copy these blocks.
- A block that only includes a file (``--8<-- "examples/..."``) is run where
  that file is tested (tests/examples); here its test checks that one does.
- ``SETUP`` gives a page what a reader's app already has before its first
  block: Django configured for the Django pages, the old app's users for the
  migration pages.

The same file also holds every ``pip install`` of the docs to the real
distribution, ``lucia-auth``, and to the extras pyproject.toml defines.
"""

from __future__ import annotations

import ast
import asyncio
import contextlib
import errno
import inspect
import ipaddress
import os
import re
import shlex
import socket
import tomllib
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1]
PAGES = [
    ROOT / "README.md",
    *sorted(
        p
        for p in (ROOT / "docs").rglob("*.md")
        if p.relative_to(ROOT / "docs").parts[0] not in {"node", "hooks"}
    ),
]

_FENCE_OPEN = re.compile(r"^(?P<indent>[ \t]*)(?P<fence>`{3,}|~{3,})[ \t]*(?P<info>[^`\n]*)$")
_FRAGMENT = re.compile(r"^\s*<!--\s*fragment:\s*(?P<reason>\S.*?)\s*-->\s*$")
_INCLUDE = re.compile(r'^\s*--8<--\s+"(?P<path>[^"]+)"\s*$')


@dataclass(frozen=True)
class Block:
    """One fenced code block of a page."""

    page: str  # relative to the repository, posix
    line: int  # 1-based line of the opening fence
    language: str
    code: str  # dedented to the fence's indentation
    fragment: str | None  # the marker's reason, when the block is a fragment

    @property
    def id(self) -> str:
        return f"{self.page}:{self.line}"

    @property
    def includes(self) -> list[str]:
        """The files a snippet-only block includes (empty for ordinary code)."""
        lines = [line for line in self.code.splitlines() if line.strip()]
        found = [_INCLUDE.match(line) for line in lines]
        if lines and all(found):
            return [m["path"] for m in found if m is not None]
        return []


def parse_blocks(page: str, text: str) -> list[Block]:
    """The fenced blocks of a Markdown page, in order (CommonMark fences, any indentation)."""
    lines = text.splitlines()
    blocks: list[Block] = []
    i = 0
    while i < len(lines):
        opening = _FENCE_OPEN.match(lines[i])
        if opening is None:
            i += 1
            continue
        indent, fence = len(opening["indent"]), opening["fence"]
        closing = re.compile(rf"^[ \t]*{re.escape(fence[0])}{{{len(fence)},}}[ \t]*$")
        body: list[str] = []
        j = i + 1
        while j < len(lines) and not closing.match(lines[j]):
            raw = lines[j]
            strip = len(raw) - len(raw.lstrip(" "))
            body.append(raw[min(strip, indent) :])
            j += 1
        marker = _FRAGMENT.match(lines[i - 1]) if i > 0 else None
        blocks.append(
            Block(
                page=page,
                line=i + 1,
                language=(opening["info"].split() or [""])[0].lower(),
                code="\n".join(body) + "\n",
                fragment=marker["reason"] if marker else None,
            )
        )
        i = j + 1
    return blocks


def _page(path: Path) -> str:
    return path.relative_to(ROOT).as_posix()


ALL_BLOCKS = [
    block for path in PAGES for block in parse_blocks(_page(path), path.read_text(encoding="utf-8"))
]
PYTHON_BLOCKS = [block for block in ALL_BLOCKS if block.language in {"python", "py"}]


# --- No network -------------------------------------------------------------------

_LOCAL_NAMES = {"localhost", "localhost.localdomain", "ip6-localhost"}


def _is_local(host: object) -> bool:
    if host is None:
        return True
    if isinstance(host, bytes):
        host = host.decode("ascii", "replace")
    if not isinstance(host, str):
        return False
    name = host.strip("[]").lower()
    if name in _LOCAL_NAMES or name.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(name.split("%")[0]).is_loopback
    except ValueError:
        return False


@contextlib.contextmanager
def no_network() -> Iterator[None]:
    """Refuse every name lookup and connection that is not loopback (or a Unix socket)."""
    real_getaddrinfo = socket.getaddrinfo
    real_connect, real_connect_ex = socket.socket.connect, socket.socket.connect_ex
    own = {name: socket.socket.__dict__.get(name) for name in ("connect", "connect_ex")}

    def getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
        if not _is_local(host):
            raise socket.gaierror(socket.EAI_NONAME, f"doc examples run with no network: {host}")
        return real_getaddrinfo(host, *args, **kwargs)

    def check(sock: socket.socket, address: Any) -> None:
        if sock.family in (socket.AF_INET, socket.AF_INET6) and not _is_local(address[0]):
            raise OSError(errno.ENETUNREACH, f"doc examples run with no network: {address[0]}")

    def connect(sock: socket.socket, address: Any) -> None:
        check(sock, address)
        real_connect(sock, address)

    def connect_ex(sock: socket.socket, address: Any) -> int:
        check(sock, address)
        return real_connect_ex(sock, address)

    socket.getaddrinfo = getaddrinfo
    socket.socket.connect = connect
    socket.socket.connect_ex = connect_ex
    try:
        yield
    finally:
        socket.getaddrinfo = real_getaddrinfo
        for name, method in own.items():  # inherited from _socket.socket: inherit again
            if method is None:
                delattr(socket.socket, name)
            else:
                setattr(socket.socket, name, method)


# --- Running a page ---------------------------------------------------------------


@dataclass
class PageRun:
    """One page's namespace, working directory, event loop and progress."""

    page: str
    workdir: Path
    namespace: dict[str, Any] = field(default_factory=dict)
    stack: contextlib.ExitStack = field(default_factory=contextlib.ExitStack)
    runner: asyncio.Runner | None = None
    done: int = 0  # how many of the page's python blocks have run
    failed: Block | None = None
    apps: list[tuple[Block, Any]] = field(default_factory=list)  # each ``app`` a block made

    def loop(self) -> asyncio.Runner:
        if self.runner is None:
            self.runner = self.stack.enter_context(asyncio.Runner())
        return self.runner

    def close(self) -> None:
        with no_network(), contextlib.chdir(self.workdir):
            self.stack.close()


def _get_paths(app: Any) -> list[str]:
    """The app's GET routes that take no path parameter, "/" first."""
    paths: set[str] = {"/"}
    with contextlib.suppress(ImportError):
        from starlette.applications import Starlette

        if isinstance(app, Starlette):
            for route in app.routes:
                path, methods = getattr(route, "path", ""), getattr(route, "methods", None)
                if methods and "GET" in methods and "{" not in path:
                    paths.add(path)
    with contextlib.suppress(ImportError):
        from flask import Flask

        if isinstance(app, Flask):
            for rule in app.url_map.iter_rules():
                if "GET" in (rule.methods or ()) and not rule.arguments:
                    paths.add(rule.rule)
    return sorted(paths, key=lambda path: (path != "/", path))


def _exercise(app: Any, block: Block, run: PageRun) -> None:
    """A GET of each parameterless GET route through the framework's test client,
    over https; a server error (5xx) fails."""
    answers: list[tuple[str, int, str]] = []
    paths = _get_paths(app)
    with contextlib.suppress(ImportError):
        import httpx
        from starlette.applications import Starlette

        if isinstance(app, Starlette):

            async def get_all() -> None:
                transport = httpx.ASGITransport(app=app)
                async with (
                    app.router.lifespan_context(app),
                    httpx.AsyncClient(transport=transport, base_url="https://testserver") as client,
                ):
                    for path in paths:
                        response = await client.get(path)
                        answers.append((path, response.status_code, response.text))

            run.loop().run(get_all())
    with contextlib.suppress(ImportError):
        from flask import Flask

        if isinstance(app, Flask):
            client = app.test_client()
            for path in paths:
                flask_response = client.get(path, base_url="https://localhost")
                answers.append((path, flask_response.status_code, flask_response.get_data(True)))
    for path, status, body in answers:
        assert status < 500, f"{block.id}: GET {path} answered {status}: {body[:500]}"


def run_block(run: PageRun, block: Block) -> None:
    """Run one block in its page's namespace, with line numbers of the page itself."""
    source = "\n" * block.line + block.code  # the first line of code is the fence's + 1
    code = compile(
        source,
        str(ROOT / block.page),
        "exec",
        flags=ast.PyCF_ALLOW_TOP_LEVEL_AWAIT,
        dont_inherit=True,
    )
    namespace = run.namespace
    app_before = namespace.get("app")
    with no_network(), contextlib.chdir(run.workdir):
        if code.co_flags & inspect.CO_COROUTINE:
            run.loop().run(eval(code, namespace))
        else:
            exec(code, namespace)
    app = namespace.get("app")
    if app is not None and app is not app_before:
        run.apps.append((block, app))


def exercise_apps(run: PageRun) -> None:
    """After a page's last block (later blocks may add routes): one request to each app."""
    with no_network(), contextlib.chdir(run.workdir):
        for block, app in run.apps:
            _exercise(app, block, run)


# --- What some pages need before their first block ------------------------------

PASSWORD = "correct horse battery staple"


def _django(run: PageRun) -> None:
    """The Django pages' blocks are parts of a project (settings, urls, views): configure
    Django as tests/integrations does, so ``include(...)`` and the decorators import."""
    pytest.importorskip("django")
    from tests.integrations.django_project import setup

    setup()


def _flask_login(run: PageRun) -> None:
    """``db``: the old Flask-Login app's database, one user with a Werkzeug hash."""
    import sqlite3
    from types import SimpleNamespace

    from werkzeug.security import generate_password_hash

    db = sqlite3.connect("old-app.sqlite3")
    db.row_factory = lambda cursor, row: SimpleNamespace(
        **{column[0]: value for column, value in zip(cursor.description, row, strict=True)}
    )
    db.execute("CREATE TABLE users (id INTEGER PRIMARY KEY, email TEXT, password_hash TEXT)")
    db.execute(
        "INSERT INTO users VALUES (7, ' Ada@Example.com', ?)",
        (generate_password_hash(PASSWORD, method="pbkdf2:sha256:20000"),),
    )
    run.stack.callback(db.close)
    run.namespace["db"] = db


def _fastapi_users(run: PageRun) -> None:
    """``old_users``: FastAPI-Users' rows, one user with pwdlib's Argon2 hash."""
    from types import SimpleNamespace

    import argon2

    run.namespace["old_users"] = [
        SimpleNamespace(
            id=uuid.UUID(int=7),
            email=" Ada@Example.com",  # as typed at sign-up, years ago
            is_verified=True,
            # pwdlib's Argon2id (cheaper parameters than its defaults, for speed)
            hashed_password=argon2.PasswordHasher(time_cost=1, memory_cost=8192).hash(PASSWORD),
        )
    ]


SETUP: dict[str, Callable[[PageRun], None]] = {
    "docs/django.md": _django,
    "docs/migrating/django-auth.md": _django,
    "docs/migrating/flask-login.md": _flask_login,
    "docs/migrating/fastapi-users.md": _fastapi_users,
}


def open_page(page: str, workdir: Path) -> PageRun:
    """A fresh run of ``page`` in ``workdir``, with the page's SETUP done."""
    run = PageRun(page, workdir)
    run.namespace.update({"__name__": "__doc_example__", "__builtins__": __builtins__})
    if page in SETUP:
        with no_network(), contextlib.chdir(workdir):
            SETUP[page](run)
    return run


class Pages:
    """The page runs of this module, one open at a time (the tests come page by page)."""

    def __init__(self, factory: pytest.TempPathFactory) -> None:
        self.factory = factory
        self.runs: dict[str, PageRun] = {}

    def get(self, page: str) -> PageRun:
        for other in [p for p in self.runs if p != page]:
            self.runs.pop(other).close()
        if page not in self.runs:
            workdir = self.factory.mktemp(re.sub(r"\W", "_", page))
            self.runs[page] = open_page(page, workdir)
        return self.runs[page]

    def close(self) -> None:
        for run in self.runs.values():
            run.close()
        self.runs.clear()


@pytest.fixture(scope="module")
def pages(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Pages]:
    opened = Pages(tmp_path_factory)
    try:
        yield opened
    finally:
        opened.close()


@pytest.mark.parametrize("block", PYTHON_BLOCKS, ids=lambda block: block.id)
def test_python_block_runs(block: Block, pages: Pages) -> None:
    if block.includes:
        _check_includes_are_tested(block)
    page_blocks = [b for b in PYTHON_BLOCKS if b.page == block.page]
    index = page_blocks.index(block)
    runs_code = block.fragment is None and not block.includes
    run = pages.get(block.page)
    if run.done > index:  # this block ran already (a rerun): start the page again
        run = _fresh(pages, block.page)
    for earlier in page_blocks[run.done : index + 1]:
        if run.failed is not None:
            if not runs_code:
                break
            pytest.fail(f"{block.id} not run: {run.failed.id} before it failed", pytrace=False)
        if earlier.fragment is None and not earlier.includes:
            try:
                run_block(run, earlier)
            except BaseException:
                run.failed = earlier
                raise
        run.done += 1
    if index == len(page_blocks) - 1 and run.failed is None:
        exercise_apps(run)  # last: later blocks may add routes to an app
    if block.fragment is not None:
        pytest.skip(f"{block.id}: fragment: {block.fragment}")


def _fresh(pages: Pages, page: str) -> PageRun:
    pages.runs.pop(page).close()
    return pages.get(page)


def _check_includes_are_tested(block: Block) -> None:
    tests = "\n".join(p.read_text() for p in (ROOT / "tests" / "examples").glob("test_*.py"))
    for included in block.includes:
        assert (ROOT / included).is_file(), f"{block.id}: {included} does not exist"
        relative = included.removeprefix("examples/")
        assert f'"{relative}"' in tests, f"{block.id}: no test in tests/examples runs {included}"


# --- The markers themselves ---------------------------------------------------------


def test_every_fragment_marker_stands_before_a_python_block() -> None:
    """A marker anywhere else marks nothing: the block it meant would run (or it is stale)."""
    marked = {(b.page, b.line - 1) for b in PYTHON_BLOCKS if b.fragment is not None}
    stray = []
    for path in PAGES:
        page = path.relative_to(ROOT).as_posix()
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            # A line that is a marker (prose may mention one in backticks).
            if line.strip().startswith("<!-- fragment") and (page, number) not in marked:
                stray.append(f"{page}:{number}")
    assert stray == []


def test_the_collector_finds_the_blocks() -> None:
    """A parser that found nothing would pass every page: pin a few known blocks."""
    pages = {block.page for block in PYTHON_BLOCKS}
    assert {"README.md", "docs/getting-started.md", "docs/starlette.md"} <= pages
    assert len(PYTHON_BLOCKS) >= 40
    tabbed = [b for b in PYTHON_BLOCKS if b.page == "docs/oauth.md" and not b.code[0].isspace()]
    assert tabbed, "blocks inside a tab are dedented"


def test_parse_blocks_reads_fences_markers_and_includes() -> None:
    text = (
        "# T\n\n```sh\npip install lucia-auth\n```\n\n"
        "<!-- fragment: needs a server -->\n```python\nconnect()\n```\n\n"
        '=== "Tab"\n\n    ```python\n    x = 1\n    if x:\n        y = 2\n    ```\n\n'
        '```python\n--8<-- "examples/databases/sqlite.py"\n```\n\n'
        "````markdown\n```python\nnot a block of its own\n```\n````\n"
    )
    blocks = parse_blocks("docs/t.md", text)
    assert [(b.language, b.line) for b in blocks] == [
        ("sh", 3),
        ("python", 8),
        ("python", 14),
        ("python", 20),
        ("markdown", 24),
    ]
    assert blocks[1].fragment == "needs a server"
    assert blocks[2].fragment is None
    assert blocks[2].code == "x = 1\nif x:\n    y = 2\n"
    assert blocks[3].includes == ["examples/databases/sqlite.py"]
    assert blocks[1].includes == []


def test_a_failing_block_names_its_page_and_line(tmp_path: Path) -> None:
    block = Block("docs/x.md", 10, "python", "a = 1\nraise ValueError(a)\n", None)
    run = PageRun("docs/x.md", tmp_path)
    run.namespace["__builtins__"] = __builtins__
    with pytest.raises(ValueError, match="1") as info:
        run_block(run, block)
    frame = info.traceback[-1]
    assert str(frame.path) == str(ROOT / "docs/x.md")
    assert frame.lineno + 1 == 12  # pytest's lineno is 0-based: line 12 of the page


def test_blocks_run_with_no_network(tmp_path: Path) -> None:
    block = Block(
        "docs/x.md",
        1,
        "python",
        "import socket\nsocket.create_connection(('example.com', 443))\n",
        None,
    )
    run = PageRun("docs/x.md", tmp_path)
    with pytest.raises(OSError, match=r"no network: example\.com"):
        run_block(run, block)
    outside = Block(
        "docs/x.md", 1, "python", "import socket\nsocket.socket().connect(('192.0.2.1', 9))\n", None
    )
    with pytest.raises(OSError, match=r"no network: 192\.0\.2\.1"):
        run_block(run, outside)
    assert socket.getaddrinfo("localhost", 80)  # restored afterwards
    assert "connect" not in socket.socket.__dict__


def test_top_level_await_runs_on_the_page_loop(tmp_path: Path) -> None:
    run = PageRun("docs/x.md", tmp_path)
    try:
        run_block(
            run,
            Block(
                "docs/x.md",
                1,
                "python",
                "import asyncio\nawait asyncio.sleep(0)\nloop = asyncio.get_running_loop()\n",
                None,
            ),
        )
        run_block(
            run,
            Block(
                "docs/x.md",
                5,
                "python",
                "await asyncio.sleep(0)\nsame = asyncio.get_running_loop() is loop\n",
                None,
            ),
        )
    finally:
        run.close()
    assert run.namespace["same"] is True


def test_an_app_whose_get_route_fails_fails_the_page(tmp_path: Path) -> None:
    code = (
        "from starlette.applications import Starlette\n"
        "from starlette.responses import PlainTextResponse\n"
        "from starlette.routing import Route\n"
        "async def home(request):\n    return PlainTextResponse('home')\n"
        "async def page(request):\n    raise RuntimeError('boom')\n"
        "async def item(request):\n    raise RuntimeError('never requested')\n"
        "app = Starlette(routes=[Route('/', home), Route('/page', page),"
        " Route('/item/{id}', item)])\n"
    )
    run = PageRun("docs/x.md", tmp_path)
    run_block(run, Block("docs/x.md", 1, "python", code, None))
    with pytest.raises(RuntimeError, match="boom"):
        exercise_apps(run)
    flask = (
        "from flask import Flask\napp = Flask('x')\n"
        "@app.post('/form')\ndef form():\n    return 'x', 500\n"
        "@app.get('/page')\ndef page():\n    return 'x', 503\n"
    )
    run = PageRun("docs/x.md", tmp_path)
    run_block(run, Block("docs/x.md", 1, "python", flask, None))
    with pytest.raises(AssertionError, match=r"docs/x\.md:1: GET /page answered 503"):
        exercise_apps(run)
    assert _get_paths(run.namespace["app"]) == ["/", "/page"]


# --- pip install ------------------------------------------------------------------

_PIP = re.compile(r"pip install (?P<args>[^`\n#]+)")
_REQUIREMENT = re.compile(r"^(?P<name>[A-Za-z0-9][A-Za-z0-9._-]*)(?:\[(?P<extras>[^\]]*)\])?")


def _pip_installs() -> list[tuple[str, str]]:
    """Every ``pip install`` written in the docs, the README, examples/ and lucia's messages."""
    files = [
        *PAGES,
        ROOT / "CONTRIBUTING.md",
        *(ROOT / "examples").rglob("*.md"),
        *(ROOT / "examples").rglob("*.py"),
        *(ROOT / "src" / "lucia").rglob("*.py"),
    ]
    found = []
    for path in files:
        if not path.is_file():
            continue
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            for match in _PIP.finditer(line):
                found.append((f"{path.relative_to(ROOT).as_posix()}:{number}", match["args"]))
    return found


def _extras() -> set[str]:
    with (ROOT / "pyproject.toml").open("rb") as f:
        project = tomllib.load(f)["project"]
    assert project["name"] == "lucia-auth"
    return set(project["optional-dependencies"])


def pip_install_problems(args: str, extras: set[str]) -> list[str]:
    """What is wrong with one ``pip install`` line's arguments (empty: nothing)."""
    try:
        words = shlex.split(args)
    except ValueError:
        words = args.split()
    requirements = [w.strip("'\"") for w in words if not w.startswith("-") and "{" not in w]
    problems: list[str] = []
    names = []
    for requirement in requirements:
        if requirement.startswith((".", "/")):  # a checkout of this repository
            requirement = "lucia-auth" + requirement[requirement.find("[") :] * ("[" in requirement)
        match = _REQUIREMENT.match(requirement)
        if match is None:
            continue
        name = match["name"].lower()
        names.append(name)
        if name.startswith("lucia") and name != "lucia-auth":
            problems.append(f"{name}: the distribution is lucia-auth")
        if name == "lucia-auth" and match["extras"] is not None:
            unknown = {e.strip() for e in match["extras"].split(",")} - extras
            problems.extend(f"unknown extra {extra!r}" for extra in sorted(unknown))
    if "lucia-auth" not in names and not problems:
        problems.append(f"installs {names or args!r}, not lucia-auth")
    return problems


def test_pip_install_names_lucia_auth_with_real_extras() -> None:
    extras = _extras()
    installs = _pip_installs()
    assert len(installs) >= 15  # the scan found the docs' install lines
    wrong = {
        where: problems
        for where, args in installs
        if (problems := pip_install_problems(args, extras))
    }
    assert wrong == {}


@pytest.mark.parametrize(
    ("args", "problem"),
    [
        ('"lucia[starlette]"', "the distribution is lucia-auth"),
        ("'lucia-auth[oauth,fastpi]'", "unknown extra 'fastpi'"),
        ("fastapi-users", "not lucia-auth"),
        ('"lucia-auth[fastapi,postgres]" uvicorn', None),
        ("lucia-auth            ", None),
        ("-e '.[dev]'", None),
        ("-e '.[nope]'", "unknown extra 'nope'"),
    ],
)
def test_pip_install_check_catches_what_a_new_user_hit(args: str, problem: str | None) -> None:
    problems = pip_install_problems(args, _extras())
    if problem is None:
        assert problems == []
    else:
        assert any(problem in p for p in problems), problems


# --- What the new user hit, pinned on the pages themselves ------------------------


def _page_run(page: str, workdir: Path, blocks: int = 1) -> PageRun:
    """A run of the first ``blocks`` python blocks of ``page`` (to poke at what they made)."""
    run = open_page(page, workdir)
    for block in [b for b in PYTHON_BLOCKS if b.page == page][:blocks]:
        run_block(run, block)
    return run


@pytest.mark.parametrize("dev", [True, False])
def test_starlette_page_app_signs_in_as_typed_and_says_how_to_use_http(
    dev: bool, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """docs/starlette.md's app: an address typed 'Ada@Example.com' signs in to the account
    of ada@example.com, and with DEV=1 its cookie comes back over plain http (without it,
    the cookie is Secure and __Host-, and an http client never sends it back)."""
    pytest.importorskip("starlette")
    import httpx

    from lucia import accounts

    if dev:
        monkeypatch.setenv("DEV", "1")
    else:
        monkeypatch.delenv("DEV", raising=False)
    run = _page_run("docs/starlette.md", tmp_path)
    app, auth = run.namespace["app"], run.namespace["auth"]
    base = "http://localhost:8000" if dev else "https://localhost:8000"

    async def sign_in() -> tuple[httpx.Response, httpx.Response]:
        transport = httpx.ASGITransport(app=app)
        async with (
            app.router.lifespan_context(app),
            httpx.AsyncClient(transport=transport, base_url=base) as client,
        ):
            await accounts.asign_up(auth, "ada@example.com", PASSWORD)
            signed = await client.post(
                "/password/login",
                json={"email": " Ada@Example.com", "password": PASSWORD},
                headers={"Origin": base},
            )
            return signed, await client.get("/")

    try:
        with contextlib.chdir(tmp_path):
            signed, home = run.loop().run(sign_in())
    finally:
        run.close()
    assert signed.status_code == 200, signed.text
    cookie = signed.headers["set-cookie"]
    if dev:
        assert cookie.startswith("auth_session=")
        assert "Secure" not in cookie
        assert "Signed in as" in home.text  # the cookie came back over http
    else:
        assert cookie.startswith("__Host-auth_session=")
        assert "Secure" in cookie


@pytest.mark.parametrize("dev", [True, False])
def test_flask_page_sign_in_view_normalises_and_throttles(
    dev: bool, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """docs/flask.md's own /signin: 'Ada@Example.com' signs in to ada@example.com's
    account (over plain http with DEV=1, Secure and __Host- without it), and a wrong
    password past the throttle's limit gets 429 (the page's throttle, given a limit
    of 2 here to keep the test fast)."""
    pytest.importorskip("flask")
    from datetime import timedelta

    from lucia import accounts
    from lucia.throttle import Limit, SignInThrottle

    if dev:
        monkeypatch.setenv("DEV", "1")
    else:
        monkeypatch.delenv("DEV", raising=False)
    run = _page_run("docs/flask.md", tmp_path)
    assert isinstance(run.namespace.get("throttle"), SignInThrottle)
    run.namespace["throttle"] = SignInThrottle(per_account=Limit(2, timedelta(minutes=15)))
    try:
        app, auth = run.namespace["app"], run.namespace["auth"]
        with contextlib.chdir(tmp_path):
            accounts.sign_up(auth, "ada@example.com", PASSWORD)
            client = app.test_client()
            base = "http://localhost" if dev else "https://localhost"

            def post(password: str) -> Any:
                form = {"email": "Ada@Example.com", "password": password}
                return client.post("/signin", data=form, headers={"Origin": base}, base_url=base)

            signed = post(PASSWORD)
            home = client.get("/", base_url=base).get_data(as_text=True)
            answers = [post("wrong password").status_code for _ in range(3)]
    finally:
        run.close()
    assert signed.status_code == 303
    cookie = signed.headers["Set-Cookie"]
    if dev:
        assert cookie.startswith("auth_session=")
        assert "Secure" not in cookie
    else:
        assert cookie.startswith("__Host-auth_session=")
        assert "Secure" in cookie
    assert "Signed in as" in home  # the cookie came back
    assert answers == [400, 400, 429]


def test_django_page_sign_in_view_normalises_and_throttles(tmp_path: Path) -> None:
    """docs/django.md's own password_login (its last block), behind LuciaMiddleware:
    'Ada@Example.com' signs in to ada@example.com's account, and a wrong password
    past the throttle's limit gets 429 (a limit of 2 here, to keep the test fast)."""
    pytest.importorskip("django")
    from datetime import timedelta

    from lucia import accounts
    from lucia.throttle import Limit, SignInThrottle

    page_blocks = [b for b in PYTHON_BLOCKS if b.page == "docs/django.md"]
    run = _page_run("docs/django.md", tmp_path, blocks=len(page_blocks))
    from django.test import RequestFactory, override_settings

    from lucia.integrations.django.conf import get_lucia
    from lucia.integrations.django.middleware import LuciaMiddleware
    from tests.conformance.backends_django import fresh_database

    assert isinstance(run.namespace.get("throttle"), SignInThrottle)
    run.namespace["throttle"] = SignInThrottle(per_account=Limit(2, timedelta(minutes=15)))
    fresh_database()
    try:
        with override_settings(LUCIA=run.namespace["LUCIA"]):  # the page's settings.py
            assert get_lucia().session_policy.expires_in == timedelta(days=30)
        with override_settings(LUCIA={}):
            accounts.sign_up(get_lucia(), "ada@example.com", PASSWORD)
            middleware = LuciaMiddleware(run.namespace["password_login"])

            def post(password: str) -> Any:
                form = {"email": "Ada@Example.com", "password": password}
                request = RequestFactory().post(
                    "/signin", form, secure=True, HTTP_ORIGIN="https://testserver"
                )
                return middleware(request)

            signed = post(PASSWORD)
            answers = [post("wrong password").status_code for _ in range(3)]
    finally:
        run.close()
    assert signed.status_code == 302
    assert "auth_session" in signed.cookies
    assert answers == [400, 400, 429]


@pytest.mark.parametrize(
    "page", ["docs/migrating/flask-login.md", "docs/migrating/fastapi-users.md"]
)
def test_migration_page_imports_users_who_sign_in_with_their_old_password(
    page: str, tmp_path: Path
) -> None:
    """The import loop of the page, run on the old app's user (SETUP: ' Ada@Example.com'
    with a Werkzeug or pwdlib hash): the user signs in as lucia.accounts would look
    them up, with the password of the old app."""
    from lucia import AsyncLucia, Lucia, accounts

    run = _page_run(page, tmp_path)
    try:
        adapter = run.namespace["adapter"]
        with contextlib.chdir(tmp_path):
            if inspect.iscoroutinefunction(adapter.insert_user):
                signed = run.loop().run(
                    accounts.asign_in(AsyncLucia(adapter), "ada@example.com", PASSWORD)
                )
            else:
                signed = accounts.sign_in(Lucia(adapter), "ada@example.com", PASSWORD)
    finally:
        run.close()
    assert signed.user.id in {"7", str(uuid.UUID(int=7))}


def test_testing_page_example_test_passes(tmp_path: Path) -> None:
    """docs/testing.md's first block is a pytest module: run as one, its test passes
    (the collector alone only defines it)."""
    pytest.importorskip("flask")
    import subprocess
    import sys

    block = next(b for b in PYTHON_BLOCKS if b.page == "docs/testing.md")
    assert "def test_sign_in_with_github" in block.code
    (tmp_path / "test_from_docs.py").write_text(block.code)
    # No plugin autoloading: the example needs none, and loading them all costs seconds.
    env = {**os.environ, "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1"}
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "test_from_docs.py"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    assert "1 passed" in result.stdout


def test_tokens_page_password_reset_views_work_end_to_end(tmp_path: Path) -> None:
    """docs/tokens.md's Flask reset views: the mail goes to the stored address, its link's
    form comes back with the token, and the new password signs the browser in."""
    pytest.importorskip("flask")
    import html
    import re as regex

    run = _page_run("docs/tokens.md", tmp_path, blocks=2)
    mails: list[dict[str, str]] = []
    run.namespace["send_mail"] = lambda **mail: mails.append(mail)
    base, origin = "https://localhost", {"Origin": "https://localhost"}
    try:
        client = run.namespace["app"].test_client()
        with contextlib.chdir(tmp_path):
            sent = client.post(
                "/forgot-password",
                data={"email": " ADA@example.com"},
                headers=origin,
                base_url=base,
            )
            unknown = client.post(
                "/forgot-password", data={"email": "bob@example.com"}, headers=origin, base_url=base
            )
            link = regex.search(
                r"https://app\.example(/reset-password\?token=\S+)", mails[0]["body"]
            )
            assert link is not None
            form = client.get(link[1], base_url=base).get_data(as_text=True)
            token = html.unescape(regex.search(r'name="token" value="([^"]+)"', form)[1])
            done = client.post(
                "/reset-password",
                data={"token": token, "password": "a brand new passphrase"},
                headers=origin,
                base_url=base,
            )
            again = client.post(
                "/reset-password",
                data={"token": token, "password": "another new passphrase"},
                headers=origin,
                base_url=base,
            )
            auth = run.namespace["auth"]
            signed_in = auth.authenticate("email", "ada@example.com", "a brand new passphrase")
    finally:
        run.close()
    assert sent.get_data() == unknown.get_data()  # the same answer either way
    assert [mail["to"] for mail in mails] == ["ada@example.com"]  # the stored address
    assert done.status_code == 302
    assert "auth_session=" in done.headers["Set-Cookie"]
    assert again.status_code == 400  # the link works once
    assert signed_in.attributes["email"] == "ada@example.com"
