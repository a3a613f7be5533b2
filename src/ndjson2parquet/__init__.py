"""ndjson2parquet: NDJSON files in, a Hive-partitioned Parquet lake out, every line accounted for."""

__version__ = "0.1.0"
