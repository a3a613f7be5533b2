"""Glue job entry points (the scripts Glue runs; the package itself reaches Glue as a wheel)."""
