"""The Glue Data Catalog as the lake's `Catalog`: one external Parquet table per dataset.

Partition projection on ``date`` (``yyyy-MM-dd``, from the first committed date to ``NOW``) and a
``storage.location.template`` pointing at ``<lake>/<dataset>/date=${date}``: Athena reads every date
with no crawler and no ``MSCK REPAIR``/``ADD PARTITION``. The table remembers the schema version its
columns come from (``ndjson2parquet.schema_version``), so a repeated or out-of-order commit is a no-op.

Concurrent commits: each reads the table, computes the columns and writes with ``UpdateTable``
passing the ``VersionId`` it read; Glue refuses a stale one (``ConcurrentModificationException``) and
the writer reads again, so the newest schema version wins. moto (5.2) ignores ``VersionId``: there
the last writer wins, and a table left behind is brought up to date by the next commit (its
parameter shows the older version). ``CreateTable`` racing another: ``AlreadyExistsException``, then
the update path.
"""

from __future__ import annotations

import logging
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from ..domain.errors import ConfigError, StoreUnavailable
from ..lake.catalog import (
    PARTITION_KEY,
    SCHEMA_VERSION_PARAMETER,
    Column,
    evolved_columns,
    table_columns,
    table_name,
)
from ..storage.base import Storage

log = logging.getLogger(__name__)

MAX_ROUNDS = 8  # concurrent committers of one dataset are few
DATE_FORMAT = "yyyy-MM-dd"  # Java's, for Athena's projection
PARQUET = {
    "InputFormat": "org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat",
    "OutputFormat": "org.apache.hadoop.hive.ql.io.parquet.MapredParquetOutputFormat",
    "SerdeInfo": {
        "SerializationLibrary": "org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe",
        "Parameters": {"serialization.format": "1"},
    },
}
_RETRY = frozenset({"ConcurrentModificationException", "AlreadyExistsException"})
_TRANSIENT = frozenset({"ThrottlingException", "InternalServiceException", "OperationTimeoutException"})


def dataset_location(lake: str, dataset: str) -> str:
    """``<lake>/<dataset>/``: the table's location."""
    return Storage.join(lake, dataset) + "/"


def projection_parameters(lake: str, dataset: str, first_date: str) -> dict[str, str]:
    """The table parameters that let Athena project ``date`` partitions instead of listing them."""
    return {
        "classification": "parquet",
        "EXTERNAL": "TRUE",
        "projection.enabled": "true",
        f"projection.{PARTITION_KEY}.type": "date",
        f"projection.{PARTITION_KEY}.format": DATE_FORMAT,
        f"projection.{PARTITION_KEY}.range": f"{first_date},NOW",
        f"projection.{PARTITION_KEY}.interval": "1",
        f"projection.{PARTITION_KEY}.interval.unit": "DAYS",
        "storage.location.template": dataset_location(lake, dataset) + f"{PARTITION_KEY}=${{{PARTITION_KEY}}}",
    }


def table_input(
    lake: str, dataset: str, columns: list[Column], version: int, first_date: str, parameters: dict[str, str] | None
) -> dict[str, Any]:
    """The Glue ``TableInput`` of a dataset (``parameters``: the existing table's, kept unless ours)."""
    params = {**(parameters or {}), **projection_parameters(lake, dataset, first_date)}
    params[SCHEMA_VERSION_PARAMETER] = str(version)
    return {
        "Name": table_name(dataset),
        "TableType": "EXTERNAL_TABLE",
        "Parameters": params,
        "PartitionKeys": [{"Name": PARTITION_KEY, "Type": "string"}],
        "StorageDescriptor": {
            "Columns": [{"Name": c.name, "Type": c.type} for c in columns],
            "Location": dataset_location(lake, dataset),
            **PARQUET,
        },
    }


class GlueCatalog:
    """`Catalog` over a Glue client: tables in ``database`` for the datasets of the lake ``lake``."""

    def __init__(self, client: Any, database: str, lake: str) -> None:
        self.client, self.database, self.lake = client, database, lake

    def ensure_table(self, dataset: str, schema_json: str, version: int, date: str) -> bool:
        """Create the table, or bring it to schema ``version`` / back its projection range to ``date``.

        True when it wrote. Raises `StoreUnavailable` (transient) or `ConfigError` (the database is
        missing, access denied, a name Glue refuses)."""
        wanted = table_columns(schema_json)
        for _ in range(MAX_ROUNDS):
            table = self._get(dataset)
            try:
                if table is None:
                    self._call("create_table", TableInput=table_input(self.lake, dataset, wanted, version, date, None))
                    log.info("catalog table created", extra={"dataset": dataset, "schema_version": version})
                    return True
                update = self._update_of(table, dataset, wanted, version, date)
                if update is None:
                    return False
                if table.get("VersionId"):
                    update["VersionId"] = table["VersionId"]
                self._call("update_table", **update)
                log.info("catalog table updated", extra={"dataset": dataset, "schema_version": version})
                return True
            except _Again:
                continue  # another commit wrote first: read its table and look again
        raise StoreUnavailable(f"catalog table of {dataset} kept changing under us")

    def _update_of(
        self, table: dict[str, Any], dataset: str, wanted: list[Column], version: int, date: str
    ) -> dict[str, Any] | None:
        """The UpdateTable arguments, or None when the table already holds this version and date."""
        params = dict(table.get("Parameters") or {})
        try:
            applied = int(params.get(SCHEMA_VERSION_PARAMETER, "0"))
        except ValueError:
            applied = 0
        first = str(params.get(f"projection.{PARTITION_KEY}.range", "")).split(",")[0] or date
        earlier = date < first
        if version <= applied and not earlier:
            return None
        existing = [Column(c["Name"], c["Type"]) for c in table.get("StorageDescriptor", {}).get("Columns", [])]
        columns = evolved_columns(existing, wanted) if version > applied else existing
        return {
            "TableInput": table_input(self.lake, dataset, columns, max(version, applied), min(date, first), params),
        }

    def _get(self, dataset: str) -> dict[str, Any] | None:
        try:
            return self._call("get_table", Name=table_name(dataset))["Table"]
        except _Missing:
            return None

    def _call(self, operation: str, **kwargs: Any) -> Any:
        """One Glue call with our errors: retried races as `_Again`, a missing table as `_Missing`."""
        try:
            return getattr(self.client, operation)(DatabaseName=self.database, **kwargs)
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code", "")
            if code in _RETRY:
                raise _Again from exc
            if code == "EntityNotFoundException" and operation == "get_table":
                if "database" in str(exc).lower() and "table" not in str(exc).lower():
                    raise ConfigError(f"Glue database {self.database!r} not found") from exc
                raise _Missing from exc
            if code in _TRANSIENT:
                raise StoreUnavailable(f"Glue {operation}: {exc}") from exc
            raise ConfigError(f"Glue {operation} on {self.database}: {exc}") from exc
        except BotoCoreError as exc:
            raise StoreUnavailable(f"Glue {operation}: {exc}") from exc


class _Again(Exception):
    """Another writer changed the table first."""


class _Missing(Exception):
    """No such table."""
