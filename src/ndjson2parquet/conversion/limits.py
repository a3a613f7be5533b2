"""How wide and how deep a dataset's columns may grow: the fields past the limits stay in ``_rescued_data``.

Rules (what the README documents)
    * A dataset has at most ``max_columns`` top-level columns and ``max_leaf_columns`` Parquet (leaf)
      columns, nested struct fields and list items included (``ConversionOptions``). Columns already
      stored or listed in the schema file always stay; a new field becomes a column only while both
      limits allow. New top-level fields are admitted most common first (non-null values in the
      manifest), then in first-seen order; new nested fields in first-seen order. A field refused is
      not a column (it is never stored): its values are kept in ``_rescued_data`` as JSON, exactly,
      at their path, and counted with the rescued values (``--strict`` quarantines such rows). One
      record with a million keys therefore adds at most the limits' worth of columns, once; once a
      limit is reached, the new fields of later manifests are kept in ``_rescued_data`` too.
    * A column's type nests at most ``MAX_COLUMN_LEVELS`` Parquet schema levels (a struct takes one,
      a list two, a leaf one): pyarrow's Parquet reader refuses a deeper schema (its limit is 100
      levels, the root included). A value nested deeper (valid JSON goes to 1,024 levels) is kept
      whole in ``_rescued_data`` from the deepest struct field that can still hold the rest of its
      struct; a struct left with no field, or a list that cannot fit, is kept whole from its parent.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pyarrow as pa

from .schema import kind_of, merge_schema

MAX_COLUMN_LEVELS = 99  # Parquet schema levels below the root that pyarrow's reader opens (100 with the root)


@dataclass(frozen=True, slots=True)
class ColumnLimits:
    """The limits of one dataset's columns (``ConversionOptions.max_columns``, ``max_leaf_columns``)."""

    max_columns: int
    max_leaf_columns: int


class _Budget:
    """The leaf columns still free, counted only once something new asks for one (a walk of the base)."""

    def __init__(self, limit: int, base: dict[str, pa.DataType]) -> None:
        self._limit = limit
        self._base = base
        self._left: int | None = None

    def take(self) -> bool:
        """One leaf column, if one is free."""
        if self._left is None:
            self._left = self._limit - sum(leaf_count(t) for t in self._base.values())
        if self._left < 1:
            return False
        self._left -= 1
        return True


def merge_within_limits(
    stored: pa.Schema | None,
    fixed: pa.Schema | None,
    seen: Sequence[tuple[pa.Schema, dict[str, int]]],
    limits: ColumnLimits,
    *,
    widen: bool = False,
) -> pa.Schema:
    """``merge_schema`` with the new fields kept within ``limits`` (module doc)."""
    merged = merge_schema(stored, fixed, seen, widen=widen)
    if stored is not None and merged.equals(stored):
        return stored  # nothing new (the usual case): no walk of a wide stored schema
    base = {
        name: t
        for schema in (stored, fixed)
        if schema is not None
        for name, t in zip(schema.names, schema.types, strict=True)
    }
    weights: dict[str, int] = {}
    for _, counts in seen:
        for name, count in counts.items():
            weights[name] = weights.get(name, 0) + count
    return pa.schema(within_limits(list(merged), base, weights, limits))


def within_limits(
    merged: list[pa.Field], base: dict[str, pa.DataType], weights: dict[str, int], limits: ColumnLimits
) -> list[pa.Field]:
    """``merged`` without the new fields (and new nested fields) that the limits leave no room for.

    ``base`` holds the types the dataset already has (kept whatever the limits say), ``weights`` the
    non-null values of each top-level field in the manifest (a base field without any is kept as it
    is, unlooked at). Costs a walk of types, never of values.
    """
    budget = _Budget(limits.max_leaf_columns, base)
    kept: dict[str, pa.Field] = {}
    new: list[tuple[int, pa.Field]] = []
    for index, field in enumerate(merged):
        if field.name not in base:
            new.append((index, field))
        elif weights.get(field.name, 0) > 0:
            kept[field.name] = pa.field(field.name, _fit(field.type, base[field.name], budget, MAX_COLUMN_LEVELS))
        else:
            kept[field.name] = field
    room = limits.max_columns - len(kept)
    for _, field in sorted(new, key=lambda item: (-weights.get(item[1].name, 0), item[0])):
        if room <= 0:
            break
        fitted = _fit(field.type, None, budget, MAX_COLUMN_LEVELS)
        if fitted is not None:
            kept[field.name] = pa.field(field.name, fitted)
            room -= 1
    return [kept[f.name] for f in merged if f.name in kept]


def _fit(merged: pa.DataType, base: pa.DataType | None, budget: _Budget, levels: int) -> pa.DataType | None:
    """``merged`` with what is new in it (beside ``base``) admitted while the budget and ``levels`` allow.

    None when nothing of a new type fits; a type the dataset already has is never taken away.
    """
    if base is not None and merged.equals(base):
        return merged  # already counted, already within the dataset's shape
    kind = kind_of(merged)
    fitted: pa.DataType | None = None
    if kind == "struct":
        children = {f.name: f.type for f in base} if base is not None and kind_of(base) == "struct" else {}
        fields = []
        for child in merged:
            child_type = _fit(child.type, children.get(child.name), budget, levels - 1) if levels > 1 else None
            if child_type is None and child.name in children:
                child_type = children[child.name]
            if child_type is not None:
                fields.append(pa.field(child.name, child_type))
        fitted = pa.struct(fields) if fields else None
    elif kind == "list":
        base_item = base.value_type if base is not None and kind_of(base) == "list" else None
        item = _fit(merged.value_type, base_item, budget, levels - 2) if levels > 2 else None
        item = item if item is not None else base_item
        fitted = pa.list_(item) if item is not None else None
    elif base is not None:
        fitted = merged  # a leaf the dataset has (an untyped one taking a type): no new column
    elif levels >= 1 and budget.take():
        fitted = merged
    return fitted if fitted is not None else base


def leaf_count(arrow_type: pa.DataType) -> int:
    """The Parquet (leaf) columns a type takes (an untyped field counts as one)."""
    count, stack = 0, [arrow_type]
    while stack:
        current = stack.pop()
        if pa.types.is_struct(current):
            stack.extend(f.type for f in current)
        elif pa.types.is_list(current) or pa.types.is_large_list(current):
            stack.append(current.value_type)
        else:
            count += 1
    return count
