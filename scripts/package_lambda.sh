#!/usr/bin/env bash
# Build the Lambda deployment zip (the package with its `aws` extra and every dependency) for the
# runtime and architecture in src/ndjson2parquet/aws/deployment.py: python3.11 on arm64 (Graviton).
# Only binary wheels for manylinux2014_aarch64 are taken, so the zip is right whatever machine builds it.
# Usage: scripts/package_lambda.sh [OUT.zip]   (default build/lambda.zip; terraform: var.package_path)
# Also builds the package's wheel into build/ for the Glue job (examples/complete: var.wheel_path).
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=$(realpath -m "${1:-build/lambda.zip}")
PYTHON=${PYTHON:-python3}
LIMIT_MB=250  # Lambda's limit on a function's unzipped size
stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
mkdir -p "$(dirname "$OUT")" build
"$PYTHON" -m pip wheel --quiet --no-deps --wheel-dir build .
wheel=$(ls -t build/ndjson2parquet-*.whl | head -1)
"$PYTHON" -m pip install --quiet --target "$stage" \
  --platform manylinux2014_aarch64 --implementation cp --python-version 3.11 \
  --only-binary=:all: "${wheel}[aws]"
# what a function never runs: tests, headers, caches
find "$stage" -depth \( -name __pycache__ -o -name tests -path '*/pyarrow/tests' -o -name include -path '*/pyarrow/include' \) -exec rm -rf {} +
size_mb=$(du -sm "$stage" | cut -f1)
if [ "$size_mb" -gt "$LIMIT_MB" ]; then
  echo "error: the unzipped package is ${size_mb} MB, above Lambda's ${LIMIT_MB} MB" >&2
  exit 1
fi
rm -f "$OUT"
(cd "$stage" && zip -q -r -X "$OUT" .)
echo "$OUT: ${size_mb} MB unzipped, $(du -h "$OUT" | cut -f1) zipped; wheel $wheel"
