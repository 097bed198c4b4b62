"""Tests for lucia.csrf.verify_request_origin (SECURITY.md items 14 and 15)."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from lucia.csrf import verify_request_origin


def post(
    origin: str | None,
    allowed: tuple[str, ...] = ("example.com",),
    extra: dict[str, str] | None = None,
) -> bool:
    """POST to example.com from ``origin`` (None: no Origin header)."""
    headers = {"Host": "example.com", **(extra or {})}
    if origin is not None:
        headers["Origin"] = origin
    return verify_request_origin("POST", headers, allowed)


class CaseInsensitiveHeaders(Mapping[str, str]):
    """Stands in for a framework's headers object (Starlette, Django, Werkzeug)."""

    def __init__(self, items: dict[str, str]) -> None:
        self._items = {k.lower(): v for k, v in items.items()}

    def __getitem__(self, key: str) -> str:
        return self._items[key.lower()]

    def __iter__(self) -> Iterator[str]:
        return iter(self._items)

    def __len__(self) -> int:
        return len(self._items)


# --- methods ---------------------------------------------------------------------


@pytest.mark.parametrize("method", ["GET", "HEAD", "OPTIONS", "TRACE", "get", "Head", "options"])
def test_safe_methods_pass_without_origin(method: str) -> None:
    headers = {"Origin": "https://evil.com", "Sec-Fetch-Site": "cross-site"}
    assert verify_request_origin(method, headers, ["example.com"]) is True
    assert verify_request_origin(method, {}) is True


@pytest.mark.parametrize("method", ["POST", "PUT", "PATCH", "DELETE", "post", "CONNECT", "FOO"])
def test_unsafe_methods_are_checked(method: str) -> None:
    good = {"Origin": "https://example.com"}
    bad = {"Origin": "https://evil.com"}
    assert verify_request_origin(method, good, ["example.com"]) is True
    assert verify_request_origin(method, bad, ["example.com"]) is False


def test_unusual_method_values_refused() -> None:
    headers = {"Origin": "https://example.com"}
    assert verify_request_origin("GET ", headers, ["evil.com"]) is False
    assert verify_request_origin("", headers, ["evil.com"]) is False
    assert verify_request_origin(None, headers, ["example.com"]) is False  # type: ignore[arg-type]


# --- SECURITY.md item 14 -----------------------------------------------------------


def test_sec14_same_origin_post_allowed() -> None:
    assert post("https://example.com") is True
    assert post("http://example.com") is True  # a bare host entry does not pin the scheme


def test_sec14_other_origin_refused() -> None:
    assert post("https://evil.com") is False


def test_sec14_subdomain_origin_refused() -> None:
    assert post("https://foo.example.com") is False


def test_sec14_suffix_domain_attack_refused() -> None:
    assert post("https://example.com.evil.com") is False
    assert post("https://evilexample.com") is False
    assert post("https://example.co") is False


def test_sec14_null_origin_refused() -> None:
    assert post("null") is False
    assert post("null", allowed=("null",)) is False


def test_sec14_sec_fetch_site_cross_site_refused() -> None:
    assert post("https://example.com", extra={"Sec-Fetch-Site": "cross-site"}) is False
    assert post("https://example.com", extra={"sec-fetch-site": "Cross-Site"}) is False


@pytest.mark.parametrize("site", ["same-origin", "same-site", "none"])
def test_sec14_other_sec_fetch_site_values_still_need_origin(site: str) -> None:
    assert post("https://example.com", extra={"Sec-Fetch-Site": site}) is True
    assert post("https://evil.com", extra={"Sec-Fetch-Site": site}) is False
    assert post(None, extra={"Sec-Fetch-Site": site}) is False


def test_sec14_missing_origin_refused() -> None:
    assert post(None) is False
    assert (
        verify_request_origin("POST", {"Host": "example.com", "Referer": "https://example.com/"})
        is False
    )


@pytest.mark.parametrize(
    "origin",
    [
        "",
        "example.com",
        "//example.com",
        "https://",
        "https://example.com/",
        "https://example.com/path",
        "https://user@example.com",
        "https://user:pw@example.com",
        "https://example.com?x",
        "https://example.com#x",
        "https://example.com:",
        "https://example.com:abc",
        "https://example.com:99999",
        "https://example.com:0443",
        "ftp://example.com",
        "javascript://example.com",
        "file://example.com",
        "https:/example.com",
        "https://exa mple.com",
        "https://example.com\r\n",
        "https://example.com\x00",
        "https://example.com, https://example.com",
        "https://ex\u00e4mple.com",
        "https://example.com\u3002",
    ],
)
def test_sec14_malformed_origin_refused(origin: str) -> None:
    assert post(origin) is False


def test_sec14_full_origin_entry_checks_scheme() -> None:
    allowed = ("https://example.com",)
    assert post("https://example.com", allowed) is True
    assert post("http://example.com", allowed) is False
    assert post("http://example.com:443", allowed) is False
    assert post("https://example.com:8443", allowed) is False


def test_sec14_full_origin_entry_with_port() -> None:
    allowed = ("http://localhost:8000",)
    assert post("http://localhost:8000", allowed) is True
    assert post("http://localhost", allowed) is False
    assert post("http://localhost:8001", allowed) is False
    assert post("https://localhost:8000", allowed) is False


def test_sec14_default_ports_normalised() -> None:
    assert post("https://example.com:443", ("https://example.com",)) is True
    assert post("https://example.com", ("https://example.com:443",)) is True
    assert post("http://example.com:80", ("http://example.com",)) is True
    assert post("https://example.com:443", ("example.com",)) is True
    assert post("http://example.com:80", ("example.com",)) is True
    # 80 is not https's default port, so this is example.com:80, not example.com.
    assert post("https://example.com:80", ("example.com",)) is False
    assert post("https://example.com:80", ("example.com:80",)) is True


def test_sec14_bare_host_with_port() -> None:
    allowed = ("localhost:8000",)
    assert post("http://localhost:8000", allowed) is True
    assert post("http://localhost", allowed) is False
    assert post("http://localhost:9000", allowed) is False
    assert post("https://localhost:8000.evil.com", allowed) is False


def test_sec14_hosts_compared_case_insensitively() -> None:
    assert post("https://EXAMPLE.com", ("example.com",)) is True
    assert post("HTTPS://example.com", ("https://Example.COM",)) is True
    assert post("https://example.com", ("EXAMPLE.COM",)) is True


def test_sec14_ip_literals() -> None:
    assert post("http://127.0.0.1:8000", ("127.0.0.1:8000",)) is True
    assert post("http://[::1]:8000", ("[::1]:8000",)) is True
    assert post("http://[::1]:8000", ("http://[::1]:8000",)) is True
    assert post("http://[::2]:8000", ("[::1]:8000",)) is False


def test_sec14_any_of_several_entries() -> None:
    allowed = ("https://app.example.com", "admin.example.com", "http://localhost:3000")
    assert post("https://app.example.com", allowed) is True
    assert post("https://admin.example.com", allowed) is True
    assert post("http://localhost:3000", allowed) is True
    assert post("https://example.com", allowed) is False


def test_sec14_malformed_entries_never_match() -> None:
    allowed = ("", "*", "https://example.com/", "example.com/", "*.example.com", "null")
    assert post("https://example.com", allowed) is False
    assert post("https://a.example.com", allowed) is False
    assert post("https://example.com", (*allowed, "example.com")) is True


def test_sec14_single_string_is_one_entry_not_characters() -> None:
    headers = {"Origin": "http://e"}
    assert verify_request_origin("POST", headers, "example.com") is False
    assert verify_request_origin("POST", {"Origin": "https://example.com"}, "example.com") is True


def test_sec14_allowed_origins_may_be_a_generator() -> None:
    allowed = (entry for entry in ["evil.org", "example.com"])
    assert verify_request_origin("POST", {"Origin": "https://example.com"}, allowed) is True


# --- Host fallback and X-Forwarded-Host ---------------------------------------------


def test_sec14_host_header_used_when_no_entries() -> None:
    assert (
        verify_request_origin("POST", {"Origin": "https://example.com", "Host": "example.com"})
        is True
    )
    assert (
        verify_request_origin("POST", {"Origin": "https://evil.com", "Host": "example.com"})
        is False
    )
    assert (
        verify_request_origin("POST", {"Origin": "https://foo.example.com", "Host": "example.com"})
        is False
    )


def test_sec14_host_header_with_port() -> None:
    headers = {"Origin": "http://localhost:8000", "Host": "localhost:8000"}
    assert verify_request_origin("POST", headers) is True
    headers = {"Origin": "http://localhost:8000", "Host": "localhost"}
    assert verify_request_origin("POST", headers) is False
    headers = {"Origin": "https://example.com", "Host": "example.com:443"}
    assert verify_request_origin("POST", headers) is True


def test_sec14_entries_replace_the_host_header() -> None:
    headers = {"Origin": "https://example.com", "Host": "example.com"}
    assert verify_request_origin("POST", headers, ["other.com"]) is False


@pytest.mark.parametrize("host", [None, "", " ", "example.com/x", "exa mple.com", "example.com:x"])
def test_sec14_missing_or_malformed_host_refused(host: str | None) -> None:
    headers = {"Origin": "https://example.com"}
    if host is not None:
        headers["Host"] = host
    assert verify_request_origin("POST", headers) is False


def test_sec14_x_forwarded_host_ignored_unless_trust_proxy() -> None:
    headers = {"Origin": "https://evil.com", "Host": "example.com", "X-Forwarded-Host": "evil.com"}
    assert verify_request_origin("POST", headers) is False
    assert verify_request_origin("POST", headers, trust_proxy=True) is True


def test_sec14_x_forwarded_host_replaces_host_behind_trusted_proxy() -> None:
    headers = {
        "Origin": "https://example.com",
        "Host": "internal:8080",
        "X-Forwarded-Host": "example.com, proxy.internal",
    }
    assert verify_request_origin("POST", headers) is False
    assert verify_request_origin("POST", headers, trust_proxy=True) is True
    # Only the first value counts: the one the client sent to the outermost proxy.
    headers["X-Forwarded-Host"] = "proxy.internal, example.com"
    assert verify_request_origin("POST", headers, trust_proxy=True) is False


def test_sec14_trust_proxy_without_forwarded_host_uses_host() -> None:
    headers = {"Origin": "https://example.com", "Host": "example.com"}
    assert verify_request_origin("POST", headers, trust_proxy=True) is True


def test_sec14_malformed_forwarded_host_refused() -> None:
    headers = {"Origin": "https://example.com", "Host": "example.com", "X-Forwarded-Host": ""}
    assert verify_request_origin("POST", headers, trust_proxy=True) is False


def test_sec14_explicit_entries_ignore_forwarded_host() -> None:
    headers = {"Origin": "https://evil.com", "X-Forwarded-Host": "evil.com"}
    assert verify_request_origin("POST", headers, ["example.com"], trust_proxy=True) is False


# --- header lookup ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("origin_key", "fetch_key", "host_key"),
    [
        ("Origin", "Sec-Fetch-Site", "Host"),
        ("origin", "sec-fetch-site", "host"),
        ("ORIGIN", "SEC-FETCH-SITE", "HOST"),
        ("oRiGiN", "Sec-fetch-Site", "hOsT"),
    ],
)
def test_dict_headers_in_mixed_case(origin_key: str, fetch_key: str, host_key: str) -> None:
    headers = {origin_key: "https://example.com", host_key: "example.com"}
    assert verify_request_origin("POST", headers) is True
    headers[fetch_key] = "cross-site"
    assert verify_request_origin("POST", headers) is False
    headers = {origin_key: "https://evil.com", host_key: "example.com"}
    assert verify_request_origin("POST", headers) is False


def test_mixed_case_forwarded_host() -> None:
    headers = {"origin": "https://a.com", "HOST": "b.com", "x-FORWARDED-host": "a.com"}
    assert verify_request_origin("POST", headers, trust_proxy=True) is True
    assert verify_request_origin("POST", headers) is False


def test_case_insensitive_mapping() -> None:
    headers = CaseInsensitiveHeaders({"ORIGIN": "https://example.com", "HOST": "example.com"})
    assert verify_request_origin("POST", headers) is True
    headers = CaseInsensitiveHeaders(
        {"Origin": "https://example.com", "Host": "example.com", "SEC-FETCH-SITE": "cross-site"}
    )
    assert verify_request_origin("POST", headers) is False


def test_origin_whitespace_tolerated() -> None:
    assert post(" https://example.com\t") is True


# --- SECURITY.md item 15 -----------------------------------------------------------


def test_sec15_cross_site_login_post_refused() -> None:
    # A login-CSRF page on another site posts the attacker's credentials.
    headers = {
        "Host": "example.com",
        "Origin": "https://attacker.net",
        "Sec-Fetch-Site": "cross-site",
        "Content-Type": "application/x-www-form-urlencoded",
    }
    assert verify_request_origin("POST", headers) is False
    headers.pop("Sec-Fetch-Site")  # an older browser without fetch metadata
    assert verify_request_origin("POST", headers) is False


# --- robustness ------------------------------------------------------------------


class ExplodingHeaders(Mapping[str, str]):
    def __getitem__(self, key: str) -> str:
        raise RuntimeError("boom")

    def __iter__(self) -> Iterator[str]:
        raise RuntimeError("boom")

    def __len__(self) -> int:
        return 0


@pytest.mark.parametrize(
    "headers",
    [
        ExplodingHeaders(),
        None,
        "Origin: https://example.com",
        {"Origin": ["https://example.com"], "Host": "example.com"},
        {"Origin": b"https://example.com", "Host": "example.com"},
        {"Origin": "https://example.com", "Host": b"example.com"},
        {"Origin": "https://example.com", "Host": "example.com", "Sec-Fetch-Site": 1},
        {1: "https://example.com", "Host": "example.com"},
    ],
)
def test_malformed_headers_refused_without_raising(headers: object) -> None:
    assert verify_request_origin("POST", headers) is False  # type: ignore[arg-type]


def test_non_str_entries_skipped() -> None:
    headers = {"Origin": "https://example.com"}
    allowed: list[object] = [None, 1, b"example.com", "example.com"]
    assert verify_request_origin("POST", headers, allowed) is True  # type: ignore[arg-type]
    assert verify_request_origin("POST", headers, [None]) is False  # type: ignore[list-item]
    assert verify_request_origin("POST", headers, 5) is False  # type: ignore[arg-type]


header_names = st.sampled_from(
    ["Origin", "origin", "Host", "HOST", "Sec-Fetch-Site", "X-Forwarded-Host", "Referer"]
)


@given(
    st.text(max_size=10),
    st.dictionaries(st.one_of(header_names, st.text(max_size=20)), st.text(max_size=60)),
    st.one_of(st.text(max_size=40), st.lists(st.text(max_size=40), max_size=4)),
    st.booleans(),
)
def test_never_raises(
    method: str, headers: dict[str, str], allowed: str | list[str], trust_proxy: bool
) -> None:
    result = verify_request_origin(method, headers, allowed, trust_proxy=trust_proxy)
    assert isinstance(result, bool)
    if method.upper() in {"GET", "HEAD", "OPTIONS", "TRACE"}:
        assert result is True


hosts = st.from_regex(r"[a-z0-9]([a-z0-9\-]{0,10}[a-z0-9])?(\.[a-z0-9]{1,8}){0,3}", fullmatch=True)


@given(hosts, hosts, st.sampled_from(["http", "https"]))
def test_only_the_exact_host_passes(allowed: str, host: str, scheme: str) -> None:
    result = verify_request_origin("POST", {"Origin": f"{scheme}://{host}"}, [allowed])
    assert result is (host == allowed)


# --- What mutation testing showed unpinned (scripts/mutation.sh) ---------------------


@pytest.mark.parametrize("forwarded", [b"example.com", ["example.com"], 1, ("example.com",)])
def test_sec14_non_str_forwarded_host_refused_behind_trusted_proxy(forwarded: object) -> None:
    # Origin and Host agree, so only the odd X-Forwarded-Host can refuse the request:
    # a proxy header we cannot read must not fall back to the Host header.
    headers = {
        "Origin": "https://example.com",
        "Host": "example.com",
        "X-Forwarded-Host": forwarded,
    }
    assert verify_request_origin("POST", headers) is True
    assert verify_request_origin("POST", headers, trust_proxy=True) is False  # type: ignore[arg-type]


def test_sec14_only_the_first_of_several_forwarded_hosts_counts() -> None:
    headers = {"Origin": "https://a.example", "X-Forwarded-Host": "a.example, b.example, c.example"}
    assert verify_request_origin("POST", headers, trust_proxy=True) is True
    headers["Origin"] = "https://c.example"
    assert verify_request_origin("POST", headers, trust_proxy=True) is False


@pytest.mark.parametrize(("port", "valid"), [(65535, True), (65536, False), (99999, False)])
def test_sec14_highest_port_is_65535(port: int, valid: bool) -> None:
    origin = f"https://example.com:{port}"
    assert post(origin, (origin,)) is valid
    assert post(origin, (f"example.com:{port}",)) is valid
    headers = {"Origin": origin, "Host": f"example.com:{port}"}
    assert verify_request_origin("POST", headers) is valid


@pytest.mark.parametrize(
    "host", ["example.com\n", "\x0bexample.com", "example.com\r", "example.comX"]
)
def test_sec14_host_trimmed_of_spaces_and_tabs_only(host: str) -> None:
    # RFC 9110's optional whitespace is SP and HTAB; anything else is part of a
    # malformed (or different) host, which fails closed.
    assert verify_request_origin("POST", {"Origin": "https://example.com", "Host": host}) is False
    assert verify_request_origin(
        "POST", {"Origin": "https://example.com", "Host": " \t" + "example.com \t"}
    )


@pytest.mark.parametrize(
    "origin", ["https://example.com\n", "https://example.comX", "Xhttps://example.com"]
)
def test_sec14_origin_trimmed_of_spaces_and_tabs_only(origin: str) -> None:
    assert post(origin) is False


@pytest.mark.parametrize("site", ["cross-site\x0b", "cross-siteX", "Xcross-site", "cross-site,"])
def test_sec14_only_the_exact_cross_site_value_refuses_by_itself(site: str) -> None:
    # Another Sec-Fetch-Site value decides nothing alone: the Origin check does.
    assert post("https://example.com", extra={"Sec-Fetch-Site": site}) is True
    assert post("https://evil.com", extra={"Sec-Fetch-Site": site}) is False
    assert post("https://example.com", extra={"Sec-Fetch-Site": " \tCross-Site\t "}) is False


class UnscannableHeaders(dict[str, object]):
    """A dict that fails any scan of its items: the usual spellings must be read directly."""

    def items(self) -> Any:
        raise AssertionError("headers scanned")


@pytest.mark.parametrize("spell", [str.title, str.lower], ids=["Title-Case", "lower-case"])
def test_usual_header_spellings_are_read_without_a_scan(spell: Callable[[str], str]) -> None:
    # The check runs on every unsafe request; the framework's mapping answers the
    # usual spellings directly, so a scan over every header is only a fallback.
    def headers(**values: str) -> UnscannableHeaders:
        return UnscannableHeaders({spell(name.replace("_", "-")): v for name, v in values.items()})

    assert (
        verify_request_origin(
            "POST",
            headers(sec_fetch_site="same-origin", origin="https://example.com", host="example.com"),
        )
        is True
    )
    assert (
        verify_request_origin(
            "POST",
            headers(
                sec_fetch_site="same-origin",
                origin="https://example.com",
                x_forwarded_host="example.com",
            ),
            trust_proxy=True,
        )
        is True
    )
    assert (
        verify_request_origin(
            "POST",
            headers(sec_fetch_site="cross-site", origin="https://example.com", host="example.com"),
        )
        is False
    )
