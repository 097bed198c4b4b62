"""examples/django_project: its own test suite, run with ``manage.py test`` in a subprocess.

A subprocess because Django is configured once per process, and this pytest
run has already configured it for tests/integrations' project.
"""

from __future__ import annotations

import os
import subprocess
import sys

from tests.examples.conftest import EXAMPLES

PROJECT = EXAMPLES / "django_project"


def test_django_example_project_suite_passes() -> None:
    env = {
        k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "LUCIA_", "GITHUB_"))
    }
    result = subprocess.run(
        [sys.executable, "manage.py", "test", "--noinput", "-v", "2"],
        cwd=PROJECT,
        env=env,
        capture_output=True,
        text=True,
        timeout=100,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-4000:]
    # The four tests of mysite/tests.py ran: a suite that found nothing must not pass.
    assert "Ran 4 tests" in result.stderr, result.stderr[-4000:]
    assert "OK" in result.stderr
