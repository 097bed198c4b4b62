"""SECURITY.md item 29, gaps found by the H4 audit and fuzzing: ``safe_next`` and "//"."""

from __future__ import annotations

import pytest

from lucia.oauth.flow import safe_next


@pytest.mark.parametrize(
    "target",
    ["/..//evil.com", "/a//evil.com", "/.%2e//evil.com", "/%2e%2e%2f/evil.com", "/x/%2F/evil.com"],
)
def test_sec29_double_slash_inside_the_path_goes_to_default(target: str) -> None:
    # Dot-segment removal turns "/..//evil.com" into the scheme-relative "//evil.com".
    assert safe_next(target, "/home") == "/home"


@pytest.mark.parametrize(
    "target", ["/search?u=https://example.com/x", "/a/b?next=//x", "/page#//frag", "/a/b/"]
)
def test_sec29_double_slash_in_query_or_fragment_is_kept(target: str) -> None:
    assert safe_next(target, "/home") == target
