#!/usr/bin/env bash
# Create .venv and install the package with its test tools. Safe to run again: it only adds what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
if ! "$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
  echo "error: Python 3.11 or newer is needed ($PYTHON is $("$PYTHON" --version 2>&1))" >&2
  exit 1
fi
if [ ! -x .venv/bin/python ]; then
  "$PYTHON" -m venv .venv
fi
# The three installs below (the project's venv, statelint, checkov's venv) run side by side: each is
# mostly downloading and unpacking. `wait` collects each one's status, so any failure fails setup.
pids=()
stamp=.venv/.installed-$(sha1sum pyproject.toml | cut -c1-12)
if [ ! -f "$stamp" ]; then
  (
    .venv/bin/python -m pip install --quiet --upgrade pip
    .venv/bin/python -m pip install --quiet -e '.[dev]'
    rm -f .venv/.installed-*
    touch "$stamp"
  ) &
  pids+=($!)
fi
# statelint (the state machine's linter, from npm) into a project-local folder, when npm is here;
# scripts/test.sh lints with it and tests/unit/aws/test_state_machine_lint.py fails without it
STATELINT_VERSION=1.30.0
if command -v npm >/dev/null 2>&1 && [ ! -x .ci/node/node_modules/.bin/statelint ]; then
  mkdir -p .ci/node
  npm install --silent --no-audit --no-fund --prefix .ci/node "@wmfs/statelint@$STATELINT_VERSION" &
  pids+=($!)
fi
# checkov (the Terraform's static checks) in a virtual environment of its own: it pins an old boto3
# that the project's .venv must not get. scripts/test.sh and tests/unit/infrastructure/test_checkov.py
# run it, and fail without it.
CHECKOV_VERSION=3.3.30
if [ ! -x .ci/checkov-venv/bin/checkov ]; then
  mkdir -p .ci
  (
    "$PYTHON" -m venv .ci/checkov-venv
    .ci/checkov-venv/bin/python -m pip install --quiet --upgrade pip
    .ci/checkov-venv/bin/python -m pip install --quiet "checkov==$CHECKOV_VERSION"
  ) &
  pids+=($!)
fi
for pid in "${pids[@]}"; do
  wait "$pid"
done
