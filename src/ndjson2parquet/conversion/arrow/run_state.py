"""What one conversion attempt of the Arrow engine accumulates, and the two signals that restart it.

The engine's reading (``reading``), screening (``screening``), part groups (``part_groups``) and
publication (``publication``) all work on these records: each file's tally (it becomes the file's
ledger), the pieces of lines waiting to be screened, the groups bound for one output part, and the
run that holds them. They live apart from the code so that every stage imports them from one place
and none imports another stage only for a type. ``LateRejection`` and ``ConvertAgain`` are raised
deep in an attempt and caught by ``ArrowEngine``, which converts the manifest again.
"""

from __future__ import annotations

from collections import deque
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa
import simdjson

from ..provenance import Provenance
from .early_write import EarlyWriter
from .native import Declared
from .slices import Slice
from .stretches import Chunk


@dataclass(slots=True)
class FileTally:
    """What the run found of one input file: its lines, blank and quarantined ones, rejection, parts."""

    uri: str
    lines: int = 0
    blank: int = 0
    quarantined: int = 0
    rejection: str | None = None
    outputs: list[str] = field(default_factory=list)
    end_offset: int = 0  # the bytes (as stored) read: the converted prefix ends here
    digest: Future[str] | str | None = None  # of those bytes; a big file's is hashed on a thread of its own


@dataclass(slots=True)
class Piece:
    """Lines of one file waiting to be screened: the whole file or a stretch of it cut at a line."""

    file: int
    data: bytes  # ends with b"\n"
    lines: int
    first_line: int
    start_offset: int


@dataclass(slots=True)
class PartGroup:
    """What is bound for one output part: pending pieces, parses under way, where each row came from."""

    provenance: Provenance = field(default_factory=Provenance)
    pending: list[Piece] = field(default_factory=list)
    pending_bytes: int = 0
    input_bytes: int = 0
    parses: list[Future[list[Chunk]]] = field(default_factory=list)
    # once its tables are let go (``part_groups.KEEP_BYTES``): what publishing needs of them, and their rejected rows
    seen: list[tuple[pa.Schema, dict[str, int]]] | None = None
    table_bytes: int = -1  # of its parsed tables, once all are parsed
    rejected: list[tuple[int, str, bytes]] = field(default_factory=list)
    rows: int = 0  # of its parsed tables, once they are let go (a survey counts the parts they would give)


@dataclass(slots=True)
class Run:
    """What one conversion accumulates."""

    files: list[FileTally]
    declared: Declared
    block: int
    schemas: tuple[pa.Schema | None, pa.Schema | None]  # (fixed, stored): their strings are declared once sampled
    bad: list[dict[str, Any]] = field(default_factory=list)
    values_rescued: int = 0
    sampled: bool = False
    fast: bool = True  # try the one-pass screen on the next stretch
    in_flight: deque[Future[list[Chunk]]] = field(default_factory=deque)
    early: EarlyWriter | None = None  # writes the parts while stretches are parsed (not in strict mode)
    rejected: dict[int, str] = field(default_factory=dict)  # files found unusable after part of them was read
    finished: list[PartGroup] = field(default_factory=list)  # the groups whose parts are closed, in order
    may_let_go: bool = True  # let go of written tables past KEEP_BYTES (not once the final columns are known)
    simdjson_parser: simdjson.Parser = field(default_factory=simdjson.Parser)
    slice: Slice | None = None  # converting a slice of a manifest apart (``slices``), not a whole one


class LateRejection(Exception):
    """A streamed file found unusable after part of it was handed on (the manifest converts again without it)."""

    def __init__(self, index: int, uri: str, reason: str) -> None:
        super().__init__(reason)
        self.index, self.uri, self.reason = index, uri, reason


class ConvertAgain(Exception):
    """The parts written early are not of the manifest's final ``columns``, and the kept tables were let go."""

    def __init__(self, columns: pa.Schema) -> None:
        super().__init__("convert again")
        self.columns = columns
