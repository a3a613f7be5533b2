"""Batching: close manifests per (dataset, date) by size, count, age or seal."""
