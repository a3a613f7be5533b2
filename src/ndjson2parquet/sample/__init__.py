"""Realistic NDJSON sample data for demos, tests and benchmarks."""

from .generator import DEFAULT_START, GenerateSummary, generate

__all__ = ["DEFAULT_START", "GenerateSummary", "generate"]
