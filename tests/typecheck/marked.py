"""One mypy run over a file of snippets, checked against its lines marked ``# wrong``."""

from __future__ import annotations

import os
import re
from pathlib import Path

from mypy import api

ROOT = Path(__file__).resolve().parent.parent.parent


def assert_mypy_reports_marked_lines(snippets: Path, cache_dir: Path, count: int) -> str:
    """Run ``mypy --strict`` on ``snippets`` from the repository root (its cache in
    ``cache_dir``) and assert that it reports errors on exactly the lines ending in
    ``# wrong``, of which there must be ``count``. mypy's output, for further checks."""
    rel = snippets.relative_to(ROOT).as_posix()
    here = Path.cwd()
    os.chdir(ROOT)
    try:
        out, err, _ = api.run(
            ["--strict", "--cache-dir", str(cache_dir), "--show-error-codes", rel]
        )
    finally:
        os.chdir(here)
    pattern = re.compile(rf"^{re.escape(rel)}:(\d+): error: (.*)$")
    reported = {int(m.group(1)) for line in out.splitlines() if (m := pattern.match(line))}
    lines = snippets.read_text().splitlines()
    marked = {n for n, line in enumerate(lines, 1) if line.rstrip().endswith("# wrong")}
    assert len(marked) == count, "the snippets changed: update the count"
    assert reported == marked, (out, err)
    return out
