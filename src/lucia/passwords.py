"""Password policy and hashing.

New passwords are checked by :class:`PasswordPolicy` and hashed with Argon2id by
:class:`PasswordHasher`. The hasher also verifies older argon2 hashes and the
PBKDF2/scrypt hashes written by Django and Flask/Werkzeug, so users of an app that
migrates to lucia keep their passwords; :meth:`PasswordHasher.needs_rehash` tells
the caller to store a fresh Argon2id hash after the next successful login.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac
import importlib.resources
import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

from argon2 import PasswordHasher as _Argon2Hasher
from argon2 import Type, extract_parameters
from argon2.exceptions import VerificationError
from argon2.low_level import ARGON2_VERSION

from lucia.errors import InvalidPasswordError

__all__ = [
    "MAX_PASSWORD_LENGTH",
    "MIN_PASSWORD_LENGTH",
    "PasswordHasher",
    "PasswordPolicy",
    "is_common_password",
]

MIN_PASSWORD_LENGTH: Final = 8
MAX_PASSWORD_LENGTH: Final = 256

# OWASP's minimum Argon2id configurations (Password Storage Cheat Sheet).
_OWASP_MIN_MEMORY_AT_T2: Final = 19_456  # KiB, with time_cost >= 2
_OWASP_MIN_MEMORY_AT_T1: Final = 47_104  # KiB, with time_cost >= 1
_MIN_ARGON2_HASH_LEN: Final = 16
_MIN_ARGON2_SALT_LEN: Final = 16  # 128 bits, as RFC 9106 recommends

# Upper bounds on the cost of checking one stored hash. A stored hash chooses its
# own parameters, so without them a poisoned or corrupted row (m=4 TiB, t=2**32,
# 10**12 PBKDF2 rounds) would exhaust the server's memory or CPU on every login
# attempt for that account. They sit far above OWASP's, Django's and Werkzeug's
# settings, though they do refuse RFC 9106's 2 GiB argon2 profile.
_MAX_MEMORY_BYTES: Final = 1 << 30  # 1 GiB per verification (argon2 and scrypt)
_MAX_ARGON2_MEMORY_KIB: Final = _MAX_MEMORY_BYTES // 1024
_MAX_ARGON2_WORK: Final = 4 * _MAX_ARGON2_MEMORY_KIB  # time_cost * memory_cost
_MAX_ARGON2_PARALLELISM: Final = 64  # argon2 runs one thread per lane
_MAX_PBKDF2_ITERATIONS: Final = 10_000_000
_MAX_SCRYPT_WORK: Final = 8 * (_MAX_MEMORY_BYTES // 128)  # n * r * p

# Werkzeug writes "pbkdf2:<hash>:<iterations>" into every hash it generates (since
# 0.9, when PBKDF2 arrived), so a hash without the count was made by hand; Werkzeug's
# check_password_hash then uses its own current default, which has grown from 1000
# to 1_000_000 over the releases. We follow the current release (3.1).
_WERKZEUG_DEFAULT_PBKDF2_ITERATIONS: Final = 1_000_000
# Werkzeug's parameters for a bare "scrypt" method.
_WERKZEUG_DEFAULT_SCRYPT: Final = (2**15, 8, 1)
_WERKZEUG_SCRYPT_DKLEN: Final = 64  # hashlib.scrypt's default, which Werkzeug keeps

# PBKDF2 digests Werkzeug has used by default (sha1 until 0.14, then sha256) plus
# sha512; the derived key is the digest's size because neither framework sets dklen.
_PBKDF2_DIGEST_SIZES: Final = {"sha1": 20, "sha256": 32, "sha512": 64}

# Only plain ASCII decimals: int() would also take "+5", " 5", "5_0" and other
# scripts' digits, which no hasher writes.
_DECIMAL: Final = re.compile(r"[1-9][0-9]{0,11}")
_LOWER_HEX: Final = re.compile(r"[0-9a-f]+")


# --- common passwords -------------------------------------------------------------


@functools.cache
def _common_passwords() -> frozenset[str]:
    resource = importlib.resources.files("lucia") / "data" / "common-passwords.txt"
    text = resource.read_text(encoding="utf-8")
    return frozenset(
        line.casefold() for line in text.splitlines() if line and not line.startswith("#")
    )


def is_common_password(password: str) -> bool:
    """Return True if *password*, ignoring case, is on lucia's bundled list.

    The list holds the 3000 most common passwords; it is read once, on first use.
    """
    return password.casefold() in _common_passwords()


# --- policy -----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PasswordPolicy:
    """Rules a new password must meet: length, not common, not known breached.

    Passwords are taken exactly as typed: no trimming, no case-folding and no
    composition rules. ``breached_checker`` is optional and supplied by the app (for
    example a Have I Been Pwned k-anonymity client); it receives the password and
    returns True when it is known to be breached. Its exceptions propagate, so the
    app decides whether an unreachable service blocks a password change.
    """

    min_length: int = MIN_PASSWORD_LENGTH
    max_length: int = MAX_PASSWORD_LENGTH
    reject_common: bool = True
    breached_checker: Callable[[str], bool] | None = None

    def __post_init__(self) -> None:
        if not 1 <= self.min_length <= self.max_length:
            raise ValueError("PasswordPolicy needs 1 <= min_length <= max_length")

    def check(self, password: object) -> None:
        """Return None if *password* is acceptable, else raise InvalidPasswordError.

        Checks run cheapest first and the length (in characters) is checked before
        anything that reads the whole string, so an oversized input costs next to
        nothing. The error never contains the password.
        """
        if not isinstance(password, str):
            raise InvalidPasswordError("not_a_string", "the password must be a string")
        length = len(password)
        if length < self.min_length:
            raise InvalidPasswordError(
                "too_short", f"the password must be at least {self.min_length} characters long"
            )
        if length > self.max_length:
            raise InvalidPasswordError(
                "too_long", f"the password must be at most {self.max_length} characters long"
            )
        # A lone surrogate (which json.loads happily produces from "\ud800") cannot be
        # encoded as UTF-8, so it could never be hashed; refusing it here turns a
        # server error later into an ordinary validation error now.
        if not password.isascii():
            try:
                password.encode("utf-8")
            except UnicodeEncodeError:
                raise InvalidPasswordError(
                    "not_a_string", "the password must be valid Unicode text"
                ) from None
        if self.reject_common and is_common_password(password):
            raise InvalidPasswordError(
                "too_common", "this password is too common; choose a different one"
            )
        if self.breached_checker is not None and self.breached_checker(password):
            raise InvalidPasswordError(
                "breached", "this password has appeared in a data breach; choose a different one"
            )


# --- hashing ----------------------------------------------------------------------


def _argon2_cost_is_bounded(time_cost: int, memory_cost: int, parallelism: int) -> bool:
    return (
        1 <= parallelism <= _MAX_ARGON2_PARALLELISM
        and 1 <= memory_cost <= _MAX_ARGON2_MEMORY_KIB
        and time_cost >= 1
        and time_cost * memory_cost <= _MAX_ARGON2_WORK
    )


def _parse_decimal(text: str) -> int | None:
    return int(text) if _DECIMAL.fullmatch(text) else None


def _parse_decimals(texts: list[str]) -> list[int] | None:
    values = []
    for text in texts:
        value = _parse_decimal(text)
        if value is None:
            return None
        values.append(value)
    return values


def _pbkdf2_matches(
    password: str, salt: str, hash_name: str, iterations: int, expected: bytes
) -> bool:
    if not salt or iterations > _MAX_PBKDF2_ITERATIONS:
        return False
    if len(expected) != _PBKDF2_DIGEST_SIZES[hash_name]:
        return False
    derived = hashlib.pbkdf2_hmac(
        hash_name, password.encode("utf-8"), salt.encode("utf-8"), iterations
    )
    return hmac.compare_digest(derived, expected)


def _verify_django_pbkdf2(hashed: str, password: str) -> bool:
    # pbkdf2_sha256$<iterations>$<salt>$<base64 of the 32-byte key>
    parts = hashed.split("$")
    if len(parts) != 4:
        return False
    _, iterations_text, salt, encoded = parts
    iterations = _parse_decimal(iterations_text)
    if iterations is None:
        return False
    expected = base64.b64decode(encoded, validate=True)
    return _pbkdf2_matches(password, salt, "sha256", iterations, expected)


def _verify_werkzeug(hashed: str, password: str) -> bool:
    # <method>$<salt>$<hex key>, method "pbkdf2:<hash>[:<iterations>]" or
    # "scrypt[:<n>:<r>:<p>]"
    parts = hashed.split("$")
    if len(parts) != 3:
        return False
    method, salt, hex_key = parts
    if not salt or not _LOWER_HEX.fullmatch(hex_key):
        return False
    expected = bytes.fromhex(hex_key)
    name, *args = method.split(":")

    if name == "pbkdf2":
        hash_name = args[0] if args else "sha256"
        if hash_name not in _PBKDF2_DIGEST_SIZES or len(args) > 2:
            return False
        iterations = (
            _parse_decimal(args[1]) if len(args) == 2 else _WERKZEUG_DEFAULT_PBKDF2_ITERATIONS
        )
        if iterations is None:
            return False
        return _pbkdf2_matches(password, salt, hash_name, iterations, expected)

    if name == "scrypt":
        values = _parse_decimals(args) if args else list(_WERKZEUG_DEFAULT_SCRYPT)
        if values is None or len(values) != 3:
            return False
        n, r, p = values
        # OpenSSL's working memory for scrypt: 128*r*(n+2) for V plus 128*r*p for B.
        memory = 128 * r * (n + p + 2)
        if n < 2 or n & (n - 1) or memory > _MAX_MEMORY_BYTES or n * r * p > _MAX_SCRYPT_WORK:
            return False
        if len(expected) != _WERKZEUG_SCRYPT_DKLEN:
            return False
        derived = hashlib.scrypt(
            password.encode("utf-8"),
            salt=salt.encode("utf-8"),
            n=n,
            r=r,
            p=p,
            # OpenSSL refuses to run above maxmem, and its default (32 MiB) is
            # below what Werkzeug's own default parameters need.
            maxmem=memory + 1024,
            dklen=_WERKZEUG_SCRYPT_DKLEN,
        )
        return hmac.compare_digest(derived, expected)

    return False


class PasswordHasher:
    """Argon2id via argon2-cffi.

    Defaults are OWASP's minimum (m=19456 KiB, t=2, p=1); weaker settings are
    refused. Verification also accepts argon2i/argon2d, Django's
    ``pbkdf2_sha256$...`` and ``argon2$...`` and Werkzeug's ``pbkdf2:...`` and
    ``scrypt:...`` hashes; all of them report :meth:`needs_rehash`.
    """

    def __init__(
        self,
        *,
        time_cost: int = 2,
        memory_cost: int = _OWASP_MIN_MEMORY_AT_T2,
        parallelism: int = 1,
        hash_len: int = 32,
        salt_len: int = 16,
    ) -> None:
        """Raise ValueError for parameters below OWASP's minimum or above the bounds
        that :meth:`verify` accepts (its own hashes must always verify)."""
        owasp_ok = (memory_cost >= _OWASP_MIN_MEMORY_AT_T2 and time_cost >= 2) or (
            memory_cost >= _OWASP_MIN_MEMORY_AT_T1 and time_cost >= 1
        )
        if not owasp_ok:
            raise ValueError(
                "argon2 parameters below OWASP's minimum: need memory_cost >= 19456 with"
                " time_cost >= 2, or memory_cost >= 47104 with time_cost >= 1"
            )
        if not _argon2_cost_is_bounded(time_cost, memory_cost, parallelism):
            raise ValueError(
                f"argon2 parameters out of range: need 1 <= parallelism <="
                f" {_MAX_ARGON2_PARALLELISM}, memory_cost <= {_MAX_ARGON2_MEMORY_KIB} and"
                f" time_cost * memory_cost <= {_MAX_ARGON2_WORK}"
            )
        if hash_len < _MIN_ARGON2_HASH_LEN or salt_len < _MIN_ARGON2_SALT_LEN:
            raise ValueError("argon2 hash_len and salt_len must be at least 16 bytes")
        self._time_cost = time_cost
        self._memory_cost = memory_cost
        self._parallelism = parallelism
        self._hash_len = hash_len
        self._salt_len = salt_len
        self._argon2 = _Argon2Hasher(
            time_cost=time_cost,
            memory_cost=memory_cost,
            parallelism=parallelism,
            hash_len=hash_len,
            salt_len=salt_len,
            type=Type.ID,
        )
        self._dummy_hash: str | None = None

    def __repr__(self) -> str:
        return (
            f"PasswordHasher(time_cost={self._time_cost}, memory_cost={self._memory_cost},"
            f" parallelism={self._parallelism}, hash_len={self._hash_len},"
            f" salt_len={self._salt_len})"
        )

    def hash(self, password: str) -> str:
        """Return an encoded Argon2id hash of *password* with a fresh random salt.

        It hashes whatever it is given; run :meth:`PasswordPolicy.check` first.
        Raises TypeError for a non-str and ValueError for a string that cannot be
        encoded as UTF-8 (a lone surrogate); neither message contains the password.
        """
        if not isinstance(password, str):
            raise TypeError("the password must be a str")
        try:
            secret = password.encode("utf-8")
        except UnicodeEncodeError:
            raise ValueError("the password cannot be encoded as UTF-8") from None
        return self._argon2.hash(secret)

    def verify(self, hashed: str, password: str) -> bool:
        """Return True if *password* matches the stored *hashed*, otherwise False.

        Never raises for a wrong password or a malformed, unknown or unreasonably
        expensive hash: all of those are simply False.
        """
        if not isinstance(hashed, str) or not isinstance(password, str):
            return False
        try:
            if hashed.startswith("$argon2"):
                return self._verify_argon2(hashed, password)
            if hashed.startswith("argon2$argon2"):
                # Django stores argon2-cffi's encoding behind its own "argon2" tag.
                return self._verify_argon2(hashed.removeprefix("argon2"), password)
            if hashed.startswith("pbkdf2_sha256$"):
                return _verify_django_pbkdf2(hashed, password)
            if hashed.startswith(("pbkdf2:", "pbkdf2$", "scrypt:", "scrypt$")):
                return _verify_werkzeug(hashed, password)
        except ValueError:
            # Bad base64/hex, non-ASCII or unencodable text, an argon2 encoding
            # argon2-cffi cannot parse (InvalidHashError) or parameters OpenSSL refuses.
            return False
        return False

    def _verify_argon2(self, hashed: str, password: str) -> bool:
        params = extract_parameters(hashed)
        if not _argon2_cost_is_bounded(params.time_cost, params.memory_cost, params.parallelism):
            return False
        try:
            return self._argon2.verify(hashed, password)
        except VerificationError:
            return False

    def needs_rehash(self, hashed: str) -> bool:
        """Return True unless *hashed* is an Argon2id hash at least as strong as this
        hasher's settings; legacy, argon2i/argon2d and unparsable hashes are True."""
        if not isinstance(hashed, str) or not hashed.startswith("$argon2id$"):
            return True
        try:
            params = extract_parameters(hashed)
        except ValueError:
            return True
        return (
            params.type is not Type.ID
            or params.version < ARGON2_VERSION
            or params.memory_cost < self._memory_cost
            or params.time_cost < self._time_cost
            or params.hash_len < self._hash_len
            or params.salt_len < self._salt_len
        )

    def dummy_verify(self, password: str) -> None:
        """Spend the time of one real verification and return None.

        Call it when the user does not exist, so an unknown user and a wrong
        password take the same time. The hash it checks against is made once, with
        this hasher's parameters, on first use.
        """
        dummy = self._dummy_hash
        if dummy is None:
            # No lock: two threads racing here each make a valid dummy hash, and
            # any of them serves equally well.
            dummy = self._dummy_hash = self._argon2.hash(secrets.token_urlsafe(32))
        self.verify(dummy, password)
