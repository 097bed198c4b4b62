"""Under load, through a real server: requests/s with and without lucia, and the
event loop during a storm of password sign-ins.

1. **Requests/s.** Three uvicorn servers (one worker each, uvloop and httptools
   as ``uvicorn[standard]`` brings them) serve the same ``GET /me``: one open,
   one behind the floor (SHA-256 + one raw join, as ASGI middleware), one
   behind ``LuciaMiddleware``, on a SQLite file of 10,000 users, every request
   carrying a valid session cookie. ``wrk`` (one thread, 32 connections, a
   separate process on loopback) drives each for a fixed time, the three taking
   turns round after round: all get the same generator, connections and time,
   and a round's runs are neighbours, so their ratio (the figure to read) sees
   the same machine. Each server's CPU time per request (from /proc) is kept
   too, user and system apart: on a shared machine, where req/s follow the share
   of a core the server gets, it is the steadier figure. ``--pin`` puts the
   servers on CPU 0 and wrk on CPU 1 (fair on an otherwise idle machine).
   ``--work-us N`` adds a fourth server, open plus N µs of calibrated pure-Python
   work per request: the yardstick for what any per-request work costs here.
2. **Sign-in storm.** One uvicorn server with ``GET /ping`` and ``POST /login``
   (``AsyncLucia.authenticate``: Argon2id in a worker thread). A sequential
   client times ``/ping`` while idle, then while a second process keeps 20
   sign-ins in flight, alternating; the p99 of the pings is what to read.

Run: ``.venv/bin/python benchmarks/load.py [--seconds 2 --rounds 4 --pin --work-us 15]
[--json out.json]``.
Without ``wrk`` on the PATH, part 1 is skipped (``apt-get install wrk``).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

import _shared

from lucia.core import HASH_WORKERS

HERE = Path(__file__).resolve().parent
STORM_USERS = 20
STORM_PASSWORD = "correct horse battery staple 42"
CONNECTIONS = 32
STORM_SECONDS = 2.5


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


_SERVERS: dict[int, int] = {}


def cpu_seconds(url: str) -> tuple[float, float] | None:
    """CPU time (user, system) the server behind ``url`` has used so far; None off Linux."""
    pid = _SERVERS[int(url.rsplit(":", 1)[1].split("/", 1)[0])]
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    # utime and stime are fields 14 and 15 of /proc/<pid>/stat (counted from 1).
    tick = os.sysconf("SC_CLK_TCK")
    return int(fields[11]) / tick, int(fields[12]) / tick


def pin(cpu: int | None) -> Any:
    """A preexec_fn that pins the child to ``cpu`` (None: leave it free)."""
    if cpu is None or not hasattr(os, "sched_setaffinity"):
        return None
    return lambda: os.sched_setaffinity(0, {cpu})


@contextmanager
def uvicorn(
    mode: str,
    db: Path,
    cpu: int | None = None,
    hash_workers: int | None = None,
    work_us: float = 0.0,
) -> Iterator[str]:
    """A uvicorn server of ``asgi_app`` in ``mode``; its base URL. Stopped on the way out."""
    port = free_port()
    env = {**os.environ, "LUCIA_BENCH_MODE": mode, "LUCIA_BENCH_DB": str(db)}
    if hash_workers:
        env["LUCIA_BENCH_HASH_WORKERS"] = str(hash_workers)
    if work_us:
        env["LUCIA_BENCH_WORK_US"] = str(work_us)
    command = [
        sys.executable,
        "-m",
        "uvicorn",
        "asgi_app:create_app",
        "--factory",
        "--app-dir",
        str(HERE),
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--log-level",
        "warning",
        "--no-access-log",
    ]
    server = subprocess.Popen(command, env=env, preexec_fn=pin(cpu))
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                if server.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"uvicorn ({mode}) did not start") from None
                time.sleep(0.1)
        # The port tells which server a URL is, for cpu_seconds().
        _SERVERS[port] = server.pid
        yield f"http://127.0.0.1:{port}"
    finally:
        _SERVERS.pop(port, None)
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


def prepare_db(path: Path, users: int) -> tuple[str, list[str]]:
    """10,000-ish users with sessions (one token returned), and the storm's password users."""
    from validate_session import populate

    from lucia import Lucia
    from lucia.adapters.sqlite import SQLiteAdapter

    tokens = populate(path, users)
    adapter = SQLiteAdapter(path)
    auth = Lucia(adapter)
    emails = []
    for n in range(STORM_USERS):
        email = f"storm{n}@example.com"
        auth.create_user("email", email, password=STORM_PASSWORD)
        emails.append(email)
    adapter.close()
    return tokens[0], emails


_UNITS = {"us": 1e-3, "ms": 1.0, "s": 1e3}


def run_wrk(url: str, cookie: str, seconds: float, cpu: int | None) -> tuple[float, float]:
    """(requests/s, p99 latency in ms) of one wrk run."""
    command = [
        "wrk",
        "-t1",
        f"-c{CONNECTIONS}",
        f"-d{max(1, round(seconds))}s",  # wrk takes whole seconds
        "--latency",
        "-H",
        f"Cookie: {cookie}",
        url,
    ]
    done = subprocess.run(command, capture_output=True, text=True, check=False, preexec_fn=pin(cpu))
    if done.returncode != 0:  # said without the command line, which holds the cookie
        raise RuntimeError(f"wrk failed (exit {done.returncode}): {done.stderr.strip()[:200]}")
    out = done.stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    value, unit = re.search(r"\s99%\s+([\d.]+)(us|ms|s)", out).groups()  # type: ignore[union-attr]
    if re.search(r"Non-2xx or 3xx responses", out):
        raise RuntimeError(f"wrk saw error responses from {url}")
    return rps, float(value) * _UNITS[unit]


def requests_per_second(
    db: Path, token: str, seconds: float, rounds: int, pinned: bool, work_us: float = 0.0
) -> dict[str, Any]:
    """Open vs protected ``/me`` through uvicorn, driven by wrk, interleaved.

    With ``work_us``, a fourth server ("work": open plus that much calibrated
    pure-Python work per request) shows what any fixed per-request work costs.
    """
    # Pinning (server on CPU 0, wrk on CPU 1) is fair only on an otherwise idle
    # machine; on a shared one the pinned server waits for a busy core, so it is opt-in.
    two_cpus = pinned and (os.cpu_count() or 1) >= 2
    server_cpu, wrk_cpu = (0, 1) if two_cpus else (None, None)
    cookie = f"auth_session={token}"
    import httpx

    keys = ("rps", "p99_ms", "cpu_us_per_request", "user_us_per_request", "sys_us_per_request")
    names = ("open", "floor", "lucia", "work") if work_us else ("open", "floor", "lucia")
    results: dict[str, dict[str, list[float]]] = {name: {key: [] for key in keys} for name in names}
    with ExitStack() as stack:
        urls = {
            name: stack.enter_context(uvicorn(name, db, server_cpu, work_us=work_us)) + "/me"
            for name in names
        }
        # Each must answer as expected before anything is timed.
        for name in {"open", "work"} & set(urls):
            assert httpx.get(urls[name], headers={"cookie": cookie}).text == "anonymous"
        for name in ("floor", "lucia"):
            signed_in = httpx.get(urls[name], headers={"cookie": cookie})
            assert signed_in.status_code == 200
            assert signed_in.text not in ("anonymous", "signed out")
            assert httpx.get(urls[name]).status_code == 401
        for name in urls:  # warm-up
            run_wrk(urls[name], cookie, 1, wrk_cpu)
        for index in range(rounds):
            order = list(urls)
            order = order[index % len(order) :] + order[: index % len(order)]
            for name in order:
                before = cpu_seconds(urls[name])
                rps, p99 = run_wrk(urls[name], cookie, seconds, wrk_cpu)
                after = cpu_seconds(urls[name])
                results[name]["rps"].append(rps)
                results[name]["p99_ms"].append(p99)
                if before is not None and after is not None:
                    # What a request costs the server, whatever share of a core it got.
                    # System time is mostly the loopback write of the response (the
                    # kernel delivers it to wrk in the server's own time slice), so
                    # it is kept apart from the Python work in user time.
                    served = rps * seconds
                    user = (after[0] - before[0]) / served * 1e6
                    system = (after[1] - before[1]) / served * 1e6
                    results[name]["cpu_us_per_request"].append(user + system)
                    results[name]["user_us_per_request"].append(user)
                    results[name]["sys_us_per_request"].append(system)
    return {
        "pinned": two_cpus,
        "connections": CONNECTIONS,
        "seconds": seconds,
        "rounds": rounds,
        "work_us": work_us,
        "runs": results,
    }


async def _storm(url: str, emails: list[str], seconds: float) -> dict[str, int]:
    import httpx

    done = {"signins": 0, "failures": 0}
    stop = time.monotonic() + seconds
    limits = httpx.Limits(max_connections=len(emails))
    async with httpx.AsyncClient(base_url=url, limits=limits, timeout=30) as client:

        async def signer(email: str) -> None:
            body = json.dumps({"email": email, "password": STORM_PASSWORD})
            while time.monotonic() < stop:
                response = await client.post("/login", content=body)
                done["signins" if response.status_code == 200 else "failures"] += 1

        await asyncio.gather(*(signer(email) for email in emails))
    return done


def storm_client(url: str, emails: list[str], seconds: float) -> None:
    """The second process: keep one sign-in per email in flight for ``seconds``."""
    print(json.dumps(asyncio.run(_storm(url, emails, seconds))), flush=True)


def time_pings(client: Any, seconds: float) -> list[int]:
    """Sequential ``GET /ping`` for ``seconds``, 1 ms apart; each latency in ns."""
    samples = []
    stop = time.perf_counter() + seconds
    while time.perf_counter() < stop:
        start = time.perf_counter_ns()
        response = client.get("/ping")
        samples.append(time.perf_counter_ns() - start)
        if response.status_code != 200:
            raise RuntimeError("ping failed")
        time.sleep(0.001)
    return samples


def signin_storm(
    db: Path, emails: list[str], seconds: float, rounds: int, hash_workers: int | None = None
) -> dict[str, Any]:
    """The p99 of /ping idle and during 20 concurrent sign-ins, alternating."""
    import httpx

    idle: list[int] = []
    storm: list[int] = []
    signins = failures = 0
    storm_seconds = 0.0
    with (
        uvicorn("storm", db, hash_workers=hash_workers) as url,
        httpx.Client(base_url=url) as client,
    ):
        one = client.post(
            "/login", content=json.dumps({"email": emails[0], "password": STORM_PASSWORD})
        )
        assert one.status_code == 200, one.text
        time_pings(client, 0.5)  # warm-up
        for _ in range(rounds):
            idle.extend(time_pings(client, seconds))
            command = [sys.executable, __file__, "storm-client", url, ",".join(emails)]
            command.append(str(seconds + 1.0))
            with subprocess.Popen(command, stdout=subprocess.PIPE, text=True) as storm_process:
                time.sleep(0.5)  # let the 20 sign-ins get going
                started = time.perf_counter()
                storm.extend(time_pings(client, seconds))
                out, _ = storm_process.communicate(timeout=60)
                storm_seconds += time.perf_counter() - started
            counts = json.loads(out)
            signins += counts["signins"]
            failures += counts["failures"]
    if failures:
        raise RuntimeError(f"{failures} sign-ins failed during the storm")
    return {
        "idle": _shared.stats(idle).as_dict(),
        "storm": _shared.stats(storm).as_dict(),
        "signins": signins,
        "signins_per_second": signins / storm_seconds if storm_seconds else 0.0,
        "concurrency": len(emails),
        # None: lucia's own pool, of lucia.core.HASH_WORKERS threads.
        "hash_workers": hash_workers,
        "lucia_hash_workers": HASH_WORKERS,
        "seconds": seconds,
        "rounds": rounds,
    }


def main() -> int:
    if len(sys.argv) > 1 and sys.argv[1] == "storm-client":
        storm_client(sys.argv[2], sys.argv[3].split(","), float(sys.argv[4]))
        return 0
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--users", type=int, default=10_000)
    parser.add_argument("--seconds", type=float, default=2.0)
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--pin", action="store_true", help="server on CPU 0, wrk on CPU 1")
    parser.add_argument(
        "--work-us",
        type=float,
        default=0.0,
        help="add a server doing this many µs of calibrated pure-Python work per request",
    )
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    _shared.terminate_as_exit()
    result: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "load.sqlite3"
        token, emails = prepare_db(db, args.users)
        if shutil.which("wrk"):
            result["rps"] = requests_per_second(
                db, token, args.seconds, args.rounds, args.pin, args.work_us
            )
            runs = result["rps"]["runs"]
            for name in runs:
                cpu = runs[name]["cpu_us_per_request"]
                print(
                    f"{name:6} req/s per run: {[round(r) for r in runs[name]['rps']]};"
                    f" server CPU µs/request (user + sys): {[round(c) for c in cpu]}"
                )
        else:
            result["rps"] = None
            print("wrk not found: requests/s skipped (apt-get install wrk)")
        # lucia's own hashing pool (CPUs - 1 threads: the loop keeps a core), then a
        # pool of asyncio's default size, which is what lucia's bound is for.
        result["storm"] = signin_storm(db, emails, STORM_SECONDS, 2)
        wide = min(32, (os.cpu_count() or 1) + 4)
        result["storm_wide_pool"] = signin_storm(db, emails, STORM_SECONDS, 2, hash_workers=wide)
        for key in ("storm", "storm_wide_pool"):
            storm = result[key]
            print(
                f"{key}: /ping idle median {storm['idle']['median']:.0f} µs"
                f" p99 {storm['idle']['p99']:.0f} µs; storm median"
                f" {storm['storm']['median']:.0f} µs p99 {storm['storm']['p99']:.0f} µs;"
                f" {storm['signins_per_second']:.1f} sign-ins/s"
            )
    if args.json:
        args.json.write_text(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
