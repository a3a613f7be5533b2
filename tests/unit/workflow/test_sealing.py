"""Sealing dates: the seal record, and the `_SUCCESS` marker of clean seals only."""

from __future__ import annotations

import json
from pathlib import Path

from ndjson2parquet.config.settings import BatchPolicy
from ndjson2parquet.domain.records import FileRecord, Ledger, ObjectInfo
from ndjson2parquet.state.sqlite import SqliteStore
from ndjson2parquet.workflow.sealing import MARKER_NAME, seal_ready

DAY = "2025-01-02"
NOW = 1_800_000_000.0  # long after DAY's grace period


def _store_with_a_converted_date(tmp_path: Path, rejected: str | None = None) -> tuple[SqliteStore, str]:
    store = SqliteStore(tmp_path / "state.db")
    objects = [ObjectInfo(f"/in/{i}.ndjson", f"{i}.ndjson", "v", 9, 1.0) for i in range(2)]
    store.register([FileRecord.new("ds", DAY, obj, 1.0) for obj in objects])
    manifest = store.claim(store.pending("ds", DAY, 10).items, "test", now=NOW)
    assert manifest is not None
    running = store.start(manifest.manifest_id, "w", now=NOW)
    ledgers = {fid: Ledger(1, 0, 1, 0, ("p",), rejected if i == 0 else None) for i, fid in enumerate(manifest.file_ids)}
    store.succeed(running, "w", ["p"], ledgers, now=NOW)
    return store, manifest.manifest_id


def test_a_clean_seal_writes_the_marker_with_counts_and_manifest_ids(tmp_path: Path) -> None:
    store, manifest_id = _store_with_a_converted_date(tmp_path)
    (sealed,) = seal_ready(store, BatchPolicy(), now=NOW, output_root=tmp_path / "lake")
    assert sealed.clean and sealed.label() == f"ds/{DAY}"
    marker = json.loads((tmp_path / "lake" / "ds" / f"date={DAY}" / MARKER_NAME).read_text())
    assert marker["files"] == {"DONE": 2, "REJECTED": 0, "FAILED": 0} and marker["manifest_ids"] == [manifest_id]
    assert marker["sealed_at"] == "2027-01-15T08:00:00.000Z"


def test_a_seal_with_problems_writes_no_marker(tmp_path: Path) -> None:
    store, _ = _store_with_a_converted_date(tmp_path, rejected="corrupt gzip")
    (sealed,) = seal_ready(store, BatchPolicy(), now=NOW, output_root=tmp_path / "lake")
    assert not sealed.clean and sealed.label() == f"ds/{DAY} (with problems: 1 REJECTED)"
    assert not (tmp_path / "lake" / "ds" / f"date={DAY}" / MARKER_NAME).exists()


def test_a_late_file_reopening_the_date_removes_its_marker(tmp_path: Path) -> None:
    store, _ = _store_with_a_converted_date(tmp_path)
    seal_ready(store, BatchPolicy(), now=NOW, output_root=tmp_path / "lake")
    marker = tmp_path / "lake" / "ds" / f"date={DAY}" / MARKER_NAME
    assert marker.is_file()
    store.register([FileRecord.new("ds", DAY, ObjectInfo("/in/late.ndjson", "late.ndjson", "v", 9, 1.0), NOW)])
    assert seal_ready(store, BatchPolicy(), now=NOW, output_root=tmp_path / "lake") == []  # pending: not sealed
    assert not marker.exists()
