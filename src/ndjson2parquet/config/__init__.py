"""Configuration in one typed place; environment variable names in `env`."""

from .settings import BatchPolicy, ConversionOptions, RunOptions, StorePolicy

__all__ = ["BatchPolicy", "ConversionOptions", "RunOptions", "StorePolicy"]
