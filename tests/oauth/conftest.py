"""The real OpenID provider for the end-to-end tests: npm oidc-provider@9 under Node.

``oidc_provider`` starts ``node tests/oauth/node/server.mjs`` once per test
session on a free loopback port, waits (with a timeout) for the line it prints
when it is ready, and stops it at the end. Without ``node`` or without the npm
package (``make node`` installs it) its tests are skipped with the reason,
except when ``CI=true``: then that is a failure, as for the database servers.
"""

from __future__ import annotations

import os
import queue
import secrets
import shutil
import subprocess
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import NoReturn

import pytest

from tests.servers import IN_CI

NODE_DIR = Path(__file__).parent / "node"
SERVER_SCRIPT = NODE_DIR / "server.mjs"
PACKAGE = NODE_DIR / "node_modules" / "oidc-provider" / "package.json"
STARTUP_TIMEOUT = 20.0
REDIRECT_URIS = (
    "http://127.0.0.1/login/oidc/callback",
    "https://app.example/login/oidc/callback",
    "https://testserver/auth/login/oidc/callback/",  # the Django integration's tests
)


@dataclass(frozen=True)
class NodeOIDCProvider:
    """A running oidc-provider: its issuer URL and its one registered client."""

    issuer: str
    client_id: str
    client_secret: str
    redirect_uri: str
    output: list[str]

    def __repr__(self) -> str:
        return f"NodeOIDCProvider(issuer={self.issuer!r}, client_id={self.client_id!r})"


def unavailable(reason: str) -> NoReturn:
    """Skip (on a laptop) or fail (in CI) the tests that need the Node provider."""
    message = f"the npm oidc-provider cannot run: {reason}"
    if IN_CI:
        pytest.fail(message, pytrace=False)
    pytest.skip(message)


def _pump(stream: object, lines: queue.Queue[str | None], output: list[str]) -> None:
    # A thread reads the child's output so it can never block on a full pipe,
    # and so the fixture can wait for the ready line with a timeout.
    for line in stream:  # type: ignore[attr-defined]
        output.append(line.rstrip("\n"))
        lines.put(line)
    lines.put(None)


@pytest.fixture(scope="session")
def oidc_provider() -> Iterator[NodeOIDCProvider]:
    """A real OpenID provider (oidc-provider@9) on 127.0.0.1, for the whole session."""
    node = shutil.which("node")
    if node is None:
        unavailable("no 'node' on PATH (install Node.js 20 or later)")
    if not PACKAGE.exists():
        unavailable(f"{PACKAGE.relative_to(NODE_DIR.parents[2])} is missing; run 'make node'")
    client_id = "lucia-e2e"
    client_secret = secrets.token_urlsafe(32)
    env = {
        **os.environ,
        "OIDC_CLIENT_ID": client_id,
        "OIDC_CLIENT_SECRET": client_secret,
        "OIDC_REDIRECT_URIS": " ".join(REDIRECT_URIS),
        "OIDC_PORT": "0",
    }
    process = subprocess.Popen(
        [node, str(SERVER_SCRIPT)],
        cwd=NODE_DIR,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    lines: queue.Queue[str | None] = queue.Queue()
    output: list[str] = []
    threading.Thread(
        target=_pump, args=(process.stdout, lines, output), name="oidc-provider", daemon=True
    ).start()
    try:
        issuer = _wait_for_issuer(lines)
        if issuer is None:
            process.kill()
            unavailable(f"it did not start: {' | '.join(output[-5:])}")
        yield NodeOIDCProvider(issuer, client_id, client_secret, REDIRECT_URIS[0], output)
    finally:
        process.terminate()
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)
        if process.stdout is not None:
            process.stdout.close()


def _wait_for_issuer(lines: queue.Queue[str | None]) -> str | None:
    deadline = time.monotonic() + STARTUP_TIMEOUT
    while (remaining := deadline - time.monotonic()) > 0:
        try:
            line = lines.get(timeout=remaining)
        except queue.Empty:
            return None
        if line is None:  # the process exited
            return None
        if line.startswith("ISSUER "):
            return line.split(" ", 1)[1].strip()
    return None
