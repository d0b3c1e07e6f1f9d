#!/usr/bin/env bash
# Import throughput in rows/s: a generated company (tenure generate) imported file by file into
# a fresh SQLite store and, when one answers on 127.0.0.1:5432, a fresh PostgreSQL schema; the
# invoice lines also from Parquet (converted by DuckDB from the same CSV) and JSON lines.
# Not part of CI. usage: bench/import.sh [CUSTOMERS]   (default 20000)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
cd "$here/.."
customers=${1:-20000}
venv=bench/.venv-columnar
if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q -r bench/requirements-columnar.txt
fi
cargo build --release -q -p tenure
tenure="${CARGO_TARGET_DIR:-$PWD/target}/release/tenure"
out=bench/out/import
rm -rf "$out" && mkdir -p "$out"
"$tenure" generate --customers "$customers" --seed 7 --out "$out/company" --format json >/dev/null
# The invoice lines as Parquet and as JSON lines, the same rows.
"$venv/bin/python" - "$out/company/transactions.csv" "$out" <<'PY'
import duckdb, sys
src, out = sys.argv[1], sys.argv[2]
con = duckdb.connect()
con.execute(f"CREATE TABLE t AS SELECT * FROM read_csv('{src}', all_varchar=true)")
con.execute(f"COPY t TO '{out}/transactions.parquet' (FORMAT parquet)")
con.execute(f"COPY t TO '{out}/transactions.jsonl' (FORMAT json)")
PY

pg=""
if command -v pg_isready >/dev/null && pg_isready -h 127.0.0.1 -p 5432 -q; then pg=yes; fi

row() { # label file json
  "$venv/bin/python" -c "import json,sys; j=json.loads(sys.argv[3]); s=j['elapsed_ms']['total']/1000; print(f\"| {sys.argv[1]} | {sys.argv[2]} | {j['rows']:,} | {s:.2f} | {j['rows']/s:,.0f} |\")" "$1" "$2" "$3"
}

# A fresh store for each transactions format: customers first (the invoice lines refer to them).
fresh() { # n -> a store location
  if [ "$1" = sqlite ]; then echo "$out/bench-$2.db"; return; fi
  local schema=tenure_bench_import_$2
  psql -h 127.0.0.1 -U postgres -d test -qc "DROP SCHEMA IF EXISTS $schema CASCADE; CREATE SCHEMA $schema" >/dev/null 2>&1
  echo "postgres://postgres@127.0.0.1:5432/test?options=-csearch_path%3D$schema"
}

printf '| store | file | rows | seconds | rows/s |\n|---|---|---:|---:|---:|\n'
for backend in sqlite ${pg:+postgres}; do
  label=$([ "$backend" = sqlite ] && echo SQLite || echo PostgreSQL)
  db=$(fresh "$backend" csv)
  for f in customers.csv subscriptions.csv transactions.csv costs.csv usage.csv feedback.csv; do
    row "$label" "$f" "$("$tenure" import "${f%.csv}" "$out/company/$f" --db "$db" --format json)"
  done
  for fmt in parquet jsonl; do
    db=$(fresh "$backend" "$fmt")
    "$tenure" import customers "$out/company/customers.csv" --db "$db" --format json >/dev/null
    row "$label" "transactions.$fmt" "$("$tenure" import transactions "$out/transactions.$fmt" --db "$db" --format json)"
  done
done
echo
echo "Machine: $(uname -m), $(nproc) cores, load average $(cut -d' ' -f1 /proc/loadavg); $("$tenure" --version); $customers generated customers (seed 7)"
