"""The sample generator: deterministic, complete, well-formed, and keyed by the day of its records."""

from __future__ import annotations

import datetime as dt
import gzip
import hashlib
from pathlib import Path

import orjson
import pytest

from ndjson2parquet.domain.errors import ConfigError
from ndjson2parquet.domain.partitioning import Partitioner
from ndjson2parquet.sample import DEFAULT_START, GenerateSummary, generate


def _files(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_file())


def _lines(path: Path) -> list[bytes]:
    data = path.read_bytes()
    if path.name.endswith(".gz"):
        data = gzip.decompress(data)
    return data.splitlines()


def _digest(root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest() for p in _files(root)}


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, GenerateSummary]:
    root = tmp_path_factory.mktemp("sample")
    summary = generate(root, files=31, records=2_003, days=3, seed=7, gzip_ratio=0.4)
    return root, summary


def test_same_seed_gives_identical_bytes(tmp_path: Path) -> None:
    kwargs = {"files": 9, "records": 500, "days": 2, "seed": 42, "gzip_ratio": 0.5}
    first = generate(tmp_path / "a", **kwargs)
    second = generate(tmp_path / "b", **kwargs)
    assert first.bytes == second.bytes
    assert _digest(tmp_path / "a") == _digest(tmp_path / "b")


def test_another_seed_gives_other_records(tmp_path: Path) -> None:
    generate(tmp_path / "a", files=3, records=100, days=1, seed=1)
    generate(tmp_path / "b", files=3, records=100, days=1, seed=2)
    a, b = _digest(tmp_path / "a"), _digest(tmp_path / "b")
    assert a.keys() == b.keys()  # same layout...
    assert all(a[k] != b[k] for k in a)  # ...different content


def test_counts_add_up_per_file_and_per_day(sample: tuple[Path, GenerateSummary]) -> None:
    root, summary = sample
    files = _files(root)
    assert len(files) == summary.files == 31
    per_file = [len(_lines(p)) for p in files]
    assert sum(per_file) == summary.records == 2_003
    assert max(per_file) - min(per_file) <= 1  # records split evenly
    assert sum(summary.per_day.values()) == summary.records
    assert list(summary.per_day) == ["2026-11-25", "2026-11-26", "2026-11-27"]
    assert summary.bytes == sum(p.stat().st_size for p in files)

    partitioner = Partitioner()
    counted: dict[str, int] = {}
    for path, n in zip(files, per_file, strict=True):
        day = partitioner.date_from_key(str(path.relative_to(root)))
        counted[day] = counted.get(day, 0) + n
    assert counted == dict(summary.per_day)


def test_every_line_is_an_event_object(sample: tuple[Path, GenerateSummary]) -> None:
    root, _ = sample
    seen_null_meta = seen_extra_meta = seen_empty_tags = seen_non_ascii = False
    for path in _files(root):
        for line in _lines(path):
            record = orjson.loads(line)
            assert isinstance(record, dict)
            assert set(record) == {"event_id", "ts", "type", "user", "tags", "amount", "count", "flag", "meta"}
            assert len(record["event_id"]) == 36 and record["event_id"].count("-") == 4
            assert isinstance(record["user"], dict) and isinstance(record["user"]["id"], int)
            assert isinstance(record["tags"], list)
            assert record["amount"] is None or isinstance(record["amount"], float)
            assert isinstance(record["flag"], bool)
            seen_null_meta |= record["meta"] is None
            seen_extra_meta |= bool(record["meta"]) and "experiment" in record["meta"]
            seen_empty_tags |= record["tags"] == []
            seen_non_ascii |= not (record["user"]["name"] or "").isascii()
    assert seen_null_meta and seen_extra_meta and seen_empty_tags and seen_non_ascii


def test_dates_in_keys_match_ts(sample: tuple[Path, GenerateSummary]) -> None:
    root, _ = sample
    partitioner = Partitioner()
    layouts = set()
    for path in _files(root):
        key = str(path.relative_to(root))
        layouts.add(key.split("/")[0][:5])  # "2026-", "2026", "year="
        day = partitioner.date_from_key(key)
        stamps = [orjson.loads(line)["ts"] for line in _lines(path)]
        for ts in stamps:
            parsed = dt.datetime.fromisoformat(ts)
            assert parsed.tzinfo is not None and parsed.utcoffset() == dt.timedelta(0)
            assert parsed.date().isoformat() == day
            assert len(ts) == len("2026-11-25T00:00:00.000000Z")  # always microseconds
        assert stamps == sorted(stamps)  # a file covers a slice of its day, in order
    assert layouts == {"2026-", "2026", "year="}


def test_gzip_files_really_are_gzip(sample: tuple[Path, GenerateSummary]) -> None:
    root, summary = sample
    gz = [p for p in _files(root) if p.name.endswith(".ndjson.gz")]
    plain = [p for p in _files(root) if p.name.endswith(".ndjson")]
    assert len(gz) == summary.gzip_files == int(31 * 0.4)
    assert len(gz) + len(plain) == summary.files
    for path in gz:
        assert path.read_bytes()[:2] == b"\x1f\x8b"
        assert gzip.decompress(path.read_bytes()).endswith(b"\n")
    for path in plain:
        assert path.read_bytes()[:1] == b"{"


def test_start_date_and_edge_sizes(tmp_path: Path) -> None:
    summary = generate(tmp_path / "x", files=4, records=2, days=2, start=dt.date(2024, 2, 28))
    assert dict(summary.per_day) == {"2024-02-28": 1, "2024-02-29": 1}
    assert sum(len(_lines(p)) for p in _files(tmp_path / "x")) == 2  # two files stay empty
    empty = generate(tmp_path / "y", files=2, records=0, days=1)
    assert empty.records == 0 and empty.bytes == 0 and dict(empty.per_day) == {DEFAULT_START.isoformat(): 0}
    all_gz = generate(tmp_path / "z", files=3, records=30, days=1, gzip_ratio=1.0)
    assert all_gz.gzip_files == 3


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"files": 0}, "--files"),
        ({"records": -1}, "--records"),
        ({"days": 0}, "--days"),
        ({"gzip_ratio": 1.5}, "--gzip-ratio"),
        ({"gzip_ratio": -0.1}, "--gzip-ratio"),
        ({"gzip_ratio": float("nan")}, "--gzip-ratio"),
    ],
)
def test_bad_arguments_are_config_errors(tmp_path: Path, kwargs: dict, message: str) -> None:
    with pytest.raises(ConfigError, match=message) as info:
        generate(tmp_path / "out", **kwargs)
    assert "\n" not in str(info.value)
    assert not (tmp_path / "out").exists()  # nothing written before validation


def test_output_that_is_a_file_is_a_config_error(tmp_path: Path) -> None:
    target = tmp_path / "taken"
    target.write_text("not a directory")
    with pytest.raises(ConfigError, match="not a directory"):
        generate(target, files=1, records=1)


def test_output_under_a_file_is_a_config_error(tmp_path: Path) -> None:
    (tmp_path / "taken").write_text("not a directory")
    with pytest.raises(ConfigError, match="cannot create"):
        generate(tmp_path / "taken" / "below", files=1, records=1)
