"""Type safety of the OAuth layer, proven: ``mypy --strict`` reports misspelt or wrong
provider, HTTP, flow and lucia calls, and provider hooks overridden wrongly.

``wrong_oauth_calls.py`` holds them, each on a line marked ``# wrong``; one mypy
run, its cache in a temporary folder, must report exactly those lines.
"""

from __future__ import annotations

from pathlib import Path

from tests.typecheck.marked import assert_mypy_reports_marked_lines

SNIPPETS = Path(__file__).resolve().parent / "wrong_oauth_calls.py"


def test_mypy_reports_every_wrong_oauth_call_and_nothing_else(tmp_path: Path) -> None:
    out = assert_mypy_reports_marked_lines(SNIPPETS, tmp_path / "mypy-cache", 17)
    assert "unused-coroutine" in out  # the forgotten await, reported as such
    assert "abstract" in out  # the misspelt hook leaves parse_user abstract
