"""The load generator's JSON lines (crates/tenure-server/examples/load.rs) as a Markdown table."""
import json
import sys

for line in sys.stdin:
    r = json.loads(line)
    print(
        f"| `{r['path']}` | {r['requests']:,} | {r['errors']} | {r['p50_ms']:.2f} | "
        f"{r['p90_ms']:.2f} | {r['p99_ms']:.2f} | {r['max_ms']:.2f} | {r['requests_per_s']:,.0f} |"
    )
