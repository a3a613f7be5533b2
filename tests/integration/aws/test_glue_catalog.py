"""The Glue Data Catalog kept in step with each dataset's stored schema (moto's Glue on its server):
by `GlueCatalog` directly, and by the commit step handler after the commit point."""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

import pyarrow as pa
import pytest

from ndjson2parquet.aws.catalog import GlueCatalog
from ndjson2parquet.aws.config import load_settings
from ndjson2parquet.aws.handlers.steps import StepHandlers
from ndjson2parquet.aws.observability import observability
from ndjson2parquet.aws.runtime import AwsClients, StepRuntime
from ndjson2parquet.backoff import Backoff
from ndjson2parquet.conversion.schema import schema_to_json
from ndjson2parquet.domain.errors import ConfigError
from ndjson2parquet.domain.records import FileRecord, ObjectInfo
from ndjson2parquet.domain.states import ManifestState
from ndjson2parquet.state import create_store, open_store
from tests.support.moto_aws import LambdaContext
from tests.support.moto_server import MotoServer

LAKE = "s3://lake-bucket/lake"
OURS = ["_rescued_data", "_duplicate_keys", "_source_file", "_source_line"]


def schema(*fields: tuple[str, pa.DataType]) -> str:
    return schema_to_json(pa.schema(list(fields)))


@pytest.fixture
def glue(moto: MotoServer) -> Any:
    return moto.client("glue")


@pytest.fixture
def catalog(glue: Any) -> GlueCatalog:
    database = f"lake_{uuid.uuid4().hex[:8]}"
    glue.create_database(DatabaseInput={"Name": database})
    return GlueCatalog(glue, database, LAKE)


def table(catalog: GlueCatalog, name: str = "events") -> dict[str, Any]:
    return catalog.client.get_table(DatabaseName=catalog.database, Name=name)["Table"]


def columns(found: dict[str, Any]) -> list[tuple[str, str]]:
    return [(c["Name"], c["Type"]) for c in found["StorageDescriptor"]["Columns"]]


def versions(catalog: GlueCatalog, name: str = "events") -> int:
    return len(catalog.client.get_table_versions(DatabaseName=catalog.database, TableName=name)["TableVersions"])


def test_the_first_commit_of_a_dataset_creates_its_table_with_date_projection(catalog: GlueCatalog) -> None:
    wrote = catalog.ensure_table("Events", schema(("Id", pa.string()), ("n", pa.int64())), 1, "2026-11-20")

    found = table(catalog)
    assert wrote
    assert columns(found) == [
        ("id", "string"),
        ("n", "bigint"),
        *[(n, "string") for n in OURS[:3]],
        (OURS[3], "bigint"),
    ]
    assert found["PartitionKeys"] == [{"Name": "date", "Type": "string"}]
    # the table's name is lower case; the folder keeps the dataset's own spelling (S3 keys are case-sensitive)
    assert found["StorageDescriptor"]["Location"] == f"{LAKE}/Events/"
    params = found["Parameters"]
    assert params["projection.date.range"] == "2026-11-20,NOW"
    assert params["storage.location.template"] == f"{LAKE}/Events/date=${{date}}"
    assert params["ndjson2parquet.schema_version"] == "1"


def test_a_later_schema_version_appends_its_new_columns(catalog: GlueCatalog) -> None:
    catalog.ensure_table("events", schema(("id", pa.string()), ("u", pa.struct([("a", pa.int64())]))), 1, "2026-11-20")

    later = schema(
        ("id", pa.string()), ("u", pa.struct([("a", pa.int64()), ("b", pa.bool_())])), ("tags", pa.list_(pa.string()))
    )
    assert catalog.ensure_table("events", later, 2, "2026-11-21")

    found = table(catalog)
    assert columns(found)[:2] == [("id", "string"), ("u", "struct<a:bigint,b:boolean>")]
    assert columns(found)[2:6] == [(n, t) for n, t in zip(OURS, ["string", "string", "string", "bigint"], strict=True)]
    assert columns(found)[6:] == [("tags", "array<string>")]
    assert found["Parameters"]["ndjson2parquet.schema_version"] == "2"
    assert found["Parameters"]["projection.date.range"] == "2026-11-20,NOW"  # the first date stays


def test_a_repeated_commit_changes_nothing(catalog: GlueCatalog) -> None:
    stored = schema(("id", pa.string()))
    catalog.ensure_table("events", stored, 1, "2026-11-20")

    assert not catalog.ensure_table("events", stored, 1, "2026-11-20")
    assert not catalog.ensure_table("events", stored, 1, "2026-11-22")  # a later date: already projected
    assert versions(catalog) == 1


def test_an_older_schema_version_never_overwrites_a_newer_one(catalog: GlueCatalog) -> None:
    catalog.ensure_table("events", schema(("id", pa.string()), ("n", pa.int64())), 2, "2026-11-20")

    assert not catalog.ensure_table("events", schema(("id", pa.string())), 1, "2026-11-20")

    found = table(catalog)
    assert [name for name, _ in columns(found)][:2] == ["id", "n"]
    assert found["Parameters"]["ndjson2parquet.schema_version"] == "2"


def test_an_earlier_date_moves_the_projection_start_back_keeping_the_columns(catalog: GlueCatalog) -> None:
    catalog.ensure_table("events", schema(("id", pa.string()), ("n", pa.int64())), 2, "2026-11-20")

    assert catalog.ensure_table("events", schema(("id", pa.string())), 1, "2026-11-02")

    found = table(catalog)
    assert found["Parameters"]["projection.date.range"] == "2026-11-02,NOW"
    assert found["Parameters"]["ndjson2parquet.schema_version"] == "2"
    assert [name for name, _ in columns(found)][:2] == ["id", "n"]


def test_a_missing_database_is_a_configuration_error(glue: Any) -> None:
    with pytest.raises(ConfigError, match="not found"):
        GlueCatalog(glue, "no_such_database", LAKE).ensure_table("events", schema(("id", pa.string())), 1, "2026-11-20")


# --- through the commit step handler -------------------------------------------------------------


class Lake:
    """A state table, a lake bucket and the step handlers over them, with a Glue database (or not)."""

    def __init__(self, moto: MotoServer, database: str | None) -> None:
        suffix = uuid.uuid4().hex[:8]
        self.s3, ddb, self.glue = moto.client("s3"), moto.client("dynamodb"), moto.client("glue")
        self.bucket, state = f"lake-{suffix}", f"dynamodb://state-{suffix}"
        self.s3.create_bucket(Bucket=self.bucket)
        create_store(state, client=ddb)
        self.store = open_store(state, client=ddb)
        self.database = database
        settings = load_settings(
            environ={}, state=state, lake=f"s3://{self.bucket}/lake", owner_ttl_s=120.0, glue_database=database
        )
        runtime = StepRuntime(
            settings,
            AwsClients(dynamodb=ddb, s3=self.s3, glue=self.glue),
            backoff=Backoff(base=0.01, cap=0.01, attempts=1),
        )
        self.handlers = StepHandlers(runtime=runtime, obs=observability(f"n2p-{suffix}", "n2p-test", "INFO"))

    def run_manifest(self, rows: list[dict[str, Any]], date: str = "2026-11-25") -> tuple[str, dict[str, Any]]:
        """A manifest of one object holding ``rows``, through start, convert and commit: (its id, commit's answer)."""
        key = f"landing/{date}/{uuid.uuid4().hex[:8]}.ndjson"
        body = "".join(json.dumps(r) + "\n" for r in rows).encode()
        etag = self.s3.put_object(Bucket=self.bucket, Key=key, Body=body)["ETag"].strip('"')
        now = time.time()
        record = FileRecord.new("events", date, ObjectInfo(f"s3://{self.bucket}/{key}", key, etag, len(body), now), now)
        self.store.register([record])
        manifest = self.store.claim([record], reason="max_files")
        assert manifest is not None
        execution = f"arn:aws:states:us-east-1:123456789012:execution:n2p:{manifest.manifest_id}"
        doc = self.invoke("start", {"manifest_id": manifest.manifest_id, "execution_arn": execution})
        doc = self.invoke("convert", doc)
        return manifest.manifest_id, self.invoke("commit", doc)

    def invoke(self, step: str, event: dict[str, Any]) -> dict[str, Any]:
        context = LambdaContext(f"n2p-{step}", f"arn:aws:lambda:us-east-1:123456789012:function:n2p-{step}", 256, "r")
        return self.handlers.invoke(step, event, context)

    def columns(self) -> list[str]:
        found = self.glue.get_table(DatabaseName=self.database, Name="events")["Table"]
        return [c["Name"] for c in found["StorageDescriptor"]["Columns"]]


def test_the_commit_handler_creates_the_table_then_adds_the_columns_a_later_manifest_brings(
    moto: MotoServer, aws_env: dict[str, str]
) -> None:
    database = f"lake_{uuid.uuid4().hex[:8]}"
    moto.client("glue").create_database(DatabaseInput={"Name": database})
    lake = Lake(moto, database)

    _, first = lake.run_manifest([{"id": "a", "N": 1}])
    assert first["state"] == "SUCCEEDED"
    assert lake.columns() == ["id", "n", *OURS]

    _, second = lake.run_manifest([{"id": "b", "N": 2, "extra": {"k": True}}], date="2026-11-26")
    assert second["state"] == "SUCCEEDED"
    assert lake.columns() == ["id", "n", *OURS, "extra"]


def test_a_catalog_failure_after_the_commit_point_never_fails_the_commit(
    moto: MotoServer, aws_env: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    lake = Lake(moto, "no_such_database")

    manifest_id, answer = lake.run_manifest([{"id": "a"}])

    assert answer["state"] == "SUCCEEDED"
    assert lake.store.get_manifest(manifest_id).state == ManifestState.SUCCEEDED
    out = capsys.readouterr().out
    assert "catalog not updated" in out
    assert '"CatalogSyncFailures"' in out  # the EMF metric
