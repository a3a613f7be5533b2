"""The Glue job's arguments, named here and nowhere else (the state machine and Terraform pass them).

Glue passes a job run's arguments as ``--NAME value`` pairs: the job's default arguments (Terraform)
updated by the run's own (the state machine's ``ConvertInGlue``). Besides these, Glue adds its own
(``--JOB_NAME``, ``--JOB_RUN_ID``, ...), which the job reads when present.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from ...config.settings import ConversionOptions
from ...domain.errors import ConfigError

#: name -> (required, what it holds)
ARGUMENTS: dict[str, tuple[bool, str]] = {
    "MANIFEST_REF": (
        False,
        "the manifest, by reference: the convert step's document (JSON, under 1 KB: manifest id, owner,"
        " run, options); the manifest's files are read from the state store. Passed by the state machine"
        " as --step_document (the same value); one of the two is required",
    ),
    "step_document": (False, "the name the state machine passes MANIFEST_REF under (ConvertInGlue)"),
    "state": (True, "the state store, dynamodb://TABLE (job default)"),
    "lake": (True, "the lake, s3://bucket/prefix (job default)"),
    "quarantine": (False, "where bad lines go (default <lake>/_quarantine)"),
    "COMPRESSION_TYPE": (
        False,
        "the parts' Parquet compression when the manifest's options name none: snappy (default), zstd, gzip,"
        " lz4, none (job default, review TF-GLUE-003)",
    ),
    "ENGINE": (False, "spark (default: the job's executors convert) or arrow (the driver alone)"),
    "JOB_NAME": (False, "added by Glue"),
    "JOB_RUN_ID": (False, "added by Glue"),
}

COMPRESSIONS = ("snappy", "zstd", "gzip", "lz4", "none")


@dataclass(frozen=True, slots=True)
class JobArguments:
    """A run's arguments, checked."""

    manifest_ref: str
    state: str | None = None
    lake: str | None = None
    quarantine: str | None = None
    compression: str | None = None
    engine: str = "spark"
    job_name: str | None = None
    job_run_id: str | None = None

    @classmethod
    def of(cls, found: dict[str, str]) -> JobArguments:
        """From ``--NAME value`` pairs (those Glue resolved); a missing or bad one is a ``ConfigError``."""
        ref = found.get("MANIFEST_REF") or found.get("step_document")
        if not ref:
            raise ConfigError("no --MANIFEST_REF (or --step_document) argument")
        compression = found.get("COMPRESSION_TYPE") or None
        if compression is not None and compression not in COMPRESSIONS:
            raise ConfigError(f"--COMPRESSION_TYPE {compression!r}: expected one of {', '.join(COMPRESSIONS)}")
        engine = found.get("ENGINE") or "spark"
        if engine not in ("spark", "arrow"):
            raise ConfigError(f"--ENGINE {engine!r}: expected spark or arrow")
        return cls(
            ref,
            found.get("state"),
            found.get("lake"),
            found.get("quarantine"),
            compression,
            engine,
            found.get("JOB_NAME"),
            found.get("JOB_RUN_ID"),
        )

    def options_over(self, options: dict[str, object]) -> dict[str, object]:
        """The document's conversion options, with the job's compression where they name none."""
        if self.compression is None or "compression" in options:
            return options
        if self.compression == ConversionOptions().compression:
            return options  # the default: a document carries only what differs from the defaults
        return {**options, "compression": self.compression}


def job_arguments(argv: Sequence[str]) -> dict[str, str]:
    """``--name value`` pairs of a Glue job's command line (what awsglue's getResolvedOptions reads)."""
    found: dict[str, str] = {}
    items = list(argv)
    for i, item in enumerate(items):
        if item.startswith("--") and i + 1 < len(items):
            found[item[2:]] = items[i + 1]
    return found
