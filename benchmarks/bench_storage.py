"""S3 client libraries on a local moto server: pyarrow.fs.S3FileSystem against boto3.

Prints figures, never asserts. Chooses the library S3Storage is built on (README "Storage").
fsspec/s3fs is measured only when it is importable (it is not a dependency).

    .venv/bin/python benchmarks/bench_storage.py                 # 10,000 keys, 2,000 GETs, 50 MB PUT
    .venv/bin/python benchmarks/bench_storage.py --keys 2000 --gets 500 --put-mb 10   # a quick run

Operations: list ``--keys`` objects under one prefix; GET ``--gets`` small objects one by one; 100
ranged GETs of 64 KiB from a 50 MB object; PUT one ``--put-mb`` MB object. moto is slow and runs in
this process: the figures compare the clients' overhead on one machine, not S3's own speed.
"""

from __future__ import annotations

import argparse
import importlib.util
import statistics
import sys
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from tests.support.moto_server import REGION, MotoServer

RANGE = 64 * 1024


def timed(fn: Callable[[], Any], repeat: int) -> float:
    """The best of `repeat` runs, in seconds."""
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def seed(client: Any, bucket: str, keys: int, gets: int, big: bytes) -> None:
    client.create_bucket(Bucket=bucket)
    with ThreadPoolExecutor(16) as pool:
        list(pool.map(lambda i: client.put_object(Bucket=bucket, Key=f"list/k-{i:06d}", Body=b"x"), range(keys)))
        list(pool.map(lambda i: client.put_object(Bucket=bucket, Key=f"get/k-{i:06d}", Body=b"y" * 512), range(gets)))
    client.put_object(Bucket=bucket, Key="ranged/big", Body=big)


def boto3_ops(client: Any, bucket: str, gets: int, size: int, payload: bytes) -> dict[str, Callable[[], Any]]:
    def listing() -> int:
        pages = client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix="list/")
        return sum(len(p.get("Contents", [])) for p in pages)

    def small_gets() -> None:
        for i in range(gets):
            client.get_object(Bucket=bucket, Key=f"get/k-{i:06d}")["Body"].read()

    def ranged() -> None:
        for i in range(100):
            start = (i * 7919 * RANGE) % (size - RANGE)
            client.get_object(Bucket=bucket, Key="ranged/big", Range=f"bytes={start}-{start + RANGE - 1}")[
                "Body"
            ].read()

    def put() -> None:
        import io

        client.upload_fileobj(io.BytesIO(payload), bucket, "put/big")

    return {"list": listing, "small GETs": small_gets, "ranged GETs": ranged, "PUT": put}


def pyarrow_ops(endpoint: str, bucket: str, gets: int, size: int, payload: bytes) -> dict[str, Callable[[], Any]]:
    from pyarrow import fs

    s3 = fs.S3FileSystem(
        access_key="testing", secret_key="testing", session_token="testing", region=REGION,
        endpoint_override=endpoint, scheme="http",
    )  # fmt: skip

    def listing() -> int:
        return len(s3.get_file_info(fs.FileSelector(f"{bucket}/list", recursive=True)))

    def small_gets() -> None:
        for i in range(gets):
            with s3.open_input_stream(f"{bucket}/get/k-{i:06d}") as stream:
                stream.read()

    def ranged() -> None:
        with s3.open_input_file(f"{bucket}/ranged/big") as handle:
            for i in range(100):
                start = (i * 7919 * RANGE) % (size - RANGE)
                handle.read_at(RANGE, start)

    def put() -> None:
        with s3.open_output_stream(f"{bucket}/put/big-arrow") as out:
            out.write(payload)

    return {"list": listing, "small GETs": small_gets, "ranged GETs": ranged, "PUT": put}


def s3fs_ops(endpoint: str, bucket: str, gets: int, size: int, payload: bytes) -> dict[str, Callable[[], Any]]:
    import s3fs

    s3 = s3fs.S3FileSystem(key="testing", secret="testing", token="testing",
                           client_kwargs={"endpoint_url": endpoint, "region_name": REGION})  # fmt: skip

    def listing() -> int:
        s3.invalidate_cache()
        return len(s3.find(f"{bucket}/list"))

    def small_gets() -> None:
        for i in range(gets):
            s3.cat_file(f"{bucket}/get/k-{i:06d}")

    def ranged() -> None:
        for i in range(100):
            start = (i * 7919 * RANGE) % (size - RANGE)
            s3.cat_file(f"{bucket}/ranged/big", start=start, end=start + RANGE)

    def put() -> None:
        s3.pipe_file(f"{bucket}/put/big-s3fs", payload)

    return {"list": listing, "small GETs": small_gets, "ranged GETs": ranged, "PUT": put}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keys", type=int, default=10_000)
    parser.add_argument("--gets", type=int, default=2_000)
    parser.add_argument("--put-mb", type=int, default=50)
    parser.add_argument("--repeat", type=int, default=2)
    args = parser.parse_args()

    server = MotoServer()
    try:
        client = server.client("s3", retries=3)
        bucket = "bench"
        payload = bytes(range(256)) * (args.put_mb * 4096)
        print(f"seeding {args.keys:,} + {args.gets:,} objects and a {len(payload) / 1e6:.0f} MB one...", flush=True)
        seed(client, bucket, args.keys, args.gets, payload)
        contenders: dict[str, Callable[[], dict[str, Callable[[], Any]]]] = {
            "boto3": lambda: boto3_ops(client, bucket, args.gets, len(payload), payload),
            "pyarrow.fs": lambda: pyarrow_ops(server.endpoint_url, bucket, args.gets, len(payload), payload),
        }
        if importlib.util.find_spec("s3fs") is not None:
            contenders["s3fs"] = lambda: s3fs_ops(server.endpoint_url, bucket, args.gets, len(payload), payload)
        else:
            print("s3fs: not installed, not measured")
        results: dict[str, dict[str, float]] = {}
        for name, build in contenders.items():
            ops = build()
            results[name] = {op: timed(fn, args.repeat) for op, fn in ops.items()}
        header = f"{'operation':<14}" + "".join(f"{name:>14}" for name in results)
        print(header)
        for op in next(iter(results.values())):
            print(f"{op:<14}" + "".join(f"{results[name][op]:>13.2f}s" for name in results))
        for name, figures in results.items():
            print(f"{name}: total {sum(figures.values()):.2f}s, median op {statistics.median(figures.values()):.2f}s")
    finally:
        server.stop()


if __name__ == "__main__":
    main()
