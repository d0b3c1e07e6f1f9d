# Sourced by bench/serve_load.sh and bench/dashboard_load.sh: the generated company of
# $customers customers (seed 11) imported into SQLite at $db, made once and kept (the import
# takes minutes). Needs $tenure, $customers and $out.
db="$out/company-$customers.db"
if [ ! -f "$db.done" ]; then
  rm -rf "$out/company" "$db"
  "$tenure" generate --customers "$customers" --seed 11 --out "$out/company" >/dev/null
  for k in customers subscriptions transactions costs usage feedback; do
    "$tenure" import "$k" "$out/company/$k.csv" --db "$db" >/dev/null
  done
  touch "$db.done"
fi
