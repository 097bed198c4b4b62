"""lucia on PostgreSQL (psycopg 3 with a connection pool), sync and async.

pip install "lucia-auth[postgres]"
DATABASE_URL=postgresql://app@127.0.0.1/app python postgres.py
"""

import asyncio
import os

from lucia import AsyncLucia, InvalidCredentialsError, Lucia
from lucia.adapters.postgres import AsyncPostgresAdapter, PostgresAdapter

PASSWORD = "correct horse battery staple"  # noqa: S105 (an example's)


def main(conninfo: str) -> None:
    # A conninfo or URL (the adapter makes and owns a pool), or your own psycopg_pool pool.
    adapter = PostgresAdapter(conninfo, max_size=10)
    adapter.create_tables()  # idempotent; or `lucia migrate --print --dialect postgres`
    auth = Lucia(adapter)

    user = auth.create_user("email", "ada@example.com", password=PASSWORD)
    try:
        auth.authenticate("email", "ada@example.com", "a wrong password")
    except InvalidCredentialsError:
        print("wrong password refused")
    session = auth.create_session(auth.authenticate("email", "ada@example.com", PASSWORD).id)
    token = session.token  # the client's secret, given out once
    assert token is not None
    found = auth.validate_session(token)  # one round trip: session joined to user
    assert found is not None
    assert found[1].id == user.id
    auth.invalidate_session(session.id)  # sign out
    assert auth.validate_session(token) is None
    auth.delete_user(user.id)  # its keys and sessions go too (ON DELETE CASCADE)
    adapter.close()


async def amain(conninfo: str) -> None:
    adapter = AsyncPostgresAdapter(conninfo)  # the pool opens in this loop, at first use
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
        await adapter.aclose()  # before the loop ends


if __name__ == "__main__":
    url = os.environ.get("DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/test")
    main(url)
    asyncio.run(amain(url))
    print("ok")
