"""What a file's whole life costs in requests: DynamoDB requests and capacity units, S3 requests, per
file and per manifest, for `ndjson2parquet run` from an S3 landing zone into an S3 lake with the
DynamoDB state, on moto's server (the figures the cost model, `ndjson2parquet cost`, uses).

Run: PYTHONPATH=src:. .venv/bin/python benchmarks/bench_lifecycle.py [--files 1000] [--manifests 1,10]

Then the landing prefix is listed and registered again (what recovery's listing costs once every
object is known). The embedded run does what the AWS deployment does, in one process: registration (here by a listing
of the landing prefix, where AWS registers by the intake's S3 HEAD; see bench_intake.py), the claim,
start, convert and commit steps against the same store and lake code. Each run's files are split into
the given numbers of manifests, so per-manifest and per-file costs separate: with totals T1 for m1
manifests and T2 for m2, per manifest = (T2 - T1) / (m2 - m1), per file = (T1 - m1 * per manifest) / files.
Requests are counted by botocore event hooks on boto3's default session; capacity units are estimated
with bench_intake's sizing rules. Nothing is asserted; moto measures our code, not AWS's latency.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import uuid
from collections import Counter
from datetime import UTC, datetime
from typing import Any

os.environ.setdefault("LOG_LEVEL", "WARNING")

import boto3
from benchmarks.bench_intake import DynamoMeter
from click.testing import CliRunner
from tests.support.moto_server import REGION, MotoServer

from ndjson2parquet.cli.main import cli


class _NoEvents:
    """An event emitter that ignores registrations: the meter is hooked to each client as it is built."""

    def register(self, *_: Any) -> None:
        pass


class _Events:
    """A stand-in with `meta.events` (what DynamoMeter registers on)."""

    def __init__(self, events: Any) -> None:
        self.meta = type("Meta", (), {"events": events})()


def run_once(server: MotoServer, files: int, manifests: int) -> tuple[Counter[str], float, float, Counter[str]]:
    """DynamoDB requests, write and read units, and S3 requests of one run of `files` in `manifests`."""
    tag = uuid.uuid4().hex[:8]
    s3 = server.client("s3")
    landing, lake = f"landing-{tag}", f"lake-{tag}"
    s3.create_bucket(Bucket=landing)
    s3.create_bucket(Bucket=lake)
    day = datetime.now(UTC).date().isoformat()
    for i in range(files):
        body = "".join(f'{{"id": {i * 10 + j}, "kind": "event", "value": {j}.5}}\n' for j in range(10))
        s3.put_object(Bucket=landing, Key=f"in/{day}/part-{i:07d}.ndjson", Body=body.encode())
    meter = DynamoMeter(_Events(_NoEvents()))
    s3_requests: Counter[str] = Counter()

    def count_s3(model: Any, **_: Any) -> None:
        s3_requests[model.name] += 1

    original = boto3.session.Session.client

    def client(self: Any, service: str, *a: Any, **k: Any) -> Any:
        built = original(self, service, *a, **k)
        if service == "dynamodb":
            built.meta.events.register("provide-client-params.dynamodb.*", meter._request)
            built.meta.events.register("after-call.dynamodb.*", meter._response)
        elif service == "s3":
            built.meta.events.register("provide-client-params.s3.*", count_s3)
        return built

    boto3.session.Session.client = client  # type: ignore[method-assign]
    state = f"dynamodb://state-{tag}"
    runner = CliRunner()
    with contextlib.redirect_stderr(io.StringIO()):
        runner.invoke(cli, ["init-state", "--state", state], catch_exceptions=False)
        meter.reset()
        s3_requests.clear()
        per_manifest = -(-files // manifests)
        result = runner.invoke(
            cli,
            [
                "run",
                "--input",
                f"s3://{landing}/in",
                "--output",
                f"s3://{lake}/out",
                "--state",
                state,
                "--max-files",
                str(per_manifest),
                "--workers",
                "1",
                "--json",
            ],
            catch_exceptions=False,
        )
    if result.exit_code != 0:
        raise SystemExit(f"run failed ({result.exit_code}): {result.output[-2000:]}")
    done = Counter(meter.requests), meter.write_units, meter.read_units, Counter(s3_requests)
    # what recovery's landing listing costs once every object is registered: list and register again
    meter.reset()
    s3_requests.clear()
    with contextlib.redirect_stderr(io.StringIO()):
        runner.invoke(cli, ["ingest", "--input", f"s3://{landing}/in", "--state", state], catch_exceptions=False)
    boto3.session.Session.client = original  # type: ignore[method-assign]
    print(
        f"listing {files:,} registered objects again: DynamoDB "
        + ", ".join(f"{op} {n}" for op, n in sorted(meter.requests.items()))
        + f"; read units {meter.read_units / files:.2f} a listed object, write units {meter.write_units:,.0f}; S3 "
        + ", ".join(f"{op} {n}" for op, n in sorted(s3_requests.items()))
    )
    return done


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=1000)
    parser.add_argument("--manifests", default="1,10", help="two manifest counts, comma-separated")
    args = parser.parse_args()
    server = MotoServer()
    for name, value in (
        ("AWS_ENDPOINT_URL_DYNAMODB", server.endpoint_url),
        ("AWS_ENDPOINT_URL_S3", server.endpoint_url),
        ("AWS_DEFAULT_REGION", REGION),
        ("AWS_ACCESS_KEY_ID", "testing"),
        ("AWS_SECRET_ACCESS_KEY", "testing"),
    ):
        os.environ[name] = value
    try:
        m1, m2 = (int(m) for m in args.manifests.split(","))
        results = {m: run_once(server, args.files, m) for m in (m1, m2)}
        for m, (requests, wcu, rcu, s3) in results.items():
            print(f"{args.files:,} files in {m} manifest(s):")
            print(
                f"  DynamoDB requests {sum(requests.values()):,} ("
                + ", ".join(f"{op} {n}" for op, n in sorted(requests.items()))
                + f"); write units {wcu:,.0f}, read units {rcu:,.0f}"
            )
            print("  S3 requests " + ", ".join(f"{op} {n}" for op, n in sorted(s3.items())))
        (r1, w1, c1, s1), (r2, w2, c2, s2) = results[m1], results[m2]

        def split(t1: float, t2: float) -> tuple[float, float]:
            per_manifest = (t2 - t1) / (m2 - m1)
            return (t1 - m1 * per_manifest) / args.files, per_manifest

        for label, t1, t2 in (
            ("DynamoDB requests", sum(r1.values()), sum(r2.values())),
            ("DynamoDB write units", w1, w2),
            ("DynamoDB read units", c1, c2),
            ("S3 requests", sum(s1.values()), sum(s2.values())),
        ):
            per_file, per_manifest = split(t1, t2)
            print(f"{label}: {per_file:.2f} per file + {per_manifest:.1f} per manifest")
        for op in sorted(set(s1) | set(s2)):
            per_file, per_manifest = split(s1[op], s2[op])
            print(f"  S3 {op}: {per_file:.2f} per file + {per_manifest:.1f} per manifest")
    finally:
        server.stop()


if __name__ == "__main__":
    main()
