"""S3 throughput: `ndjson2parquet run` from an S3 landing zone into an S3 lake on a moto server, beside
the same run on local folders.

moto is a Python server on loopback: the figures measure our client path plus moto's own cost (one
core of the two serves every request), not what AWS gives: they show what S3 adds per file and per
byte, and catch a regression in how our S3 path performs.

    .venv/bin/python benchmarks/bench_s3.py [--files 400] [--records 200000] [--repeat 2]
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import boto3
from moto.server import ThreadedMotoServer

from ndjson2parquet.sample.generator import generate

BATCH = ["--workers", "2", "--grace-hours", "0", "--max-files", "1000"]


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _run(args: list[str], env: dict[str, str]) -> tuple[float, dict]:
    began = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "ndjson2parquet", "run", *args, "--json"], env=env, capture_output=True
    )
    seconds = time.perf_counter() - began
    if done.returncode != 0:
        raise SystemExit(f"run failed ({done.returncode}): {done.stderr.decode()[-2000:]}")
    return seconds, json.loads(done.stdout)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=400)
    parser.add_argument("--records", type=int, default=200_000)
    parser.add_argument("--repeat", type=int, default=2)
    opts = parser.parse_args()

    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # one access-log line per request otherwise
    port = _free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    endpoint = f"http://127.0.0.1:{port}"
    env = {
        **os.environ,
        "AWS_ENDPOINT_URL": endpoint,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_CONFIG_FILE": os.devnull,
        "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
        "NDJSON2PARQUET_SETTLE_SECONDS": "0",
    }
    s3 = boto3.client(
        "s3", endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id="t", aws_secret_access_key="t"
    )
    work = Path(tempfile.mkdtemp(prefix="bench-s3-"))
    try:
        landing = work / "in"
        generate(landing, files=opts.files, records=opts.records, days=2, seed=11, gzip_ratio=0.25)
        paths = sorted(p for p in landing.rglob("*") if p.is_file())
        size = sum(p.stat().st_size for p in paths)
        print(f"{len(paths)} files, {opts.records:,} records, {size / 1e6:.1f} MB; moto on {endpoint}")
        local_s, s3_s = [], []
        for round_ in range(opts.repeat):
            bucket = f"bench-{round_}"
            s3.create_bucket(Bucket=bucket)
            for path in paths:
                s3.put_object(Bucket=bucket, Key=f"in/{path.relative_to(landing).as_posix()}", Body=path.read_bytes())
            lake = work / f"lake{round_}"
            seconds, report = _run(["--input", str(landing), "--output", str(lake), *BATCH], env)
            local_s.append(seconds)
            assert report["rows_written"] == opts.records, report
            lake_args = ["--output", f"s3://{bucket}/lake", "--quarantine", f"s3://{bucket}/quarantine"]
            state = work / f"s3-state{round_}.db"
            s3_args = ["--input", f"s3://{bucket}/in", *lake_args, "--state", str(state), *BATCH]
            seconds, report = _run(s3_args, env)
            s3_s.append(seconds)
            assert report["rows_written"] == opts.records, report
            print(f"round {round_ + 1}: local {local_s[-1]:.2f} s, s3 {s3_s[-1]:.2f} s")
            shutil.rmtree(lake)
        local, remote = statistics.median(local_s), statistics.median(s3_s)
        print(f"local folders: {local:.2f} s  ({len(paths) / local:,.0f} files/s, {size / 1e6 / local:.1f} MB/s)")
        print(f"S3 on moto:    {remote:.2f} s  ({len(paths) / remote:,.0f} files/s, {size / 1e6 / remote:.1f} MB/s)")
        print(f"S3 / local:    {remote / local:.2f}x (medians of {opts.repeat})")
    finally:
        server.stop()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
