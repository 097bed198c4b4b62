"""Print one module's mutation score from mutmut's results (run by scripts/mutation.sh).

Usage, inside a module's scratch folder: ``python mutation_score.py MODULE [PATTERN...]``.
Mutants listed in scripts/mutation-equivalent.txt (``<mutant name>  # why``) are
left out of the total; a listed mutant that was killed or no longer exists is
reported, since the list then needs updating.
"""

from __future__ import annotations

import fnmatch
import re
import subprocess
import sys
from collections import Counter
from pathlib import Path

EQUIVALENT = Path(__file__).with_name("mutation-equivalent.txt")
KILLED = {"killed", "timeout"}  # a mutant that hangs the tests is caught too


def _module(mutant: str) -> str:
    """``lucia.csrf`` of ``lucia.csrf.x__verify__mutmut_3`` (or of ``...xǁClassǁmethod...``)."""
    return re.split(r"\.x[_ǁ]", mutant, maxsplit=1)[0]


def main() -> int:
    module, patterns = sys.argv[1], sys.argv[2:] or ["*"]
    mutmut = Path(sys.executable).with_name("mutmut")
    listing = subprocess.run(  # noqa: S603 (mutmut of the venv this script runs in)
        [str(mutmut), "results", "--all", "true"], capture_output=True, text=True, check=True
    ).stdout
    status: dict[str, str] = {}
    for line in listing.splitlines():
        name, sep, verdict = line.strip().rpartition(": ")
        if sep and any(fnmatch.fnmatch(name, pattern) for pattern in patterns):
            status[name] = verdict
    equivalent = {
        line.split("#", 1)[0].strip()
        for line in EQUIVALENT.read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.startswith("#")
    }
    counts = Counter(status.values())
    excluded = sorted(name for name in equivalent if status.get(name) == "survived")
    # Entries of the module measured here that are no longer equivalent survivors.
    modules = {_module(name) for name in status}
    stale = sorted(
        name for name in equivalent if _module(name) in modules and status.get(name) != "survived"
    )
    total = len(status) - len(excluded)
    killed = sum(counts[verdict] for verdict in KILLED)
    survivors = sorted(
        name for name, verdict in status.items() if verdict not in KILLED and name not in excluded
    )
    score = 100 * killed / total if total else 0.0
    print(
        f"{module}: {killed}/{total} non-equivalent mutants killed ({score:.1f}%),"
        f" {len(excluded)} equivalent excluded; verdicts {dict(sorted(counts.items()))}"
    )
    for name in survivors:
        print(f"  {status[name]}: {name}")
    for name in stale:
        print(f"  listed as equivalent but {status.get(name, 'not generated')}: {name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
