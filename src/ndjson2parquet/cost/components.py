"""The month's bill line by line: each AWS service's quantities times its prices.

Quantities come per day from `model` (batching, invocations, seconds); a line is a month of them.
Each line names the review's category it belongs to, so the review's table can be set beside ours.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

from . import figures as fig

if TYPE_CHECKING:
    from .deployment import Deployment
    from .model import Batching, Choices, Counts, Workload
    from .prices import PriceTable

DAYS = 365 / 12
HOURS = 730
SECONDS = DAYS * 86400
GiB = 1024**3
NOT_IN_REVIEW = "not in the review"


@dataclass(frozen=True)
class Line:
    """One component's month: dollars, the review's category it falls under, and what was counted."""

    component: str
    category: str
    usd: float
    detail: str


def _m(per_day: float) -> float:
    """A month of a daily quantity."""
    return per_day * DAYS


def lines(w: Workload, c: Choices, plan: Batching, n: Counts, p: PriceTable, d: Deployment) -> list[Line]:
    """Every line of the month, in the order the command prints them."""
    return [
        *_lambda(n, p, d),
        *_glue(plan, c, p, d),
        *_dynamodb(w, c, plan, n, p, d),
        *_s3(w, c, plan, n, p, d),
        _step_functions(plan, p),
        _sqs(w, n, p),
        *_observability(plan, n, p, d),
        *_security_and_network(c, plan, n, p, d),
    ]


def _lambda(n: Counts, p: PriceTable, d: Deployment) -> list[Line]:
    memory = {f.name: f.memory_mb / 1024 for f in d.functions()}
    groups = {
        "Lambda: intake": ["intake"],
        "Lambda: steps (start, convert, commit)": ["start", "convert", "commit"],
        "Lambda: recover and seal (scheduled)": ["recover", "seal"],
    }
    out = []
    for label, names in groups.items():
        gb_s = sum(_m(n.seconds.get(k, 0.0)) * memory[k] for k in names)
        calls = sum(_m(n.invocations.get(k, 0.0)) for k in names)
        usd = gb_s * p["lambda_gb_second_arm64"] + calls * p["lambda_request"]
        out.append(Line(label, "Lambda", usd, f"{calls:,.0f} invocations, {gb_s:,.0f} GB-s (arm64)"))
    return out


def _glue(plan: Batching, c: Choices, p: PriceTable, d: Deployment) -> list[Line]:
    if not plan.in_glue:
        return [Line("Glue jobs", "Glue", 0.0, "no manifest above 2 GiB: every one converts in Lambda")]
    seconds = max(60.0, fig.GLUE_OVERHEAD_S.value + plan.manifest_bytes / (fig.GLUE_MB_PER_S.value * 1e6))
    dpu_hours = _m(plan.manifests_per_day) * d.glue_workers * seconds / 3600  # G.1X: 1 DPU a worker
    rate = p["glue_flex_dpu_hour"] if c.glue_flex else p["glue_dpu_hour"]
    kind = "Flex" if c.glue_flex else "standard"
    return [Line("Glue jobs", "Glue", dpu_hours * rate, f"{dpu_hours:,.0f} DPU-hours ({kind}, {seconds:,.0f} s a run)")]


def _dynamodb(w: Workload, c: Choices, plan: Batching, n: Counts, p: PriceTable, d: Deployment) -> list[Line]:
    m = plan.manifests_per_day
    wru = w.files_per_day * fig.DYNAMODB_WRU_PER_FILE.value + m * fig.DYNAMODB_WRU_PER_MANIFEST.value
    rru = w.files_per_day * fig.DYNAMODB_RRU_PER_FILE.value + m * fig.DYNAMODB_RRU_PER_MANIFEST.value
    listing_rru = n.listing_passes * n.looked_up * fig.LISTING_RRU_PER_OBJECT.value
    if c.dynamodb == "on-demand":
        work = Line(
            "DynamoDB requests (on-demand)",
            "DynamoDB",
            _m(wru) * p["dynamodb_write_request_unit"] + _m(rru) * p["dynamodb_read_request_unit"],
            f"{_m(wru) / 1e6:,.1f} M write units, {_m(rru) / 1e6:,.1f} M read units",
        )
        listing = _m(listing_rru) * p["dynamodb_read_request_unit"]
    else:
        util = d.dynamodb_target_utilisation
        wcu = max(1.0, wru / 86400 / util)
        rcu = max(1.0, rru / 86400 / util)
        work = Line(
            "DynamoDB capacity (provisioned)",
            "DynamoDB",
            HOURS * (wcu * p["dynamodb_wcu_hour"] + rcu * p["dynamodb_rcu_hour"]),
            f"{wcu:,.0f} WCU, {rcu:,.0f} RCU (the day's average at {util:.0%} utilisation)",
        )
        # a listing reads in bursts: priced here at the day's average (autoscaling must follow the burst)
        listing = HOURS * (listing_rru / 86400 / util) * p["dynamodb_rcu_hour"]
    gb = w.files_per_day * d.store.retention_days * fig.DYNAMODB_BYTES_PER_FILE.value / GiB
    return [
        work,
        Line(
            "DynamoDB reads: landing listing",
            "DynamoDB",
            listing,
            f"{_m(listing_rru) / 1e6:,.1f} M read units ({n.looked_up:,.0f} objects within the lookback, "
            f"{_m(n.listing_passes):,.0f} listings)",
        ),
        Line(
            "DynamoDB storage",
            "DynamoDB",
            gb * p["dynamodb_storage_gb_month"],
            f"{gb:,.1f} GB ({d.store.retention_days} days of records)",
        ),
    ]


def _s3(w: Workload, c: Choices, plan: Batching, n: Counts, p: PriceTable, d: Deployment) -> list[Line]:
    files, m = w.files_per_day, plan.manifests_per_day
    parts = max(1, math.ceil(plan.manifest_bytes / (256 * 1024**2)))  # ConversionOptions.target_file_bytes
    put_class = (
        files  # the producers' uploads into the landing zone
        + m * (parts + fig.S3_PUT_PER_MANIFEST.value + fig.S3_LIST_PER_MANIFEST.value)
        + m * fig.S3_DELETE_PER_MANIFEST.value  # DeleteObjects is a POST
    )
    get_class = files * (fig.S3_HEAD_PER_FILE.value + fig.S3_GET_PER_FILE.value) + m * fig.S3_GET_PER_MANIFEST.value
    lists = n.listing_passes * math.ceil(n.landing_objects / 1000)
    landing = _landing_storage(files * w.file_bytes / GiB, files, c, p, d)
    month_gb = _m(files) * w.file_bytes / fig.PARQUET_RATIO.value / GiB
    lake_usd, lake_note = _lake_storage(month_gb, _m(m) * parts, c, p)
    return [
        Line(
            "S3 requests",
            "S3",
            _m(put_class) * p["s3_put_request"] + _m(get_class) * p["s3_get_request"],
            f"{_m(put_class) / 1e6:,.2f} M PUT/LIST/POST (uploads included), {_m(get_class) / 1e6:,.2f} M GET/HEAD",
        ),
        Line(
            "S3 LIST: landing listing",
            "S3",
            _m(lists) * p["s3_put_request"],
            f"{_m(lists):,.0f} LIST requests ({n.landing_objects:,.0f} objects a listing)",
        ),
        landing,
        Line("S3 storage: lake (Parquet)", "S3", lake_usd, lake_note),
    ]


def _landing_storage(gb_a_day: float, files: float, c: Choices, p: PriceTable, d: Deployment) -> Line:
    """`landing_days` of inputs: S3 Standard until the archive age, Glacier Instant Retrieval after
    (each input moved once, a lifecycle transition request)."""
    archive = d.landing_archive_days
    standard_days = c.landing_days if archive is None else min(c.landing_days, archive)
    archived_days = c.landing_days - standard_days
    usd = (
        gb_a_day * standard_days * p["s3_standard_gb_month"]
        + gb_a_day * archived_days * p["s3_glacier_ir_gb_month"]
        + (_m(files) * p["s3_glacier_ir_transition_request"] if archived_days else 0.0)
    )
    note = f"{gb_a_day * c.landing_days:,.0f} GB, {c.landing_days} days of inputs"
    if archived_days:
        note += f" ({archived_days} of them in Glacier IR, moved after {archive} days)"
    return Line("S3 storage: landing (NDJSON)", "S3", usd, note)


def _lake_storage(month_gb: float, objects_a_month: float, c: Choices, p: PriceTable) -> tuple[float, str]:
    """Dollars for `lake_months` months of Parquet; Intelligent-Tiering: read in the first month only (Q22)."""
    months = c.lake_months
    if not c.intelligent_tiering:
        gb = month_gb * months
        return gb * p[
            "s3_standard_gb_month"
        ], f"{gb:,.0f} GB ({months} month(s) of data, ratio {fig.PARQUET_RATIO.value:g})"
    frequent = month_gb * min(months, 1)
    infrequent = month_gb * max(0, min(months, 3) - 1)
    archive = month_gb * max(0, months - 3)
    usd = (
        frequent * p["s3_standard_gb_month"]
        + infrequent * p["s3_it_infrequent_gb_month"]
        + archive * p["s3_it_archive_instant_gb_month"]
        + objects_a_month * months * p["s3_it_monitoring_object_month"]
    )
    return usd, f"{month_gb * months:,.0f} GB in Intelligent-Tiering ({months} month(s), tiers by age)"


def _step_functions(plan: Batching, p: PriceTable) -> Line:
    per = fig.SFN_TRANSITIONS_GLUE.value if plan.in_glue else fig.SFN_TRANSITIONS_LAMBDA.value
    transitions = _m(plan.manifests_per_day) * per
    return Line(
        "Step Functions (Standard)",
        "Step Functions",
        transitions * p["sfn_state_transition"],
        f"{_m(plan.manifests_per_day):,.0f} executions x {per:g} transitions",
    )


def _sqs(w: Workload, n: Counts, p: PriceTable) -> Line:
    per_receive = math.ceil(n.intake_messages * fig.SQS_MESSAGE_BYTES.value / 65536)  # billed per 64 KB chunk
    deletes = math.ceil(n.intake_messages / 10)  # DeleteMessageBatch holds 10
    idle = fig.SQS_IDLE_POLLERS.value * 86400 / 20  # long polls of 20 s that find nothing
    requests = _m(w.files_per_day + n.invocations["intake"] * (per_receive + deletes) + idle)
    return Line("SQS (queue and DLQ)", NOT_IN_REVIEW, requests * p["sqs_request"], f"{requests / 1e6:,.2f} M requests")


def _observability(plan: Batching, n: Counts, p: PriceTable, d: Deployment) -> list[Line]:
    calls = _m(sum(n.invocations.values()))
    log_gb = calls * fig.LOG_BYTES_PER_INVOCATION.value / GiB
    stored_gb = log_gb * d.log_retention_days / DAYS
    metrics = fig.CUSTOM_METRICS.value * p["cloudwatch_metric_month"] + d.alarms * p["cloudwatch_alarm_month"]
    logs = log_gb * p["cloudwatch_logs_ingest_gb"] + stored_gb * p["cloudwatch_logs_storage_gb_month"]
    # an execution's trace holds its step Lambdas; the intake's and the scheduled passes' are their own
    alone = _m(sum(n.invocations[k] for k in ("intake", "recover", "seal")))
    traces = _sampled(alone, d) + _sampled(_m(plan.manifests_per_day), d)
    scheduled = _m(1440 / d.recover_every_min + 1440 / d.seal_every_min)
    return [
        Line(
            "CloudWatch (logs, EMF metrics, alarms)",
            NOT_IN_REVIEW,
            logs + metrics,
            f"{log_gb:,.2f} GB of logs, {fig.CUSTOM_METRICS.value:g} metrics, {d.alarms} alarms",
        ),
        Line("X-Ray (sampled)", NOT_IN_REVIEW, traces * p["xray_trace_recorded"], f"{traces:,.0f} traces"),
        Line(
            "EventBridge Scheduler",
            NOT_IN_REVIEW,
            scheduled * p["scheduler_invocation"],
            f"{scheduled:,.0f} scheduled invocations",
        ),
    ]


def _sampled(requests: float, d: Deployment) -> float:
    """Traces X-Ray records of `requests` a month: a reservoir a second, then a fixed rate."""
    reservoir = min(max(0.0, requests), d.xray_sampling_per_s * SECONDS)
    return reservoir + d.xray_sampling_rate * max(0.0, requests - reservoir)


def _security_and_network(c: Choices, plan: Batching, n: Counts, p: PriceTable, d: Deployment) -> list[Line]:
    calls = _m(sum(n.invocations.values()))
    requests = calls  # at most one a cold start (Lambda environment); S3 Bucket Keys spare one per object
    if not d.s3_bucket_keys:
        requests += _m(n.invocations["intake"] * n.intake_messages * 2)
    kms = d.kms_keys * p["kms_key_month"] + requests * p["kms_request"]
    catalog = _m(plan.manifests_per_day) * fig.CATALOG_REQUESTS_PER_MANIFEST.value
    out = [
        Line("KMS", NOT_IN_REVIEW, kms, f"{d.kms_keys} key(s), at most {requests:,.0f} requests"),
        Line(
            "Glue Data Catalog",
            NOT_IN_REVIEW,
            catalog * p["glue_catalog_request"],
            f"{catalog:,.0f} requests (partition projection: no partitions to add)",
        ),
    ]
    if c.vpc:
        endpoints = len(d.interface_endpoints) * d.availability_zones
        gb = (calls * fig.XRAY_BYTES_PER_TRACE.value) / GiB
        out.append(
            Line(
                "VPC interface endpoints",
                NOT_IN_REVIEW,
                endpoints * HOURS * p["vpc_endpoint_az_hour"] + gb * p["vpc_endpoint_gb"],
                f"{', '.join(d.interface_endpoints)} in {d.availability_zones} AZs",
            )
        )
    return out
