"""The review's cost table (section 6.3 of the seed review), quoted, set beside our estimates.

The review's table, as printed:

    | Component      | 1K/day | 100K/day | 500K/day | Notes              |
    | Lambda         | $5     | $150     | $600     | 256MB, 10s avg     |
    | Glue (G.1X)    | $20    | $800     | $3,500   | 2 workers          |
    | DynamoDB       | $10    | $200     | $800     | Provisioned        |
    | S3             | $5     | $100     | $400     | Storage + requests |
    | Step Functions | $1     | $30      | $150     | Standard           |
    | TOTAL          | ~$41   | ~$1,280  | ~$5,450  |                    |

It states no average file size. Its only size is 1 KB a record (GLUE-PERF-003); its manifests hold
10 files (LAMBDA-PERF-001). Its S3 line ("storage + requests") fits about 1 MB a file: at 100K and
500K files a day, a PUT and a GET a file leave about $84 and $318 for storage, a month of NDJSON in
S3 Standard at 1.28 MB and 0.98 MB a file (`implied_file_mb`; its $5 at 1K a day is a floor, not a
size). We compare at 1,024 KB a file.
Its Lambda line is one invocation a file (256 MB x 10 s, x86): $625 a month at 500K a day.
"""

from __future__ import annotations

from dataclasses import dataclass

from .model import Choices, Estimate, Workload, estimate
from .prices import PriceTable

CATEGORIES = ("Lambda", "Glue", "DynamoDB", "S3", "Step Functions")
VOLUMES = (1_000, 100_000, 500_000)
#: the review's dollars a month, per volume and category, as its table prints them
REVIEW: dict[int, dict[str, float]] = {
    1_000: {"Lambda": 5, "Glue": 20, "DynamoDB": 10, "S3": 5, "Step Functions": 1},
    100_000: {"Lambda": 150, "Glue": 800, "DynamoDB": 200, "S3": 100, "Step Functions": 30},
    500_000: {"Lambda": 600, "Glue": 3_500, "DynamoDB": 800, "S3": 400, "Step Functions": 150},
}
REVIEW_TOTALS = {1_000: 41.0, 100_000: 1_280.0, 500_000: 5_450.0}
REVIEW_NOTES = {
    "Lambda": "256MB, 10s avg",
    "Glue": "G.1X, 2 workers",
    "DynamoDB": "Provisioned",
    "S3": "Storage + requests",
    "Step Functions": "Standard",
}
#: the design goal: 500,000 files a day for at most a tenth of the review's $5,450 a month
GOAL_FILES_PER_DAY = 500_000
GOAL_USD = REVIEW_TOTALS[500_000] / 10
#: the average file size we read the review as assuming (see the module's docstring)
REVIEW_FILE_KB = 1024.0


def implied_file_mb(files_per_day: int, prices: PriceTable) -> float:
    """MB a file that the review's S3 line implies: (S3 dollars - a PUT and a GET a file) / a month's storage."""
    month_files = files_per_day * 365 / 12
    requests = month_files * (prices["s3_put_request"] + prices["s3_get_request"])
    storage_gb = (REVIEW[files_per_day]["S3"] - requests) / prices["s3_standard_gb_month"]
    return storage_gb * 1024**3 / month_files / 1e6


@dataclass(frozen=True)
class Comparison:
    """One volume: the review's dollars and ours, per category and in total."""

    files_per_day: int
    review: dict[str, float]
    ours: dict[str, float]  # the review's categories, then "not in the review"
    review_total: float
    our_total: float

    @property
    def ratio(self) -> float:
        """Ours over the review's total."""
        return self.our_total / self.review_total


def compare(avg_file_kb: float, choices: Choices | None, prices: PriceTable) -> list[Comparison]:
    """The review's three volumes at `avg_file_kb`, theirs beside ours."""
    rows = []
    for volume in VOLUMES:
        est = estimate(Workload(volume, avg_file_kb), choices, prices)
        rows.append(_comparison(volume, est))
    return rows


def _comparison(volume: int, est: Estimate) -> Comparison:
    ours = {c: 0.0 for c in CATEGORIES} | est.by_category()
    return Comparison(volume, dict(REVIEW[volume]), ours, REVIEW_TOTALS[volume], est.total)


@dataclass(frozen=True)
class Scenario:
    """A set of choices and what it costs at the goal's volume."""

    label: str
    choices: Choices
    total: float

    @property
    def meets_goal(self) -> bool:
        return self.total <= GOAL_USD


def scenarios(avg_file_kb: float, prices: PriceTable, base: Choices | None = None) -> list[Scenario]:
    """At 500K files a day: from the review's shape to ours one choice at a time, then choices around ours."""
    ours = base or Choices()
    review_shape = ours.but(convert_in="glue", files_per_manifest=10, sqs_batch_size=10)
    steps = [
        ("the review's shape: Glue for every manifest, 10 files a manifest, SQS batches of 10", review_shape),
        ("  + Glue Flex (Q21)", review_shape.but(glue_flex=True)),
        ("  + conversion in Lambda (Arrow engine) below 2 GiB", review_shape.but(convert_in="auto")),
        (
            "  + manifests closed by size (max_files 10,000, 256 MiB)",
            review_shape.but(convert_in="auto", files_per_manifest=ours.files_per_manifest),
        ),
        ("  + SQS batches of 100 in a 20 s window (= ours)", ours),
        ("ours, DynamoDB provisioned (Q20)", ours.but(dynamodb="provisioned")),
        ("ours, but the landing listed at every 5-minute recover pass", ours.but(listing_every_min=5)),
        ("ours, inputs expired after 4 days (landing_expiration_days = 4)", ours.but(landing_days=4)),
        ("ours, inputs kept 12 months (Glacier IR after 90 days)", ours.but(landing_days=365)),
        ("ours, lake kept 12 months in S3 Standard", ours.but(lake_months=12)),
        ("ours, lake kept 12 months in Intelligent-Tiering (Q22)", ours.but(lake_months=12, intelligent_tiering=True)),
    ]
    return [
        Scenario(label, c, estimate(Workload(GOAL_FILES_PER_DAY, avg_file_kb), c, prices).total) for label, c in steps
    ]
