"""A friendly name for the browser a session was created from ("Chrome on Linux")."""

from __future__ import annotations

import functools

from ua_parser import parse

__all__ = ["describe_user_agent"]

# ua-parser's names for engines that users know by their browser's name.
_BROWSER_NAMES = {
    "HeadlessChrome": "Chrome",
    "Chrome Mobile": "Chrome",
    "Chrome Mobile iOS": "Chrome",
    "Chrome Mobile WebView": "Chrome",
    "Firefox Mobile": "Firefox",
    "Firefox iOS": "Firefox",
    "Mobile Safari": "Safari",
    "Mobile Safari UI/WKWebView": "Safari",
}
_OS_NAMES = {"Mac OS X": "macOS"}
_MAX_LENGTH = 512


@functools.lru_cache(maxsize=256)
def describe_user_agent(user_agent: str | None) -> str:
    """ "<browser> on <system>", "<browser>", "<system>" or "Unknown browser".

    Cached: a user's few sessions repeat the same strings, and parsing runs the
    whole regex list (the first call also compiles it).
    """
    if not user_agent:
        return "Unknown browser"
    parsed = parse(user_agent[:_MAX_LENGTH])
    browser = parsed.user_agent.family if parsed.user_agent is not None else None
    system = parsed.os.family if parsed.os is not None else None
    browser = _BROWSER_NAMES.get(browser or "", browser)
    system = _OS_NAMES.get(system or "", system)
    if browser in (None, "Other"):
        browser = None
    if system in (None, "Other"):
        system = None
    if browser and system:
        return f"{browser} on {system}"
    return browser or system or "Unknown browser"
