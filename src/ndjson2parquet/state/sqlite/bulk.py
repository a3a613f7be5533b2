"""Many rows in one SQLite step: writes and reads of whole batches as one JSON value.

Python's sqlite3 releases the GIL around every row's step (each row of an ``executemany``, each row
a cursor fetches) and must win it back after. While other threads are busy in Python, winning it
back takes up to a switch interval (5 ms) per row: measured on this project's machine, 10,000 rows
read while two threads ran Python took 36-100 s as rows and 0.11 s as one JSON value; on 100,000
small files, commits, claims and the planner's reads spent seconds each queued that way, holding
the write lock meanwhile. Here a batch travels as one JSON array: ``json_each`` feeds the rows of a
write to one statement, ``json_group_array`` brings the rows of a read back as one text value, and
SQLite does the whole batch in one step.

REAL values are written into a read's JSON with 17 significant digits (``json(printf('%!.17g'))``,
exact), because SQLite's JSON writes only 15 and timestamps serve as exact cursors. JSON into
SQLite is exact.
"""

from __future__ import annotations

import functools
import re
import sqlite3
from collections.abc import Callable, Sequence

import orjson

_UPDATE = re.compile(r"UPDATE (\w+) SET (.+) WHERE (.+)", re.DOTALL)
_INSERT = re.compile(r"(INSERT (?:OR \w+ )?INTO \w+ \([^)]*\)) VALUES \(([?,\s]+)\)", re.DOTALL)


@functools.lru_cache(maxsize=256)
def each_statement(sql: str, constant: tuple[bool, ...] | None = None) -> str:
    """The one-statement form of a one-row ``INSERT … VALUES (?, …)`` or ``UPDATE … SET … WHERE …``.

    Its first parameter is a JSON array of rows, each an array of the original statement's
    parameters in order, less those ``constant`` marks (the same in every row): those follow as
    plain parameters, in order. (Our statements hold ``?`` only as placeholders.)
    """
    marks = sql.count("?")
    constant = constant or (False,) * marks
    if len(constant) != marks:
        raise ValueError(f"{len(constant)} parameters marked for {marks} placeholders: {sql}")
    varying = [i for i, same in enumerate(constant) if not same]
    constants = [i for i, same in enumerate(constant) if same]
    source = {i: f"?{constants.index(i) + 2}" for i in constants}
    if match := _INSERT.fullmatch(sql):
        head, _ = match.groups()
        source.update({i: f"value->>{varying.index(i)}" for i in varying})
        return f"{head} SELECT {', '.join(source[i] for i in range(marks))} FROM json_each(?1)"
    if match := _UPDATE.fullmatch(sql):
        table, sets, where = match.groups()
        source.update({i: f"v.p{varying.index(i)}" for i in varying})
        placeholders = iter(range(marks))
        sets, where = (re.sub(r"\?", lambda _: source[next(placeholders)], part) for part in (sets, where))
        picks = ", ".join(f"value->>{k} AS p{k}" for k in range(len(varying)))
        return f"UPDATE {table} SET {sets} FROM (SELECT {picks} FROM json_each(?1)) AS v WHERE {where}"
    raise ValueError(f"not a one-row INSERT or UPDATE: {sql}")


def execute_each(db: sqlite3.Connection, sql: str, rows: Sequence[Sequence[object]]) -> None:
    """Run a one-row INSERT or UPDATE for every row of ``rows``, in one statement (one step).

    A parameter with the same value (and type) in every row is bound once instead of travelling in
    each row's JSON: SQLite then extracts fewer values per row (a file's dataset, state, timestamps).
    Read ``db.total_changes`` around it to know how many rows changed.
    """
    if not rows:
        return
    columns = list(zip(*rows, strict=True))
    constant = tuple(len(set(map(type, c))) == 1 and c.count(c[0]) == len(c) for c in columns)
    if all(constant):  # one value must vary, or identical rows would be written once, not len(rows) times
        constant = (False, *constant[1:])
    varying = [c for c, same in zip(columns, constant, strict=True) if not same]
    fixed = [c[0] for c, same in zip(columns, constant, strict=True) if same]
    db.execute(each_statement(sql, constant), (orjson.dumps(list(zip(*varying, strict=True))), *fixed))


@functools.lru_cache(maxsize=64)
def _aggregate(columns: tuple[str, ...], reals: frozenset[str], rest: str) -> str:
    values = ", ".join(f"json(printf('%!.17g', {c}))" if c in reals else c for c in columns)
    return f"SELECT json_group_array(json_array({values})) FROM (SELECT {', '.join(columns)} {rest})"


def select_many(
    read: Callable[[str, Sequence[object]], list[tuple[object, ...]]],
    columns: Sequence[str],
    reals: frozenset[str],
    rest: str,
    params: Sequence[object] = (),
) -> list[list[object]]:
    """``SELECT columns rest`` as lists, read in one step through ``read``; ``reals`` (NOT NULL, finite
    REAL columns) come back as exact floats. The rows' order is not promised: sort them if it matters."""
    found = read(_aggregate(tuple(columns), reals, rest), params)
    rows: list[list[object]] = orjson.loads(found[0][0])
    return rows
