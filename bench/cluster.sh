#!/usr/bin/env bash
# Summarising 100M Parquet transactions on the local engine and on a Ballista cluster started on
# this machine (one scheduler, two executors), same data, same run; peak memory of every
# process, shuffle volume, per-core throughput. Not part of CI.
# usage: bench/cluster.sh [--rows N] [--files F] [--executors E] [--concurrency C] [--repeat K]
#                         [--target-partitions P] [--keep-cluster-logs]
# TENURE_BIN=path/to/tenure skips the build (e.g. a dev-profile binary a CI run made).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
cd "$here/.."
venv=bench/.venv-columnar
if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q -r bench/requirements-columnar.txt
fi
if [ -z "${TENURE_BIN:-}" ]; then
  cargo build --release -q -p tenure
  export TENURE_BIN="${CARGO_TARGET_DIR:-$PWD/target}/release/tenure"
fi
exec "$venv/bin/python" bench/cluster.py "$@"
