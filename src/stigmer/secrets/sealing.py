"""Sealing secret values with AES-256-GCM.

A sealed value is one compact string::

    sealed:v1:<key id>:<nonce>:<ciphertext and tag>      (base64url, no padding)

Each value gets a fresh 96-bit nonce. The associated data binds the ciphertext to the
environment (by id) and the secret's name, so a ciphertext copied into another entry,
or another environment, fails its integrity check instead of opening there.
``cryptography`` is imported only when something is sealed or opened.
"""

from __future__ import annotations

import base64
import os
from collections.abc import Callable

from stigmer.errors import SecretError
from stigmer.secrets.keys import MasterKey

PREFIX = "sealed:"
VERSION = "v1"
NONCE_BYTES = 12


def associated_data(environment_id: str, name: str) -> bytes:
    """What a sealed value is bound to: its environment and its name."""
    return f"stigmer-secret\x00{environment_id}\x00{name}".encode()


def b64(data: bytes) -> str:
    """base64url without padding."""
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def unb64(text: str) -> bytes:
    """The inverse of :func:`b64`; ValueError when ``text`` is not base64url."""
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def is_sealed(value: str) -> bool:
    """Whether a value looks like a sealed token (master-key or passphrase sealed)."""
    return value.startswith(PREFIX)


def encrypt(key: bytes, plaintext: bytes, aad: bytes) -> tuple[bytes, bytes]:
    """AES-256-GCM with a fresh random nonce: (nonce, ciphertext with tag)."""
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    nonce = os.urandom(NONCE_BYTES)
    return nonce, AESGCM(key).encrypt(nonce, plaintext, aad)


def decrypt(key: bytes, nonce: bytes, ciphertext: bytes, aad: bytes) -> bytes | None:
    """The plaintext, or None when the integrity check fails (tampered, moved, wrong key)."""
    from cryptography.exceptions import InvalidTag
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    try:
        return AESGCM(key).decrypt(nonce, ciphertext, aad)
    except InvalidTag:
        return None


def seal(key: MasterKey, plaintext: str, *, environment_id: str, name: str) -> str:
    """Seal one secret value of one environment with a master key."""
    nonce, ciphertext = encrypt(key.key, plaintext.encode(), associated_data(environment_id, name))
    return f"{PREFIX}{VERSION}:{key.kid}:{b64(nonce)}:{b64(ciphertext)}"


def key_id(token: str) -> str:
    """The id of the master key that sealed ``token`` ("" when it is not a master-key token)."""
    parts = token.split(":")
    return parts[2] if len(parts) == 5 and parts[1] == VERSION and is_sealed(token) else ""


def unseal(
    token: str, find_key: Callable[[str], MasterKey], *, environment_id: str, name: str, label: str = ""
) -> str:
    """Open a sealed value.

    Args:
        find_key: The master key for a key id (raises SecretError when it is missing).
        label: What the value is, for errors ("secret TOKEN of environment prod").

    Raises:
        SecretError: The token is malformed, its key is missing, or it fails its integrity
            check (altered, copied from another entry, or sealed with another key).
    """
    what = label or f"secret {name}"
    parts = token.split(":")
    if len(parts) != 5 or not is_sealed(token) or parts[1] != VERSION:
        raise SecretError(
            f"{what} is not a sealed value this Stigmer can open; nothing was unsealed",
            hint="set it again: stigmer env set ENV --secret NAME",
        )
    key = find_key(parts[2])
    try:
        nonce, ciphertext = unb64(parts[3]), unb64(parts[4])
    except ValueError:
        nonce, ciphertext = b"", b""
    plaintext = (
        decrypt(key.key, nonce, ciphertext, associated_data(environment_id, name))
        if len(nonce) == NONCE_BYTES
        else None
    )
    if plaintext is None:
        raise SecretError(
            f"{what} failed its integrity check: the stored ciphertext was altered, copied from "
            f"another entry, or sealed with another key than {key.kid!r}; nothing was unsealed",
            hint="set the secret again (stigmer env set ENV --secret NAME), or restore the database "
            "from a backup",
        )
    return plaintext.decode()


__all__ = ["PREFIX", "associated_data", "b64", "decrypt", "encrypt", "is_sealed", "key_id", "seal", "unseal"]
