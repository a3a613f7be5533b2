"""s3:// locations on the command line: what is refused before any S3 call, and how S3 inputs are read."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from ndjson2parquet.cli.main import cli
from ndjson2parquet.cli.pipeline_commands import s3_opener
from ndjson2parquet.domain.errors import InputError, ObjectGone, Throttled
from ndjson2parquet.storage.local import LocalStorage


def test_an_s3_output_without_state_is_a_one_line_error(tmp_path: Path) -> None:
    (tmp_path / "in").mkdir()
    result = CliRunner().invoke(cli, ["run", "--input", str(tmp_path / "in"), "--output", "s3://bucket/lake"])
    assert result.exit_code == 1
    assert "give --state" in result.output and len(result.output.strip().splitlines()) == 1
    assert not (Path.cwd() / "s3:").exists()


def test_recover_with_an_s3_output_needs_a_state(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["recover", "--output", "s3://bucket/lake"])
    assert result.exit_code == 1 and "give --state" in result.output


def test_a_local_quarantine_inside_the_input_is_still_refused_with_an_s3_output(tmp_path: Path) -> None:
    (tmp_path / "in").mkdir()
    args = ["run", "--input", str(tmp_path / "in"), "--output", "s3://bucket/lake"]
    args += ["--quarantine", str(tmp_path / "in" / "q"), "--state", str(tmp_path / "s.db")]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 1 and "inside the input folder" in result.output


class _Failing(LocalStorage):
    def __init__(self, error: Exception) -> None:
        self.error = error

    def read_bytes(self, url: str, start: int = 0, length: int | None = None) -> bytes:
        raise self.error


def test_a_gone_s3_input_is_an_input_error_and_a_throttled_one_stays_transient() -> None:
    with pytest.raises(InputError, match="input not found"):
        s3_opener(_Failing(ObjectGone("gone", uri="s3://b/k")))("s3://b/k")
    with pytest.raises(Throttled):
        s3_opener(_Failing(Throttled("slow down")))("s3://b/k")
