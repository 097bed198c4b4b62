"""lucia on SQLite, sync and async: sign up, sign in, validate a session, sign out.

pip install lucia-auth
python sqlite.py app.sqlite3
"""

import asyncio
import sys

from lucia import AsyncLucia, InvalidCredentialsError, Lucia
from lucia.adapters.sqlite import AsyncSQLiteAdapter, SQLiteAdapter

PASSWORD = "correct horse battery staple"  # noqa: S105 (an example's)


def main(path: str) -> None:
    adapter = SQLiteAdapter(path)  # WAL, foreign keys on, one connection per thread
    adapter.create_tables()  # idempotent
    auth = Lucia(adapter, secure_cookies=True)

    user = auth.create_user("email", "ada@example.com", password=PASSWORD)
    try:
        auth.authenticate("email", "ada@example.com", "a wrong password")
    except InvalidCredentialsError:
        print("wrong password refused")
    session = auth.create_session(auth.authenticate("email", "ada@example.com", PASSWORD).id)
    token = session.token  # the client's secret, given out once
    assert token is not None
    print("Set-Cookie:", auth.create_session_cookie(session).serialize().split("=")[0], "...")

    found = auth.validate_session(token)  # one primary-key join
    assert found is not None
    assert found[1].id == user.id
    auth.invalidate_session(session.id)  # sign out
    assert auth.validate_session(token) is None
    auth.delete_user(user.id)  # its keys and sessions go too
    adapter.close()


async def amain(path: str) -> None:
    adapter = AsyncSQLiteAdapter(path)  # reads on the loop, writes on one writer thread
    await adapter.create_tables()
    auth = AsyncLucia(adapter)
    user = await auth.create_user("email", "grace@example.com", password=PASSWORD)
    session = await auth.create_session(user.id)
    token = session.token  # the client's secret, given out once
    assert token is not None
    assert await auth.validate_session(token) is not None
    await auth.delete_user(user.id)
    adapter.close()


if __name__ == "__main__":
    database = sys.argv[1] if len(sys.argv) > 1 else "app.sqlite3"
    main(database)
    asyncio.run(amain(database))
    print("ok")
