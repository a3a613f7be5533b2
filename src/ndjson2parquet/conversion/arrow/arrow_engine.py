"""The in-process engine: NDJSON files in, Parquet parts, a quarantine file and per-file ledgers out.

``ArrowEngine`` here is the coordinator: the port's methods, the mapping of errors, the attempts (a
manifest is converted again when a streamed file turns out unusable midway or the early parts were
not of its final columns) and the threads of an attempt. The work is in the package's modules:
``reading`` (files read whole or streamed, read ahead, fed into pieces), ``screening`` (a stretch
triaged, screened and handed to a parse thread), ``part_groups`` (a part's group started, its
parses queued, ended, its tables let go), ``publication`` (the schema decided, parts published,
ledgers, removal), with the records they share in ``run_state``.

How a manifest goes through (and why it stays fast)
    1. Each file is read and decompressed (``inputs``); one that cannot be read at all is rejected with
       its reason (a missing one as ``GONE``) and the rest carry on. Small local files are read whole, a
       batch ahead on a reading thread (``reading``); a big one (``stream_bytes``) and every
       non-local one (through the ``Storage``) is read as a stream of pieces cut at line ends
       (``input_stream``). A streamed file found unusable midway is rejected and the manifest
       converted again without it; a transient read error fails the attempt (it is retried).
    2. Files are gathered, whole or cut at a line, into stretches of about ``STRETCH_BYTES`` (``reading``; a big
       file is a stretch of its own, never copied), and each stretch is triaged (``lines.triage``).
       When every line starts with ``{`` and none could be too long or too deep, the stretch goes to
       the native reader as it is: no line is parsed twice. Otherwise it is screened, whole by
       simdjson in one native pass, or line by line (``screen``): bad lines go to the quarantine
       file, blank lines are counted (``screening``). After a stretch that needed a line-by-line
       look, the next one goes line by line at once, until one is clean again.
    3. Stretches are parsed by ``pyarrow.json`` on two worker threads (the reader uses one core per
       call), with the types a small sample showed declared to the reader (date-like strings as
       strings, see ``native.Declared``). Parts close past ``target_file_bytes`` of input.
    4. When the reader refuses an unscreened stretch (a malformed line, NaN, two values on a line),
       the worker screens it line by line and quarantines the bad lines' rows. When a parse fails
       for a type drifting within the stretch or duplicate keys, or would lose something (an integer
       a double cannot hold), the stretch is halved and each half parsed again; a failing stretch of
       at most ``SLOW_STRETCH`` lines is parsed exactly in Python (``stretches``).
    5. The schema is decided over all stretches of the manifest with the stored schema (``schema``),
       within the dataset's column limits (``limits``); the parts carry only the columns the manifest
       has values for (``manifest_columns``: a manifest costs what its own fields cost, however wide
       its dataset); each stretch is brought to them (``assemble``, ``conform``), misfits go to
       ``_rescued_data`` (or, in strict mode, their rows to quarantine), and each part is written
       under a temp name and renamed. Values may nest 1,024 levels deep: the engine sets the recursion
       limit its walks need (``depth``).
       Outside strict mode a writer thread does this while stretches are still parsed, against the
       schema the first chunk shows (``early_write``); the early parts are published when that was the
       final schema, else deleted and written again from the kept chunks. Past ``KEEP_BYTES`` the
       chunks of parts already written are let go (``part_groups.let_go``); should the final schema
       then differ, the manifest is converted again with its columns known.
    6. Parts of an earlier attempt that this one did not write are deleted; the quarantine file is
       rewritten (or removed when there is nothing in it).
"""

from __future__ import annotations

import errno
import logging
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pyarrow as pa

from ...domain.errors import EngineError, PipelineError, ResourceExhausted, exhaustion
from ...storage import any_storage
from ...storage.base import Storage
from .. import input_stream
from ..depth import ensure_recursion_budget
from ..engine import ConversionJob, ConversionResult, Engine
from ..inputs import Opener, read_local
from ..schema import load_schema_file, schema_from_json
from .early_write import EarlyWriter
from .native import Declared
from .parquet_output import partition_location
from .publication import publish, remove_outputs
from .reading import InputReader
from .run_state import ConvertAgain, FileTally, LateRejection, Run
from .slices import Slice, SliceOutcome

log = logging.getLogger(__name__)

MIN_BLOCK = 16 * 1024 * 1024  # the native reader's block: large, fewer block boundaries to stitch
PARSE_THREADS = 2  # one native parse per core


class ArrowEngine(Engine):
    """Converts a manifest in-process with PyArrow's native JSON reader and Parquet writer."""

    name = "arrow"

    #: a local file bigger than this (as stored) is read as a stream of blocks; every non-local one is
    stream_bytes = input_stream.STREAM_BYTES

    def __init__(self, storage: Storage | None = None, opener: Opener = read_local) -> None:
        """``storage``: where non-local inputs are read and parts and quarantine files written (default:
        local paths and s3:// URLs, configured the standard way); ``opener`` reads a small local file whole."""
        self._open = opener
        self.storage = storage or any_storage()

    # --- the port ---------------------------------------------------------------------------

    def convert(self, job: ConversionJob) -> ConversionResult:
        """Convert, publish atomically, and remove any leftover part of an earlier attempt."""
        return self._converting(job, None).result

    def convert_slice(self, job: ConversionJob, plan: Slice) -> SliceOutcome:
        """Convert ``job`` (a run of whole file groups of a manifest) as one slice: survey it, or write its parts
        against the manifest's schema, named from ``plan.part_offset`` on; nothing else of the manifest is
        touched (no leftover removed, no quarantine file written: the caller does that for the manifest)."""
        return self._converting(job, plan)

    def remove_outputs(self, job: ConversionJob) -> None:
        """Delete every part and quarantine file this manifest may have written (compensation)."""
        remove_outputs(job, self.storage)

    # --- one conversion: its errors, its attempts -------------------------------------------

    def _converting(self, job: ConversionJob, plan: Slice | None) -> SliceOutcome:
        try:
            return self._convert(job, plan)
        except PipelineError:
            raise
        except Exception as exc:
            exhausted = exhaustion(exc)  # disk full, out of memory or file handles: the run stops, no attempt spent
            if exhausted is not None:
                raise ResourceExhausted(f"manifest {job.manifest_id}: {exhausted}{_disk_of(job, exc)}") from exc
            if isinstance(exc, OSError):
                raise EngineError(f"manifest {job.manifest_id}: I/O failed: {exc}", transient=True) from exc
            if isinstance(exc, pa.ArrowException | ValueError | TypeError):
                raise EngineError(f"manifest {job.manifest_id}: conversion failed: {exc}") from exc
            raise

    def _convert(self, job: ConversionJob, plan: Slice | None) -> SliceOutcome:
        rejected: dict[int, str] = {}
        columns: pa.Schema | None = None
        while True:
            try:
                return self._attempt(job, rejected, columns, plan)
            except LateRejection as late:
                # a streamed file turned out unusable after some of it was handed on: convert again without it
                rejected[late.index] = late.reason
                log.warning("converting again without a file found unusable midway", extra={"uri": late.uri})
            except ConvertAgain as again:
                # the parts written early were not of the final columns, and the tables to write them again
                # were let go: convert again, writing early with the final columns known (and keeping every table)
                columns = again.columns
                log.info("converting again with the manifest's columns known", extra={"manifest_id": job.manifest_id})

    def _attempt(
        self, job: ConversionJob, rejected: dict[int, str], columns: pa.Schema | None, plan: Slice | None
    ) -> SliceOutcome:
        ensure_recursion_budget()  # values nested up to 1,024 levels are walked recursively (``depth``)
        options = job.options
        stored = schema_from_json(job.schema_json)
        fixed = load_schema_file(options.schema_file) if options.schema_file else None
        block = max(MIN_BLOCK, options.max_line_bytes + 2)
        files = [FileTally(uri=f.uri) for f in job.files]
        run = Run(files=files, declared=Declared(None), block=block, schemas=(fixed, stored), rejected=rejected)
        run.slice = plan
        if not options.strict and not (plan is not None and plan.survey):
            folder = partition_location(job.output_root, job.dataset, job.date)
            uris = [f.uri for f in job.files]
            offset = plan.part_offset if plan is not None else 0
            run.early = EarlyWriter(folder, job.manifest_id, stored, fixed, options, uris, self.storage, offset)
            if columns is not None:  # known from an earlier attempt: written early, and nothing is let go
                run.early.guess, run.may_let_go = columns, False
            elif plan is not None:  # the manifest's columns are known: the early parts are the final ones
                run.early.guess = plan.columns
        inputs = InputReader(self._open, self.stream_bytes, self.storage)
        try:
            with (
                ThreadPoolExecutor(max_workers=PARSE_THREADS, thread_name_prefix="n2p-parse") as pool,
                ThreadPoolExecutor(max_workers=1, thread_name_prefix="n2p-digest") as hasher,
                ThreadPoolExecutor(max_workers=1, thread_name_prefix="n2p-read") as reader,
            ):
                groups, bytes_in = inputs.read(job, run, pool, hasher, reader)
            if run.early is not None:
                run.early.stop()
            return publish(job, run, groups, stored, fixed, bytes_in, inputs)
        except BaseException:
            if run.early is not None:
                run.early.stop()  # a second stop only waits for a thread already done
                run.early.discard()
            raise


def _disk_of(job: ConversionJob, exc: Exception) -> str:
    """Where a full disk (or quota) was met: the lake's folder, and the quarantine's when it lies elsewhere."""
    if not isinstance(exc, OSError) or exc.errno not in (errno.ENOSPC, errno.EDQUOT):
        return ""
    inside = Path(job.quarantine_root).is_relative_to(job.output_root)
    return f" (writing under {job.output_root}{'' if inside else ' or ' + job.quarantine_root})"
