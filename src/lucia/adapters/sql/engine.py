"""The SQL adapter and driver interfaces, under their historical import path.

The adapter is written once, as async source in ``lucia/adapters/_async/engine.py``;
the sync one in ``lucia/adapters/_sync/engine.py`` is generated from it.
"""

from __future__ import annotations

from lucia.adapters._async.engine import AsyncSQLAdapter, AsyncSQLDriver, Row
from lucia.adapters._sync.engine import SQLAdapter, SQLDriver

__all__ = ["AsyncSQLAdapter", "AsyncSQLDriver", "Row", "SQLAdapter", "SQLDriver"]

# Public here, where both flavours are (error messages name the counterpart's module).
for _cls in (AsyncSQLAdapter, AsyncSQLDriver, SQLAdapter, SQLDriver):
    _cls.__module__ = __name__
