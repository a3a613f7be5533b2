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
# the Terraform (terraform/): formatting, then checkov (0 failed; every skip is inline with its reason).
# validate and plan need the AWS provider, which CI cannot download: see terraform/README.md.
if command -v terraform >/dev/null 2>&1; then
  terraform fmt -check -recursive terraform
else
  echo "error: terraform is not on PATH: 'terraform fmt -check -recursive terraform' cannot run" >&2
  exit 1
fi
.ci/checkov-venv/bin/checkov -d terraform --framework terraform --skip-download --compact --quiet
.venv/bin/python -m pytest -n 2 --dist loadgroup "$@"
