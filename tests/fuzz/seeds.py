#!/usr/bin/env python3
"""Writes the fuzz seeds for fuzz-kube-pod: every recorded reply body and watch line under
tests/data/kube, without managedFields (bulk the parser never reads; small seeds fuzz faster)."""
import json
import os
import sys

src, dst = sys.argv[1], sys.argv[2]
os.makedirs(dst, exist_ok=True)


def strip(o):
    if isinstance(o, dict):
        return {k: strip(v) for k, v in o.items() if k != "managedFields"}
    if isinstance(o, list):
        return [strip(v) for v in o]
    return o


def emit(name, text):
    try:
        text = json.dumps(strip(json.loads(text)), separators=(",", ":"))
    except ValueError:
        pass
    with open(os.path.join(dst, name), "w") as f:
        f.write(text)


for root, _, files in os.walk(src):
    for fn in sorted(files):
        path = os.path.join(root, fn)
        tag = os.path.relpath(path, src).replace("/", "-")
        with open(path) as f:
            text = f.read()
        if fn.endswith(".reply"):
            emit(tag, text.split("\n", 1)[1])
        elif fn.endswith(".watch"):
            for i, line in enumerate(text.splitlines()):
                emit("%s-%d" % (tag, i), line)
        elif fn.endswith(".json"):
            emit(tag, text)
