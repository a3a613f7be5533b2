"""Ingest: find files in a landing zone and register them in the state store."""
