"""`verify`: re-read a date's inputs and outputs and check that every line is accounted for.

The check is independent of the engine: lines are counted afresh from the inputs, rows from the
Parquet footers, quarantined lines from the quarantine files. For each converted file it proves
`lines = blank + rows_written + rows_quarantined`; per manifest, that its parts hold exactly the rows
its files' ledgers say (per file too, when the lake has the `_source_file` lineage column).
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow.parquet as pq

from ..conversion.inputs import open_input, read_local
from ..conversion.schema import SOURCE_FILE_COLUMN
from ..domain.errors import InputError
from ..domain.records import FileRecord, Manifest
from ..domain.states import FileState, ManifestState
from ..state.base import StateStore

_BLANK_LINE = re.compile(rb"^[ \t\r]*$", re.MULTILINE)  # JSON whitespace only: a form feed is no blank


def count_lines(data: bytes) -> tuple[int, int]:
    """(lines, blank lines): `\\n`-terminated segments plus a final unterminated non-empty one."""
    lines = data.count(b"\n") + (1 if data and not data.endswith(b"\n") else 0)
    body = data[:-1] if data.endswith(b"\n") else data  # no phantom empty segment after the last \n
    blank = len(_BLANK_LINE.findall(body)) if lines else 0
    return lines, blank


@dataclass
class VerifyReport:
    """What `verify` found for one (dataset, date)."""

    dataset: str
    date: str
    files_checked: int = 0
    manifests_checked: int = 0
    lines: int = 0
    rows_written: int = 0
    rows_quarantined: int = 0
    not_converted: dict[str, int] = field(default_factory=dict)  # files still PENDING / CLAIMED / FAILED
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when every line of every converted file is accounted for."""
        return not self.problems

    def as_dict(self) -> dict[str, object]:
        """A JSON-ready view."""
        return {**vars(self), "ok": self.ok}


def verify_date(
    store: StateStore, dataset: str, date: str, opener: Callable[[str], bytes] = read_local
) -> VerifyReport:
    """Check every SUCCEEDED manifest of (dataset, date) against its inputs and outputs."""
    report = VerifyReport(dataset, date)
    status = store.date_status(dataset, date)
    if status is None:
        report.problems.append(f"no files registered for {dataset}/{date}")
        return report
    report.not_converted = {
        s.value: status.files[s.value]
        for s in (FileState.PENDING, FileState.CLAIMED, FileState.FAILED)
        if status.files.get(s.value)
    }
    for manifest in store.manifests_of(dataset, date):
        if manifest.state == ManifestState.SUCCEEDED:
            _verify_manifest(store, manifest, report, opener)
    return report


def _verify_manifest(
    store: StateStore, manifest: Manifest, report: VerifyReport, opener: Callable[[str], bytes]
) -> None:
    report.manifests_checked += 1
    files = [f for f in store.files_of(manifest) if f.manifest_id == manifest.manifest_id]
    for record in files:
        report.files_checked += 1
        _verify_file(record, report, opener)
    rows = _parquet_rows(manifest, report)
    if rows is not None:
        total, by_source = rows
        expected = sum(f.ledger.rows_written for f in files)
        if total != expected:
            report.problems.append(f"manifest {manifest.manifest_id}: ledgers say {expected} rows, parts hold {total}")
        if by_source is not None:
            _compare(files, by_source, "rows_written", "rows, Parquet holds", report)
    quarantined = _quarantined_rows(manifest, report)
    if quarantined is not None:
        _compare(files, quarantined, "rows_quarantined", "quarantined, quarantine file holds", report)


def _compare(files: list[FileRecord], found: Counter[str], field: str, wording: str, report: VerifyReport) -> None:
    """Report each file whose ledger `field` differs from what was found in the outputs."""
    for record in files:
        expected = getattr(record.ledger, field)
        if found[record.uri] != expected:
            report.problems.append(f"{record.uri}: ledger says {expected} {wording} {found[record.uri]}")


def _verify_file(record: FileRecord, report: VerifyReport, opener: Callable[[str], bytes]) -> None:
    ledger = record.ledger
    report.rows_written += ledger.rows_written
    report.rows_quarantined += ledger.rows_quarantined
    if not ledger.balanced:
        report.problems.append(f"{record.uri}: ledger does not balance ({ledger})")
    try:
        decoded = open_input(record.uri, opener)
    except InputError as exc:
        if not ledger.rejection:
            report.problems.append(f"{record.uri}: cannot be re-read ({exc}) but was not rejected")
        return
    if ledger.rejection:
        report.problems.append(f"{record.uri}: rejected ({ledger.rejection}) but reads fine now")
        return
    lines, blank = count_lines(decoded.data)
    report.lines += lines
    if (lines, blank) != (ledger.lines, ledger.blank):
        report.problems.append(
            f"{record.uri}: has {lines} lines ({blank} blank), ledger says {ledger.lines} ({ledger.blank} blank)"
        )


def _parquet_rows(manifest: Manifest, report: VerifyReport) -> tuple[int, Counter[str] | None] | None:
    """(rows in the manifest's parts, rows per `_source_file` when the lake has lineage); None if a part is gone."""
    total, by_source = 0, Counter[str]()
    lineage = True
    for path in manifest.outputs:
        if not Path(path).is_file():
            report.problems.append(f"manifest {manifest.manifest_id}: part missing: {path}")
            return None
        parquet = pq.ParquetFile(path)
        total += parquet.metadata.num_rows
        if SOURCE_FILE_COLUMN in parquet.schema_arrow.names:
            by_source.update(parquet.read(columns=[SOURCE_FILE_COLUMN]).column(0).to_pylist())
        else:
            lineage = False
    return total, (by_source if lineage else None)


def _quarantined_rows(manifest: Manifest, report: VerifyReport) -> Counter[str] | None:
    """Quarantined lines per source file of this manifest."""
    path = manifest.stats.get("quarantine")
    counts: Counter[str] = Counter()
    if not path:
        return counts
    if not Path(str(path)).is_file():
        report.problems.append(f"manifest {manifest.manifest_id}: quarantine file missing: {path}")
        return None
    with open(str(path), "rb") as handle:
        for line in handle:
            if line.strip():
                counts[json.loads(line)["source"]] += 1
    return counts
