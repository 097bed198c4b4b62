"""Tests for lucia.passwords: SECURITY.md section C (items 16-19) and the hasher.

Argon2 at the default parameters costs tens of milliseconds, so the one real hash
is shared (module fixture) and needs_rehash is fed hand-built encoded strings.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import importlib.resources
import secrets
from collections.abc import Callable
from typing import Any

import argon2
import pytest
from argon2 import Type, extract_parameters
from hypothesis import Phase, find, given, settings
from hypothesis import strategies as st

from lucia import passwords
from lucia.errors import InvalidPasswordError
from lucia.passwords import (
    MAX_PASSWORD_LENGTH,
    MIN_PASSWORD_LENGTH,
    PasswordHasher,
    PasswordPolicy,
    is_common_password,
)

PASSWORD = "Correct Horse Battery Staple"
SALT = "Zm9vYmFyYmF6cXV4"


def b64(data: bytes) -> str:
    """argon2's encoding: standard base64 without padding."""
    return base64.b64encode(data).decode().rstrip("=")


def argon2_string(
    variant: str = "argon2id",
    *,
    v: int = 19,
    m: int = 19456,
    t: int = 2,
    p: int = 1,
    salt_len: int = 16,
    hash_len: int = 32,
) -> str:
    """A well-formed encoded argon2 string (it matches no password)."""
    return f"${variant}$v={v}$m={m},t={t},p={p}${b64(b's' * salt_len)}${b64(b'h' * hash_len)}"


def django_pbkdf2(password: str, iterations: int = 1000, salt: str = SALT) -> str:
    key = hashlib.pbkdf2_hmac("sha256", password.encode(), salt.encode(), iterations)
    return f"pbkdf2_sha256${iterations}${salt}${base64.b64encode(key).decode()}"


def werkzeug_pbkdf2(password: str, hash_name: str = "sha256", iterations: int = 1000) -> str:
    key = hashlib.pbkdf2_hmac(hash_name, password.encode(), SALT.encode(), iterations)
    return f"pbkdf2:{hash_name}:{iterations}${SALT}${key.hex()}"


def werkzeug_scrypt(password: str, n: int = 2**10, r: int = 8, p: int = 1) -> str:
    key = hashlib.scrypt(password.encode(), salt=SALT.encode(), n=n, r=r, p=p, maxmem=2**27)
    return f"scrypt:{n}:{r}:{p}${SALT}${key.hex()}"


def cheap_argon2(variant: Type) -> argon2.PasswordHasher:
    """Far below lucia's minimum on purpose: these hashes stand for old data."""
    return argon2.PasswordHasher(time_cost=1, memory_cost=8, parallelism=1, type=variant)


@pytest.fixture(scope="module")
def hasher() -> PasswordHasher:
    return PasswordHasher()


@pytest.fixture(scope="module")
def stored(hasher: PasswordHasher) -> str:
    return hasher.hash(PASSWORD)


@pytest.fixture
def count_calls(monkeypatch: pytest.MonkeyPatch) -> Callable[[Any, str], list[Any]]:
    """Wrap ``owner.name`` so each call's arguments are recorded; returns the record."""

    def install(owner: Any, name: str) -> list[Any]:
        calls: list[Any] = []
        original = getattr(owner, name)

        def spy(*args: Any, **kwargs: Any) -> Any:
            calls.append(args)
            return original(*args, **kwargs)

        monkeypatch.setattr(owner, name, spy)
        return calls

    return install


def reason_of(policy: PasswordPolicy, password: object) -> str | None:
    try:
        policy.check(password)
    except InvalidPasswordError as error:
        return error.reason
    return None


# --- 16. Hash parameters ------------------------------------------------------------


def test_sec16_new_hash_parameters(stored: str) -> None:
    params = extract_parameters(stored)
    assert stored.startswith("$argon2id$")
    assert params.type is Type.ID
    assert params.version == 19
    assert params.memory_cost >= 19456
    assert params.time_cost >= 2
    assert params.parallelism == 1
    assert params.salt_len >= 16


def test_sec16_fresh_hash_needs_no_rehash(hasher: PasswordHasher, stored: str) -> None:
    assert hasher.needs_rehash(stored) is False
    assert hasher.needs_rehash(argon2_string(m=65536, t=3)) is False


@pytest.mark.parametrize(
    "hashed",
    [
        pytest.param(argon2_string(m=8, t=1), id="argon2id-tiny"),
        pytest.param(argon2_string(m=19455), id="argon2id-m-below"),
        pytest.param(argon2_string(t=1), id="argon2id-t-below"),
        pytest.param(argon2_string(v=16), id="argon2id-v1.0"),
        pytest.param(argon2_string(salt_len=8), id="argon2id-short-salt"),
        pytest.param(argon2_string(hash_len=16), id="argon2id-short-hash"),
        pytest.param(argon2_string("argon2i"), id="argon2i"),
        pytest.param(argon2_string("argon2d"), id="argon2d"),
        pytest.param("argon2" + argon2_string(), id="django-argon2"),
        pytest.param(django_pbkdf2("x"), id="django-pbkdf2"),
        pytest.param(werkzeug_pbkdf2("x"), id="werkzeug-pbkdf2"),
        pytest.param(werkzeug_pbkdf2("x").replace(":1000$", "$"), id="werkzeug-pbkdf2-bare"),
        pytest.param(werkzeug_scrypt("x"), id="werkzeug-scrypt"),
        pytest.param("garbage", id="garbage"),
        pytest.param("", id="empty"),
    ],
)
def test_sec16_weaker_and_legacy_hashes_need_rehash(hasher: PasswordHasher, hashed: str) -> None:
    assert hasher.needs_rehash(hashed) is True


def test_sec16_real_weak_argon2_hashes_need_rehash(hasher: PasswordHasher) -> None:
    assert hasher.needs_rehash(cheap_argon2(Type.ID).hash("x")) is True
    assert hasher.needs_rehash(cheap_argon2(Type.I).hash("x")) is True


def test_sec16_stronger_hasher_rehashes_default_hash(stored: str) -> None:
    assert PasswordHasher(memory_cost=47104, time_cost=2).needs_rehash(stored) is True


@pytest.mark.parametrize(
    "kwargs",
    [
        {"memory_cost": 19455},
        {"time_cost": 1},
        {"memory_cost": 47103, "time_cost": 1},
        {"memory_cost": 47104, "time_cost": 0},
        {"parallelism": 0},
        {"salt_len": 8},
        {"hash_len": 8},
        # Above what verify accepts, so its hashes could never be checked.
        {"memory_cost": 2**21},
        {"parallelism": 65},
    ],
)
def test_sec16_constructor_refuses_weak_parameters(kwargs: dict[str, int]) -> None:
    with pytest.raises(ValueError, match="argon2"):
        PasswordHasher(**kwargs)


@pytest.mark.parametrize(
    "kwargs",
    [{}, {"memory_cost": 47104, "time_cost": 1}, {"memory_cost": 65536, "time_cost": 3}],
)
def test_sec16_constructor_accepts_owasp_parameters(kwargs: dict[str, int]) -> None:
    assert "PasswordHasher(" in repr(PasswordHasher(**kwargs))


# --- 17. Length -------------------------------------------------------------------


def unusual(length: int) -> str:
    return ("vQ7#kz!Lm2" * (length // 10 + 1))[:length]


@pytest.mark.parametrize(
    ("length", "reason"),
    [(0, "too_short"), (7, "too_short"), (8, None), (64, None), (256, None), (257, "too_long")],
)
def test_sec17_length_bounds(length: int, reason: str | None) -> None:
    assert (MIN_PASSWORD_LENGTH, MAX_PASSWORD_LENGTH) == (8, 256)
    assert reason_of(PasswordPolicy(), unusual(length)) == reason


def test_sec17_megabyte_password_refused_before_any_work(
    count_calls: Callable[[Any, str], list[Any]], monkeypatch: pytest.MonkeyPatch
) -> None:
    common_calls = count_calls(passwords, "is_common_password")
    lucia_hash_calls = count_calls(PasswordHasher, "hash")
    argon2_hash_calls = count_calls(argon2.PasswordHasher, "hash")
    breached_calls: list[str] = []

    def breached(password: str) -> bool:
        breached_calls.append(password)
        return False

    with pytest.raises(InvalidPasswordError) as caught:
        PasswordPolicy(breached_checker=breached).check("a" * 1_000_000)

    assert caught.value.reason == "too_long"
    assert common_calls == []
    assert breached_calls == []
    assert lucia_hash_calls == []
    assert argon2_hash_calls == []


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=300))
def test_sec17_length_in_characters(password: str) -> None:
    reason = reason_of(PasswordPolicy(reject_common=False), password)
    if len(password) < 8:
        assert reason == "too_short"
    elif len(password) > 256:
        assert reason == "too_long"
    else:
        assert reason is None


def test_sec17_custom_bounds_and_their_validation() -> None:
    policy = PasswordPolicy(min_length=12, max_length=20)
    assert reason_of(policy, unusual(11)) == "too_short"
    assert reason_of(policy, unusual(12)) is None
    assert reason_of(policy, unusual(21)) == "too_long"
    for bad in ({"min_length": 0}, {"min_length": 10, "max_length": 9}):
        with pytest.raises(ValueError, match="min_length"):
            PasswordPolicy(**bad)  # type: ignore[arg-type]


@pytest.mark.parametrize("value", [None, 12345678, b"bytes-password", ["a" * 10]])
def test_sec17_non_strings_refused(value: object) -> None:
    assert reason_of(PasswordPolicy(), value) == "not_a_string"


def test_sec17_lone_surrogate_refused_not_crashing() -> None:
    # json.loads('"\\ud800..."') produces such strings; they cannot be hashed.
    assert reason_of(PasswordPolicy(), "\ud800" + unusual(10)) == "not_a_string"


# --- 18. Accept passwords as typed ---------------------------------------------------


def test_sec18_no_trimming_in_policy() -> None:
    # Trimmed, "1234567 " would be both too short and common.
    assert reason_of(PasswordPolicy(), "1234567 ") is None
    assert reason_of(PasswordPolicy(), "  lowercase only  ") is None
    assert reason_of(PasswordPolicy(), "abcdefghijkq") is None  # no composition rules


def test_sec18_spaces_are_part_of_the_password(hasher: PasswordHasher) -> None:
    spaced = "  " + PASSWORD + " "
    hashed = hasher.hash(spaced)
    assert hasher.verify(hashed, spaced) is True
    assert hasher.verify(hashed, PASSWORD) is False
    assert hasher.verify(hashed, spaced.strip()) is False


def test_sec18_case_is_significant(hasher: PasswordHasher, stored: str) -> None:
    assert hasher.verify(stored, PASSWORD.lower()) is False
    assert hasher.verify(stored, PASSWORD.upper()) is False


def test_sec18_unicode_round_trip(hasher: PasswordHasher) -> None:
    password = "пароль 密码 🔑 Straße"
    PasswordPolicy().check(password)
    hashed = hasher.hash(password)
    assert hasher.verify(hashed, password) is True
    assert hasher.verify(hashed, password.casefold()) is False


# --- 19. Common and breached passwords --------------------------------------------


def bundled_entries() -> list[str]:
    resource = importlib.resources.files("lucia") / "data" / "common-passwords.txt"
    text = resource.read_text(encoding="utf-8")
    return [line for line in text.splitlines() if line and not line.startswith("#")]


def test_sec19_bundled_list_has_3000_entries() -> None:
    entries = bundled_entries()
    assert len(entries) == 3000
    assert len(set(entries)) == 3000
    # Most common first.
    assert entries[0] == "123456789"
    assert all(len(entry) >= 8 for entry in entries)
    assert "password" in entries[:10]
    # The lazily loaded set holds the whole file, first line to last.
    assert is_common_password(entries[0])
    assert is_common_password(entries[-1])


@pytest.mark.parametrize("password", ["password", "12345678", "PASSWORD", "PassWord", "iloveyou"])
def test_sec19_common_passwords_refused(password: str) -> None:
    assert reason_of(PasswordPolicy(), password) == "too_common"


def test_sec19_common_check_can_be_turned_off() -> None:
    assert reason_of(PasswordPolicy(reject_common=False), "password") is None


def test_sec19_strong_random_password_accepted() -> None:
    password = secrets.token_urlsafe(24)
    assert not is_common_password(password)
    assert reason_of(PasswordPolicy(), password) is None


def test_sec19_breached_checker_stub() -> None:
    seen: list[str] = []
    verdict = True

    def checker(password: str) -> bool:
        seen.append(password)
        return verdict

    policy = PasswordPolicy(breached_checker=checker)
    password = secrets.token_urlsafe(16)
    assert reason_of(policy, password) == "breached"
    assert seen == [password]

    verdict = False
    assert reason_of(policy, password) is None
    assert seen == [password, password]

    # Cheaper local checks come first: a common or short password never leaves.
    assert reason_of(policy, "password") == "too_common"
    assert reason_of(policy, "short") == "too_short"
    assert seen == [password, password]


# --- verify -----------------------------------------------------------------------


def test_verify_right_and_wrong_password(hasher: PasswordHasher, stored: str) -> None:
    assert hasher.verify(stored, PASSWORD) is True
    assert hasher.verify(stored, PASSWORD + "!") is False
    assert hasher.verify(stored, "") is False


@pytest.mark.parametrize(
    "hashed",
    [
        "",
        "garbage",
        "$argon2id$v=19$m=bad",
        "$argon2id$",
        "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$",
        "argon2$argon2id$junk",
        "pbkdf2_sha256$x$y$z",
        "pbkdf2_sha256$1000$salt$not base64!",
        "pbkdf2_sha256$0$salt$" + b64(b"k" * 32) + "=",
        "pbkdf2_sha256$+1000$salt$" + b64(b"k" * 32) + "=",
        "pbkdf2:sha256:1000$salt$XYZ",
        "pbkdf2:md5:1000$salt$" + "00" * 16,
        "pbkdf2:sha256:1000$$" + "00" * 32,
        "scrypt:3:8:1$salt$" + "00" * 64,
        "scrypt:1024:8$salt$" + "00" * 64,
        "\ud800",
        "пароль",
    ],
)
def test_verify_malformed_hash_is_false(hasher: PasswordHasher, hashed: str) -> None:
    assert hasher.verify(hashed, PASSWORD) is False


def test_verify_truncated_hash_is_false(hasher: PasswordHasher, stored: str) -> None:
    assert hasher.verify(stored[:-6], PASSWORD) is False
    assert hasher.verify(stored[: len(stored) // 2], PASSWORD) is False


@pytest.mark.parametrize("hashed", [None, 42, b"$argon2id$"])
def test_verify_non_string_hash_is_false(hasher: PasswordHasher, hashed: object) -> None:
    assert hasher.verify(hashed, PASSWORD) is False  # type: ignore[arg-type]


def test_verify_unencodable_password_is_false(hasher: PasswordHasher, stored: str) -> None:
    assert hasher.verify(stored, "\ud800") is False
    assert hasher.verify(django_pbkdf2("x"), "\ud800") is False


# Hashes of each stored shape, well-formed or nearly so, with parameters kept cheap
# (or far past the bounds, where nothing runs): the fuzz below reaches the KDFs.
_numbers = st.one_of(
    st.integers(min_value=1, max_value=1500).map(str),
    st.sampled_from(["0", "-1", "+1", "01", " 1", "1_0", "1e3", "", "x", "\u0661", "10000001"]),
)
_salts = st.one_of(st.just(SALT), st.text(max_size=12))
# Keys of the digests' sizes (what gets past the length check) and of any other.
_keys = st.one_of(
    st.sampled_from([20, 32, 64]).flatmap(lambda size: st.binary(min_size=size, max_size=size)),
    st.binary(max_size=70),
)
_b64_keys = _keys.map(lambda key: base64.b64encode(key).decode())
_hex_keys = _keys.map(bytes.hex)
_django_hashes = st.builds(
    "pbkdf2_sha256${}${}${}".format,
    _numbers,
    _salts,
    st.one_of(_b64_keys, _b64_keys.map(lambda key: key.rstrip("=")), st.text(max_size=50)),
)
_werkzeug_pbkdf2_hashes = st.builds(
    "{}${}${}".format,
    st.builds(
        lambda parts: ":".join(["pbkdf2", *parts]),
        st.lists(
            st.one_of(st.sampled_from(["sha256", "sha1", "sha512", "md5", "SHA256"]), _numbers),
            max_size=3,
        ),
    ),
    _salts,
    st.one_of(_hex_keys, _hex_keys.map(str.upper), st.text(max_size=50)),
)
_scrypt_hashes = st.builds(
    "{}${}${}".format,
    st.one_of(
        st.just("scrypt"),
        st.builds(
            "scrypt:{}:{}:{}".format,
            st.sampled_from(["2", "4", "1024", "1", "3", "0", str(2**24), "x"]),
            st.sampled_from(["1", "8", str(2**21), "-8"]),
            st.sampled_from(["1", "2", str(2**26), ""]),
        ),
        st.builds(lambda parts: ":".join(["scrypt", *parts]), st.lists(_numbers, max_size=4)),
    ),
    _salts,
    _hex_keys,
)
_argon2_hashes = st.builds(
    "{}$v={}$m={},t={},p={}${}${}".format,
    st.sampled_from(["$argon2id", "$argon2i", "$argon2d", "argon2$argon2id", "$argon2x"]),
    st.sampled_from(["19", "16", "20", "x"]),
    st.sampled_from(["8", "64", "7", "0", str(2**21)]),
    st.sampled_from(["1", "2", "0", str(2**23)]),
    st.sampled_from(["1", "2", "65", "0"]),
    st.binary(max_size=24).map(b64),
    st.binary(max_size=40).map(b64),
)
_shaped_hashes = st.one_of(_django_hashes, _werkzeug_pbkdf2_hashes, _scrypt_hashes, _argon2_hashes)


@st.composite
def _nearly_shaped_hashes(draw: st.DrawFn) -> str:
    """A shaped hash, sometimes with one character cut, added or swapped."""
    hashed = draw(_shaped_hashes)
    edit = draw(st.sampled_from(["none", "cut", "insert", "truncate"]))
    if edit == "none" or not hashed:
        return hashed
    at = draw(st.integers(min_value=0, max_value=len(hashed) - 1))
    if edit == "cut":
        return hashed[:at] + hashed[at + 1 :]
    if edit == "truncate":
        return hashed[:at]
    char = draw(st.sampled_from(["$", ":", ",", "=", "\x00", "\u00e9", "\ud800", " "]))
    return hashed[:at] + char + hashed[at:]


_FUZZ_HASHER = PasswordHasher()


@settings(max_examples=500, deadline=None)
@given(hashed=st.one_of(_nearly_shaped_hashes(), st.text(max_size=80)))
def test_verify_never_raises_on_arbitrary_hashes(hashed: str) -> None:
    assert _FUZZ_HASHER.verify(hashed, "whatever") is False
    assert isinstance(_FUZZ_HASHER.needs_rehash(hashed), bool)


@pytest.mark.parametrize(
    ("family", "kdf"),
    [
        (_django_hashes, (hashlib, "pbkdf2_hmac")),
        (_werkzeug_pbkdf2_hashes, (hashlib, "pbkdf2_hmac")),
        (_scrypt_hashes, (hashlib, "scrypt")),
        (_argon2_hashes, (argon2.PasswordHasher, "verify")),
    ],
)
def test_hash_strategies_reach_the_kdf(
    family: st.SearchStrategy[str], kdf: tuple[Any, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # The fuzz above is only worth something if its hashes get past the parsing
    # into the key derivation itself: Hypothesis must find one that does.
    owner, name = kdf
    original = getattr(owner, name)
    reached: list[bool] = []

    def spy(*args: Any, **kwargs: Any) -> Any:
        reached.append(True)
        return original(*args, **kwargs)

    monkeypatch.setattr(owner, name, spy)

    def reaches(hashed: str) -> bool:
        reached.clear()
        _FUZZ_HASHER.verify(hashed, "whatever")
        return bool(reached)

    quick = settings(
        max_examples=200, database=None, deadline=None, derandomize=True, phases=[Phase.generate]
    )
    find(family, reaches, settings=quick)


@pytest.mark.parametrize("variant", [Type.I, Type.D, Type.ID])
def test_verify_accepts_any_argon2_variant(hasher: PasswordHasher, variant: Type) -> None:
    hashed = cheap_argon2(variant).hash(PASSWORD)
    assert hasher.verify(hashed, PASSWORD) is True
    assert hasher.verify(hashed, PASSWORD.lower()) is False
    assert hasher.verify("argon2" + hashed, PASSWORD) is True  # Django's spelling


def test_verify_django_pbkdf2(hasher: PasswordHasher) -> None:
    hashed = django_pbkdf2(PASSWORD)
    assert hasher.verify(hashed, PASSWORD) is True
    assert hasher.verify(hashed, PASSWORD.lower()) is False


@pytest.mark.parametrize("hash_name", ["sha256", "sha1", "sha512"])
def test_verify_werkzeug_pbkdf2(hasher: PasswordHasher, hash_name: str) -> None:
    hashed = werkzeug_pbkdf2(PASSWORD, hash_name)
    assert hasher.verify(hashed, PASSWORD) is True
    assert hasher.verify(hashed, PASSWORD.lower()) is False


def test_verify_werkzeug_pbkdf2_default_iterations(
    hasher: PasswordHasher, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Werkzeug 3.1's default; 10**6 real rounds would slow the suite, so the
    # constant is checked here and lowered for the round trip below.
    assert passwords._WERKZEUG_DEFAULT_PBKDF2_ITERATIONS == 1_000_000
    monkeypatch.setattr(passwords, "_WERKZEUG_DEFAULT_PBKDF2_ITERATIONS", 1234)
    hashed = werkzeug_pbkdf2(PASSWORD, iterations=1234).replace(":1234$", "$")
    assert hashed.startswith("pbkdf2:sha256$")
    assert hasher.verify(hashed, PASSWORD) is True
    assert hasher.verify(hashed, PASSWORD.lower()) is False


def test_verify_werkzeug_scrypt(hasher: PasswordHasher) -> None:
    hashed = werkzeug_scrypt(PASSWORD)
    assert hasher.verify(hashed, PASSWORD) is True
    assert hasher.verify(hashed, PASSWORD.lower()) is False
    # A bare "scrypt" method means Werkzeug's defaults, n=2**15, r=8, p=1.
    bare = werkzeug_scrypt(PASSWORD, n=2**15).replace(":32768:8:1$", "$")
    assert bare.startswith("scrypt$")
    assert hasher.verify(bare, PASSWORD) is True


def test_verify_legacy_compares_in_constant_time(
    hasher: PasswordHasher, count_calls: Callable[[Any, str], list[Any]]
) -> None:
    calls = count_calls(hmac, "compare_digest")
    assert hasher.verify(django_pbkdf2(PASSWORD), "wrong password") is False
    assert hasher.verify(werkzeug_scrypt(PASSWORD), "wrong password") is False
    assert len(calls) == 2


def test_verify_refuses_absurd_parameters_without_running_them(
    hasher: PasswordHasher, monkeypatch: pytest.MonkeyPatch
) -> None:
    poisoned = [
        f"pbkdf2_sha256$10000001${SALT}$" + b64(b"k" * 32) + "=",
        f"pbkdf2:sha256:10000001${SALT}$" + "00" * 32,
        f"scrypt:{2**24}:8:1${SALT}$" + "00" * 64,  # 16 GiB
        f"scrypt:1024:8:{2**20}${SALT}$" + "00" * 64,
        f"scrypt:2:1024:{2**15}${SALT}$" + "00" * 64,  # 4 GiB of B blocks
        argon2_string(m=2**21),  # 2 GiB
        argon2_string(t=2**20),
        argon2_string(p=1000, m=2**16),
    ]
    attempted: list[str] = []

    # Stubs, not wrappers: if a bound were missing, the test must fail at once
    # rather than spend gigabytes or minutes.
    def refuse(name: str) -> Callable[..., Any]:
        def stub(*args: Any, **kwargs: Any) -> Any:
            attempted.append(name)
            raise AssertionError(f"{name} ran on a poisoned hash")

        return stub

    monkeypatch.setattr(hashlib, "pbkdf2_hmac", refuse("pbkdf2_hmac"))
    monkeypatch.setattr(hashlib, "scrypt", refuse("scrypt"))
    monkeypatch.setattr(argon2.PasswordHasher, "verify", refuse("argon2 verify"))
    for hashed in poisoned:
        assert hasher.verify(hashed, "x") is False
    assert attempted == []


# --- dummy_verify (SEC 20's equal-time path) ----------------------------------------


def test_dummy_verify_runs_one_argon2_verify(
    count_calls: Callable[[Any, str], list[Any]],
) -> None:
    hasher = PasswordHasher()
    verify_calls = count_calls(argon2.PasswordHasher, "verify")
    hash_calls = count_calls(argon2.PasswordHasher, "hash")

    assert hasher.dummy_verify(PASSWORD) is None  # type: ignore[func-returns-value]
    assert len(verify_calls) == 1
    dummy = verify_calls[0][1]
    params = extract_parameters(dummy)
    assert (params.type, params.memory_cost, params.time_cost, params.parallelism) == (
        Type.ID,
        19456,
        2,
        1,
    )

    hasher.dummy_verify("another guess")
    assert len(verify_calls) == 2
    assert len(hash_calls) == 1  # the dummy hash is made once and reused


# --- No password in errors or reprs -------------------------------------------------


@pytest.mark.parametrize(
    ("password", "reason", "policy"),
    [
        ("Sh0rt!x", "too_short", PasswordPolicy()),
        (unusual(300), "too_long", PasswordPolicy()),
        ("iloveyou", "too_common", PasswordPolicy()),
        ("Tr0ub4dor&3-unique", "breached", PasswordPolicy(breached_checker=lambda _: True)),
        ("\ud800Surrogate", "not_a_string", PasswordPolicy()),
        (b"Bytes-Secret-123", "not_a_string", PasswordPolicy()),
    ],
)
def test_errors_never_contain_the_password(
    password: str | bytes, reason: str, policy: PasswordPolicy
) -> None:
    with pytest.raises(InvalidPasswordError) as caught:
        policy.check(password)
    error = caught.value
    assert error.reason == reason
    needle = password.decode() if isinstance(password, bytes) else password
    for text in (str(error), repr(error), error.message, *map(str, error.args)):
        assert needle.casefold() not in text.casefold()


def test_hash_errors_and_repr_never_contain_the_password() -> None:
    hasher = PasswordHasher()
    with pytest.raises(ValueError, match="UTF-8") as caught:
        hasher.hash("\ud800Secret-Surrogate")
    assert "Secret-Surrogate" not in str(caught.value)
    assert "Secret-Surrogate" not in repr(caught.value)
    with pytest.raises(TypeError, match="str"):
        hasher.hash(b"bytes-password")  # type: ignore[arg-type]

    hasher.dummy_verify(PASSWORD)
    assert repr(hasher) == (
        "PasswordHasher(time_cost=2, memory_cost=19456, parallelism=1, hash_len=32, salt_len=16)"
    )


# --- What mutation testing showed unpinned (scripts/mutation.sh) -------------------
#
# Each test below fails on a mutant of passwords.py that survived the tests above:
# a check made to accept what it must refuse, a bound moved by one, a message lost.


def _key_of(hashed: str) -> str:
    return hashed.rsplit("$", 1)[1]


def _with_key(hashed: str, key: str) -> str:
    return hashed.rsplit("$", 1)[0] + "$" + key


def test_wrong_key_length_never_verifies(hasher: PasswordHasher) -> None:
    # The derived key is compared only when the stored one has the digest's size;
    # a hash whose key was cut short or padded out is corrupt, not a match.
    django = django_pbkdf2(PASSWORD)
    key = base64.b64decode(_key_of(django))
    for wrong in (key[:16], key + b"\0" * 32):
        assert hasher.verify(_with_key(django, base64.b64encode(wrong).decode()), PASSWORD) is False
    werkzeug = werkzeug_pbkdf2(PASSWORD)
    for wrong_hex in (_key_of(werkzeug)[:32], _key_of(werkzeug) + "00" * 32):
        assert hasher.verify(_with_key(werkzeug, wrong_hex), PASSWORD) is False
    scrypt = werkzeug_scrypt(PASSWORD)
    # Werkzeug's scrypt keys are 64 bytes; a 32-byte key is refused before scrypt runs.
    assert hasher.verify(_with_key(scrypt, _key_of(scrypt)[:64]), PASSWORD) is False


@pytest.mark.parametrize("iterations", ["abc", "", "+1000", " 1000", "01000", "1_000", "1e3"])
def test_iterations_must_be_plain_decimals(hasher: PasswordHasher, iterations: str) -> None:
    # Each hash is otherwise right for PASSWORD (1000 rounds), so only the parse refuses it.
    django = django_pbkdf2(PASSWORD).replace("$1000$", f"${iterations}$", 1)
    werkzeug = werkzeug_pbkdf2(PASSWORD).replace(":1000$", f":{iterations}$", 1)
    assert hasher.verify(django, PASSWORD) is False
    assert hasher.verify(werkzeug, PASSWORD) is False


@pytest.mark.parametrize(
    "hashed",
    [
        "scrypt:abc:8:1$salt$" + "00" * 64,
        "scrypt:1024:x:1$salt$" + "00" * 64,
        "scrypt:1024:8:1:1$salt$" + "00" * 64,
        "scrypt:1024:8$salt$" + "00" * 64,
        "scrypt:$salt$" + "00" * 64,
        "scrypt$salt",
        "scrypt$salt$$",
        "pbkdf2$salt",
        "pbkdf2$salt$" + "0" * 63,
        "pbkdf2:sha256:1000:1$salt$" + "00" * 32,
        "pbkdf2:$salt$" + "00" * 32,
        "pbkdf2_sha256$1000$salt",
        "pbkdf2_sha256$1000$salt$a$b",
        "pbkdf2_sha256$1000$$" + b64(b"k" * 32) + "=",
    ],
)
def test_malformed_legacy_hashes_are_false_not_errors(hasher: PasswordHasher, hashed: str) -> None:
    assert hasher.verify(hashed, PASSWORD) is False


def test_legacy_hash_with_an_extra_field_is_refused(
    hasher: PasswordHasher, monkeypatch: pytest.MonkeyPatch
) -> None:
    # "pbkdf2:sha256:1000:1" is no method Werkzeug writes: refused, not read as
    # "pbkdf2:sha256" with the default rounds (here made equal to the hash's).
    monkeypatch.setattr(passwords, "_WERKZEUG_DEFAULT_PBKDF2_ITERATIONS", 1000)
    hashed = werkzeug_pbkdf2(PASSWORD).replace(":1000$", ":1000:1$", 1)
    assert hasher.verify(hashed, PASSWORD) is False
    assert hasher.verify(hashed.replace(":1000:1$", "$"), PASSWORD) is True


def test_key_encodings_are_strict(hasher: PasswordHasher) -> None:
    # Django's key must be strict base64: a stray character is corruption, not
    # something to skip. Werkzeug's key is lower-case hex, as Werkzeug writes it.
    django = django_pbkdf2(PASSWORD)
    key = _key_of(django)
    assert hasher.verify(_with_key(django, key[:10] + "*" + key[10:]), PASSWORD) is False
    assert hasher.verify(_with_key(django, key[:10] + "\n" + key[10:]), PASSWORD) is False
    werkzeug = werkzeug_pbkdf2(PASSWORD)
    assert hasher.verify(_with_key(werkzeug, _key_of(werkzeug).upper()), PASSWORD) is False


def test_empty_salt_is_refused_even_when_the_key_matches(hasher: PasswordHasher) -> None:
    key = hashlib.scrypt(PASSWORD.encode(), salt=b"", n=2**10, r=8, p=1, maxmem=2**27)
    assert hasher.verify(f"scrypt:1024:8:1$${key.hex()}", PASSWORD) is False
    key = hashlib.pbkdf2_hmac("sha256", PASSWORD.encode(), b"", 1000)
    assert hasher.verify(f"pbkdf2:sha256:1000$${key.hex()}", PASSWORD) is False
    assert hasher.verify(f"pbkdf2_sha256$1000$${base64.b64encode(key).decode()}", PASSWORD) is False


def test_bare_pbkdf2_method_means_sha256_and_werkzeugs_rounds(
    hasher: PasswordHasher, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(passwords, "_WERKZEUG_DEFAULT_PBKDF2_ITERATIONS", 1234)
    hashed = werkzeug_pbkdf2(PASSWORD, iterations=1234).replace("pbkdf2:sha256:1234$", "pbkdf2$")
    assert hashed.startswith("pbkdf2$")
    assert hasher.verify(hashed, PASSWORD) is True
    assert hasher.verify(hashed, PASSWORD.lower()) is False


def test_smallest_scrypt_cost_still_verifies(hasher: PasswordHasher) -> None:
    # n=2 is the least scrypt takes; such an old hash verifies (and is then rehashed).
    hashed = werkzeug_scrypt(PASSWORD, n=2, r=1)
    assert hasher.verify(hashed, PASSWORD) is True
    assert hasher.needs_rehash(hashed) is True


class _Recorder:
    """Stands in for hashlib's KDFs: records the call and returns the stored key."""

    def __init__(self, key: bytes) -> None:
        self.key = key
        self.calls: list[dict[str, Any]] = []

    def __call__(self, *args: Any, **kwargs: Any) -> bytes:
        self.calls.append({"args": args, **kwargs})
        return self.key


def test_pbkdf2_bound_is_inclusive(hasher: PasswordHasher, monkeypatch: pytest.MonkeyPatch) -> None:
    key = b"k" * 32
    kdf = _Recorder(key)
    monkeypatch.setattr(hashlib, "pbkdf2_hmac", kdf)
    assert passwords._MAX_PBKDF2_ITERATIONS == 10_000_000
    at_bound = f"pbkdf2_sha256$10000000${SALT}${base64.b64encode(key).decode()}"
    assert hasher.verify(at_bound, PASSWORD) is True
    assert kdf.calls == [{"args": ("sha256", PASSWORD.encode(), SALT.encode(), 10_000_000)}]
    assert hasher.verify(f"pbkdf2:sha256:10000000${SALT}${key.hex()}", PASSWORD) is True
    assert hasher.verify(f"pbkdf2:sha256:10000001${SALT}${key.hex()}", PASSWORD) is False
    assert len(kdf.calls) == 2


@pytest.mark.parametrize(
    ("n", "r", "p", "runs"),
    [
        # 128 * r * (n + p + 2) is exactly 1 GiB: the most memory one check may take.
        (4, 2**20, 2, True),
        (4, 2**20, 3, False),
        # n * r * p is exactly 8 * 2**23: the most work one check may do.
        (2**16, 8, 128, True),
        (2**16, 8, 129, False),
        (2**16, 1, 2**11, False),
        # n must be a power of two, at least 2.
        (1, 8, 1, False),
        (3, 8, 1, False),
        (6, 8, 1, False),
        (2**10 + 2, 8, 1, False),
    ],
)
def test_scrypt_bounds_are_exact(
    hasher: PasswordHasher, monkeypatch: pytest.MonkeyPatch, n: int, r: int, p: int, runs: bool
) -> None:
    key = b"s" * 64
    kdf = _Recorder(key)
    monkeypatch.setattr(hashlib, "scrypt", kdf)
    assert hasher.verify(f"scrypt:{n}:{r}:{p}${SALT}${key.hex()}", PASSWORD) is runs
    if runs:
        (call,) = kdf.calls
        assert (call["n"], call["r"], call["p"], call["dklen"]) == (n, r, p, 64)
        assert call["salt"] == SALT.encode()
        assert call["maxmem"] >= 128 * r * (n + p + 2)
    else:
        assert kdf.calls == []


@pytest.mark.parametrize(
    ("time_cost", "memory_cost", "parallelism", "bounded"),
    [
        (1, 1, 1, True),
        (1, 0, 1, False),
        (1, 1, 0, False),
        (0, 8, 1, False),
        (1, 8, 64, True),
        (1, 8, 65, False),
        (1, 2**20, 1, True),  # 1 GiB, the memory bound
        (1, 2**20 + 1, 1, False),
        (4, 2**20, 1, True),  # time * memory at the work bound
        (5, 2**20, 1, False),
        (2**22, 1, 1, True),
        (2**22 + 1, 1, 1, False),
    ],
)
def test_argon2_cost_bounds_are_exact(
    time_cost: int, memory_cost: int, parallelism: int, bounded: bool
) -> None:
    assert passwords._argon2_cost_is_bounded(time_cost, memory_cost, parallelism) is bounded


def test_constructor_accepts_the_bounds_themselves() -> None:
    # Nothing is hashed here; the constructor only checks its parameters.
    assert "parallelism=64" in repr(PasswordHasher(parallelism=64))
    assert "memory_cost=1048576" in repr(PasswordHasher(time_cost=4, memory_cost=2**20))
    assert "hash_len=16, salt_len=16" in repr(PasswordHasher(hash_len=16, salt_len=16))
    with pytest.raises(ValueError, match="out of range"):
        PasswordHasher(time_cost=5, memory_cost=2**20)
    with pytest.raises(ValueError, match="at least 16"):
        PasswordHasher(salt_len=15)


def test_custom_hash_and_salt_lengths_are_honoured() -> None:
    hasher = PasswordHasher(hash_len=24, salt_len=20)
    hashed = hasher.hash(PASSWORD)
    params = extract_parameters(hashed)
    assert (params.hash_len, params.salt_len) == (24, 20)
    assert hasher.verify(hashed, PASSWORD) is True
    assert hasher.needs_rehash(hashed) is False
    # A default hash is shorter than this hasher asks for, so it is rehashed.
    assert hasher.needs_rehash(argon2_string()) is True


@pytest.mark.parametrize("hashed", [None, 42, b"$argon2id$v=19", "$argon2id$garbage", "$argon2id$"])
def test_needs_rehash_of_unusable_values_is_true(hasher: PasswordHasher, hashed: object) -> None:
    assert hasher.needs_rehash(hashed) is True  # type: ignore[arg-type]


def test_policy_bounds_are_inclusive() -> None:
    assert reason_of(PasswordPolicy(min_length=1, reject_common=False), "x") is None
    assert reason_of(PasswordPolicy(min_length=10, max_length=10), unusual(10)) is None
    assert reason_of(PasswordPolicy(min_length=10, max_length=10), unusual(11)) == "too_long"


def _message(check: Callable[[], object]) -> str:
    with pytest.raises((InvalidPasswordError, ValueError, TypeError)) as caught:
        check()
    return str(caught.value)


def test_error_messages_say_what_is_wrong() -> None:
    # What users and developers read; pinned so a refactoring cannot blank them.
    policy = PasswordPolicy()
    assert _message(lambda: policy.check(None)) == "the password must be a string"
    assert (
        _message(lambda: policy.check("short")) == "the password must be at least 8 characters long"
    )
    assert _message(lambda: policy.check("x" * 257)) == (
        "the password must be at most 256 characters long"
    )
    assert _message(lambda: policy.check("\ud800" + unusual(10))) == (
        "the password must be valid Unicode text"
    )
    assert _message(lambda: policy.check("password")) == (
        "this password is too common; choose a different one"
    )
    assert _message(lambda: PasswordPolicy(breached_checker=lambda _: True).check(unusual(12))) == (
        "this password has appeared in a data breach; choose a different one"
    )
    assert _message(lambda: PasswordPolicy(min_length=0)) == (
        "PasswordPolicy needs 1 <= min_length <= max_length"
    )
    assert _message(lambda: PasswordHasher(time_cost=1)) == (
        "argon2 parameters below OWASP's minimum: need memory_cost >= 19456 with"
        " time_cost >= 2, or memory_cost >= 47104 with time_cost >= 1"
    )
    assert _message(lambda: PasswordHasher(hash_len=8)) == (
        "argon2 hash_len and salt_len must be at least 16 bytes"
    )
    hasher = PasswordHasher()
    assert _message(lambda: hasher.hash(b"x")) == "the password must be a str"  # type: ignore[arg-type]
    assert _message(lambda: hasher.hash("\ud800")) == "the password cannot be encoded as UTF-8"
