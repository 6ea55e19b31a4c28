#!/usr/bin/env python3
"""Lists pairs of product files that call each other (A calls a function of B and B one of A), from the
symbols of their objects (`nm`): the agent's path from sample to resize must be followable one way.

Usage: call_cycles.py OBJ_DIR   (build/obj); exit status 1 when a pair is found."""
import os
import subprocess
import sys


def objects(root):
    for top in ("agent", "cgroup", "bpf"):
        for d, _, files in os.walk(os.path.join(root, top)):
            for f in files:
                if f.endswith(".o"):
                    yield os.path.join(d, f)


def main():
    root = sys.argv[1] if len(sys.argv) > 1 else "build/obj"
    defined, uses = {}, {}
    for o in objects(root):
        src = os.path.relpath(o, root)[:-2] + ".c"
        out = subprocess.run(["nm", o], check=True, capture_output=True, text=True).stdout
        uses[src] = set()
        for line in out.splitlines():
            parts = line.split()
            if len(parts) == 2 and parts[0] == "U":
                uses[src].add(parts[1])
            elif len(parts) == 3 and parts[1] in "TDBR":
                defined[parts[2]] = src
    calls = {src: {defined[s] for s in syms if s in defined and defined[s] != src} for src, syms in uses.items()}
    pairs = sorted({tuple(sorted((a, b))) for a, bs in calls.items() for b in bs if a in calls.get(b, ())})
    for a, b in pairs:
        print("call-cycles: %s <-> %s" % (a, b))
    if not uses:
        print("call-cycles: no objects under %s" % root, file=sys.stderr)
        return 2
    print("call-cycles: %d product files, %d pairs calling each other" % (len(uses), len(pairs)))
    return 1 if pairs else 0


if __name__ == "__main__":
    sys.exit(main())
