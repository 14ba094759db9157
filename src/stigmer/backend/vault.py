"""Environment secrets in the local store: sealed on write, masked on read, opened for a
running execution, re-sealed by a key rotation.

The store itself never sees plaintext: an Environment's ``spec.secrets`` and an
ExecutionContext's ``spec.secrets`` hold sealed tokens (see :mod:`stigmer.secrets.sealing`),
and so does every history snapshot. Functions ending in ``_txn`` run inside the caller's
write transaction, so a failure (a missing key, a tampered value) writes nothing.
"""

from __future__ import annotations

from typing import Any, TypeVar

from stigmer import faults
from stigmer.api.environment.v1.environment_pb2 import Environment
from stigmer.api.executioncontext.v1.executioncontext_pb2 import ExecutionContext
from stigmer.backend.codec import seal as seal_message
from stigmer.errors import InvalidArgument, NotFound, SecretError
from stigmer.resources.kinds import Resource, kind_info
from stigmer.resources.names import new_id
from stigmer.secrets.keys import MasterKey, MasterKeys
from stigmer.secrets.redaction import MASK
from stigmer.secrets.sealing import is_sealed, key_id, seal, unseal
from stigmer.store import records, versions
from stigmer.store.connection import Connection
from stigmer.store.records import Record

R = TypeVar("R", bound=Resource)
ENVIRONMENT = kind_info(Environment)
CONTEXT = kind_info(ExecutionContext)
WITH_SECRETS = (ENVIRONMENT.kind, CONTEXT.kind)


def mask(resource: R) -> R:
    """``resource`` with every secret value shown as ``****`` (Environments and contexts)."""
    if isinstance(resource, Environment | ExecutionContext):
        for name in list(resource.spec.secrets):
            resource.spec.secrets[name] = MASK
    return resource


def mask_snapshot(kind: str, snapshot: dict[str, Any]) -> dict[str, Any]:
    """A history snapshot as readers see it: secret names, never their sealed values."""
    secrets = snapshot.get("spec", {}).get("secrets") if kind in WITH_SECRETS else None
    if not secrets:
        return snapshot
    return {**snapshot, "spec": {**snapshot["spec"], "secrets": dict.fromkeys(secrets, MASK)}}


def has_sealed_secrets(conn: Connection) -> bool:
    """Whether any Environment holds a secret, or any MCP server a sign-in (so a missing master
    key must not be replaced)."""
    from stigmer.store.sign_ins import any_stored

    return records.any_with_spec_field(conn, ENVIRONMENT.table, "secrets") or any_stored(conn)


def _label(name: str, environment: str) -> str:
    return f"secret {name} of environment {environment!r}"


class Vault:
    """The secrets of one store, sealed with one home's master keys."""

    def __init__(self, keys: MasterKeys) -> None:
        self.keys = keys

    def open(self, token: str, *, environment_id: str, name: str, environment: str) -> str:
        """The plaintext of one stored secret.

        Raises:
            SecretError: Its key is missing, or it fails its integrity check.
        """
        return unseal(
            token, self.keys.find, environment_id=environment_id, name=name, label=_label(name, environment)
        )

    def seal_txn(
        self, conn: Connection, rec: Record, current: Record | None, *, importing: bool = False
    ) -> None:
        """Seal the plaintext secrets of an Environment record about to be written, in place.

        ``****`` keeps the stored value of that name; a plaintext equal to the stored value
        keeps the stored ciphertext (so re-applying a file changes nothing). ``rec.id`` must
        be final: each ciphertext is bound to it.

        Args:
            current: The stored record this one replaces (same id), if any.
            importing: Drop a ``****`` that has nothing to keep (an export without secret
                values) instead of refusing it.

        Raises:
            InvalidArgument: ``****`` for a secret that has no stored value.
            SecretError: The master key is missing, refused or wrong.
        """
        given: dict[str, str] = rec.spec.get("secrets") or {}
        if not given:
            rec.spec.pop("secrets", None)
            return
        stored: dict[str, str] = (current.spec.get("secrets") or {}) if current else {}
        sealed: dict[str, str] = {}
        primary: MasterKey | None = None
        for name, value in given.items():
            old = stored.get(name)
            if value == MASK:
                if old is not None:
                    sealed[name] = old
                elif not importing:
                    raise InvalidArgument(
                        f"secret {name} is {MASK} (keep the stored value), but there is no stored value",
                        field=f"spec.secrets.{name}",
                        resource=f"Environment/{rec.name}",
                        hint=f"give its value: stigmer env set {rec.name} --secret {name}",
                    )
                continue
            if (
                old is not None
                and self.open(old, environment_id=rec.id, name=name, environment=rec.name) == value
            ):
                sealed[name] = old
                continue
            if primary is None:
                primary = self.keys.primary(may_create=lambda: not has_sealed_secrets(conn))
            sealed[name] = seal(primary, value, environment_id=rec.id, name=name)
        if sealed:
            rec.spec["secrets"] = sealed
        else:
            rec.spec.pop("secrets", None)

    def reveal(self, rec: Record, name: str) -> str:
        """One secret of a stored Environment, in plaintext.

        Raises:
            NotFound: The environment has no secret of that name.
        """
        stored: dict[str, str] = rec.spec.get("secrets") or {}
        if name not in stored:
            known = ", ".join(sorted(stored)) or "none"
            raise NotFound(
                f"environment {rec.name!r} has no secret {name!r}",
                hint=f"its secrets: {known}; set one with `stigmer env set {rec.slug} --secret {name}`",
            )
        return self.open(stored[name], environment_id=rec.id, name=name, environment=rec.name)

    def context_record(self, execution_id: str, env: Record | None, now: str, actor: str) -> Record:
        """The ExecutionContext row of a run: variables, and its environment's secrets still sealed."""
        spec: dict[str, Any] = {"executionId": execution_id}
        if env is not None:
            spec.update(environment=env.name, environmentId=env.id)
            for field in ("variables", "secrets"):
                if env.spec.get(field):
                    spec[field] = dict(env.spec[field])
        rec = Record(
            id=new_id(CONTEXT.id_prefix),
            name=execution_id,
            slug=execution_id,
            version=1,
            spec=spec,
            created_at=now,
            updated_at=now,
            created_by=actor,
            updated_by=actor,
        )
        seal_message(ExecutionContext, rec)
        return rec

    def open_context(self, rec: Record) -> ExecutionContext:
        """The context a runner reads: the row's secrets unsealed (never written back)."""
        spec = dict(rec.spec)
        secrets: dict[str, str] = spec.pop("secrets", None) or {}
        context = ExecutionContext(api_version="agentic.stigmer.ai/v1", kind=CONTEXT.kind)
        context.metadata.id, context.metadata.name, context.metadata.slug = rec.id, rec.name, rec.slug
        context.metadata.version = rec.version
        if rec.created_at:
            context.metadata.create_time.FromJsonString(rec.created_at)
        c = context.spec
        c.execution_id = str(spec.get("executionId", ""))
        c.environment, c.environment_id = str(spec.get("environment", "")), str(spec.get("environmentId", ""))
        c.variables.update(spec.get("variables") or {})
        for name, token in secrets.items():
            c.secrets[name] = self.open(
                token, environment_id=c.environment_id, name=name, environment=c.environment
            )
        return context

    def rotate_txn(self, conn: Connection, new: MasterKey) -> int:
        """Re-seal every stored secret with ``new``: environments, their history, live contexts.

        Returns:
            How many secrets of current environments were re-sealed.

        Raises:
            SecretError: A current secret cannot be opened; the caller rolls everything back.
        """
        count = 0
        for rec in records.scan(conn, ENVIRONMENT.table, spec_field="secrets"):
            count += self._reseal(rec.spec, rec.id, rec.name, new, strict=True)
            seal_message(Environment, rec)
            records.update_txn(conn, ENVIRONMENT.table, rec, expected_version=rec.version)
        for rec in records.scan(conn, CONTEXT.table, spec_field="secrets"):
            env_id, env = str(rec.spec.get("environmentId", "")), str(rec.spec.get("environment", ""))
            self._reseal(rec.spec, env_id, env, new, strict=True)
            seal_message(ExecutionContext, rec)
            records.update_txn(conn, CONTEXT.table, rec, expected_version=rec.version)
        for entry_id, env_id, snapshot in versions.snapshots_of_kind(conn, ENVIRONMENT.kind):
            spec = snapshot.get("spec") or {}
            if spec.get("secrets"):
                name = str(snapshot.get("metadata", {}).get("name", ""))
                self._reseal(spec, env_id, name, new, strict=False)
                versions.replace_snapshot_txn(conn, entry_id, snapshot)
        return count

    def _reseal(self, spec: dict[str, Any], env_id: str, env: str, new: MasterKey, *, strict: bool) -> int:
        secrets: dict[str, str] = spec.get("secrets") or {}
        count = 0
        for name, token in secrets.items():
            if key_id(token) == new.kid or not is_sealed(token):
                continue
            try:
                plaintext = self.open(token, environment_id=env_id, name=name, environment=env)
            except SecretError:
                if strict:
                    raise
                continue  # history that could not be opened before cannot be after
            secrets[name] = seal(new, plaintext, environment_id=env_id, name=name)
            count += 1
            faults.hit("secrets.rotation_resealed")
        return count


__all__ = ["Vault", "has_sealed_secrets", "mask", "mask_snapshot"]
