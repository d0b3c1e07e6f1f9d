#!/usr/bin/env bash
# Regenerates the Kaplan-Meier reference numbers (lifelines 0.30.0, pinned in a venv) that
# crates/tenure-reports/tests/km_lifelines.rs compares against, into
# crates/tenure-reports/tests/fixtures/. Not part of CI: the tests never need Python; the
# numbers are committed, with the versions in each file's first line.
# usage: bench/km_reference.sh
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
venv="$here/.venv-lifelines"
if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q -r "$here/requirements-lifelines.txt"
fi
"$venv/bin/python" "$here/km_reference.py" "$root/crates/tenure-reports/tests/fixtures"
git -C "$root" diff --stat -- crates/tenure-reports/tests/fixtures || true
