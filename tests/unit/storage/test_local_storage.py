"""LocalStorage: atomic publication, ranged and streamed reads, listing, deletion, gone files."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from ndjson2parquet.domain.errors import ObjectGone
from ndjson2parquet.storage import open_storage
from ndjson2parquet.storage.local import LocalStorage


def test_open_storage_gives_local_storage_for_a_path() -> None:
    assert isinstance(open_storage("/tmp/lake"), LocalStorage)
    assert isinstance(open_storage("relative/lake"), LocalStorage)


def test_write_bytes_creates_folders_and_leaves_no_temp_file(tmp_path: Path) -> None:
    target = tmp_path / "a" / "b" / "x.json"
    LocalStorage().write_bytes(str(target), b"one")
    LocalStorage().write_bytes(str(target), b"two")
    assert target.read_bytes() == b"two"
    assert os.listdir(target.parent) == ["x.json"]


def test_open_write_publishes_on_success_and_discards_on_error(tmp_path: Path) -> None:
    storage = LocalStorage()
    target = tmp_path / "p" / "part.parquet"
    with storage.open_write(str(target)) as out:
        out.write(b"whole")
        assert not target.exists()  # not visible before the block ends
    assert target.read_bytes() == b"whole"
    with pytest.raises(RuntimeError), storage.open_write(str(target)) as out:
        out.write(b"half")
        raise RuntimeError("boom")
    assert target.read_bytes() == b"whole"
    assert os.listdir(target.parent) == ["part.parquet"]


def test_reads_ranges_and_streams(tmp_path: Path) -> None:
    path = tmp_path / "in.ndjson"
    path.write_bytes(b"0123456789")
    storage = LocalStorage()
    assert storage.read_bytes(str(path)) == b"0123456789"
    assert storage.read_bytes(str(path), 3, 4) == b"3456"
    assert storage.read_bytes(str(path), 8) == b"89"
    with storage.open_read(str(path)) as stream:
        assert stream.read(2) == b"01"
        assert stream.read() == b"23456789"


def test_a_missing_file_is_object_gone_and_has_no_info(tmp_path: Path) -> None:
    storage = LocalStorage()
    missing = str(tmp_path / "gone.ndjson")
    with pytest.raises(ObjectGone):
        storage.read_bytes(missing)
    with pytest.raises(ObjectGone), storage.open_read(missing):
        pass
    assert storage.info(missing) is None
    assert storage.info(str(tmp_path)) is None  # a folder is not an object


def test_info_gives_size_and_the_local_version(tmp_path: Path) -> None:
    path = tmp_path / "x"
    path.write_bytes(b"abc")
    found = LocalStorage().info(str(path))
    assert found is not None
    st = path.stat()
    assert (found.size, found.version) == (3, f"{st.st_size}-{st.st_mtime_ns}")


def test_list_is_recursive_and_delete_ignores_absent_files(tmp_path: Path) -> None:
    for name in ("a/1", "a/b/2", "c/3", "a/.hidden"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_bytes(b"x")
    storage = LocalStorage()
    found = sorted(o.url for o in storage.list(str(tmp_path / "a")))
    assert found == sorted(str(tmp_path / n) for n in ("a/1", "a/b/2", "a/.hidden"))
    assert list(storage.list(str(tmp_path / "nowhere"))) == []
    storage.delete([*found, str(tmp_path / "never")])
    assert list(storage.list(str(tmp_path / "a"))) == []
    assert (tmp_path / "c/3").exists()


def test_publish_file_moves_a_finished_file_into_place(tmp_path: Path) -> None:
    staged = tmp_path / ".staged"
    staged.write_bytes(b"done")
    target = tmp_path / "d" / "final"
    LocalStorage().publish_file(str(staged), str(target))
    assert target.read_bytes() == b"done" and not staged.exists()


def test_join_uses_slashes_for_paths_and_urls() -> None:
    assert LocalStorage.join("/lake/", "_manifests", "d/") == "/lake/_manifests/d"
    assert LocalStorage.join("s3://b/lake", "x") == "s3://b/lake/x"


def test_copy_streams_the_bytes_to_a_new_folder_and_replaces_an_earlier_copy(tmp_path: Path) -> None:
    storage = LocalStorage()
    source = tmp_path / "in" / "big.bin"
    source.parent.mkdir()
    data = os.urandom(3 * 1024 * 1024 + 5)  # more than one streamed piece
    source.write_bytes(data)
    target = tmp_path / "q" / "_rejected" / "m" / "big.bin"
    storage.copy(str(source), str(target))
    storage.copy(str(source), str(target))  # again: the same object, replaced whole
    assert target.read_bytes() == data
    assert os.listdir(target.parent) == ["big.bin"]  # no temp file left


def test_copying_a_missing_file_is_object_gone_and_writes_nothing(tmp_path: Path) -> None:
    target = tmp_path / "q" / "x"
    with pytest.raises(ObjectGone):
        LocalStorage().copy(str(tmp_path / "absent"), str(target))
    assert not target.exists()
