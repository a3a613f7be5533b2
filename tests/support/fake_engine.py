"""A small, slow, obviously-correct engine for workflow tests, with failure injection."""

from __future__ import annotations

import os
from pathlib import Path

import orjson
import pyarrow as pa
import pyarrow.parquet as pq

from ndjson2parquet.conversion.engine import ConversionJob, ConversionResult, Engine, OutputFile
from ndjson2parquet.domain.errors import EngineError
from ndjson2parquet.domain.records import Ledger


class FakeEngine(Engine):
    """One part per manifest; raises `fail_with` on the calls listed in `fail_calls` (1-based)."""

    name = "fake"

    def __init__(self, fail_calls: set[int] | None = None, transient: bool = False) -> None:
        self.calls = 0
        self.fail_calls = fail_calls or set()
        self.transient = transient
        self.removed: list[str] = []

    def _part(self, job: ConversionJob) -> Path:
        return Path(job.output_root) / job.dataset / f"date={job.date}" / f"part-{job.manifest_id}-0.parquet"

    def convert(self, job: ConversionJob) -> ConversionResult:
        self.calls += 1
        if self.calls in self.fail_calls:
            raise EngineError(f"injected failure on call {self.calls}", transient=self.transient)
        rows, ledgers = [], {}
        part = self._part(job)
        for f in job.files:
            lines = Path(f.uri).read_bytes().splitlines()
            parsed = [orjson.loads(line) for line in lines if line.strip()]
            rows += parsed
            ledgers[f.file_id] = Ledger(len(lines), len(lines) - len(parsed), len(parsed), 0, (str(part),))
        part.parent.mkdir(parents=True, exist_ok=True)
        tmp = part.with_name("." + part.name + ".tmp")
        pq.write_table(pa.Table.from_pylist(rows), tmp)
        os.replace(tmp, part)
        out = OutputFile(str(part), len(rows), part.stat().st_size)
        return ConversionResult((out,), ledgers, None, rows_written=len(rows), bytes_in=sum(f.size for f in job.files))

    def remove_outputs(self, job: ConversionJob) -> None:
        self.removed.append(job.manifest_id)
        self._part(job).unlink(missing_ok=True)
