"""The value benchmark's table in Markdown from its value.json (tests/node/node_value.py), for
docs/value.md: per policy and workload, and the totals.

    python3 tests/node/value_table.py build/node/bench-1.36.2/value.json
"""

import json
import sys

COLS = (("mem_slack_vs_limit_pct", "memory slack vs limit %", "%.1f"),
        ("mem_slack_vs_request_pct", "memory slack vs request %", "%.1f"),
        ("cpu_slack_vs_request_pct", "CPU slack vs request %", "%.1f"),
        ("oom_kills", "OOM kills", "%d"),
        ("throttled_pct", "periods throttled %", "%.1f"),
        ("memory_stall_pct", "memory stall (PSI some) %", "%.2f"),
        ("resizes", "resizes", "%d"),
        ("reserved_memory_gib_h", "reserved GiB-hours", "%.4f"),
        ("reserved_cpu_core_h", "reserved core-hours", "%.4f"))


def cell(s, key, f):
    v = s.get(key)
    return "-" if v is None else f % v


def main(path):
    with open(path) as f:
        data = json.load(f)
    pols = list(data["policies"])
    print("| policy | workload | " + " | ".join(c[1] for c in COLS) + " |")
    print("|---|---|" + "---:|" * len(COLS))
    for p in pols:
        for wl, s in data["policies"][p]["workloads"].items():
            print("| %s | %s | %s |" % (p, wl, " | ".join(cell(s, k, f) for k, _, f in COLS)))
    for p in pols:
        s = data["policies"][p]["total"]
        print("| **%s** | **total** | %s |" % (p, " | ".join("**%s**" % cell(s, k, f) for k, _, f in COLS)))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
