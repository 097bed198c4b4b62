"""lucia on MySQL 8 or MariaDB (PyMySQL and aiomysql, pooled), sync and async.

pip install "lucia-auth[mysql]"
DATABASE_URL=mysql://app:secret@127.0.0.1:3306/app python mysql.py
"""

import asyncio
import os

from lucia import AsyncLucia, InvalidCredentialsError, Lucia
from lucia.adapters.mysql import AsyncMySQLAdapter, MySQLAdapter

PASSWORD = "correct horse battery staple"  # noqa: S105 (an example's)


def main(url: str) -> None:
    adapter = MySQLAdapter(url, pool_size=10)  # a mysql:// URL or PyMySQL's connect() arguments
    adapter.create_tables()  # idempotent; keys use a binary collation: exact, case-sensitive
    auth = Lucia(adapter)

    user = auth.create_user("email", "ada@example.com", password=PASSWORD)
    # Lookups are exact on every database, MySQL included (no case folding).
    assert auth.get_user_by_key("email", "ADA@example.com") is None
    try:
        auth.authenticate("email", "ada@example.com", "a wrong password")
    except InvalidCredentialsError:
        print("wrong password refused")
    session = auth.create_session(auth.authenticate("email", "ada@example.com", PASSWORD).id)
    token = session.token  # the client's secret, given out once
    assert token is not None
    found = auth.validate_session(token)
    assert found is not None
    assert found[1].id == user.id
    auth.invalidate_session(session.id)  # sign out
    assert auth.validate_session(token) is None
    auth.delete_user(user.id)
    adapter.close()


async def amain(url: str) -> None:
    adapter = AsyncMySQLAdapter(url)  # the pool is made in this loop, at first use
    try:
        await adapter.create_tables()
        auth = AsyncLucia(adapter)
        user = await auth.create_user("email", "grace@example.com", password=PASSWORD)
        session = await auth.create_session(user.id)
        token = session.token  # the client's secret, given out once
        assert token is not None
        assert await auth.validate_session(token) is not None
        await auth.delete_user(user.id)
    finally:
        await adapter.aclose()


if __name__ == "__main__":
    url = os.environ.get("DATABASE_URL", "mysql://root@127.0.0.1:3306/test")
    main(url)
    asyncio.run(amain(url))
    print("ok")
