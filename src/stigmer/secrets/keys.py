"""The master key: where it lives, its id, and the two-step swap that a rotation needs.

A home's master key is kept in the OS keyring (through ``keyring``) when a usable
backend exists, else in ``$STIGMER_HOME/master.key`` with mode 0600. ``STIGMER_KEYRING=0``
forces the file (tests do); a key file that already exists is always used.

The store holds a *key set*: the first key seals new secrets, any others only open older
ones. It holds two keys only while a rotation is under way: the new key is added before
the database is re-sealed and the old one is dropped after that transaction commits, so
a crash at any point leaves every secret readable with one of them.
"""

from __future__ import annotations

import base64
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from stigmer.errors import SecretError

MASTER_KEY_FILE = "master.key"
KEY_BYTES = 32
KEYRING_SERVICE = "stigmer"
KEYRING_SWITCH = "STIGMER_KEYRING"
"""Environment variable: ``0`` (or off/false/no) keeps the master key in the file, never the keyring."""

_HEADER = (
    "# Stigmer master key. Keep it secret (mode 0600) and back it up: without it no sealed\n"
    "# secret of this home can be opened. The first key seals; any other only opens older\n"
    "# secrets while a rotation is under way.\n"
)


@dataclass(frozen=True)
class MasterKey:
    """One 256-bit AES key and the id that sealed tokens name it by."""

    kid: str
    key: bytes = field(repr=False)

    @classmethod
    def generate(cls) -> MasterKey:
        """A fresh random key with a fresh random id."""
        import secrets  # with hashlib and hmac: only where a key is made, not on every read

        return cls(secrets.token_hex(4), secrets.token_bytes(KEY_BYTES))


@dataclass(frozen=True)
class KeySet:
    """The keys of a store, the sealing (primary) key first."""

    keys: tuple[MasterKey, ...]

    @property
    def primary(self) -> MasterKey:
        return self.keys[0]

    def find(self, kid: str) -> MasterKey | None:
        """The key with this id, if the set holds it."""
        return next((k for k in self.keys if k.kid == kid), None)

    def encode(self) -> str:
        """The text form kept in the file or the keyring."""
        lines = [f"{k.kid} {base64.urlsafe_b64encode(k.key).decode()}" for k in self.keys]
        return _HEADER + "\n".join(lines) + "\n"

    @classmethod
    def decode(cls, text: str, where: str) -> KeySet:
        """Parse the text form.

        Raises:
            SecretError: The text is not a key set (naming ``where``).
        """
        keys: list[MasterKey] = []
        for number, line in enumerate(text.splitlines(), 1):
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            kid, _, encoded = line.partition(" ")
            try:
                key = base64.urlsafe_b64decode(encoded.strip())
            except ValueError:
                key = b""
            if not kid or len(key) != KEY_BYTES:
                raise SecretError(
                    f"the master key in {where} is damaged (line {number}); nothing was changed",
                    hint="restore the key from a backup; secrets sealed with it cannot be opened without it",
                )
            keys.append(MasterKey(kid, key))
        if not keys:
            raise SecretError(
                f"{where} holds no master key; nothing was changed",
                hint="restore the key from a backup, or remove the empty entry so a new key is made",
            )
        return cls(tuple(keys))


class KeyBackend(Protocol):
    """Where a key set is kept."""

    @property
    def location(self) -> str:
        """Where the key is, for messages (a path or "the OS keyring (…)")."""
        ...

    def load(self) -> KeySet | None:
        """The stored key set, None when there is none."""
        ...

    def save(self, keys: KeySet) -> None:
        """Replace the stored key set, atomically."""
        ...

    def changed(self) -> bool:
        """Whether the stored set may differ from the one last loaded or saved."""
        ...


class FileKeys:
    """A key set in a file readable by its owner alone (mode 0600)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._seen: tuple[int, int, int] | None = None

    @property
    def location(self) -> str:
        return str(self.path)

    def _signature(self) -> tuple[int, int, int] | None:
        try:
            st = self.path.stat()
        except FileNotFoundError:
            return None
        return (st.st_ino, st.st_mtime_ns, st.st_size)

    def changed(self) -> bool:
        return self._signature() != self._seen

    def load(self) -> KeySet | None:
        try:
            fd = os.open(self.path, os.O_RDONLY)
        except FileNotFoundError:
            self._seen = None
            return None
        with os.fdopen(fd, "r", encoding="utf-8") as handle:
            st = os.fstat(handle.fileno())
            mode = st.st_mode & 0o777
            if mode & 0o077:
                raise SecretError(
                    f"refusing the master key file {self.path}: its mode is {mode:04o}, so other "
                    "users may read it; nothing was unsealed",
                    hint=f"chmod 600 {self.path}",
                )
            text = handle.read()
        self._seen = (st.st_ino, st.st_mtime_ns, st.st_size)
        return KeySet.decode(text, str(self.path))

    def save(self, keys: KeySet) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_name(f".{self.path.name}.{os.getpid()}.tmp")
        tmp.unlink(missing_ok=True)
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                handle.write(keys.encode())
                handle.flush()
                os.fsync(handle.fileno())
            tmp.replace(self.path)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
        _fsync_dir(self.path.parent)
        self._seen = self._signature()


class KeyringKeys:
    """A key set in the OS keyring, one entry per home."""

    def __init__(self, keyring: Any, home: Path) -> None:
        self.keyring = keyring
        self.username = f"master-key:{home}"

    @property
    def location(self) -> str:
        return f"the OS keyring (service {KEYRING_SERVICE!r}, entry {self.username!r})"

    def changed(self) -> bool:
        return True  # no cheap way to tell; sealing is rare enough to read it again

    def load(self) -> KeySet | None:
        text = self.keyring.get_password(KEYRING_SERVICE, self.username)
        return KeySet.decode(text, self.location) if text else None

    def save(self, keys: KeySet) -> None:
        self.keyring.set_password(KEYRING_SERVICE, self.username, keys.encode())


def _fsync_dir(directory: Path) -> None:
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def keyring_allowed() -> bool:
    """Whether ``STIGMER_KEYRING`` lets the OS keyring be used."""
    return os.environ.get(KEYRING_SWITCH, "").strip().lower() not in ("0", "off", "false", "no")


def usable_keyring() -> Any | None:
    """The OS keyring backend when one works here (not keyring's "fail" backend), else None."""
    try:
        import keyring
        import keyring.backends.fail
    except ImportError:
        return None
    try:
        backend = keyring.get_keyring()
        if isinstance(backend, keyring.backends.fail.Keyring) or getattr(backend, "priority", 0) <= 0:
            return None
        backend.get_password(KEYRING_SERVICE, "probe")
    except Exception:
        return None
    return backend


def choose_backend(home: Path) -> KeyBackend:
    """The file when it exists or the keyring is switched off or unusable, else the keyring."""
    path = home / MASTER_KEY_FILE
    if path.exists() or not keyring_allowed():
        return FileKeys(path)
    backend = usable_keyring()
    return KeyringKeys(backend, home) if backend is not None else FileKeys(path)


class MasterKeys:
    """The master keys of one home, loaded on first use and again when the store changes.

    Args:
        home: The Stigmer home (the key file lives there).
        backend: Where the keys are; by default chosen by :func:`choose_backend` on first use.
    """

    def __init__(self, home: Path, *, backend: KeyBackend | None = None) -> None:
        self.home = home
        self._backend = backend
        self._keys: KeySet | None = None

    @property
    def backend(self) -> KeyBackend:
        if self._backend is None:
            self._backend = choose_backend(self.home)
        return self._backend

    @property
    def location(self) -> str:
        """Where the key is kept, for messages."""
        return self.backend.location

    def load(self) -> KeySet | None:
        """The current key set (read again when the store changed), None when there is none."""
        if self._keys is None or self.backend.changed():
            self._keys = self.backend.load()
        return self._keys

    def ensure(self) -> tuple[MasterKey, bool]:
        """The sealing key, created when there is none; and whether it was created now."""
        keys = self.load()
        if keys is not None:
            return keys.primary, False
        created = KeySet((MasterKey.generate(),))
        self.backend.save(created)
        self._keys = created
        return created.primary, True

    def primary(self, *, may_create: Callable[[], bool]) -> MasterKey:
        """The key that seals new secrets.

        Args:
            may_create: Asked when there is no key: True when making a new one is safe
                (no secret sealed with a lost key would be orphaned silently).

        Raises:
            SecretError: There is no key and one may not be made.
        """
        keys = self.load()
        if keys is not None:
            return keys.primary
        if not may_create():
            raise self.missing("")
        return self.ensure()[0]

    def find(self, kid: str) -> MasterKey:
        """The key with id ``kid`` (the store is read again when it is not known yet).

        Raises:
            SecretError: No such key here: it is missing, or another home's.
        """
        keys = self.load()
        key = keys.find(kid) if keys else None
        if key is None and keys is not None:
            self._keys = keys = self.backend.load()
            key = keys.find(kid) if keys else None
        if key is None:
            raise self.missing(kid)
        return key

    def missing(self, kid: str) -> SecretError:
        """The error for a master key that is not where it should be."""
        which = f"master key {kid!r}" if kid else "master key"
        return SecretError(
            f"the {which} that sealed this home's secrets is not in {self.location}; "
            "nothing was unsealed or changed",
            hint=f"restore {MASTER_KEY_FILE} (or the keyring entry) from a backup; with "
            f"STIGMER_KEYRING=0 the key is read from {self.home / MASTER_KEY_FILE} only",
        )

    def begin_rotation(self) -> tuple[MasterKey, KeySet]:
        """Add a new sealing key in front of the current ones; return it and the previous set.

        Raises:
            SecretError: There is no key to rotate from.
        """
        previous = self.load()
        if previous is None:
            raise self.missing("")
        new = MasterKey.generate()
        self.backend.save(KeySet((new, *previous.keys)))
        self._keys = None
        return new, previous

    def finish_rotation(self, new: MasterKey) -> None:
        """Keep only ``new`` (after every secret was re-sealed with it and that committed)."""
        self.backend.save(KeySet((new,)))
        self._keys = None

    def abort_rotation(self, previous: KeySet, *, keep: MasterKey) -> None:
        """The re-sealing did not commit: the previous key seals again, ``keep`` (the new key)
        stays behind it to open anything another process sealed with it meanwhile."""
        self.backend.save(KeySet((*previous.keys, keep)))
        self._keys = None


__all__ = [
    "KEYRING_SWITCH",
    "MASTER_KEY_FILE",
    "FileKeys",
    "KeyBackend",
    "KeySet",
    "KeyringKeys",
    "MasterKey",
    "MasterKeys",
    "choose_backend",
    "keyring_allowed",
    "usable_keyring",
]
