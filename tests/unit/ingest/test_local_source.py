"""Listing a local landing folder."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from ndjson2parquet.domain.errors import ConfigError
from ndjson2parquet.ingest.sources import LocalSource, is_input_name


@pytest.mark.parametrize(
    ("name", "accepted"),
    [
        ("a.ndjson", True),
        ("a.JSONL", True),
        ("a.json.gz", True),
        ("a.ndjson.zst", True),
        ("a.csv", False),
        (".hidden.ndjson", False),
        ("_state.json", False),
        ("a.parquet", False),
    ],
)
def test_input_names(name: str, accepted: bool) -> None:
    assert is_input_name(name) is accepted


def test_lists_inputs_recursively_skipping_our_own_folders(tmp_path: Path) -> None:
    (tmp_path / "2026-11-25").mkdir()
    (tmp_path / "2026-11-25" / "a.ndjson").write_text('{"a":1}\n')
    (tmp_path / "_state").mkdir()
    (tmp_path / "_state" / "x.ndjson").write_text("{}\n")
    (tmp_path / "notes.txt").write_text("x")
    source = LocalSource(tmp_path)
    (obj,) = list(source.objects())
    assert obj.key == "2026-11-25/a.ndjson" and obj.size == 8
    st = os.stat(obj.uri)
    assert obj.version == f"{st.st_size}-{st.st_mtime_ns}"
    assert source.stats.skipped == 2  # _state (not entered) and notes.txt
    assert sorted((Path(e["path"]).name, e["reason"]) for e in source.stats.skipped_named) == [
        ("_state", "_-prefixed"),
        ("notes.txt", "not an input extension"),
    ]


def test_hidden_entries_and_symlinked_folders_are_skipped_counted_and_named(tmp_path: Path) -> None:
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "a.ndjson").write_text("{}\n")
    (tmp_path / "in" / ".partial.ndjson").write_text("{}\n")
    (tmp_path / "elsewhere").mkdir()
    (tmp_path / "elsewhere" / "b.ndjson").write_text("{}\n")
    (tmp_path / "in" / "linked").symlink_to(tmp_path / "elsewhere", target_is_directory=True)
    (tmp_path / "in" / "loop").symlink_to(tmp_path / "in", target_is_directory=True)
    source = LocalSource(tmp_path / "in")
    assert [o.key for o in source.objects()] == ["a.ndjson"]
    reasons = {Path(e["path"]).name: e["reason"] for e in source.stats.skipped_named}
    assert reasons == {
        ".partial.ndjson": "hidden",
        "linked": "symlink to a folder: not followed",
        "loop": "symlink to a folder: not followed",
    }
    assert source.stats.skipped == 3


def test_skipped_entries_are_all_counted_but_only_the_first_100_named(tmp_path: Path) -> None:
    for i in range(130):
        (tmp_path / f"{i}.csv").write_text("x")
    source = LocalSource(tmp_path)
    assert list(source.objects()) == []
    assert (source.stats.skipped, len(source.stats.skipped_named)) == (130, 100)


def test_a_rewritten_file_is_a_new_version(tmp_path: Path) -> None:
    f = tmp_path / "a.ndjson"
    f.write_text('{"a":1}\n')
    (first,) = LocalSource(tmp_path).objects()
    f.write_text('{"a":1}\n{"a":2}\n')
    (second,) = LocalSource(tmp_path).objects()
    assert first.version != second.version


def test_listing_is_lazy(tmp_path: Path) -> None:
    for i in range(50):
        (tmp_path / f"{i}.ndjson").write_text("{}\n")
    stream = LocalSource(tmp_path).objects()
    assert next(stream).size == 3  # a generator: nothing listed before it is asked for


@pytest.mark.parametrize("make", ["missing", "file"])
def test_a_bad_input_path_is_a_config_error(tmp_path: Path, make: str) -> None:
    path = tmp_path / "x"
    if make == "file":
        path.write_text("")
    with pytest.raises(ConfigError):
        LocalSource(path)
