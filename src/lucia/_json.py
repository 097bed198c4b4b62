"""Attributes as JSON: the one encoding every store uses."""

from __future__ import annotations

import json
from typing import Any

from lucia.errors import DatabaseError


def encode_json(value: dict[str, Any]) -> str:
    """Attributes as compact JSON text."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def decode_json(value: Any) -> dict[str, Any]:
    """Attributes from a JSON column (text, bytes, or a dict a driver already decoded)."""
    if value is None or value == "{}":
        return {}
    if isinstance(value, dict):
        return value
    try:
        decoded = json.loads(value)
    except ValueError:
        raise DatabaseError("stored attributes are not valid JSON") from None
    if not isinstance(decoded, dict):
        raise DatabaseError("stored attributes are not a JSON object")
    return decoded
