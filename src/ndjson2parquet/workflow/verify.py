"""`verify`: re-read a date's inputs and outputs and check that every line is accounted for.

The check is independent of the engine: lines are counted afresh from the inputs, rows from the
Parquet footers, quarantined lines from the quarantine files. For each converted file it proves
`lines = blank + rows_written + rows_quarantined`; per manifest, that its parts hold exactly the rows
its files' ledgers say (per file too, when the lake has the `_source_file` lineage column).

No line is held twice: the converted versions of one file must cover disjoint byte ranges (a
continuation starts where the converted prefix ended; only a version converted knowingly under
`--on-changed new-version` starts over), and with lineage no (`_source_file`, `_source_line`) pair
appears twice in the date's parts. Nor does a reader of a partition folder meet a Parquet file no
committed manifest names (a part copied, or left by a compensated manifest); parts of a manifest still
in flight are expected there. A file rejected for its content has its set-aside copy and sidecar
where its reason says (`steps.set_aside`). A file is re-read as the bytes its ledger covers, proven by the
digest of the converted prefix: a file whose converted bytes changed since cannot be verified.
"""

from __future__ import annotations

import io
import json
import os
import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from ..conversion.inputs import decode, read_local
from ..conversion.schema import SOURCE_FILE_COLUMN, SOURCE_LINE_COLUMN
from ..domain.errors import ConfigError, InputError, ObjectGone
from ..domain.records import CHANGED_SINCE_REGISTRATION, FileRecord, Manifest, content_digest
from ..domain.states import FileState, ManifestState
from ..state.base import StateStore
from ..storage.base import Storage, is_s3
from .steps.set_aside import SIDECAR, set_aside_url

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
    _uris: set[str] = field(default_factory=set, repr=False)  # files whose versions were checked for overlaps
    _lineage: Counter[tuple[str, int]] = field(default_factory=Counter, repr=False)  # (file, line) of each row
    _renewed: set[str] = field(default_factory=set, repr=False)  # files converted again knowingly (new-version)

    @property
    def ok(self) -> bool:
        """True when every line of every converted file is accounted for."""
        return not self.problems

    def as_dict(self) -> dict[str, object]:
        """A JSON-ready view."""
        return {**{k: v for k, v in vars(self).items() if not k.startswith("_")}, "ok": self.ok}


def verify_date(
    store: StateStore,
    dataset: str,
    date: str,
    opener: Callable[[str], bytes] = read_local,
    storage: Storage | None = None,
) -> VerifyReport:
    """Check every SUCCEEDED manifest of (dataset, date) against its inputs and outputs.

    ``storage`` reads parts and quarantine files stored under s3:// URLs (local ones are opened directly).
    """
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
    manifests = list(store.manifests_of(dataset, date))
    for manifest in manifests:
        if manifest.state == ManifestState.SUCCEEDED:
            _verify_manifest(store, manifest, report, opener, storage)
    _verify_no_stray_parts(manifests, report, storage)
    twice = sorted(pair for pair, n in report._lineage.items() if n > 1 and pair[0] not in report._renewed)
    for source, line in twice[:20]:
        report.problems.append(f"{source}: line {line} is held {report._lineage[(source, line)]} times in the lake")
    if len(twice) > 20:
        report.problems.append(f"… {len(twice) - 20} more lines held more than once")
    return report


#: manifests whose parts may lie in the lake uncommitted: recovery re-drives or compensates them
_IN_FLIGHT = (ManifestState.CREATED, ManifestState.RUNNING, ManifestState.FAILED)


def _verify_no_stray_parts(manifests: list[Manifest], report: VerifyReport, storage: Storage | None) -> None:
    """Every Parquet file in the date's partition folders is a part of a committed manifest (or of one
    still in flight): a reader of the folder reads every such file, so a copied part holds its rows twice."""
    committed = {path for m in manifests if m.state == ManifestState.SUCCEEDED for path in m.outputs}
    in_flight = {m.manifest_id for m in manifests if m.state in _IN_FLIGHT}
    folders = sorted({path.rsplit("/", 1)[0] for path in committed})
    for folder in folders:
        for path in _parquet_files(folder, storage):
            if path not in committed and _manifest_of_part(path) not in in_flight:
                report.problems.append(f"{path}: in the lake but not a part of any committed manifest")


def _parquet_files(folder: str, storage: Storage | None) -> list[str]:
    """The Parquet files a lake reader sees in one partition folder (not `_`/`.` names), sorted."""
    if is_s3(folder):
        if storage is None:
            raise ConfigError(f"{folder} is on S3: verify needs a Storage to list it")
        found = [o.url for o in storage.list(folder) if "/" not in o.url[len(folder) + 1 :]]
    else:
        try:
            found = [str(Path(folder) / name) for name in os.listdir(folder)]
        except FileNotFoundError:
            return []
    return sorted(p for p in found if p.endswith(".parquet") and not p.rsplit("/", 1)[-1].startswith(("_", ".")))


def _manifest_of_part(path: str) -> str | None:
    """The manifest id of ``part-<manifest_id>-<n>.parquet``; None for any other name."""
    name = path.rsplit("/", 1)[-1]
    if not name.startswith("part-"):
        return None
    manifest_id, _, index = name[len("part-") : -len(".parquet")].rpartition("-")
    return manifest_id if manifest_id and index.isdigit() else None


def _verify_versions(store: StateStore, uri: str, report: VerifyReport) -> None:
    """Every converted version of one file covers bytes no earlier version of its chain covered."""
    if uri in report._uris:
        return
    report._uris.add(uri)
    covered: tuple[str, int] | None = None  # (file_id, end_offset) of the chain's last converted version
    for version in store.files_by_uri(uri):
        if version.state != FileState.DONE or not version.ledger.end_offset:
            continue
        if version.changed_from is not None:
            report._renewed.add(uri)  # its line numbers start over: lineage pairs may repeat
        ledger = version.ledger
        if covered is not None and version.changed_from is None and ledger.start_offset < covered[1]:
            report.problems.append(
                f"{uri}: bytes {ledger.start_offset}–{min(covered[1], ledger.end_offset)} (lines from "
                f"{ledger.first_line}) are converted twice: by versions {covered[0]} and {version.file_id}"
            )
        covered = (version.file_id, ledger.end_offset)


def _verify_manifest(
    store: StateStore,
    manifest: Manifest,
    report: VerifyReport,
    opener: Callable[[str], bytes],
    storage: Storage | None = None,
) -> None:
    report.manifests_checked += 1
    files = [f for f in store.files_of(manifest) if f.manifest_id == manifest.manifest_id]
    for record in files:
        report.files_checked += 1
        _verify_file(record, report, opener)
        _verify_set_aside(record, report, storage)
        _verify_versions(store, record.uri, report)
    rows = _parquet_rows(manifest, report, storage)
    if rows is not None:
        total, by_source = rows
        expected = sum(f.ledger.rows_written for f in files)
        if total != expected:
            report.problems.append(f"manifest {manifest.manifest_id}: ledgers say {expected} rows, parts hold {total}")
        if by_source is not None:
            _compare(files, by_source, "rows_written", "rows, Parquet holds", report)
    quarantined = _quarantined_rows(manifest, report, storage)
    if quarantined is not None:
        _compare(files, quarantined, "rows_quarantined", "quarantined, quarantine file holds", report)


def _verify_set_aside(record: FileRecord, report: VerifyReport, storage: Storage | None) -> None:
    """A file rejected for its content has its copy and sidecar in the quarantine, where its reason says."""
    copy = set_aside_url(record.ledger.rejection)
    if copy is None:
        return
    for url in (copy, copy + SIDECAR):
        there = (storage.info(url) is not None) if storage is not None and is_s3(url) else os.path.isfile(url)
        if not there:
            report.problems.append(f"{record.uri}: its set-aside copy {url} is missing")


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
    if ledger.rejection and ledger.rejection.startswith(CHANGED_SINCE_REGISTRATION):
        return  # nothing was converted under this version: its file had changed
    try:
        covered = _covered_bytes(record, opener)
        # a continuation's tail is read as it is, like the engine reads it; a whole file is decoded
        data = covered if record.start_offset else decode(covered).data
    except _Changed as exc:
        report.problems.append(f"{record.uri}: cannot be verified: {exc}")
        return
    except (InputError, FileNotFoundError, ObjectGone) as exc:
        if not ledger.rejection:
            report.problems.append(f"{record.uri}: cannot be re-read ({exc}) but was not rejected")
        return
    if ledger.rejection:
        report.problems.append(f"{record.uri}: rejected ({ledger.rejection}) but reads fine now")
        return
    lines, blank = count_lines(data)
    report.lines += lines
    if (lines, blank) != (ledger.lines, ledger.blank):
        report.problems.append(
            f"{record.uri}: has {lines} lines ({blank} blank), ledger says {ledger.lines} ({ledger.blank} blank)"
        )


class _Changed(Exception):
    """The bytes a ledger covers are not in the file any more."""


def _covered_bytes(record: FileRecord, opener: Callable[[str], bytes]) -> bytes:
    """The bytes this version converted, proven by the digest of the converted prefix; whole if no digest."""
    raw = opener(record.uri)
    ledger = record.ledger
    if ledger.digest is None:
        return raw  # converted without a digest (rejected whole): the file as it is
    end = ledger.end_offset
    if len(raw) < end or content_digest(memoryview(raw)[:end]) != ledger.digest:
        raise _Changed(f"its first {end} bytes changed since they were converted")
    return raw[ledger.start_offset : end]


def _stored(path: str, storage: Storage | None) -> bytes | None:
    """The bytes of an s3:// object, None when it is not there."""
    if storage is None:
        raise ConfigError(f"{path} is on S3: verify needs a Storage to read it")
    try:
        return storage.read_bytes(path)
    except ObjectGone:
        return None


def _parquet_rows(
    manifest: Manifest, report: VerifyReport, storage: Storage | None = None
) -> tuple[int, Counter[str] | None] | None:
    """(rows in the manifest's parts, rows per `_source_file` when the lake has lineage); None if a part is gone."""
    total, by_source = 0, Counter[str]()
    lineage = True
    for path in manifest.outputs:
        data = _stored(path, storage) if is_s3(path) else b"" if Path(path).is_file() else None
        if data is None:
            report.problems.append(f"manifest {manifest.manifest_id}: part missing: {path}")
            return None
        parquet = pq.ParquetFile(pa.BufferReader(data) if is_s3(path) else path)
        total += parquet.metadata.num_rows
        if SOURCE_FILE_COLUMN in parquet.schema_arrow.names:
            sources = parquet.read(columns=[SOURCE_FILE_COLUMN]).column(0).to_pylist()
            by_source.update(sources)
            if SOURCE_LINE_COLUMN in parquet.schema_arrow.names:
                lines = parquet.read(columns=[SOURCE_LINE_COLUMN]).column(0).to_pylist()
                report._lineage.update(zip(sources, lines, strict=True))
        else:
            lineage = False
    return total, (by_source if lineage else None)


def _quarantined_rows(manifest: Manifest, report: VerifyReport, storage: Storage | None = None) -> Counter[str] | None:
    """Quarantined lines per source file of this manifest."""
    path = manifest.stats.get("quarantine")
    counts: Counter[str] = Counter()
    if not path:
        return counts
    path = str(path)
    data = _stored(path, storage) if is_s3(path) else None
    if data is None and (is_s3(path) or not Path(path).is_file()):
        report.problems.append(f"manifest {manifest.manifest_id}: quarantine file missing: {path}")
        return None
    with io.BytesIO(data) if data is not None else open(path, "rb") as handle:
        for line in handle:
            if line.strip():
                counts[json.loads(line)["source"]] += 1
    return counts
