"""Part names, atomic publication, a re-run replacing its own parts, and compensation (remove_outputs)."""

from __future__ import annotations

import orjson

from tests.engine_contract.case import DATASET, DATE, EngineCase


def padded(count: int, start: int = 0) -> bytes:
    return b"".join(orjson.dumps({"id": i, "pad": "x" * 200}) + b"\n" for i in range(start, start + count))


def lake_listing(case: EngineCase) -> list[str]:
    return case.objects.list(case.output_root)


def test_parts_are_named_by_manifest_and_number_under_the_partition_with_nothing_else_visible(
    engine_case: EngineCase,
) -> None:
    input_file = engine_case.put_input("in.ndjson", padded(3000) + b"bad\n")
    result = engine_case.convert([input_file], manifest="m-7", target_file_bytes=100_000)
    count = len(result.outputs)
    assert count > 2
    assert [o.path for o in result.outputs] == [engine_case.part_url("m-7", n) for n in range(count)]
    # no temp, hidden or marker object is left beside the parts, and no unfinished upload
    assert lake_listing(engine_case) == sorted(f"{DATASET}/date={DATE}/part-m-7-{n}.parquet" for n in range(count))
    assert engine_case.objects.list(engine_case.quarantine_root) == [f"{DATASET}/date={DATE}/m-7.ndjson"]
    for output in result.outputs:
        assert output.bytes == len(engine_case.objects.read(output.path)) and output.rows > 0
    assert sum(o.rows for o in result.outputs) == result.rows_written == 3000


def test_a_rerun_replaces_its_own_parts_and_removes_those_of_a_larger_earlier_attempt(
    engine_case: EngineCase,
) -> None:
    input_file = engine_case.put_input("in.ndjson", padded(3000))
    first = engine_case.convert([input_file], target_file_bytes=100_000)
    assert len(first.outputs) > 2
    # the retry runs in another engine (another worker) and makes fewer, larger parts
    second = engine_case.make_engine().convert(engine_case.job([input_file]))
    assert [o.path for o in second.outputs] == [engine_case.part_url("m1", 0)]
    assert lake_listing(engine_case) == [f"{DATASET}/date={DATE}/part-m1-0.parquet"]
    ids = [row["id"] for row in engine_case.rows(second)]
    assert sorted(ids) == list(range(3000))  # no row twice


def test_the_same_job_run_twice_gives_the_same_parts_and_no_duplicate_rows(engine_case: EngineCase) -> None:
    input_file = engine_case.put_input("in.ndjson", padded(3000) + b"bad\n")
    job = engine_case.job([input_file], target_file_bytes=100_000)
    first = engine_case.engine.convert(job)
    before = lake_listing(engine_case)
    second = engine_case.engine.convert(job)
    assert [o.path for o in second.outputs] == [o.path for o in first.outputs]
    assert lake_listing(engine_case) == before
    tables = [engine_case.table(f"{engine_case.output_root}/{name}") for name in before]
    everything = [row["id"] for table in tables for row in table.to_pylist()]
    assert sorted(everything) == list(range(3000))
    assert len(engine_case.quarantined(second)) == 1


def test_a_clean_rerun_removes_the_earlier_quarantine_file(engine_case: EngineCase) -> None:
    first = engine_case.convert([engine_case.put_input("in.ndjson", b'{"a":1}\nbroken\n')])
    assert first.quarantine_path and engine_case.objects.exists(first.quarantine_path)
    second = engine_case.convert([engine_case.put_input("in.ndjson", b'{"a":1}\n')])
    assert second.quarantine_path is None and engine_case.objects.list(engine_case.quarantine_root) == []


def test_a_manifest_leaves_the_parts_of_other_manifests_alone(engine_case: EngineCase) -> None:
    other = engine_case.convert([engine_case.put_input("other.ndjson", padded(100) + b"bad\n")], manifest="m1")
    # "m1" is a prefix of "m10": the second manifest's clean-up must not take it for one of its own
    mine = engine_case.convert([engine_case.put_input("mine.ndjson", padded(10))], manifest="m10")
    rerun = engine_case.convert([engine_case.put_input("mine.ndjson", padded(10))], manifest="m10")
    assert [o.path for o in rerun.outputs] == [o.path for o in mine.outputs]
    assert engine_case.objects.exists(other.outputs[0].path) and len(engine_case.table(other.outputs[0].path)) == 100
    assert other.quarantine_path and engine_case.objects.exists(other.quarantine_path)


def test_remove_outputs_deletes_every_part_and_the_quarantine_file_of_its_manifest_only(
    engine_case: EngineCase,
) -> None:
    kept = engine_case.convert([engine_case.put_input("kept.ndjson", padded(50) + b"bad\n")], manifest="m1")
    gone = engine_case.put_input("gone.ndjson", padded(3000) + b"bad\n")
    job = engine_case.job([gone], "m10", target_file_bytes=100_000)
    removed = engine_case.engine.convert(job)
    assert len(removed.outputs) > 2 and removed.quarantine_path

    engine_case.make_engine().remove_outputs(job)  # compensation may run anywhere
    assert lake_listing(engine_case) == [f"{DATASET}/date={DATE}/part-m1-0.parquet"]
    assert engine_case.objects.list(engine_case.quarantine_root) == [f"{DATASET}/date={DATE}/m1.ndjson"]
    assert len(engine_case.table(kept.outputs[0].path)) == 50
    engine_case.engine.remove_outputs(job)  # again: nothing left to remove is no error


def test_remove_outputs_of_a_manifest_that_never_ran_is_no_error(engine_case: EngineCase) -> None:
    engine_case.engine.remove_outputs(engine_case.job([engine_case.put_input("in.ndjson", b'{"a":1}\n')]))
    assert lake_listing(engine_case) == [] and engine_case.objects.list(engine_case.quarantine_root) == []
