"""Secrets on SQLite: reveal one, rotate the master key (part of the Resources concern)."""

from __future__ import annotations

from stigmer import faults
from stigmer.backend.local.base import LocalStore
from stigmer.backend.local.sign_ins import reseal_sign_ins_txn
from stigmer.backend.vault import has_sealed_secrets
from stigmer.resources.kinds import kind_info


class LocalSecrets(LocalStore):
    """Secrets on SQLite: reveal one, rotate the master key (part of the Resources concern)."""

    def reveal_secret(self, environment: str, key: str) -> str:
        with self.db.read() as conn:
            rec = self._find(conn, kind_info("Environment"), environment)
        return self.vault.reveal(rec, key)

    def rotate_master_key(self) -> int:
        self.ensure_master_key()
        new, previous = self.keys.begin_rotation()
        faults.hit("secrets.rotation_key_added")
        try:
            # Exclusive: every sealed value is re-sealed as if no other writer were sealing one.
            with self.db.write(exclusive=True) as conn:
                count = self.vault.rotate_txn(conn, new)
                count += reseal_sign_ins_txn(conn, self.keys, new)
        except BaseException:
            # Nothing was re-sealed: the old key seals again; the new one stays to open anything
            # another process sealed with it meanwhile.
            self.keys.abort_rotation(previous, keep=new)
            raise
        faults.hit("secrets.rotation_committed")
        self.keys.finish_rotation(new)
        return count

    def ensure_master_key(self) -> tuple[str, bool]:
        """Make sure this home has a master key: (where it is, whether it was created now).

        Raises:
            SecretError: The key is missing while secrets sealed with it are stored; a new
                key would not open them, so none is made.
        """
        if self.keys.load() is None:
            with self.db.read() as conn:
                if has_sealed_secrets(conn):
                    raise self.keys.missing("")
        _, created = self.keys.ensure()
        return self.keys.location, created


__all__ = ["LocalSecrets"]
