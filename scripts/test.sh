#!/usr/bin/env bash
# Set up, lint, then run the whole test suite (unit, functional, contract, integration) on both cores.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
.venv/bin/ruff check src tests benchmarks
.venv/bin/ruff format --check src tests benchmarks
.venv/bin/python -m pytest -n 2 --dist loadgroup "$@"
