#!/usr/bin/env bash
# Summarising 100M Parquet transactions: Tenure (DataFusion) against DuckDB and Polars, same
# data, same run. Not part of CI. usage: bench/columnar.sh [--rows N] [--repeat K] [--only ...]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
cd "$here/.."
venv=bench/.venv-columnar
if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q -r bench/requirements-columnar.txt
fi
cargo build --release -q -p tenure
export TENURE_BIN="${CARGO_TARGET_DIR:-$PWD/target}/release/tenure"
exec "$venv/bin/python" bench/columnar.py "$@"
