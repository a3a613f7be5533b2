"""A month of the AWS deployment in dollars, per component, for a number of files a day.

`estimate(Workload(files_per_day, avg_file_kb), Choices(...), prices)` multiplies the workload's
requests, GB-seconds and bytes (`figures`: measured or assumed, each with its source) by a dated
price table (`prices`), for the configuration the Terraform module deploys (`deployment`). Arrivals
are spread evenly over the day; one dataset; no failures (a compensated manifest runs its steps
again); free tiers are not applied.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace

from ..domain.errors import ConfigError
from . import components
from . import figures as fig
from .components import Line
from .deployment import DEPLOYMENT, Deployment
from .prices import PriceTable, load_prices

DAYS = 365 / 12  # days in an average month
MB = 1_000_000
DYNAMODB_MODES = ("on-demand", "provisioned")
# auto: the state machine's rule (Glue above 2 GiB); glue: every manifest
CONVERT_CHOICES = ("auto", "glue")
NEAR_LIMIT = 0.75  # a Lambda expected to run this share of its timeout is warned about
KEPT_DAYS_PRICED = 30  # days of inputs priced when the landing keeps them (no expiration)


@dataclass(frozen=True)
class Workload:
    """How many files land a day and their average size."""

    files_per_day: float
    avg_file_kb: float

    def __post_init__(self) -> None:
        if not all(math.isfinite(v) and v > 0 for v in (self.files_per_day, self.avg_file_kb)):
            raise ConfigError("files per day and average file size must be positive numbers")

    @property
    def file_bytes(self) -> float:
        return self.avg_file_kb * 1024


@dataclass(frozen=True)
class Choices:
    """The knobs of a deployment that move its cost (the defaults: the deployment's own)."""

    dynamodb: str = DEPLOYMENT.dynamodb_billing
    glue_flex: bool = DEPLOYMENT.glue_flex
    files_per_manifest: int = DEPLOYMENT.batch.max_files  # the batch policy's max_files
    convert_in: str = "auto"
    sqs_batch_size: int = DEPLOYMENT.sqs_batch_size
    listing_every_min: int = DEPLOYMENT.landing_listing_every_min
    # days of inputs the landing holds: its expiration, or (inputs kept) a month of them, as the
    # lake's month of Parquet: each further month kept adds its storage and its share of each listing
    landing_days: int = DEPLOYMENT.landing_expiration_days or KEPT_DAYS_PRICED
    lake_months: int = 1  # months of Parquet kept in the lake (each month kept adds its storage)
    intelligent_tiering: bool = DEPLOYMENT.lake_intelligent_tiering
    vpc: bool = DEPLOYMENT.vpc

    def __post_init__(self) -> None:
        if self.dynamodb not in DYNAMODB_MODES:
            raise ConfigError(f"DynamoDB billing must be one of {', '.join(DYNAMODB_MODES)}, not {self.dynamodb!r}")
        if self.convert_in not in CONVERT_CHOICES:
            raise ConfigError(f"convert in must be one of {', '.join(CONVERT_CHOICES)}")
        for name in ("files_per_manifest", "sqs_batch_size", "listing_every_min", "lake_months"):
            if getattr(self, name) < 1:
                raise ConfigError(f"{name.replace('_', ' ')} must be at least 1")
        if self.landing_days < 0:
            raise ConfigError("landing days must not be negative")

    def but(self, **changes: object) -> Choices:
        """These choices with some changed."""
        return replace(self, **changes)  # type: ignore[arg-type]


@dataclass(frozen=True)
class Batching:
    """How files become manifests under the batch policy."""

    files_per_manifest: float
    closed_by: str  # max_files | target_bytes | max_wait
    manifests_per_day: float
    manifest_bytes: float
    in_glue: bool


@dataclass
class Estimate:
    """A month's cost per component, with the batching it follows from and what to watch."""

    workload: Workload
    choices: Choices
    region: str
    prices_as_of: str
    batching: Batching
    lines: list[Line] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def total(self) -> float:
        return sum(line.usd for line in self.lines)

    def by_category(self) -> dict[str, float]:
        """Dollars per review category (Lambda, Glue, DynamoDB, S3, Step Functions, not in the review)."""
        totals: dict[str, float] = {}
        for line in self.lines:
            totals[line.category] = totals.get(line.category, 0.0) + line.usd
        return totals


def batching(workload: Workload, choices: Choices, deployment: Deployment = DEPLOYMENT) -> Batching:
    """Files per manifest: the first of max_files, target_bytes, or what arrives while the oldest waits."""
    policy = deployment.batch
    limits = {
        "max_files": float(choices.files_per_manifest),
        "target_bytes": float(max(1, math.floor(policy.target_bytes / workload.file_bytes))),
        # the scheduled flush closes a manifest once its oldest file waited max_wait
        "max_wait": max(1.0, workload.files_per_day * policy.max_wait_s / 86400),
    }
    closed_by = min(limits, key=lambda k: limits[k])
    files = limits[closed_by]
    manifest_bytes = files * workload.file_bytes
    in_glue = choices.convert_in == "glue" or manifest_bytes > deployment.lambda_convert_max_bytes
    return Batching(files, closed_by, workload.files_per_day / files, manifest_bytes, in_glue)


def estimate(
    workload: Workload,
    choices: Choices | None = None,
    prices: PriceTable | None = None,
    deployment: Deployment = DEPLOYMENT,
) -> Estimate:
    """The month's cost of `workload` on `deployment` with `choices`, at `prices` (default: us-east-1)."""
    choices = choices or Choices()
    prices = prices or load_prices("us-east-1")
    plan = batching(workload, choices, deployment)
    est = Estimate(workload, choices, prices.region, prices.as_of, plan)
    counts = Counts.of(workload, choices, plan, deployment, est.warnings)
    est.lines = components.lines(workload, choices, plan, counts, prices, deployment)
    return est


@dataclass
class Counts:
    """Per-day quantities the components share."""

    invocations: dict[str, float]  # Lambda function -> invocations a day
    seconds: dict[str, float]  # Lambda function -> billed seconds a day
    intake_messages: float  # messages per intake invocation
    listing_passes: float  # landing listings a day
    landing_objects: float  # objects a listing reads (LIST pages of 1,000 keys)
    looked_up: float  # of those, modified within the lookback: looked up in DynamoDB

    @classmethod
    def of(cls, w: Workload, c: Choices, plan: Batching, d: Deployment, warnings: list[str]) -> Counts:
        n, m = w.files_per_day, plan.manifests_per_day
        messages = min(float(c.sqs_batch_size), max(1.0, n / 86400 * d.sqs_batching_window_s))
        inv = {"intake": n / messages, "start": m, "commit": m, "convert": 0.0 if plan.in_glue else m}
        sec = {
            "intake": inv["intake"] * (fig.INTAKE_BASE_S.value + fig.INTAKE_S_PER_MESSAGE.value * messages),
            "start": m * fig.START_S.value,
            "commit": m * (fig.COMMIT_BASE_S.value + fig.COMMIT_S_PER_FILE.value * plan.files_per_manifest),
            "convert": inv["convert"] * convert_seconds(plan, d),
        }
        if not plan.in_glue and convert_seconds(plan, d) > NEAR_LIMIT * d.convert_timeout_s:
            warnings.append(
                f"a manifest of {plan.files_per_manifest:,.0f} files takes about {convert_seconds(plan, d):,.0f} s "
                f"to convert, near or beyond the Lambda's {d.convert_timeout_s} s: lower max_files or target_bytes"
            )
        inv["recover"] = 1440 / d.recover_every_min
        inv["seal"] = 1440 / d.seal_every_min
        listing_passes = 1440 / max(c.listing_every_min, d.recover_every_min)
        objects, looked_up = n * c.landing_days, n * lookback_days(c, d)
        listing_s = listing_seconds(objects, looked_up)
        sec["recover"] = inv["recover"] * fig.RECOVER_S.value + listing_passes * listing_s
        sec["seal"] = inv["seal"] * fig.SEAL_S.value
        if listing_s + fig.RECOVER_S.value > NEAR_LIMIT * d.recover_timeout_s:
            warnings.append(
                f"a landing listing reads {objects:,.0f} objects and looks up {looked_up:,.0f}, about "
                f"{listing_s:,.0f} s: "
                + ("beyond" if listing_s + fig.RECOVER_S.value > d.recover_timeout_s else "near")
                + f" the recover Lambda's {d.recover_timeout_s} s: the landing may hold at most "
                f"{max_landing_days(w, c, d):,.1f} days of inputs (set the storage module's landing_expiration_days, "
                "or set landing_listing_schedule to null and rely on S3's events and the DLQ)"
            )
        return cls(inv, sec, messages, listing_passes, objects, looked_up)


def lookback_days(c: Choices, d: Deployment = DEPLOYMENT) -> float:
    """Days of arrivals a listing looks up in the store: the lookback, at most what the landing holds
    (no lookback: every object)."""
    window = d.listing_lookback_s / 86400
    return min(window, c.landing_days) if window > 0 else float(c.landing_days)


def listing_seconds(objects: float, looked_up: float) -> float:
    """Seconds one landing listing takes: LIST pages of 1,000 keys, then the lookups of recent objects."""
    return objects / 1000 * fig.LISTING_SECONDS_PER_1000_KEYS.value + looked_up * fig.LISTING_SECONDS_PER_LOOKUP.value


def max_landing_days(w: Workload, c: Choices, d: Deployment = DEPLOYMENT) -> float:
    """The most days of inputs the landing may hold for one listing to end within the recover timeout."""
    spare = (
        d.recover_timeout_s
        - fig.RECOVER_S.value
        - w.files_per_day * lookback_days(c, d) * fig.LISTING_SECONDS_PER_LOOKUP.value
    )
    return max(0.0, spare / (w.files_per_day / 1000 * fig.LISTING_SECONDS_PER_1000_KEYS.value))


def convert_seconds(plan: Batching, d: Deployment = DEPLOYMENT) -> float:
    """Seconds one Lambda conversion of a manifest takes: reading overlaps converting (a read-ahead thread)."""
    vcpus = d.convert.memory_mb / fig.LAMBDA_MB_PER_VCPU.value
    scale = 2 / vcpus  # the figures were measured on 2 cores
    files, size = plan.files_per_manifest, plan.manifest_bytes
    cpu = (
        files * fig.CONVERT_S_PER_FILE_2_CORES.value * scale + size / (fig.CONVERT_MB_PER_S_2_CORES.value * MB) * scale
    )
    read = files * fig.S3_GET_LATENCY_S.value + size / (fig.S3_STREAM_MB_PER_S.value * MB)
    return fig.CONVERT_BASE_S.value + max(cpu, read)
