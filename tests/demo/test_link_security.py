"""SECURITY.md item 43 against the demo: linking cannot skip re-authentication.

The first test is the attack an outside review ran against the demo: a stolen
session older than the 10 minutes "Link" demands, an ordinary sign-in whose
transaction cookie is edited to name the victim as the link target, and the
attacker's own identity at the provider. With the old base64-JSON cookie the
attacker's identity became one of the victim's sign-in methods.
"""

from __future__ import annotations

import base64
import json
import secrets
import time
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import httpx

from tests.demo.conftest import Demo

TRANSACTION = "lucia_oauth"  # the demo runs over plain http: no __Host- prefix
SESSION = "auth_session"


def transaction_cookie(response: httpx.Response) -> str:
    for raw in response.headers.get_list("set-cookie"):
        name, _, rest = raw.partition("=")
        if name.strip() == TRANSACTION:
            return rest.split(";", 1)[0]
    raise AssertionError("no transaction cookie")


def edited_to_link(cookie: str, authorization_url: str, victim_id: str) -> str:
    """The attacker's edit of the transaction (see tests/integrations/test_link_security.py)."""
    try:
        data: dict[str, Any] = json.loads(
            base64.urlsafe_b64decode(cookie + "=" * (-len(cookie) % 4))
        )
    except ValueError:  # sealed: write one from what the authorization URL shows
        params = dict(parse_qsl(urlsplit(authorization_url).query))
        data = {
            "v": 2,
            "p": "local",
            "s": params["state"],
            "cv": secrets.token_urlsafe(32),
            "n": params["nonce"],
            "i": None,
            "ir": False,
            "r": "/account",
            "ls": "any",
            "la": 86_400,
            "e": int(time.time()) + 600,
        }
    data["l"] = victim_id
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


async def callback_with(
    demo: Demo, callback_url: str, *, session: str | None, transaction: str
) -> httpx.Response:
    cookies = [f"{TRANSACTION}={transaction}"]
    if session is not None:
        cookies.insert(0, f"{SESSION}={session}")
    return await demo.browser().get(callback_url, headers={"Cookie": "; ".join(cookies)})


async def keys_of(demo: Demo, user_id: str) -> set[str]:
    return {k.provider_id for k in await demo.state.auth.get_user_keys(user_id)}


async def victim(demo: Demo) -> tuple[httpx.AsyncClient, str, str]:
    """A signed-up victim: their browser, user id and session token."""
    client = demo.browser()
    await demo.sign_up(client, "victim@example.com")
    token = client.cookies.get(SESSION)
    assert token is not None
    found = await demo.state.auth.validate_session(token)
    assert found is not None
    return client, found[1].id, token


async def test_sec43_stale_stolen_session_and_an_edited_sign_in_cookie_link_nothing(
    demo: Demo,
) -> None:
    client, victim_id, stolen = await victim(demo)
    demo.clock.advance(minutes=11)  # too old to link
    assert (await client.post("/account/link/local")).status_code == 403  # the front door
    attacker = demo.browser()
    login = await attacker.get("/login/local", headers={"Cookie": f"{SESSION}={stolen}"})
    assert login.status_code == 302
    location = login.headers["location"]
    forged = edited_to_link(transaction_cookie(login), location, victim_id)
    callback_url = demo.op.login(location, sub="mallory", email="mallory@example.org")
    response = await callback_with(demo, callback_url, session=stolen, transaction=forged)
    assert response.status_code == 400
    assert await keys_of(demo, victim_id) == {"email"}
    assert (
        await demo.state.auth.get_user_by_key(demo.state.providers[0].provider.name, "mallory")
        is None
    )


async def start_link(demo: Demo, client: httpx.AsyncClient, sub: str) -> tuple[str, str]:
    started = await client.post("/account/link/local")
    assert started.status_code == 303, started.text
    callback_url = demo.op.login(started.headers["location"], sub=sub, email=f"{sub}@example.org")
    return callback_url, transaction_cookie(started)


async def test_sec43_a_link_finished_after_the_session_went_stale_is_refused(demo: Demo) -> None:
    client, user_id, _ = await victim(demo)
    demo.clock.advance(minutes=8)
    callback_url, _ = await start_link(demo, client, "ada-at-local")
    demo.clock.advance(minutes=3)  # the session is now 11 minutes old
    response = await client.get(callback_url)
    assert response.status_code == 403
    assert await keys_of(demo, user_id) == {"email"}


async def test_sec43_a_link_finished_in_another_users_session_is_refused(demo: Demo) -> None:
    client, user_id, _ = await victim(demo)
    callback_url, transaction = await start_link(demo, client, "ada-at-local")
    other = demo.browser()
    await demo.sign_up(other, "eve@example.com")
    eve_token = other.cookies.get(SESSION)
    response = await callback_with(demo, callback_url, session=eve_token, transaction=transaction)
    assert response.status_code == 403
    assert await keys_of(demo, user_id) == {"email"}
    eve = await demo.state.auth.get_user_by_key("email", "eve@example.com")
    assert eve is not None
    assert await keys_of(demo, eve.id) == {"email"}


async def test_sec43_a_recent_link_still_links(demo: Demo) -> None:
    client, user_id, _ = await victim(demo)
    callback_url, _ = await start_link(demo, client, "ada-at-local")
    response = await client.get(callback_url)
    assert response.status_code == 303
    assert response.headers["location"] == "/account?notice=linked"
    assert len(await keys_of(demo, user_id)) == 2
