"""The commit record: what one committed manifest put into the lake, enough to rebuild its state.

Written as ``<lake>/_manifests/<dataset>/date=<date>/<manifest_id>.json`` after the manifest's parts
are published and before its SUCCEEDED write in the state store, so a lake whose state is lost
still says which files it holds and where each of their lines went. Format (JSON object):

``format`` (``ndjson2parquet.commit/1``), ``manifest_id``, ``dataset``, ``date``, ``created_at``
(epoch seconds), ``reason``, ``runs``, ``committed_at`` (ISO 8601 UTC), ``tool_version``, ``schema``
(the dataset schema the parts were written with, as in the state store, or null), ``outputs``
(``[{"path", "rows", "bytes"}]``), ``quarantine`` (path or null), ``stats``, and ``files``
(``[{"file_id", "uri", "version", "size", "date", "arrived_at", "registered_at", "attempts",
"ledger": {every Ledger field}}]``), and ``lake``, the lake root it was written under. The outputs and
the quarantine under the lake root are stored relative to it (with ``/``); the files' ledgers name
their parts as the writer saw them (re-rooting 10,000 ledgers at every commit cost more than the
commit), and a reader re-roots them from ``lake``: a record stays true when the lake is moved or
copied.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

import orjson

from .. import __version__
from ..domain.clock import epoch, iso
from ..domain.errors import TerminalError
from ..domain.records import FileRecord, Ledger, Manifest
from ..domain.states import FileState, ManifestState, file_transition

FORMAT = "ndjson2parquet.commit/1"
_LEDGER_FIELDS = {f.name: f for f in dataclasses.fields(Ledger)}


class BadCommitRecord(TerminalError):
    """A commit record that cannot be read (not JSON, another format, a field missing)."""


@dataclass(frozen=True, slots=True)
class CommittedOutput:
    """One published part: its path (relative to the lake root when under it), rows and bytes."""

    path: str
    rows: int
    bytes: int


@dataclass(frozen=True, slots=True)
class CommittedFile:
    """One input file of a committed manifest and its ledger (paths in it relative like the outputs)."""

    file_id: str
    uri: str
    version: str
    size: int
    date: str
    arrived_at: float
    registered_at: float
    ledger: Ledger
    attempts: int = 0
    changed_from: str | None = None  # the version a knowing new version (--on-changed new-version) replaced


@dataclass(frozen=True, slots=True)
class CommitRecord:
    """What one committed manifest holds in the lake (see the module docstring for the format)."""

    manifest_id: str
    dataset: str
    date: str
    created_at: float
    committed_at: str  # ISO 8601, UTC
    files: tuple[CommittedFile, ...]
    outputs: tuple[CommittedOutput, ...]
    quarantine: str | None = None
    lake: str = ""  # the lake root the ledgers' paths are under (re-rooted when read)
    schema: str | None = None  # the dataset schema JSON, exactly as the state store holds it
    reason: str = ""
    runs: int = 0
    stats: dict[str, object] = field(default_factory=dict)
    tool_version: str = __version__
    format: str = FORMAT

    # ------------------------------------------------------------------------ building
    @classmethod
    def of(
        cls,
        manifest: Manifest,
        files: list[FileRecord],
        ledgers: dict[str, Ledger],
        outputs: list[tuple[str, int, int]],
        *,
        root: str,
        quarantine: str | None,
        schema: str | None,
        stats: dict[str, object],
        now: float,
    ) -> CommitRecord:
        """The record of a converted manifest: absolute paths under ``root`` become relative."""
        return cls(
            manifest_id=manifest.manifest_id,
            dataset=manifest.dataset,
            date=manifest.date,
            created_at=manifest.created_at,
            committed_at=iso(now),  # type: ignore[arg-type]
            files=tuple(
                CommittedFile(
                    file_id=r.file_id,
                    uri=r.uri,
                    version=r.version,
                    size=r.size,
                    date=r.date,
                    arrived_at=r.arrived_at,
                    registered_at=r.registered_at,
                    ledger=ledgers[r.file_id],
                    attempts=r.attempts,
                    changed_from=r.changed_from,
                )
                for r in files
            ),
            outputs=tuple(CommittedOutput(relative_to(root, path), rows, size) for path, rows, size in outputs),
            quarantine=relative_to(root, quarantine) if quarantine else None,
            lake=root,
            schema=schema,
            reason=manifest.reason,
            runs=manifest.runs,
            stats={k: v for k, v in stats.items() if k != "quarantine"},
        )

    def to_state(self, root: str) -> tuple[Manifest, list[FileRecord]]:
        """The manifest (SUCCEEDED, settled) and its files (DONE or REJECTED) as the state holds them."""
        at = epoch(self.committed_at)
        outputs = tuple(absolute(root, o.path) for o in self.outputs)
        quarantine = absolute(root, self.quarantine) if self.quarantine else None
        files = [
            FileRecord(
                file_id=f.file_id,
                dataset=self.dataset,
                uri=f.uri,
                version=f.version,
                size=f.size,
                date=f.date,
                arrived_at=f.arrived_at,
                registered_at=f.registered_at,
                state=final_state(f.ledger),
                manifest_id=self.manifest_id,
                attempts=f.attempts,
                ledger=_map_outputs(f.ledger, lambda p: absolute(root, relative_to(self.lake, p) if self.lake else p)),
                updated_at=at,
                start_offset=f.ledger.start_offset,  # a continuation converted from here on
                first_line=f.ledger.first_line,
                changed_from=f.changed_from,
            )
            for f in self.files
        ]
        manifest = Manifest(
            manifest_id=self.manifest_id,
            dataset=self.dataset,
            date=self.date,
            file_ids=tuple(f.file_id for f in self.files),
            bytes=sum(f.size for f in self.files),
            state=ManifestState.SUCCEEDED,
            created_at=self.created_at,
            updated_at=at,
            reason=self.reason,
            runs=self.runs,
            settled=True,
            outputs=outputs,
            stats={**self.stats, "quarantine": quarantine},
        )
        return manifest, files

    # ------------------------------------------------------------------------ JSON
    def to_json(self) -> bytes:
        """The record as JSON bytes (the schema as a nested object, readable by people)."""
        document: dict[str, Any] = {
            "format": self.format,
            "manifest_id": self.manifest_id,
            "dataset": self.dataset,
            "date": self.date,
            "created_at": self.created_at,
            "committed_at": self.committed_at,
            "tool_version": self.tool_version,
            "reason": self.reason,
            "runs": self.runs,
            "schema": orjson.loads(self.schema) if self.schema else None,
            "outputs": [dataclasses.asdict(o) for o in self.outputs],
            "quarantine": self.quarantine,
            "lake": self.lake,
            "stats": self.stats,
            # orjson writes the (slotted) dataclasses itself, every field of theirs included: a field the
            # Ledger gains later travels without a change here, and 10,000 files take milliseconds
            "files": self.files,
        }
        return orjson.dumps(document, option=orjson.OPT_INDENT_2 if len(self.files) <= 10 else 0)

    @classmethod
    def from_json(cls, data: bytes, where: str = "commit record") -> CommitRecord:
        """Parse a record; BadCommitRecord names ``where`` when it is not one we can read."""
        try:
            doc = orjson.loads(data)
            if not isinstance(doc, dict) or doc.get("format") != FORMAT:
                found = doc.get("format") if isinstance(doc, dict) else type(doc).__name__
                raise BadCommitRecord(f"{where}: not a {FORMAT} record (format {found!r})")
            schema = doc.get("schema")
            return cls(
                manifest_id=doc["manifest_id"],
                dataset=doc["dataset"],
                date=doc["date"],
                created_at=float(doc["created_at"]),
                committed_at=doc["committed_at"],
                files=tuple(
                    CommittedFile(
                        file_id=f["file_id"],
                        uri=f["uri"],
                        version=f["version"],
                        size=int(f["size"]),
                        date=f["date"],
                        arrived_at=float(f["arrived_at"]),
                        registered_at=float(f["registered_at"]),
                        ledger=ledger_from(f["ledger"]),
                        attempts=int(f.get("attempts", 0)),
                        changed_from=f.get("changed_from"),
                    )
                    for f in doc["files"]
                ),
                outputs=tuple(CommittedOutput(o["path"], int(o["rows"]), int(o["bytes"])) for o in doc["outputs"]),
                quarantine=doc.get("quarantine"),
                lake=doc.get("lake", ""),
                schema=None if schema is None else orjson.dumps(schema).decode(),
                reason=doc.get("reason", ""),
                runs=int(doc.get("runs", 0)),
                stats=dict(doc.get("stats") or {}),
                tool_version=doc.get("tool_version", ""),
            )
        except BadCommitRecord:
            raise
        except (orjson.JSONDecodeError, KeyError, TypeError, ValueError, AttributeError) as exc:
            raise BadCommitRecord(f"{where}: unreadable commit record ({type(exc).__name__}: {exc})") from exc


# ---------------------------------------------------------------------------- helpers
def final_state(ledger: Ledger) -> FileState:
    """DONE, or REJECTED when the ledger holds a rejection (as `settle` decides)."""
    return file_transition("reject" if ledger.rejection else "complete")[1]


def ledger_from(values: dict[str, Any]) -> Ledger:
    """A Ledger from its dict; fields it does not know are dropped, missing ones take their default."""
    known = {k: tuple(v) if isinstance(v, list) else v for k, v in values.items() if k in _LEDGER_FIELDS}
    return Ledger(**known)


def _map_outputs(ledger: Ledger, fn: Any) -> Ledger:
    return dataclasses.replace(ledger, outputs=tuple(fn(p) for p in ledger.outputs))


def relative_to(root: str, path: str) -> str:
    """``path`` relative to ``root`` (a folder or an s3:// prefix) when under it; else unchanged."""
    base = root.rstrip("/") + "/"
    return path[len(base) :] if path.startswith(base) else path


def absolute(root: str, path: str) -> str:
    """The inverse of `relative_to`: a relative path is joined to ``root``."""
    if path.startswith("/") or "://" in path:
        return path
    return f"{root.rstrip('/')}/{path}"
