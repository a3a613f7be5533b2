"""The slow path: records parsed exactly in Python, typed by vote, split into columns and rescued values.

Used only for lines the native reader cannot take as they are: a type that drifts inside one stretch
of input, duplicate keys, integers beyond 64 bits. Everything here is per value and per line, so it
runs on those stretches only (see ``arrow_engine``).

A stretch is typed by its own vote before the manifest's types are known, so what it sets aside is
not final: its mixed columns' votes travel with its table (``schema.with_votes``), and at assembly
the values it set aside that fit the manifest's column go back into it (``take_back``).
"""

from __future__ import annotations

import itertools
from collections import Counter
from dataclasses import dataclass
from typing import Any, Literal

import pyarrow as pa

from ..lines import BigNumber
from ..rescue import deep_merge, duplicates_in
from ..schema import INT64_MAX, INT64_MIN, TypeVote, kind_of, merge_fields, merge_types, with_votes

_MISSING = object()  # "nothing rescued here"
FLOAT_EXACT_INT = 2**53  # beyond this an integer does not survive a trip through a double
# Keys of one object typed here at most (a line with a million keys, see ``lines.WIDE_LINE_KEYS``); the
# others are kept in ``_rescued_data``: no dataset takes more columns (``limits``, default limits).
TYPED_KEYS = 10_000


def value_type(value: Any) -> pa.DataType:
    """The type a parsed JSON value votes for (big integers vote int64 and are rescued when fitted)."""
    if value is None:
        return pa.null()
    if isinstance(value, bool):
        return pa.bool_()
    if isinstance(value, int):
        return pa.int64()
    if isinstance(value, float | BigNumber):
        return pa.float64()
    if isinstance(value, str):
        return pa.string()
    if isinstance(value, dict):
        items = value.items() if len(value) <= TYPED_KEYS else itertools.islice(value.items(), TYPED_KEYS)
        return pa.struct([pa.field(key, value_type(child)) for key, child in items])
    if isinstance(value, list):
        if len(value) == 1:  # hashing or merging a deep item type at every level would cost depth squared
            return pa.list_(value_type(value[0]))
        votes = Counter(value_type(item) for item in value)
        return pa.list_(merge_types(None, list(votes.items())))
    raise TypeError(f"unexpected parsed value {type(value).__name__}")


@dataclass(slots=True)
class Inferred:
    """A stretch's fields (its own vote), and every type the values of its mixed columns had (``with_votes``)."""

    fields: list[pa.Field]
    mixed: dict[str, list[TypeVote]]


def infer_fields(records: list[dict[str, Any]]) -> Inferred:
    """The fields for a stretch of records, by the most common kind of each, and the votes of the columns
    whose values had more than one kind (the values of the others are set aside, and may fit the
    manifest's type): one vote per kind, its types merged. Inside a kind, nested fields vote with
    their parent's count, as a native chunk's do: a handful of votes per column, however varied."""
    votes = Counter(value_type(record) for record in records)
    fields = merge_fields([], [(list(t), count) for t, count in votes.items()])
    by_column: dict[str, dict[str, list[TypeVote]]] = {}
    for record_type, count in votes.items():
        for field in record_type:
            kind = kind_of(field.type)
            if kind != "null":
                by_column.setdefault(field.name, {}).setdefault(kind, []).append((field.type, count))
    mixed = {
        name: [(merge_types(None, typed), sum(n for _, n in typed)) for typed in kinds.values()]
        for name, kinds in by_column.items()
        if len(kinds) > 1
    }
    return Inferred(fields, mixed)


@dataclass(slots=True)
class Split:
    """Records split into what goes to columns and what is rescued, by row index."""

    rows: list[dict[str, Any]]
    rescued: dict[int, dict[str, Any]]
    values_rescued: int
    duplicates: dict[int, list[list[Any]]]  # earlier values of duplicated keys ([path, value] pairs)


def split_records(records: list[dict[str, Any]], fields: list[pa.Field]) -> Split:
    """Fit each record to ``fields``: fitting values stay, misfits go to the row's overlay."""
    struct = pa.struct(fields)
    rows: list[dict[str, Any]] = []
    rescued: dict[int, dict[str, Any]] = {}
    duplicates: dict[int, list[list[Any]]] = {}
    count = 0
    for index, record in enumerate(records):
        kept, overlay = _fit(record, struct)
        earlier = duplicates_in(record)
        if earlier:
            duplicates[index] = earlier
            count += len(earlier)  # each earlier duplicate counts as a value rescued
        rows.append(kept if isinstance(kept, dict) else {})
        if overlay is not _MISSING:
            rescued[index] = overlay
            count += count_rescued(overlay)
    return Split(rows, rescued, count, duplicates)


def count_rescued(overlay: dict[str, Any]) -> int:
    """How many values an overlay holds."""
    total = 0
    for value in overlay.values():
        if isinstance(value, dict) and value:
            total += count_rescued(value)
        else:
            total += 1
    return total


def _fit(value: Any, arrow_type: pa.DataType) -> tuple[Any, Any]:
    """(value for the column, overlay or _MISSING)."""
    if value is None:
        return None, _MISSING
    kind = kind_of(arrow_type)
    if kind == "struct":
        if not isinstance(value, dict):
            return None, value
        names = {field.name: field.type for field in arrow_type}
        kept: dict[str, Any] = {}
        overlay: dict[str, Any] = {}
        for key, child in value.items():
            child_type = names.get(key)
            if child_type is None:
                if child is not None:
                    overlay[key] = child  # another spelling of a column, or a reserved name
                continue
            kept_child, rescued_child = _fit(child, child_type)
            kept[key] = kept_child
            if rescued_child is not _MISSING:
                overlay[key] = rescued_child
        return kept, (overlay if overlay else _MISSING)
    if kind == "list":
        if not isinstance(value, list):
            return None, value
        items = []
        for item in value:
            kept_item, rescued_item = _fit(item, arrow_type.value_type)
            if rescued_item is not _MISSING:
                return None, value  # a list is rescued whole: a partial list would mislead
            items.append(kept_item)
        return items, _MISSING
    if _fits_scalar(value, arrow_type):
        if pa.types.is_floating(arrow_type):
            return float(value), _MISSING
        return (int(value) if isinstance(value, float) else value), _MISSING
    return None, value


def _fits_scalar(value: Any, arrow_type: pa.DataType) -> bool:
    if pa.types.is_boolean(arrow_type):
        return isinstance(value, bool)
    if pa.types.is_int64(arrow_type):
        if isinstance(value, float):  # a whole double fits, as on the native path (``conform``)
            return value.is_integer() and abs(value) <= FLOAT_EXACT_INT
        return isinstance(value, int) and not isinstance(value, bool) and INT64_MIN <= value <= INT64_MAX
    if pa.types.is_float64(arrow_type):
        if isinstance(value, float):
            return True
        return isinstance(value, int) and not isinstance(value, bool) and -FLOAT_EXACT_INT <= value <= FLOAT_EXACT_INT
    if pa.types.is_string(arrow_type):
        return isinstance(value, str) and _is_unicode(value)
    return False


def _is_unicode(text: str) -> bool:
    if text.isascii():
        return True
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:  # lone surrogates: valid JSON, not storable as a Parquet string
        return False
    return True


def records_to_table(
    rows: list[dict[str, Any]], fields: list[pa.Field], mixed: dict[str, list[TypeVote]] | None = None
) -> pa.Table:
    """Build a table from fitted rows (every value already fits its field); ``mixed``: the votes of its
    mixed columns, carried by its schema (``schema.with_votes``)."""
    names = {field.name for field in fields}
    schema = with_votes(pa.schema(fields), {name: typed for name, typed in (mixed or {}).items() if name in names})
    if not rows:
        return schema.empty_table()
    return pa.Table.from_pylist(rows, schema=schema)


def take_back(
    columns: list[Any],
    target: pa.Schema,
    overlays: dict[int, dict[str, Any]],
    set_aside: dict[int, dict[str, Any]],
    own: pa.Schema,
) -> tuple[list[Any], dict[int, dict[str, Any]]]:
    """Put back in their columns the values a slow-path chunk set aside that fit ``target`` after all.

    A stretch parsed here is typed by its own vote (``infer_fields``) before the manifest's types are
    known: where those differ (a stored int64 column, or a kind most common in the manifest but not in
    the stretch), values the stretch set aside fit their column. ``columns`` are the chunk's columns
    brought to ``target`` (``conform``), ``overlays`` each row's rescued values (the chunk's own merged
    with the conform misfits), ``set_aside`` the chunk's own, ``own`` the chunk's schema. Per value, but
    only in the columns of a slow-path chunk that set values aside and whose type is not the one the
    chunk chose (what did not fit that type cannot fit it now): the native path never comes here.
    Neither ``overlays`` nor its objects are changed; the columns and overlays to use are returned.
    """
    chosen = dict(zip(own.names, own.types, strict=True))
    changes = {f.name: (i, where) for i, f in enumerate(target) if (where := _changed(chosen.get(f.name), f.type))}
    wanted: dict[int, list[int]] = {}  # column -> rows with a value set aside where its type changed
    for row, overlay in set_aside.items():
        for key, value in overlay.items():
            if key in changes and _touches(value, changes[key][1]):
                wanted.setdefault(changes[key][0], []).append(row)
    if not wanted:
        return columns, overlays
    columns, overlays = list(columns), dict(overlays)
    for column, rows in wanted.items():
        field = target.field(column)
        values = columns[column].to_pylist()
        changed = False
        for row in rows:
            kept, rest = _fit(deep_merge(values[row], overlays[row][field.name]), field.type)
            if kept == values[row]:
                continue  # nothing more of it fits
            values[row], changed = kept, True
            overlay = {key: value for key, value in overlays[row].items() if key != field.name}
            if rest is not _MISSING:
                overlay[field.name] = rest
            if overlay:
                overlays[row] = overlay
            else:
                del overlays[row]
        if changed:
            columns[column] = pa.array(values, field.type)
    return columns, overlays


Changed = Literal[True] | dict[str, "Changed"]  # where a target type differs from a chunk's: all, or by field


def _changed(own: pa.DataType | None, target: pa.DataType) -> Changed | None:
    """Where ``target`` differs from the type a chunk chose (``own``; None: no such column): None when
    nowhere, a tree of the struct fields that differ, or True for the whole value."""
    if own is not None and own.equals(target):
        return None
    if own is not None and pa.types.is_struct(own) and pa.types.is_struct(target):
        children = {f.name: f.type for f in own}
        tree = {f.name: sub for f in target if (sub := _changed(children.get(f.name), f.type)) is not None}
        return tree or None
    return True


def _touches(value: Any, where: Changed) -> bool:
    """Does a value set aside lie (in part) where its column's type changed? Elsewhere it cannot fit now."""
    if where is True:
        return True
    return isinstance(value, dict) and any(key in where and _touches(child, where[key]) for key, child in value.items())
