#!/usr/bin/env bash
# Regenerates lifetimes 0.11.3's fits and per-customer predictions (the numbers the tests compare
# against) in a pinned venv, and reports how far they are from the committed copies in
# testdata/refdata. Not part of CI: CI never needs Python; the numbers are committed.
# usage: bench/regenerate_reference.sh
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
if [ ! -x "$here/.venv/bin/python" ]; then
  python3 -m venv "$here/.venv"
  "$here/.venv/bin/pip" install -q -r "$here/requirements-lifetimes.txt"
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cp -r "$root/testdata/refdata/." "$work/"
chmod -R u+w "$work"
(cd "$work" && "$here/.venv/bin/python" scripts/lifetimes_reference.py)
"$here/.venv/bin/python" - "$work" "$root/testdata/refdata" <<'PY'
import sys, pandas as pd, numpy as np
new, old = sys.argv[1], sys.argv[2]
for f in ["cdnow_predictions_lifetimes_0.11.3.csv", "cdnow_expected_new_customer_lifetimes_0.11.3.csv"]:
    a = pd.read_csv(f"{new}/{f}", comment="#"); b = pd.read_csv(f"{old}/{f}", comment="#")
    num = a.select_dtypes("number").columns
    rel = (np.abs(a[num] - b[num]) / np.maximum(np.abs(b[num]), 1e-300)).max()
    print(f, "max relative difference per column:"); print(rel.to_string())
PY
