"""The primitives a state backend implements: conditional writes and bounded, paginated reads.

`StateStore` (store.py) holds every rule and calls only these. A backend decides nothing: it maps
typed change records (changes.py) onto its rows or items and reports which conditions failed.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from typing import Self

from ..backoff import Backoff
from ..config.settings import StorePolicy
from ..domain.records import DateStatus, FileRecord, Manifest, Page, SealRecord
from ..domain.states import FileState, ManifestState
from .changes import FileChange, ManifestChange


class StorePrimitives(ABC):
    """What each backend implements; safe to call concurrently."""

    #: the most items a backend writes in one atomic request (DynamoDB: 100 per transaction)
    write_chunk: int = 500
    #: whether finished files and settled manifests vanish `policy.retention_days` after they finished
    #: (DynamoDB's TTL); a store that keeps them (SQLite) must know every manifest the lake names
    expires_finished: bool = False

    def __init__(self, policy: StorePolicy | None = None, backoff: Backoff | None = None) -> None:
        self.policy = policy or StorePolicy()
        self.backoff = backoff or Backoff()

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
        change: ManifestChange,
    ) -> Manifest:
        """Apply `change` if the manifest is in one of `expect_states` (and held by `expect_owner`
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

    def _commit_atomically(
        self,
        manifest_id: str,
        expect_states: frozenset[ManifestState],
        owner: str,
        change: ManifestChange,
        files: Sequence[FileChange],
    ) -> Manifest | None:
        """Apply the manifest's `change` and every file change in ONE transaction, all or nothing
        (ConditionFailed if any condition fails); None when this backend cannot, so the commit goes
        step by step (ledgers, commit point, settle), each step conditional and idempotent."""
        return None

    def close(self) -> None:  # noqa: B027 - an optional hook: most clients need no closing
        """Release connections."""

    def __enter__(self) -> Self:
        """`with open_store(...) as store:` closes the store when the block ends."""
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
