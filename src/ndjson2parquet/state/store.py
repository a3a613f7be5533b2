"""The state store: every rule here, tiny conditional-write primitives in each backend.

Like Powertools' idempotency persistence layer, `StateStore` owns every rule (which transition is
allowed, what it changes, TTLs, chunking, retries) and a backend only implements the primitives
(`primitives.py`): conditional inserts and updates, and bounded, paginated queries. Every state
change is a conditional write, so concurrent callers can race freely: the loser gets `ConditionFailed`.
What each transition changes is written once, in `rules.py`; seals and retries live in `dates.py`,
restoring from the lake in `lake_imports.py`.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import replace

from ..domain import clock
from ..domain.errors import ConditionFailed, InvalidTransition, NotFound
from ..domain.records import DateStatus, FileRecord, Ledger, Manifest, Page, new_manifest_id
from ..domain.states import FileState, ManifestState, file_transition, manifest_transition
from . import dates, lake_imports, rules
from .changes import FileChange, ManifestChange, RegisterResult
from .primitives import StorePrimitives

#: how long past its death an owner's record is kept before a store's TTL may drop it
OWNER_GRACE_S = 3600


class StateStore(StorePrimitives):
    """One contract, two backends (SQLite, DynamoDB). All public methods are safe to call concurrently."""

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
        sources, _ = file_transition("supersede")
        changes = [rules.supersede_change(r, reason, at, self._ttl(at)) for r in records if r.state in sources]
        lost = set(self._update_files(changes)) if changes else set()
        return {c.file_id for c in changes} - lost

    def accept_changed(self, record: FileRecord, now: float | None = None) -> bool:
        """CHANGED → PENDING: a changed file converted knowingly as a new version. False if it was not CHANGED."""
        at = clock.now() if now is None else now
        return not self._update_files([rules.accept_change(record, at)])

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
        change = ManifestChange(
            lease_owner=owner, lease_expires_at=at + self.policy.lease_s, runs=current.runs + 1, updated_at=at
        )
        return self._transition(current, "start", change)

    def renew(self, manifest: Manifest, owner: str, now: float | None = None) -> Manifest:
        """Extend the lease of a RUNNING manifest this owner holds (the heartbeat)."""
        at = clock.now() if now is None else now
        change = ManifestChange(lease_expires_at=at + self.policy.lease_s, updated_at=at)
        return self._update_manifest(manifest.manifest_id, frozenset({ManifestState.RUNNING}), owner, change)

    def requeue(self, manifest: Manifest, now: float | None = None) -> Manifest:
        """RUNNING with a dead owner → CREATED, so it is re-driven under the same id."""
        at = clock.now() if now is None else now
        change = ManifestChange(lease_owner=None, lease_expires_at=at + self.policy.lease_s, updated_at=at)
        return self._transition(manifest, "requeue", change, expect_owner=manifest.lease_owner)

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
        return self._commit(manifest, owner, ledgers, at, tuple(outputs), dict(stats or {}))

    def fail(self, manifest: Manifest, owner: str | None, error: str, now: float | None = None) -> Manifest:
        """RUNNING (or never started) → FAILED. The caller removes its outputs, then calls `compensate`."""
        at = clock.now() if now is None else now
        change = ManifestChange(error=error[:2000], lease_owner=None, updated_at=at)
        return self._transition(manifest, "fail", change, expect_owner=owner)

    def compensate(self, manifest: Manifest, now: float | None = None) -> Manifest:
        """Saga compensation of a FAILED manifest: files back to PENDING (attempts + 1) or FAILED."""
        at = clock.now() if now is None else now
        changes = [
            rules.release_change(record, manifest, at, self.policy.max_attempts)
            for record in self.files_of(manifest)
            # a file already released by an earlier, interrupted attempt is left as it is
            if record.state == FileState.CLAIMED and record.manifest_id == manifest.manifest_id
        ]
        self._apply(changes)
        return self._transition(manifest, "compensate", rules.settled(at, self._ttl(at)))

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
        self._apply(self._settle_changes(manifest, ledgers, at))
        if manifest.settled:
            return manifest
        return self._update_manifest(
            manifest.manifest_id, frozenset({ManifestState.SUCCEEDED}), None, rules.settled(at, self._ttl(at))
        )

    def abandon_claim(self, manifest: Manifest) -> None:
        """Undo an interrupted multi-step claim (CLAIMING): release what it holds and drop it."""
        if manifest.state != ManifestState.CLAIMING:
            raise InvalidTransition(f"{manifest.manifest_id} is {manifest.state}, not CLAIMING")
        self._abandon_claim(manifest)

    # ----------------------------------------------------------------- what the lake says it holds
    def known_manifests(self, manifest_ids: Sequence[str]) -> set[str]:
        """Which of these manifest ids the store holds, in any state (batched lookups, no scan)."""
        return lake_imports.known_manifests(self, manifest_ids)

    def import_committed(self, manifest: Manifest, files: Sequence[FileRecord]) -> bool:
        """Restore a manifest the lake says was committed: the manifest SUCCEEDED and settled, its
        files DONE or REJECTED with their ledgers. False when the store knows the manifest already.

        Idempotent and safe to repeat after a crash (see `lake_imports.import_committed`); a file
        the store holds in another way is a conflict: ConditionFailed, nothing of it written.
        """
        return lake_imports.import_committed(self, manifest, files)

    # ----------------------------------------------------------------- dead letters and seals
    def retry_failed(self, dataset: str, date: str, now: float | None = None) -> int:
        """Put every FAILED file of (dataset, date) back to PENDING with its attempts reset."""
        return dates.retry_all(self, FileState.FAILED, dataset, date, clock.now() if now is None else now)

    def retry_rejected(self, dataset: str, date: str, now: float | None = None) -> int:
        """Put every REJECTED file of (dataset, date) back to PENDING (the user fixed them), attempts reset.

        A rejected file wrote no row, so converting it again adds its rows once; its ledger is reset
        here and replaced by the new conversion's, the old reason kept in `error`.
        """
        return dates.retry_all(self, FileState.REJECTED, dataset, date, clock.now() if now is None else now)

    def retry_files(self, records: Iterable[FileRecord], now: float | None = None) -> list[FileRecord]:
        """Put these FAILED or REJECTED files back to PENDING; return those moved.

        Others are left as they are: a file in another state, and a version superseded by a newer
        registered version of the same object (that one reads the object's content: converting
        the old one too would add the rows twice).
        """
        return dates.retry_files(self, records, clock.now() if now is None else now)

    def seal(self, dataset: str, date: str, now: float | None = None) -> DateStatus:
        """Seal a date whose files are all finished (DONE, REJECTED or FAILED), with its seal record.

        The record keeps the date's final counts and its committed manifests; a date with REJECTED
        or FAILED files is sealed "with problems" (`SealRecord.clean` is False). The write is
        conditional on the date's counts being the ones read: a file registered (or moved) between
        the read and the write makes it fail, and the date is read again.
        """
        return dates.seal(self, dataset, date, clock.now() if now is None else now)

    # ----------------------------------------------------------------- schema
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
        self, manifest: Manifest, name: str, change: ManifestChange, expect_owner: str | None = None
    ) -> Manifest:
        sources, target = self._allowed(manifest, name)
        return self._update_manifest(manifest.manifest_id, sources, expect_owner, replace(change, state=target))

    @staticmethod
    def _allowed(manifest: Manifest, name: str) -> tuple[frozenset[ManifestState], ManifestState]:
        """The named transition's source states and target, or ConditionFailed if it cannot apply now."""
        sources, target = manifest_transition(name)
        if manifest.state not in sources:
            raise ConditionFailed(f"{manifest.manifest_id}: cannot {name} from {manifest.state}")
        return sources, target

    def _settle_changes(self, manifest: Manifest, ledgers: Mapping[str, Ledger], at: float) -> list[FileChange]:
        expires = self._ttl(at)
        return [rules.settle_change(fid, manifest.manifest_id, ledger, at, expires) for fid, ledger in ledgers.items()]

    def _commit(
        self,
        manifest: Manifest,
        owner: str,
        ledgers: dict[str, Ledger],
        at: float,
        outputs: tuple[str, ...],
        stats: dict[str, object],
    ) -> Manifest:
        """Ledgers, the manifest (the commit point), then the files: in one transaction when the
        backend can; otherwise step by step, each step conditional and idempotent, so a crash
        anywhere leaves what recovery finishes.
        """
        sources, target = self._allowed(manifest, "succeed")
        ledgers = {fid: ledgers[fid] for fid in manifest.file_ids}  # the manifest's files, no others
        change = rules.committed(target, outputs, stats, at)
        expires = self._ttl(at)
        together = [
            rules.settle_change(fid, manifest.manifest_id, ledger, at, expires, store_ledger=True)
            for fid, ledger in ledgers.items()
        ]
        merged = rules.merge(change, rules.settled(at, self._ttl(at)))
        done = self._commit_atomically(manifest.manifest_id, sources, owner, merged, together)
        if done is not None:
            return done
        self._apply([rules.ledger_change(fid, manifest.manifest_id, ledgers[fid]) for fid in manifest.file_ids])
        committed = self._update_manifest(manifest.manifest_id, sources, owner, change)
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
                if record.state != target or record.manifest_id != change.target_manifest:
                    raise ConditionFailed(
                        f"file {record.file_id} is {record.state} in {record.manifest_id}, "
                        f"expected {change.expect_state} in {change.expect_manifest}"
                    )
