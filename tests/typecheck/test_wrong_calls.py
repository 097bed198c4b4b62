"""Type safety, proven: ``mypy --strict`` reports wrong store and lucia calls.

``wrong_calls.py`` holds deliberately wrong calls (a misspelt adapter method, a
wrong argument type, a result used as the wrong type, a missing ``await``) made
against the real ``lucia``, each on a line marked ``# wrong``. One mypy run, its
cache in a temporary folder, must report exactly those lines.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from mypy import api

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
SNIPPETS = HERE / "wrong_calls.py"


def _marked() -> set[int]:
    lines = SNIPPETS.read_text().splitlines()
    return {n for n, line in enumerate(lines, 1) if line.rstrip().endswith("# wrong")}


def test_mypy_reports_every_wrong_call_and_nothing_else(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(ROOT)
    rel = SNIPPETS.relative_to(ROOT).as_posix()
    out, err, _ = api.run(
        ["--strict", "--cache-dir", str(tmp_path / "mypy-cache"), "--show-error-codes", rel]
    )
    pattern = re.compile(rf"^{re.escape(rel)}:(\d+): error: (.*)$")
    reported = {int(m.group(1)) for line in out.splitlines() if (m := pattern.match(line))}
    marked = _marked()
    assert len(marked) == 17, "the snippets changed: update the count"
    assert reported == marked, (out, err)
    # The missing await is reported as such, not as some other error on its line.
    assert "unused-coroutine" in out
