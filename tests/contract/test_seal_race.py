"""Sealing races registration: a sealed date never holds a PENDING or CLAIMED file, on both stores."""

from __future__ import annotations

import contextlib
import random
import threading

from ndjson2parquet.domain.errors import InvalidTransition
from ndjson2parquet.domain.states import FileState
from ndjson2parquet.state.base import StateStore

from .conftest import DATASET, StoreFactory, records

ROUNDS = 30
SEALERS = 2


def _sealable_date(store: StateStore, date: str) -> None:
    """A date holding one finished (REJECTED) file: nothing stops a seal."""
    (first,) = records(1, date=date, prefix=f"{date}-first")
    store.register([first])
    assert store.supersede([store.get_file(first.file_id)], "set aside") == {first.file_id}


def _race_one_date(stores: list[StateStore], date: str, seed: int) -> None:
    """Sealers seal the date over and over while one registration adds a file to it."""
    registrar, sealers = stores[0], stores[1:]
    done = threading.Event()
    start = threading.Barrier(len(stores))
    errors: list[BaseException] = []
    rng = random.Random(seed)
    pause = rng.random() * 0.02

    def seal_until_done(store: StateStore) -> None:
        try:
            start.wait()
            while not done.is_set():
                # once the new file is PENDING, the date cannot be sealed
                with contextlib.suppress(InvalidTransition):
                    store.seal(DATASET, date)
        except BaseException as exc:  # a thread's failure fails the test
            errors.append(exc)

    def register_one() -> None:
        try:
            start.wait()
            done.wait(pause)
            registrar.register(records(1, date=date, prefix=f"{date}-late", start=5_000.0))
        except BaseException as exc:
            errors.append(exc)
        finally:
            done.set()

    threads = [threading.Thread(target=seal_until_done, args=(s,)) for s in sealers]
    threads.append(threading.Thread(target=register_one))
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not errors, errors


def test_no_sealed_date_holds_a_pending_or_claimed_file_when_registration_races_sealing(
    store_factory: StoreFactory,
) -> None:
    stores = [store_factory() for _ in range(SEALERS + 1)]
    dates = [f"2026-10-{day:02d}" for day in range(1, ROUNDS + 1)]
    for date in dates:
        _sealable_date(stores[0], date)
    for n, date in enumerate(dates):
        _race_one_date(stores, date, seed=n)
    for date in dates:
        status = stores[0].date_status(DATASET, date)
        assert status is not None
        busy = {s: status.files.get(s.value, 0) for s in (FileState.PENDING, FileState.CLAIMED)}
        assert status.files.get(FileState.PENDING.value) == 1  # the registration landed
        assert status.sealed_at is None, f"{date} is sealed holding {busy}"
        assert status.late_files <= 1
