"""Sealing with a passphrase, for exports that carry secrets to another home.

An exported value is ``sealed:pw1:<salt>:<nonce>:<ciphertext and tag>``: AES-256-GCM under
a key derived from the passphrase with scrypt (n=2^15, r=8, p=1; one random salt per
export), bound to the environment id and the secret's name like a master-key seal.
The passphrase never reaches the backend: the CLI seals and opens these values itself.
"""

from __future__ import annotations

import os
from pathlib import Path

from stigmer.errors import InvalidArgument, SecretError
from stigmer.secrets.sealing import NONCE_BYTES, PREFIX, associated_data, b64, decrypt, encrypt, unb64

VERSION = "pw1"
SALT_BYTES = 16
SCRYPT_N, SCRYPT_R, SCRYPT_P = 2**15, 8, 1


def is_passphrase_sealed(value: str) -> bool:
    """Whether a value was sealed with an export passphrase."""
    return value.startswith(f"{PREFIX}{VERSION}:")


def derive_key(passphrase: bytes, salt: bytes) -> bytes:
    """The 256-bit key scrypt derives from a passphrase and a salt."""
    from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

    return Scrypt(salt=salt, length=32, n=SCRYPT_N, r=SCRYPT_R, p=SCRYPT_P).derive(passphrase)


def read_passphrase_file(path: str | Path) -> bytes:
    """A passphrase from a file (its first line, without the line break).

    Raises:
        InvalidArgument: The file cannot be read, or its first line is empty.
    """
    try:
        text = Path(path).read_bytes()
    except OSError as exc:
        raise InvalidArgument(f"cannot read the passphrase file {path}: {exc.strerror}") from None
    passphrase = text.splitlines()[0] if text.strip() else b""
    if not passphrase:
        raise InvalidArgument(
            f"the passphrase file {path} is empty", hint="write the passphrase on its first line"
        )
    return passphrase


class PassphraseSealer:
    """Seals and opens export values with one passphrase (keys derived once per salt)."""

    def __init__(self, passphrase: bytes) -> None:
        self.passphrase = passphrase
        self.salt = os.urandom(SALT_BYTES)
        self._keys: dict[bytes, bytes] = {}

    def _key(self, salt: bytes) -> bytes:
        if salt not in self._keys:
            self._keys[salt] = derive_key(self.passphrase, salt)
        return self._keys[salt]

    def seal(self, plaintext: str, *, environment_id: str, name: str) -> str:
        """Seal a value with this sealer's salt."""
        nonce, ciphertext = encrypt(
            self._key(self.salt), plaintext.encode(), associated_data(environment_id, name)
        )
        return f"{PREFIX}{VERSION}:{b64(self.salt)}:{b64(nonce)}:{b64(ciphertext)}"

    def unseal(self, token: str, *, environment_id: str, name: str, label: str = "") -> str:
        """Open an exported value.

        Raises:
            SecretError: Wrong passphrase, or the value was altered or moved.
        """
        what = label or f"secret {name}"
        parts = token.split(":")
        try:
            if len(parts) != 5 or not is_passphrase_sealed(token):
                raise ValueError
            salt, nonce, ciphertext = unb64(parts[2]), unb64(parts[3]), unb64(parts[4])
            if len(nonce) != NONCE_BYTES or not salt:
                raise ValueError
        except ValueError:
            raise SecretError(
                f"{what} is not a value `stigmer export` sealed; nothing was imported"
            ) from None
        plaintext = decrypt(self._key(salt), nonce, ciphertext, associated_data(environment_id, name))
        if plaintext is None:
            raise SecretError(
                f"{what} cannot be opened with this passphrase (wrong passphrase, or the export "
                "was altered); nothing was imported",
                hint="pass the passphrase file the export was written with",
            )
        return plaintext.decode()


__all__ = ["PassphraseSealer", "derive_key", "is_passphrase_sealed", "read_passphrase_file"]
