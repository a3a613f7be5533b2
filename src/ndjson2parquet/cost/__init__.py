"""What the AWS deployment costs a month: a model over measured request counts and a dated price table.

`estimate(Workload(files_per_day, avg_file_kb), Choices(...))` → `Estimate` (lines per component);
`review.compare(...)` sets the review's table (section 6.3) beside ours; `ndjson2parquet cost` prints both.
"""

from .components import Line
from .deployment import DEPLOYMENT, Deployment, LambdaFunction
from .model import Choices, Estimate, Workload, batching, estimate
from .prices import PriceTable, load_prices, regions

__all__ = [
    "DEPLOYMENT",
    "Choices",
    "Deployment",
    "Estimate",
    "LambdaFunction",
    "Line",
    "PriceTable",
    "Workload",
    "batching",
    "estimate",
    "load_prices",
    "regions",
]
