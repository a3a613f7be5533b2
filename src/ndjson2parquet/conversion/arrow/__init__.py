"""The Arrow engine: the in-process engine of the embedded pipeline (pyarrow, simdjson)."""
