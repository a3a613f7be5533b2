"""The Spark engine: a manifest converted by Spark executors running the Arrow engine's own code on
slices of it (``tasks``), its schema decided on the driver over the whole manifest (``spark_engine``)."""

from .spark_engine import SparkEngine

__all__ = ["SparkEngine"]
