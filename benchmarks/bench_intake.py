"""Intake figures on moto's server: files per second through the intake handler, and what each file
costs in DynamoDB requests and capacity units (what drives the AWS bill of the intake).

Run: PYTHONPATH=src:. .venv/bin/python benchmarks/bench_intake.py [--files 2000] [--batches 10,100]

S3 event notifications (one object a message, as S3 sends them) are handed to the real handler in
SQS batches of each size; a second pass delivers every event again (SQS is at-least-once). The
requests are counted with a botocore event hook on the store's client; capacity units are
estimated from the items sent and received with DynamoDB's sizing rules (moto reports none): a
write unit per started KB of each item written (twice in a transaction), a read unit per started
4 KB read consistently. Each GSI an item is projected into costs writes of its own: not counted.
Figures on moto measure our code and moto, not DynamoDB's latency; nothing is asserted.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import math
import os
import time
import uuid
from collections import Counter
from datetime import UTC, datetime
from typing import Any

os.environ.setdefault("LOG_LEVEL", "WARNING")  # before the handler module builds its logger

from tests.support.moto_server import MotoServer
from tests.support.sqs_poller import FakeLambdaContext, lambda_sqs_record

from ndjson2parquet.aws.handlers import intake as handler_module
from ndjson2parquet.config.settings import AwsSettings, BatchPolicy, IntakeSettings
from ndjson2parquet.state.dynamodb.table import create_table

PASS = json.dumps({"StartAt": "Done", "States": {"Done": {"Type": "Pass", "End": True}}})
ROLE = "arn:aws:iam::123456789012:role/bench"


def value_size(value: dict[str, Any]) -> int:
    """Bytes of one AttributeValue by DynamoDB's rules (numbers approximated by their digits)."""
    kind, inner = next(iter(value.items()))
    if kind == "S":
        return len(inner.encode())
    if kind == "N":
        return len(inner.lstrip("-").replace(".", "")) // 2 + 2
    if kind == "B":
        return len(inner) if isinstance(inner, bytes | bytearray) else len(inner) * 3 // 4
    if kind in ("BOOL", "NULL"):
        return 1
    if kind in ("SS", "NS", "BS"):
        return sum(value_size({kind[0]: v}) for v in inner)
    if kind == "L":
        return 3 + sum(1 + value_size(v) for v in inner)
    if kind == "M":
        return 3 + sum(len(k.encode()) + 1 + value_size(v) for k, v in inner.items())
    return 1


def item_size(item: dict[str, Any]) -> int:
    """Bytes of one item: its attribute names and values."""
    return sum(len(name.encode()) + value_size(value) for name, value in item.items())


class DynamoMeter:
    """Counts a DynamoDB client's requests by operation and estimates the capacity units they use."""

    def __init__(self, client: Any) -> None:
        self.requests: Counter[str] = Counter()
        self.write_units = 0.0
        self.read_units = 0.0
        client.meta.events.register("provide-client-params.dynamodb.*", self._request)
        client.meta.events.register("after-call.dynamodb.*", self._response)

    def reset(self) -> None:
        self.requests.clear()
        self.write_units = self.read_units = 0.0

    def _request(self, params: dict[str, Any], model: Any, **_: Any) -> None:
        op = model.name
        self.requests[op] += 1
        if op == "PutItem":
            self.write_units += _wcu(params["Item"])
        elif op in ("UpdateItem", "DeleteItem"):
            self.write_units += _wcu(params["Key"], params.get("ExpressionAttributeValues", {}))
        elif op == "BatchWriteItem":
            for requests in params["RequestItems"].values():
                for req in requests:
                    put = req.get("PutRequest")
                    self.write_units += _wcu(put["Item"]) if put else 1
        elif op == "TransactWriteItems":
            for entry in params["TransactItems"]:
                (kind, body), *_ = entry.items()
                if kind == "Put":
                    units = _wcu(body["Item"])
                elif kind == "ConditionCheck":
                    units = 1  # a condition check reads: DynamoDB bills it as a transactional write
                else:
                    units = _wcu(body["Key"], body.get("ExpressionAttributeValues", {}))
                self.write_units += 2 * units

    def _response(self, parsed: dict[str, Any], model: Any, **_: Any) -> None:
        op = model.name
        if op == "GetItem" and "Item" in parsed:
            self.read_units += math.ceil(max(1, item_size(parsed["Item"])) / 4096)
        elif op == "BatchGetItem":
            for items in parsed.get("Responses", {}).values():
                self.read_units += sum(math.ceil(max(1, item_size(i)) / 4096) for i in items)
        elif op in ("Query", "Scan"):
            self.read_units += math.ceil(max(1, sum(item_size(i) for i in parsed.get("Items", []))) / 4096)


def _wcu(*parts: dict[str, Any]) -> int:
    """Write units of an item whose attributes include these (an update's values: a lower bound)."""
    return max(1, math.ceil(sum(item_size(p) for p in parts) / 1024))


class RequestCounter:
    """Counts a client's requests by operation (a botocore event hook)."""

    def __init__(self, client: Any) -> None:
        self.requests: Counter[str] = Counter()
        client.meta.events.register("provide-client-params.*.*", self._count)

    def _count(self, model: Any, **_: Any) -> None:
        self.requests[model.name] += 1


def notification(bucket: str, key: str, etag: str, size: int, n: int) -> str:
    """One S3 ObjectCreated:Put notification body, as S3 enqueues it."""
    record = {
        "eventVersion": "2.1",
        "eventSource": "aws:s3",
        "awsRegion": "us-east-1",
        "eventTime": datetime.now(UTC).isoformat().replace("+00:00", "Z"),
        "eventName": "ObjectCreated:Put",
        "s3": {
            "s3SchemaVersion": "1.0",
            "bucket": {"name": bucket, "arn": f"arn:aws:s3:::{bucket}"},
            "object": {"key": key, "size": size, "eTag": etag, "sequencer": f"{n:018X}"},
        },
    }
    return json.dumps({"Records": [record]})


def run(server: MotoServer, files: int, batch: int, max_files: int) -> None:
    tag = uuid.uuid4().hex[:8]
    dynamodb, sfn, s3 = server.client("dynamodb"), server.client("stepfunctions"), server.client("s3")
    create_table(dynamodb, f"bench-{tag}")
    machine = sfn.create_state_machine(name=f"bench-{tag}", definition=PASS, roleArn=ROLE)["stateMachineArn"]
    meter = DynamoMeter(dynamodb)
    settings = IntakeSettings(
        aws=AwsSettings(state=f"dynamodb://bench-{tag}", state_machine_arn=machine),
        landing=f"s3://landing-{tag}/in",
        batch=BatchPolicy(max_files=max_files),
    )
    intake = handler_module.build_intake(settings, dynamodb=dynamodb, stepfunctions=sfn, s3=s3)
    handler_module.use(intake)
    day, bucket = datetime.now(UTC).date().isoformat(), f"landing-{tag}"
    s3.create_bucket(Bucket=bucket)
    bodies = []
    for i in range(files):  # the objects exist: the intake HEADs each one an event names
        key, data = f"in/{day}/part-{i:07d}.ndjson", f'{{"i": {i}}}\n'.encode()
        etag = s3.put_object(Bucket=bucket, Key=key, Body=data)["ETag"].strip('"')
        bodies.append(notification(bucket, key, etag, len(data), i))
    s3_requests = RequestCounter(s3)
    print(f"batches of {batch} messages, manifests of {max_files} files:")
    for label in ("first delivery", "delivered again"):
        meter.reset()
        s3_requests.requests.clear()
        started = time.perf_counter()
        failed = 0
        with contextlib.redirect_stdout(io.StringIO()):  # the handler's EMF lines
            for start in range(0, files, batch):
                records = [
                    lambda_sqs_record(f"{label[0]}{start + j}", body)
                    for j, body in enumerate(bodies[start : start + batch])
                ]
                failed += len(handler_module.handler({"Records": records}, FakeLambdaContext())["batchItemFailures"])
        elapsed = time.perf_counter() - started
        executions = len(sfn.list_executions(stateMachineArn=machine)["executions"])
        per_file = ", ".join(f"{op} {n / files:.3f}" for op, n in sorted(meter.requests.items()))
        print(
            f"  {label:16s} {files:,} files in {elapsed:.2f}s = {files / elapsed:,.0f} files/s; failed {failed}; "
            f"executions so far {executions}"
        )
        print(f"    DynamoDB requests per file: {sum(meter.requests.values()) / files:.3f} ({per_file})")
        print(
            f"    capacity units per file (estimated): write {meter.write_units / files:.2f}, "
            f"read {meter.read_units / files:.2f}; S3 requests per file: "
            + (", ".join(f"{op} {n / files:.2f}" for op, n in sorted(s3_requests.requests.items())) or "none")
        )
    handler_module.use(None)
    intake.store.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=2000)
    parser.add_argument("--batches", default="10,100", help="SQS batch sizes to try, comma-separated")
    parser.add_argument("--max-files", type=int, default=500, help="files per manifest")
    args = parser.parse_args()
    server = MotoServer()
    try:
        for batch in (int(b) for b in args.batches.split(",")):
            run(server, args.files, batch, args.max_files)
    finally:
        server.stop()


if __name__ == "__main__":
    main()
