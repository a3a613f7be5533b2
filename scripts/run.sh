#!/usr/bin/env bash
# Set up, then run the main job: `run.sh [INPUT [OUTPUT]]`. Without INPUT, sample data is generated first.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
input=${1:-}
output=${2:-out/lake}
settle=()
if [ -z "$input" ]; then
  input=sample-data
  if [ ! -d "$input" ]; then
    .venv/bin/ndjson2parquet generate --output "$input" --files 200 --records 50000 --days 3 --gzip-ratio 0.2
  fi
  settle=(--settle-seconds 0)  # the sample is written whole before the run: no file is still being written
fi
status=0
.venv/bin/ndjson2parquet run --input "$input" --output "$output" "${settle[@]}" || status=$?
.venv/bin/ndjson2parquet status --state "$output/_state/state.db"
exit "$status"
