"""Type safety of the OAuth layer, proven: ``mypy --strict`` reports misspelt or wrong
provider, HTTP, flow and lucia calls, and provider hooks overridden wrongly.

``wrong_oauth_calls.py`` holds them, each on a line marked ``# wrong``; one mypy
run, its cache in a temporary folder, must report exactly those lines.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from mypy import api

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
SNIPPETS = HERE / "wrong_oauth_calls.py"


def test_mypy_reports_every_wrong_oauth_call_and_nothing_else(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(ROOT)
    rel = SNIPPETS.relative_to(ROOT).as_posix()
    out, err, _ = api.run(
        ["--strict", "--cache-dir", str(tmp_path / "mypy-cache"), "--show-error-codes", rel]
    )
    pattern = re.compile(rf"^{re.escape(rel)}:(\d+): error: (.*)$")
    reported = {int(m.group(1)) for line in out.splitlines() if (m := pattern.match(line))}
    lines = SNIPPETS.read_text().splitlines()
    marked = {n for n, line in enumerate(lines, 1) if line.rstrip().endswith("# wrong")}
    assert len(marked) == 17, "the snippets changed: update the count"
    assert reported == marked, (out, err)
    assert "unused-coroutine" in out  # the forgotten await, reported as such
    assert "abstract" in out  # the misspelt hook leaves parse_user abstract
