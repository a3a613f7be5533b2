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


def test_exit_status_is_0_when_all_done_3_for_rejected_failed_or_undated_files_and_4_for_changed_ones() -> None:
    from ndjson2parquet.workflow.report import ExitStatus

    clean = RunReport()
    clean.add(Outcome("m1", "SUCCEEDED", files=1))
    clean.add(Outcome("m2", "FAILED", error="transient, retried later"))  # its files converted on a later round
    assert clean.exit_status() == ExitStatus.OK == 0
    rejected = RunReport()
    rejected.add(Outcome("m1", "SUCCEEDED", files=1, rejected=[("u", "corrupt")]))
    failed = RunReport()
    failed.note_failed("u", "d", "2026-11-25", 3, "boom")
    undated = RunReport(ingest={"undated": 2})
    for report in (rejected, failed, undated):
        assert report.exit_status() == ExitStatus.PROBLEMS == 3
    changed = RunReport(ingest={"changed": [{"uri": "u", "reason": "size", "action": "registered"}]})
    assert changed.exit_status() == ExitStatus.CHANGED == 4
    assert changed.summary()[-1] == "outcome: 1 changed input file(s) reported (exit 4)"
    both = RunReport(ingest={"changed": [{"uri": "u"}]})
    both.note_failed("u", "d", "2026-11-25", 3, "boom")
    assert both.exit_status() == 3  # problems beat changes
    assert RunReport(ingest={"changed": []}).exit_status() == 0


def test_report_times_are_iso_utc_and_failed_files_are_named_with_their_last_error(tmp_path: Path) -> None:
    report = RunReport(started_at=1_764_000_000.0)
    report.finished_at = 1_764_000_002.5
    for i in range(102):
        report.note_failed(f"f{i}", "d", "2025-11-24", 3, f"error {i}")
    data = json.loads(report.write(tmp_path).read_text())
    assert (data["started_at"], data["finished_at"]) == ("2025-11-24T16:00:00.000Z", "2025-11-24T16:00:02.500Z")
    assert data["failed_count"] == 102 and len(data["failed"]) == 100
    assert data["failed"][0] == {"uri": "f0", "dataset": "d", "date": "2025-11-24", "attempts": 3, "error": "error 0"}
    assert "FAILED: f0: error 0" in report.summary()


def test_watch_summary_adds_cycles_and_keeps_the_worst_exit_status(tmp_path: Path) -> None:
    from ndjson2parquet.workflow.report import WatchSummary

    summary = WatchSummary(started_at=1_764_000_000.0)
    first = RunReport()
    first.add(Outcome("m1", "SUCCEEDED", files=2, rows_written=5))
    summary.add(first, tmp_path / "r1.json")
    assert summary.exit_status() == 0
    second = RunReport()
    second.add(Outcome("m2", "SUCCEEDED", files=1, rejected=[("u", "corrupt")]))
    summary.add(second, tmp_path / "r2.json")
    data = json.loads(summary.write(tmp_path).read_text())
    assert data["cycles_converted"] == 2 and data["exit_status"] == 3
    assert data["totals"]["files"] == 3 and data["totals"]["rejected_files"] == 1
    assert data["reports"] == [str(tmp_path / "r1.json"), str(tmp_path / "r2.json")]
    assert data["started_at"] == "2025-11-24T16:00:00.000Z"
