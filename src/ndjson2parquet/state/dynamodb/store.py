"""DynamoDB state store: the AWS backend. Conditional writes and transactions are its only locks.

`DynamoDbStore` holds its parts as collaborators, each one concern, all sharing one request runner:

* `DynamoDbRequests` (requests): every request, retried with backoff and translated into domain errors;
* `TransactionalWriter` (writes): conditional file writes in transactions that keep the counters exact;
* `ShardedListings` (listings): bounded, merged pages over sharded GSI partitions;
* `DateItems` (dates): dates, the dataset registry, counters, seals;
* `FileItems` (files): registration, file reads, waiting listings, file state changes;
* `ManifestItems` (manifests): claims (one transaction, or the CLAIMING protocol), transitions;
* `SingleItems` (records): schemas and owners.

The key layout is in `table`, records ↔ items in `codec`. Each primitive of `StateStore` is one
call on a part; no rule is decided here. Nothing from botocore escapes.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from ...backoff import Backoff
from ...config.settings import StorePolicy
from ...domain.records import DateStatus, FileRecord, Manifest, Page, SealRecord
from ...domain.states import FileState, ManifestState
from ..changes import FileChange, ManifestChange
from ..store import StateStore
from .dates import DateItems
from .files import FileItems
from .listings import ShardedListings
from .manifests import ManifestItems
from .records import SingleItems
from .requests import DynamoDbRequests
from .writes import TransactionalWriter

__all__ = ["DynamoDbStore"]


class DynamoDbStore(StateStore):
    """State in one DynamoDB table (see `table` for its layout), assembled from its parts."""

    write_chunk = 1000  # StateStore's chunk; transactions below it are split to 100 items
    expires_finished = True  # the table's TTL on expires_at

    def __init__(
        self, table_name: str, client: Any = None, policy: StorePolicy | None = None, backoff: Backoff | None = None
    ) -> None:
        super().__init__(policy, backoff)
        if client is None:
            import boto3  # only when no client is injected: tests and Lambdas pass their own

            client = boto3.client("dynamodb")
        self.client = client
        self.table = table_name
        self.requests = DynamoDbRequests(table_name, client, self.backoff)
        writer = TransactionalWriter(self.requests)
        listings = ShardedListings(self.requests)
        self.date_items = DateItems(self.requests, self.policy)
        self.file_items = FileItems(self.requests, writer, listings, self.date_items, self.policy)
        self.manifest_items = ManifestItems(self.requests, writer, listings, self.file_items, self.policy)
        self.single_items = SingleItems(self.requests)

    def close(self) -> None:
        """Stop the query threads (the boto3 client needs no closing)."""
        self.requests.close()

    # ----------------------------------------------------------------- files
    def _insert_files(self, records: Sequence[FileRecord]) -> list[FileRecord]:
        return self.file_items.insert(records)

    def _import_files(self, records: Sequence[FileRecord]) -> list[FileRecord]:
        return self.file_items.import_finished(records)

    def _get_files(self, file_ids: Sequence[str]) -> list[FileRecord]:
        return self.file_items.get(file_ids)

    def _files_by_uri(self, uri: str) -> list[FileRecord]:
        return self.file_items.by_uri(uri)

    def _versions_of(self, uris: Sequence[str], listed: Mapping[str, str]) -> list[FileRecord]:
        return self.file_items.versions_of(uris, listed)

    def _query_waiting(
        self, state: FileState, dataset: str, date: str, limit: int, cursor: str | None
    ) -> Page[FileRecord]:
        return self.file_items.waiting(state, dataset, date, limit, cursor)

    def _update_files(self, changes: Sequence[FileChange]) -> list[str]:
        return self.file_items.update(changes)

    # ----------------------------------------------------------------- manifests
    def _create_manifest(self, manifest: Manifest) -> None:
        self.manifest_items.create(manifest)

    def _abandon_claim(self, manifest: Manifest) -> None:
        self.manifest_items.abandon_claim(manifest)

    def _get_manifest(self, manifest_id: str) -> Manifest | None:
        return self.manifest_items.get(manifest_id)

    def _update_manifest(
        self,
        manifest_id: str,
        expect_states: frozenset[ManifestState],
        expect_owner: str | None,
        change: ManifestChange,
    ) -> Manifest:
        return self.manifest_items.update(manifest_id, expect_states, expect_owner, change)

    def _query_live_manifests(self, limit: int, cursor: str | None) -> Page[Manifest]:
        return self.manifest_items.live(limit, cursor)

    def _query_manifests(self, dataset: str, date: str, limit: int, cursor: str | None) -> Page[Manifest]:
        return self.manifest_items.of_date(dataset, date, limit, cursor)

    def _known_manifests(self, manifest_ids: Sequence[str]) -> set[str]:
        return self.manifest_items.known(manifest_ids)

    def _put_manifest(self, manifest: Manifest) -> None:
        self.manifest_items.put(manifest)

    # ----------------------------------------------------------------- counts and dates
    def _counts(self) -> tuple[dict[str, int], dict[str, int]]:
        return self.date_items.counts()

    def _get_date(self, dataset: str, date: str) -> DateStatus | None:
        return self.date_items.get(dataset, date)

    def _query_dates(self, dataset: str | None, limit: int, cursor: str | None) -> Page[DateStatus]:
        return self.date_items.query(dataset, limit, cursor)

    def _seal_date(
        self, dataset: str, date: str, sealed_at: float, seal: SealRecord, expect_files: Mapping[str, int]
    ) -> None:
        self.date_items.seal(dataset, date, sealed_at, seal, expect_files)

    def _open_date(self, dataset: str, date: str, *, late: bool) -> bool:
        return self.date_items.open(dataset, date, late=late)

    # ----------------------------------------------------------------- schemas and owners
    def _get_schema(self, dataset: str) -> tuple[int, str] | None:
        return self.single_items.get_schema(dataset)

    def _put_schema(self, dataset: str, schema_json: str, expected_version: int) -> None:
        self.single_items.put_schema(dataset, schema_json, expected_version)

    def _put_owner(self, owner: str, alive_until: float, expires_at: int) -> None:
        self.single_items.put_owner(owner, alive_until, expires_at)

    def _delete_owner(self, owner: str) -> None:
        self.single_items.delete_owner(owner)

    def _get_owner(self, owner: str) -> float | None:
        return self.single_items.get_owner(owner)
