"""Instruction counts of a benchmark's segments, under valgrind's callgrind.

Not a benchmark itself. A script runs itself again through ``count``, under
``valgrind --tool=callgrind --dump-before=getppid``: callgrind then writes its
counters to a file, and starts them again from zero, each time the program
enters libc's ``getppid``, which nothing else a benchmark runs calls. In that
run the script calls ``Segments.mark(label)`` after each stretch of work it
wants counted (``None`` for the stretches it does not: setup, warm-up); ``count``
pairs the dumps with the labels, in order, and gives back the instructions of
each labelled stretch. Counts are those of the main thread (``--separate-threads``),
like the thread CPU clock the timings use: a pool's or lucia's own background
threads wake on timers, which would make the figures vary from run to run.

What a mark costs (the call into ``os.getppid``, and the Python between the end
of one stretch and the next) is in every stretch alike: a script cancels it by
counting a stretch of the same shape that does nothing, and subtracting it.
Instruction counts do not depend on the machine's load, only on the code run;
the run sets ``PYTHONHASHSEED`` so dicts and sets are laid out alike each time.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ENV = "LUCIA_BENCH_CALLGRIND_SEGMENTS"  # set in the counted run: where the labels go
MARKER = "getppid"
_DUMP = re.compile(r"cg\.out\.(\d+)-01")


def active() -> bool:
    """Whether this process is the counted run that ``count`` started."""
    return ENV in os.environ


class Segments:
    """The counted run's side: marks the end of each stretch, remembers its label."""

    def __init__(self) -> None:
        self.labels: list[str | None] = []

    def mark(self, label: str | None) -> None:
        """End the current stretch, counted under ``label`` (None: not reported)."""
        self.labels.append(label)
        os.getppid()  # the dump: callgrind writes and zeroes its counters here

    def save(self) -> None:
        Path(os.environ[ENV]).write_text(json.dumps(self.labels))


def count(script: str, args: list[str], hash_seed: str = "0") -> dict[str, int]:
    """Run ``python script args`` under callgrind: the main thread's instructions
    of each labelled stretch it marked (label -> count)."""
    valgrind = shutil.which("valgrind")
    if valgrind is None:
        raise SystemExit("--instructions needs valgrind (callgrind) on the PATH")
    with tempfile.TemporaryDirectory() as tmp:
        labels_file = Path(tmp) / "labels.json"
        command = [
            valgrind,
            "--quiet",
            "--tool=callgrind",
            f"--dump-before={MARKER}",
            "--separate-threads=yes",
            f"--callgrind-out-file={tmp}/cg.out",
            sys.executable,
            script,
            *args,
        ]
        env = {**os.environ, ENV: str(labels_file), "PYTHONHASHSEED": hash_seed}
        subprocess.run(command, check=True, env=env)
        labels = json.loads(labels_file.read_text())
        totals: dict[int, int] = {}
        for path in Path(tmp).iterdir():
            match = _DUMP.fullmatch(path.name)
            if match:
                totals[int(match.group(1))] = _total(path)
    if sorted(totals) != list(range(1, len(labels) + 1)):
        # Something else called the marker: the dumps no longer match the marks.
        raise RuntimeError(f"{len(totals)} callgrind dumps for {len(labels)} marks")
    counted: dict[str, int] = {}
    for number, label in enumerate(labels, start=1):
        if label is not None:
            counted[label] = counted.get(label, 0) + totals[number]
    return counted


def _total(path: Path) -> int:
    """The instructions (Ir) a callgrind dump file totals."""
    for line in path.read_text().splitlines():
        if line.startswith(("totals:", "summary:")):
            return int(line.split()[1])
    raise RuntimeError(f"no totals in {path.name}")
