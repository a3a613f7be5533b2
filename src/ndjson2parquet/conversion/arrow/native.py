"""The native JSON reader (``pyarrow.json``) on screened stretches: its options, and the checks on what it gives.

Only screened text reaches it (see ``lines``): it would crash on a nesting bomb or a bare ``null``.
A parse is refused (``None``: the caller screens the stretch, halves it or parses it in Python) when
the reader fails (malformed JSON, a line that is not an object, a type drifting within the stretch,
duplicate keys), when its row count is not the line count (two values on one line), when it built an
invalid array, or when a float column holds what JSON has no number for (``NaN``/``Infinity``, which
the reader accepts) or may hold integers a double rounded.
"""

from __future__ import annotations

from dataclasses import dataclass

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.json as pj

from ..lines import screen
from ..schema import is_temporal, map_leaves, strings_only, timestamps_to_strings

FLOAT_EXACT_INT = 2**53
SAMPLE_BYTES = 256 * 1024  # the sample parsed first to learn which fields look like timestamps


def explicit_strings(
    fixed: pa.Schema | None, stored: pa.Schema | None, names: set[str] | None = None
) -> pa.Schema | None:
    """The string leaves of the explicit and stored schemas (of the fields in ``names``, when given):
    declared to the reader so dates stay strings."""
    fields: dict[str, pa.Field] = {}
    seen: set[str] = set()
    for schema in (fixed, stored):
        for index, name in enumerate(schema.names if schema is not None else []):
            if name.lower() in seen:
                continue
            seen.add(name.lower())
            if names is not None and name not in names:
                continue
            assert schema is not None
            f = schema.field(index)
            only = strings_only(f.type)
            if only is not None:
                fields[f.name] = pa.field(f.name, only)
    return pa.schema(list(fields.values())) if fields else None


@dataclass(slots=True)
class Declared:
    """The schema declared to the reader: the types a sample showed, else the string leaves alone.

    Declared types spare the reader its inference (a fifth of the parse). A stretch whose values do not
    fit them (an integer column meeting ``1.5``) is read again with the string leaves alone, and from
    then on the run declares only those: the reader's own inference widens as the data drifts.
    """

    strings: pa.Schema | None
    full: pa.Schema | None = None
    full_refused: bool = False  # set by a parse thread; a plain flag, a race only costs one more read

    def schemas(self) -> list[pa.Schema | None]:
        """The schemas to try, in order."""
        if self.full is None or self.full_refused:
            return [self.strings]
        return [self.full, self.strings]


def learn_declared(buffer: bytes, fixed: pa.Schema | None, block: int, stored: pa.Schema | None = None) -> Declared:
    """Parse a small sample first: its types are declared for the whole parse, date-like strings as strings.

    Without this, a manifest of a dataset with no stored schema yet would be parsed twice (once to
    find that the reader guessed timestamps, once to undo the guess), and every stretch would pay
    for the reader's type inference. Of the string leaves of ``fixed`` and ``stored``
    (``explicit_strings``), only those of fields the sample holds a value of are declared, and the
    sample itself is read without them: the reader fills a column for every declared field, row by
    row, so declaring every string column a dataset ever had would make every stretch as wide and as
    slow as the dataset. A field the sample missed is still read right: a guessed timestamp is read
    again as a string (``native_parse``).
    """
    cut = buffer.find(b"\n", SAMPLE_BYTES) if len(buffer) > SAMPLE_BYTES else -1
    if cut == -1 or cut + 1 >= len(buffer):
        cut = len(buffer) - 1  # the sample is the whole stretch: parsed twice, but small
    sample = read(buffer[: cut + 1], None, block)  # declaring a wide schema would cost more than the sample
    if sample is None:  # a bad line in it (an unscreened stretch): its good lines are sample enough
        rows = screen(buffer[: cut + 1], start_offset=0, max_line_bytes=cut + 1).rows
        sample = read(b"\n".join(rows) + b"\n", None, block) if rows else None
    if sample is None:
        return Declared(None)
    present = {
        name
        for name, column in zip(sample.column_names, sample.columns, strict=True)
        if column.null_count < len(column)
    }
    explicit = explicit_strings(fixed, stored, present)
    forced = [(f.name, timestamps_to_strings(f.type)) for f in sample.schema]
    forced_fields = [pa.field(name, t) for name, t in forced if t is not None]
    strings = with_forced(explicit, forced_fields) if forced_fields else explicit
    settled = [(f.name, _declarable(f.type)) for f in sample.schema if f.name in present]
    full = with_forced(pa.schema([pa.field(name, t) for name, t in settled if t is not None]), list(strings or []))
    return Declared(strings, full if len(full) else None)


def _declarable(arrow_type: pa.DataType) -> pa.DataType | None:
    """A sample's type as declared: timestamps as strings, null leaves left to inference."""
    return map_leaves(arrow_type, lambda t: None if pa.types.is_null(t) else pa.string() if is_temporal(t) else t)


def with_forced(explicit: pa.Schema | None, forced: list[pa.Field]) -> pa.Schema:
    """The explicit schema plus fields forced to string (struct children merged, not replaced)."""
    merged = {f.name: f.type for f in (explicit or [])}
    for f in forced:
        merged[f.name] = _union_explicit(merged[f.name], f.type) if f.name in merged else f.type
    return pa.schema([pa.field(name, t) for name, t in merged.items()])


def _union_explicit(old: pa.DataType, new: pa.DataType) -> pa.DataType:
    if pa.types.is_struct(old) and pa.types.is_struct(new):
        children = {f.name: f.type for f in old}
        for f in new:
            children[f.name] = _union_explicit(children[f.name], f.type) if f.name in children else f.type
        return pa.struct([pa.field(name, t) for name, t in children.items()])
    if pa.types.is_list(old) and pa.types.is_list(new):
        return pa.list_(_union_explicit(old.value_type, new.value_type))
    return new


def native_parse(buffer: bytes, rows: int, declared: Declared, block: int) -> pa.Table | None:
    """Parse ``rows`` lines (``buffer``, each ending with ``\\n``); None when refused (module doc)."""
    if not rows:
        return pa.table({})
    table, explicit = None, None
    for explicit in declared.schemas():
        table = read(buffer, explicit, block)
        if table is not None:
            declared.full_refused = declared.full_refused or explicit is not declared.full
            break
    if table is None or table.num_rows != rows:
        return None
    forced = [(f.name, timestamps_to_strings(f.type)) for f in table.schema]
    forced_fields = [pa.field(name, t) for name, t in forced if t is not None]
    if forced_fields:
        table = read(buffer, with_forced(explicit, forced_fields), block)
        if table is None or table.num_rows != rows:
            return None
    try:
        # The reader has been seen to build invalid lists (a list starting with null, arrow-rs corpus),
        # and a full validation is cheap next to the parse.
        table.validate(full=True)
    except pa.ArrowInvalid:
        return None
    if any(_suspect_floats(column) for column in table.columns):
        return None
    return table


def read(buffer: bytes, explicit: pa.Schema | None, block: int) -> pa.Table | None:
    """One call of the reader (large blocks; its own threads do not help it, so the engine runs two)."""
    try:
        return pj.read_json(
            pa.BufferReader(buffer),
            read_options=pj.ReadOptions(use_threads=False, block_size=min(block, max(len(buffer), 1 << 16))),
            parse_options=pj.ParseOptions(
                explicit_schema=explicit, newlines_in_values=False, unexpected_field_behavior="infer"
            ),
        )
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError, UnicodeDecodeError):
        return None


def _suspect_floats(column: pa.ChunkedArray | pa.Array) -> bool:
    """True when a float column holds NaN or infinity (not JSON) or integral values of 2**53 or more
    (maybe integers a double rounded)."""
    arrow_type = column.type
    if pa.types.is_floating(arrow_type):
        if pc.any(pc.invert(pc.is_finite(column))).as_py():
            return True
        big = pc.greater_equal(pc.abs(column), FLOAT_EXACT_INT)
        if not pc.any(big).as_py():
            return False
        return bool(pc.any(pc.and_(big, pc.equal(pc.floor(column), column))).as_py())
    # children by .field() and .values (no copy, unlike flatten(), which costs as much as the nesting is deep):
    # values a parent's null hides are looked at too, which at worst refuses a parse that was fine
    arrays = column.chunks if isinstance(column, pa.ChunkedArray) else [column]
    if pa.types.is_struct(arrow_type):
        return any(_suspect_floats(array.field(i)) for array in arrays for i in range(arrow_type.num_fields))
    if pa.types.is_list(arrow_type):
        return any(_suspect_floats(array.values) for array in arrays)
    return False
