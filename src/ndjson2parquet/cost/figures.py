"""The workload figures the cost model multiplies by prices: each measured (and by which command) or
assumed (and why). `ndjson2parquet cost` lists them all under "assumptions".

Measured on this project's 2-core reference machine, on moto where AWS is involved: request counts
are what our code sends (moto answers like AWS for them); durations on moto are not AWS's, so every
duration below is an assumption unless it is CPU work measured locally.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Figure:
    """One number of the model, with its unit and where it comes from."""

    value: float
    unit: str
    source: str
    measured: bool

    def describe(self, name: str) -> str:
        """One line for the assumptions list."""
        kind = "measured" if self.measured else "assumed"
        return f"{name}: {self.value:g} {self.unit} ({kind}{': ' + self.source if self.source else ''})"


# a run from an S3 landing zone into an S3 lake with the DynamoDB state on moto, its files in 2 then in 10
# manifests: per file and per manifest figures separated
_LIFECYCLE = "benchmarks/bench_lifecycle.py --files 1000 --manifests 2,10"
_INTAKE = "benchmarks/bench_intake.py --files 1000 --batches 100,10 --max-files 500"
_PIPELINE = "README 'Performance': benchmarks/bench_pipeline.py --repeat 3, medians of 2026-12-01"

#: DynamoDB, the whole life of a file (registered, claimed, started, converted, committed)
DYNAMODB_WRU_PER_FILE = Figure(10.23, "write units per file", _LIFECYCLE, True)
DYNAMODB_WRU_PER_MANIFEST = Figure(29.1, "write units per manifest", _LIFECYCLE, True)
DYNAMODB_RRU_PER_FILE = Figure(2.17, "read units per file (consistent reads)", _LIFECYCLE, True)
DYNAMODB_RRU_PER_MANIFEST = Figure(12.6, "read units per manifest", _LIFECYCLE, True)
DYNAMODB_REQUESTS_PER_FILE_INTAKE = Figure(
    0.15, "DynamoDB requests per file in the intake at SQS batches of 100 (0.76 at 10)", _INTAKE, True
)
DYNAMODB_BYTES_PER_FILE = Figure(
    2048,
    "bytes of items per file kept until their TTL (file and uri items, ledger)",
    "estimated from the item sizes bench_lifecycle writes (about 10 write units per file, transactions counting twice)",
    False,
)
#: a landing object already registered and modified within the lookback, listed again: two consistent
#: BatchGetItem keys (its uri index item, then its latest version's file item; state/dynamodb/files.py
#: versions_of); an object older than the lookback is not looked up (benchmarks/bench_listing.py: 0 reads)
LISTING_RRU_PER_OBJECT = Figure(
    2.0,
    "read units per listed landing object looked up (already registered, within the lookback)",
    "benchmarks/bench_listing.py --files 2000 (2.03 a listed object without lookback, 0.03 with: the pass's "
    "other reads)",
    True,
)
LISTING_SECONDS_PER_1000_KEYS = Figure(
    0.2,
    "s per LIST page of 1,000 keys in the recover Lambda (1 vCPU)",
    "botocore parses a 1,000-key ListObjectsV2 page (252 KB) in 0.12 s on the reference machine's core, "
    "plus ~50 ms of S3 latency and our per-key Python; not measured on AWS",
    False,
)
LISTING_SECONDS_PER_LOOKUP = Figure(
    0.0003,
    "s per listed object looked up in DynamoDB (two BatchGetItem of 100 keys, ~15 ms each)",
    "AWS latencies typical of a Lambda in the region; not measured on AWS",
    False,
)
#: S3 requests (besides the producers' PUT of each input)
S3_HEAD_PER_FILE = Figure(1.0, "HEAD per file (the intake reads what S3 holds now)", _INTAKE, True)
S3_GET_PER_FILE = Figure(1.0, "GET per file (conversion)", _LIFECYCLE, True)
S3_GET_PER_MANIFEST = Figure(1.0, "GET per manifest", _LIFECYCLE, True)
S3_PUT_PER_MANIFEST = Figure(
    2.0, "PUT per manifest beyond its parts (commit record, work object; 3 measured with one part)", _LIFECYCLE, True
)
S3_LIST_PER_MANIFEST = Figure(2.0, "LIST per manifest (its own prefix, leftovers)", _LIFECYCLE, True)
S3_DELETE_PER_MANIFEST = Figure(2.0, "DeleteObjects per manifest (work objects)", _LIFECYCLE, True)
#: Step Functions: states entered by one execution, counted in aws/state_machine.asl.json
SFN_TRANSITIONS_LAMBDA = Figure(
    8,
    "state transitions per manifest converted in Lambda",
    "Start, Started, ChooseEngine, ConvertInLambda, "
    "Converted, Commit, Committed, Done: the success path of aws/state_machine.asl.json, no retries",
    True,
)
SFN_TRANSITIONS_GLUE = Figure(
    7,
    "state transitions per manifest converted in Glue",
    "Start, Started, ChooseEngine, ConvertInGlue, Commit, Committed, Done",
    True,
)
#: conversion in Lambda (the Arrow engine)
CONVERT_MB_PER_S_2_CORES = Figure(
    69.0, "MB/s of NDJSON converted on 2 cores", _PIPELINE + ": `run`, 240 MB in 20 large files, 3.48 s", True
)
CONVERT_S_PER_FILE_2_CORES = Figure(
    0.00017,
    "s of CPU per input file beyond its bytes, on 2 cores",
    _PIPELINE + ": 100,000 small files 20.7 s vs 20 large files 3.6 s for the same 240 MB",
    True,
)
LAMBDA_MB_PER_VCPU = Figure(
    1769, "MB of Lambda memory per vCPU", "AWS Lambda documentation (memory and computing power)", False
)
S3_GET_LATENCY_S = Figure(
    0.015,
    "s to first byte of a GET, one after the other (the engine reads small files on one thread)",
    "typical S3 latency in the region; not measured on AWS",
    False,
)
S3_STREAM_MB_PER_S = Figure(80.0, "MB/s of one GET stream", "typical single-stream S3 throughput; not measured", False)
CONVERT_BASE_S = Figure(0.5, "s per convert invocation (start-up, schema, commit record)", "", False)
#: the other Lambdas (not measured on AWS: moto's latencies are not AWS's)
INTAKE_BASE_S = Figure(0.2, "s per intake invocation", "", False)
INTAKE_S_PER_MESSAGE = Figure(0.005, "s per message (HEAD 8 at a time, batched writes)", "", False)
START_S = Figure(0.3, "s per start invocation", "", False)
COMMIT_BASE_S = Figure(0.3, "s per commit invocation", "", False)
COMMIT_S_PER_FILE = Figure(0.001, "s per file committed (transactions of up to 100 items)", "", False)
RECOVER_S = Figure(2.0, "s per recover pass without the landing listing", "", False)
SEAL_S = Figure(1.0, "s per seal pass", "", False)
#: Glue: the Spark engine's measured rate on local[2], scaled to one G.1X executor's 4 vCPUs
GLUE_MB_PER_S = Figure(
    22.4,
    "MB/s of NDJSON per Glue run of 2 G.1X workers",
    "`benchmarks/bench_spark.py`: Spark local[2] 11.2 MB/s on 2 cores, x 4 executor vCPUs / 2 (scaling assumed)",
    False,
)
GLUE_OVERHEAD_S = Figure(20.0, "s billed per Glue run beyond reading and writing", "", False)
#: the lake
PARQUET_RATIO = Figure(
    3.74,
    "NDJSON bytes per Parquet byte (snappy)",
    "`ndjson2parquet generate --files 20 --records 200000 --days 1` "
    "then `run`: 47.96 MB of generated events -> 12.83 MB of Parquet",
    True,
)
#: SQS, CloudWatch
SQS_MESSAGE_BYTES = Figure(1500, "bytes per S3 event message", "tests/data/events samples", False)
SQS_IDLE_POLLERS = Figure(
    5,
    "long polls (20 s) the event source mapping keeps open",
    "AWS Lambda documentation (standard queues start with five pollers)",
    False,
)
LOG_BYTES_PER_INVOCATION = Figure(
    2048,
    "bytes of log lines and EMF metrics per Lambda invocation at INFO",
    "the handlers' logs: a few JSON lines and one EMF document",
    False,
)
CUSTOM_METRICS = Figure(
    60,
    "custom metrics (EMF names x dimensions)",
    "counted from aws/ handlers: intake 9, steps ~8 x 5 steps, recovery 10, seal 6, catalog 2, scheduled 2",
    False,
)
CATALOG_REQUESTS_PER_MANIFEST = Figure(
    2,
    "Glue Data Catalog requests per manifest (GetTable, UpdateTable when the schema grew)",
    "code: aws/catalog.py",
    False,
)
XRAY_BYTES_PER_TRACE = Figure(2048, "bytes per trace sent through the X-Ray endpoint", "", False)


def all_figures() -> dict[str, Figure]:
    """Every figure of this module by name."""
    return {name.lower(): value for name, value in globals().items() if isinstance(value, Figure)}
