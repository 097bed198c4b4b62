"""Email addresses: the one normal form lucia keys accounts on (SECURITY.md 41).

``normalize_email`` is used wherever an address becomes or finds a key
(sign-up, sign-in, password reset, linking by verified email), so all of them
agree. It accepts only what every mail system reads the same way: a plain
dot-atom ASCII local part, one "@", and a hostname. Everything that has been
used to send mail somewhere other than where it appears to go is refused
rather than repaired: quoted local parts (``"a@attacker.com"@victim.com``),
comments, address literals, a second "@", characters that NFKC folds into
ASCII look-alikes (the fullwidth at sign U+FF20, the Kelvin sign U+212A), and
non-ASCII letters that NFKC leaves alone (dotless i U+0131, Cyrillic a U+0430).
"""

from __future__ import annotations

import re
import unicodedata

__all__ = [
    "EMAIL_PROVIDER_ID",
    "EMAIL_VERIFICATION",
    "MAX_EMAIL_LENGTH",
    "MAX_LOCAL_PART_LENGTH",
    "PASSWORD_RESET",
    "SIGN_UP",
    "normalize_email",
]

EMAIL_PROVIDER_ID = "email"
"""The ``provider_id`` of password accounts' keys, ``("email", normalize_email(address))``;
``lucia.oauth.flow``'s ``link_by_verified_email`` looks accounts up by them too."""

# The purposes of the one-time tokens lucia.tokens and lucia.accounts make (here,
# where both modules can import them).
EMAIL_VERIFICATION = "email_verification"
"""The purpose of email verification tokens."""
PASSWORD_RESET = "password_reset"  # noqa: S105  (a purpose, not a secret)
"""The purpose of password reset tokens."""
SIGN_UP = "sign_up"
"""The purpose of the tokens that complete a verification-first sign-up."""

MAX_EMAIL_LENGTH = 254  # RFC 5321 §4.5.3.1.3: a path is 256 octets with its "<" and ">"
MAX_LOCAL_PART_LENGTH = 64  # RFC 5321 §4.5.3.1.1
_MAX_LABEL_LENGTH = 63  # RFC 1035 §2.3.4

# RFC 5322 §3.2.3 dot-atom: atext characters, dots only between them.
_ATEXT = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+"
_LOCAL_PART = re.compile(rf"{_ATEXT}(?:\.{_ATEXT})*")
# RFC 1123 hostname labels: letters, digits and inner hyphens (punycode "xn--"
# labels included); at least two labels, and a top-level label that is not all
# digits, so an IP address is not a domain.
_LABEL = re.compile(rf"[A-Za-z0-9](?:[A-Za-z0-9-]{{0,{_MAX_LABEL_LENGTH - 2}}}[A-Za-z0-9])?")


def normalize_email(address: object) -> str | None:
    """The form of an email address that ``("email", ...)`` keys are made of, or None.

    Surrounding whitespace is stripped and the whole address lower-cased (as
    lucia always has, so existing keys keep matching; mail systems treat the
    domain case-insensitively and in practice the local part too). None unless
    the stripped text is unchanged by NFKC normalisation and is ASCII, with a
    dot-atom local part of at most 64 characters, exactly one "@", a hostname
    of two or more labels, and at most 254 characters in all.
    """
    if not isinstance(address, str) or len(address) > 4 * MAX_EMAIL_LENGTH:
        return None
    stripped = address.strip()
    # Checked before lower-casing: str.lower() maps some non-ASCII letters to
    # ASCII ones (the Kelvin sign to "k"), and NFKC folds fullwidth forms.
    if unicodedata.normalize("NFKC", stripped) != stripped:
        return None  # a compatibility form: fullwidth at sign, Kelvin sign, ligatures
    if not stripped.isascii():
        return None  # letters NFKC keeps: dotless i, Cyrillic a, ...
    if len(stripped) > MAX_EMAIL_LENGTH:
        return None
    local, at, domain = stripped.partition("@")
    if not at or len(local) > MAX_LOCAL_PART_LENGTH or not _LOCAL_PART.fullmatch(local):
        return None
    if not _is_hostname(domain):
        return None
    return stripped.lower()


def _is_hostname(domain: str) -> bool:
    labels = domain.split(".")
    if len(labels) < 2 or labels[-1].isdigit():
        return False
    return all(_LABEL.fullmatch(label) for label in labels)
