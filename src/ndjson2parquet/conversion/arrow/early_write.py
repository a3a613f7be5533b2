"""Writing parts while the stretches are still being parsed, against the schema the first chunk shows.

The schema of a manifest is only known once every stretch is parsed, but on clean data the first
chunk already shows it. A writer thread takes the parse futures in order, brings each chunk to the
guessed schema (``assemble_chunk``, which leaves the chunk as it was) and writes full row groups to
the part's temp file, so the Parquet encoding overlaps the parsing. At the end the engine compares
the guessed columns with the manifest's final ones (``schema.manifest_columns``; a column of the
dataset that only a later chunk has values for also counts as a difference): equal, the temp files
are published as they are (byte for byte what writing afterwards would give: same tables, same row
groups); different, or anything failed, they are deleted and the parts are written afterwards from
the kept chunks. Strict mode (which quarantines rows while assembling) never writes early.
"""

from __future__ import annotations

import contextlib
import os
import queue
import threading
from concurrent.futures import Future
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from ...config.settings import ConversionOptions
from ...storage.base import Storage
from ..limits import ColumnLimits, merge_within_limits
from ..naming import part_name
from ..provenance import Provenance
from ..schema import manifest_columns
from .assemble import assemble_chunk, lineage_uris
from .parquet_output import COMPRESSION, dictionary_columns
from .stretches import Chunk


@dataclass(slots=True)
class EarlyPart:
    """One group's part as written early: rows, rescued values, the files it holds rows of."""

    provenance: Provenance
    path: Path | str | None = None  # where the part is published: a local path or an s3:// URL
    staging: str | None = None  # the local file it is written to first (see Storage.staging_path)
    size: int = 0  # bytes, once closed
    rows: int = 0
    rescued: int = 0
    files: set[int] = field(default_factory=set)
    writer: pq.ParquetWriter | None = None
    pending: list[pa.Table] = field(default_factory=list)
    pending_rows: int = 0


class EarlyWriter:
    """The writer thread: fed groups and parse futures in order by the reading thread."""

    def __init__(
        self,
        folder: Path | str,
        manifest_id: str,
        stored: pa.Schema | None,
        fixed: pa.Schema | None,
        options: ConversionOptions,
        uris: list[str],
        storage: Storage,
        part_offset: int = 0,
    ) -> None:
        self._folder = folder
        self._part_offset = part_offset  # the index of the first part (a slice of a manifest starts later)
        self._storage = storage
        self._manifest_id = manifest_id
        self._stored = stored
        self._fixed = fixed
        self._options = options
        self._uris = lineage_uris(uris, options)
        self._queue: queue.SimpleQueue[tuple[str, Any] | None] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._run, name="n2p-write", daemon=True)
        self.guess: pa.Schema | None = None
        self.parts: list[EarlyPart] = []
        self.failed: BaseException | None = None
        self._thread.start()

    # --- the reading thread's side ------------------------------------------------------------

    def start_group(self, provenance: Provenance) -> None:
        self._queue.put(("group", provenance))

    def parse(self, future: Future[list[Chunk]]) -> None:
        self._queue.put(("parse", future))

    def end_group(self) -> None:
        self._queue.put(("end", None))

    def stop(self) -> None:
        """Wait for the thread to write everything it was given."""
        self._queue.put(None)
        self._thread.join()

    def publish(self, columns: pa.Schema) -> list[EarlyPart] | None:
        """Publish the temp files (locally a rename) when the guess was the manifest's final columns; else
        delete them and say None."""
        if self.failed is not None or self.guess is None or not columns.equals(self.guess, check_metadata=True):
            self.discard()
            return None
        for part in self.parts:
            if part.path is not None and part.staging is not None:
                self._storage.publish_file(part.staging, str(part.path))
                part.staging = None
        return self.parts

    def discard(self) -> None:
        for part in self.parts:
            if part.writer is not None:
                with contextlib.suppress(Exception):
                    part.writer.close()
                part.writer = None
            if part.staging is not None:
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(part.staging)
                part.staging = None

    # --- the writer thread ----------------------------------------------------------------------

    def _run(self) -> None:
        while (item := self._queue.get()) is not None:
            if self.failed is not None:
                continue
            kind, value = item
            try:
                if kind == "group":
                    self.parts.append(EarlyPart(value))
                elif kind == "parse":
                    for chunk in value.result():
                        self._write(self.parts[-1], chunk)
                else:
                    self._close(self.parts[-1])
            except BaseException as exc:  # the parts are then written afterwards
                self.failed = exc

    def _write(self, part: EarlyPart, chunk: Chunk) -> None:
        if self.guess is None:
            counts = {
                n: chunk.table.num_rows - c.null_count
                for n, c in zip(chunk.table.column_names, chunk.table.columns, strict=True)
            }
            seen = [(chunk.table.schema, counts)]
            limits = ColumnLimits(self._options.max_columns, self._options.max_leaf_columns)
            self.guess = manifest_columns(
                merge_within_limits(self._stored, self._fixed, seen, limits, widen=self._options.allow_widening), seen
            )
        table, rows, rescued = assemble_chunk(chunk, self.guess, self._options, part.provenance, self._uris, _never)
        part.rescued += rescued
        part.files |= part.provenance.files_of(rows)
        if not table.num_rows:
            return
        part.rows += table.num_rows
        part.pending.append(table)
        part.pending_rows += table.num_rows
        group_rows = self._options.row_group_rows
        if part.pending_rows >= group_rows:
            whole = pa.concat_tables(part.pending)
            full = (whole.num_rows // group_rows) * group_rows
            self._writer(part, whole.schema).write_table(whole.slice(0, full), row_group_size=group_rows)
            rest = whole.slice(full)
            part.pending, part.pending_rows = ([rest], rest.num_rows) if rest.num_rows else ([], 0)

    def _close(self, part: EarlyPart) -> None:
        if part.pending:
            whole = pa.concat_tables(part.pending)
            self._writer(part, whole.schema).write_table(whole, row_group_size=self._options.row_group_rows)
            part.pending, part.pending_rows = [], 0
        if part.writer is not None:
            part.writer.close()
            part.writer = None
            if part.staging is not None:
                part.size = os.stat(part.staging).st_size

    def _writer(self, part: EarlyPart, schema: pa.Schema) -> pq.ParquetWriter:
        if part.writer is None:
            index = self._part_offset + sum(1 for p in self.parts if p.path is not None)
            name = part_name(self._manifest_id, index)
            part.path = self._folder / name if isinstance(self._folder, Path) else Storage.join(self._folder, name)
            part.staging = self._storage.staging_path(str(part.path))
            part.writer = pq.ParquetWriter(
                part.staging,
                schema,
                compression=COMPRESSION[self._options.compression],
                use_dictionary=dictionary_columns(schema),
                coerce_timestamps="us",
                allow_truncated_timestamps=False,
            )
        return part.writer


def _never(row: int, reason: str, raw: bytes) -> None:
    raise RuntimeError("a row quarantined while writing early (strict mode never writes early)")
