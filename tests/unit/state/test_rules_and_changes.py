"""What each transition changes (state/rules.py), as typed change records (state/changes.py)."""

from __future__ import annotations

from dataclasses import replace

import pytest

from ndjson2parquet.domain.records import FileRecord, Ledger, Manifest, ObjectInfo
from ndjson2parquet.domain.states import FileState, ManifestState
from ndjson2parquet.state import rules
from ndjson2parquet.state.changes import KEEP, FileChange, ManifestChange


def _record(state: FileState = FileState.CLAIMED, attempts: int = 0, **kw: object) -> FileRecord:
    record = FileRecord.new("ds", "2026-11-25", ObjectInfo("s3://in/a", "a", "v1", 10, 1.0), 1_000.0)
    return replace(record, state=state, attempts=attempts, manifest_id="m1", **kw)  # type: ignore[arg-type]


def _manifest() -> Manifest:
    return Manifest("m1", "ds", "2026-11-25", ("f",), 10, ManifestState.FAILED, 1.0, 1.0, "full", error="boom")


def test_a_file_change_sets_only_the_fields_it_names_and_none_clears() -> None:
    change = FileChange("f", FileState.CLAIMED, "m1", state=FileState.PENDING, manifest_id=None, attempts=2)
    assert change.values() == {"manifest_id": None, "attempts": 2}
    assert change.moves and change.target_manifest is None
    keep = FileChange("f", FileState.CLAIMED, "m1", error="x")
    assert keep.values() == {"error": "x"} and not keep.moves and keep.target_manifest == "m1"


def test_a_manifest_change_rejects_a_field_it_does_not_know() -> None:
    with pytest.raises(TypeError):
        ManifestChange(owner="x")  # type: ignore[call-arg]
    change = ManifestChange(settled=True, expires_at=5)
    assert change.values() == {"settled": True, "expires_at": 5}
    assert change.manifest_fields() == {"settled": True}
    assert change.state is KEEP


def test_settling_a_file_ends_rejected_when_its_ledger_holds_a_rejection_else_done() -> None:
    done = rules.settle_change("f", "m1", Ledger(lines=3, rows_written=3), at=5.0, expires_at=99)
    rejected = rules.settle_change("f", "m1", Ledger(rejection="corrupt gzip"), at=5.0, expires_at=99)
    assert (done.state, rejected.state) == (FileState.DONE, FileState.REJECTED)
    assert done.values() == {"updated_at": 5.0, "expires_at": 99}
    assert (done.expect_state, done.expect_manifest) == (FileState.CLAIMED, "m1")


@pytest.mark.parametrize(("attempts", "state"), [(0, FileState.PENDING), (2, FileState.FAILED)])
def test_compensation_releases_a_file_with_one_more_attempt_or_gives_up(attempts: int, state: FileState) -> None:
    change = rules.release_change(_record(attempts=attempts), _manifest(), at=7.0, max_attempts=3)
    assert change.state == state
    assert change.values() == {
        "manifest_id": None,
        "attempts": attempts + 1,
        "ledger": Ledger(),
        "error": "boom",
        "updated_at": 7.0,
    }


def test_retrying_a_rejected_file_resets_its_ledger_and_keeps_the_reason() -> None:
    record = _record(FileState.REJECTED, attempts=2, ledger=Ledger(rejection="corrupt gzip"))
    change = rules.retry_change(record, at=8.0)
    assert change.state == FileState.PENDING
    assert change.values()["error"] == "rejected before: corrupt gzip"
    assert change.values()["ledger"] == Ledger() and change.values()["attempts"] == 0
    failed = rules.retry_change(_record(FileState.FAILED, attempts=3), at=8.0)
    assert failed.values() == {"error": None, "attempts": 0, "updated_at": 8.0, "expires_at": None}


def test_a_commit_merged_with_settling_is_one_change() -> None:
    merged = rules.merge(rules.committed(ManifestState.SUCCEEDED, ("o",), {}, 3.0), rules.settled(4.0, 9))
    assert merged.values() == {
        "state": ManifestState.SUCCEEDED,
        "lease_owner": None,
        "lease_expires_at": None,
        "updated_at": 4.0,
        "settled": True,
        "expires_at": 9,
        "outputs": ("o",),
        "stats": {},
    }
