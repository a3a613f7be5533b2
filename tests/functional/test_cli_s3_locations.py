"""s3:// locations on the command line: what is refused before any S3 call, and how S3 inputs are read."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from ndjson2parquet.cli.main import cli


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
