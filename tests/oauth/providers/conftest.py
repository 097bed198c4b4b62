"""What every provider's test file shares as fixtures."""

from __future__ import annotations

import pytest


@pytest.fixture(params=["sync", "async"])
def mode(request: pytest.FixtureRequest) -> str:
    """Each sign-in through ``SignInFlow`` runs twice: with ``Lucia`` and ``AsyncLucia``."""
    mode: str = request.param
    return mode
