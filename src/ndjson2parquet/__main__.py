"""`python -m ndjson2parquet` runs the command line."""

from .cli.main import main

main()
