"""Assembling one output part: parsed chunks brought to the final schema, rescued values, lineage columns.

Every part ends with our columns: ``_rescued_data`` (the overlay of values that did not fit, see
``rescue``), ``_duplicate_keys`` (earlier values of duplicated keys), then with ``--lineage``
``_source_file`` and ``_source_line``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import pyarrow as pa

from ...config.settings import ConversionOptions
from ..provenance import Provenance
from ..rescue import deep_merge, dumps_exact, merge_overlay
from ..schema import (
    DUPLICATES_COLUMN,
    RESCUED_COLUMN,
    RESERVED_NAMES,
    SOURCE_FILE_COLUMN,
    SOURCE_LINE_COLUMN,
    untyped_fields,
    written_schema,
)
from .conform import conform_table
from .rows import count_rescued, take_back
from .stretches import Chunk

Quarantiner = Callable[[int, str, bytes], None]  # (part row, reason, raw)


def assemble_part(
    chunks: list[Chunk],
    final: pa.Schema,
    options: ConversionOptions,
    provenance: Provenance,
    uris: list[str],
    quarantine_row: Quarantiner,
) -> tuple[pa.Table, set[int], int]:
    """The part's table, the indices of the files it holds rows of, and how many values it rescued."""
    tables = []
    values_rescued = 0
    written_files: set[int] = set()
    uri_array = lineage_uris(uris, options)
    for chunk in chunks:
        table, rows, rescued = assemble_chunk(chunk, final, options, provenance, uri_array, quarantine_row)
        values_rescued += rescued
        tables.append(table)
        written_files |= provenance.files_of(rows)
    if not tables:
        return output_schema(final, options.lineage).empty_table(), set(), 0
    return pa.concat_tables(tables), written_files, values_rescued  # every chunk already has the final types


def lineage_uris(uris: list[str], options: ConversionOptions) -> pa.Array | None:
    """The file URIs as an array to take ``_source_file`` from (None without lineage)."""
    return pa.array(uris, pa.string()) if options.lineage else None


def assemble_chunk(
    chunk: Chunk,
    final: pa.Schema,
    options: ConversionOptions,
    provenance: Provenance,
    uri_array: pa.Array | None,
    quarantine_row: Quarantiner,
) -> tuple[pa.Table, Sequence[int], int]:
    """One chunk brought to ``final``: its table, the part rows it keeps, the values it rescued.

    The chunk is left as it was (its overlays are copied before misfits are merged into them), so a
    chunk can be assembled again against another schema.
    """
    untyped = untyped_fields(final) if options.strict else {}
    final = written_schema(final)
    arrays, overlays = conform_table(chunk.table, final)
    rescued = dict(chunk.rescued)
    for row, overlay in overlays.items():
        target = _copy_along(rescued[row], overlay) if row in rescued else {}
        rescued[row] = merge_overlay(target, overlay)
    if chunk.rescued:  # a slow-path chunk: what its own vote set aside may fit ``final``
        arrays, rescued = take_back(arrays, final, rescued, chunk.rescued, chunk.table.schema)
    duplicates = chunk.duplicates
    rows: Sequence[int] = chunk.rows
    keep_mask = None
    if options.strict and (rescued or duplicates):
        # values of untyped fields (such as []) and under reserved names are kept, never misfits
        misfits = {row: rest for row, overlay in rescued.items() if (rest := _without(overlay, untyped, True))}
        for row in duplicates:
            misfits.setdefault(row, {})
        keep_mask = _strict_filter(chunk, misfits, rescued, final, arrays, quarantine_row)
        rows = [r for r, keep in zip(chunk.rows, keep_mask, strict=True) if keep]
        rescued = {row: overlay for row, overlay in rescued.items() if row not in misfits}
        duplicates = {}
    values_rescued = sum(count_rescued(overlay) for overlay in rescued.values())
    values_rescued += sum(len(earlier) for earlier in duplicates.values())
    columns = [*arrays, _json_array(chunk.table.num_rows, rescued), _json_array(chunk.table.num_rows, duplicates)]
    names = [*final.names, RESCUED_COLUMN, DUPLICATES_COLUMN]
    if uri_array is not None:
        files, lines = provenance.sources(chunk.rows)
        columns += [uri_array.take(pa.array(files, pa.int32())), pa.array(lines, pa.int64())]
        names += [SOURCE_FILE_COLUMN, SOURCE_LINE_COLUMN]
    table = pa.Table.from_arrays(columns, names=names)
    if keep_mask is not None:
        table = table.filter(pa.array(keep_mask, pa.bool_()))
    return table, rows, values_rescued


def _copy_along(target: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    """``target`` copied where ``merge_overlay(target, extra)`` would change it (the objects on ``extra``'s
    paths), shared elsewhere: a deep copy of a million-key overlay would cost more than the line's parse."""
    copied = dict(target)
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(copied.get(key), dict):
            copied[key] = _copy_along(copied[key], value)
    return copied


def _without(overlay: dict[str, Any], untyped: dict[str, Any], top: bool = False) -> dict[str, Any]:
    """The overlay without the values of untyped fields (``untyped_fields``) and, at the ``top``, of
    reserved names: the real misfits."""
    rest = {}
    for name, value in overlay.items():
        if top and name.lower() in RESERVED_NAMES:
            continue
        sub = untyped.get(name)
        if sub is True:
            continue
        if isinstance(sub, dict) and isinstance(value, dict):
            value = _without(value, sub)
            if not value:
                continue
        rest[name] = value
    return rest


def _strict_filter(
    chunk: Chunk,
    misfits: dict[int, dict[str, Any]],
    rescued: dict[int, dict[str, Any]],
    final: pa.Schema,
    arrays: list[Any],
    quarantine_row: Quarantiner,
) -> list[bool]:
    """Quarantine each row holding a misfit (its whole record, rescued values included); the keep mask."""
    keep = [True] * chunk.table.num_rows
    wanted = sorted(misfits)
    partial: list[dict[str, Any]] = [{} for _ in wanted]  # a part may have no column (every field past the limits)
    if arrays:
        partial = pa.Table.from_arrays(arrays, names=final.names).take(pa.array(wanted, pa.int64())).to_pylist()
    for row, values in zip(wanted, partial, strict=True):
        keep[row] = False
        record = deep_merge({k: v for k, v in values.items() if v is not None}, rescued.get(row, {}))
        fields = ", ".join(sorted(misfits[row]))
        reason = f"strict mode: value does not fit its column ({fields or 'duplicate keys'})"
        quarantine_row(chunk.rows[row], reason, dumps_exact(record).encode())
    return keep


def _json_array(rows: int, values: dict[int, Any]) -> pa.Array:
    """A string column holding the JSON text of ``values`` at their rows, null elsewhere."""
    if not values:
        return pa.nulls(rows, pa.string())
    texts: list[str | None] = [None] * rows
    for row, value in values.items():
        texts[row] = dumps_exact(value)
    return pa.array(texts, pa.string())


def output_schema(final: pa.Schema, lineage: bool) -> pa.Schema:
    """The schema of a written part: the dataset's columns, ``_rescued_data``, ``_duplicate_keys``, lineage."""
    fields = list(written_schema(final))
    fields += [pa.field(RESCUED_COLUMN, pa.string()), pa.field(DUPLICATES_COLUMN, pa.string())]
    if lineage:
        fields += [pa.field(SOURCE_FILE_COLUMN, pa.string()), pa.field(SOURCE_LINE_COLUMN, pa.int64())]
    return pa.schema(fields)
