"""Hypothesis settings for the fuzz tests, and the count of examples they ran.

Two profiles: ``ci`` (the default here) runs each test's fixed number of examples,
derandomized, so every run tries the same inputs and a failure reproduces; set
``LUCIA_FUZZ_EXAMPLES=<n>`` to run ``n`` random examples per test instead
(``lucia-fuzz-long``), for a longer hunt by hand. ``ci`` keeps Hypothesis's own
``ci`` profile and adds only what every fuzz test needs, so re-registering it
changes nothing for the rest of the suite; the example counts live on each test
(``tests.fuzz.common.fuzz``), never in the global profile.

Each fuzz test's examples are counted from Hypothesis's run statistics and
reported in the terminal summary, for quoting.
"""

from __future__ import annotations

import os
from collections.abc import Generator
from typing import Any

import pytest
from hypothesis import HealthCheck, Phase, settings
from hypothesis.statistics import collector

_SUPPRESSED = [HealthCheck.too_slow, HealthCheck.function_scoped_fixture]

settings.register_profile(
    "ci",
    settings.get_profile("ci"),
    derandomize=True,
    deadline=None,
    database=None,
    print_blob=True,
    suppress_health_check=_SUPPRESSED,
)
settings.register_profile(
    "lucia-fuzz-long",
    settings.get_profile("ci"),
    derandomize=False,
    max_examples=int(os.environ.get("LUCIA_FUZZ_EXAMPLES") or 1000),
)

_EXAMPLES_PROPERTY = "hypothesis_examples"
_totals: dict[str, int] = {"examples": 0, "tests": 0}


@pytest.hookimpl(wrapper=True, trylast=True)
def pytest_runtest_call(item: pytest.Item) -> Generator[None, Any, Any]:
    """Count the valid test cases Hypothesis ran for this test, from its run statistics.

    ``trylast``: inside Hypothesis's own pytest hook, whose statistics callback
    (``--hypothesis-show-statistics``) is called on too. Statistics cost nothing
    per example, unlike observability callbacks (which tripled the run time).
    """
    previous = collector.value
    counted = [0]

    def note(stats: Any) -> None:
        for phase in Phase:
            cases = stats.get(f"{phase.name}-phase", {}).get("test-cases", [])
            counted[0] += sum(1 for case in cases if case.get("status") in ("valid", "interesting"))
        if previous is not None:
            previous(stats)

    with collector.with_value(note):
        try:
            return (yield)
        finally:
            if counted[0]:
                item.user_properties.append((_EXAMPLES_PROPERTY, counted[0]))


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    # From the report, so the count also arrives from pytest-xdist workers.
    if report.when != "call":
        return
    for name, value in report.user_properties:
        if name == _EXAMPLES_PROPERTY:
            _totals["examples"] += int(value)
            _totals["tests"] += 1


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if _totals["tests"]:
        terminalreporter.write_sep(
            "-",
            f"lucia fuzz: {_totals['examples']} Hypothesis examples in {_totals['tests']} tests",
        )
