"""Bringing a parsed table to the dataset schema, column by column, natively where types agree.

Values that cannot take their column's type are collected per row (as Python values, only those
rows) to become the row's ``_rescued_data`` overlay; the column gets a null there. See ``rescue``.
"""

from __future__ import annotations

import bisect
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from ..schema import kind_of

Column = pa.Array | pa.ChunkedArray
Misfits = dict[int, Any]  # row index -> the value rescued for this column (an overlay fragment)
FLOAT_EXACT_INT = 2**53
DEEP_LEVELS = 16  # an array nested deeper is read row by row (``_values_at``)


def _as_array(column: pa.Array | pa.ChunkedArray) -> pa.Array:
    if isinstance(column, pa.ChunkedArray):
        return column.combine_chunks() if column.num_chunks != 1 else column.chunk(0)
    return column


def _all_values(array: pa.Array) -> Misfits:
    """Every non-null value of an array, by row: what a column of the wrong type rescues."""
    if array.null_count == len(array):
        return {}
    rows = pc.indices_nonzero(pc.is_valid(array)).to_pylist()
    return dict(zip(rows, _values_at(array, rows), strict=True))


def _values_at(array: pa.Array, rows: list[int]) -> list[Any]:
    """The Python values of ``rows`` of ``array``.

    ``take`` costs the square of the nesting depth (seconds for one value 1,000 levels deep): a deeply
    nested array is read row by row from zero-copy slices instead.
    """
    if _levels(array.type) <= DEEP_LEVELS:
        return array.take(pa.array(rows, pa.int64())).to_pylist()
    return [array.slice(row, 1).to_pylist()[0] for row in rows]


def _levels(arrow_type: pa.DataType) -> int:
    """How deep a type nests (the deepest path; a scalar is 0)."""
    deepest, stack = 0, [(arrow_type, 0)]
    while stack:
        current, level = stack.pop()
        deepest = max(deepest, level)
        if pa.types.is_struct(current):
            stack.extend((f.type, level + 1) for f in current)
        elif pa.types.is_list(current) or pa.types.is_large_list(current):
            stack.append((current.value_type, level + 1))
    return deepest


def conform_array(column: Column, target: pa.DataType) -> tuple[Column, Misfits]:
    """``column`` as ``target`` plus the values that do not fit it, by row."""
    if column.type == target:
        return column, {}
    array = _as_array(column)
    source_kind, target_kind = kind_of(array.type), kind_of(target)
    if source_kind == "null":
        return pa.nulls(len(array), target), {}
    if source_kind != target_kind or target_kind in ("null", "other"):
        return pa.nulls(len(array), target), _all_values(array)
    if target_kind == "number":
        return _conform_number(array, target)
    if target_kind == "struct":
        return _conform_struct(array, target)
    if target_kind == "list":
        return _conform_list(array, target)
    return array.cast(target), {}  # string/large_string and the like


def _conform_number(array: pa.Array, target: pa.DataType) -> tuple[pa.Array, Misfits]:
    if pa.types.is_floating(target) and pa.types.is_integer(array.type):
        too_big = pc.or_(pc.greater(array, FLOAT_EXACT_INT), pc.less(array, -FLOAT_EXACT_INT))
        misfits: Misfits = {}
        if pc.any(too_big).as_py():
            misfits = _values_where(array, too_big)
            array = pc.if_else(too_big, pa.scalar(None, array.type), array)
        return array.cast(target), misfits
    if pa.types.is_integer(target) and pa.types.is_integer(array.type):
        return array.cast(target), {}
    # doubles meeting an int64 column (widening off): whole values fit (the reader typed the stretch
    # double for another row's 1.5), the rest is rescued, never truncated
    whole = pc.and_(pc.equal(pc.floor(array), array), pc.less_equal(pc.abs(array), FLOAT_EXACT_INT))
    misfit = pc.invert(pc.fill_null(whole, True))
    if not pc.any(misfit).as_py():
        return array.cast(target), {}
    misfits = _values_where(array, misfit)
    return pc.if_else(misfit, pa.scalar(None, array.type), array).cast(target), misfits


def _values_where(array: pa.Array, mask: pa.Array) -> Misfits:
    rows = pc.indices_nonzero(pc.fill_null(mask, False)).to_pylist()
    return dict(zip(rows, _values_at(array, rows), strict=True))


def _conform_struct(array: pa.StructArray, target: pa.StructType) -> tuple[pa.Array, Misfits]:
    children = dict(zip([f.name for f in array.type], array.flatten(), strict=True))
    misfits: Misfits = {}
    arrays = []
    for field in target:
        child = children.pop(field.name, None)
        if child is None:
            arrays.append(pa.nulls(len(array), field.type))
            continue
        conformed, child_misfits = conform_array(child, field.type)
        arrays.append(_as_array(conformed))
        _nest(misfits, child_misfits, field.name)
    for name, child in children.items():  # another spelling, or a name the schema does not take
        _nest(misfits, _all_values(child), name)
    mask = array.is_null() if array.null_count else None
    return pa.StructArray.from_arrays(arrays, fields=list(target), mask=mask), misfits


def _nest(misfits: Misfits, child_misfits: Misfits, name: str) -> None:
    for row, value in child_misfits.items():
        misfits.setdefault(row, {})[name] = value


def _conform_list(array: pa.ListArray, target: pa.ListType) -> tuple[pa.Array, Misfits]:
    lengths = pc.fill_null(pc.list_value_length(array), 0)
    offsets = pa.concat_arrays([pa.array([0], pa.int64()), pc.cumulative_sum(lengths.cast(pa.int64()))])
    values, item_misfits = conform_array(array.flatten(), target.value_type)
    values = _as_array(values)
    null_rows = array.is_null()
    misfits: Misfits = {}
    if item_misfits:
        starts = offsets.to_pylist()
        bad_rows = sorted({bisect.bisect_right(starts, item) - 1 for item in item_misfits})
        originals = _values_at(array, bad_rows)
        misfits = dict(zip(bad_rows, originals, strict=True))  # rescued whole, never half a list
        bad_mask = pc.is_in(pa.array(range(len(array)), pa.int64()), value_set=pa.array(bad_rows, pa.int64()))
        null_rows = pc.or_(null_rows, bad_mask)
    mask = null_rows if pc.any(null_rows).as_py() else None
    rebuilt = pa.ListArray.from_arrays(offsets.cast(pa.int32()), values, type=target, mask=mask)
    return rebuilt, misfits


def conform_table(table: pa.Table, target: pa.Schema) -> tuple[list[Column], dict[int, dict[str, Any]]]:
    """The table's columns in ``target``'s order and types, and each row's overlay of misfits."""
    columns = dict(zip(table.column_names, table.columns, strict=True))
    overlays: dict[int, dict[str, Any]] = {}
    arrays: list[Column] = []
    for field in target:
        column = columns.pop(field.name, None)
        if column is None:
            arrays.append(pa.nulls(table.num_rows, field.type))
            continue
        conformed, misfits = conform_array(column, field.type)
        arrays.append(conformed)
        _nest(overlays, misfits, field.name)
    for name, column in columns.items():  # spellings colliding by case, reserved names
        _nest(overlays, _all_values(_as_array(column)), name)
    return arrays, overlays
