"""Honest outcomes through the CLI: exit statuses, seal markers, retrying REJECTED files, reports."""

from __future__ import annotations

import gzip
import json
import os
from pathlib import Path

import pyarrow.parquet as pq
from click.testing import CliRunner

from ndjson2parquet import __version__
from ndjson2parquet.cli.main import cli

DAY = "2025-01-02"  # long past its grace period: `run` seals it


def invoke(*args: str):  # type: ignore[no-untyped-def]
    return CliRunner().invoke(cli, list(args))


def _rows(lake: Path) -> list[dict]:
    return [row for part in sorted(lake.rglob("part-*.parquet")) for row in pq.read_table(part).to_pylist()]


def _run(tmp_path: Path, *extra: str):  # type: ignore[no-untyped-def]
    return invoke("run", "--input", str(tmp_path / "in"), "--output", str(tmp_path / "lake"), *extra)


def _report(tmp_path: Path) -> dict:
    newest = max((tmp_path / "lake" / "_reports").glob("run-*.json"), key=lambda p: p.stat().st_mtime_ns)
    return json.loads(newest.read_text())


def _clean_landing(tmp_path: Path) -> Path:
    day = tmp_path / "in" / DAY
    day.mkdir(parents=True)
    (day / "a.ndjson").write_text('{"a": 1}\n{"a": 2}\nnot json\n')
    (day / "b.ndjson").write_text('{"a": 3}\n')
    return day


def test_a_clean_run_exits_0_and_seals_its_date_with_a_success_marker(tmp_path: Path) -> None:
    _clean_landing(tmp_path)
    result = _run(tmp_path)
    assert result.exit_code == 0, result.output
    assert "outcome: ok, every file of this run DONE (exit 0)" in result.output
    marker = json.loads((tmp_path / "lake" / "default" / f"date={DAY}" / "_SUCCESS").read_text())
    assert marker["format"] == "ndjson2parquet.seal/1" and marker["date"] == DAY
    assert marker["files"] == {"DONE": 2, "REJECTED": 0, "FAILED": 0}
    parts = list((tmp_path / "lake" / "default" / f"date={DAY}").glob("part-*.parquet"))
    assert {p.name.split("-", 1)[1].rsplit("-", 1)[0] for p in parts} == set(marker["manifest_ids"])
    assert marker["sealed_at"].endswith("Z")
    status = json.loads(invoke("status", "--state", str(tmp_path / "lake/_state/state.db"), "--json").output)
    (date,) = status["dates"]
    assert date["sealed"] and date["seal"]["clean"] and date["sealed_at"].endswith("Z")


def test_the_run_report_names_input_output_options_version_dates_and_quarantine(tmp_path: Path) -> None:
    day = _clean_landing(tmp_path)
    (day / "notes.txt").write_text("x")
    assert _run(tmp_path, "--workers", "1").exit_code == 0
    report = _report(tmp_path)
    assert report["version"] == __version__ and report["exit_status"] == 0
    assert report["started_at"].endswith("Z") and report["finished_at"].endswith("Z")
    assert report["context"]["input"] == str((tmp_path / "in").resolve())
    assert report["context"]["output"] == str((tmp_path / "lake").resolve())
    assert report["context"]["options"]["workers"] == 1
    assert report["dates"] == {
        f"default/{DAY}": {"files": 2, "rows_written": 3, "rows_quarantined": 1, "rejected_files": 0}
    }
    (quarantine,) = report["quarantine_files"]
    assert quarantine["lines"] == 1 and quarantine["files"] == [{"uri": str(day / "a.ndjson"), "lines": 1}]
    assert Path(quarantine["path"]).is_file()
    assert report["ingest"]["skipped_files"] == [{"path": str(day / "notes.txt"), "reason": "not an input extension"}]
    assert report["sealed"] == [
        {"dataset": "default", "date": DAY, "clean": True, "files": {"DONE": 2, "REJECTED": 0, "FAILED": 0}}
    ]


def _utf16_landing(tmp_path: Path) -> Path:
    day = _clean_landing(tmp_path)
    (day / "wide.ndjson").write_bytes('{"a": 10}\n{"a": 11}\n'.encode("utf-16"))  # rejected whole
    return day / "wide.ndjson"


def _fix_in_place(path: Path) -> None:
    """Rewrite a file as UTF-8 of the same size and mtime: the same version, now readable."""
    st = path.stat()
    text = '{"a": 10}\n{"a": 11}\n'
    path.write_bytes(text.encode().ljust(st.st_size - 1) + b"\n")
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))


def test_a_rejected_file_exits_3_and_seals_its_date_with_problems_and_no_marker(tmp_path: Path) -> None:
    wide = _utf16_landing(tmp_path)
    result = _run(tmp_path)
    assert result.exit_code == 3, result.output
    assert "outcome: problems: 1 REJECTED file(s) in this run (exit 3)" in result.output
    assert f"REJECTED: {wide}:" in result.output
    assert f"sealed: default/{DAY} (with problems: 1 REJECTED)" in result.output
    assert not (tmp_path / "lake" / "default" / f"date={DAY}" / "_SUCCESS").exists()
    state = str(tmp_path / "lake/_state/state.db")
    (date,) = json.loads(invoke("status", "--state", state, "--json").output)["dates"]
    assert date["sealed"] and date["seal"] == {
        "clean": False,
        "files": {"DONE": 2, "REJECTED": 1, "FAILED": 0},
        "manifest_ids": date["seal"]["manifest_ids"],
    }
    assert "with problems" in invoke("status", "--state", state).output
    assert _run(tmp_path).exit_code == 0  # nothing new in this run: nothing ended REJECTED in it


def test_retry_rejected_after_a_fix_converts_the_file_once_and_the_date_seals_clean(tmp_path: Path) -> None:
    wide = _utf16_landing(tmp_path)
    state = str(tmp_path / "lake/_state/state.db")
    assert _run(tmp_path).exit_code == 3
    _fix_in_place(wide)
    retried = invoke("retry", "--state", state, "--rejected")
    assert retried.exit_code == 0 and retried.output == "1 file(s) back to PENDING\n"
    assert _run(tmp_path).exit_code == 0
    assert sorted(r["a"] for r in _rows(tmp_path / "lake")) == [1, 2, 3, 10, 11]
    ledger = json.loads(invoke("ledger", str(wide), "--state", state, "--json").output)
    (version,) = ledger["versions"]
    assert (version["state"], version["rows_written"], version["rejection"]) == ("DONE", 2, None)
    assert (tmp_path / "lake" / "default" / f"date={DAY}" / "_SUCCESS").is_file()
    assert invoke("retry", "--state", state, "--rejected").output == "0 file(s) back to PENDING\n"


def test_retry_by_file_name_puts_that_rejected_file_back(tmp_path: Path) -> None:
    wide = _utf16_landing(tmp_path)
    state = str(tmp_path / "lake/_state/state.db")
    _run(tmp_path)
    _fix_in_place(wide)
    assert invoke("retry", str(wide), "--state", state).output == "1 file(s) back to PENDING\n"
    assert _run(tmp_path).exit_code == 0
    assert sorted(r["a"] for r in _rows(tmp_path / "lake")) == [1, 2, 3, 10, 11]
    done = invoke("retry", str(wide), "--state", state)
    assert done.exit_code == 1 and "is DONE: only FAILED or REJECTED files can be retried" in done.stderr


def test_status_ledger_and_verify_leave_the_state_file_untouched(tmp_path: Path) -> None:
    day = _clean_landing(tmp_path)
    assert _run(tmp_path).exit_code == 0
    state_dir = tmp_path / "lake" / "_state"
    state = state_dir / "state.db"
    before = (state.read_bytes(), state.stat().st_mtime_ns, sorted(os.listdir(state_dir)))
    assert before[2] == ["state.db"]  # the writer closed: no -wal / -shm left
    os.chmod(state_dir, 0o555)  # as on a read-only mount (root still could write: the checks below tell)
    os.chmod(state, 0o444)
    try:
        assert invoke("status", "--state", str(state), "--json").exit_code == 0
        assert invoke("ledger", str(day / "a.ndjson"), "--state", str(state)).exit_code == 0
        assert invoke("verify", "--state", str(state)).exit_code == 0
    finally:
        os.chmod(state_dir, 0o755)
        os.chmod(state, 0o644)
    assert (state.read_bytes(), state.stat().st_mtime_ns, sorted(os.listdir(state_dir))) == before


def test_date_layouts_dt_date_and_a_date_in_the_file_name(tmp_path: Path) -> None:
    landing = tmp_path / "in"
    for rel in ("dt=2025-01-03/a.ndjson", "date=2025-01-04/b.ndjson", "logs/app-2025-01-05.ndjson", "nodate.ndjson"):
        (landing / rel).parent.mkdir(parents=True, exist_ok=True)
        (landing / rel).write_text('{"a": 1}\n')
    os.utime(landing / "nodate.ndjson", (1_735_776_000, 1_735_776_000))  # 2025-01-02 UTC
    result = _run(tmp_path)
    assert result.exit_code == 0, result.output
    report = _report(tmp_path)
    assert sorted(report["dates"]) == [f"default/2025-01-0{d}" for d in (2, 3, 4, 5)]
    assert report["ingest"]["arrival_dated"] == 1 and report["ingest"]["arrival_dated_example"] == "nodate.ndjson"


def test_a_date_pattern_that_gives_no_date_leaves_the_file_out_and_exits_3(tmp_path: Path) -> None:
    landing = tmp_path / "in"
    (landing / "d=20250103").mkdir(parents=True)
    (landing / "d=20250103" / "a.ndjson").write_text('{"a": 1}\n')
    (landing / "d=20251399").mkdir()
    (landing / "d=20251399" / "b.ndjson").write_text('{"a": 2}\n')  # month 13: impossible
    (landing / "c.ndjson").write_text('{"a": 3}\n')  # no match
    pattern = r"d=(?P<year>\d{4})(?P<month>\d\d)(?P<day>\d\d)/"
    result = _run(tmp_path, "--date-pattern", pattern)
    assert result.exit_code == 3, result.output
    assert "2 undated (left out) file(s)" in result.output
    report = _report(tmp_path)
    assert sorted(report["ingest"]["undated_files"]) == sorted(
        [str(landing / "d=20251399" / "b.ndjson"), str(landing / "c.ndjson")]
    )
    assert sorted(r["a"] for r in _rows(tmp_path / "lake")) == [1]
    status = json.loads(invoke("status", "--state", str(tmp_path / "lake/_state/state.db"), "--json").output)
    assert sum(status["files"].values()) == 1  # the undated ones were never registered


def test_ingest_creates_its_state_folder(tmp_path: Path) -> None:
    _clean_landing(tmp_path)
    state = tmp_path / "new" / "folder" / "state.db"
    assert invoke("ingest", "--input", str(tmp_path / "in"), "--state", str(state)).exit_code == 0
    assert state.is_file()


def test_a_corrupt_gzip_is_named_in_the_summary_with_its_reason(tmp_path: Path) -> None:
    day = _clean_landing(tmp_path)
    whole = gzip.compress(b'{"a": 1}\n' * 100)
    (day / "broken.ndjson.gz").write_bytes(whole[: len(whole) // 2])
    result = _run(tmp_path)
    assert result.exit_code == 3 and f"REJECTED: {day / 'broken.ndjson.gz'}:" in result.output


def test_watch_writes_a_report_per_cycle_that_converted_something_and_a_rolling_summary(tmp_path: Path) -> None:
    import signal
    import threading
    import time

    day = _clean_landing(tmp_path)
    (day / "wide.ndjson").write_bytes('{"a": 10}\n'.encode("utf-16"))
    reports = tmp_path / "lake" / "_reports"

    def stop_after_two_quiet_polls() -> None:
        deadline = time.monotonic() + 60
        while not list(reports.glob("watch-*.json")) and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(0.5)  # a few idle cycles: they write nothing
        os.kill(os.getpid(), signal.SIGTERM)

    saved = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)}
    stopper = threading.Thread(target=stop_after_two_quiet_polls)
    stopper.start()
    try:
        result = invoke("watch", "--input", str(tmp_path / "in"), "--output", str(tmp_path / "lake"), "--poll", "0.1")
    finally:
        stopper.join()
        for signum, handler in saved.items():
            signal.signal(signum, handler)
    assert result.exit_code == 3, result.output  # a file ended REJECTED during the watch
    (cycle,) = reports.glob("run-*.json")  # one cycle converted something; the idle ones wrote nothing
    (rolling,) = reports.glob("watch-*.json")
    summary = json.loads(rolling.read_text())
    assert summary["cycles_converted"] == 1 and summary["reports"] == [str(cycle)]
    assert summary["totals"]["files"] == 3 and summary["totals"]["rejected_files"] == 1
    assert json.loads(cycle.read_text())["context"]["input"] == str((tmp_path / "in").resolve())


def test_ingest_with_a_date_pattern_that_gives_no_date_names_the_file_and_exits_3(tmp_path: Path) -> None:
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "c.ndjson").write_text('{"a": 3}\n')
    state = str(tmp_path / "state.db")
    pattern = r"(?P<year>\d{4})(?P<month>\d\d)(?P<day>\d\d)"
    result = invoke("ingest", "--input", str(tmp_path / "in"), "--state", state, "--date-pattern", pattern)
    assert result.exit_code == 3
    named = f"undated (no --date-pattern gives a real date), not registered: {tmp_path / 'in' / 'c.ndjson'}"
    assert named in result.output


def test_an_old_state_file_without_seal_records_is_upgraded_and_read(tmp_path: Path) -> None:
    import sqlite3

    from ndjson2parquet.state.sqlite import SqliteStore

    path = tmp_path / "state.db"
    SqliteStore(path).close()
    db = sqlite3.connect(path)
    db.execute("ALTER TABLE dates DROP COLUMN seal")  # as written before seal records existed
    db.execute("INSERT INTO dates (dataset, date, sealed_at) VALUES ('d', '2025-01-02', 5.0)")
    db.commit()
    db.close()
    read_only = SqliteStore(path, read_only=True)
    (status,) = read_only.dates()
    assert (status.sealed_at, status.seal) == (5.0, None)
    read_only.close()
    store = SqliteStore(path)
    assert store.date_status("d", "2025-01-02").seal is None  # type: ignore[union-attr]
    store.close()
