"""The dated price tables kept in the repository (`cost/prices/<region>.json`), one per region.

Each price carries its unit and the AWS page it comes from; the table carries the date it was read.
Prices change: the figures must be re-checked at their source before an estimate is relied on.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from importlib import resources
from typing import Any

from ..domain.errors import ConfigError

#: every price the model uses: a table missing one is refused when it is loaded, not mid-estimate
REQUIRED = (
    "lambda_gb_second_arm64",
    "lambda_request",
    "glue_dpu_hour",
    "glue_flex_dpu_hour",
    "glue_catalog_request",
    "dynamodb_write_request_unit",
    "dynamodb_read_request_unit",
    "dynamodb_wcu_hour",
    "dynamodb_rcu_hour",
    "dynamodb_storage_gb_month",
    "sfn_state_transition",
    "sqs_request",
    "s3_standard_gb_month",
    "s3_it_infrequent_gb_month",
    "s3_it_archive_instant_gb_month",
    "s3_it_monitoring_object_month",
    "s3_glacier_ir_gb_month",
    "s3_glacier_ir_transition_request",
    "s3_put_request",
    "s3_get_request",
    "cloudwatch_logs_ingest_gb",
    "cloudwatch_logs_storage_gb_month",
    "cloudwatch_metric_month",
    "cloudwatch_alarm_month",
    "xray_trace_recorded",
    "kms_key_month",
    "kms_request",
    "vpc_endpoint_az_hour",
    "vpc_endpoint_gb",
    "scheduler_invocation",
)


@dataclass(frozen=True)
class Price:
    """One list price: dollars per unit, what the unit is, and where it was read."""

    usd: float
    unit: str
    source: str


@dataclass(frozen=True)
class PriceTable:
    """A region's prices as of a date."""

    region: str
    as_of: str
    note: str
    prices: dict[str, Price]

    def __getitem__(self, name: str) -> float:
        return self.prices[name].usd


def regions() -> list[str]:
    """The regions a price table exists for."""
    folder = resources.files(__package__).joinpath("prices")
    return sorted(p.name.removesuffix(".json") for p in folder.iterdir() if p.name.endswith(".json"))


def load_prices(region: str) -> PriceTable:
    """The price table of `region`; ConfigError for a region without one or a table missing a price."""
    known = regions()
    if region not in known:
        raise ConfigError(f"no price table for region {region!r} (known: {', '.join(known)})")
    text = resources.files(__package__).joinpath("prices", f"{region}.json").read_text(encoding="utf-8")
    return parse_table(json.loads(text))


def parse_table(document: dict[str, Any]) -> PriceTable:
    """A price table from its JSON document (every price in REQUIRED, each positive, with a source)."""
    raw = document.get("prices", {})
    missing = [name for name in REQUIRED if name not in raw]
    if missing:
        raise ConfigError(f"price table {document.get('region')!r} lacks {', '.join(missing)}")
    prices = {}
    for name, entry in raw.items():
        usd = entry.get("usd")
        if not isinstance(usd, int | float) or usd <= 0 or not entry.get("source"):
            raise ConfigError(f"price {name!r} needs a positive usd and a source")
        prices[name] = Price(usd=float(usd), unit=str(entry.get("unit", "")), source=str(entry["source"]))
    return PriceTable(
        region=str(document["region"]), as_of=str(document["as_of"]), note=str(document.get("note", "")), prices=prices
    )
