"""Type safety of the providers made from lucia's catalog, proven: a user's code that
builds, annotates and subclasses them passes ``mypy --strict``, and a wrong call is
reported (``catalog_providers.py``: exactly its lines marked ``# wrong``)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from mypy import api

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
SNIPPETS = HERE / "catalog_providers.py"


def test_mypy_reads_the_catalogs_providers_as_classes(
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
    assert len(marked) == 6, "the snippets changed: update the count"
    assert reported == marked, (out, err)
