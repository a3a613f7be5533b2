"""What an executor runs: one slice of a manifest through the Arrow engine's own code.

Each task gets plain data (the slice's job, the plan, the storage spec), builds its engine and storage,
and hands back a ``SliceOutcome``. One of our errors is handed back as a value rather than raised, so
the driver raises the very error (terminal or transient, with its file) instead of Spark's wrapper.
"""

from __future__ import annotations

from dataclasses import dataclass

import orjson

from ...domain.errors import PipelineError
from ...storage.base import Storage
from .. import quarantine
from ..arrow.arrow_engine import ArrowEngine
from ..arrow.slices import Slice, SliceOutcome
from ..engine import ConversionJob
from .storage_spec import StorageSpec


@dataclass(frozen=True, slots=True)
class SliceTask:
    """One Spark task: a run of whole file groups of the manifest, and what to do with it."""

    index: int  # the slice's place in the manifest
    job: ConversionJob  # the manifest's job with only the slice's files (and no progress callback)
    plan: Slice
    storage: StorageSpec


def run_slice(task: SliceTask) -> tuple[int, SliceOutcome | PipelineError]:
    """Survey or write one slice on this executor: (its index, its outcome or the error that ended it).

    A write's quarantine records are written here, as a fragment beside the manifest's quarantine file
    (``fragment_path``), not sent to the driver: bad lines are input, and the driver holds none.
    """
    storage = task.storage.build()
    engine = ArrowEngine(storage=storage)
    try:
        outcome = engine.convert_slice(task.job, task.plan)
        if not task.plan.survey:
            write_fragment(storage, fragment_path(task.job, task.index), outcome.bad)
            outcome.bad = []
        return task.index, outcome
    except PipelineError as exc:
        return task.index, exc


def fragment_path(job: ConversionJob, index: int) -> str:
    """Where slice ``index`` of the manifest leaves its quarantine records for the driver to join (a hidden
    name beside the manifest's quarantine file; the same name on every attempt)."""
    where = str(quarantine.quarantine_path(job.quarantine_root, job.dataset, job.date, job.manifest_id))
    folder, _, _ = where.rpartition("/")
    return f"{folder}/.{job.manifest_id}.slice-{index}.ndjson"


def write_fragment(storage: Storage, path: str, records: list[dict[str, object]]) -> None:
    """The slice's records as NDJSON (an empty fragment is not written, and an earlier attempt's removed)."""
    if not records:
        storage.delete([path])
        return
    with storage.open_write(path) as out:
        for record in records:
            out.write(orjson.dumps(record) + b"\n")
