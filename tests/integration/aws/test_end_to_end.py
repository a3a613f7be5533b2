"""The AWS deployment end to end on moto's server, every fault of the issue injected at once.

Objects are put into the landing bucket (its notification configuration enqueues the events), the
intake is driven by the SQS poller, Step Functions executions run the repository's ASL in moto's
interpreter with their Lambdas and Glue runs routed to our code (`tests.support.aws_deployment`),
the scheduled recover and seal are called by the test, first while the dates are open, then once
their grace period is over (the package's clock moved on). Faults: `tests.support.aws_faults`.
"""

from __future__ import annotations

import gzip
import io
import json
import random
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pyarrow.parquet as pq
import pytest

from ndjson2parquet.batching.planner import end_of_day
from ndjson2parquet.domain import clock
from ndjson2parquet.domain.states import FileState, ManifestState
from ndjson2parquet.storage.s3 import S3Storage
from ndjson2parquet.workflow.steps.set_aside import set_aside_url
from ndjson2parquet.workflow.verify import verify_date
from tests.support import aws_faults as faults
from tests.support.aws_deployment import SCHEDULED, STEPS, AwsDeployment, RuntimeExitError
from tests.support.moto_server import MotoServer

DATES = ("2026-11-20", "2026-11-21", "2026-11-22")
GRACE_S = 3 * 86_400.0
RECORDS_PER_OBJECT = 5
OBJECTS = 2000


@dataclass
class Landing:
    """What the test put, and what the lake must hold because of it."""

    expected_ids: Counter[str] = field(default_factory=Counter)  # every record that must land, once
    bad_lines: set[tuple[str, int]] = field(default_factory=set)  # (uri, line) to be quarantined
    corrupt: list[str] = field(default_factory=list)  # uris to be REJECTED
    lines: dict[str, int] = field(default_factory=dict)  # lines per date of the current versions
    stale_etags: list[str] = field(default_factory=list)  # versions overwritten before their event came
    objects: int = 0


class FakeClock:
    """The package's clock (`domain.clock.now`) at an offset from the real one."""

    def __init__(self, at: float) -> None:
        self.move_to(at)

    def move_to(self, at: float) -> None:
        self.offset = at - time.time()

    def now(self) -> float:
        return time.time() + self.offset


@pytest.fixture
def fake_clock(monkeypatch: pytest.MonkeyPatch) -> FakeClock:
    # the objects are put an hour before the last date ends: every date is inside its grace period
    fake = FakeClock(end_of_day(DATES[-1]) - 3600)
    monkeypatch.setattr(clock, "now", fake.now)
    return fake


@pytest.fixture
def deployment(moto: MotoServer, aws_env: dict[str, str], fake_clock: FakeClock) -> Iterator[AwsDeployment]:
    with AwsDeployment(
        moto, max_files=50, grace_s=GRACE_S, max_wait_s=30.0, start_deadline_s=5.0, max_receive_count=3
    ) as deployed:
        yield deployed


def body_of(rows: list[str]) -> bytes:
    return "".join(f"{row}\n" for row in rows).encode()


def records(tag: str, count: int = RECORDS_PER_OBJECT) -> list[str]:
    return [json.dumps({"id": f"{tag}-r{n}", "seq": n, "payload": {"tag": tag, "n": n}}) for n in range(count)]


class Putter:
    """Puts objects into the landing bucket and keeps the `Landing` book."""

    def __init__(self, aws: AwsDeployment, bad_every: int) -> None:
        self.aws, self.bad_every = aws, bad_every
        self.book = Landing()

    def is_stale_event(self, body: str) -> bool:
        """Whether a message is the event of a version overwritten since."""
        return any(etag in body for etag in self.book.stale_etags)

    def uri(self, key: str) -> str:
        return f"s3://{self.aws.landing_bucket}/{key}"

    def put(self, key: str, body: bytes) -> str:
        return self.aws.s3.put_object(Bucket=self.aws.landing_bucket, Key=key, Body=body)["ETag"].strip('"')

    def good(self, i: int, date: str, *, bad: bool = False, suffix: str = "") -> tuple[str, bytes]:
        """Object ``i``: its records (one of its lines broken when ``bad``); booked as the current version."""
        key = f"landing/{date}/obj-{i:05d}{suffix}.ndjson"
        rows = records(f"o{i}{suffix}")
        if bad:
            rows.insert(2, '{"id": "broken line", "seq": ')  # truncated JSON: quarantined
            self.book.bad_lines.add((self.uri(key), 3))
        self.book.expected_ids.update(json.loads(r)["id"] for r in rows if r.endswith("}"))
        self.book.lines[date] = self.book.lines.get(date, 0) + len(rows)
        self.book.objects += 1
        return key, body_of(rows)


def put_everything(aws: AwsDeployment, putter: Putter, objects: int, wave: int) -> dict[str, Any]:
    """``objects`` objects over the three dates, in waves, the intake polled after each wave."""
    poller = aws.poller()
    special: dict[str, Any] = {}
    i = 0
    while i < objects:
        for _ in range(min(wave, objects - i)):
            date = DATES[i % len(DATES)]
            key, body = putter.good(i, date, bad=(i % putter.bad_every == 7))
            putter.put(key, body)
            i += 1
        if i <= wave:  # the first wave: the special objects
            special = put_special(aws, putter)
        while poller.poll_once():
            pass
    poller.drain(timeout_s=120)
    return {"poller": poller.stats, **special}


def put_special(aws: AwsDeployment, putter: Putter) -> dict[str, Any]:
    """Two corrupt gzip files, an overwritten key, a lost event, and a poison message for an object
    whose own event is lost too (the listing must still register it)."""
    date = DATES[0]
    for n in range(2):
        key = f"landing/{date}/corrupt-{n}.ndjson.gz"
        whole = gzip.compress(body_of(records(f"corrupt{n}")))
        putter.put(key, whole[: len(whole) // 2] + b"\x00garbage" * 4)  # cut and overwritten: unreadable
        putter.book.corrupt.append(putter.uri(key))
    key = f"landing/{DATES[1]}/overwritten.ndjson"
    putter.book.stale_etags.append(putter.put(key, body_of(records("overwritten-v1"))))
    rows = records("overwritten-v2", 3)
    putter.put(key, body_of(rows))
    putter.book.expected_ids.update(json.loads(r)["id"] for r in rows)
    putter.book.lines[DATES[1]] += len(rows)
    aws.notify_events(False)  # S3 loses these two objects' events
    lost_key, lost_body = putter.good(90_001, DATES[2])
    putter.put(lost_key, lost_body)
    poison_key, poison_body = putter.good(90_002, DATES[2])
    putter.put(poison_key, poison_body)
    aws.notify_events(True)
    poison = faults.send_poison(aws, aws.landing_bucket, poison_key)
    return {"lost": putter.uri(lost_key), "poison": poison, "poison_uri": putter.uri(poison_key)}


def scheduled(aws: AwsDeployment, function: str, tries: int = 6) -> dict[str, int]:
    """The scheduled function's pass; a pass whose process died is run again (the next schedule)."""
    for _ in range(tries):
        try:
            return aws.invoke_scheduled(function)
        except RuntimeExitError:
            continue
    raise AssertionError(f"{function} kept dying")


def settle(aws: AwsDeployment, rounds: int = 12) -> None:
    """Recover (and seal) passes until every execution ended and no manifest is live."""
    for _ in range(rounds):
        aws.wait_for_executions(timeout_s=240)
        scheduled(aws, "recover")
        aws.wait_for_executions(timeout_s=240)
        if not list(aws.store.live_manifests()):
            return
        time.sleep(1)
    raise AssertionError(f"manifests still live: {[m.manifest_id for m in aws.store.live_manifests()]}")


def lake_ids(aws: AwsDeployment) -> Counter[str]:
    """The ``id`` of every row of every Parquet part in the lake."""
    ids: Counter[str] = Counter()
    for page in aws.s3.get_paginator("list_objects_v2").paginate(Bucket=aws.lake_bucket, Prefix="lake/events/"):
        for obj in page.get("Contents", []):
            if obj["Key"].endswith(".parquet"):
                data = aws.s3.get_object(Bucket=aws.lake_bucket, Key=obj["Key"])["Body"].read()
                ids.update(pq.read_table(io.BytesIO(data), columns=["id"]).column("id").to_pylist())
    return ids


def quarantined(aws: AwsDeployment) -> list[dict[str, Any]]:
    found = []
    for page in aws.s3.get_paginator("list_objects_v2").paginate(Bucket=aws.lake_bucket, Prefix="lake/_quarantine/"):
        for obj in page.get("Contents", []):
            if "/_rejected/" in obj["Key"]:  # the rejected files' set-aside copies, not bad lines
                continue
            data = aws.s3.get_object(Bucket=aws.lake_bucket, Key=obj["Key"])["Body"].read()
            found.extend(json.loads(line) for line in data.splitlines() if line.strip())
    return found


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_two_thousand_objects_over_three_dates_land_exactly_once_under_every_fault(
    deployment: AwsDeployment, fake_clock: FakeClock
) -> None:
    run_every_fault(deployment, fake_clock, objects=OBJECTS)


def run_every_fault(aws: AwsDeployment, fake_clock: FakeClock, objects: int) -> None:
    """The scenario: ``objects`` objects over the three dates under every fault, then every check
    (shared with the least-privilege run, tests/integration/aws/test_least_privilege.py)."""
    rng = random.Random(11)
    everyone = ("intake", *STEPS, *SCHEDULED)
    throttling = faults.Throttling(aws, everyone, every=15)
    crashes = faults.CrashPoints(aws, ("intake", "start", "convert", "commit", "compensate"))
    # a condition that fails, not applied: on the start step's one transaction (CREATED -> RUNNING),
    # as if another execution had taken the manifest; the execution skips, recovery starts it again.
    # (Conditions failing on file items come for real: lost responses retried, the racing execution.)
    not_applied = [faults.ConditionFailures(aws, "start", "TransactWriteItems")]
    lost = [
        faults.LostResponses(aws, "intake", "dynamodb", "TransactWriteItems", count=3),
        faults.LostResponses(aws, "commit", "dynamodb", "TransactWriteItems"),
        faults.LostResponses(aws, "intake", "stepfunctions", "StartExecution"),
    ]
    convert_failures = faults.ConvertFailures(aws)
    vanishing = faults.VanishingExecution(aws, nth=4)
    racing = faults.RacingExecution(aws, nth=2)
    putter = Putter(aws, bad_every=20)  # one object in 20 has one bad line of its 6: 1 % of lines
    events = faults.DuplicateAndDelayEvents(aws, rng, duplicate=0.10, late=putter.is_stale_event)

    put = put_everything(aws, putter, objects=objects, wave=200)
    settle(aws)
    fake_clock.move_to(end_of_day(DATES[-1]) + GRACE_S + 3600)  # every date past its grace period
    for _ in range(8):
        scheduled(aws, "seal")
        settle(aws)
        if (
            all(s.sealed_at is not None for s in aws.store.dates("events"))
            and len(list(aws.store.dates("events"))) == 3
        ):
            break
    for hooks in (throttling, crashes, *not_applied, *lost, convert_failures):
        hooks.remove()

    book = putter.book
    # every fault happened
    assert events.done["duplicated"] >= 0.08 * book.objects and events.done["late"] >= 1
    assert set(throttling.fired) == set(faults.Throttling.CODES)
    assert all(h.fired for h in (*not_applied, *lost)), [h.fired for h in (*not_applied, *lost)]
    assert (convert_failures.fired["transient"], convert_failures.fired["terminal"]) > (0, 0)
    assert vanishing.vanished and racing.raced
    for function in ("intake", "start", "convert", "commit"):
        points = {p for p in crashes.fired if p.startswith(f"{function}:")}
        assert any(p.endswith(":before") for p in points) and any(p.endswith(":after") for p in points), points

    # every record exactly once in the lake
    assert lake_ids(aws) == book.expected_ids
    # every line accounted for: the ledgers balance and verify re-reads inputs and outputs
    storage = S3Storage(client=aws.s3)
    for date in DATES:
        report = verify_date(aws.store, "events", date, storage.read_bytes, storage)
        assert report.ok, report.problems
        assert report.not_converted == {}
        assert report.lines == book.lines[date], date
    # the bad lines in the quarantine, with file, line and reason
    bad = quarantined(aws)
    assert {(q["source"], q["line"]) for q in bad} == book.bad_lines
    assert len(bad) == len(book.bad_lines) and all(q["reason"] for q in bad)
    # the corrupt files REJECTED with their reasons
    for uri in book.corrupt:
        [version] = aws.store.files_by_uri(uri)
        assert version.state == FileState.REJECTED and "gzip" in (version.ledger.rejection or "").lower(), version
        # ... and set aside in the quarantine, byte for byte, with a sidecar
        copy = set_aside_url(version.ledger.rejection)
        assert copy is not None and copy.startswith(f"s3://{aws.lake_bucket}/lake/_quarantine/"), version
        bucket, key = uri[5:].split("/", 1)
        original = aws.s3.get_object(Bucket=bucket, Key=key)["Body"].read()
        assert aws.s3.get_object(Bucket=aws.lake_bucket, Key=copy.split("/", 3)[3])["Body"].read() == original
        aws.s3.head_object(Bucket=aws.lake_bucket, Key=copy.split("/", 3)[3] + ".rejected.json")
    # the lost event and the poison message's object registered (by the listing) and converted
    for uri in (put["lost"], put["poison_uri"]):
        assert [v.state for v in aws.store.files_by_uri(uri)] == [FileState.DONE]
    # all dates sealed: clean ones with _SUCCESS, the one with the rejected files with problems
    seals = {s.date: s for s in aws.store.dates("events")}
    assert set(seals) == set(DATES) and all(s.sealed_at is not None for s in seals.values())
    for date in DATES:
        listed = aws.s3.list_objects_v2(Bucket=aws.lake_bucket, Prefix=f"lake/events/date={date}/_SUCCESS")
        assert (listed.get("KeyCount", 0) == 1) == (date != DATES[0]), date
    assert not [m for m in aws.store.live_manifests()]
    assert all(
        m.state in (ManifestState.SUCCEEDED, ManifestState.COMPENSATED)
        for d in DATES
        for m in aws.store.manifests_of("events", d)
    )
    # the terminal conversion was compensated and notified; its files were converted by a later manifest
    assert convert_failures.terminal is not None
    failed = aws.store.get_manifest(convert_failures.terminal[1])
    assert failed.state == ManifestState.COMPENSATED
    notices = {(n["manifest_id"], n["state"]) for n in aws.failure_notifications()}
    assert (failed.manifest_id, "COMPENSATED") in notices
    # the DLQ holds the poison message, nothing else
    assert [m["Body"] for m in aws.messages(aws.dlq_url)] == [put["poison"]]


@pytest.fixture
def small_manifests(moto: MotoServer, aws_env: dict[str, str], fake_clock: FakeClock) -> Iterator[AwsDeployment]:
    with AwsDeployment(moto, max_files=5, grace_s=GRACE_S) as deployed:
        yield deployed


def test_an_intake_dying_before_and_after_each_of_its_writes_registers_every_object_once_and_starts_each_manifest(
    small_manifests: AwsDeployment,
) -> None:
    aws = small_manifests
    crashes = faults.CrashPoints(aws, ("intake",))
    putter = Putter(aws, bad_every=10**9)
    uris = []
    for i in range(60):
        key, body = putter.good(i, DATES[0])
        putter.put(key, body)
        uris.append(putter.uri(key))
    stats = aws.poller().drain(timeout_s=120)
    crashes.remove()

    points = set(crashes.fired)
    assert {"intake:TransactWriteItems:before", "intake:TransactWriteItems:after"} <= points, points
    assert {"intake:StartExecution:before", "intake:StartExecution:after"} <= points, points
    assert stats.batches_failed == sum(crashes.fired.values())  # each crash failed its whole batch once
    assert all(len(aws.store.files_by_uri(uri)) == 1 for uri in uris)
    manifests = list(aws.store.manifests_of("events", DATES[0]))
    assert len(manifests) == 12 and sum(len(m.file_ids) for m in manifests) == 60
    names = [e["name"] for e in aws.executions()]
    assert sorted(names) == sorted(m.manifest_id for m in manifests)  # one execution each, named by it
    assert aws.messages(aws.dlq_url) == []
    aws.wait_for_executions()
    assert lake_ids(aws) == putter.book.expected_ids
