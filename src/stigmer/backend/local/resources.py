"""The Resources part on SQLite: create, get, update, apply, delete, list, history, rollback, import."""

from __future__ import annotations

import builtins
from collections.abc import Sequence
from typing import Any

from stigmer import faults
from stigmer.api.agentexecution.v1.agentexecution_pb2 import AgentExecution
from stigmer.api.apiresourceversion.v1.apiresourceversion_pb2 import ApiResourceVersion
from stigmer.api.session.v1.session_pb2 import Session
from stigmer.backend.codec import from_json, from_record, set_time, timestamp, to_record
from stigmer.backend.local.base import (
    _DEFAULT_INSTANCE,
    LocalStore,
    _page_size,
    _sealed,
    _stored_status,
    _system_slug,
)
from stigmer.backend.protocol import (
    DEFAULT_PAGE_SIZE,
    ApplyOutcome,
    Page,
    R,
)
from stigmer.backend.vault import mask, mask_snapshot
from stigmer.errors import AlreadyExists, Conflict, InvalidArgument, NotFound
from stigmer.resources.kinds import KindInfo, Resource, kind_info
from stigmer.resources.names import new_id, slugify, validate_label_key
from stigmer.store import records, versions
from stigmer.store.connection import Connection
from stigmer.store.locks import lock_names_txn, name_of
from stigmer.store.records import PageRequest, Record


class LocalResources(LocalStore):
    """The Resources part on SQLite: create, get, update, apply, delete, list, history, rollback, import."""

    def create(self, resource: R) -> R:
        info, slug = self._writable(resource)
        with self.db.write() as conn:
            lock_names_txn(conn, _names(info, slug))
            if records.get(conn, info.table, slug=slug):
                raise AlreadyExists(
                    f"{info.kind} {resource.metadata.name!r} already exists",
                    hint=f"use `stigmer apply` to update it, or delete it first: "
                    f"`stigmer delete {info.kind.lower()} {slug}`",
                )
            rec = self._create_txn(conn, info, resource, slug)
        return mask(self._with_status(from_record(type(resource), rec)))

    def get(self, kind: type[R], ref: str) -> R:
        info = kind_info(kind)
        # The record, then what its names resolve to now: they need not be read in one snapshot.
        with self.db.read(snapshot=False) as conn:
            rec = self._find(conn, info, ref)
            resource = self._with_status(from_record(kind, rec), conn)
            if isinstance(resource, Session):
                _add_conversation(conn, resource)
            return mask(resource)

    def update(self, resource: R) -> R:
        info, slug = self._writable(resource)
        expected = resource.metadata.version
        if expected <= 0:
            raise InvalidArgument(
                "metadata.version is required to update: it must be the version you read",
                field="metadata.version",
                hint="get the resource, change it and update it; or use apply to overwrite",
            )
        with self.db.write() as conn:
            ref = resource.metadata.id or resource.metadata.name
            current = self._locked_txn(conn, info, ref, slug)
            if current.version != expected:
                raise Conflict(
                    f"{info.kind} {current.name!r} changed since version {expected} (it is now "
                    f"version {current.version}); nothing was written",
                    hint="get it again, reapply your change and update",
                )
            if slug != current.slug and records.get(conn, info.table, slug=slug):
                raise AlreadyExists(f"{info.kind} {resource.metadata.name!r} already exists")
            new = to_record(resource)
            self._seal_secrets_txn(conn, info, new, current)
            rec = self._update_txn(conn, info, current, new, slug, "update")
        return mask(self._with_status(from_record(type(resource), rec)))

    def apply(self, resources: Sequence[Resource], *, dry_run: bool = False) -> builtins.list[ApplyOutcome]:
        checked = [(*self._writable(r), r) for r in resources]
        seen: dict[tuple[str, str], int] = {}
        for i, (info, slug, res) in enumerate(checked):
            if (info.kind, slug) in seen:
                raise InvalidArgument(
                    f"{info.kind} {res.metadata.name!r} appears twice (resources {seen[info.kind, slug] + 1} "
                    f"and {i + 1}) in one apply",
                    resource=f"{info.kind}/{res.metadata.name}",
                    field="metadata.name",
                )
            seen[info.kind, slug] = i
        outcomes: list[ApplyOutcome] = []
        try:
            with self.db.write() as conn:
                lock_names_txn(conn, [n for info, slug, _ in checked for n in _names(info, slug)])
                for info, slug, res in checked:
                    outcomes.append(self._apply_txn(conn, info, slug, res))
                    faults.hit("apply.resource_written")
                self._resolve_references([o.resource for o in outcomes], conn)
                for outcome in outcomes:
                    outcome.warnings = _missing_reference_warnings(outcome.resource)
                    mask(outcome.resource)
                if dry_run:
                    raise _DryRun
        except _DryRun:
            pass
        return outcomes

    def delete(self, kind: type[R], ref: str) -> R:
        info = kind_info(kind)
        with self.db.write() as conn:
            rec = self._locked_txn(conn, info, ref)
            self._delete_txn(conn, info, rec)
            default = _DEFAULT_INSTANCE.get(info.kind)
            instance_id = str(rec.status.get("defaultInstanceId", ""))
            if default and instance_id:
                inst_info = kind_info(default[0])
                instance = records.get(conn, inst_info.table, id=instance_id, lock=True)
                if instance and instance.spec.get(default[1]) == rec.name:
                    self._delete_txn(conn, inst_info, instance)
        return mask(from_record(kind, rec))

    def list(
        self,
        kind: type[R],
        *,
        labels: dict[str, str] | None = None,
        page_size: int = DEFAULT_PAGE_SIZE,
        page_token: str = "",
    ) -> Page[R]:
        info = kind_info(kind)
        labels = dict(labels or {})
        for key in labels:
            validate_label_key(key, field=f"labels.{key}")
        scope = f"{info.kind}|{sorted(labels.items())}"
        size = _page_size(page_size)
        req = PageRequest(
            order="slug", limit=size + 1, labels=labels, after=records.decode_token(page_token, scope)
        )
        with self.db.read() as conn:
            rows = records.list_page(conn, info.table, req, documents=False)
            items = [mask(from_record(kind, r)) for r in rows[:size]]
            self._resolve_references(items, conn)
        token = (
            records.encode_token(scope, records.cursor_of(rows[size - 1], "slug")) if len(rows) > size else ""
        )
        return Page(items, token)

    def history(self, kind: type[Resource], ref: str) -> builtins.list[ApiResourceVersion]:
        info = kind_info(kind)
        with self.db.read() as conn:
            try:
                rec = self._find(conn, info, ref)
                entries = versions.history(conn, info.kind, resource_id=rec.id)
            except NotFound:
                entries = versions.history(conn, info.kind, slug=slugify(ref))
                if not entries:
                    raise
        return [_version_message(e) for e in entries]

    def rollback(self, kind: type[R], ref: str, version: int) -> R:
        info = kind_info(kind)
        with self.db.write() as conn:
            current = self._locked_txn(conn, info, ref)
            entries = {e.version: e for e in versions.history(conn, info.kind, resource_id=current.id)}
            entry = entries.get(version)
            if entry is None or entry.operation == "delete":
                known = ", ".join(str(v) for v, e in sorted(entries.items()) if e.operation != "delete")
                raise NotFound(
                    f"{info.kind} {current.name!r} has no version {version}",
                    hint=f"versions: {known}; see `stigmer history {info.kind.lower()} {current.slug}`",
                )
            old = to_record(from_json(info.message, entry.snapshot))
            old.name = current.name
            rec = self._update_txn(conn, info, current, old, current.slug, "rollback")
        return mask(self._with_status(from_record(kind, rec)))

    def import_resources(self, resources: Sequence[Resource]) -> int:
        prepared = []
        for res in resources:
            info = kind_info(res)
            if info.kind == "ApiResourceVersion":
                raise InvalidArgument("history entries are not imported", resource=info.kind)
            from stigmer.resources.validate import validate  # writes only: a read needs none of it

            slug = validate(res) if info.declarative else _system_slug(res.metadata.name, res.metadata.id)
            rec = to_record(res)
            if not rec.id or rec.version <= 0:
                raise InvalidArgument(
                    "imported resources need metadata.id and metadata.version",
                    resource=f"{info.kind}/{res.metadata.name}",
                    hint="import what `stigmer export` wrote; use `stigmer apply` for hand-written files",
                )
            now = timestamp(self.clock())
            rec.slug, rec.created_at, rec.updated_at = slug, rec.created_at or now, rec.updated_at or now
            rec.status = _stored_status(rec.status)
            prepared.append((info, rec))
        # Exclusive: an import overwrites rows by id and by name, history included, as if alone.
        with self.db.write(exclusive=True) as conn:
            for info, rec in prepared:
                other = records.get(conn, info.table, slug=rec.slug)
                if other and other.id != rec.id:
                    raise AlreadyExists(
                        f"{info.kind} {rec.name!r} already exists here with another id ({other.id})",
                        hint="import into an empty home, or delete the existing resource first",
                    )
                self._seal_secrets_txn(
                    conn, info, rec, records.get(conn, info.table, id=rec.id), importing=True
                )
                records.replace_txn(conn, info.table, _sealed(info, rec))
                self._snapshot_txn(conn, info, rec, "import", replace=True)
                faults.hit("import.resource_written")
        return len(prepared)

    def _locked_txn(self, conn: Connection, info: KindInfo, ref: str, *also: str) -> Record:
        """The record ``ref`` names, read again once its names (with the slugs ``also``) and
        then its row are locked: the latest version, which no other writer changes until the
        transaction ends."""
        found = self._find(conn, info, ref)
        names = [*_names(info, found.slug), *(n for slug in also for n in _names(info, slug))]
        lock_names_txn(conn, names)
        return self._find(conn, info, found.id, lock=True)

    def _writable(self, resource: Resource) -> tuple[KindInfo, str]:
        info = kind_info(resource)
        if not info.declarative:
            raise InvalidArgument(
                f"{info.kind} resources are written by Stigmer, not created directly",
                resource=info.kind,
                hint="use create_execution for executions",
            )
        from stigmer.resources.validate import validate

        return info, validate(resource)

    def _new_record(self, info: KindInfo, resource: Resource, slug: str) -> Record:
        rec = to_record(resource)
        now = timestamp(self.clock())
        rec.id, rec.slug, rec.version = new_id(info.id_prefix), slug, 1
        rec.created_at = rec.updated_at = now
        rec.created_by = rec.updated_by = self.actor
        rec.status = _stored_status(rec.status) if info.execution else {}
        return rec

    def _create_txn(self, conn: Connection, info: KindInfo, resource: Resource, slug: str) -> Record:
        rec = self._new_record(info, resource, slug)
        self._seal_secrets_txn(conn, info, rec, None)
        default = _DEFAULT_INSTANCE.get(info.kind)
        if default:
            rec.status["defaultInstanceId"] = self._default_instance_txn(conn, rec, *default)
        records.insert_txn(conn, info.table, _sealed(info, rec))
        self._snapshot_txn(conn, info, rec, "create")
        return rec

    def _default_instance_txn(self, conn: Connection, owner: Record, kind: str, field: str) -> str:
        info = kind_info(kind)
        existing = records.get(conn, info.table, slug=owner.slug)
        if existing:
            return existing.id
        instance = Record(
            id=new_id(info.id_prefix),
            name=owner.name,
            slug=owner.slug,
            version=1,
            spec={field: owner.name, "description": f"default instance of {owner.name}"},
            created_at=owner.created_at,
            updated_at=owner.updated_at,
            created_by=self.actor,
            updated_by=self.actor,
        )
        records.insert_txn(conn, info.table, _sealed(info, instance))
        self._snapshot_txn(conn, info, instance, "create")
        return instance.id

    def _update_txn(
        self,
        conn: Connection,
        info: KindInfo,
        current: Record,
        new: Record,
        slug: str,
        operation: str,
    ) -> Record:
        rec = Record(
            id=current.id,
            name=new.name,
            slug=slug,
            version=current.version + 1,
            spec=new.spec,
            status=current.status,
            labels=new.labels,
            annotations=new.annotations,
            tags=new.tags,
            created_at=current.created_at,
            updated_at=timestamp(self.clock()),
            created_by=current.created_by,
            updated_by=self.actor,
        )
        if not records.update_txn(conn, info.table, _sealed(info, rec), expected_version=current.version):
            raise Conflict(f"{info.kind} {current.name!r} changed while it was being written; try again")
        self._snapshot_txn(conn, info, rec, operation)
        return rec

    def _apply_txn(self, conn: Connection, info: KindInfo, slug: str, resource: Resource) -> ApplyOutcome:
        current = records.get(conn, info.table, slug=slug, lock=True)
        if current is None:
            rec = self._create_txn(conn, info, resource, slug)
            return ApplyOutcome(from_record(type(resource), rec), "created")
        new = to_record(resource)
        self._seal_secrets_txn(conn, info, new, current)
        if _content(new) == _content(current):
            return ApplyOutcome(from_record(type(resource), current), "unchanged")
        rec = self._update_txn(conn, info, current, new, slug, "update")
        return ApplyOutcome(from_record(type(resource), rec), "configured")

    def _seal_secrets_txn(
        self,
        conn: Connection,
        info: KindInfo,
        rec: Record,
        current: Record | None,
        *,
        importing: bool = False,
    ) -> None:
        """Seal an Environment's plaintext secrets before the record is written (see Vault)."""
        if info.kind != "Environment":
            return
        rec.id = current.id if current else rec.id
        self.vault.seal_txn(conn, rec, current, importing=importing)

    def _delete_txn(self, conn: Connection, info: KindInfo, rec: Record) -> None:
        records.delete_txn(conn, info.table, rec.id)
        gone = Record(**{**rec.__dict__, "version": rec.version + 1, "updated_at": timestamp(self.clock())})
        self._snapshot_txn(conn, info, gone, "delete")


class _DryRun(Exception):
    """Raised inside a write transaction to roll back a dry run."""


def _names(info: KindInfo, slug: str) -> list[str]:
    """The lock names a write of ``slug`` takes: its own, and its default instance's."""
    default = _DEFAULT_INSTANCE.get(info.kind)
    names = [name_of(info.table, slug)]
    if default:
        names.append(name_of(kind_info(default[0]).table, slug))
    return names


def _content(rec: Record) -> tuple[Any, ...]:
    return (rec.name, rec.labels, rec.annotations, rec.tags, rec.spec)


def _missing_reference_warnings(resource: Resource) -> list[str]:
    refs = getattr(resource.status, "references", [])
    return [
        f"{r.field} refers to {r.kind} {r.name!r}, which does not exist (yet)" for r in refs if not r.resolved
    ]


SESSION_RUNS_SHOWN = 200


def _add_conversation(conn: Connection, session: Session) -> None:
    """A session's conversation: each run's message and answer, oldest first."""
    info = kind_info(AgentExecution)
    req = PageRequest(order="newest", limit=SESSION_RUNS_SHOWN, where={"session_ref": session.metadata.name})
    for rec in reversed(records.list_page(conn, info.table, req)):
        run = from_record(AgentExecution, rec)
        session.status.execution_ids.append(run.metadata.id)
        session.status.messages.add(role="user", content=run.spec.message)
        if run.status.output:
            session.status.messages.add(role="assistant", content=run.status.output)


def _version_message(entry: versions.VersionRecord) -> ApiResourceVersion:
    message = ApiResourceVersion(api_version="agentic.stigmer.ai/v1", kind="ApiResourceVersion")
    message.metadata.id = entry.id
    message.metadata.name = f"{entry.resource_slug}@{entry.version}"
    message.metadata.version = 1
    set_time(message.metadata.create_time, entry.created_at)
    spec = message.spec
    spec.resource_kind, spec.resource_id = entry.resource_kind, entry.resource_id
    spec.resource_name = str(entry.snapshot.get("metadata", {}).get("name", entry.resource_slug))
    spec.version, spec.operation = entry.version, entry.operation
    spec.snapshot.update(mask_snapshot(entry.resource_kind, entry.snapshot))
    return message


__all__ = ["LocalResources"]
