#!/usr/bin/env python3
"""Checks docs/metrics.md against the code: every metric family the agent or the webhook exports
(SNUG_M_* names, the registry's *_new() calls and `# TYPE` lines in the sources) is in the table, and every snug_* name in the
table is exported. Exit 1 with the differences otherwise.

Usage: docs_metrics.py [REPO]"""
import os
import re
import sys


def main():
    repo = sys.argv[1] if len(sys.argv) > 1 else "."
    code = set()
    for d, _, files in os.walk(os.path.join(repo, "agent")):
        for f in files:
            if f.endswith((".c", ".h")):
                with open(os.path.join(d, f)) as fh:
                    text = fh.read()
                code |= set(re.findall(r'#define SNUG_M_\w+ "(snug_\w+)"', text))
                code |= set(re.findall(r"# TYPE (snug_\w+) ", text))
                code |= set(re.findall(r'metrics_(?:gauge|counter|histogram)_new\(\s*[^,]+,\s*"(snug_\w+)"', text))
    with open(os.path.join(repo, "docs", "metrics.md")) as fh:
        docs = set(re.findall(r"`(snug_[a-z_]+)`", fh.read()))
    missing, stale = sorted(code - docs), sorted(docs - code)
    for m in missing:
        print("docs-metrics: %s is exported but not in docs/metrics.md" % m)
    for m in stale:
        print("docs-metrics: docs/metrics.md names %s, which nothing exports" % m)
    if not code:
        print("docs-metrics: found no metric in the sources", file=sys.stderr)
        return 2
    print("docs-metrics: %d families, docs %s" % (len(code), "match" if not missing and not stale else "differ"))
    return 1 if missing or stale else 0


if __name__ == "__main__":
    sys.exit(main())
