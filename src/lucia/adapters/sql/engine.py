"""The SQL adapter and driver interfaces, under their historical import path.

The adapter is written once, as async source in ``lucia/adapters/_async/engine.py``;
the sync one in ``lucia/adapters/_sync/engine.py`` is generated from it.
"""

from __future__ import annotations

from lucia.adapters._async.engine import AsyncSQLAdapter, AsyncSQLDriver, Row
from lucia.adapters._sync.engine import SQLAdapter, SQLDriver
from lucia.adapters.base import publish

__all__ = ["AsyncSQLAdapter", "AsyncSQLDriver", "Row", "SQLAdapter", "SQLDriver"]

publish(__name__, AsyncSQLAdapter, AsyncSQLDriver, SQLAdapter, SQLDriver)
