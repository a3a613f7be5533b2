"""The run report's figures."""

from __future__ import annotations

import json
from pathlib import Path

from ndjson2parquet.conversion.engine import OutputFile
from ndjson2parquet.workflow.executor import Outcome
from ndjson2parquet.workflow.report import RunReport, latency_summary, percentile


def test_percentile_is_nearest_rank() -> None:
    values = [float(v) for v in range(1, 101)]
    assert (percentile(values, 50), percentile(values, 95), percentile(values, 100)) == (50.0, 95.0, 100.0)
    assert percentile([], 50) == 0.0
    assert latency_summary([3.0, 1.0, 2.0]) == {"p50": 2.0, "p95": 3.0, "max": 3.0}
    assert latency_summary([]) == {"p50": 0.0, "p95": 0.0, "max": 0.0}


def test_report_adds_outcomes_and_writes_json(tmp_path: Path) -> None:
    report = RunReport(started_at=1000.0)
    report.add(
        Outcome(
            "m1",
            "SUCCEEDED",
            files=2,
            bytes_in=10,
            rows_written=5,
            rows_quarantined=1,
            lines=7,
            blank=1,
            outputs=[OutputFile("p", 5, 99)],
            latencies=[1.0, 3.0],
            rejected=[("u", "corrupt gzip")],
        )
    )
    report.add(Outcome("m2", "FAILED", error="boom"))
    report.finished_at = 1002.0
    data = json.loads(report.write(tmp_path).read_text())
    assert data["manifests"] == {"SUCCEEDED": 1, "FAILED": 1, "SKIPPED": 0}
    assert data["ledger"] == {"lines": 7, "blank": 1, "rows_written": 5, "rows_quarantined": 1, "balanced": True}
    assert data["bytes_out"] == 99 and data["throughput"]["rows_per_s"] == 2.5
    assert data["latency_s"] == {"p50": 1.0, "p95": 3.0, "max": 3.0}
    assert data["rejected_files"] == [{"uri": "u", "reason": "corrupt gzip"}]
    assert data["errors"] == ["m2: boom"]
    assert any("rejected 1 file" in line for line in report.summary())
