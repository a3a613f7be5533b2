"""The engine port: what any conversion engine (in-process Arrow, Spark/Glue) takes and gives back.

An engine never touches the state store: the workflow hands it a job (the manifest's files, where
to write, the dataset's stored schema) and records what it returns.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, field

from ..config.settings import ConversionOptions
from ..domain.records import Ledger


@dataclass(slots=True, unsafe_hash=True)  # per file: not frozen (see domain/records.py)
class InputFile:
    """One file of the manifest to convert."""

    file_id: str
    uri: str
    size: int
    version: str = ""  # the registered version; a local file's is checked at read time ("" = no check)
    start_offset: int = 0  # a continuation converts from here (the end of the prefix converted before)
    first_line: int = 1  # the number of the line at start_offset


@dataclass(frozen=True, slots=True)
class ConversionJob:
    """Everything an engine needs to convert one manifest."""

    manifest_id: str
    dataset: str
    date: str
    files: tuple[InputFile, ...]
    output_root: str  # <output_root>/<dataset>/date=<date>/part-<manifest_id>-<n>.parquet
    quarantine_root: str  # <quarantine_root>/<dataset>/date=<date>/<manifest_id>.ndjson
    options: ConversionOptions = field(default_factory=ConversionOptions)
    schema_json: str | None = None  # the dataset's stored schema, if any
    schema_version: int = 0  # the stored version schema_json is (0: none yet)
    # called (from the engine's reading thread) with (files, bytes) read since its last call: progress
    # while the manifest converts, told every few files and at the end; an engine that cannot tell may
    # never call it
    on_file_read: Callable[[int, int], None] | None = field(default=None, compare=False)


@dataclass(frozen=True, slots=True)
class OutputFile:
    """One published Parquet part."""

    path: str
    rows: int
    bytes: int


@dataclass(frozen=True, slots=True)
class ConversionResult:
    """What a conversion produced. `ledgers` has an entry for every input file."""

    outputs: tuple[OutputFile, ...]
    ledgers: dict[str, Ledger]
    schema_json: str | None  # the dataset schema after this manifest (to store when it changed)
    rows_written: int = 0
    rows_quarantined: int = 0
    values_rescued: int = 0
    bytes_in: int = 0
    quarantine_path: str | None = None


class Engine(ABC):
    """Converts one manifest to Parquet. Deterministic names; a re-run replaces its own parts."""

    name: str = "engine"

    @abstractmethod
    def convert(self, job: ConversionJob) -> ConversionResult:
        """Convert, publish atomically, and remove any leftover part of an earlier attempt."""

    @abstractmethod
    def remove_outputs(self, job: ConversionJob) -> None:
        """Delete every part and quarantine file this manifest may have written (compensation)."""
