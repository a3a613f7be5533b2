"""What commands show: JSON-ready snapshots and tables for people."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..domain.clock import iso
from ..domain.records import FileRecord
from ..domain.states import FileState
from ..state.base import StateStore

if TYPE_CHECKING:
    from rich.console import Console

#: how many dead-letter (FAILED) and set-aside (REJECTED) files `status` lists per date
LISTED_PER_DATE = 20
#: the per-date table's state columns: CHANGED files have a section of their own (it keeps the table narrow)
_DATE_COLUMNS = [s for s in FileState if s is not FileState.CHANGED]


def status_snapshot(store: StateStore) -> dict[str, Any]:
    """{"files": {STATE: n}, "manifests": {STATE: n}, "dates": [...], "failed": [...], "rejected": [...]}."""
    dates, failed, rejected = [], [], []
    for status in store.dates():
        dates.append(
            {
                "dataset": status.dataset,
                "date": status.date,
                "files": {s.value: status.files.get(s.value, 0) for s in FileState},
                "sealed": status.sealed_at is not None,
                "sealed_at": iso(status.sealed_at),
                # the seal record: "clean" only when every file ended DONE (then the lake has its marker)
                "seal": None
                if status.seal is None
                else {
                    "clean": status.seal.clean,
                    "files": status.seal.files,
                    "manifest_ids": list(status.seal.manifest_ids),
                },
                "late_files": status.late_files,
            }
        )
        if status.files.get(FileState.FAILED.value):
            page = store.failed(status.dataset, status.date, LISTED_PER_DATE)
            failed += [{"uri": r.uri, "attempts": r.attempts, "error": r.error} for r in page.items]
        if status.files.get(FileState.REJECTED.value):
            page = store.rejected(status.dataset, status.date, LISTED_PER_DATE)
            rejected += [{"uri": r.uri, "reason": r.ledger.rejection} for r in page.items]
    return {**store.counts(), "dates": dates, "failed": failed, "rejected": rejected, "changed": changed_files(store)}


def changed_files(store: StateStore) -> list[dict[str, Any]]:
    """CHANGED files (converted bytes that changed since; not converted again), up to LISTED_PER_DATE a date."""
    changed = []
    for status in store.dates():
        if status.files.get(FileState.CHANGED.value):
            page = store.changed(status.dataset, status.date, LISTED_PER_DATE)
            changed += [{"uri": r.uri, "date": r.date, "reason": r.error} for r in page.items]
    return changed


def print_changed(snapshot: dict[str, Any], console: Console) -> None:
    """The changed-files section of `status`."""
    for f in snapshot.get("changed", []):
        console.print(f"CHANGED since conversion (not converted again): {f['uri']}: {f['reason']}", soft_wrap=True)
    if snapshot["files"].get(FileState.CHANGED.value, 0) > len(snapshot.get("changed", [])):
        more = snapshot["files"][FileState.CHANGED.value] - len(snapshot["changed"])
        console.print(f"… {more} more CHANGED file(s) ({LISTED_PER_DATE} listed per date)")


def print_status(snapshot: dict[str, Any], console: Console | None = None) -> None:
    """The status snapshot as tables."""
    from rich.console import Console  # only the commands that draw tables load it
    from rich.table import Table

    out = console or Console()
    totals = Table(title="files and manifests", show_edge=False)
    totals.add_column("")
    for state in FileState:
        totals.add_column(state.value, justify="right")
    totals.add_row("files", *(str(snapshot["files"][s.value]) for s in FileState))
    out.print(totals)
    manifests = ", ".join(f"{k} {v}" for k, v in snapshot["manifests"].items() if v)
    out.print(f"manifests: {manifests or 'none'}")
    if snapshot["dates"]:
        table = Table(title="dates", show_edge=False)
        for column in ("dataset", "date", *(s.value for s in _DATE_COLUMNS), "sealed"):
            key = column in ("dataset", "date")
            table.add_column(column, justify="left" if key else "right", no_wrap=key)
        for d in snapshot["dates"]:
            sealed = "reopened" if d["late_files"] else ""
            if d["sealed"]:
                sealed = "problems" if d["seal"] and not d["seal"]["clean"] else "yes"
            table.add_row(d["dataset"], d["date"], *(str(d["files"][s.value]) for s in _DATE_COLUMNS), sealed)
        out.print(table)
        for d in snapshot["dates"]:
            if d["sealed"] and d["seal"] and not d["seal"]["clean"]:
                counts = ", ".join(f"{n} {s}" for s, n in d["seal"]["files"].items() if n)
                out.print(f"{d['dataset']}/{d['date']} sealed with problems ({counts}): no _SUCCESS marker")
    for f in snapshot["failed"]:
        out.print(f"FAILED after {f['attempts']} attempt(s): {f['uri']}: {f['error']}", soft_wrap=True)
    for f in snapshot["rejected"]:
        out.print(f"REJECTED (set aside whole): {f['uri']}: {f['reason']}", soft_wrap=True)
    shown = {FileState.FAILED.value: len(snapshot["failed"]), FileState.REJECTED.value: len(snapshot["rejected"])}
    for state, listed in shown.items():
        if snapshot["files"][state] > listed:
            out.print(f"… {snapshot['files'][state] - listed} more {state} file(s) ({LISTED_PER_DATE} listed per date)")
    print_changed(snapshot, out)


def ledger_entry(record: FileRecord) -> dict[str, Any]:
    """One file version's ledger, JSON-ready."""
    ledger = record.ledger
    return {
        "file_id": record.file_id,
        "version": record.version,
        "dataset": record.dataset,
        "date": record.date,
        "size": record.size,
        "state": record.state.value,
        "manifest_id": record.manifest_id,
        "attempts": record.attempts,
        "lines": ledger.lines,
        "blank": ledger.blank,
        "rows_written": ledger.rows_written,
        "rows_quarantined": ledger.rows_quarantined,
        "balanced": ledger.balanced,
        "outputs": list(ledger.outputs),
        "rejection": ledger.rejection,
        "error": record.error,
        # the part of the file this version covers: bytes [start_offset, end_offset), lines from first_line
        "start_offset": record.start_offset,
        "end_offset": ledger.end_offset,
        "first_line": record.first_line,
        "digest": ledger.digest,
        "changed_from": record.changed_from,
    }


def print_ledger(uri: str, versions: list[dict[str, Any]], console: Console | None = None) -> None:
    """Each version of a file and where its lines went."""
    from rich.console import Console

    out = console or Console()
    out.print(uri)
    for v in versions:
        out.print(f"  version {v['version']}: {v['state']} ({v['dataset']}/{v['date']}), manifest {v['manifest_id']}")
        if v["rejection"]:
            out.print(f"    rejected: {v['rejection']}")
        out.print(
            f"    {v['lines']} line(s) = {v['blank']} blank + {v['rows_written']} written + "
            f"{v['rows_quarantined']} quarantined" + ("" if v["balanced"] else "  (NOT BALANCED)")
        )
        if v["end_offset"]:
            last = v["first_line"] + v["lines"] - 1
            out.print(
                f"    bytes {v['start_offset']}–{v['end_offset']}, lines {v['first_line']}–{last}"
                f" (sha256 of bytes 0–{v['end_offset']}: {v['digest']})"
            )
        if v["changed_from"]:
            out.print(f"    a new version of changed bytes (converted before as {v['changed_from']})")
        for path in v["outputs"]:
            out.print(f"    → {path}")
