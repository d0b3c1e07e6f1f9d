#!/usr/bin/env bash
# Benchmarks Tenure against lifetimes 0.11.3 (pinned) on this machine. Not part of CI.
# usage: bench/run.sh [--sizes 10000,100000,1000000] [--full]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
cd "$here/.."
if [ ! -x bench/.venv/bin/python ]; then
  python3 -m venv bench/.venv
  bench/.venv/bin/pip install -q -r bench/requirements-lifetimes.txt
fi
cargo build --release -q -p tenure
export TENURE_BIN="${CARGO_TARGET_DIR:-$PWD/target}/release/tenure"
exec bench/.venv/bin/python bench/bench_lifetimes.py "$@"
