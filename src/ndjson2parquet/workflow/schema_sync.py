"""Keep the dataset schema in the state store in step with what manifests wrote."""

from __future__ import annotations

from ..domain.errors import ConditionFailed, StoreUnavailable
from ..state.base import StateStore

#: concurrent writers of one dataset's schema are few: a handful of optimistic rounds settle it
MAX_ROUNDS = 16


def store_schema(store: StateStore, dataset: str, schema_json: str | None) -> None:
    """Merge a manifest's schema into the stored one with a conditional write (optimistic retry)."""
    if schema_json is None:
        return
    from ..conversion.schema import merge_schema_json  # TEMP: until conversion.schema lands
    for _ in range(MAX_ROUNDS):
        stored = store.get_schema(dataset)
        version = stored[0] if stored else 0
        wanted = schema_json if stored is None else merge_schema_json(stored[1], schema_json)
        if stored is not None and wanted == stored[1]:
            return
        try:
            store.put_schema(dataset, wanted, version)
            return
        except ConditionFailed:
            continue  # another manifest evolved it first: merge with theirs and try again
    raise StoreUnavailable(f"schema of {dataset} kept changing under us")
