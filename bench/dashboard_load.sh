#!/usr/bin/env bash
# How fast the dashboard draws at N customers (default 100,000) in headless Chromium: the
# company of bench/serve_load.sh (same seed; imported once and kept in bench/out/serve), a
# `tenure serve` on 127.0.0.1, then bench/dashboard_load.js times each view from navigation to
# its last chart drawn, REPEAT times (default 5), and writes bench/DASHBOARD.md. Not part of CI.
# Needs Debian's chromium and playwright-core 1.64.1 (.ci/dashboard-e2e installs both).
# usage: bench/dashboard_load.sh [CUSTOMERS] [REPEAT]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
cd "$here/.."
customers=${1:-100000}
repeat=${2:-5}
profile=${TENURE_BENCH_PROFILE:-release}
flag=$([ "$profile" = release ] && echo --release || true)
cargo build $flag -q -p tenure
dir="${CARGO_TARGET_DIR:-$PWD/target}/$([ "$profile" = release ] && echo release || echo debug)"
tenure="$dir/tenure"
node_dir="${TENURE_E2E_NODE:-$HOME/.cache/tenure-e2e-playwright-1.64.1}"
[ -d "$node_dir/node_modules/playwright-core" ] || npm install --prefix "$node_dir" --no-audit --no-fund -s playwright-core@1.64.1 >/dev/null
out=bench/out/serve
mkdir -p "$out"
. "$here/company_store.sh"
token=$("$tenure" token create "dash-$$" --role analyst --db "$db" --format json |
  python3 -c 'import json,sys; print(json.load(sys.stdin)["token"])')
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
"$tenure" serve --addr "127.0.0.1:$port" --db "$db" --fx EUR=1.087 --currency USD --no-worker \
  > "$out/dash-serve.log" 2>&1 &
server=$!
trap 'kill $server 2>/dev/null || true' EXIT
for _ in $(seq 1 1200); do grep -q "Tenure API on" "$out/dash-serve.log" && break; sleep 0.5; done
results=$(NODE_PATH="$node_dir/node_modules" node "$here/dashboard_load.js" "http://127.0.0.1:$port" "$token" "$repeat")
{
  echo "# bench/dashboard_load.sh — the dashboard at $(python3 -c "print(f'{$customers:,}')") customers"
  echo
  echo "Command: \`bench/dashboard_load.sh $customers $repeat\` ($profile build), $(date -u +%Y-%m-%d)."
  echo "Headless Chromium (Debian's, playwright-core 1.64.1) and \`tenure serve\` on the same 2-core"
  echo "machine; each view timed from navigation to its last chart or table drawn, $repeat times after"
  echo "one warm-up (the server computes reports per request; the page caches them for a minute, so"
  echo "the Reports view is loaded with a fresh tab each time)."
  echo
  echo "| view | median ms | max ms | DOM nodes |"
  echo "|---|---:|---:|---:|"
  echo "$results"
  echo
  echo "Machine: $(uname -m), $(nproc) cores, load average $(cut -d' ' -f1 /proc/loadavg); $("$tenure" --version)"
} | tee bench/DASHBOARD.md
