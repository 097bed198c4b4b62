"""The security checklist stays proved: every item of SECURITY.md keeps a test named after it.

The project's SECURITY.md lists the 48 items of the team's checklist; each
item's tests are named ``test_sec<N>_...`` (``test_fuzz_sec<N>_...`` for the
fuzzers). Renaming or deleting an item's last test, or dropping an item from
the table, fails here.
"""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ITEMS = range(1, 49)
_TEST_NAME = re.compile(r"^\s*(?:async\s+)?def\s+test_(?:fuzz_)?sec(\d+)_", re.MULTILINE)
_TABLE_ROW = re.compile(r"^\|\s*(\d+)\s*\|", re.MULTILINE)


def _tested_items() -> dict[int, int]:
    counts: dict[int, int] = {}
    for path in (ROOT / "tests").rglob("test_*.py"):
        for match in _TEST_NAME.finditer(path.read_text(encoding="utf-8")):
            item = int(match.group(1))
            counts[item] = counts.get(item, 0) + 1
    return counts


def test_every_checklist_item_has_a_test() -> None:
    counts = _tested_items()
    missing = [item for item in ITEMS if counts.get(item, 0) == 0]
    assert missing == [], f"SECURITY items without a test_sec<N>_ test: {missing}"


def test_no_test_names_an_item_that_does_not_exist() -> None:
    unknown = sorted(item for item in _tested_items() if item not in ITEMS)
    assert unknown == []


def test_security_md_lists_every_item_once() -> None:
    text = (ROOT / "SECURITY.md").read_text(encoding="utf-8")
    rows = [int(n) for n in _TABLE_ROW.findall(text)]
    assert rows == list(ITEMS)


def test_security_md_says_how_to_report_a_vulnerability() -> None:
    text = (ROOT / "SECURITY.md").read_text(encoding="utf-8")
    assert "## Reporting a vulnerability" in text
