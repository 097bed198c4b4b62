"""lucia on the SQLAlchemy 2 engine you already have, sync and async.

    pip install "lucia-auth[sqlalchemy]" aiosqlite
    DATABASE_URL=sqlite:///app.sqlite3 python sqlalchemy_engine.py

Any database SQLAlchemy supports: postgresql+psycopg://..., mysql+pymysql://...
"""

import asyncio
import os

from sqlalchemy import create_engine
from sqlalchemy.ext.asyncio import create_async_engine

from lucia import AsyncLucia, Lucia
from lucia.adapters.sqlalchemy import AsyncSQLAlchemyAdapter, SQLAlchemyAdapter, metadata

PASSWORD = "correct horse battery staple"  # noqa: S105 (an example's)


def main(url: str) -> None:
    engine = create_engine(url)
    adapter = SQLAlchemyAdapter(engine)  # the engine stays yours
    adapter.create_tables()  # metadata.create_all; Alembic can autogenerate from `metadata`
    print("tables:", sorted(metadata.tables))
    auth = Lucia(adapter)

    user = auth.create_user("email", "ada@example.com", password=PASSWORD)
    session = auth.create_session(auth.authenticate("email", "ada@example.com", PASSWORD).id)
    token = session.token  # the client's secret, given out once
    assert token is not None
    found = auth.validate_session(token)
    assert found is not None
    assert found[1].id == user.id
    auth.invalidate_session(session.id)
    assert auth.validate_session(token) is None
    auth.delete_user(user.id)
    engine.dispose()


async def amain(async_url: str) -> None:
    engine = create_async_engine(async_url)
    try:
        adapter = AsyncSQLAlchemyAdapter(engine)
        await adapter.create_tables()
        auth = AsyncLucia(adapter)
        user = await auth.create_user("email", "grace@example.com", password=PASSWORD)
        session = await auth.create_session(user.id)
        token = session.token  # the client's secret, given out once
        assert token is not None
        assert await auth.validate_session(token) is not None
        await auth.delete_user(user.id)
    finally:
        await engine.dispose()


if __name__ == "__main__":
    url = os.environ.get("DATABASE_URL", "sqlite:///app.sqlite3")
    main(url)
    asyncio.run(amain(url.replace("sqlite://", "sqlite+aiosqlite://", 1)))
    print("ok")
