"""What the recover pass's landing listing costs per listed object, with and without its lookback:
DynamoDB requests and read units, S3 LIST pages, on moto's server (the cost model's listing figures).

Run: PYTHONPATH=src:. .venv/bin/python benchmarks/bench_listing.py [--files 2000]

`--files` objects are put into a landing prefix and registered by a first listing; then the whole
recover pass (`ScheduledRuntime.recovery`, the real DynamoDB store and S3 storage) runs three times:
without lookback (every listed object is looked up, what the pass did before the lookback), with a
lookback of 3 days at a time 30 days after the objects landed (every object is older than the window:
the landing of a deployment that keeps its inputs), and with that lookback as an operator's
``full_listing`` pass. Requests are counted by botocore event hooks; read units are estimated with
bench_intake's sizing rules. moto's timings are not AWS's: the wall time is printed, not relied on.
"""

from __future__ import annotations

import argparse
import os
import time
import uuid
from collections import Counter
from datetime import UTC, datetime
from typing import Any

os.environ.setdefault("LOG_LEVEL", "WARNING")

from benchmarks.bench_intake import PASS, ROLE, DynamoMeter
from tests.support.moto_server import MotoServer

from ndjson2parquet.aws.config import load_scheduled_settings
from ndjson2parquet.aws.runtime import AwsClients, ScheduledRuntime
from ndjson2parquet.state.dynamodb.table import create_table

DAY = 86400.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=2000)
    args = parser.parse_args()
    server = MotoServer()
    try:
        run(server, args.files)
    finally:
        server.stop()


def run(server: MotoServer, files: int) -> None:
    tag = uuid.uuid4().hex[:8]
    dynamodb, sfn, s3 = server.client("dynamodb"), server.client("stepfunctions"), server.client("s3")
    create_table(dynamodb, f"bench-{tag}")
    machine = sfn.create_state_machine(name=f"bench-{tag}", definition=PASS, roleArn=ROLE)["stateMachineArn"]
    landing, lake = f"landing-{tag}", f"lake-{tag}"
    for bucket in (landing, lake):
        s3.create_bucket(Bucket=bucket)
    day = datetime.now(UTC).date().isoformat()
    for i in range(files):
        s3.put_object(Bucket=landing, Key=f"in/{day}/part-{i:07d}.ndjson", Body=f'{{"i": {i}}}\n'.encode())
    meter = DynamoMeter(dynamodb)
    pages: Counter[str] = Counter()
    s3.meta.events.register("provide-client-params.s3.ListObjectsV2", lambda **_: pages.update(["LIST"]))

    def recovery(lookback_s: float) -> Any:
        settings = load_scheduled_settings(
            environ={},
            state=f"dynamodb://bench-{tag}",
            lake=f"s3://{lake}/out",
            landing=f"s3://{landing}/in",
            state_machine_arn=machine,
            listing_lookback_s=lookback_s,
        )
        clients = AwsClients(dynamodb=dynamodb, stepfunctions=sfn, s3=s3)
        return ScheduledRuntime(settings, clients).recovery

    later = time.time() + 30 * DAY  # past the max_wait of the registered files: the pass closes them first
    first = recovery(0).run(later)
    print(f"{files:,} objects put; a first listing registered {first.registered:,}, closed {len(first.closed)}")
    cases = (
        ("no lookback (every object looked up)", recovery(0), False),
        ("lookback 3 days, objects 30 days old", recovery(3 * DAY), False),
        ("lookback 3 days, full_listing pass", recovery(3 * DAY), True),
    )
    for label, pass_, full in cases:
        meter.reset()
        pages.clear()
        started = time.perf_counter()
        report = pass_.run(later + 60, full_listing=full)
        elapsed = time.perf_counter() - started
        requests = ", ".join(f"{op} {n}" for op, n in sorted(meter.requests.items()))
        print(
            f"{label}: listed {report.listed:,} ({report.listed_older:,} older than the window), "
            f"registered {report.registered}; LIST pages {pages['LIST']}; DynamoDB {requests}; "
            f"read units {meter.read_units / files:.2f} a listed object; {elapsed:.2f}s on moto"
        )


if __name__ == "__main__":
    main()
