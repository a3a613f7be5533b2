"""The run report: what came in, what went out, how long it took, how late files landed."""

from __future__ import annotations

import json
import math
import os
import resource
import sys
import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

from .executor import Outcome


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
    failed_files: int = 0
    latencies: list[float] = field(default_factory=list, repr=False)
    errors: list[str] = field(default_factory=list)

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

    def write(self, folder: Path) -> Path:
        """Write the JSON report into `folder` (created if needed) and return its path."""
        folder.mkdir(parents=True, exist_ok=True)
        stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(self.started_at))
        path = folder / f"run-{stamp}-{os.getpid()}.json"
        tmp = path.with_name("." + path.name)
        tmp.write_text(json.dumps(self.as_dict(), indent=2))
        os.replace(tmp, path)
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
        if self.failed_files:
            lines.append(f"{self.failed_files} file(s) FAILED: see `status`, put back with `retry`")
        if self.sealed_dates:
            lines.append("sealed: " + ", ".join(self.sealed_dates))
        return lines
