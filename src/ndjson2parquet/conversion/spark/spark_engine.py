"""The Spark engine: the Arrow engine's conversion, spread over Spark executors a file group at a time.

How a manifest goes through
    1. Its files are cut into file groups by their stored sizes (``naming.file_groups``, the planner
       the Arrow engine follows too): a group is about ``target_file_bytes`` of input, a part never
       holds rows of two groups, and the Arrow engine converts each group as if it were alone. Each
       group is one Spark task (``tasks.run_slice``): as many tasks as the manifest's bytes call for,
       no shuffle, nothing cached, nothing counted before the write.
    2. Survey: every executor parses its group with the Arrow engine's own code and sends back only
       small summaries (each parsed chunk's schema and non-null counts, how many parts it gives).
    3. The driver decides the manifest's schema over all the summaries with the Arrow engine's rules
       (``limits.merge_within_limits``, ``schema.manifest_columns``) and numbers each group's parts.
    4. Write: every executor converts its group again against that schema and writes its parts under
       their final deterministic names (``naming.part_name``), and sends back its ledgers and
       quarantine records. (In strict mode a group may quarantine a whole part away; the parts are then
       numbered from what the write found and written again.)
    5. The driver removes the manifest's parts of an earlier attempt that this one did not write and
       writes the quarantine file, as the Arrow engine does.

So the parts, rows, types, quarantine records and ledgers are the Arrow engine's by construction;
the driver holds no input, only summaries, ledgers and the quarantined lines.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

from ...domain.errors import EngineError, PipelineError, ResourceExhausted, exhaustion
from ...domain.records import Ledger
from ...storage import any_storage
from ...storage.base import Storage, is_s3
from ...storage.routing import RoutingStorage
from .. import quarantine
from ..arrow.parquet_output import partition_location, remove_leftovers
from ..arrow.slices import Slice, SliceOutcome
from ..engine import ConversionJob, ConversionResult, Engine, OutputFile
from ..limits import ColumnLimits, merge_within_limits
from ..naming import file_groups
from ..schema import load_schema_file, manifest_columns, schema_from_json, schema_to_json
from .session import build_session
from .storage_spec import StorageSpec
from .tasks import SliceTask, fragment_path, run_slice

JOIN_BYTES = 1024 * 1024  # a quarantine fragment is copied into the manifest's file this much at a time

log = logging.getLogger(__name__)


class SparkEngine(Engine):
    """Converts a manifest on Spark: executors run the Arrow engine's code on file groups (module doc)."""

    name = "spark"

    def __init__(
        self,
        spark: Any = None,
        storage: Storage | None = None,
        master: str | None = None,
        conf: Mapping[str, str] | None = None,
    ) -> None:
        """``spark``: a SparkSession to run on (else one is built on first use on ``master``, default
        ``local[N]``, with ``conf``); ``storage``: where the driver removes leftovers and writes the
        quarantine file; executors build the same kind (``StorageSpec``)."""
        self._spark = spark
        self._master = master
        self._conf = dict(conf or {})
        self.storage = storage or any_storage()

    def _spec(self, job: ConversionJob) -> StorageSpec:
        """What executors build their storage from: the S3 client this engine's storage uses for the job's
        s3:// locations (built now when none is yet: its endpoint, region and keys as the driver found them)."""
        urls = [job.output_root, job.quarantine_root, *(f.uri for f in job.files)]
        if isinstance(self.storage, RoutingStorage) and any(is_s3(url) for url in urls):
            self.storage.backend("s3://")
        return StorageSpec.of(self.storage)

    @property
    def spark(self) -> Any:
        """The SparkSession (built on first use when none was given)."""
        if self._spark is None:
            self._spark = build_session(self._master, self._conf)
        return self._spark

    # --- the port ---------------------------------------------------------------------------

    def convert(self, job: ConversionJob) -> ConversionResult:
        """Convert on the executors, publish, and remove any leftover part of an earlier attempt."""
        try:
            return self._convert(job)
        except OSError as exc:  # the driver's own writes (the quarantine file, removals) on a local disk
            exhausted = exhaustion(exc)
            if exhausted is not None:
                raise ResourceExhausted(f"manifest {job.manifest_id}: {exhausted}") from exc
            raise EngineError(f"manifest {job.manifest_id}: I/O failed: {exc}", transient=True) from exc

    def _convert(self, job: ConversionJob) -> ConversionResult:
        slices = self._slices(job)
        spec = self._spec(job)

        surveys = self._run([SliceTask(i, s, Slice(), spec) for i, s in enumerate(slices)])
        seen = [summary for outcome in surveys for summary in outcome.seen]
        options = job.options
        stored = schema_from_json(job.schema_json)
        fixed = load_schema_file(options.schema_file) if options.schema_file else None
        limits = ColumnLimits(options.max_columns, options.max_leaf_columns)
        final = merge_within_limits(stored, fixed, seen, limits, widen=options.allow_widening)
        columns = manifest_columns(final, seen)

        counts = [outcome.parts for outcome in surveys]
        writes = self._write(slices, spec, counts, final, columns)
        if [outcome.parts for outcome in writes] != counts:  # strict mode quarantined a whole part away
            log.info("numbering the parts again after a strict write", extra={"manifest_id": job.manifest_id})
            writes = self._write(slices, spec, [outcome.parts for outcome in writes], final, columns)
        _same_rejections(job, surveys, writes)
        if job.on_file_read is not None:
            job.on_file_read(len(job.files), sum(f.size for f in job.files))
        unchanged = job.schema_json if stored is not None and final.equals(stored) else None
        return self._publish(job, writes, unchanged, final)

    def remove_outputs(self, job: ConversionJob) -> None:
        """Delete every part and quarantine file this manifest may have written (compensation)."""
        folder = partition_location(job.output_root, job.dataset, job.date)
        remove_leftovers(folder, job.manifest_id, keep=set(), storage=self.storage)
        where = quarantine.quarantine_path(job.quarantine_root, job.dataset, job.date, job.manifest_id)
        quarantine.remove(where, self.storage)
        self.storage.delete([fragment_path(job, index) for index in range(len(self._slices(job)))])

    # --- the driver's side ------------------------------------------------------------------

    @staticmethod
    def _slices(job: ConversionJob) -> list[ConversionJob]:
        """The manifest's file groups (``naming.file_groups``), each as a job of its own for one task."""
        base = replace(job, on_file_read=None)  # a callback cannot travel to an executor
        starts = file_groups([f.size for f in job.files], job.options.target_file_bytes)
        bounds = zip(starts, [*starts[1:], len(job.files)], strict=True)
        return [replace(base, files=job.files[a:b]) for a, b in bounds]

    def _write(
        self, slices: list[ConversionJob], spec: StorageSpec, counts: Sequence[int], final: Any, columns: Any
    ) -> list[SliceOutcome]:
        offsets = [sum(counts[:i]) for i in range(len(counts))]
        plans = [Slice(offset, final, columns) for offset in offsets]
        return self._run([SliceTask(i, s, p, spec) for i, (s, p) in enumerate(zip(slices, plans, strict=True))])

    def _run(self, tasks: list[SliceTask]) -> list[SliceOutcome]:
        """Run the tasks on the executors, one Spark partition each; their outcomes in order."""
        if not tasks:
            return []
        from py4j.protocol import Py4JError
        from pyspark.errors import PySparkException

        context = self.spark.sparkContext
        try:
            returned = context.parallelize(tasks, len(tasks)).map(run_slice).collect()
        except (Py4JError, PySparkException) as exc:  # an executor lost, a task failed past Spark's retries
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise EngineError(f"spark job failed: {first}", transient=True) from exc
        outcomes: list[SliceOutcome] = []
        for _, outcome in sorted(returned, key=lambda pair: pair[0]):
            if isinstance(outcome, PipelineError):
                raise outcome  # our own error, as the executor raised it
            outcomes.append(outcome)
        return outcomes

    def _publish(
        self, job: ConversionJob, writes: list[SliceOutcome], unchanged: str | None, final: Any
    ) -> ConversionResult:
        outputs: list[OutputFile] = [o for outcome in writes for o in outcome.result.outputs]
        ledgers: dict[str, Ledger] = {}
        for outcome in writes:
            ledgers.update(outcome.result.ledgers)
        folder = partition_location(job.output_root, job.dataset, job.date)
        remove_leftovers(folder, job.manifest_id, keep={o.path for o in outputs}, storage=self.storage)
        written = self._join_quarantine(job, writes)
        return ConversionResult(
            outputs=tuple(outputs),
            ledgers={f.file_id: ledgers[f.file_id] for f in job.files},
            schema_json=unchanged if unchanged is not None else schema_to_json(final),
            rows_written=sum(o.rows for o in outputs),
            rows_quarantined=sum(outcome.result.rows_quarantined for outcome in writes),
            values_rescued=sum(outcome.result.values_rescued for outcome in writes),
            bytes_in=sum(outcome.result.bytes_in for outcome in writes),
            quarantine_path=written,
        )

    def _join_quarantine(self, job: ConversionJob, writes: list[SliceOutcome]) -> str | None:
        """The manifest's quarantine file: the slices' fragments one after the other, streamed through (or no
        file, and a stale one removed, when no line was quarantined); the fragments are removed after."""
        where = str(quarantine.quarantine_path(job.quarantine_root, job.dataset, job.date, job.manifest_id))
        fragments = [
            fragment_path(job, index) for index, outcome in enumerate(writes) if outcome.result.rows_quarantined
        ]
        if not fragments:
            quarantine.remove(where, self.storage)
            return None
        with self.storage.open_write(where) as out:
            for fragment in fragments:
                with self.storage.open_read(fragment) as source:
                    while block := source.read(JOIN_BYTES):
                        out.write(block)
        self.storage.delete(fragments)
        return where


def _same_rejections(job: ConversionJob, surveys: list[SliceOutcome], writes: list[SliceOutcome]) -> None:
    """The schema was decided over the files the survey read: a file rejected by one pass and not the other
    (changed or gone in between) would leave it wrong. The attempt fails; a retry sees the file as it is."""
    for survey, write in zip(surveys, writes, strict=True):
        for file_id, ledger in write.result.ledgers.items():
            if (ledger.rejection is None) != (survey.result.ledgers[file_id].rejection is None):
                uri = next((f.uri for f in job.files if f.file_id == file_id), None)
                message = f"manifest {job.manifest_id}: an input changed while it was converted"
                raise EngineError(message, transient=True, uri=uri)
