"""Type safety, proven: ``mypy --strict`` reports wrong store and lucia calls.

``wrong_calls.py`` holds deliberately wrong calls (a misspelt adapter method, a
wrong argument type, a result used as the wrong type, a missing ``await``) made
against the real ``lucia``, each on a line marked ``# wrong``. One mypy run, its
cache in a temporary folder, must report exactly those lines.
"""

from __future__ import annotations

from pathlib import Path

from tests.typecheck.marked import assert_mypy_reports_marked_lines

SNIPPETS = Path(__file__).resolve().parent / "wrong_calls.py"


def test_mypy_reports_every_wrong_call_and_nothing_else(tmp_path: Path) -> None:
    out = assert_mypy_reports_marked_lines(SNIPPETS, tmp_path / "mypy-cache", 17)
    # The missing await is reported as such, not as some other error on its line.
    assert "unused-coroutine" in out
