"""Fuzzing the request-header parsers and the redirect check: Cookie, Authorization,
the CSRF origin check and ``safe_next`` (SECURITY.md items 11, 14, 29).

Every parser here promises never to raise, whatever the header holds; the
properties pin down what it may return.
"""

from __future__ import annotations

import re
from urllib.parse import unquote, urlsplit

from hypothesis import Phase, example, find, given, settings
from hypothesis import strategies as st

from lucia import Lucia, verify_request_origin
from lucia.adapters.memory import MemoryAdapter
from lucia.cookies import parse_cookie_header, read_bearer_token, read_cookie
from lucia.redirects import safe_next
from tests.fuzz.common import ATTACK_TEXT, fuzz

_COOKIE_OCTETS = re.compile(r"[\x21\x23-\x2b\x2d-\x3a\x3c-\x5b\x5d-\x7e]+")
_TOKEN68 = re.compile(r"[A-Za-z0-9\-._~+/]+=*")

AUTH = Lucia(MemoryAdapter(), cookie_host_prefix=True)
NAME = AUTH.session_cookie_name  # __Host-auth_session

header_text = st.one_of(
    ATTACK_TEXT,
    st.text(max_size=200),
    st.binary(max_size=80).map(lambda raw: raw.decode("latin-1")),
)
pairs = st.lists(
    st.tuples(
        st.one_of(st.sampled_from([NAME, NAME.upper(), "__HOST-auth_session", "x"]), ATTACK_TEXT),
        st.one_of(st.just("T0k3n_-.value"), ATTACK_TEXT),
    ),
    max_size=6,
)
separators = st.sampled_from([";", "; ", ";;", " ; ", ";\t", ","])


@st.composite
def cookie_headers(draw: st.DrawFn) -> str:
    """Cookie headers built from pairs around the session cookie's name, or plain noise."""
    if draw(st.booleans()):
        return draw(header_text)
    items = draw(pairs)
    return "".join(f"{name}={value}{draw(separators)}" for name, value in items)


@fuzz(300)
@given(cookie_headers())
@example('__Host-auth_session="abc"')
@example("__HOST-auth_session=abc")
@example("__Host-auth_session=; __Host-auth_session=abc")
def test_fuzz_sec11_read_session_cookie(header: str) -> None:
    value = AUTH.read_session_cookie(header)
    assert value == read_cookie(header, NAME)
    parsed = parse_cookie_header(header)
    if value is None:
        assert not parsed.get(NAME)
    else:
        # Only a well-formed value of exactly this (case-sensitive) name.
        assert _COOKIE_OCTETS.fullmatch(value)
        if "," not in header:
            assert parsed[NAME] == value
        # A comma may end the session cookie's own value (HTTP/2 fields joined
        # with ","), never another cookie's: the pair still stands in the header,
        # ended by a separator or the header's end.
        assert re.search(
            rf'(?:^|[;,])[ \t]*{re.escape(NAME)}=("?){re.escape(value)}\1[ \t]*(?:[;,]|$)', header
        )
    for name, parsed_value in parsed.items():
        assert name in header
        assert parsed_value == "" or _COOKIE_OCTETS.fullmatch(parsed_value)


def test_fuzz_sec11_cookie_headers_reach_the_session_cookie() -> None:
    # The property above says most when a value is read: the headers must hold one.
    find(
        cookie_headers(),
        lambda header: AUTH.read_session_cookie(header) is not None,
        settings=settings(
            max_examples=300, database=None, derandomize=True, phases=[Phase.generate]
        ),
    )


@fuzz(300)
@given(st.one_of(st.none(), st.integers(), st.binary(max_size=20), st.lists(st.text())))
def test_fuzz_cookie_readers_take_any_object(header: object) -> None:
    assert AUTH.read_session_cookie(header) is None  # type: ignore[arg-type]
    assert parse_cookie_header(header) == {}  # type: ignore[arg-type]


schemes = st.sampled_from(["Bearer", "bearer", "BEARER", "Basic", "Bearer:", "Token", ""])


@st.composite
def authorization_headers(draw: st.DrawFn) -> str:
    if draw(st.booleans()):
        return draw(header_text)
    space = draw(st.sampled_from([" ", "  ", "\t", "", " \t"]))
    token = draw(st.one_of(st.from_regex(_TOKEN68, fullmatch=True), ATTACK_TEXT))
    return f"{draw(st.sampled_from(['', ' ', chr(9)]))}{draw(schemes)}{space}{token}"


@fuzz(300)
@given(authorization_headers())
@example("Bearer a b")
@example("Bearer ")
@example("Bearer\x00abc")
def test_fuzz_read_bearer_token(header: str) -> None:
    token = AUTH.read_bearer_token(header)
    assert token == read_bearer_token(header)
    if token is not None:
        assert _TOKEN68.fullmatch(token)
        scheme, _, rest = header.strip(" \t").partition(" ")
        assert scheme.lower() == "bearer"
        assert rest.strip(" ") == token


def test_fuzz_authorization_headers_reach_a_token() -> None:
    find(
        authorization_headers(),
        lambda header: AUTH.read_bearer_token(header) is not None,
        settings=settings(
            max_examples=300, database=None, derandomize=True, phases=[Phase.generate]
        ),
    )


methods = st.one_of(
    st.sampled_from(["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "post", "OPTIONS"]),
    ATTACK_TEXT,
)
header_names = st.sampled_from(
    ["Origin", "origin", "ORIGIN", "Host", "host", "Sec-Fetch-Site", "X-Forwarded-Host", "Referer"]
)
# Origins and hosts built from the parts the check compares (scheme, host, port),
# so that many requests come close to passing and some pass.
built_origins = st.builds(
    "{}://{}{}".format,
    st.sampled_from(["https", "http", "HTTPS", "ftp", ""]),
    st.sampled_from(
        [
            "example.com",
            "EXAMPLE.com",
            "sub.example.com",
            "example.com.evil.test",
            "[::1]",
            "127.0.0.1",
            "example.com.",
        ]
    ),
    st.sampled_from(["", ":443", ":80", ":8000", ":65535", ":65536", ":0443", ":", ":x"]),
)
built_hosts = st.builds(
    "{}{}".format,
    st.sampled_from(["example.com", "EXAMPLE.com", "sub.example.com", "[::1]", "127.0.0.1"]),
    st.sampled_from(["", ":443", ":80", ":8000", ":65536"]),
)
origin_values = st.one_of(
    built_origins,
    built_hosts,
    st.sampled_from(
        [
            "https://example.com",
            "https://foo.example.com",
            "https://example.com.evil.test",
            "http://example.com",
            "null",
            "https://example.com:443",
            "https://EXAMPLE.com",
            "https://example.com:0443",
            "https://evil.test",
            "cross-site",
            "same-origin",
            "example.com",
        ]
    ),
    ATTACK_TEXT,
)


@st.composite
def coherent_headers(draw: st.DrawFn) -> dict[str, str]:
    """An Origin and a Host (or X-Forwarded-Host) made from one host, then perhaps
    changed or joined by noise: requests at the edge of passing the check."""
    host = draw(st.sampled_from(["example.com", "sub.example.com", "[::1]", "127.0.0.1"]))
    port = draw(st.sampled_from(["", ":443", ":8000"]))
    scheme = draw(st.sampled_from(["https", "http"]))
    where = draw(st.sampled_from(["Host", "host", "X-Forwarded-Host"]))
    headers = {
        "Origin": f"{scheme}://{host}{port}",
        where: draw(st.sampled_from([host + port, host.upper() + port, host, "other.test"])),
    }
    if draw(st.booleans()):
        headers["Sec-Fetch-Site"] = draw(st.sampled_from(["same-origin", "cross-site", "none"]))
    headers.update(draw(st.dictionaries(header_names, origin_values, max_size=2)))
    return headers


request_headers = st.one_of(
    st.dictionaries(header_names, origin_values, max_size=5), coherent_headers()
)
allowed_entries = st.one_of(st.just(()), st.lists(origin_values, max_size=3), origin_values)


@fuzz(300)
@given(methods, request_headers, allowed_entries, st.booleans())
def test_fuzz_sec14_verify_request_origin(
    method: str, headers: dict[str, str], allowed: object, trust_proxy: bool
) -> None:
    ok = verify_request_origin(method, headers, allowed, trust_proxy=trust_proxy)  # type: ignore[arg-type]
    assert ok is True or ok is False
    if method.upper() in {"GET", "HEAD", "OPTIONS", "TRACE"}:
        assert ok
        return
    if not ok:
        return
    # An unsafe request passed: it carried an origin, not "null", not marked cross-site,
    # and that origin's host is one that was allowed (or the request's host).
    # (A dict may hold several spellings of a name; real header mappings do not, so
    # the check is that one of them meets the rules.)
    origins = [v.strip(" \t") for k, v in headers.items() if k.lower() == "origin"]
    sites = [v for k, v in headers.items() if k.lower() == "sec-fetch-site"]
    assert all(site.strip(" \t").lower() != "cross-site" for site in sites)
    candidates = [allowed] if isinstance(allowed, str) else list(allowed)  # type: ignore[call-overload]
    if not candidates:
        candidates = [v for k, v in headers.items() if k.lower() in ("host", "x-forwarded-host")]
    hosts = [urlsplit(origin).hostname for origin in origins if origin != "null"]
    assert any(host and any(host.lower() in str(c).lower() for c in candidates) for host in hosts)


def test_fuzz_sec14_strategies_reach_both_verdicts() -> None:
    # The property above checks accepted requests: the strategies must produce some,
    # with and without allowed entries (Hypothesis has to find each), not only
    # requests refused at the first check.
    requests = st.tuples(st.just("POST"), request_headers, allowed_entries, st.booleans())
    quick = settings(max_examples=300, database=None, derandomize=True, phases=[Phase.generate])

    def accepted(request: tuple[str, dict[str, str], object, bool]) -> bool:
        method, headers, allowed, trust_proxy = request
        return verify_request_origin(method, headers, allowed, trust_proxy=trust_proxy)  # type: ignore[arg-type]

    find(requests, lambda request: accepted(request) and request[2] != (), settings=quick)
    find(requests, lambda request: accepted(request) and request[2] == (), settings=quick)
    find(requests, lambda request: accepted(request) and request[3], settings=quick)


@fuzz(200)
@given(st.dictionaries(ATTACK_TEXT, origin_values, max_size=4), ATTACK_TEXT)
def test_fuzz_sec14_verify_request_origin_refuses_foreign_hosts(
    headers: dict[str, str], path: str
) -> None:
    """Whatever else the request holds, an origin other than example.com is refused."""
    foreign = {k: v for k, v in headers.items() if k.lower() != "origin"}
    foreign["Origin"] = "https://evil.test"
    foreign["Host"] = "example.com"
    assert not verify_request_origin("POST", foreign, ["https://example.com"])
    assert not verify_request_origin("POST", foreign)


# SECURITY.md item 29: the attack alphabet, as seeds and as building blocks.
ATTACKS = [
    "//evil.com",
    "/\\evil.com",
    "https://evil.com",
    "%2F%2Fevil.com",
    "/%2F/evil.com",
    "/%2f%2fevil.com",
    "/%5Cevil.com",
    "javascript:x",
    "https://app@evil.com",
    "/\t/evil.com",
    "/\n/evil.com",
    "\t//evil.com",
    "/%09/evil.com",
    "/%252F/evil.com",
    "/%25252F/evil.com",
    "\\\\evil.com",
    "/\uff0f/evil.com",
    "http:/evil.com",
    "/..//evil.com",
]
attack_pieces = st.sampled_from(
    [*ATTACKS, "/", "//", "\\", "%2F", "%5C", "%09", "%0a", "%25", ":", "@", "evil.com", "a"]
)
next_values = st.one_of(
    ATTACK_TEXT,
    st.lists(attack_pieces, max_size=5).map("".join),
    st.lists(st.one_of(attack_pieces, ATTACK_TEXT), max_size=4).map("".join),
)


def _is_safe_target(target: str) -> bool:
    """What a browser could make of ``target``, decoded any number of times, stays on site."""
    candidate = target
    for _ in range(5):
        parts = urlsplit(candidate)
        if (
            not candidate.startswith("/")
            or "//" in parts.path
            or "\\" in candidate
            or any(ord(c) < 0x20 or 0x7F <= ord(c) <= 0x9F for c in candidate)
            or parts.scheme
            or parts.netloc
        ):
            return False
        candidate = unquote(candidate)
    return True


@fuzz(600)
@given(next_values, st.sampled_from(["/", "/home", "/dashboard?tab=1"]))
def test_fuzz_sec29_safe_next(value: str, default: str) -> None:
    result = safe_next(value, default)
    assert result in (value, default)
    assert _is_safe_target(result)
    assert all("\x21" <= char <= "\x7e" for char in result)
    assert len(result) <= 2048


@fuzz(100)
@given(st.sampled_from(ATTACKS), st.sampled_from(["", "\t", "\n", " ", "%20"]))
def test_fuzz_sec29_attack_alphabet_goes_to_default(attack: str, pad: str) -> None:
    assert safe_next(pad + attack, "/home") == "/home"
    assert safe_next(attack + pad, "/home") == "/home"
