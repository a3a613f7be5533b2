"""The state store: shared logic here, tiny conditional-write primitives in each backend.

Like Powertools' idempotency persistence layer, `StateStore` owns every rule (which transition is
allowed, what it changes, TTLs, chunking, retries) and a backend only implements the `_primitives`:
conditional inserts and updates, and bounded, paginated queries. Every state change is a
conditional write, so concurrent callers can race freely: the loser gets `ConditionFailed`.
"""

from __future__ import annotations

import json
import math
from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Self

from ..backoff import Backoff
from ..config.settings import StorePolicy
from ..domain import clock
from ..domain.errors import ConditionFailed, InvalidTransition, NotFound
from ..domain.records import DateStatus, FileRecord, Ledger, Manifest, Page, SealRecord, new_manifest_id
from ..domain.states import FileState, ManifestState, file_transition, manifest_transition

_FINAL_STATES = (FileState.DONE, FileState.REJECTED, FileState.FAILED)
_BUSY_STATES = (FileState.PENDING, FileState.CLAIMED)
#: how long past its death an owner's record is kept before a store's TTL may drop it
OWNER_GRACE_S = 3600


@dataclass(frozen=True, slots=True)
class FileChange:
    """One conditional update of a file: applied only if it is still `expect_state` in `expect_manifest`."""

    file_id: str
    expect_state: FileState
    expect_manifest: str | None
    state: FileState | None = None  # None: keep the state
    set_fields: dict[str, object] = field(default_factory=dict)  # manifest_id, attempts, ledger, error, expires_at


@dataclass(frozen=True, slots=True)
class RegisterResult:
    """What a registration did."""

    new: int = 0
    seen: int = 0  # already registered (same version): nothing changed
    late: list[tuple[str, str]] = field(default_factory=list)  # sealed (dataset, date)s that were reopened


class StateStore(ABC):
    """One contract, two backends (SQLite, DynamoDB). All public methods are safe to call concurrently."""

    #: the most items a backend writes in one atomic request (DynamoDB: 100 per transaction)
    write_chunk: int = 500
    #: whether finished files and settled manifests vanish `policy.retention_days` after they finished
    #: (DynamoDB's TTL); a store that keeps them (SQLite) must know every manifest the lake names
    expires_finished: bool = False

    def __init__(self, policy: StorePolicy | None = None, backoff: Backoff | None = None) -> None:
        self.policy = policy or StorePolicy()
        self.backoff = backoff or Backoff()

    # ----------------------------------------------------------------- registration
    def register(self, records: Iterable[FileRecord]) -> RegisterResult:
        """Record files as PENDING. The same version again is a no-op; a sealed date is reopened."""
        new = seen = 0
        touched: set[tuple[str, str]] = set()
        chunk: list[FileRecord] = []
        for record in records:
            chunk.append(record)
            if len(chunk) >= self.write_chunk:
                added = self._insert_files(chunk)
                new, seen = new + len(added), seen + len(chunk) - len(added)
                touched.update((r.dataset, r.date) for r in added)
                chunk = []
        if chunk:
            added = self._insert_files(chunk)
            new, seen = new + len(added), seen + len(chunk) - len(added)
            touched.update((r.dataset, r.date) for r in added)
        late = [key for key in sorted(touched) if self._reopen_if_sealed(*key)]
        return RegisterResult(new=new, seen=seen, late=late)

    def versions_of(self, uris: Sequence[str], listed: Mapping[str, str] | None = None) -> dict[str, list[FileRecord]]:
        """Every registered version of each of these objects, oldest first; uris never seen are absent.

        One bounded, batched lookup per chunk (what registration asks before it decides on a listing's
        chunk); a uri never seen costs no request of its own. ``listed`` (uri → the file id a listing
        sees now): a backend may answer a uri whose latest registered version is that one with that
        version alone, which is all registration needs to know (DynamoDB spares a query per file).
        """
        found: dict[str, list[FileRecord]] = {}
        unique = list(dict.fromkeys(uris))
        for start in range(0, len(unique), self.write_chunk):
            for record in self._versions_of(unique[start : start + self.write_chunk], listed or {}):
                found.setdefault(record.uri, []).append(record)
        for versions in found.values():
            versions.sort(key=lambda r: (r.registered_at, r.start_offset))
        return found

    def supersede(self, records: Sequence[FileRecord], reason: str, now: float | None = None) -> set[str]:
        """PENDING or FAILED versions a newer version of their file replaces → REJECTED with `reason`.

        Returns the ids superseded; one a run claimed meanwhile is left alone (and not returned).
        """
        at = clock.now() if now is None else now
        changes = [
            FileChange(
                r.file_id,
                r.state,
                None,
                state=file_transition("supersede")[1],
                set_fields={"ledger": Ledger(rejection=reason), "updated_at": at, "expires_at": self._ttl(at)},
            )
            for r in records
            if r.state in file_transition("supersede")[0]
        ]
        lost = set(self._update_files(changes)) if changes else set()
        return {c.file_id for c in changes} - lost

    def accept_changed(self, record: FileRecord, now: float | None = None) -> bool:
        """CHANGED → PENDING: a changed file converted knowingly as a new version. False if it was not CHANGED."""
        at = clock.now() if now is None else now
        change = FileChange(
            record.file_id,
            FileState.CHANGED,
            None,
            state=file_transition("accept")[1],
            set_fields={"error": None, "updated_at": at},
        )
        return not self._update_files([change])

    def _reopen_if_sealed(self, dataset: str, date: str) -> bool:
        """A file registered into a sealed date reopens it, counted late (one conditional write)."""
        return self._open_date(dataset, date, late=True)

    # ----------------------------------------------------------------- queries
    def pending(self, dataset: str, date: str, limit: int, cursor: str | None = None) -> Page[FileRecord]:
        """PENDING files of one (dataset, date), oldest registration first, at most `limit`."""
        return self._query_waiting(FileState.PENDING, dataset, date, self._bounded(limit), cursor)

    def failed(self, dataset: str, date: str, limit: int, cursor: str | None = None) -> Page[FileRecord]:
        """FAILED files (the dead-letter list) of one (dataset, date)."""
        return self._query_waiting(FileState.FAILED, dataset, date, self._bounded(limit), cursor)

    def rejected(self, dataset: str, date: str, limit: int, cursor: str | None = None) -> Page[FileRecord]:
        """REJECTED files (set aside whole; the reason is in each ledger) of one (dataset, date)."""
        return self._query_waiting(FileState.REJECTED, dataset, date, self._bounded(limit), cursor)

    def changed(self, dataset: str, date: str, limit: int, cursor: str | None = None) -> Page[FileRecord]:
        """CHANGED files (converted bytes that changed; the reason is in `error`) of one (dataset, date)."""
        return self._query_waiting(FileState.CHANGED, dataset, date, self._bounded(limit), cursor)

    def dates(self, dataset: str | None = None) -> Iterator[DateStatus]:
        """Every known (dataset, date) with its counts, page by page."""
        cursor: str | None = None
        while True:
            page = self._query_dates(dataset, self.policy.page_size, cursor)
            yield from page.items
            if page.cursor is None:
                return
            cursor = page.cursor

    def date_status(self, dataset: str, date: str) -> DateStatus | None:
        """One (dataset, date), or None if no file was ever registered for it."""
        return self._get_date(dataset, date)

    def get_file(self, file_id: str) -> FileRecord:
        """One file record by id."""
        found = self._get_files([file_id])
        if not found:
            raise NotFound(f"no file {file_id}")
        return found[0]

    def files_by_uri(self, uri: str) -> list[FileRecord]:
        """Every registered version of one object, oldest first: the ledger's entry point."""
        return sorted(self._files_by_uri(uri), key=lambda r: r.registered_at)

    def get_manifest(self, manifest_id: str) -> Manifest:
        """One manifest by id."""
        manifest = self._get_manifest(manifest_id)
        if manifest is None:
            raise NotFound(f"no manifest {manifest_id}")
        return manifest

    def files_of(self, manifest: Manifest) -> Iterator[FileRecord]:
        """The manifest's files, read in bounded chunks."""
        ids = manifest.file_ids
        for start in range(0, len(ids), self.policy.page_size):
            yield from self._get_files(ids[start : start + self.policy.page_size])

    def live_manifests(self) -> Iterator[Manifest]:
        """Manifests that are not settled yet (the only ones recovery looks at), page by page."""
        cursor: str | None = None
        while True:
            page = self._query_live_manifests(self.policy.page_size, cursor)
            yield from page.items
            if page.cursor is None:
                return
            cursor = page.cursor

    def manifests_of(self, dataset: str, date: str) -> Iterator[Manifest]:
        """Every manifest of one (dataset, date), oldest first, page by page (for `verify`)."""
        cursor: str | None = None
        while True:
            page = self._query_manifests(dataset, date, self.policy.page_size, cursor)
            yield from page.items
            if page.cursor is None:
                return
            cursor = page.cursor

    def counts(self) -> dict[str, dict[str, int]]:
        """{"files": {state: n}, "manifests": {state: n}} over the whole store."""
        files, manifests = self._counts()
        return {
            "files": {s.value: files.get(s.value, 0) for s in FileState},
            "manifests": {s.value: manifests.get(s.value, 0) for s in ManifestState},
        }

    # ----------------------------------------------------------------- claims
    def claim(self, files: Sequence[FileRecord], reason: str, now: float | None = None) -> Manifest | None:
        """Put PENDING files into a new manifest, all or none. None when another claimer won any of them."""
        if not files:
            raise InvalidTransition("a manifest needs at least one file")
        dataset, date = files[0].dataset, files[0].date
        if any(f.dataset != dataset or f.date != date for f in files):
            raise InvalidTransition("a manifest holds files of one dataset and one date")
        if len({f.file_id for f in files}) != len(files):
            raise InvalidTransition("a file appears twice in one claim")
        at = clock.now() if now is None else now
        manifest = Manifest(
            manifest_id=new_manifest_id(date),
            dataset=dataset,
            date=date,
            file_ids=tuple(f.file_id for f in files),
            bytes=sum(f.size for f in files),
            state=ManifestState.CREATED,
            created_at=at,
            updated_at=at,
            reason=reason,
            lease_expires_at=at + self.policy.lease_s,  # a CREATED manifest nobody starts is recoverable too
        )
        try:
            self._create_manifest(manifest)
        except ConditionFailed:
            return None
        return manifest

    # ----------------------------------------------------------------- manifest transitions
    def start(self, manifest_id: str, owner: str, now: float | None = None) -> Manifest:
        """CREATED → RUNNING under `owner`'s lease. ConditionFailed if someone else started it."""
        at = clock.now() if now is None else now
        current = self.get_manifest(manifest_id)
        return self._transition(
            current,
            "start",
            lease_owner=owner,
            lease_expires_at=at + self.policy.lease_s,
            runs=current.runs + 1,
            updated_at=at,
        )

    def renew(self, manifest: Manifest, owner: str, now: float | None = None) -> Manifest:
        """Extend the lease of a RUNNING manifest this owner holds (the heartbeat)."""
        at = clock.now() if now is None else now
        return self._update_manifest(
            manifest.manifest_id,
            frozenset({ManifestState.RUNNING}),
            owner,
            {"lease_expires_at": at + self.policy.lease_s, "updated_at": at},
        )

    def requeue(self, manifest: Manifest, now: float | None = None) -> Manifest:
        """RUNNING with a dead owner → CREATED, so it is re-driven under the same id."""
        at = clock.now() if now is None else now
        return self._transition(
            manifest,
            "requeue",
            expect_owner=manifest.lease_owner,
            lease_owner=None,
            lease_expires_at=at + self.policy.lease_s,
            updated_at=at,
        )

    def succeed(
        self,
        manifest: Manifest,
        owner: str,
        outputs: Sequence[str],
        ledgers: dict[str, Ledger],
        stats: dict[str, object] | None = None,
        now: float | None = None,
    ) -> Manifest:
        """Commit a converted manifest: ledgers first, then the manifest (the commit point), then files.

        A crash after the commit point leaves a SUCCEEDED, unsettled manifest that `settle` finishes;
        a backend that can do all three in one transaction does (see `_commit`).
        """
        missing = set(manifest.file_ids) - set(ledgers)
        if missing:
            raise InvalidTransition(f"no ledger for {len(missing)} file(s) of {manifest.manifest_id}")
        at = clock.now() if now is None else now
        return self._commit(manifest, owner, ledgers, at, outputs=tuple(outputs), stats=dict(stats or {}))

    def fail(self, manifest: Manifest, owner: str | None, error: str, now: float | None = None) -> Manifest:
        """RUNNING (or never started) → FAILED. The caller removes its outputs, then calls `compensate`."""
        at = clock.now() if now is None else now
        return self._transition(
            manifest, "fail", expect_owner=owner, error=error[:2000], lease_owner=None, updated_at=at
        )

    def compensate(self, manifest: Manifest, now: float | None = None) -> Manifest:
        """Saga compensation of a FAILED manifest: files back to PENDING (attempts + 1) or FAILED."""
        at = clock.now() if now is None else now
        changes = []
        for record in self.files_of(manifest):
            if record.state != FileState.CLAIMED or record.manifest_id != manifest.manifest_id:
                continue  # already compensated by an earlier, interrupted attempt
            attempts = record.attempts + 1
            give_up = attempts >= self.policy.max_attempts
            changes.append(
                FileChange(
                    record.file_id,
                    FileState.CLAIMED,
                    manifest.manifest_id,
                    state=file_transition("give_up" if give_up else "release")[1],
                    set_fields={
                        "manifest_id": None,
                        "attempts": attempts,
                        "ledger": Ledger(),
                        "error": manifest.error,
                        "updated_at": at,
                    },
                )
            )
        self._apply(changes)
        return self._transition(manifest, "compensate", settled=True, updated_at=at, expires_at=self._ttl(at))

    def settle(
        self, manifest: Manifest, now: float | None = None, ledgers: dict[str, Ledger] | None = None
    ) -> Manifest:
        """After SUCCEEDED: each CLAIMED file → DONE, or REJECTED when its ledger holds a rejection.

        `ledgers`, when the caller has them (right after the commit), spare reading the files again;
        recovery passes none and reads them from the store.
        """
        if manifest.state != ManifestState.SUCCEEDED:
            raise InvalidTransition(f"settle needs a SUCCEEDED manifest, {manifest.manifest_id} is {manifest.state}")
        at = clock.now() if now is None else now
        if ledgers is None:
            ledgers = {
                r.file_id: r.ledger
                for r in self.files_of(manifest)
                if r.state == FileState.CLAIMED and r.manifest_id == manifest.manifest_id
            }
        changes = [
            FileChange(
                file_id,
                FileState.CLAIMED,
                manifest.manifest_id,
                state=file_transition("reject" if ledger.rejection else "complete")[1],
                set_fields={"updated_at": at, "expires_at": self._ttl(at)},
            )
            for file_id, ledger in ledgers.items()
        ]
        self._apply(changes)
        if manifest.settled:
            return manifest
        return self._update_manifest(
            manifest.manifest_id,
            frozenset({ManifestState.SUCCEEDED}),
            None,
            {"settled": True, "updated_at": at, "expires_at": self._ttl(at)},
        )

    def abandon_claim(self, manifest: Manifest) -> None:
        """Undo an interrupted multi-step claim (CLAIMING): release what it holds and drop it."""
        if manifest.state != ManifestState.CLAIMING:
            raise InvalidTransition(f"{manifest.manifest_id} is {manifest.state}, not CLAIMING")
        self._abandon_claim(manifest)

    # ----------------------------------------------------------------- what the lake says it holds
    def known_manifests(self, manifest_ids: Sequence[str]) -> set[str]:
        """Which of these manifest ids the store holds, in any state (batched lookups, no scan)."""
        known: set[str] = set()
        for start in range(0, len(manifest_ids), self.policy.page_size):
            known |= self._known_manifests(manifest_ids[start : start + self.policy.page_size])
        return known

    def import_committed(self, manifest: Manifest, files: Sequence[FileRecord]) -> bool:
        """Restore a manifest the lake says was committed: the manifest SUCCEEDED and settled, its
        files DONE or REJECTED with their ledgers. False when the store knows the manifest already.

        Idempotent and safe to repeat after a crash: files go first (absent ones inserted, PENDING
        ones moved to their final state), the manifest last, so its presence means "imported".
        A file the store holds in any other way (another manifest, CLAIMED, FAILED) is a conflict:
        ConditionFailed, and nothing of this manifest is written.
        """
        if manifest.state != ManifestState.SUCCEEDED or not manifest.settled:
            raise InvalidTransition(f"only a settled SUCCEEDED manifest can be imported, not {manifest.state}")
        mid = manifest.manifest_id
        if {f.file_id for f in files} != set(manifest.file_ids) or len(files) != len(manifest.file_ids):
            raise InvalidTransition(f"the files given are not the files of manifest {mid}")
        for f in files:
            wanted = file_transition("reject" if f.ledger.rejection else "complete")[1]
            if f.manifest_id != mid or f.state != wanted or f.dataset != manifest.dataset:
                raise InvalidTransition(f"file {f.file_id} is not a finished file of manifest {mid}")
        if self._get_manifest(mid) is not None:
            return False
        existing = {r.file_id: r for r in self._get_files([f.file_id for f in files])}
        conflicts = [
            r
            for r in existing.values()
            if not (r.state == FileState.PENDING and r.manifest_id is None)
            and not (r.manifest_id == mid and r.state in (FileState.DONE, FileState.REJECTED))
        ]
        if conflicts:
            first = conflicts[0]
            raise ConditionFailed(
                f"{len(conflicts)} file(s) of manifest {mid} are held otherwise by the state store"
                f" (e.g. {first.uri} is {first.state} in manifest {first.manifest_id})"
            )
        absent = [f for f in files if f.file_id not in existing]
        added: set[str] = set()  # an absent file registered meanwhile is PENDING now: moved below
        for start in range(0, len(absent), self.write_chunk):
            added.update(r.file_id for r in self._import_files(absent[start : start + self.write_chunk]))
        self._apply(
            [
                FileChange(
                    f.file_id,
                    FileState.PENDING,
                    None,
                    state=f.state,
                    set_fields={
                        "manifest_id": mid,
                        "ledger": f.ledger,
                        "attempts": f.attempts,
                        "updated_at": f.updated_at,
                    },
                )
                for f in files
                if f.file_id not in added and _waiting(existing.get(f.file_id))
            ]
        )
        try:
            self._put_manifest(manifest)
        except ConditionFailed:
            return False  # another import of the same record won
        return True

    # ----------------------------------------------------------------- dead letters, seals, schema
    def retry_failed(self, dataset: str, date: str, now: float | None = None) -> int:
        """Put every FAILED file of (dataset, date) back to PENDING with its attempts reset."""
        return self._retry_all(FileState.FAILED, dataset, date, now)

    def retry_rejected(self, dataset: str, date: str, now: float | None = None) -> int:
        """Put every REJECTED file of (dataset, date) back to PENDING (the user fixed them), attempts reset.

        A rejected file wrote no row, so converting it again adds its rows once; its ledger is reset
        here and replaced by the new conversion's, the old reason kept in `error`.
        """
        return self._retry_all(FileState.REJECTED, dataset, date, now)

    def retry_files(self, records: Iterable[FileRecord], now: float | None = None) -> list[FileRecord]:
        """Put these FAILED or REJECTED files back to PENDING; return those moved.

        Others are left as they are: a file in another state, and a version superseded by a newer
        registered version of the same object (that one reads the object's content: converting
        the old one too would add the rows twice).
        """
        at = clock.now() if now is None else now
        records = list(records)
        changes = [
            self._retry_change(r, at)
            for r in records
            if r.state in (FileState.FAILED, FileState.REJECTED) and not self._superseded(r)
        ]
        lost = set(self._update_files(changes)) if changes else set()
        moved = [r for r in records if r.file_id in {c.file_id for c in changes} - lost]
        for dataset, date in sorted({(r.dataset, r.date) for r in moved}):
            self._unseal(dataset, date)
        return moved

    def _retry_all(self, state: FileState, dataset: str, date: str, now: float | None) -> int:
        at = clock.now() if now is None else now
        moved = 0
        passed: set[str] = set()  # superseded versions, left where they are
        cursor: str | None = None
        while True:  # re-query from the start (moved files leave the listing), past a page of only superseded ones
            page = self._query_waiting(state, dataset, date, self._bounded(self.policy.page_size), cursor)
            if not page.items:
                break
            candidates = [r for r in page.items if r.file_id not in passed]
            passed.update(r.file_id for r in candidates if self._superseded(r))
            changes = [self._retry_change(r, at) for r in candidates if r.file_id not in passed]
            if not changes:
                if page.cursor is None:
                    break  # only superseded versions are left: they stay where they are
                cursor = page.cursor
                continue
            lost = self._update_files(changes)
            moved += len(changes) - len(lost)
            if len(lost) == len(changes):
                break  # every one moved on under us: nothing left to do here
        if moved:
            self._unseal(dataset, date)
        return moved

    def _superseded(self, record: FileRecord) -> bool:
        """True when a newer version of the same object is registered (it carries the object's rows)."""
        return any(
            other.file_id != record.file_id and other.registered_at > record.registered_at
            for other in self._files_by_uri(record.uri)
            if other.dataset == record.dataset
        )

    @staticmethod
    def _retry_change(record: FileRecord, at: float) -> FileChange:
        """FAILED → PENDING (`retry`) or REJECTED → PENDING (`retry_rejected`), attempts reset."""
        if record.state == FileState.REJECTED:
            _, target = file_transition("retry_rejected")
            fields: dict[str, object] = {
                "manifest_id": None,
                "ledger": Ledger(),
                "error": f"rejected before: {record.ledger.rejection}",
            }
        else:
            _, target = file_transition("retry")
            fields = {"error": None}
        return FileChange(
            record.file_id,
            record.state,
            record.manifest_id,
            state=target,
            set_fields={**fields, "attempts": 0, "updated_at": at, "expires_at": None},
        )

    def _unseal(self, dataset: str, date: str) -> None:
        """A date whose files were put back is open again (not a late arrival: the late count stays)."""
        self._open_date(dataset, date, late=False)

    def seal(self, dataset: str, date: str, now: float | None = None) -> DateStatus:
        """Seal a date whose files are all finished (DONE, REJECTED or FAILED), with its seal record.

        The record keeps the date's final counts and its committed manifests; a date with REJECTED
        or FAILED files is sealed "with problems" (`SealRecord.clean` is False). The write is
        conditional on the date's counts being the ones read: a file registered (or moved) between
        the read and the write makes it fail, and the date is read again.
        """
        at = clock.now() if now is None else now
        for _ in range(self.backoff.attempts):
            status = self._get_date(dataset, date)
            if status is None:
                raise NotFound(f"no date {dataset}/{date}")
            busy = sum(status.files.get(s.value, 0) for s in _BUSY_STATES)
            if busy:
                raise InvalidTransition(f"{dataset}/{date} still has {busy} file(s) pending or claimed")
            record = SealRecord(
                files={s.value: status.files.get(s.value, 0) for s in _FINAL_STATES},
                manifest_ids=tuple(
                    m.manifest_id for m in self.manifests_of(dataset, date) if m.state == ManifestState.SUCCEEDED
                ),
            )
            try:
                self._seal_date(dataset, date, at, record, {k: v for k, v in status.files.items() if v})
            except ConditionFailed:
                continue  # its files moved meanwhile: look again
            return self._get_date(dataset, date)  # type: ignore[return-value]
        raise ConditionFailed(f"{dataset}/{date} kept changing while it was being sealed")

    def get_schema(self, dataset: str) -> tuple[int, str] | None:
        """(version, schema JSON) stored for a dataset, or None."""
        return self._get_schema(dataset)

    def put_schema(self, dataset: str, schema_json: str, expected_version: int) -> int:
        """Store a new schema version if the stored one is still `expected_version` (0: none yet)."""
        self._put_schema(dataset, schema_json, expected_version)
        return expected_version + 1

    # ----------------------------------------------------------------- owners
    def announce_owner(self, owner: str, ttl_s: float, now: float | None = None) -> None:
        """Create or renew `owner`'s record: it is alive until `now + ttl_s` (a heartbeat renews it).

        An owner is whatever holds a manifest's lease (a process, a Step Functions execution, a Glue
        job run); recovery asks `owner_alive` instead of looking for a process.
        """
        if not owner:
            raise InvalidTransition("an owner needs a name")
        if ttl_s <= 0:
            raise InvalidTransition(f"an owner's ttl must be positive, not {ttl_s}")
        at = clock.now() if now is None else now
        alive_until = at + ttl_s
        # the store's TTL may drop the record a while after it died (owner_alive never trusts it to)
        self._put_owner(owner, alive_until, math.ceil(alive_until) + OWNER_GRACE_S)

    def retire_owner(self, owner: str) -> None:
        """Delete `owner`'s record (it finished); an absent record is fine."""
        self._delete_owner(owner)

    def owner_alive(self, owner: str, now: float | None = None) -> bool:
        """True when `owner` has a record whose `alive_until` is still ahead of `now`."""
        alive_until = self._get_owner(owner)
        at = clock.now() if now is None else now
        return alive_until is not None and alive_until > at

    # ----------------------------------------------------------------- shared helpers
    def _bounded(self, limit: int) -> int:
        return max(1, min(limit, self.policy.page_size))

    def _ttl(self, at: float) -> int:
        return clock.ttl_epoch(at, self.policy.retention_days)

    def _transition(
        self, manifest: Manifest, name: str, expect_owner: str | None = None, **changes: object
    ) -> Manifest:
        sources, target = self._allowed(manifest, name)
        return self._update_manifest(manifest.manifest_id, sources, expect_owner, {"state": target, **changes})

    @staticmethod
    def _allowed(manifest: Manifest, name: str) -> tuple[frozenset[ManifestState], ManifestState]:
        """The named transition's source states and target, or ConditionFailed if it cannot apply now."""
        sources, target = manifest_transition(name)
        if manifest.state not in sources:
            raise ConditionFailed(f"{manifest.manifest_id}: cannot {name} from {manifest.state}")
        return sources, target

    def _commit(
        self, manifest: Manifest, owner: str, ledgers: dict[str, Ledger], at: float, **changes: object
    ) -> Manifest:
        """Ledgers first, then the manifest (the commit point), then the files: each step conditional and
        idempotent, so a crash anywhere leaves what recovery finishes. A backend with transactions
        over any number of rows overrides this with one transaction doing all three.
        """
        self._apply(
            [
                FileChange(fid, FileState.CLAIMED, manifest.manifest_id, set_fields={"ledger": ledgers[fid]})
                for fid in manifest.file_ids
            ]
        )
        committed = self._transition(
            manifest,
            "succeed",
            expect_owner=owner,
            lease_owner=None,
            lease_expires_at=None,
            updated_at=at,
            **changes,
        )
        return self.settle(committed, now=at, ledgers=ledgers)

    def _apply(self, changes: list[FileChange]) -> None:
        """Apply file changes; a change that lost its condition must already be in its target state."""
        for start in range(0, len(changes), self.write_chunk):
            chunk = changes[start : start + self.write_chunk]
            lost = set(self._update_files(chunk))
            if not lost:
                continue
            by_id = {c.file_id: c for c in chunk if c.file_id in lost}
            for record in self._get_files(list(by_id)):
                change = by_id[record.file_id]
                target = change.state or change.expect_state
                wanted_manifest = change.set_fields.get("manifest_id", change.expect_manifest)
                if record.state != target or record.manifest_id != wanted_manifest:
                    raise ConditionFailed(
                        f"file {record.file_id} is {record.state} in {record.manifest_id}, "
                        f"expected {change.expect_state} in {change.expect_manifest}"
                    )

    # ----------------------------------------------------------------- primitives
    @abstractmethod
    def _insert_files(self, records: Sequence[FileRecord]) -> list[FileRecord]:
        """Insert each record unless its file_id exists; return those inserted. Counts dates too."""

    @abstractmethod
    def _get_files(self, file_ids: Sequence[str]) -> list[FileRecord]:
        """The records among these ids that exist (strongly consistent read)."""

    @abstractmethod
    def _files_by_uri(self, uri: str) -> list[FileRecord]:
        """Every version registered under one uri."""

    @abstractmethod
    def _versions_of(self, uris: Sequence[str], listed: Mapping[str, str]) -> list[FileRecord]:
        """Every version registered under any of these uris (at most `write_chunk` uris), batched; or
        only the version `listed` names for a uri whose latest version it is (see `versions_of`)."""

    @abstractmethod
    def _query_waiting(
        self, state: FileState, dataset: str, date: str, limit: int, cursor: str | None
    ) -> Page[FileRecord]:
        """PENDING, FAILED, REJECTED or CHANGED files of (dataset, date), oldest registration first, bounded."""

    @abstractmethod
    def _create_manifest(self, manifest: Manifest) -> None:
        """Store the manifest and move each of its files PENDING → CLAIMED, all or none.

        Raise ConditionFailed (and leave nothing behind) if any file is no longer PENDING.
        """

    @abstractmethod
    def _abandon_claim(self, manifest: Manifest) -> None:
        """Release files a CLAIMING manifest holds and delete it (conditional on CLAIMING)."""

    @abstractmethod
    def _get_manifest(self, manifest_id: str) -> Manifest | None:
        """One manifest (strongly consistent read)."""

    @abstractmethod
    def _update_manifest(
        self,
        manifest_id: str,
        expect_states: frozenset[ManifestState],
        expect_owner: str | None,
        changes: dict[str, object],
    ) -> Manifest:
        """Apply `changes` if the manifest is in one of `expect_states` (and held by `expect_owner`
        when that is not None); return the new manifest, or raise ConditionFailed."""

    @abstractmethod
    def _update_files(self, changes: Sequence[FileChange]) -> list[str]:
        """Apply each change whose condition holds; return the ids whose condition failed."""

    @abstractmethod
    def _query_live_manifests(self, limit: int, cursor: str | None) -> Page[Manifest]:
        """Unsettled manifests, bounded."""

    @abstractmethod
    def _query_manifests(self, dataset: str, date: str, limit: int, cursor: str | None) -> Page[Manifest]:
        """Manifests of one (dataset, date) in any state, oldest first, bounded."""

    @abstractmethod
    def _counts(self) -> tuple[dict[str, int], dict[str, int]]:
        """Files per state and manifests per state."""

    @abstractmethod
    def _get_date(self, dataset: str, date: str) -> DateStatus | None:
        """One date's counts and seal."""

    @abstractmethod
    def _query_dates(self, dataset: str | None, limit: int, cursor: str | None) -> Page[DateStatus]:
        """Known dates, ordered by (dataset, date), bounded."""

    @abstractmethod
    def _seal_date(
        self, dataset: str, date: str, sealed_at: float, seal: SealRecord, expect_files: Mapping[str, int]
    ) -> None:
        """Seal a date with its record if its file counts per state are still `expect_files` (states
        with no file left out) at the moment of the write; else raise ConditionFailed. Registration
        counts a file in the same write that inserts it, so no file slips in unseen."""

    @abstractmethod
    def _open_date(self, dataset: str, date: str, *, late: bool) -> bool:
        """Clear a date's seal and seal record if it is sealed (`late`: count a late file too), as one
        conditional write; return whether it was sealed."""

    @abstractmethod
    def _get_schema(self, dataset: str) -> tuple[int, str] | None:
        """(version, schema JSON) of a dataset."""

    @abstractmethod
    def _put_schema(self, dataset: str, schema_json: str, expected_version: int) -> None:
        """Write version expected_version + 1, or raise ConditionFailed if the stored one moved on."""

    @abstractmethod
    def _known_manifests(self, manifest_ids: Sequence[str]) -> set[str]:
        """The ids among these (at most `policy.page_size`) that name a stored manifest."""

    @abstractmethod
    def _import_files(self, records: Sequence[FileRecord]) -> list[FileRecord]:
        """Insert finished records as they are (state, manifest, ledger) unless their file_id exists;
        return those inserted. Counts dates too."""

    @abstractmethod
    def _put_manifest(self, manifest: Manifest) -> None:
        """Store a settled manifest as it is, claiming nothing; ConditionFailed if its id exists."""

    @abstractmethod
    def _put_owner(self, owner: str, alive_until: float, expires_at: int) -> None:
        """Create or overwrite an owner's record (`expires_at`: when the store may drop it)."""

    @abstractmethod
    def _delete_owner(self, owner: str) -> None:
        """Delete an owner's record if there is one."""

    @abstractmethod
    def _get_owner(self, owner: str) -> float | None:
        """An owner's `alive_until` (strongly consistent read), or None when it has no record."""

    def close(self) -> None:  # noqa: B027 - an optional hook: most clients need no closing
        """Release connections."""

    def __enter__(self) -> Self:
        """`with open_store(...) as store:` closes the store when the block ends."""
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def encode_seal(record: SealRecord | None) -> str | None:
    """A seal record as the JSON text a backend stores."""
    if record is None:
        return None
    return json.dumps({"files": record.files, "manifest_ids": list(record.manifest_ids)})


def decode_seal(text: str | None) -> SealRecord | None:
    """The seal record stored as ``text`` (None when there is none)."""
    if not text:
        return None
    data = json.loads(text)
    return SealRecord(files=dict(data.get("files", {})), manifest_ids=tuple(data.get("manifest_ids", ())))


def _waiting(record: FileRecord | None) -> bool:
    """A file an import must move to its final state: PENDING outside any manifest, or unknown when
    looked up (so registered since, PENDING; the move's condition says if it is not)."""
    return record is None or (record.state == FileState.PENDING and record.manifest_id is None)
