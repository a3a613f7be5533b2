"""What commands show: JSON-ready snapshots and tables for people."""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.table import Table

from ..domain.states import FileState
from ..state.base import StateStore

#: how many dead-letter files `status` lists per date
FAILED_LISTED = 20


def status_snapshot(store: StateStore) -> dict[str, Any]:
    """{"files": {STATE: n}, "manifests": {STATE: n}, "dates": [...], "failed": [...]}."""
    dates, failed = [], []
    for status in store.dates():
        dates.append(
            {
                "dataset": status.dataset,
                "date": status.date,
                "files": {s.value: status.files.get(s.value, 0) for s in FileState},
                "sealed": status.sealed_at is not None,
                "sealed_at": status.sealed_at,
                "late_files": status.late_files,
            }
        )
        if status.files.get(FileState.FAILED.value):
            page = store.failed(status.dataset, status.date, FAILED_LISTED)
            failed += [{"uri": r.uri, "attempts": r.attempts, "error": r.error} for r in page.items]
    return {**store.counts(), "dates": dates, "failed": failed}


def print_status(snapshot: dict[str, Any], console: Console | None = None) -> None:
    """The status snapshot as tables."""
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
        for column in ("dataset", "date", *(s.value for s in FileState), "sealed"):
            table.add_column(column, justify="left" if column in ("dataset", "date") else "right")
        for d in snapshot["dates"]:
            sealed = "yes" if d["sealed"] else ("reopened" if d["late_files"] else "")
            table.add_row(d["dataset"], d["date"], *(str(d["files"][s.value]) for s in FileState), sealed)
        out.print(table)
    for f in snapshot["failed"]:
        out.print(f"FAILED after {f['attempts']} attempt(s): {f['uri']}: {f['error']}")
