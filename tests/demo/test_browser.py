"""The demo in a real headless Chromium (Debian's ``chromium``), driven by Playwright.

The demo runs under uvicorn on a free loopback port with a temporary SQLite
file and the local development provider, as ``lucia demo`` runs it. One test
walks the whole story of issue 6: sign up, sign out, a wrong password, sign in,
link the local provider, sign in with it on a phone, two sessions, revoke the
phone's, sign out. It takes a few seconds (a browser start and some Argon2
hashes).

The account page's screenshot is saved in the test's tmp_path; to refresh the
README's image, run with ``LUCIA_DEMO_SCREENSHOT=docs/images/account.png``.
"""

from __future__ import annotations

import os
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import uvicorn
from playwright.sync_api import ConsoleMessage, Page, expect, sync_playwright

from lucia.demo.app import create_app, dev_provider
from tests.demo.conftest import PASSWORD

CHROMIUM = "/usr/bin/chromium"


@pytest.fixture(scope="module")
def chromium() -> str:
    """Debian's chromium (``make test`` installs it); missing is a failure on CI."""
    found = shutil.which("chromium") or (CHROMIUM if os.path.exists(CHROMIUM) else None)
    if found is None:
        message = "chromium is not installed (apt-get install chromium, or `make browser`)"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    return found


@pytest.fixture
def live_demo(tmp_path: Path) -> Iterator[str]:
    """The demo served by uvicorn in a thread; its base URL."""
    # Bound here, handed to uvicorn: the port is known before the app is built
    # (the providers' redirect URIs need it) and nobody can take it meanwhile.
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    base_url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    op, local = dev_provider(base_url)
    app = create_app(tmp_path / "demo.sqlite3", providers=[local], dev_provider_url=op.issuer)
    server = uvicorn.Server(
        uvicorn.Config(app, log_level="warning", access_log=False, lifespan="on")
    )
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 20
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the demo server did not start")
            time.sleep(0.02)
        yield base_url
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()
        op.stop()


def _approve_at_provider(page: Page, subject: str, email: str) -> None:
    """Fill in the local development provider's sign-in form."""
    expect(page.get_by_role("heading", name="Sign in to the local OpenID provider")).to_be_visible()
    page.get_by_label("Subject").fill(subject)
    page.get_by_label("Email").fill(email)
    page.get_by_role("button", name="Sign in").click()


def test_demo_in_a_real_browser(chromium: str, live_demo: str, tmp_path: Path) -> None:
    base = live_demo
    problems: list[str] = []

    def on_console(message: ConsoleMessage) -> None:
        # A blocked stylesheet (CSP) would show up here. Answers with an error status
        # (the 400 of a wrong password, the missing favicon) are expected.
        if message.type == "error" and not message.text.startswith("Failed to load resource"):
            problems.append(message.text)

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=chromium,
            args=["--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu"],
        )
        try:
            laptop = browser.new_context(base_url=base, viewport={"width": 960, "height": 900})
            laptop.set_default_timeout(15_000)
            page = laptop.new_page()
            page.on("console", on_console)

            # Sign up.
            page.goto("/")
            expect(page.get_by_role("complementary", name="Development mode")).to_contain_text(
                "never enable it in production"
            )
            page.get_by_role("main").get_by_role("link", name="Sign up").click()
            page.get_by_label("Email").fill("ada@example.com")
            page.get_by_label("Password").fill(PASSWORD)
            page.get_by_role("button", name="Sign up").click()
            expect(page).to_have_url(f"{base}/account?notice=welcome")
            expect(page.get_by_role("status")).to_have_text("Your account is ready.")
            expect(page.get_by_role("heading", name="Your account")).to_be_visible()
            # The stylesheet applied: the main column is narrower than the window.
            width = page.eval_on_selector("main", "m => m.getBoundingClientRect().width")
            assert width < 960

            # Sign out.
            page.get_by_role("button", name="Sign out").click()
            expect(page).to_have_url(f"{base}/")
            expect(page.get_by_text("You are not signed in.")).to_be_visible()

            # A wrong password, then the right one.
            page.get_by_role("main").get_by_role("link", name="Sign in").click()
            page.get_by_label("Email").fill("ada@example.com")
            page.get_by_label("Password").fill("not-" + PASSWORD)
            page.get_by_role("button", name="Sign in", exact=True).click()
            expect(page.get_by_role("alert")).to_have_text("Wrong email or password.")
            expect(page.get_by_label("Email")).to_have_value("ada@example.com")
            page.get_by_label("Password").fill(PASSWORD)
            page.get_by_role("button", name="Sign in", exact=True).click()
            expect(page).to_have_url(f"{base}/account")

            # Link the local development provider to the password account.
            page.get_by_role("button", name="Link Local development provider").click()
            _approve_at_provider(page, "ada-local", "ada@local.test")
            expect(page).to_have_url(f"{base}/account?notice=linked")
            identities = page.locator("section[aria-labelledby=identities-title] ul.rows > li")
            expect(identities).to_have_count(2)
            expect(identities.nth(1)).to_contain_text("Local development provider")

            # On a phone, sign in with the provider: the same account.
            device = {
                name: value
                for name, value in playwright.devices["Pixel 7"].items()
                if name != "default_browser_type"
            }
            phone_context = browser.new_context(**device, base_url=base)
            phone_context.set_default_timeout(15_000)
            phone = phone_context.new_page()
            phone.on("console", on_console)
            phone.goto("/signin")
            phone.get_by_role("button", name="Sign in with Local development provider").click()
            _approve_at_provider(phone, "ada-local", "ada@local.test")
            expect(phone).to_have_url(f"{base}/account")
            expect(phone.locator("dd").first).to_have_text("ada@example.com")
            # Readable on a phone: nothing wider than the screen.
            assert phone.evaluate("document.documentElement.scrollWidth <= window.innerWidth")

            # Two sessions on the laptop's account page.
            page.reload()
            sessions = page.locator("section[aria-labelledby=sessions-title] ul.rows > li")
            expect(sessions).to_have_count(2)
            expect(sessions.nth(0)).to_contain_text("Chrome on Linux")
            expect(sessions.nth(0)).to_contain_text("This browser")
            expect(sessions.nth(1)).to_contain_text("Chrome on Android")
            shot = tmp_path / "account.png"
            page.screenshot(path=str(shot), full_page=True)
            assert shot.stat().st_size > 10_000
            target = os.environ.get("LUCIA_DEMO_SCREENSHOT")
            if target:
                Path(target).parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(shot, target)

            # Revoke the phone's session: the phone is signed out.
            page.get_by_role("button", name="Revoke Chrome on Android").click()
            expect(page.get_by_role("status")).to_have_text(
                "The session is revoked: that browser is signed out."
            )
            expect(sessions).to_have_count(1)
            phone.reload()
            expect(phone).to_have_url(f"{base}/signin")

            # Sign out on the laptop.
            page.get_by_role("button", name="Sign out").click()
            expect(page.get_by_text("You are not signed in.")).to_be_visible()
            page.goto("/account")
            expect(page).to_have_url(f"{base}/signin")
            assert problems == []
        finally:
            browser.close()
