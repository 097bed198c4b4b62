"""Type safety of the providers made from lucia's catalog, proven: a user's code that
builds, annotates and subclasses them passes ``mypy --strict``, and a wrong call is
reported (``catalog_providers.py``: exactly its lines marked ``# wrong``)."""

from __future__ import annotations

from pathlib import Path

from tests.typecheck.marked import assert_mypy_reports_marked_lines

SNIPPETS = Path(__file__).resolve().parent / "catalog_providers.py"


def test_mypy_reads_the_catalogs_providers_as_classes(tmp_path: Path) -> None:
    assert_mypy_reports_marked_lines(SNIPPETS, tmp_path / "mypy-cache", 6)
