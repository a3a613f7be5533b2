"""Work objects: what a manifest's conversion produced, kept in the lake between convert and commit.

``<lake>/_manifests/_work/<manifest_id>.run-<n>.json``: beside the commit records, in a folder whose
leading ``_`` keeps the records' listing out of it (a record is
``_manifests/<dataset>/date=<date>/<id>.json``; datasets never start with ``_``). One object per
run: converting a run again replaces its own object; a later run never reads an earlier run's. The
commit (and compensation, and a put-back) deletes every object of the manifest, with any temp file a
killed writer left of one. The folder is flat (no folder per manifest is left behind) and holds only
the objects of manifests under way, so listing it to clean up is short.

Format (JSON object): ``format`` (``ndjson2parquet.work/1``), ``manifest_id``, ``run``,
``outputs`` (``[{"path", "rows", "bytes"}]``), ``ledgers`` (file id → every Ledger field),
``schema`` (the schema JSON the parts were written with, or null), ``rows_written``,
``rows_quarantined``, ``values_rescued``, ``bytes_in``, ``quarantine`` (path or null).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson

from ...conversion.engine import ConversionResult, OutputFile
from ...domain.errors import NotFound, ObjectGone, TerminalError
from ...domain.records import FileRecord
from ...lake.commit_record import ledger_from
from ...lake.record_store import RECORDS_DIR
from ...storage.base import Storage

FORMAT = "ndjson2parquet.work/1"
WORK_DIR = "_work"


class BadWorkObject(TerminalError):
    """A work object that cannot be read, or that belongs to another run."""


def work_folder(lake: str) -> str:
    """The folder of the lake's work objects."""
    return Storage.join(lake, RECORDS_DIR, WORK_DIR)


def work_url(lake: str, manifest_id: str, run: int) -> str:
    """Where one run of a manifest keeps its conversion."""
    return Storage.join(work_folder(lake), f"{manifest_id}.run-{run}.json")


@dataclass(frozen=True, slots=True)
class Conversion:
    """One run's conversion of a manifest: the engine's result, and (in process only) the files converted."""

    manifest_id: str
    run: int
    result: ConversionResult
    records: tuple[FileRecord, ...] | None = None  # known to the embedded executor; a commit step reads them

    def to_json(self) -> bytes:
        """The work object's bytes."""
        r = self.result
        document: dict[str, Any] = {
            "format": FORMAT,
            "manifest_id": self.manifest_id,
            "run": self.run,
            "outputs": [{"path": o.path, "rows": o.rows, "bytes": o.bytes} for o in r.outputs],
            "schema": r.schema_json,
            "rows_written": r.rows_written,
            "rows_quarantined": r.rows_quarantined,
            "values_rescued": r.values_rescued,
            "bytes_in": r.bytes_in,
            "quarantine": r.quarantine_path,
            "ledgers": r.ledgers,  # orjson writes the slotted Ledger dataclasses itself (fast for 10,000)
        }
        return orjson.dumps(document)

    @classmethod
    def from_json(cls, data: bytes, where: str) -> Conversion:
        """Parse a work object; BadWorkObject names ``where`` when it is not one."""
        try:
            doc = orjson.loads(data)
            if not isinstance(doc, dict) or doc.get("format") != FORMAT:
                raise BadWorkObject(f"{where}: not a {FORMAT} object")
            result = ConversionResult(
                outputs=tuple(OutputFile(o["path"], int(o["rows"]), int(o["bytes"])) for o in doc["outputs"]),
                ledgers={fid: ledger_from(values) for fid, values in doc["ledgers"].items()},
                schema_json=doc.get("schema"),
                rows_written=int(doc.get("rows_written", 0)),
                rows_quarantined=int(doc.get("rows_quarantined", 0)),
                values_rescued=int(doc.get("values_rescued", 0)),
                bytes_in=int(doc.get("bytes_in", 0)),
                quarantine_path=doc.get("quarantine"),
            )
            return cls(str(doc["manifest_id"]), int(doc["run"]), result)
        except BadWorkObject:
            raise
        except (orjson.JSONDecodeError, KeyError, TypeError, ValueError, AttributeError) as exc:
            raise BadWorkObject(f"{where}: unreadable work object ({type(exc).__name__}: {exc})") from exc


class WorkObjects:
    """The work objects of one lake, through the storage port."""

    def __init__(self, storage: Storage) -> None:
        self.storage = storage

    def write(self, lake: str, conversion: Conversion) -> str:
        """Publish a run's conversion (replacing that run's earlier one); return its URL."""
        url = work_url(lake, conversion.manifest_id, conversion.run)
        self.storage.write_bytes(url, conversion.to_json())
        return url

    def read(self, url: str, manifest_id: str, run: int) -> Conversion:
        """The conversion at ``url``; NotFound when it is not there, BadWorkObject when it is another run's."""
        try:
            data = self.storage.read_bytes(url)
        except (ObjectGone, FileNotFoundError) as exc:
            raise NotFound(f"no work object {url}") from exc
        conversion = Conversion.from_json(data, url)
        if (conversion.manifest_id, conversion.run) != (manifest_id, run):
            found = f"run {conversion.run} of {conversion.manifest_id}"
            raise BadWorkObject(f"{url} is {found}, not run {run} of {manifest_id}")
        return conversion

    def delete_all(self, lake: str, manifest_id: str) -> None:
        """Remove every work object of a manifest, and temp files a killed writer left of one."""
        self.storage.delete(self.by_manifest(lake).get(manifest_id, []))

    def by_manifest(self, lake: str) -> dict[str, list[str]]:
        """Every object (temp files too) in the lake's work folder, by manifest id."""
        found: dict[str, list[str]] = {}
        for obj in self.storage.list(work_folder(lake)):
            manifest_id, sep, _ = obj.url.rsplit("/", 1)[-1].lstrip(".").partition(".run-")
            if sep:
                found.setdefault(manifest_id, []).append(obj.url)
        return found
