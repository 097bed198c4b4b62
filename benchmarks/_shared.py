"""What the benchmark scripts share: timing with median and p99, the PostgreSQL run
schema, one in-process ASGI request.

Not a benchmark itself. Every script puts ``benchmarks/`` first on ``sys.path``
(it is the script's folder), so ``import _shared`` works from each of them.
"""

from __future__ import annotations

import os
import re
import secrets
import signal
import statistics
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

POSTGRES_URL = os.environ.get("LUCIA_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/test")
RESULTS = Path(__file__).resolve().parent / "results"
# Every schema a benchmark makes is named lucia_bench_<pid>_<hex>, so a later run
# can tell its leftovers (a process that was killed) from a live run's schema.
SCHEMA_PREFIX = "lucia_bench_"
_SCHEMA_NAME = re.compile(rf"{SCHEMA_PREFIX}(\d+)_[0-9a-f]+")


@dataclass(frozen=True)
class Stats:
    """Per-call figures of one subject, in microseconds."""

    median: float
    p99: float
    n: int

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def stats(samples_ns: list[int]) -> Stats:
    """Median and 99th percentile of per-call samples given in nanoseconds."""
    ordered = sorted(samples_ns)
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
    return Stats(statistics.median(ordered) / 1000, p99 / 1000, len(ordered))


def terminate_as_exit() -> None:
    """Turn SIGTERM into SystemExit, and SIGINT into KeyboardInterrupt even where the
    shell started us with it ignored (a background job), so ``finally`` blocks (schema
    drops) run on both."""

    def handler(signum: int, frame: object) -> None:
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, handler)
    signal.signal(signal.SIGINT, signal.default_int_handler)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def drop_orphan_schemas(conninfo: str = POSTGRES_URL) -> list[str]:
    """Drop benchmark schemas whose process is gone (one killed with SIGKILL); their names."""
    import psycopg

    dropped = []
    with psycopg.connect(conninfo, autocommit=True, connect_timeout=3) as admin:
        names = admin.execute(
            "SELECT nspname FROM pg_namespace WHERE nspname LIKE %s", (SCHEMA_PREFIX + "%",)
        ).fetchall()
        for (name,) in names:
            match = _SCHEMA_NAME.fullmatch(name)
            if match and not _alive(int(match.group(1))):
                admin.execute(f'DROP SCHEMA IF EXISTS "{name}" CASCADE')
                dropped.append(name)
    return dropped


@contextmanager
def postgres_schema(conninfo: str = POSTGRES_URL) -> Iterator[tuple[str, str]]:
    """A fresh schema for this run, dropped on the way out (also on Ctrl-C and SIGTERM).

    Yields the schema's name and a conninfo whose ``search_path`` is that schema.
    """
    import psycopg
    from psycopg.conninfo import make_conninfo

    name = f"{SCHEMA_PREFIX}{os.getpid()}_{secrets.token_hex(4)}"
    with psycopg.connect(conninfo, autocommit=True, connect_timeout=3) as admin:
        admin.execute(f'CREATE SCHEMA "{name}"')
    try:
        yield name, make_conninfo(conninfo, options=f"-c search_path={name}", application_name=name)
    finally:
        with psycopg.connect(conninfo, autocommit=True, connect_timeout=3) as admin:
            # A connection of this run left inside a transaction would block the drop.
            admin.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                " WHERE application_name = %s AND pid <> pg_backend_pid()",
                (name,),
            )
            admin.execute(f'DROP SCHEMA IF EXISTS "{name}" CASCADE')


def postgres_reachable(conninfo: str = POSTGRES_URL) -> str | None:
    """None when the server answers, else why not (one line)."""
    try:
        import psycopg

        with psycopg.connect(conninfo, connect_timeout=3) as conn:
            conn.execute("SELECT 1")
    except Exception as exc:
        return f"{type(exc).__name__}: {str(exc).strip().splitlines()[0]}"
    return None


async def asgi_get(app: Any, cookie: bytes, host: str = "app.example") -> tuple[int, bytes]:
    """GET / with ``cookie`` through the ASGI ``app``, built by hand (no test client's
    own work is timed): the status and the body."""
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "https",
        "path": "/",
        "raw_path": b"/",
        "root_path": "",
        "query_string": b"",
        "headers": [(b"host", host.encode()), (b"cookie", cookie)],
        "client": ("127.0.0.1", 50000),
        "server": (host, 443),
    }
    status = 0
    body = b""

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        nonlocal status, body
        if message["type"] == "http.response.start":
            status = message["status"]
        elif message["type"] == "http.response.body":
            body += message.get("body", b"")

    await app(scope, receive, send)
    return status, body
