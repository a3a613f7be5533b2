"""Keep the dataset schema in the state store in step with what manifests wrote."""

from __future__ import annotations

from ..conversion.schema import merge_schema, schema_from_json, schema_to_json
from ..domain.errors import ConditionFailed, StoreUnavailable
from ..state.base import StateStore

#: concurrent writers of one dataset's schema are few: a handful of optimistic rounds settle it
MAX_ROUNDS = 16


def merged(stored_json: str, ours_json: str) -> str:
    """The stored schema evolved by ours (new columns added, safe widening), as JSON."""
    ours = schema_from_json(ours_json)
    return schema_to_json(merge_schema(schema_from_json(stored_json), None, [(ours, {})] if ours else []))


def store_schema(store: StateStore, dataset: str, schema_json: str | None) -> None:
    """Merge a manifest's schema into the stored one with a conditional write (optimistic retry)."""
    if schema_json is None:
        return
    for _ in range(MAX_ROUNDS):
        stored = store.get_schema(dataset)
        version = stored[0] if stored else 0
        wanted = schema_json if stored is None else merged(stored[1], schema_json)
        if stored is not None and wanted == stored[1]:
            return
        try:
            store.put_schema(dataset, wanted, version)
            return
        except ConditionFailed:
            continue  # another manifest evolved it first: merge with theirs and try again
    raise StoreUnavailable(f"schema of {dataset} kept changing under us")
