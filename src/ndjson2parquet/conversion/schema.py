"""Dataset schemas: the type system, its JSON form, and the merge / evolution rules (pure functions).

The schema is decided by this module, never by whatever a parser guesses from its first block.

Types
    A column is one of ``null`` (only nulls seen so far), ``bool``, ``int64``, ``float64``, ``string``,
    ``{"list": <type>}`` or ``{"struct": [<field>, ...]}``. No timestamp is ever inferred: strings
    that look like dates stay strings (the native reader's timestamp guess is undone).

JSON form (the stored schema, and the format of an explicit schema file)::

    {"format": "ndjson2parquet.schema/1",
     "fields": [{"name": "id", "type": "int64"},
                {"name": "user", "type": {"struct": [{"name": "name", "type": "string"}]}},
                {"name": "tags", "type": {"list": "string"}}]}

Rules (what the README documents)
    * Inference covers the whole manifest; it is merged with the dataset's stored schema.
    * Evolution: a new field becomes a nullable column (a new nested field a nullable struct field); an
      existing column keeps its physical type once written (``null -> anything`` only: untyped columns
      are never written). A value whose type does not fit its column is kept in ``_rescued_data`` (or
      quarantined in strict mode); one that fits stays in its column, whatever the mix of the
      manifest. Widening ``int64 -> float64`` happens only when the caller opts in (``widen``,
      ``--allow-widening``): the lake's parts then disagree on that column's type, which only some
      readers' recipes reconcile (README, "Reading the lake").
    * An explicit schema file fixes the types of the fields it lists (no widening); other fields are
      inferred as usual.
    * Mixed types for a NEW column (within a manifest): the most common kind wins, counted over every
      non-null value of the manifest, however its stretches were parsed (``int64`` and ``float64``
      count as one kind, "number", and give ``float64`` when both occur); ties go to the first of
      string, number, bool, struct, list. The other values are rescued. The same rule applies inside
      structs and to list elements; a list whose elements do not fit is rescued whole.
    * Keys that differ only in case (Athena, Hive and Glue are case-insensitive): the column takes the
      spelling already stored, else the first spelling seen in the manifest; values under any other
      spelling go to ``_rescued_data`` under their own spelling (lossless).
    * Reserved names (top level, case-insensitive) are never data columns: our own columns
      ``_rescued_data``, ``_duplicate_keys``, ``_source_file``, ``_source_line``, and the partition
      column ``date`` (Hive readers would show the folder's value instead of the record's). A record's
      value under such a key is kept in ``_rescued_data`` under its own spelling (lossless). Nested
      fields with these names are ordinary fields.
    * ``null`` columns (nothing but nulls so far) stay in the stored schema, untyped, and take a real
      type as soon as one is seen; until then they are left out of the Parquet files (``written_schema``:
      many readers, Athena among them, cannot read Parquet's null type), and so are untyped fields
      inside structs and lists of untyped items. A value under such a field that is not null (``[]``,
      ``{}``) is kept in ``_rescued_data``: nothing is lost.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import pyarrow as pa

from ..domain.errors import ConfigError

SCHEMA_FORMAT = "ndjson2parquet.schema/1"
RESCUED_COLUMN = "_rescued_data"
DUPLICATES_COLUMN = "_duplicate_keys"
SOURCE_FILE_COLUMN = "_source_file"
SOURCE_LINE_COLUMN = "_source_line"
PARTITION_COLUMNS = ("date",)  # <dataset>/date=YYYY-MM-DD/: Hive readers add it as a column
#: top-level names no input field may take as a column (compared in lower case)
RESERVED_NAMES = frozenset(
    n.lower() for n in (RESCUED_COLUMN, DUPLICATES_COLUMN, SOURCE_FILE_COLUMN, SOURCE_LINE_COLUMN, *PARTITION_COLUMNS)
)

# Kind order breaks ties between equally common kinds of a new column (first wins).
KIND_ORDER = ("string", "number", "bool", "struct", "list")
INT64_MIN = -(2**63)
INT64_MAX = 2**63 - 1

_SCALARS: dict[str, pa.DataType] = {
    "null": pa.null(),
    "bool": pa.bool_(),
    "int64": pa.int64(),
    "float64": pa.float64(),
    "string": pa.string(),
}

TypeVote = tuple[pa.DataType, int]  # a type seen, and how many non-null values had it
VOTES_KEY = b"ndjson2parquet.votes"  # schema metadata: the votes of a chunk's mixed columns


def kind_of(arrow_type: pa.DataType) -> str:
    """The family a type belongs to for voting: null, bool, number, string, struct, list or other."""
    if pa.types.is_null(arrow_type):
        return "null"
    if pa.types.is_boolean(arrow_type):
        return "bool"
    if pa.types.is_integer(arrow_type) or pa.types.is_floating(arrow_type):
        return "number"
    if pa.types.is_string(arrow_type) or pa.types.is_large_string(arrow_type):
        return "string"
    if pa.types.is_struct(arrow_type):
        # An object never seen with a key ({}) has no column to offer: it counts as null.
        return "struct" if arrow_type.num_fields else "null"
    if pa.types.is_list(arrow_type) or pa.types.is_large_list(arrow_type):
        return "list"
    return "other"


# --- JSON form ---------------------------------------------------------------------------------


def type_to_json(arrow_type: pa.DataType) -> object:
    """The JSON form of one column type."""
    kind = kind_of(arrow_type)
    if kind == "struct":
        return {"struct": [field_to_json(f) for f in arrow_type]}
    if kind == "list":
        return {"list": type_to_json(arrow_type.value_type)}
    if kind == "number":
        return "float64" if pa.types.is_floating(arrow_type) else "int64"
    if kind in ("null", "bool", "string"):
        return {"null": "null", "bool": "bool", "string": "string"}[kind]
    raise ValueError(f"type {arrow_type} has no place in a dataset schema")


def field_to_json(field: pa.Field) -> dict[str, object]:
    """The JSON form of one named field."""
    return {"name": field.name, "type": type_to_json(field.type)}


def type_from_json(value: object) -> pa.DataType:
    """Parse the JSON form of one column type; raises ValueError on anything unknown."""
    if isinstance(value, str):
        if value not in _SCALARS:
            raise ValueError(f"unknown type {value!r} (expected one of {', '.join(_SCALARS)}, list, struct)")
        return _SCALARS[value]
    if isinstance(value, dict) and len(value) == 1:
        if "list" in value:
            return pa.list_(type_from_json(value["list"]))
        if "struct" in value:
            return pa.struct([_field_from_json(f) for f in _as_list(value["struct"])])
    raise ValueError(f"bad type {value!r}")


def _as_list(value: object) -> list[object]:
    if not isinstance(value, list):
        raise ValueError(f"expected a list of fields, got {value!r}")
    return value


def _field_from_json(value: object) -> pa.Field:
    if not isinstance(value, dict) or not isinstance(value.get("name"), str) or "type" not in value:
        raise ValueError(f"a field needs a name and a type: {value!r}")
    return pa.field(value["name"], type_from_json(value["type"]), nullable=True)


def schema_to_json(schema: pa.Schema) -> str:
    """Serialise a dataset schema (stable, compact, sorted by nothing: column order is kept)."""
    return json.dumps({"format": SCHEMA_FORMAT, "fields": [field_to_json(f) for f in schema]}, separators=(",", ":"))


def schema_from_json(text: str | None) -> pa.Schema | None:
    """Parse a stored schema or an explicit schema file; None stays None. Raises ConfigError when bad."""
    if text is None or not text.strip():
        return None
    return _parsed_schema(text)


@functools.lru_cache(maxsize=16)
def _parsed_schema(text: str) -> pa.Schema:
    """The schema of one JSON text, parsed once: every manifest of a dataset starts from the same text."""
    try:
        document = json.loads(text)
        if not isinstance(document, dict) or document.get("format", SCHEMA_FORMAT) != SCHEMA_FORMAT:
            raise ValueError(f"not a {SCHEMA_FORMAT} document")
        fields = [_field_from_json(f) for f in _as_list(document.get("fields"))]
    except ValueError as exc:
        raise ConfigError(f"bad schema JSON: {exc}") from exc
    lowered = [f.name.lower() for f in fields]
    if len(set(lowered)) != len(lowered):
        raise ConfigError("bad schema JSON: two fields differ only in case")
    return pa.schema(fields)


def load_schema_file(path: str) -> pa.Schema:
    """Read an explicit schema file (the same JSON form as the stored schema)."""
    try:
        with open(path, encoding="utf-8") as handle:
            text = handle.read()
    except OSError as exc:
        raise ConfigError(f"cannot read schema file {path}: {exc}") from exc
    schema = schema_from_json(text)
    if schema is None:
        raise ConfigError(f"schema file {path} is empty")
    taken = [name for name in schema.names if name.lower() in RESERVED_NAMES]
    if taken:
        raise ConfigError(f"schema file {path}: {', '.join(taken)} is a reserved name (see README), not a column")
    return schema


def normalise_type(arrow_type: pa.DataType) -> pa.DataType:
    """Map whatever a reader produced onto our type system (int* -> int64, large_* -> plain, ...)."""
    kind = kind_of(arrow_type)
    if kind == "number":
        return pa.float64() if pa.types.is_floating(arrow_type) else pa.int64()
    if kind == "string":
        return pa.string()
    if kind == "list":
        return pa.list_(normalise_type(arrow_type.value_type))
    if kind == "struct":
        return pa.struct([pa.field(f.name, normalise_type(f.type)) for f in arrow_type])
    return arrow_type


# --- merging -----------------------------------------------------------------------------------


def merge_types(base: pa.DataType | None, votes: Sequence[TypeVote], *, widen: bool = False) -> pa.DataType:
    """Decide one column's type from the type it already has (``base``) and the types seen now.

    With a base, its kind and physical type are kept (``widen`` opts in to int64 -> float64); without
    one, the most common kind wins. Votes of another kind are not merged: their values are rescued later.
    """
    real_votes = [(t, w) for t, w in votes if kind_of(t) != "null" and w > 0]
    if base is not None and kind_of(base) != "null":
        kind = kind_of(base)
    elif real_votes:
        totals: dict[str, int] = {}
        for arrow_type, weight in real_votes:
            totals[kind_of(arrow_type)] = totals.get(kind_of(arrow_type), 0) + weight
        kind = max(totals, key=lambda k: (totals[k], -_kind_rank(k)))
    else:
        return pa.null()
    same = [(t, w) for t, w in real_votes if kind_of(t) == kind]
    if kind == "number":
        if base is not None and kind_of(base) == "number":
            if pa.types.is_floating(base) or (widen and any(pa.types.is_floating(t) for t, _ in same)):
                return pa.float64()
            return pa.int64()
        return pa.float64() if any(pa.types.is_floating(t) for t, _ in same) else pa.int64()
    if kind == "struct":
        base_fields = list(base) if base is not None and kind_of(base) == "struct" else []
        fields = merge_fields(base_fields, [([*t], w) for t, w in same], widen=widen, reserved=frozenset())
        return pa.struct(fields)
    if kind == "list":
        base_item = base.value_type if base is not None and kind_of(base) == "list" else None
        return pa.list_(merge_types(base_item, [(t.value_type, w) for t, w in same], widen=widen))
    if base is not None and kind_of(base) != "null":
        return normalise_type(base)
    return normalise_type(same[0][0])


def _kind_rank(kind: str) -> int:
    return KIND_ORDER.index(kind) if kind in KIND_ORDER else len(KIND_ORDER)


def merge_fields(
    base: Sequence[pa.Field],
    seen: Iterable[tuple[Sequence[pa.Field], int]],
    *,
    widen: bool = False,
    child_weights: Sequence[dict[str, int] | None] | None = None,
    fixed: Sequence[pa.Field] = (),
    reserved: frozenset[str] = RESERVED_NAMES,
) -> list[pa.Field]:
    """Merge named fields: base fields first (their order and spelling), then new names in first-seen order.

    ``seen`` holds (fields, weight) per source; ``child_weights`` may give a per-field weight per source
    (non-null counts) instead. ``fixed`` fields (explicit schema file) win over ``base`` and never widen.
    ``reserved`` names (lower case; the top level's by default, none inside structs) are left out; names
    equal but for case collapse to one spelling (see module doc).
    """
    spelling: dict[str, str] = {}
    order: list[str] = []
    bases: dict[str, tuple[pa.DataType, bool]] = {}
    kept: dict[str, pa.Field] = {}  # the base fields themselves: one with nothing new is kept as it is
    for field in fixed:
        bases[field.name.lower()] = (field.type, False)
        spelling[field.name.lower()] = field.name
        order.append(field.name.lower())
        kept[field.name.lower()] = field
    for field in base:
        key = field.name.lower()
        if key in reserved:
            continue  # a schema stored before the name was reserved: its values are rescued from now on
        if key not in spelling:
            spelling[key] = field.name
            order.append(key)
            bases[key] = (field.type, widen)
            kept[key] = field
    votes: dict[str, list[TypeVote]] = {}
    for index, (fields, weight) in enumerate(seen):
        weights = child_weights[index] if child_weights is not None else None
        for field in fields:
            key = field.name.lower()
            if key in reserved:
                continue
            if key not in spelling:
                spelling[key] = field.name
                order.append(key)
            if field.name != spelling[key]:
                continue  # another spelling: rescued by value, so it does not vote
            child_weight = weights.get(field.name, 0) if weights is not None else weight
            votes.setdefault(key, []).append((field.type, child_weight))
    merged = []
    for key in order:
        base_type, may_widen = bases.get(key, (None, widen))
        key_votes = votes.get(key, [])
        if base_type is not None and not any(w > 0 and kind_of(t) != "null" for t, w in key_votes):
            merged.append(kept[key])  # nothing new: a wide stored schema costs little
            continue
        merged.append(pa.field(spelling[key], merge_types(base_type, key_votes, widen=may_widen)))
    return merged


def merge_schema(
    stored: pa.Schema | None,
    fixed: pa.Schema | None,
    seen: Sequence[tuple[pa.Schema, dict[str, int]]],
    *,
    widen: bool = False,
) -> pa.Schema:
    """The dataset schema after a manifest: stored + explicit file + every chunk's (schema, non-null counts).

    A chunk's schema may carry the votes of its mixed columns (``with_votes``): they count instead of
    its column's type and non-null count. ``widen``: stored int64 columns meeting doubles become float64
    (the ``--allow-widening`` opt-in).
    """
    sources: list[tuple[list[pa.Field], dict[str, int]]] = []
    for schema, counts in seen:
        votes = votes_of(schema)
        if not votes:
            sources.append((list(schema), counts))
            continue
        # the chunk's own fields first (they keep the first-seen order of names), its mixed columns' at 0
        sources.append((list(schema), {name: 0 if name in votes else count for name, count in counts.items()}))
        sources += [([pa.field(name, t)], {name: n}) for name, typed in votes.items() for t, n in typed]
    fields = merge_fields(
        list(stored) if stored is not None else [],
        [(fields, 0) for fields, _ in sources],
        widen=widen,
        child_weights=[counts for _, counts in sources],
        fixed=list(fixed) if fixed is not None else (),
    )
    return pa.schema(fields)


def with_votes(schema: pa.Schema, votes: dict[str, list[TypeVote]]) -> pa.Schema:
    """``schema`` carrying the votes of its mixed columns (name -> every type its values had, and how many).

    The slow path types a stretch by a vote of its own and sets the other values aside (``rows``): its
    column shows one type and that type's count only. The votes travel with the table's schema (the
    engine keeps chunk schemas, nothing else, to decide the manifest's types) so ``merge_schema``
    counts every value of the manifest, as the rule says.
    """
    if not votes:
        return schema
    document = [[name, [[type_to_json(t), n] for t, n in typed]] for name, typed in votes.items()]
    return schema.with_metadata({VOTES_KEY: json.dumps(document, separators=(",", ":")).encode()})


def votes_of(schema: pa.Schema) -> dict[str, list[TypeVote]]:
    """The votes ``with_votes`` put on ``schema`` (empty when none)."""
    text = (schema.metadata or {}).get(VOTES_KEY)
    if text is None:
        return {}
    return {name: [(type_from_json(t), n) for t, n in typed] for name, typed in json.loads(text)}


def fits_within(written: pa.DataType, dataset: pa.DataType, *, widen: bool = False) -> bool:
    """Can a part whose column has type ``written`` sit in a lake whose schema says ``dataset``?

    Yes when the types are equal, or ``written`` is a struct holding a subset of the dataset's fields
    (each fitting), or a list of items that fit; with ``widen``, an int64 fits a float64 column.
    """
    if pa.types.is_struct(written) and pa.types.is_struct(dataset):
        children = {f.name: f.type for f in dataset}
        return all(f.name in children and fits_within(f.type, children[f.name], widen=widen) for f in written)
    if pa.types.is_list(written) and pa.types.is_list(dataset):
        return fits_within(written.value_type, dataset.value_type, widen=widen)
    if widen and pa.types.is_int64(written) and pa.types.is_float64(dataset):
        return True
    return written.equals(dataset)


def manifest_columns(final: pa.Schema, seen: Iterable[tuple[pa.Schema, dict[str, int]]]) -> pa.Schema:
    """The columns of ``final`` a manifest's parts carry: those holding a value in one of its chunks.

    A part never carries the dataset's other columns (readers fill them with nulls): the cost of a
    manifest follows its own fields, not every field its dataset ever saw. Names are compared without
    case: a stretch parsed in Python names a column by the first spelling it met, and its values under
    the stored spelling, set aside there, go to that column (``rows.take_back``).
    """
    present = {name.lower() for _, counts in seen for name, count in counts.items() if count > 0}
    return pa.schema([f for f in final if f.name.lower() in present])


def map_leaves(arrow_type: pa.DataType, leaf: Callable[[pa.DataType], pa.DataType | None]) -> pa.DataType | None:
    """``arrow_type`` with each leaf replaced by ``leaf(it)``; a leaf mapped to None is dropped, and so are
    the structs and lists it leaves empty."""
    if pa.types.is_struct(arrow_type):
        kept = [pa.field(f.name, t) for f in arrow_type if (t := map_leaves(f.type, leaf)) is not None]
        return pa.struct(kept) if kept else None
    if pa.types.is_list(arrow_type) or pa.types.is_large_list(arrow_type):
        item = map_leaves(arrow_type.value_type, leaf)
        return pa.list_(item) if item is not None else None
    return leaf(arrow_type)


def typed_part(arrow_type: pa.DataType) -> pa.DataType | None:
    """``arrow_type`` without its untyped (null) leaves, or None when nothing typed is left."""
    return map_leaves(arrow_type, lambda t: None if pa.types.is_null(t) else t)


def written_schema(schema: pa.Schema) -> pa.Schema:
    """``schema`` as a Parquet part holds it: without its untyped (null) columns and nested fields."""
    return pa.schema([pa.field(f.name, t) for f in schema if (t := typed_part(f.type)) is not None])


def untyped_fields(schema: pa.Schema) -> dict[str, Any]:
    """The fields ``written_schema`` leaves out, as a tree: ``{"a": True, "s": {"b": True}}``."""

    def walk(arrow_type: pa.DataType) -> Any:
        if typed_part(arrow_type) is None:
            return True
        if pa.types.is_struct(arrow_type):
            nested = {f.name: sub for f in arrow_type if (sub := walk(f.type))}
            return nested or None
        return None

    return {f.name: sub for f in schema if (sub := walk(f.type))}


def is_temporal(arrow_type: pa.DataType) -> bool:
    """A type the native reader may guess for a date-like string."""
    return pa.types.is_timestamp(arrow_type) or pa.types.is_date(arrow_type) or pa.types.is_time(arrow_type)


def strings_only(arrow_type: pa.DataType) -> pa.DataType | None:
    """The part of a type made of its string leaves (structs and lists kept around them), or None.

    Given to the native reader as its explicit schema: it stops the reader turning date-like strings
    into timestamps, and leaves every other field to inference (so a drifting type never fails a parse
    for lack of a guess).
    """
    return map_leaves(arrow_type, lambda t: pa.string() if kind_of(t) == "string" else None)


def timestamps_to_strings(arrow_type: pa.DataType) -> pa.DataType | None:
    """An explicit type forcing every timestamp leaf of ``arrow_type`` to string, or None when none."""
    return map_leaves(arrow_type, lambda t: pa.string() if is_temporal(t) else None)
