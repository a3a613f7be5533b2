"""The ``_rescued_data`` column: values that did not fit their column, kept losslessly.

For a row, ``_rescued_data`` is null, or a JSON object shaped like the record: an *overlay* holding
only the values that were not written to their columns (a misfit type, a spelling that collides with
another by case, a reserved name, an integer beyond int64, a list with a misfit element, kept whole).
A misfit inside a struct is nested at its path: ``{"user": {"age": "forty"}}``. Every key in it is
the record's own: our bookkeeping never shares this object with user keys.

Earlier occurrences of duplicate keys are in a column of their own, ``_duplicate_keys``:
``[["path.to.key", value], ...]`` (its name is reserved, so a record's own ``_duplicate_keys`` is
rescued like any reserved name and never meets these).

The original record is ``deep_merge(row_read_back, overlay)`` (objects merged key by key, anything
else replaced), with these normalisations: a null value and a missing key are the same; integers in a
float64 column read back as floats of equal value; key order may differ; duplicates are listed apart.
"""

from __future__ import annotations

import json
from typing import Any

import orjson

from .lines import BigNumber, DuplicateKeys


def merge_overlay(target: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    """Merge ``extra`` into ``target`` in place (objects key by key); returns ``target``."""
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(target.get(key), dict):
            merge_overlay(target[key], value)
        else:
            target[key] = value
    return target


def deep_merge(row: Any, overlay: Any) -> Any:
    """A row read back with its overlay applied (the reverse of rescuing)."""
    if isinstance(row, dict) and isinstance(overlay, dict):
        merged = dict(row)
        for key, value in overlay.items():
            merged[key] = deep_merge(merged.get(key), value)
        return merged
    return overlay


def duplicates_in(value: Any, path: str = "") -> list[list[Any]]:
    """Every earlier occurrence of a duplicated key in a parsed record, as [path, value] pairs."""
    found: list[list[Any]] = []
    if isinstance(value, dict):
        if isinstance(value, DuplicateKeys):
            found.extend([f"{path}{key}", earlier] for key, earlier in value.duplicates)
        for key, child in value.items():
            if isinstance(child, dict | list):
                found.extend(duplicates_in(child, f"{path}{key}."))
    elif isinstance(value, list):
        for index, child in enumerate(value):
            if isinstance(child, dict | list):
                found.extend(duplicates_in(child, f"{path}{index}."))
    return found


def dumps_exact(value: Any) -> str:
    """JSON text of a rescued value: orjson when it can, an exact fallback for big numbers and surrogates."""
    try:
        return orjson.dumps(value).decode("utf-8")
    except (TypeError, orjson.JSONEncodeError):
        return "".join(_exact_parts(value))


def _exact_parts(value: Any) -> list[str]:
    if isinstance(value, BigNumber):
        return [value.text]
    if isinstance(value, bool) or value is None:
        return [json.dumps(value)]
    if isinstance(value, int):
        return [str(value)]  # exact, whatever its size
    if isinstance(value, str):
        return [json.dumps(value, ensure_ascii=True)]  # lone surrogates survive as \\u escapes
    if isinstance(value, float):
        return [orjson.dumps(value).decode()]
    if isinstance(value, dict):
        parts = ["{"]
        for index, (key, child) in enumerate(value.items()):
            parts.append(("," if index else "") + json.dumps(key, ensure_ascii=True) + ":")
            parts.extend(_exact_parts(child))
        parts.append("}")
        return parts
    if isinstance(value, list):
        parts = ["["]
        for index, child in enumerate(value):
            if index:
                parts.append(",")
            parts.extend(_exact_parts(child))
        parts.append("]")
        return parts
    raise TypeError(f"cannot rescue a {type(value).__name__}")
