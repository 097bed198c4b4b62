"""The MySQL and MariaDB adapter, written once (the sync ``MySQLAdapter`` is
generated from this file into ``lucia/adapters/_sync/mysql.py``);
``lucia.adapters.mysql`` documents both and is where they are imported from.
The drivers (PyMySQL and aiomysql, whose APIs differ) are in ``_mysql_base``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from lucia.adapters._async.engine import AsyncSQLAdapter
from lucia.adapters._mysql_base import MYSQL, AiomysqlDriver, _AsyncMySQLAdapterHooks, _target
from lucia.adapters.sql import DEFAULT_TABLES, Statements, Tables, ddl


class AsyncMySQLAdapter(_AsyncMySQLAdapterHooks, AsyncSQLAdapter):
    """``Adapter`` on MySQL 8 or MariaDB with a connection pool: PyMySQL's for the
    sync adapter, aiomysql's for the async one.

    ``pool_size`` bounds the connections; a call waits up to ``pool_timeout``
    seconds for one, and connecting gives up after ``connect_timeout`` seconds
    (this argument wins over a ``connect_timeout`` in the dict). Closing the
    adapter closes the pool (the connections in use as they are released).
    With aiomysql, ``read_timeout`` bounds each call as a whole (aiomysql has
    no socket timeouts), ``write_timeout`` is not used, and the pool is created
    in the running event loop at the first call.
    """

    driver: AiomysqlDriver

    def __init__(
        self,
        url_or_params: str | Mapping[str, Any],
        *,
        tables: Tables = DEFAULT_TABLES,
        pool_size: int = 10,
        connect_timeout: float = 5.0,
        pool_timeout: float = 30.0,
    ) -> None:
        self.tables = tables
        driver = AiomysqlDriver(_target(url_or_params, connect_timeout), pool_size, pool_timeout)
        super().__init__(Statements(MYSQL, tables), ddl("mysql", tables), driver)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.driver.target.display!r})"

    async def aclose(self) -> None:
        """Close the pool (after the calls in flight finish); later calls raise."""
        await self.driver.aclose()
