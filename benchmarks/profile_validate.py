"""Where does ``Lucia.validate_session`` (sync, SQLite) spend its time, next to the floor?

Two views of the same loop over random tokens of a 10,000-user file:

- pyinstrument (statistical, 0.1 ms interval): the call tree with the share of
  time per frame, written to ``results/profile.txt``;
- cProfile (deterministic, counts every call): per function, its own time per
  validation, written to ``results/profile_functions.txt``. cProfile's own
  overhead inflates tiny functions, so read its columns as relative weights and
  the figures without a profiler (``validate_session.py``) as the truth.

Run: ``.venv/bin/python benchmarks/profile_validate.py [--calls 50000]``.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import json
import pstats
import random
import tempfile
import time
from pathlib import Path
from typing import Any

import _shared
from pyinstrument import Profiler
from validate_session import floor_validator, populate

from lucia import Lucia
from lucia.adapters.sqlite import SQLiteAdapter

CPROFILE_CALLS = 25_000


def timed(fn: Any, tokens: list[str]) -> float:
    start = time.perf_counter()
    for token in tokens:
        fn(token)
    return (time.perf_counter() - start) / len(tokens) * 1e6


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--users", type=int, default=10_000)
    parser.add_argument("--calls", type=int, default=50_000)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    _shared.RESULTS.mkdir(exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "profile.sqlite3"
        tokens = populate(path, args.users)
        adapter = SQLiteAdapter(path)
        auth = Lucia(adapter)
        floor = floor_validator(path)
        batch = random.choices(tokens, k=args.calls)
        validate = auth.validate_session
        assert all(validate(t) is not None for t in batch[:100])

        # Without a profiler first: the figures the profile is read against.
        plain: dict[str, list[float]] = {"floor": [], "lucia": []}
        for _ in range(5):
            plain["floor"].append(timed(floor, batch[:10_000]))
            plain["lucia"].append(timed(validate, batch[:10_000]))
        floor_us = sorted(plain["floor"])[2]
        lucia_us = sorted(plain["lucia"])[2]

        profiler = Profiler(interval=0.0001)
        profiler.start()
        for token in batch:
            validate(token)
        profiler.stop()
        tree = profiler.output_text(unicode=True, color=False, show_all=True)

        profile = cProfile.Profile()
        profile.enable()
        for token in batch[:CPROFILE_CALLS]:
            validate(token)
        profile.disable()
        adapter.close()

    stream = io.StringIO()
    stats = pstats.Stats(profile, stream=stream)
    stats.sort_stats("tottime").print_stats(25)
    header = (
        f"Lucia.validate_session, sync SQLite, {args.users:,} users."
        f" Without a profiler: {lucia_us:.2f} µs/call; floor {floor_us:.2f} µs/call"
        f" ({lucia_us / floor_us:.2f}x).\n"
    )
    (_shared.RESULTS / "profile.txt").write_text(header + tree)
    (_shared.RESULTS / "profile_functions.txt").write_text(
        header
        + f"cProfile over {CPROFILE_CALLS:,} validations, sorted by own time:\n"
        + stream.getvalue()
    )
    functions = []
    raw: dict[Any, Any] = stats.stats  # type: ignore[attr-defined]
    for (filename, line, name), (_cc, calls, own, _cum, _callers) in raw.items():
        where = f"{Path(filename).name}:{line}({name})" if line else name
        functions.append({"function": where, "calls": calls, "own_us_per_validation": own})
    total_own = sum(f["own_us_per_validation"] for f in functions)
    for entry in functions:
        entry["share"] = entry["own_us_per_validation"] / total_own
        entry["own_us_per_validation"] = entry["own_us_per_validation"] / CPROFILE_CALLS * 1e6
    functions.sort(key=lambda f: -f["share"])
    summary = {"floor_us": floor_us, "lucia_us": lucia_us, "functions": functions[:15]}
    if args.json:
        args.json.write_text(json.dumps(summary, indent=2))
    print(header.strip())
    for entry in functions[:15]:
        print(f"  {entry['share']:6.1%}  {entry['calls']:>8}  {entry['function']}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
