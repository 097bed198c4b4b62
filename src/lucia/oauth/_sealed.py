"""Sealed cookie values: AES-256-GCM under keys derived from the app's secrets.

The OAuth transaction cookie is sealed with it, so the browser that holds it can
neither read it (the PKCE verifier, the nonce) nor change anything in it (the
provider, the link target, ``next``, the expiry). A value is

    base64url( version byte | 96-bit random nonce | ciphertext and 128-bit tag )

with the version byte and the cookie's name as associated data, so a value made
for one cookie (or one format) never opens as another. Each secret becomes an
AES key through HKDF-SHA256 with a lucia-specific ``info``: an app may pass a
secret it also uses elsewhere (Django's ``SECRET_KEY``, Flask's ``secret_key``),
and the key derived here is unrelated to anything else derived from it.

The first key seals; every key opens (rotation). Anything that does not open,
whatever the reason, is ``None``: the caller answers one "malformed" error.
"""

from __future__ import annotations

import base64
import binascii
import os
import secrets
from collections.abc import Iterable

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

__all__ = ["MIN_SECRET_BYTES", "Sealer", "secret_bytes"]

#: The shortest secret accepted: 256 bits, the AES key's own size.
MIN_SECRET_BYTES = 32
_VERSION = b"\x01"
_NONCE_BYTES = 12
_TAG_BYTES = 16
_INFO = b"lucia oauth transaction cookie v1"
# Random nonces: 2^32 seals per key keep the collision chance under 2^-32 (NIST
# SP 800-38D 8.3); a 10-minute sign-in cookie comes nowhere near that.
_PROCESS_SECRET = secrets.token_bytes(MIN_SECRET_BYTES)


def secret_bytes(secret: object) -> bytes:
    """``secret`` as bytes (a str as UTF-8); ``ValueError`` if it is not a long-enough secret.

    The message never shows the secret.
    """
    if isinstance(secret, str):
        secret = secret.encode("utf-8")
    if not isinstance(secret, bytes | bytearray):
        raise TypeError("each secret key must be a str or bytes")
    if len(secret) < MIN_SECRET_BYTES:
        raise ValueError(f"each secret key must be at least {MIN_SECRET_BYTES} bytes long")
    return bytes(secret)


def _aead(secret: bytes) -> AESGCM:
    key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_INFO).derive(secret)
    return AESGCM(key)


class Sealer:
    """Seals and opens the values of one cookie (``name``) under ``secrets`` (raw bytes).

    No secrets: a random key made once per process. Holds only the derived
    AES keys; its ``repr`` shows neither.
    """

    def __init__(self, name: str, secrets_: Iterable[bytes] | None, *, max_length: int) -> None:
        keys = list(secrets_) if secrets_ is not None else [_PROCESS_SECRET]
        if not keys:
            raise ValueError("secret_keys must hold at least one secret")
        self._aeads = tuple(_aead(secret) for secret in keys)
        self._associated = _VERSION + name.encode("ascii")
        self._max_length = max_length
        self.process_key = secrets_ is None

    def __repr__(self) -> str:
        return f"Sealer(keys={len(self._aeads)}, process_key={self.process_key})"

    def seal(self, plaintext: bytes) -> str:
        """``plaintext`` encrypted and authenticated under the first key, base64url."""
        nonce = os.urandom(_NONCE_BYTES)
        sealed = _VERSION + nonce + self._aeads[0].encrypt(nonce, plaintext, self._associated)
        return base64.urlsafe_b64encode(sealed).rstrip(b"=").decode("ascii")

    def open(self, value: str) -> bytes | None:
        """The plaintext of a value one of the keys sealed for this cookie, else None."""
        if not isinstance(value, str) or len(value) > self._max_length:
            return None
        try:
            raw = base64.urlsafe_b64decode(value.encode("ascii") + b"=" * (-len(value) % 4))
        except (binascii.Error, ValueError, UnicodeEncodeError):
            return None
        # Canonical base64url only: one cookie value, one encoding.
        if base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii") != value:
            return None
        if len(raw) < 1 + _NONCE_BYTES + _TAG_BYTES or raw[:1] != _VERSION:
            return None
        nonce, ciphertext = raw[1 : 1 + _NONCE_BYTES], raw[1 + _NONCE_BYTES :]
        for aead in self._aeads:
            try:
                return aead.decrypt(nonce, ciphertext, self._associated)
            except InvalidTag:
                continue
        return None
