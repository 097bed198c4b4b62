"""Conformance backends on redis (filled in by its adapter's work)."""

from __future__ import annotations

from tests.conformance.backends import Backend

BACKENDS: list[Backend] = []
