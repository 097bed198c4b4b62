"""The demo app on a temporary SQLite file, with the local development provider."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
from starlette.applications import Starlette

from lucia.demo.app import DemoState, create_app, dev_provider
from lucia.testing.oidc_provider import LocalOIDCProvider
from tests.conftest import Clock

BASE = "http://testserver"
PASSWORD = "plover-anchor-velvet-42"


@dataclass
class Demo:
    """The app under test (lifespan running), its parts, and browsers to drive it."""

    app: Starlette
    state: DemoState
    op: LocalOIDCProvider
    clock: Clock
    clients: list[httpx.AsyncClient] = field(default_factory=list)

    def browser(self, user_agent: str = "pytest-browser") -> httpx.AsyncClient:
        """A new client with its own cookie jar, whose POSTs come from the app's origin."""
        client = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=self.app),
            base_url=BASE,
            headers={"Origin": BASE, "User-Agent": user_agent},
        )
        self.clients.append(client)
        return client

    async def sign_up(
        self, client: httpx.AsyncClient, email: str = "ada@example.com"
    ) -> httpx.Response:
        response = await client.post("/signup", data={"email": email, "password": PASSWORD})
        assert response.status_code == 303, response.text
        return response

    async def provider_sign_in(
        self, client: httpx.AsyncClient, path: str = "/signin/local", sub: str = "grace"
    ) -> httpx.Response:
        """POST ``path`` (a sign-in or link button), approve at the provider as ``sub``,
        and return the callback's answer."""
        start = await client.post(path)
        assert start.status_code == 303, start.text
        callback = self.op.login(start.headers["location"], sub=sub, email=f"{sub}@example.org")
        assert callback.startswith(f"{BASE}/login/local/callback?")
        return await client.get(callback)


@pytest.fixture
async def demo(tmp_path: Path, clock: Clock) -> AsyncIterator[Demo]:
    op, local = dev_provider(BASE)
    try:
        app = create_app(
            tmp_path / "demo.sqlite3", providers=[local], dev_provider_url=op.issuer, clock=clock
        )
        demo = Demo(app, app.state.demo, op, clock)
        async with app.router.lifespan_context(app):
            try:
                yield demo
            finally:
                for client in demo.clients:
                    await client.aclose()
    finally:
        op.stop()
