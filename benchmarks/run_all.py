"""`make bench`: every benchmark in one run, then results/results.md and results.png.

Each part runs in its own process (Django is configured once per process, and
a crash or Ctrl-C in one part still drops its PostgreSQL schema):

1. ``competitors.py --db sqlite`` and ``--db postgres``: a credential turned
   into a user by lucia, the floor and each competitor;
2. ``load.py``: requests/s through uvicorn with and without lucia, and the
   event loop during a sign-in storm;
3. ``profile_validate.py``: where lucia's sync SQLite validation spends its time.

The raw figures go to ``results/raw.json``; the table and the plot are made
from them. ``--only`` runs some parts (the others are left out of the table).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

import _shared

HERE = Path(__file__).resolve().parent
PARTS = ("sqlite", "postgres", "load", "profile")
PACKAGES = (
    "lucia-auth",
    "Django",
    "fastapi-users",
    "fastapi-users-db-sqlalchemy",
    "SQLAlchemy",
    "aiosqlite",
    "psycopg",
    "Flask",
    "Flask-Login",
    "starlette",
    "itsdangerous",
    "uvicorn",
    "uvloop",
    "httptools",
    "matplotlib",
    "pyinstrument",
)

# The rows of the per-request table: (subject, how it is measured, the lucia row it is set against).
FUNCTION_ROWS = [
    ("floor", "function: sha256 + raw PK join (sync driver)", None),
    ("floor async", "function: the same from a coroutine", None),
    ("lucia sync", "function: Lucia.validate_session", None),
    ("lucia async", "function: AsyncLucia.validate_session", None),
    ("fastapi-users read_token", "function: DatabaseStrategy.read_token", "lucia async"),
]
FRAMEWORKS = [
    ("Django", "django bare", "django auth", "django + lucia", "WSGI call"),
    ("Flask", "flask bare", "flask-login", "flask + lucia", "WSGI call"),
    ("Starlette", "starlette bare", "starlette signed cookie", "starlette + lucia", "ASGI call"),
]
LABELS = {
    "django auth": "Django session + auth middleware",
    "django + lucia": "lucia's Django middleware",
    "flask-login": "Flask-Login login_required + user_loader",
    "flask + lucia": "lucia's Flask extension",
    "starlette signed cookie": "Starlette SessionMiddleware + user by PK",
    "starlette + lucia": "lucia's LuciaMiddleware",
}


def machine() -> dict[str, Any]:
    """What the figures were measured on."""
    cpu = platform.processor() or ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    versions = {}
    for name in PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "-"
    import sqlite3

    versions["SQLite"] = sqlite3.sqlite_version
    try:
        wrk = subprocess.run(["wrk", "--version"], capture_output=True, text=True, check=False)
        versions["wrk"] = (wrk.stdout or wrk.stderr).split()[1]
    except (OSError, IndexError):
        versions["wrk"] = "-"
    try:
        import psycopg

        with psycopg.connect(_shared.POSTGRES_URL, connect_timeout=3) as conn:
            row = conn.execute("SHOW server_version").fetchone()
            versions["PostgreSQL"] = row[0].split()[0] if row else "-"
    except Exception:
        versions["PostgreSQL"] = "-"
    return {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "platform": platform.platform(),
        "cpu": cpu,
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "versions": versions,
    }


def run_part(part: str, out: Path) -> Any:
    """Run one part in its own process; its JSON, or None when it failed (said on stderr)."""
    if part in ("sqlite", "postgres"):
        command = [sys.executable, str(HERE / "competitors.py"), "--db", part, "--json", str(out)]
    elif part == "load":
        command = [sys.executable, str(HERE / "load.py"), "--json", str(out)]
    else:
        command = [sys.executable, str(HERE / "profile_validate.py"), "--calls", "50000"]
        command += ["--json", str(out)]
    print(f"== {part}", flush=True)
    started = time.perf_counter()
    done = subprocess.run(command, check=False)
    print(f"== {part}: {time.perf_counter() - started:.0f} s", flush=True)
    if done.returncode != 0 or not out.exists():
        print(f"!! {part} failed (exit {done.returncode}); left out of the table", file=sys.stderr)
        return None
    return json.loads(out.read_text())


# The table


def _us(value: float) -> str:
    return f"{value:,.0f}" if value >= 100 else f"{value:.1f}"


def _ratio(value: float) -> str:
    return f"{value:.1f}x" if value >= 10 else f"{value:.2f}x"


def per_round(
    subjects: dict[str, Any], names: tuple[str, ...], fn: Callable[..., float | None]
) -> float:
    """``fn`` of the named subjects' times (µs), as the median over rounds.

    Subjects are timed round by round, each round within a second or so, so a
    burst of other work on the machine moves both sides of one round's ratio
    alike. ``fn`` returns None for a round it cannot judge (a net at or below
    zero). Results without rounds fall back to ``fn`` of the overall medians.
    """
    series = [subjects[name].get("round_medians") for name in names]
    if all(series) and len({len(values) for values in series}) == 1:
        judged = [fn(*values) for values in zip(*series, strict=True)]
        kept = [value for value in judged if value is not None]
        if kept:
            return statistics.median(kept)
    overall = fn(*(subjects[name]["median"] for name in names))
    return overall if overall is not None else float("nan")


def _over(x: float, y: float) -> float | None:
    return x / y if y > 0 else None


def paired(subjects: dict[str, Any], a: str, b: str, minus: str | None = None) -> float:
    """``a`` over ``b``, each less ``minus`` when given (nets): per round, then the median."""
    if minus is None:
        return per_round(subjects, (a, b), _over)
    return per_round(subjects, (a, b, minus), lambda x, y, m: _over(x - m, y - m))


def paired_net_floor(subjects: dict[str, Any], name: str, bare: str, floor: str = "floor") -> float:
    """``name`` less ``bare`` (its net), over ``floor``: per round, then the median."""
    return per_round(subjects, (name, bare, floor), lambda x, m, f: _over(x - m, f))


def per_request_tables(raw: dict[str, Any]) -> list[str]:
    dbs = [db for db in ("sqlite", "postgres") if raw.get(db)]
    if not dbs:
        return ["(the per-request benchmark did not run)"]
    names = {"sqlite": "SQLite", "postgres": "PostgreSQL"}
    lines = [
        "### Turning a credential into a user (µs per call)",
        "",
        'Each call timed alone; median and p99 over all rounds. "vs floor" divides by'
        " the floor of the same database in the same run (the async rows by the async"
        ' floor); "competitor ÷ lucia" divides the competitor by lucia doing the same job'
        " the same way. Both are medians of per-round ratios (each round's medians).",
        "",
    ]
    head = "| subject | measured as |"
    rule = "|---|---|"
    for db in dbs:
        head += f" {names[db]} median | p99 | vs floor |"
        rule += "---:|---:|---:|"
    head += " competitor ÷ lucia |"
    rule += "---|"
    lines += [head, rule]
    for name, how, against in FUNCTION_ROWS:
        row = f"| {name} | {how} |"
        versus = []
        for db in dbs:
            subjects = raw[db]["subjects"]
            figure = subjects[name]
            base = "floor async" if "async" in name or against else "floor"
            row += f" {_us(figure['median'])} | {_us(figure['p99'])} |"
            row += f" {_ratio(paired(subjects, name, base))} |"
            if against:
                versus.append(f"{names[db]} {_ratio(paired(subjects, name, against))}")
        row += f" {', '.join(versus)} |"
        lines.append(row)
    lines += [
        "",
        "In-process requests through each framework (a GET built by hand and passed to"
        ' its WSGI/ASGI callable, no network). "net" subtracts the same framework\'s'
        " bare request (no middleware, same cookie) measured in the same run: the cost"
        ' of authentication alone; "net vs floor" sets it against the sync floor. The'
        " ratios are medians of per-round ratios.",
        "",
    ]
    head = "| framework | subject |"
    rule = "|---|---|"
    for db in dbs:
        head += f" {names[db]} median | p99 | net | net vs floor |"
        rule += "---:|---:|---:|---:|"
    head += " competitor ÷ lucia (net) |"
    rule += "---|"
    lines += [head, rule]
    for framework, bare, theirs, ours, how in FRAMEWORKS:
        for name in (bare, theirs, ours):
            label = f"bare ({how}, no middleware)" if name == bare else LABELS[name]
            row = f"| {framework} | {label} |"
            versus = []
            for db in dbs:
                subjects = raw[db]["subjects"]
                figure = subjects[name]
                net = figure["median"] - subjects[bare]["median"]
                row += f" {_us(figure['median'])} | {_us(figure['p99'])} |"
                if name == bare:
                    row += " | |"
                else:
                    vs_floor = paired_net_floor(subjects, name, bare)
                    row += f" {_us(net)} | {_ratio(vs_floor)} |"
                if name == theirs:
                    versus.append(f"{names[db]} {_ratio(paired(subjects, theirs, ours, bare))}")
            row += f" {', '.join(versus)} |"
            lines.append(row)
    drivers = ", ".join(f"{names[db]}: {raw[db]['driver']}" for db in dbs)
    samples = ", ".join(
        f"{names[db]} {min(s['n'] for s in raw[db]['subjects'].values()):,} to"
        f" {max(s['n'] for s in raw[db]['subjects'].values()):,}"
        for db in dbs
    )
    lines += [
        "",
        f"{raw[dbs[0]]['users']:,} users on each stack; drivers {drivers};"
        f" calls timed per subject: {samples}.",
    ]
    return lines


def paired_share(runs: dict[str, Any], name: str, key: str = "rps") -> float | None:
    """Median over rounds of ``name``'s share of the open server: req/s ratio, or for
    ``key="cpu_us_per_request"`` open CPU per request / ``name``'s (the req/s it would
    keep on a core of its own). None when the figures are missing."""
    theirs = runs.get(name, {}).get(key) or []
    opened = runs["open"].get(key) or []
    if not theirs or len(theirs) != len(opened):
        return None
    pairs = zip(theirs, opened, strict=True)
    if key == "rps":
        return float(statistics.median(t / o for t, o in pairs))
    return float(statistics.median(o / t for t, o in pairs))


def load_tables(load: dict[str, Any] | None) -> list[str]:
    if not load:
        return ["(the load benchmark did not run)"]

    lines = []
    rps = load.get("rps")
    if rps:
        runs = rps["runs"]
        pinned = "servers pinned to CPU 0, wrk to CPU 1" if rps["pinned"] else "not pinned"
        lines += [
            "### Requests/s through uvicorn",
            "",
            f"`GET /me`, one uvicorn worker per server (uvloop, httptools), SQLite; wrk in a"
            f" second process, 1 thread, {rps['connections']} connections, {rps['seconds']:g} s"
            f' per run, {rps["rounds"]} rounds, the servers taking turns ({pinned}). "vs open"'
            " is the median of each round's ratio (a round's runs are neighbours); \"by CPU\""
            " divides the open server's CPU time per request by this one's, which is what the"
            " req/s ratio would be with a core to itself.",
            "",
            "| endpoint | req/s (median) | runs | p99 latency | vs open | server CPU per"
            " request | vs open by CPU |",
            "|---|---:|---|---:|---:|---:|---:|",
        ]
        for name, label in (
            ("open", "open (no middleware)"),
            ("floor", "floor (sha256 + raw join as ASGI middleware)"),
            ("lucia", "protected (LuciaMiddleware)"),
        ):
            if name not in runs:
                continue
            figures = runs[name]
            each = ", ".join(f"{r:,.0f}" for r in figures["rps"])
            p99 = statistics.median(figures["p99_ms"])
            share = paired_share(runs, name) or 0.0
            by_cpu = paired_share(runs, name, "cpu_us_per_request")
            cpu = figures.get("cpu_us_per_request") or []
            cpu_text = f"{statistics.median(cpu):.0f} µs" if cpu else "-"
            lines.append(
                f"| {label} | {statistics.median(figures['rps']):,.0f} | {each} | {p99:.2f} ms |"
                f" {share:.0%} | {cpu_text} | {'-' if by_cpu is None else f'{by_cpu:.0%}'} |"
            )
        lines.append("")
    else:
        lines += ["(requests/s skipped: wrk not installed)", ""]
    storm = load["storm"]
    lines += [
        "### The event loop during a sign-in storm",
        "",
        f"`GET /ping` timed one request at a time (1 ms apart) from the benchmark process,"
        f" idle and while a second process keeps {storm['concurrency']} password sign-ins"
        f" (`AsyncLucia.authenticate`, Argon2id in a worker thread) in flight;"
        f" {storm['rounds']} rounds of {storm['seconds']:g} s each, alternating. Twice: with"
        " lucia's own hashing pool (CPUs - 1 threads, at least 1: the goal's row), then with"
        " a pool of asyncio's default size (min(32, CPUs + 4) threads) passed as"
        " `hash_executor`, for comparison.",
        "",
        "| hashing threads | /ping | median | p99 | samples | p99 vs idle | sign-ins/s |",
        "|---|---|---:|---:|---:|---:|---:|",
    ]
    for key in ("storm", "storm_wide_pool"):
        if not load.get(key):
            continue
        run = load[key]
        threads = (
            f"lucia's pool ({run.get('lucia_hash_workers', '?')})"
            if not run["hash_workers"]
            else f"wide pool ({run['hash_workers']})"
        )
        for name in ("idle", "storm"):
            figure = run[name]
            label = "idle" if name == "idle" else f"during {run['concurrency']} sign-ins"
            rate = f"{run['signins_per_second']:.1f}" if name == "storm" else ""
            lines.append(
                f"| {threads} | {label} | {_us(figure['median'])} µs | {_us(figure['p99'])} µs |"
                f" {figure['n']:,} | {figure['p99'] / run['idle']['p99']:.2f}x | {rate} |"
            )
    lines.append("")
    return lines


def goals(raw: dict[str, Any]) -> list[str]:
    """The issue's goals, each with its figure and whether this run met it."""

    out = ["### Goals (this run)", "", "| goal | figure | met |", "|---|---|---|"]

    def add(goal: str, figure: str, met: bool) -> None:
        out.append(f"| {goal} | {figure} | {'yes' if met else '**no**'} |")

    for db, limit in (("sqlite", 1.5), ("postgres", 1.2)):
        if raw.get(db):
            s = raw[db]["subjects"]
            ratio = paired(s, "lucia sync", "floor")
            aratio = paired(s, "lucia async", "floor async")
            add(
                f"lucia within {limit}x of the floor on {db}",
                f"sync {ratio:.2f}x, async {aratio:.2f}x (vs async floor); met when both are",
                ratio <= limit and aratio <= limit,
            )
    for db in ("sqlite", "postgres"):
        if not raw.get(db):
            continue
        s = raw[db]["subjects"]
        fapi = paired(s, "fastapi-users read_token", "lucia async")
        add(
            f"10x faster than FastAPI-Users ({db})",
            f"{_ratio(fapi)} (function vs function)",
            fapi >= 10,
        )
        for framework, bare, theirs, ours, _ in FRAMEWORKS:
            net = s[theirs]["median"] - s[bare]["median"]
            lucia_net = s[ours]["median"] - s[bare]["median"]
            if framework == "Starlette":
                ratio = paired(s, ours, theirs, bare)
                add(
                    f"no slower than Starlette's signed cookie ({db})",
                    f"lucia net {_us(lucia_net)} µs vs {_us(net)} µs ({ratio:.2f}x)",
                    ratio <= 1,
                )
            else:
                ratio = paired(s, theirs, ours, bare)
                versus_function = paired_net_floor(s, theirs, bare, "lucia sync")
                add(
                    f"10x faster than {theirs} ({db})",
                    f"{_ratio(ratio)} (net, lucia's {framework} integration);"
                    f" {_ratio(versus_function)} vs Lucia.validate_session",
                    ratio >= 10,
                )
    load = raw.get("load")
    if load and load.get("rps"):
        runs = load["rps"]["runs"]
        share = paired_share(runs, "lucia") or 0.0
        by_cpu = paired_share(runs, "lucia", "cpu_us_per_request")
        floor = paired_share(runs, "floor")
        text = f"{share:.0%}"
        if by_cpu is not None:
            text += f"; {by_cpu:.0%} by server CPU per request"
        if floor is not None:
            text += f"; the floor keeps {floor:.0%}"
        # Met only when both agree: on a shared machine one req/s run can be lucky.
        met = share >= 0.85 and (by_cpu is None or by_cpu >= 0.85)
        add("protected endpoint keeps >= 85% of req/s (req/s and by CPU)", text, met)
    if load:
        storm = load["storm"]
        ratio = storm["storm"]["p99"] / storm["idle"]["p99"]
        add("/ping p99 during the storm <= 2x idle", f"{ratio:.2f}x", ratio <= 2)
        wide = load.get("storm_wide_pool")
        if wide:
            ratio = wide["storm"]["p99"] / wide["idle"]["p99"]
            add(
                f"(for comparison, not a goal: a pool of {wide['hash_workers']} hashing threads)",
                f"{ratio:.2f}x",
                ratio <= 2,
            )
    return out


def render_markdown(raw: dict[str, Any]) -> str:
    info = raw["machine"]
    versions = ", ".join(f"{k} {v}" for k, v in info["versions"].items())
    load = raw["loadavg"]
    lines = [
        "# Benchmark results",
        "",
        f"Measured {info['date']} by `make bench` ({raw['wall_seconds']:.0f} s) on {info['cpu']},"
        f" {info['cpus']} CPUs, {info['platform']}, Python {info['python']}.",
        "",
        f"Versions: {versions}.",
        "",
        f"Load average (1 min) at the start {load['start']:.1f}, at the end {load['end']:.1f}:"
        " other work on a shared machine moves every figure; the ratios, measured"
        " side by side and interleaved, move least.",
        "",
        *goals(raw),
        "",
        *per_request_tables(raw),
        "",
        *load_tables(raw.get("load")),
    ]
    profile = raw.get("profile")
    if profile:
        lines += [
            "### Where Lucia.validate_session (sync, SQLite) spends its time",
            "",
            f"Without a profiler: {profile['lucia_us']:.2f} µs per call, floor"
            f" {profile['floor_us']:.2f} µs ({profile['lucia_us'] / profile['floor_us']:.2f}x)."
            " cProfile, own time per function (its overhead inflates small functions:"
            " read the shares as weights). The call tree is in `profile.txt`.",
            "",
            "| share | calls | function |",
            "|---:|---:|---|",
        ]
        for entry in profile["functions"][:12]:
            lines.append(f"| {entry['share']:.1%} | {entry['calls']:,} | `{entry['function']}` |")
    return "\n".join(lines) + "\n"


def render_plot(raw: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")

    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 3, figsize=(17, 6), gridspec_kw={"width_ratios": [3, 1, 1]})
    ax = axes[0]
    rows: list[tuple[str, str | None]] = [
        ("floor", None),
        ("lucia sync", None),
        ("lucia async", None),
        ("fastapi-users read_token", None),
    ]
    for _, bare, theirs, ours, _ in FRAMEWORKS:
        rows += [(theirs, bare), (ours, bare)]
    dbs = [db for db in ("sqlite", "postgres") if raw.get(db)]
    height = 0.8 / max(1, len(dbs))
    for k, db in enumerate(dbs):
        subjects = raw[db]["subjects"]
        values = [
            subjects[name]["median"] - (subjects[bare]["median"] if bare else 0)
            for name, bare in rows
        ]
        ys = [i + k * height for i in range(len(rows))]
        color = "tab:blue" if db == "sqlite" else "tab:orange"
        ax.barh(ys, [max(v, 0.1) for v in values], height=height, label=db, color=color)
        for y, v in zip(ys, values, strict=True):
            ax.text(max(v, 0.1) * 1.1, y, _us(v), va="center", fontsize=7)
    ax.set_yticks([i + height * (len(dbs) - 1) / 2 for i in range(len(rows))])
    ax.set_yticklabels([f"{n} (net)" if b else n for n, b in rows], fontsize=8)
    ax.invert_yaxis()
    ax.set_xscale("log")
    ax.set_xlabel("µs per call, median (log scale); framework rows net of the bare request")
    ax.set_title("Credential to user")
    if dbs:
        ax.legend()

    load = raw.get("load") or {}
    ax = axes[1]
    if load.get("rps"):
        runs = load["rps"]["runs"]
        names = [n for n in ("floor", "lucia") if n in runs]
        xs = range(len(names))
        by_rps = [100 * (paired_share(runs, n) or 0) for n in names]
        by_cpu = [100 * (paired_share(runs, n, "cpu_us_per_request") or 0) for n in names]
        ax.bar([x - 0.2 for x in xs], by_rps, width=0.4, label="req/s", color="tab:gray")
        ax.bar([x + 0.2 for x in xs], by_cpu, width=0.4, label="by CPU", color="tab:green")
        for x, a, b in zip(xs, by_rps, by_cpu, strict=True):
            ax.text(x - 0.2, a, f"{a:.0f}%", ha="center", va="bottom", fontsize=8)
            ax.text(x + 0.2, b, f"{b:.0f}%", ha="center", va="bottom", fontsize=8)
        ax.axhline(85, color="tab:red", linestyle="--", linewidth=1)
        ax.set_xticks(list(xs))
        ax.set_xticklabels(names)
        ax.set_ylabel("% of the open endpoint (goal 85%, dashed)")
        ax.set_title("uvicorn, protected vs open")
        ax.legend(fontsize=8)
    else:
        ax.set_title("uvicorn req/s: not run")
    ax = axes[2]
    bars, labels = [], []
    for key, name in (("storm", "lucia's pool"), ("storm_wide_pool", "wide pool")):
        if load.get(key):
            bars += [load[key]["idle"]["p99"] / 1000, load[key]["storm"]["p99"] / 1000]
            labels += [f"idle\n{name}", f"storm\n{name}"]
    if bars:
        colors = ["tab:gray", "tab:red"] * (len(bars) // 2)
        ax.bar(labels, bars, color=colors)
        for x, v in enumerate(bars):
            ax.text(x, v, f"{v:.1f}", ha="center", va="bottom", fontsize=8)
        ax.set_title("/ping p99 (ms), 20 sign-ins")
        ax.tick_params(axis="x", labelsize=8)
    fig.suptitle(f"lucia benchmarks, {raw['machine']['date']}, {raw['machine']['cpus']} CPUs")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--only", default=",".join(PARTS), help=f"comma-separated: {PARTS}")
    parser.add_argument(
        "--render", action="store_true", help="only redo the table and plot from raw.json"
    )
    args = parser.parse_args()
    if args.render:
        saved = json.loads((_shared.RESULTS / "raw.json").read_text())
        (_shared.RESULTS / "results.md").write_text(render_markdown(saved))
        render_plot(saved, _shared.RESULTS / "results.png")
        return 0
    parts = [p for p in args.only.split(",") if p]
    _shared.terminate_as_exit()
    _shared.RESULTS.mkdir(exist_ok=True)
    started = time.perf_counter()
    raw: dict[str, Any] = {"loadavg": {"start": os.getloadavg()[0]}}
    if "postgres" in parts:
        why = _shared.postgres_reachable()
        if why:
            print(f"PostgreSQL not reachable ({why}): its figures are skipped", file=sys.stderr)
            parts.remove("postgres")
        else:
            for name in _shared.drop_orphan_schemas():
                print(f"dropped {name}, left by a killed run")
    raw["machine"] = machine()
    scratch = _shared.RESULTS / ".parts"
    scratch.mkdir(exist_ok=True)
    try:
        for part in parts:
            out = scratch / f"{part}.json"
            out.unlink(missing_ok=True)
            raw[part] = run_part(part, out)
    finally:
        for leftover in scratch.glob("*.json"):
            leftover.unlink()
        scratch.rmdir()
    raw["loadavg"]["end"] = os.getloadavg()[0]
    raw["wall_seconds"] = time.perf_counter() - started
    (_shared.RESULTS / "raw.json").write_text(json.dumps(raw, indent=2))
    (_shared.RESULTS / "results.md").write_text(render_markdown(raw))
    render_plot(raw, _shared.RESULTS / "results.png")
    print((_shared.RESULTS / "results.md").read_text())
    print(f"wrote {_shared.RESULTS / 'results.md'} and results.png in {raw['wall_seconds']:.0f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
