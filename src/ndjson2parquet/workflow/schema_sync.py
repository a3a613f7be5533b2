"""Keep the dataset schema in the state store in step with what manifests wrote.

Schema decisions per dataset are serialised through the store's conditional writes: a manifest
converts against the stored schema version it read, and before it commits it stores its schema
conditionally on that version. When another manifest moved the schema on meanwhile, the two are
merged; if the merged schema no longer agrees with the types this manifest's parts hold (both
typed a new column, differently), the manifest converts again against the newer stored schema
before it commits. So every committed part agrees with the stored schema (``fits_within``).

The stored schema is also written into the lake, ``<output>/_schemas/<dataset>.json`` (the stored
document with its ``version``), for readers without access to the state store (``schema --lake``).
Not inside the dataset's folder: Polars scanning a folder refuses files that are not Parquet.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import logging
import time
from collections.abc import Callable
from pathlib import Path

from ..conversion.engine import ConversionJob, ConversionResult
from ..conversion.schema import fits_within, merge_schema, schema_from_json, schema_to_json, written_schema
from ..domain.errors import ConditionFailed, ConfigError, PipelineError, StoreUnavailable
from ..lake.atomic import publish_bytes
from ..state.base import StateStore
from ..storage.base import Storage, is_s3

log = logging.getLogger(__name__)

#: concurrent writers of one dataset's schema are few: a handful of optimistic rounds settle it
MAX_ROUNDS = 16
LAKE_SCHEMA_FOLDER = "_schemas"  # `_`: readers of the whole output skip it
STALE_TEMP_S = 60.0  # a temp file this old was left by a killed writer (the file is a few KB)


def lake_schema_path(output_root: str, dataset: str) -> Path:
    """Where the dataset's schema is kept in a local lake."""
    return Path(output_root) / LAKE_SCHEMA_FOLDER / f"{dataset}.json"


def lake_schema_location(output_root: str, dataset: str) -> Path | str:
    """Where the dataset's schema is kept in the lake: a Path locally, a URL in an s3:// lake."""
    if is_s3(output_root):
        return Storage.join(output_root, LAKE_SCHEMA_FOLDER, f"{dataset}.json")
    return lake_schema_path(output_root, dataset)


def publish_lake_schema(
    output_root: str, dataset: str, version: int, schema_json: str, storage: Storage | None = None
) -> None:
    """Write the stored schema into the lake unless a newer version is already there.

    Best effort: the state store holds the schema, this copy is for readers, and the next commit
    writes it again; a failure is logged, never fails the manifest. Each writer has a temp name of
    its own (manifests of one dataset commit at once); a killed writer's temp file is removed later.
    """
    if is_s3(output_root):
        _publish_s3(output_root, dataset, version, schema_json, storage)
        return
    path = lake_schema_path(output_root, dataset)
    with contextlib.suppress(OSError, ValueError, AttributeError):  # none yet, or unreadable: replaced
        if json.loads(path.read_text(encoding="utf-8")).get("version", 0) >= version:
            return
    document = {**json.loads(schema_json), "version": version}
    try:
        publish_bytes(path, json.dumps(document, indent=1).encode("utf-8"), unique=True)
    except OSError as exc:
        log.warning("schema not written into the lake", extra={"path": str(path), "error": str(exc)})
        return
    for stale in path.parent.glob(f".{path.name}.*.tmp"):
        with contextlib.suppress(OSError):  # another writer's, renamed meanwhile
            if time.time() - stale.stat().st_mtime > STALE_TEMP_S:
                stale.unlink()


def _publish_s3(output_root: str, dataset: str, version: int, schema_json: str, storage: Storage | None) -> None:
    """The same on S3: one GET to compare versions, one PUT (whole or nothing, the last wins)."""
    from ..storage import open_storage

    url = str(lake_schema_location(output_root, dataset))
    s3 = storage or open_storage(url)
    try:
        with contextlib.suppress(PipelineError, ValueError, AttributeError):  # none yet, or unreadable
            if json.loads(s3.read_bytes(url)).get("version", 0) >= version:
                return
        document = {**json.loads(schema_json), "version": version}
        s3.write_bytes(url, json.dumps(document, indent=1).encode("utf-8"))
    except PipelineError as exc:
        log.warning("schema not written into the lake", extra={"path": url, "error": str(exc)})


def merged(stored_json: str, ours_json: str, *, widen: bool = False) -> str:
    """The stored schema evolved by ours (new columns added; int64 -> float64 only with ``widen``), as JSON."""
    ours = schema_from_json(ours_json)
    seen = [(ours, dict.fromkeys(ours.names, 1))] if ours else []  # a weight, or merge_types ignores the vote
    return schema_to_json(merge_schema(schema_from_json(stored_json), None, seen, widen=widen))


def disagreeing(ours_json: str, dataset_json: str, *, widen: bool = False) -> list[str]:
    """The columns of parts written against ``ours_json`` that do not fit a lake whose schema is ``dataset_json``."""
    ours, dataset = schema_from_json(ours_json), schema_from_json(dataset_json)
    if ours is None:
        return []
    columns = {f.name: f.type for f in dataset} if dataset is not None else {}
    return [
        f.name
        for f in written_schema(ours)
        if f.name not in columns or not fits_within(f.type, columns[f.name], widen=widen)
    ]


def store_schema(
    store: StateStore, dataset: str, schema_json: str | None, based_on: int, *, widen: bool = False
) -> tuple[int, str] | None:
    """Store a manifest's schema, converted against stored version ``based_on``, with a conditional write.

    Returns None when the stored schema now covers the manifest's parts, else the newer stored
    (version, schema JSON) the manifest must convert against again before it commits.
    """
    if schema_json is None:
        return None
    for _ in range(MAX_ROUNDS):
        stored = store.get_schema(dataset)
        version, stored_json = stored if stored else (0, None)
        wanted = schema_json if stored_json is None else merged(stored_json, schema_json, widen=widen)
        odd = disagreeing(schema_json, wanted, widen=widen)
        if odd:
            if version == based_on:  # converted against this very version and still at odds with it
                raise ConfigError(
                    f"columns {', '.join(odd[:10])} of {dataset}: types disagree with its stored schema "
                    "(does a --schema-file fix a type other than the one already stored?)"
                )
            return version, stored_json
        if wanted == stored_json:
            return None
        try:
            store.put_schema(dataset, wanted, version)
            return None
        except ConditionFailed:
            continue  # another manifest evolved it first: merge with theirs and look again
    raise StoreUnavailable(f"schema of {dataset} kept changing under us")


def settle_schema(
    store: StateStore,
    job: ConversionJob,
    result: ConversionResult,
    convert: Callable[[ConversionJob], ConversionResult],
    storage: Storage | None = None,
) -> ConversionResult:
    """Store the schema ``result`` was written with; convert again while a newer stored one disagrees.

    Returns the result to commit: its parts agree with the stored schema.
    """
    widen = job.options.allow_widening
    for _ in range(MAX_ROUNDS):
        newer = store_schema(store, job.dataset, result.schema_json, job.schema_version, widen=widen)
        if newer is None:
            stored = store.get_schema(job.dataset)
            if stored is not None:
                publish_lake_schema(job.output_root, job.dataset, *stored, storage=storage)
            return result
        log.info(
            "schema moved on: converting again",
            extra={"manifest_id": job.manifest_id, "dataset": job.dataset, "schema_version": newer[0]},
        )
        job = dataclasses.replace(job, schema_json=newer[1], schema_version=newer[0])
        result = convert(job)
    raise StoreUnavailable(f"schema of {job.dataset} kept changing under manifest {job.manifest_id}")
