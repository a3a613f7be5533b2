"""`run --engine spark`: the same state and lake as the default engine, on a Spark master (local[2] here)."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner

from ndjson2parquet.cli.main import cli
from tests.support.spark import shared_session

DAY = "2025-01-02"


@pytest.fixture(scope="module", autouse=True)
def _spark() -> None:
    shared_session()  # the CLI's session is then the tests' one (getOrCreate), started once per process


def invoke(*args: str) -> Any:
    return CliRunner().invoke(cli, list(args))


def landing(root: Path) -> Path:
    day = root / "in" / DAY
    day.mkdir(parents=True)
    for f in range(4):
        lines = [json.dumps({"id": f * 100 + i, "user": {"name": f"u{i}"}, "n": i * 1.5}) for i in range(40)]
        lines[3] = "not json"
        (day / f"f{f}.ndjson").write_text("\n".join(lines) + "\n")
    return root / "in"


def lake(root: Path) -> tuple[list[dict[str, Any]], list[dict[str, Any]], list[str]]:
    """Every row (by id), every quarantine record, and the parts' names without the manifest id."""
    parts = sorted((root / "default" / f"date={DAY}").glob("part-*.parquet"))
    rows = sorted((row for part in parts for row in pq.read_table(part).to_pylist()), key=lambda r: r["id"])
    quarantined = [json.loads(line) for q in sorted((root / "_quarantine").rglob("*.ndjson")) for line in q.open()]
    return rows, sorted(quarantined, key=lambda r: (r["source"], r["line"])), [p.name.rsplit("-", 1)[1] for p in parts]


def test_run_on_spark_gives_the_state_and_lake_of_the_arrow_engine(tmp_path: Path) -> None:
    source = landing(tmp_path)
    arrow = invoke("run", "--input", str(source), "--output", str(tmp_path / "arrow"))
    spark = invoke(
        "run", "--input", str(source), "--output", str(tmp_path / "spark"),
        "--engine", "spark", "--spark-master", "local[2]", "--spark-conf", "spark.ui.enabled=false",
    )  # fmt: skip
    assert arrow.exit_code == 0, arrow.output
    assert spark.exit_code == 0, spark.output
    (report,) = (tmp_path / "spark" / "_reports").glob("run-*.json")
    assert json.loads(report.read_text())["context"]["options"]["engine"] == "spark"
    assert lake(tmp_path / "spark") == lake(tmp_path / "arrow")
    assert len(lake(tmp_path / "spark")[1]) == 4
    ledger = invoke("ledger", str(source / DAY / "f0.ndjson"), "--state", str(tmp_path / "spark/_state/state.db"))
    assert ledger.exit_code == 0 and "39" in ledger.output


@pytest.mark.parametrize("bad", ["spark.ui.enabled", "=1"])
def test_a_malformed_spark_conf_is_a_one_line_usage_error(tmp_path: Path, bad: str) -> None:
    source = landing(tmp_path)
    result = invoke("run", "--input", str(source), "--output", str(tmp_path / "lake"), "--engine", "spark",
                    "--spark-conf", bad)  # fmt: skip
    assert result.exit_code == 2
    assert "KEY=VALUE" in result.output
    assert not (tmp_path / "lake").exists()


def test_spark_options_without_the_spark_engine_are_a_one_line_error(tmp_path: Path) -> None:
    source = landing(tmp_path)
    result = invoke("run", "--input", str(source), "--output", str(tmp_path / "lake"), "--spark-master", "local[1]")
    assert result.exit_code == 1
    assert result.output.strip().splitlines() == ["error: --spark-master and --spark-conf go with --engine spark"]


def test_run_on_spark_with_an_s3_lake_and_a_dynamodb_state(aws_env: dict[str, str], moto: Any, tmp_path: Path) -> None:
    """What a user who outgrew one machine runs: the AWS state and an S3 lake, the conversion on Spark (the
    executors reach S3 at the endpoint the driver found, with its keys)."""
    import uuid

    bucket, table = f"lake-{uuid.uuid4().hex[:8]}", f"state-{uuid.uuid4().hex[:8]}"
    moto.client("s3").create_bucket(Bucket=bucket)
    assert invoke("init-state", "--state", f"dynamodb://{table}").exit_code == 0
    source = landing(tmp_path)
    result = invoke("run", "--input", str(source), "--output", f"s3://{bucket}/lake", "--state",
                    f"dynamodb://{table}", "--engine", "spark")  # fmt: skip
    assert result.exit_code == 0, result.output
    s3 = moto.client("s3")
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=bucket, Prefix="lake/").get("Contents", [])]
    parts = [k for k in keys if k.rsplit("/", 1)[-1].startswith("part-")]
    assert parts and any("_quarantine" in k for k in keys)
    rows = [pq.read_table(io.BytesIO(s3.get_object(Bucket=bucket, Key=k)["Body"].read())).num_rows for k in parts]
    assert sum(rows) == 4 * 39
    assert not [k for k in keys if ".slice-" in k]  # no quarantine fragment left behind
