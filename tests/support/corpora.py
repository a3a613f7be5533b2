"""The third-party corpora kept in the repository (tests/data/corpora), checked whole before use.

A missing or shrunken corpus must fail the suite loudly: a corpus-driven test that silently finds no
files would pass while testing nothing.
"""

from __future__ import annotations

from pathlib import Path

CORPORA = Path(__file__).resolve().parents[1] / "data" / "corpora"

#: folder -> the number of data files it holds (see tests/data/corpora/SOURCES.md)
EXPECTED_FILES = {
    "apache-drill-json": 75,
    "arrow-rs-json": 9,
    "clickhouse-jsoneachrow": 2,
    "datafusion-json": 2,
    "duckdb-json": 81,
    "jsontestsuite": 340,
    "lnav-json-logs": 15,
    "mongodb-json-files": 10,
    "polars-ndjson": 5,
    "utf8tests": 4,
}


class CorporaMissing(RuntimeError):
    """The corpora folder, or part of it, is not there."""


def require_corpora() -> list[Path]:
    """Every corpus file, sorted; raises CorporaMissing when a corpus is absent or has lost files."""
    if not CORPORA.is_dir():
        raise CorporaMissing(f"test corpora missing: {CORPORA}")
    files = sorted(p for p in CORPORA.rglob("*") if p.is_file() and p.name not in ("SOURCES.md", "LICENSE"))
    for folder, least in EXPECTED_FILES.items():
        found = sum(1 for p in files if p.relative_to(CORPORA).parts[0] == folder)
        if found < least:
            raise CorporaMissing(f"corpus {folder} has {found} files, expected at least {least}: {CORPORA / folder}")
    return files
