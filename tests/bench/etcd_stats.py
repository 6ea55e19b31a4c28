#!/usr/bin/env python3
"""What the shared history costs etcd, read over etcd's own HTTP API on loopback (the JSON gateway
of its gRPC API, v3): its database size (/metrics), compaction + defragmentation to the live data,
and the count and stored size of the WorkloadHistory keys. For tests/bench/bench_history.sh.

    etcd_stats.py size URL        db_total_size_in_bytes and its in-use part, as "db in_use"
    etcd_stats.py compact URL     compacts to the current revision, defragments, then as `size`
    etcd_stats.py keys URL PREFIX "count mean_bytes" of the keys under PREFIX (key + value)
"""
import base64
import json
import sys
import urllib.request


def post(url, path, body):
    req = urllib.request.Request(url + path, data=json.dumps(body).encode(),
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=120) as r:
        return json.load(r)


def b64(s):
    return base64.b64encode(s.encode()).decode()


def size(url):
    with urllib.request.urlopen(url + "/metrics", timeout=30) as r:
        text = r.read().decode()
    got = {}
    for line in text.splitlines():
        for name in ("etcd_mvcc_db_total_size_in_bytes", "etcd_mvcc_db_total_size_in_use_in_bytes"):
            if line.startswith(name + " "):
                got[name] = int(float(line.split()[1]))
    if len(got) != 2:
        raise SystemExit("etcd_stats: no db size in %s/metrics" % url)
    return "%d %d" % (got["etcd_mvcc_db_total_size_in_bytes"],
                      got["etcd_mvcc_db_total_size_in_use_in_bytes"])


def compact(url):
    rev = int(post(url, "/v3/kv/range", {"key": b64("/"), "count_only": True})["header"]["revision"])
    post(url, "/v3/kv/compaction", {"revision": rev, "physical": True})
    post(url, "/v3/maintenance/defragment", {})
    return size(url)


def keys(url, prefix):
    end = prefix[:-1] + chr(ord(prefix[-1]) + 1)
    count = int(post(url, "/v3/kv/range", {"key": b64(prefix), "range_end": b64(end),
                                            "count_only": True}).get("count", 0))
    kvs = post(url, "/v3/kv/range", {"key": b64(prefix), "range_end": b64(end),
                                      "limit": 200}).get("kvs", [])
    sizes = [len(base64.b64decode(kv["key"])) + len(base64.b64decode(kv.get("value", "")))
             for kv in kvs]
    return "%d %.0f" % (count, sum(sizes) / len(sizes) if sizes else 0)


def main():
    if len(sys.argv) < 3:
        raise SystemExit(__doc__)
    cmd, url = sys.argv[1], sys.argv[2]
    if cmd == "size":
        print(size(url))
    elif cmd == "compact":
        print(compact(url))
    elif cmd == "keys" and len(sys.argv) == 4:
        print(keys(url, sys.argv[3]))
    else:
        raise SystemExit(__doc__)


if __name__ == "__main__":
    main()
