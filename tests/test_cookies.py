"""Tests for lucia.cookies: Set-Cookie serialisation and the Cookie / Authorization readers."""

from __future__ import annotations

import string
from collections.abc import Callable

import pytest
from hypothesis import given
from hypothesis import strategies as st

from lucia import Lucia
from lucia.adapters.memory import MemoryAdapter
from lucia.cookies import (
    MAX_COOKIE_AGE,
    Cookie,
    CookieAttributes,
    parse_cookie_header,
    read_bearer_token,
    read_cookie,
    read_cookies,
)

TOKEN_CHARS = "!#$%&'*+-.^_`|~" + string.ascii_letters + string.digits
COOKIE_OCTETS = "".join(chr(c) for c in range(0x21, 0x7F) if chr(c) not in {'"', ",", ";", "\\"})
SECRET = "s3cr3t-t0ken-value"


# --- serialisation ---------------------------------------------------------------


def test_sec11_session_cookie_attributes() -> None:
    cookie = Cookie("auth_session", "abc123", CookieAttributes(max_age=3600))
    assert cookie.serialize() == (
        "auth_session=abc123; Max-Age=3600; Path=/; HttpOnly; Secure; SameSite=Lax"
    )
    assert "Domain" not in cookie.serialize()


def test_defaults_make_a_secure_browser_session_cookie() -> None:
    assert CookieAttributes() == CookieAttributes(
        path="/", domain=None, max_age=None, secure=True, http_only=True, same_site="lax"
    )
    assert str(Cookie("auth_session", "abc")) == (
        "auth_session=abc; Path=/; HttpOnly; Secure; SameSite=Lax"
    )


def test_str_equals_serialize() -> None:
    cookie = Cookie("a", "b", CookieAttributes(max_age=5, same_site="strict"))
    assert str(cookie) == cookie.serialize()


def test_sec11_strict_same_site() -> None:
    cookie = Cookie("auth_session", "v", CookieAttributes(max_age=60, same_site="strict"))
    assert cookie.serialize() == (
        "auth_session=v; Max-Age=60; Path=/; HttpOnly; Secure; SameSite=Strict"
    )


def test_sec13_oauth_cookie_none_needs_secure() -> None:
    cookie = Cookie("oauth_state", "st", CookieAttributes(max_age=600, same_site="none"))
    assert cookie.serialize() == (
        "oauth_state=st; Max-Age=600; Path=/; HttpOnly; Secure; SameSite=None"
    )
    with pytest.raises(ValueError, match="SameSite=None"):
        CookieAttributes(same_site="none", secure=False)


def test_sec12_browser_session_cookie_has_no_max_age() -> None:
    serialized = Cookie("auth_session", "v", CookieAttributes(max_age=None)).serialize()
    assert "Max-Age" not in serialized
    assert "Expires" not in serialized


def test_sec12_max_age_clamped_to_400_days() -> None:
    assert MAX_COOKIE_AGE == 400 * 24 * 3600 == 34_560_000
    cookie = Cookie("auth_session", "v", CookieAttributes(max_age=10 * 365 * 24 * 3600))
    assert cookie.serialize().split("; ")[1] == "Max-Age=34560000"
    exact = Cookie("auth_session", "v", CookieAttributes(max_age=MAX_COOKIE_AGE))
    assert exact.serialize().split("; ")[1] == "Max-Age=34560000"


@pytest.mark.parametrize("max_age", [0, -1, -(10**12)])
def test_sec12_max_age_clamped_at_zero(max_age: int) -> None:
    cookie = Cookie("auth_session", "", CookieAttributes(max_age=max_age))
    assert cookie.serialize() == (
        "auth_session=; Max-Age=0; Path=/; HttpOnly; Secure; SameSite=Lax"
    )


def test_insecure_cookie_for_local_development() -> None:
    attrs = CookieAttributes(secure=False, http_only=False, path="/app", domain="example.com")
    assert Cookie("x", "1", attrs).serialize() == "x=1; Path=/app; Domain=example.com; SameSite=Lax"


def test_sec11_host_prefix_cookie_serialises() -> None:
    cookie = Cookie("__Host-auth_session", "tok", CookieAttributes(max_age=60))
    assert cookie.serialize() == (
        "__Host-auth_session=tok; Max-Age=60; Path=/; HttpOnly; Secure; SameSite=Lax"
    )


@pytest.mark.parametrize(
    "attrs",
    [
        CookieAttributes(secure=False),
        CookieAttributes(domain="example.com"),
        CookieAttributes(path="/app"),
    ],
    ids=["not-secure", "domain", "path"],
)
@pytest.mark.parametrize("name", ["__Host-auth_session", "__HOST-auth_session", "__host-x"])
def test_sec11_host_prefix_rules_enforced(name: str, attrs: CookieAttributes) -> None:
    with pytest.raises(ValueError, match="__Host-"):
        Cookie(name, "tok", attrs).serialize()


def test_sec11_secure_prefix_rules() -> None:
    ok = Cookie("__Secure-id", "v", CookieAttributes(domain="example.com", path="/a"))
    assert (
        ok.serialize()
        == "__Secure-id=v; Path=/a; Domain=example.com; HttpOnly; Secure; SameSite=Lax"
    )
    for name in ("__Secure-id", "__SECURE-id"):
        with pytest.raises(ValueError, match="__Secure-"):
            Cookie(name, "v", CookieAttributes(secure=False))


@pytest.mark.parametrize(
    "value",
    [
        "a;b",
        "a,b",
        "a b",
        '"quoted"',
        "a\\b",
        "a\r\nSet-Cookie: evil=1",
        "a\nb",
        "a\x00b",
        "a\tb",
        "a\x7fb",
        "caf\u00e9",
        "tok\u2028",
    ],
)
def test_sec11_header_injection_values_refused(value: str) -> None:
    with pytest.raises(ValueError, match="cookie-octet") as excinfo:
        Cookie("auth_session", value).serialize()
    # The refused value may be a token: it must not reach logs through the error.
    assert value not in str(excinfo.value)
    assert value not in repr(excinfo.value)


@pytest.mark.parametrize(
    "name", ["", "a b", "a;b", "a=b", "a,b", "a\r\nb", "a\x00", "n\u00e9", "(x)", 'a"b', "a/b"]
)
def test_invalid_names_refused(name: str) -> None:
    with pytest.raises(ValueError, match="token"):
        Cookie(name, "v")


@pytest.mark.parametrize(
    ("path", "domain"),
    [
        ("/a;b", None),
        ("/a\r\nSet-Cookie: x=y", None),
        ("/a\x00", None),
        ("/\x7f", None),
        ("/caf\u00e9", None),
        ("", None),
        ("relative", None),
        ("/", "example.com; Secure"),
        ("/", "example.com\r\n"),
        ("/", "exa\x00mple.com"),
        ("/", ""),
        ("/", "exa mple.com"),
        ("/", "b\u00fccher.de"),
    ],
)
def test_unsafe_path_or_domain_refused(path: str, domain: str | None) -> None:
    with pytest.raises(ValueError, match=r"^cookie (path|domain) "):
        Cookie("x", "v", CookieAttributes(path=path, domain=domain)).serialize()


def test_legacy_leading_dot_domain_allowed() -> None:
    assert (
        "Domain=.example.com"
        in Cookie("x", "v", CookieAttributes(domain=".example.com")).serialize()
    )


def test_unknown_same_site_refused() -> None:
    with pytest.raises(ValueError, match="same_site"):
        CookieAttributes(same_site="Lax")  # type: ignore[arg-type]


def test_wrong_types_refused() -> None:
    with pytest.raises(TypeError):
        Cookie("x", 123)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        CookieAttributes(max_age=1.5)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        CookieAttributes(max_age=True)


def test_repr_masks_the_value() -> None:
    cookie = Cookie("auth_session", SECRET, CookieAttributes(max_age=60))
    text = repr(cookie)
    assert SECRET not in text
    assert text.startswith(
        "Cookie(name='auth_session', value=<masked>, attributes=CookieAttributes("
    )
    assert "max_age=60" in text
    assert SECRET not in f"{[cookie]}"


def test_cookie_is_immutable() -> None:
    cookie = Cookie("a", "b")
    with pytest.raises(AttributeError):
        cookie.value = "evil"  # type: ignore[misc]


# --- parse_cookie_header / read_cookie -------------------------------------------


def test_parse_normal_header() -> None:
    assert parse_cookie_header("a=1; b=2;c=3") == {"a": "1", "b": "2", "c": "3"}
    assert parse_cookie_header(" \ta=1 ;\tb=x=y  ") == {"a": "1", "b": "x=y"}


def test_parse_empty_value() -> None:
    assert parse_cookie_header("a=; b=2") == {"a": "", "b": "2"}


def test_parse_quoted_value() -> None:
    assert parse_cookie_header('a="hello"; b=""; c="x') == {"a": "hello", "b": ""}
    # Only one pair of quotes is removed; inner quotes are not cookie-octets.
    assert parse_cookie_header('a=""x""') == {}


def test_parse_duplicate_first_wins() -> None:
    assert parse_cookie_header("a=specific; a=general") == {"a": "specific"}
    assert read_cookie("a=specific; a=general", "a") == "specific"


def test_sec11_names_are_case_sensitive() -> None:
    header = "__HOST-auth_session=attacker; __Host-auth_session=real"
    assert parse_cookie_header(header) == {
        "__HOST-auth_session": "attacker",
        "__Host-auth_session": "real",
    }
    assert read_cookie(header, "__Host-auth_session") == "real"
    assert read_cookie("__HOST-auth_session=attacker", "__Host-auth_session") is None
    assert read_cookie("AUTH_SESSION=x", "auth_session") is None


def test_parse_skips_malformed_pairs() -> None:
    header = 'bad name=1; noequals; =novalue; good=1; sp=a b; semi="a;b"; bs=a\\b; ok=2'
    assert parse_cookie_header(header) == {"good": "1", "ok": "2"}


def test_parse_skipped_pair_does_not_shadow_later_valid_one() -> None:
    assert parse_cookie_header("a=bad value; a=good") == {"a": "good"}


@pytest.mark.parametrize(
    "header",
    [";;;", "=", "a", "\x00", "", " ", "=;=;=", "a\x00=b", "\r\n", "é=1", "a=é", ";=;a;"],
)
def test_parse_garbage_headers(header: str) -> None:
    assert parse_cookie_header(header) == {}


def test_parse_overlong_header_ignored() -> None:
    header = "a=1; " + "b" * 100_000
    assert len(header) > 64 * 1024
    assert parse_cookie_header(header) == {}
    assert read_cookie(header, "a") is None
    # Just under the limit still parses.
    near = "a=1; pad=" + "x" * (64 * 1024 - 9)
    assert len(near) == 64 * 1024
    assert parse_cookie_header(near)["a"] == "1"


@pytest.mark.parametrize("header", [None, b"a=1", 42, ["a=1"], {"a": "1"}, object()])
def test_parse_non_str_gives_empty(header: object) -> None:
    assert parse_cookie_header(header) == {}  # type: ignore[arg-type]
    assert read_cookie(header, "a") is None  # type: ignore[arg-type]


def test_read_cookie() -> None:
    header = "other=1; auth_session=tok; x=2"
    assert read_cookie(header, "auth_session") == "tok"
    assert read_cookie(header, "missing") is None
    assert read_cookie("auth_session=", "auth_session") is None
    assert read_cookie('auth_session=""', "auth_session") is None
    assert read_cookie('auth_session="tok"', "auth_session") == "tok"
    assert read_cookie(None, "auth_session") is None


# --- read_bearer_token -----------------------------------------------------------


@pytest.mark.parametrize(
    ("header", "token"),
    [
        ("Bearer abc", "abc"),
        ("bearer abc", "abc"),
        ("BEARER abc", "abc"),
        ("BeArEr abc", "abc"),
        ("Bearer    abc", "abc"),
        ("Bearer a-b.c_d~e+f/g==", "a-b.c_d~e+f/g=="),
        ("Bearer abc=", "abc="),
        ("  Bearer abc  ", "abc"),
    ],
)
def test_read_bearer_token_accepts(header: str, token: str) -> None:
    assert read_bearer_token(header) == token


@pytest.mark.parametrize(
    "header",
    [
        None,
        "",
        "Bearer",
        "Bearer ",
        "Bearer  ",
        "Basic dXNlcjpwYXNz",
        "Bearer abc def",
        "Bearer abc,def",
        "Bearer\tabc",
        "Bearerabc",
        "Bearer =abc",
        "Bearer ab=c",
        "Bearer abc\r\nX: y",
        "Bearer ab\u00e9",
        "Bearer \u017f",  # long s: case-folds to "s" under re.IGNORECASE
        "Token abc",
        "Bearer abc;",
        "Bearer Bearer abc",
        "B\u0435arer abc",  # Cyrillic "e"
    ],
)
def test_read_bearer_token_refuses(header: str | None) -> None:
    assert read_bearer_token(header) is None


@pytest.mark.parametrize("header", [b"Bearer abc", 1, ["Bearer abc"], object()])
def test_read_bearer_token_non_str(header: object) -> None:
    assert read_bearer_token(header) is None  # type: ignore[arg-type]


# --- properties ------------------------------------------------------------------

names = st.text(alphabet=TOKEN_CHARS, min_size=1, max_size=40)
values = st.text(alphabet=COOKIE_OCTETS, max_size=200)


@given(st.text(max_size=2000))
def test_readers_never_raise(text: str) -> None:
    result = parse_cookie_header(text)
    assert isinstance(result, dict)
    for name, value in result.items():
        assert read_cookie(text, name) == (value or None)
    read_cookie(text, text)
    token = read_bearer_token(text)
    assert token is None or token in text


@given(st.lists(st.tuples(st.text(max_size=20), st.text(max_size=20)), max_size=10))
def test_parse_structured_garbage_never_raises(pairs: list[tuple[str, str]]) -> None:
    header = "; ".join(f"{n}={v}" for n, v in pairs)
    for name, value in parse_cookie_header(header).items():
        assert "=" not in name
        assert ";" not in value


# Values carry a marker half of the time, so an error message that echoed the
# value would be caught whatever else the value holds.
marked_values = st.one_of(
    st.text(max_size=80),
    st.builds(lambda a, b: a + "SECRET" + b, st.text(max_size=40), st.text(max_size=40)),
)


@given(
    st.text(max_size=40),
    marked_values,
    st.text(max_size=30),
    st.one_of(st.none(), st.text(max_size=30)),
    st.sampled_from(["lax", "strict", "none"]),
    st.booleans(),
)
def test_serialize_never_injects(
    name: str, value: str, path: str, domain: str | None, same_site: str, secure: bool
) -> None:
    refusal: ValueError | None = None
    try:
        attrs = CookieAttributes(
            path=path,
            domain=domain,
            same_site=same_site,  # type: ignore[arg-type]
            secure=secure,
        )
        serialized = Cookie(name, value, attrs).serialize()
    except ValueError as error:
        refusal = error
    if refusal is not None:
        if "SECRET" not in name + path + (domain or ""):
            assert "SECRET" not in str(refusal)
        return
    assert serialized.split(";")[0] == f"{name}={value}"
    assert not any(ch in serialized for ch in "\r\n\x00")
    assert serialized.isascii()


@given(names, values, st.one_of(st.none(), st.integers()))
def test_round_trip(name: str, value: str, max_age: int | None) -> None:
    cookie = Cookie(name, value, CookieAttributes(max_age=max_age))
    serialized = cookie.serialize()
    assert serialized.split(";")[0] == f"{name}={value}"
    assert parse_cookie_header(f"{name}={value}") == {name: value}
    # The Set-Cookie value itself starts with the pair, so the parser finds it first.
    assert parse_cookie_header(serialized)[name] == value
    if name != "x":
        assert read_cookie(f"x=1; {serialized}", name) == (value or None)


@given(st.text(alphabet="ABCabc012-._~+/", min_size=1, max_size=60), st.integers(0, 3))
def test_bearer_round_trip(token: str, padding: int) -> None:
    token += "=" * padding
    assert read_bearer_token(f"Bearer {token}") == token
    assert read_bearer_token(f"Bearer {token} x") is None


# --- What mutation testing showed unpinned (scripts/mutation.sh) ---------------------

SEPARATORS = [";", ",", "=", " ", "\t", "\r", "\n", "\x00", "\x1f", "\x7f", '"', "\\"]


@pytest.mark.parametrize("separator", SEPARATORS)
def test_separators_and_controls_in_names_refused(separator: str) -> None:
    for name in (f"a{separator}b", f"{separator}a", f"a{separator}"):
        with pytest.raises(ValueError, match=r"^cookie name is not an RFC 6265 token$"):
            Cookie(name, "v")
        with pytest.raises(ValueError, match="RFC 6265 token"):
            Lucia(MemoryAdapter(), session_cookie_name=name)


@pytest.mark.parametrize("separator", SEPARATORS)
def test_separators_and_controls_in_domains_refused(separator: str) -> None:
    for domain in (f"example{separator}com", f"{separator}example.com", f"example.com{separator}"):
        with pytest.raises(ValueError, match=r"^cookie domain must be an ASCII host name$"):
            CookieAttributes(domain=domain)
        with pytest.raises(ValueError, match="cookie domain"):
            Lucia(MemoryAdapter(), cookie_domain=domain)


def test_error_messages_say_what_is_wrong() -> None:
    cases: list[tuple[type[Exception], str, Callable[[], object]]] = [
        (TypeError, "cookie name and value must be str", lambda: Cookie(1, "v")),  # type: ignore[arg-type]
        (TypeError, "cookie name and value must be str", lambda: Cookie("x", 1)),  # type: ignore[arg-type]
        (
            TypeError,
            "cookie attributes must be a CookieAttributes",
            lambda: Cookie("x", "v", {"path": "/"}),  # type: ignore[arg-type]
        ),
        (
            ValueError,
            "cookie value holds a character outside RFC 6265 cookie-octet",
            lambda: Cookie("x", "a b"),
        ),
        (
            ValueError,
            "cookie path must start with '/' and hold only printable ASCII without ';'",
            lambda: CookieAttributes(path="x"),
        ),
        (
            TypeError,
            "cookie max_age must be an int (seconds) or None",
            lambda: CookieAttributes(max_age="60"),  # type: ignore[arg-type]
        ),
        (
            ValueError,
            "cookie same_site must be 'lax', 'strict' or 'none'",
            lambda: CookieAttributes(same_site="x"),  # type: ignore[arg-type]
        ),
        (
            ValueError,
            "a SameSite=None cookie must be Secure",
            lambda: CookieAttributes(same_site="none", secure=False),
        ),
    ]
    for error, message, build in cases:
        with pytest.raises(error) as caught:
            build()
        assert str(caught.value) == message


@pytest.mark.parametrize("space", ["\x0b", "\x0c", "\n", "\r", "\xa0"])
def test_cookie_pairs_are_trimmed_of_spaces_and_tabs_only(space: str) -> None:
    # RFC 6265's OWS is SP and HTAB: any other space makes the name no token.
    header = f"{space}auth_session=abc;{space}other=1"
    assert read_cookie(header, "auth_session") is None
    assert parse_cookie_header(header) == {}
    assert read_cookie(" \tauth_session=abc \t", "auth_session") == "abc"
    assert parse_cookie_header(" \tauth_session=abc \t; \tother=1") == {
        "auth_session": "abc",
        "other": "1",
    }


@pytest.mark.parametrize("space", ["\x0b", "\x0c", "\n", "\r", "\xa0"])
def test_bearer_header_trimmed_of_spaces_and_tabs_only(space: str) -> None:
    assert read_bearer_token(f"Bearer abc{space}") is None
    assert read_bearer_token(f"{space}Bearer abc") is None
    assert read_bearer_token(" \tBearer abc\t ") == "abc"


def test_bearer_token_kept_whole() -> None:
    assert read_bearer_token("Bearer abcX") == "abcX"
    assert read_bearer_token("Bearer Xabc") == "Xabc"
    assert read_bearer_token("XBearer abc") is None


# read_cookies (several cookies of one name): its one-occurrence fast path must read
# exactly as the walk over every pair does.

A = "A" * 20 + "." + "B" * 43
C = "C" * 20 + "." + "D" * 43


@pytest.mark.parametrize(
    ("header", "values"),
    [
        (f"x=1; auth_session={A}", [A]),
        (f"x=1;auth_session={A}", [A]),
        (f"x=1; \t auth_session={A}", [A]),
        (f"auth_session={A}; x=1; y=2", [A]),
        (f"auth_session={A}X", [A + "X"]),
        (f"auth_session={A} \t; x=1", [A]),
        (f"x=1;\nauth_session={A}", []),
        (f"x=1;Xauth_session={A}", []),
        (f"x=1;\x0bauth_session={A}", []),
        (f"auth_session={A}\n", []),
        (f"auth_session={A}\x0b; x=1", []),
        (f"\nauth_session={A}; auth_session={C}", [C]),
        (f"Xauth_session={A}; auth_session={C}", [C]),
        (f"\x0bauth_session={A}; auth_session={C}; auth_session={A}", [C, A]),
    ],
)
def test_read_cookies_reads_each_pair_by_its_exact_name(header: str, values: list[str]) -> None:
    assert read_cookies(header, "auth_session", 4) == values
    first = read_cookie(header, "auth_session")
    assert first == (values[0] if values else None)


def test_read_cookies_header_bound_is_inclusive() -> None:
    pair = f"auth_session={A}"
    longest = "x=" + "1" * (64 * 1024 - len(pair) - 4) + "; " + pair
    assert len(longest) == 64 * 1024
    assert read_cookies(longest, "auth_session", 4) == [A]
    assert read_cookie(longest, "auth_session") == A
    assert read_cookies("x" + longest, "auth_session", 4) == []
    assert read_cookie("x" + longest, "auth_session") is None


# Cookie fields joined with commas (Django under ASGI joins HTTP/2's several Cookie
# fields with ","): read where a comma can only be a separator, and nowhere else.


@pytest.mark.parametrize(
    ("header", "values"),
    [
        # Django's join of ["x=1; auth_session=A", "y=2"], and of [ours, an empty field].
        (f"x=1; auth_session={A},y=2", [A]),
        (f"auth_session={A},", [A]),
        (f",auth_session={A}", [A]),
        # HTTP/2 crumbs that keep their ";", joined with "," or ", ".
        (f"x=1;,auth_session={A};,y=2", [A]),
        (f"x=1;, auth_session={A}, y=2", [A]),
        (f"x=1; , \t,auth_session={A}", [A]),
        # A tossed cookie in an earlier field neither hides the real one nor goes unread.
        (f"auth_session={C},auth_session={A}", [C, A]),
        (f"auth_session={C}, auth_session={A},y=2", [C, A]),
    ],
)
def test_sec48_comma_joined_cookie_fields_are_read(header: str, values: list[str]) -> None:
    assert read_cookies(header, "auth_session", 4) == values
    assert read_cookie(header, "auth_session") == values[0]


@pytest.mark.parametrize(
    ("header", "values"),
    [
        # After another cookie's value a comma may be that value's own (document.cookie
        # keeps "q=x,auth_session=..."): whoever writes the value must not pick the session.
        (f"q=x,auth_session={A}", []),
        (f"q=x, auth_session={A}", []),
        (f"q=x,auth_session={A}; auth_session={C}", [C]),
        (f"auth_session={C},q=x,auth_session={A}", [C]),
        (f"q,auth_session={A}", []),
        (f"x=1;\n,auth_session={A}", []),
    ],
)
def test_a_comma_inside_another_cookies_value_separates_nothing(
    header: str, values: list[str]
) -> None:
    assert read_cookies(header, "auth_session", 4) == values
    assert read_cookie(header, "auth_session") == (values[0] if values else None)
    # The general parser keeps to RFC 6265: a value with a comma is no value.
    assert "auth_session" not in parse_cookie_header(header.replace(f"; auth_session={C}", ""))
