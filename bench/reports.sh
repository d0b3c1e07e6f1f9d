#!/usr/bin/env bash
# Times `tenure report` for every report on a store of 100,000 customers and ~10M invoice lines,
# loading included (each run is a whole program: open the store, load what the report needs,
# compute, write the output).
#
# `tenure generate --customers 100000` with the default parameters gives ~0.85M invoice lines
# (3 years, 15-80 % yearly billing). To reach 10M with 100,000 customers this script uses a
# denser company, bench/reports-params.json: 22 years of monthly billing (annual_share 0),
# acquisition spread evenly (acquisition_growth 0) and churn ~0.4-0.7 %/month, so a customer
# averages ~100 invoice lines; usage is thinned (1 tracked user, low weekly shares) and support
# tickets made rarer so that usage (~5M rows) and costs (~3.7M rows) stay in proportion.
#
# usage: bench/reports.sh [--customers N] [--postgres URL] [--keep DIR]
#   --postgres URL  also import into and time against PostgreSQL
#   --keep DIR      generate and import into DIR and keep it (re-runs skip what exists)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
customers=100000
pg=""
keep=""
while [ $# -gt 0 ]; do
  case "$1" in
    --customers) customers=$2; shift 2 ;;
    --postgres) pg=$2; shift 2 ;;
    --keep) keep=$2; shift 2 ;;
    *) echo "unknown argument $1" >&2; exit 2 ;;
  esac
done
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$HOME/.cache/tenure-target-reports}
(cd "$root" && cargo build --release -q -p tenure)
bin=$CARGO_TARGET_DIR/release/tenure
if [ -n "$keep" ]; then work=$keep; mkdir -p "$work"; else work=$(mktemp -d); trap 'rm -rf "$work"' EXIT; fi
co=$work/company
db=$work/tenure.db
if [ ! -f "$co/transactions.csv" ]; then
  /usr/bin/time -f "generate: %e s, %M KB" "$bin" generate --customers "$customers" --seed 42 \
    --params "$here/reports-params.json" --out "$co" >/dev/null
fi
echo "rows: $(for f in customers transactions subscriptions costs usage feedback; do printf '%s %s  ' $f $(($(wc -l < "$co/$f.csv") - 1)); done)"
import_all() {
  for kind in customers transactions subscriptions costs usage feedback; do
    /usr/bin/time -f "import $kind: %e s" "$bin" import "$kind" "$co/$kind.csv" --db "$1" >/dev/null
  done
}
if [ ! -f "$db" ]; then import_all "$db"; fi
if [ -n "$pg" ]; then import_all "$pg"; fi

# Best of 3 of each report, whole program; peak memory of the best run.
time_report() {
  local store=$1 label=$2; shift 2
  local best="" mem=""
  for _ in 1 2 3; do
    local out
    out=$( { /usr/bin/time -f "%e %M" "$bin" report "$@" --db "$store" --currency USD \
      --fx EUR=1.087 --output "$work/out.txt" ; } 2>&1 | tail -1)
    local t=${out% *} m=${out#* }
    if [ -z "$best" ] || awk "BEGIN{exit !($t < $best)}"; then best=$t; mem=$m; fi
  done
  printf '| %s | `tenure report %s` | %s s | %s MB |\n' "$label" "$*" "$best" $((mem / 1024))
}
run_all() {
  local store=$1 label=$2
  echo
  echo "| store | command | time (best of 3) | peak memory |"
  echo "|---|---|---:|---:|"
  time_report "$store" "$label" value
  time_report "$store" "$label" value --by channel
  time_report "$store" "$label" retention --by plan
  time_report "$store" "$label" cohorts
  time_report "$store" "$label" mrr
  time_report "$store" "$label" survival --by plan
}
run_all "$db" SQLite
if [ -n "$pg" ]; then run_all "$pg" PostgreSQL; fi
echo
echo "machine: $(uname -m), $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg); $("$bin" --version)"
