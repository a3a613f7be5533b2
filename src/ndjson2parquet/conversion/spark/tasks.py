"""What an executor runs: one slice of a manifest through the Arrow engine's own code.

Each task gets plain data (the slice's job, the plan, the storage spec), builds its engine and storage,
and hands back a ``SliceOutcome``. One of our errors is handed back as a value rather than raised, so
the driver raises the very error (terminal or transient, with its file) instead of Spark's wrapper.
"""

from __future__ import annotations

from dataclasses import dataclass

from ...domain.errors import PipelineError
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
    """Survey or write one slice on this executor: (its index, its outcome or the error that ended it)."""
    engine = ArrowEngine(storage=task.storage.build())
    try:
        return task.index, engine.convert_slice(task.job, task.plan)
    except PipelineError as exc:
        return task.index, exc
