"""lucia with sessions in Redis and users in SQLite (any user adapter will do).

pip install "lucia-auth[redis]"
REDIS_URL=redis://127.0.0.1:6379/0 python redis_sessions.py
"""

import asyncio
import os

from lucia import AsyncLucia, Lucia
from lucia.adapters.redis import AsyncRedisSessionAdapter, RedisSessionAdapter
from lucia.adapters.sqlite import AsyncSQLiteAdapter, SQLiteAdapter

PASSWORD = "correct horse battery staple"  # noqa: S105 (an example's)


def main(redis_url: str, database: str = "app.sqlite3", prefix: str = "lucia:") -> None:
    users = SQLiteAdapter(database)
    users.create_tables()
    sessions = RedisSessionAdapter(redis_url, prefix=prefix)  # or a redis.Redis you keep
    auth = Lucia(users, session_adapter=sessions)

    user = auth.create_user("email", "ada@example.com", password=PASSWORD)
    session = auth.create_session(user.id)  # one Redis hash, expiring with the session
    token = session.token  # the client's secret, given out once
    assert token is not None
    found = auth.validate_session(token)  # one HMGET, then the user by id
    assert found is not None
    assert found[1].id == user.id
    assert [s.id for s in auth.get_user_sessions(user.id)] == [session.id]
    auth.invalidate_user_sessions(user.id)  # sign out everywhere
    assert auth.validate_session(token) is None
    auth.delete_user(user.id)
    sessions.close()
    users.close()


async def amain(redis_url: str, database: str = "app.sqlite3", prefix: str = "lucia:") -> None:
    users = AsyncSQLiteAdapter(database)
    await users.create_tables()
    sessions = AsyncRedisSessionAdapter(redis_url, prefix=prefix)
    try:
        auth = AsyncLucia(users, session_adapter=sessions)
        user = await auth.create_user("email", "grace@example.com", password=PASSWORD)
        session = await auth.create_session(user.id)
        token = session.token  # the client's secret, given out once
        assert token is not None
        assert await auth.validate_session(token) is not None
        await auth.delete_user(user.id)
    finally:
        await sessions.aclose()
        users.close()


if __name__ == "__main__":
    url = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")
    main(url)
    asyncio.run(amain(url))
    print("ok")
