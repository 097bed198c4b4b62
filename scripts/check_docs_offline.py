"""Check the built documentation site in a real browser, with the internet cut off.

``make docs`` runs this after ``mkdocs build``: it serves ``site/`` on loopback,
opens every page that has a Mermaid diagram in headless Chromium, refuses every
request that leaves the machine, and fails unless each diagram rendered (Material
for MkDocs replaces a diagram's ``<pre class="mermaid">`` with its drawing) with
no script error and no request to a third party (a CDN, Google Fonts). A diagram
with a syntax error stays a ``<pre>``, so this catches those too.

    .venv/bin/python scripts/check_docs_offline.py [site]
"""

from __future__ import annotations

import contextlib
import functools
import http.server
import sys
import threading
from pathlib import Path
from typing import Any

from playwright.sync_api import Route, sync_playwright
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

CHROMIUM = "/usr/bin/chromium"


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


def pages_with_diagrams(site: Path) -> list[str]:
    """Site-relative URLs of the pages holding a Mermaid diagram."""
    return sorted(
        "/" + str(page.parent.relative_to(site)).replace("\\", "/").strip(".") + "/"
        for page in site.rglob("index.html")
        if 'class="mermaid"' in page.read_text(encoding="utf-8")
    )


def check(site: Path) -> list[str]:
    """The problems found, one line each (none: every diagram rendered offline)."""
    handler = functools.partial(_QuietHandler, directory=str(site))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    origin = f"http://127.0.0.1:{server.server_address[1]}"
    problems: list[str] = []
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM)
            try:
                for url in pages_with_diagrams(site):
                    problems += _check_page(browser, origin, url)
            finally:
                browser.close()
    finally:
        server.shutdown()
    return problems


def _check_page(browser: Any, origin: str, url: str) -> list[str]:
    page = browser.new_page()
    outside: list[str] = []
    errors: list[str] = []

    def route(request_route: Route) -> None:
        if request_route.request.url.startswith(origin + "/"):
            request_route.continue_()
        else:
            outside.append(request_route.request.url)
            request_route.abort()

    page.route("**/*", route)
    page.on("pageerror", lambda error: errors.append(str(error).splitlines()[0]))
    try:
        page.goto(origin + url)
        # Rendered diagrams are <div class="mermaid">; a <pre> left means not drawn
        # (a timeout is reported below, as the diagrams left undrawn).
        with contextlib.suppress(PlaywrightTimeoutError):
            page.wait_for_function(
                "() => document.querySelectorAll('pre.mermaid').length === 0", timeout=15_000
            )
        undrawn = page.locator("pre.mermaid").count()
        empty = page.evaluate(
            "() => [...document.querySelectorAll('div.mermaid')]"
            ".filter(e => e.getBoundingClientRect().height === 0).length"
        )
    finally:
        page.close()
    problems = [f"{url}: {undrawn} Mermaid diagram(s) not drawn"] if undrawn else []
    problems += [f"{url}: {empty} Mermaid diagram(s) drawn empty"] if empty else []
    problems += [f"{url}: script error: {error}" for error in errors]
    problems += [f"{url}: asked a third party for {address}" for address in outside]
    return problems


def main() -> int:
    site = Path(sys.argv[1] if len(sys.argv) > 1 else "site")
    if not pages_with_diagrams(site):
        print(f"no page with a Mermaid diagram in {site}/", file=sys.stderr)
        return 1
    problems = check(site)
    for problem in problems:
        print(problem, file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    raise SystemExit(main())
