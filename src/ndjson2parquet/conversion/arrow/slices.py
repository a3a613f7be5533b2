"""A slice of a manifest: a run of whole file groups converted on its own (what a Spark task runs).

A manifest is a sequence of file groups (``naming.file_groups``) that the Arrow engine converts one
after the other, each as if it were alone (its parts, its stretches, its type sample start afresh):
so any run of whole groups can be converted apart and give the same parts, provided it is told the
manifest's schema and how many parts come before it. A survey (``Slice.final`` None) parses a slice
and tells what the manifest's schema decision needs; a write converts it against the decided schema.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa

from ..engine import ConversionResult


@dataclass(frozen=True, slots=True)
class Slice:
    """How to convert a slice: survey it (``final`` None), or write it against the manifest's schema."""

    part_offset: int = 0  # the index of the slice's first part in the manifest
    final: pa.Schema | None = None  # the manifest's decided schema (what values are brought to)
    columns: pa.Schema | None = None  # the columns the manifest's parts carry (``schema.manifest_columns``)

    @property
    def survey(self) -> bool:
        """True when the slice is only parsed, nothing written."""
        return self.final is None


@dataclass(slots=True)
class SliceOutcome:
    """What converting a slice (or a whole manifest) gave.

    ``seen``: each parsed chunk's schema and non-null counts, in input order (merged by the driver
    with the same rules as the engine); ``parts``: the parts written, or on a survey those that would
    be outside strict mode; ``bad``: the quarantine records in input order (the manifest's quarantine
    file is the slices' records one slice after the other).
    """

    result: ConversionResult
    seen: list[tuple[pa.Schema, dict[str, int]]] = field(default_factory=list)
    parts: int = 0
    bad: list[dict[str, Any]] = field(default_factory=list)
