#!/usr/bin/env bash
# Latency of `tenure serve` under concurrent requests on 127.0.0.1: a generated company of N
# customers (default 100,000) imported into SQLite, the server started as a user starts it,
# then the load generator (crates/tenure-server/examples/load.rs; closed loop, keep-alive
# connections) on the overview, a page of the customer list, a filtered and sorted page, and
# the customer 360 of many customers. Writes bench/SERVE.md. Not part of CI.
# usage: bench/serve_load.sh [CUSTOMERS] [CONCURRENCY]     (default 100000, 8)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
cd "$here/.."
customers=${1:-100000}
concurrency=${2:-8}
profile=${TENURE_BENCH_PROFILE:-release}
flag=$([ "$profile" = release ] && echo --release || true)
cargo build $flag -q -p tenure
cargo build $flag -q -p tenure-server --example load
dir="${CARGO_TARGET_DIR:-$PWD/target}/$([ "$profile" = release ] && echo release || echo debug)"
tenure="$dir/tenure"
load="$dir/examples/load"
out=bench/out/serve
mkdir -p "$out"
. "$here/company_store.sh"
token=$("$tenure" token create "bench-$$" --role analyst --db "$db" --format json |
  python3 -c 'import json,sys; print(json.load(sys.stdin)["token"])')
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
start=$(date +%s.%N)
"$tenure" serve --addr "127.0.0.1:$port" --db "$db" --fx EUR=1.087 --currency USD --no-worker \
  > "$out/serve.log" 2>&1 &
server=$!
trap 'kill $server 2>/dev/null || true' EXIT
for _ in $(seq 1 1200); do grep -q "Tenure API on" "$out/serve.log" && break; sleep 0.5; done
ready=$(python3 -c "import time; print(f'{time.time() - $start:.1f}')")
rss() { awk '/VmRSS/ {printf "%.0f", $2/1024}' "/proc/$server/status"; }
results=$("$load" "http://127.0.0.1:$port" "$token" "$concurrency" 2000 \
  /api/overview \
  "/api/customers?limit=50" \
  "/api/customers?band=at_risk&sort=lifetime_profit&desc=true&limit=50" \
  "/api/customers/{id}")
{
  echo "# bench/serve_load.sh — API latency under load"
  echo
  echo "Command: \`bench/serve_load.sh $customers $concurrency\` ($profile build), $(date -u +%Y-%m-%d)."
  echo "A generated company of $(python3 -c "print(f'{$customers:,}')") customers (seed 11) in SQLite; \`tenure serve\` on"
  echo "127.0.0.1; $concurrency client threads with keep-alive connections sending requests back to"
  echo "back (closed loop), 2,000 per route, on the same 2-core machine as the server."
  echo
  echo "Server ready (store loaded, every customer's decisions computed) after $ready s; resident"
  echo "memory after the run $(rss) MB."
  echo
  echo "| route | requests | errors | p50 ms | p90 ms | p99 ms | max ms | requests/s |"
  echo "|---|---:|---:|---:|---:|---:|---:|---:|"
  echo "$results" | python3 "$here/serve_table.py"
  echo
  echo "Machine: $(uname -m), $(nproc) cores, load average $(cut -d' ' -f1 /proc/loadavg); $("$tenure" --version)"
} | tee bench/SERVE.md
