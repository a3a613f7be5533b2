#!/usr/bin/env bash
# Set up, lint, then run the whole test suite (unit, functional, contract, integration) on both cores.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
.venv/bin/ruff check src tests benchmarks
.venv/bin/ruff format --check src tests benchmarks
# the state machine, filled with example ARNs, through statelint (installed by setup.sh)
asl=$(mktemp --suffix=.asl.json)
PYTHONPATH=src .venv/bin/python -m ndjson2parquet.aws.state_machine >"$asl"
.ci/node/node_modules/.bin/statelint "$asl"
rm -f "$asl"
.venv/bin/python -m pytest -n 2 --dist loadgroup "$@"
