"""The run report: what came in, what went out, how long it took, how late files landed.

It also decides the run's exit status (`RunReport.exit_status`), so a scheduler can alert on it:
0 every file of this run ended DONE (or there was nothing to do); 3 some file ended REJECTED or
FAILED in this run (or an explicit --date-pattern left files undated); 4 none did, but changed
input files were reported. (1 and 2, a failed command and a usage error, are the CLI's.)
"""

from __future__ import annotations

import json
import math
import os
import resource
import sys
import time
from dataclasses import asdict, dataclass, field, replace
from enum import IntEnum
from pathlib import Path

from .. import __version__
from ..domain.clock import iso
from ..lake.atomic import publish_bytes
from ..storage.base import Storage, is_s3
from .executor import Outcome

#: how many FAILED files of a run the report names (all are counted)
FAILED_NAMED = 100


class ExitStatus(IntEnum):
    """The exit statuses a run decides (the CLI adds 1 for a failed command and 2 for a usage error)."""

    OK = 0  # every file of this run ended DONE, or there was nothing to do
    PROBLEMS = 3  # some file ended REJECTED or FAILED in this run, or was left undated
    CHANGED = 4  # no problem file, but changed input files were reported


def percentile(ordered: list[float], q: float) -> float:
    """The q-th percentile (0–100) of sorted values by the nearest-rank method; 0.0 for no values."""
    if not ordered:
        return 0.0
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[rank - 1]


def latency_summary(latencies: list[float]) -> dict[str, float]:
    """p50, p95 and max of per-file latencies, in seconds (one sort)."""
    ordered = sorted(latencies)
    return {
        "p50": round(percentile(ordered, 50), 3),
        "p95": round(percentile(ordered, 95), 3),
        "max": round(ordered[-1] if ordered else 0.0, 3),
    }


def peak_rss_mb() -> float:
    """This process's peak resident memory in MB."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024


@dataclass
class RunReport:
    """One run of the pipeline, ready to be written as JSON."""

    started_at: float = field(default_factory=time.time)
    finished_at: float = 0.0
    ingest: dict[str, object] = field(default_factory=dict)
    recovery: dict[str, list[str]] = field(default_factory=dict)
    manifests: dict[str, int] = field(default_factory=lambda: {"SUCCEEDED": 0, "FAILED": 0, "SKIPPED": 0})
    files: int = 0
    lines: int = 0
    blank: int = 0
    bytes_in: int = 0
    rows_written: int = 0
    rows_quarantined: int = 0
    values_rescued: int = 0
    parquet_files: list[dict[str, object]] = field(default_factory=list)
    rejected_files: list[dict[str, str]] = field(default_factory=list)
    sealed_dates: list[str] = field(default_factory=list)
    failed_files: int = 0  # FAILED files in the whole store (dead letters, from any run)
    latencies: list[float] = field(default_factory=list, repr=False)
    errors: list[str] = field(default_factory=list)
    context: dict[str, object] = field(default_factory=dict)  # input, output, quarantine, state, options
    dates: dict[str, dict[str, int]] = field(default_factory=dict)  # "dataset/date" → files, rows, …
    quarantine_files: list[dict[str, object]] = field(default_factory=list)
    failed: list[dict[str, object]] = field(default_factory=list)  # files that ended FAILED in this run
    failed_count: int = 0  # all of them (the list names the first FAILED_NAMED)
    sealed: list[dict[str, object]] = field(default_factory=list)  # {"dataset", "date", "clean", "files"}

    def add(self, outcome: Outcome) -> None:
        """Count one manifest's outcome."""
        self.manifests[outcome.state] = self.manifests.get(outcome.state, 0) + 1
        if outcome.error and outcome.state == "FAILED":
            self.errors.append(f"{outcome.manifest_id}: {outcome.error}")
        if outcome.state != "SUCCEEDED":
            return
        self.files += outcome.files
        self.lines += outcome.lines
        self.blank += outcome.blank
        self.rejected_files += [{"uri": uri, "reason": reason} for uri, reason in outcome.rejected]
        self.bytes_in += outcome.bytes_in
        self.rows_written += outcome.rows_written
        self.rows_quarantined += outcome.rows_quarantined
        self.values_rescued += outcome.values_rescued
        self.parquet_files += [asdict(o) for o in outcome.outputs]
        self.latencies += outcome.latencies
        if outcome.dataset:
            day = self.dates.setdefault(
                f"{outcome.dataset}/{outcome.date}",
                {"files": 0, "rows_written": 0, "rows_quarantined": 0, "rejected_files": 0},
            )
            day["files"] += outcome.files
            day["rows_written"] += outcome.rows_written
            day["rows_quarantined"] += outcome.rows_quarantined
            day["rejected_files"] += len(outcome.rejected)
        if outcome.quarantine:
            self.quarantine_files.append(outcome.quarantine)

    def note_failed(self, uri: str, dataset: str, date: str, attempts: int, error: str | None) -> None:
        """Count one file that ended FAILED in this run; the first FAILED_NAMED are named."""
        self.failed_count += 1
        if len(self.failed) < FAILED_NAMED:
            self.failed.append({"uri": uri, "dataset": dataset, "date": date, "attempts": attempts, "error": error})

    def changed_files(self) -> list[dict[str, object]]:
        """Changed input files the ingest reported (`ingest["changed"]`; none when absent)."""
        changed = self.ingest.get("changed") or []
        return list(changed) if isinstance(changed, list) else []

    def undated_files(self) -> int:
        """Files an explicit --date-pattern gave no real date (left out)."""
        return int(self.ingest.get("undated") or 0)  # type: ignore[call-overload]

    def exit_status(self) -> ExitStatus:
        """0 all DONE; 3 some file REJECTED, FAILED or undated in this run; 4 else, if changed files were reported."""
        if self.rejected_files or self.failed_count or self.undated_files():
            return ExitStatus.PROBLEMS
        if self.changed_files():
            return ExitStatus.CHANGED
        return ExitStatus.OK

    def outcome_line(self) -> str:
        """The summary's verdict, with the exit status it gives."""
        status = self.exit_status()
        if status == ExitStatus.PROBLEMS:
            parts = [
                f"{n} {what}"
                for n, what in (
                    (len(self.rejected_files), "REJECTED"),
                    (self.failed_count, "FAILED"),
                    (self.undated_files(), "undated (left out)"),
                )
                if n
            ]
            return f"outcome: problems: {', '.join(parts)} file(s) in this run (exit {int(status)})"
        if status == ExitStatus.CHANGED:
            return f"outcome: {len(self.changed_files())} changed input file(s) reported (exit {int(status)})"
        return f"outcome: ok, every file of this run DONE (exit {int(status)})"

    @property
    def seconds(self) -> float:
        """Wall time of the run."""
        return (self.finished_at or time.time()) - self.started_at

    def as_dict(self) -> dict[str, object]:
        """The JSON report."""
        data = asdict(replace(self, latencies=[]))  # not a deep copy of one float per file
        del data["latencies"]
        seconds = max(self.seconds, 1e-9)
        data.update(
            version=__version__,
            started_at=iso(self.started_at),
            finished_at=iso(self.finished_at) if self.finished_at else None,
            exit_status=int(self.exit_status()),
            seconds=round(self.seconds, 3),
            bytes_out=sum(int(p["bytes"]) for p in self.parquet_files),  # type: ignore[call-overload]
            throughput={
                "rows_per_s": round(self.rows_written / seconds, 1),
                "mb_in_per_s": round(self.bytes_in / seconds / 1e6, 2),
                "files_per_s": round(self.files / seconds, 1),
            },
            latency_s=latency_summary(self.latencies),
            peak_rss_mb=round(peak_rss_mb(), 1),
            ledger={  # over every file this run converted: lines = blank + rows_written + rows_quarantined
                "lines": self.lines,
                "blank": self.blank,
                "rows_written": self.rows_written,
                "rows_quarantined": self.rows_quarantined,
                "balanced": self.lines == self.blank + self.rows_written + self.rows_quarantined,
            },
        )
        return data

    def write(self, folder: Path | str, name: str | None = None, storage: Storage | None = None) -> Path | str:
        """Write the JSON report into `folder` (created if needed) and return its path.

        The name is `run-<UTC start>-<pid>.json` unless ``name`` is given. A URL folder (s3://)
        is written through ``storage``.
        """
        path = _in(folder, name or f"run-{_stamp(self.started_at)}-{os.getpid()}.json")
        _write_json(path, self.as_dict(), storage)
        return path

    def summary(self) -> list[str]:
        """A few lines for people."""
        d = self.as_dict()
        lines = [
            f"{self.files} file(s), {self.bytes_in / 1e6:.1f} MB in → {self.rows_written} row(s) in "
            f"{len(self.parquet_files)} Parquet file(s), {int(d['bytes_out']) / 1e6:.1f} MB "  # type: ignore[call-overload]
            f"in {self.seconds:.1f} s ({d['throughput']['rows_per_s']:.0f} rows/s)",  # type: ignore[index]
            "manifests: " + ", ".join(f"{k.lower()} {v}" for k, v in self.manifests.items() if v),
        ]
        if self.rows_quarantined or len(self.rejected_files) or self.values_rescued:
            lines.append(
                f"quarantined {self.rows_quarantined} line(s), rejected {len(self.rejected_files)} file(s), "
                f"rescued {self.values_rescued} value(s)"
            )
        if self.latencies:
            lat = d["latency_s"]
            lines.append(f"latency arrival→commit: p50 {lat['p50']} s, p95 {lat['p95']} s, max {lat['max']} s")  # type: ignore[index]
        for entry in self.failed[:5]:
            lines.append(f"FAILED: {entry['uri']}: {entry['error']}")
        if self.failed_count > 5:
            lines.append(f"… {self.failed_count - 5} more FAILED file(s) in the report")
        for entry in self.rejected_files[:5]:
            lines.append(f"REJECTED: {entry['uri']}: {entry['reason']}")
        if len(self.rejected_files) > 5:
            lines.append(f"… {len(self.rejected_files) - 5} more REJECTED file(s) in the report")
        skipped = self.ingest.get("skipped")
        if skipped:
            lines.append(f"skipped {skipped} entry(ies) of the landing zone (named in the report)")
        if self.ingest.get("arrival_dated"):
            lines.append(
                f"{self.ingest['arrival_dated']} file(s) with no date in their key, dated by arrival"
                f" (e.g. {self.ingest.get('arrival_dated_example')})"
            )
        if self.failed_files:
            lines.append(f"{self.failed_files} file(s) FAILED in the state: see `status`, put back with `retry`")
        if self.sealed_dates:
            lines.append("sealed: " + ", ".join(self.sealed_dates))
        lines.append(self.outcome_line())
        return lines


def _stamp(epoch: float) -> str:
    """A file-name-safe UTC time stamp with milliseconds: 20261125T100000.123Z."""
    return time.strftime("%Y%m%dT%H%M%S", time.gmtime(epoch)) + f".{int(epoch * 1000) % 1000:03d}Z"


def _in(folder: Path | str, name: str) -> Path | str:
    return Path(folder) / name if not is_s3(str(folder)) else Storage.join(str(folder), name)


def _write_json(path: Path | str, data: object, storage: Storage | None = None) -> None:
    """Write JSON atomically (aside, then renamed; on S3 one PUT): a reader never sees half a report."""
    if isinstance(path, Path):
        publish_bytes(path, json.dumps(data, indent=2).encode())
    else:
        assert storage is not None, "a report on S3 is written through a Storage"
        storage.write_bytes(path, json.dumps(data, indent=2).encode())


@dataclass
class WatchSummary:
    """The rolling summary of one `watch`: totals over the cycles that converted something."""

    started_at: float = field(default_factory=time.time)
    updated_at: float = 0.0
    cycles: int = 0
    totals: dict[str, int] = field(
        default_factory=lambda: {
            "files": 0,
            "rows_written": 0,
            "rows_quarantined": 0,
            "rejected_files": 0,
            "failed_files": 0,
            "undated_files": 0,
            "changed_files": 0,
            "manifests_succeeded": 0,
            "manifests_failed": 0,
        }
    )
    reports: list[str] = field(default_factory=list)  # the last cycles' reports, newest last
    kept: int = 50

    def add(self, cycle: RunReport, path: Path | str) -> None:
        """Add one cycle's report (written at ``path``)."""
        self.cycles += 1
        self.updated_at = time.time()
        t = self.totals
        t["files"] += cycle.files
        t["rows_written"] += cycle.rows_written
        t["rows_quarantined"] += cycle.rows_quarantined
        t["rejected_files"] += len(cycle.rejected_files)
        t["failed_files"] += cycle.failed_count
        t["undated_files"] += cycle.undated_files()
        t["changed_files"] += len(cycle.changed_files())
        t["manifests_succeeded"] += cycle.manifests.get("SUCCEEDED", 0)
        t["manifests_failed"] += cycle.manifests.get("FAILED", 0)
        self.reports = [*self.reports, str(path)][-self.kept :]

    def exit_status(self) -> ExitStatus:
        """The worst status over every cycle (same meaning as `RunReport.exit_status`)."""
        t = self.totals
        if t["rejected_files"] or t["failed_files"] or t["undated_files"]:
            return ExitStatus.PROBLEMS
        return ExitStatus.CHANGED if t["changed_files"] else ExitStatus.OK

    def write(self, folder: Path | str, storage: Storage | None = None) -> Path | str:
        """(Re)write `watch-<UTC start>-<pid>.json` in ``folder`` (a URL one through ``storage``)."""
        path = _in(folder, f"watch-{_stamp(self.started_at)}-{os.getpid()}.json")
        _write_json(
            path,
            {
                "version": __version__,
                "started_at": iso(self.started_at),
                "updated_at": iso(self.updated_at),
                "cycles_converted": self.cycles,
                "totals": self.totals,
                "exit_status": int(self.exit_status()),
                "reports": self.reports,
            },
            storage,
        )
        return path
