#!/usr/bin/env python3
"""Checks the shape the project holds its product code to: no file over MAX_FILE lines, no function
over MAX_FUNC lines (from its opening line to its closing brace). Lists what is over; exit 1 if any.

Usage: code_shape.py [DIR...]   (default: agent cgroup bpf)"""
import os
import re
import sys

MAX_FILE = 900
MAX_FUNC = 120
# A function definition starts at column 0 with a type and a name followed by "(", not a ";".
START = re.compile(r"^[A-Za-z_][\w \*]*\b(\w+)\([^;]*$")


def functions(lines):
    i = 0
    while i < len(lines):
        m = START.match(lines[i])
        if m and not lines[i].startswith(("typedef", "#")):
            # find the opening brace at column 0
            j = i
            while j < len(lines) and lines[j] != "{" and not lines[j].rstrip().endswith(";"):
                j += 1
            if j < len(lines) and lines[j] == "{":
                k = j
                while k < len(lines) and lines[k] != "}":
                    k += 1
                yield m.group(1), i + 1, k - i + 1
                i = k
        i += 1


def main():
    dirs = sys.argv[1:] or ["agent", "cgroup", "bpf"]
    bad = 0
    for top in dirs:
        for d, _, files in os.walk(top):
            for f in sorted(files):
                if not f.endswith(".c") or f.endswith(".bpf.c"):
                    continue
                p = os.path.join(d, f)
                with open(p) as fh:
                    lines = fh.read().split("\n")
                if len(lines) > MAX_FILE:
                    print("code-shape: %s: %d lines (over %d)" % (p, len(lines), MAX_FILE))
                    bad += 1
                for name, line, n in functions(lines):
                    if n > MAX_FUNC:
                        print("code-shape: %s:%d: %s() is %d lines (over %d)" % (p, line, name, n, MAX_FUNC))
                        bad += 1
    print("code-shape: %d over" % bad)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
