"""Servers a fault test owns and may stop: a private PostgreSQL cluster and a
private Redis, each on a free loopback port with its files in a temp dir.

The machine's shared servers are never touched. When ``initdb`` or
``redis-server`` is missing, the test is skipped on a laptop and fails in CI
(``tests.servers.unavailable``).
"""

from __future__ import annotations

import glob
import os
import secrets
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.servers import unavailable


def free_port() -> int:
    """A loopback port nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


def _postgres_bin() -> Path | None:
    """The directory of initdb and pg_ctl: PATH first, then Debian's versioned dirs."""
    found = shutil.which("initdb")
    if found is not None and shutil.which("pg_ctl") is not None:
        return Path(found).parent
    candidates = sorted(
        glob.glob("/usr/lib/postgresql/*/bin/initdb"),
        key=lambda path: int(Path(path).parts[-3]) if Path(path).parts[-3].isdigit() else 0,
    )
    return Path(candidates[-1]).parent if candidates else None


class PrivatePostgres:
    """A PostgreSQL cluster of our own: ``start()``, ``stop()`` (immediate, like a
    crash: no checkpoint, clients cut) and ``start()`` again.

    initdb refuses to run as root, so as root every command runs as the
    ``postgres`` OS user (``runuser``). The conninfo carries a password the
    server never asks for (trust), so tests can check it never leaks.
    """

    def __init__(self, bin_dir: Path, root: Path) -> None:
        self.bin_dir = bin_dir
        self.root = root
        self.data = root / "data"
        self.port = free_port()
        self.password = f"pw-{secrets.token_hex(8)}"
        self.conninfo = (
            f"host=127.0.0.1 port={self.port} dbname=postgres user=postgres "
            f"password={self.password}"
        )

    def _run(self, tool: str, *args: str) -> None:
        command = [str(self.bin_dir / tool), *args]
        if os.geteuid() == 0:
            command = ["runuser", "-u", "postgres", "--", *command]
        result = subprocess.run(command, capture_output=True, text=True, timeout=60, check=False)
        if result.returncode != 0:
            raise RuntimeError(f"{tool} failed ({result.returncode}): {result.stderr[-2000:]}")

    def init(self) -> None:
        self._run(
            "initdb", "-D", str(self.data), "-A", "trust", "-U", "postgres", "-E", "UTF8",
            "--no-sync", "--no-instructions",
        )  # fmt: skip

    def start(self) -> None:
        options = (
            f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 "
            "-c fsync=off -c max_connections=50"
        )
        log = str(self.root / "server.log")
        self._run(
            "pg_ctl", "-D", str(self.data), "-o", options, "-l", log, "-w", "-t", "30", "start"
        )

    def stop(self) -> None:
        """Stop at once: the server drops every connection and rolls back what was open."""
        self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "-t", "30", "stop")


def require_postgres_bin() -> Path:
    """The directory of initdb and pg_ctl; skips (laptop) or fails (CI) without them."""
    bin_dir = _postgres_bin()
    if bin_dir is None:
        unavailable("PostgreSQL's initdb", "not installed")
    return bin_dir


def require_redis_server() -> str:
    """The redis-server executable; skips (laptop) or fails (CI) without it."""
    executable = shutil.which("redis-server")
    if executable is None:
        unavailable("redis-server", "not installed")
    return executable


@pytest.fixture
def private_postgres() -> Iterator[PrivatePostgres]:
    """A running private PostgreSQL cluster, removed afterwards."""
    bin_dir = require_postgres_bin()
    root = Path(tempfile.mkdtemp(prefix="lucia-pg-"))
    server = PrivatePostgres(bin_dir, root)
    try:
        try:
            if os.geteuid() == 0:
                shutil.chown(root, "postgres", "postgres")  # LookupError: no such user
            server.init()
            server.start()
        except (OSError, LookupError, RuntimeError, subprocess.SubprocessError) as exc:
            unavailable("a private PostgreSQL cluster", exc)
        yield server
    finally:
        if (server.data / "postmaster.pid").exists():
            server.stop()
        shutil.rmtree(root, ignore_errors=True)


class PrivateRedis:
    """A Redis of our own, without persistence: ``start()``, ``kill()`` (SIGKILL)
    and ``start()`` again on the same port (empty again, as after a crash)."""

    def __init__(self, executable: str, root: Path) -> None:
        self.executable = executable
        self.root = root
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.process = subprocess.Popen(
            [
                self.executable, "--port", str(self.port), "--bind", "127.0.0.1",
                "--save", "", "--appendonly", "no", "--dir", str(self.root),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )  # fmt: skip
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"redis-server exited ({self.process.returncode})")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1) as sock:
                    sock.sendall(b"PING\r\n")
                    if sock.recv(16).startswith(b"+PONG"):
                        return
            except OSError:
                time.sleep(0.02)
        raise RuntimeError("redis-server did not answer within 10 s")

    def kill(self) -> None:
        if self.process is not None:
            self.process.kill()
            self.process.wait(timeout=10)
            self.process = None


@pytest.fixture
def private_redis() -> Iterator[PrivateRedis]:
    """A running private Redis, killed afterwards."""
    executable = require_redis_server()
    root = Path(tempfile.mkdtemp(prefix="lucia-redis-"))
    server = PrivateRedis(executable, root)
    try:
        try:
            server.start()
        except (OSError, RuntimeError) as exc:
            unavailable("a private Redis", exc)
        yield server
    finally:
        server.kill()
        shutil.rmtree(root, ignore_errors=True)
