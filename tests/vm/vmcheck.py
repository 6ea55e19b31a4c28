#!/usr/bin/env python3
"""Checks for the VM tier's guest tests: compares cgcheck / snug-agent JSON with what was built and with the cgroup files.

One python start costs seconds under TCG, so each subcommand checks a whole phase at once.
Every check prints "  ok: ..." or "FAIL: ..."; the exit status is 1 when any failed.
"""
import json
import os
import sys

failures = 0


def ok(msg):
    print("  ok: " + msg)


def bad(msg):
    global failures
    failures += 1
    print("FAIL: " + msg)


def check(cond, msg):
    (ok if cond else bad)(msg)
    return cond


def last_json_line(path):
    with open(path) as f:
        lines = [l for l in f if l.strip()]
    if not lines:
        raise SystemExit("FAIL: %s is empty" % path)
    return json.loads(lines[-1])


def json_lines(path):
    with open(path) as f:
        return [json.loads(l) for l in f if l.strip()]


def read_flat(path):
    """Flat keyed file (cpu.stat, memory.stat, memory.events) -> dict of ints."""
    d = {}
    with open(path) as f:
        for line in f:
            k, v = line.split()
            d[k] = int(v)
    return d


def read_value(path):
    with open(path) as f:
        return f.read().strip()


def read_u64_or_max(path):
    v = read_value(path)
    return None if v == "max" else int(v)


def read_psi(path):
    d = {}
    with open(path) as f:
        for line in f:
            parts = line.split()
            d[parts[0]] = {k: float(v) for k, v in (p.split("=") for p in parts[1:])}
    return d


def inode_of(path):
    """st_ino, or the reported value's stand-in when a later step of the test removed the dir."""
    try:
        return os.stat(path).st_ino
    except FileNotFoundError:
        return None


def cmd_discover(expected_tsv, discover_json, root):
    """EXPECTED lines: 'pod UID QOS DRIVER PATH' and 'ctr UID CID RUNTIME PATH'."""
    want_pods, want_ctrs = {}, {}
    with open(expected_tsv) as f:
        for line in f:
            w = line.split()
            if not w:
                continue
            if w[0] == "pod":
                want_pods[w[1]] = dict(qos=w[2], driver=w[3], path=w[4])
            else:
                want_ctrs.setdefault(w[1], {})[w[2]] = dict(runtime=w[3], path=w[4])
    with open(discover_json) as f:
        got = json.load(f)
    got_pods = {p["uid"]: p for p in got.get("pods", [])}
    check(set(got_pods) == set(want_pods),
          "discovered pods %s == created %s" % (sorted(got_pods), sorted(want_pods)))
    nctr = sum(len(c) for c in want_ctrs.values())
    check(got.get("n_containers") == nctr, "n_containers %s == %d" % (got.get("n_containers"), nctr))
    for uid, want in sorted(want_pods.items()):
        p = got_pods.get(uid)
        if p is None:
            bad("pod %s (%s %s) not discovered" % (uid, want["driver"], want["qos"]))
            continue
        ino = inode_of(os.path.join(root, want["path"]))
        check(p["qos"] == want["qos"] and p["driver"] == want["driver"] and p["path"] == want["path"]
              and (ino is None or p["inode"] == ino),
              "pod %s: %s %s %s inode %s (stat says %s)" % (uid, p["driver"], p["qos"], p["path"],
                                                           p["inode"], ino or "gone since"))
        got_c = {c["id"]: c for c in p.get("containers", [])}
        wc = want_ctrs.get(uid, {})
        check(set(got_c) == set(wc), "pod %s containers %s == created %s" %
              (uid, sorted(x[:12] for x in got_c), sorted(x[:12] for x in wc)))
        for cid, w in sorted(wc.items()):
            c = got_c.get(cid)
            if c is None:
                bad("container %s (%s) not discovered" % (cid[:12], w["path"]))
                continue
            ino = inode_of(os.path.join(root, w["path"]))
            check(c["runtime"] == w["runtime"] and c["path"] == w["path"] and (ino is None or c["inode"] == ino),
                  "container %s: %s %s inode %s (stat says %s)" % (cid[:12], c["runtime"], c["path"],
                                                                  c["inode"], ino or "gone since"))


VOLATILE = {"timestamp_usec", "avg10", "avg60", "avg300", "mode", "tick"}


def strip(o):
    if isinstance(o, dict):
        return {k: strip(v) for k, v in o.items() if k not in VOLATILE}
    if isinstance(o, list):
        return [strip(v) for v in o]
    return o


def diff(a, b, where=""):
    out = []
    if isinstance(a, dict) and isinstance(b, dict):
        for k in sorted(set(a) | set(b)):
            if k not in a or k not in b:
                out.append("%s/%s only in one" % (where, k))
            else:
                out += diff(a[k], b[k], where + "/" + k)
    elif a != b:
        out.append("%s: %r != %r" % (where, a, b))
    return out


def cmd_same(*files):
    """The last tick of each cgcheck sample output must agree on every non-volatile field."""
    docs = [last_json_line(f) for f in files]
    base = strip(docs[0]["samples"])
    check(len(base) > 0, "%d cgroups sampled by %s" % (len(base), docs[0].get("mode")))
    for f, d in zip(files[1:], docs[1:]):
        dd = diff(base, strip(d["samples"]))
        check(not dd, "%s and %s agree on every field%s" % (docs[0].get("mode"), d.get("mode"),
                                                             "" if not dd else ": " + "; ".join(dd[:8])))


def cmd_grows(path, rel, field):
    """FIELD of cgroup REL strictly increases from tick to tick."""
    vals = [t["samples"][rel][field] for t in json_lines(path)]
    check(len(vals) >= 2 and all(b > a for a, b in zip(vals, vals[1:])),
          "%s of %s grows tick by tick: %s" % (field, rel, vals))


def cmd_files(path, root):
    """The last sample of every cgroup equals the files read now (the cgroups are frozen)."""
    d = last_json_line(path)
    for rel, s in sorted(d["samples"].items()):
        base = os.path.join(root, rel)
        if s.get("error"):
            bad("%s: sample error %s" % (rel, s["error"]))
            continue
        cpu = read_flat(os.path.join(base, "cpu.stat"))
        mem = read_flat(os.path.join(base, "memory.stat"))
        ev = read_flat(os.path.join(base, "memory.events"))
        cur = int(read_value(os.path.join(base, "memory.current")))
        want = {
            "usage_usec": cpu["usage_usec"], "nr_periods": cpu["nr_periods"],
            "nr_throttled": cpu["nr_throttled"], "throttled_usec": cpu["throttled_usec"],
            "memory_current": cur, "memory_working_set": max(0, cur - mem["inactive_file"]),
            "anon": mem["anon"], "inactive_file": mem["inactive_file"],
            "memory_max": read_u64_or_max(os.path.join(base, "memory.max")),
            "memory_high": read_u64_or_max(os.path.join(base, "memory.high")),
            "cpu_weight": int(read_value(os.path.join(base, "cpu.weight"))),
        }
        q, p = read_value(os.path.join(base, "cpu.max")).split()
        want["cpu_max_quota_usec"] = None if q == "max" else int(q)
        want["cpu_max_period_usec"] = int(p)
        if os.path.exists(os.path.join(base, "memory.peak")):
            want["memory_peak"] = int(read_value(os.path.join(base, "memory.peak")))
        got = {k: s.get(k) for k in want}
        dd = diff(want, got)
        check(not dd, "%s: sample == files (%d fields)%s" % (rel.split("/")[-1][:40], len(want),
                                                             "" if not dd else ": " + "; ".join(dd)))
        check(s["memory_events"]["oom_kill"] == ev["oom_kill"],
              "%s: oom_kill %s == memory.events" % (rel.split("/")[-1][:40], ev["oom_kill"]))
        psi = read_psi(os.path.join(base, "cpu.pressure"))
        check(s["cpu_pressure"]["some"]["total_usec"] == int(psi["some"]["total"]),
              "%s: cpu pressure total %s == file" % (rel.split("/")[-1][:40], int(psi["some"]["total"])))


def find_key(obj, *cands):
    """The first key of obj among cands (top's JSON names carry their unit)."""
    for c in cands:
        if c in obj:
            return obj[c]
    raise KeyError("none of %s in %s" % (cands, sorted(obj)))


def cmd_top(top_json, root, expected_tsv, extra_check=None):
    """snug-agent top --once --json agrees with the files of every container it lists."""
    with open(top_json) as f:
        doc = json.load(f)
    rows = doc if isinstance(doc, list) else find_key(doc, "containers")
    want = {}
    with open(expected_tsv) as f:
        for line in f:
            w = line.split()
            if w and w[0] == "ctr":
                want[w[2]] = w
    by_id = {}
    for r in rows:
        cid = find_key(r, "container_id", "id", "container")
        by_id[cid] = r
    if extra_check:
        extra_check(by_id)
    check(set(by_id) == set(want), "top lists the %d created containers (got %d)" % (len(want), len(by_id)))
    for cid, r in sorted(by_id.items()):
        if cid not in want:
            continue
        base = os.path.join(root, want[cid][4])
        name = cid[:12]
        q, p = read_value(os.path.join(base, "cpu.max")).split()
        check(r.get("cgroup_inode", os.stat(base).st_ino) == os.stat(base).st_ino,
              "%s: cgroup inode %s == stat" % (name, r.get("cgroup_inode")))
        lim = find_key(r, "cpu_limit_cores", "cpu_limit")
        want_lim = None if q == "max" else int(q) / int(p)
        check((lim is None and want_lim is None) or
              (lim is not None and want_lim is not None and abs(lim - want_lim) < 1e-3),
              "%s: cpu limit %s cores == cpu.max %s %s" % (name, lim, q, p))
        w = find_key(r, "cpu_weight", "weight")
        check(w == int(read_value(os.path.join(base, "cpu.weight"))), "%s: weight %s == cpu.weight" % (name, w))
        mlim = find_key(r, "memory_max_bytes", "memory_limit_bytes")
        check(mlim == read_u64_or_max(os.path.join(base, "memory.max")),
              "%s: memory limit %s == memory.max" % (name, mlim))
        ws = find_key(r, "memory_working_set_bytes")
        cur = int(read_value(os.path.join(base, "memory.current")))
        inact = read_flat(os.path.join(base, "memory.stat"))["inactive_file"]
        check(ws == max(0, cur - inact), "%s: working set %s == current - inactive_file" % (name, ws))
        oom = find_key(r, "oom_kill_count", "oom_kills", "oom_kill")
        ev = read_flat(os.path.join(base, "memory.events"))["oom_kill"]
        check(oom == ev, "%s: oom kills %s == memory.events oom_kill %s" % (name, oom, ev))


def cmd_top_live(top_json, burner_id, limit_cores):
    """While the burner runs under its cpu.max, top shows it using CPU, throttled, within its limit."""
    with open(top_json) as f:
        doc = json.load(f)
    rows = {r["container_id"]: r for r in doc}
    r = rows.get(burner_id)
    if not check(r is not None, "top lists the burner %s" % burner_id[:12]):
        return
    use, thr = r.get("cpu_usage_cores"), r.get("cpu_throttled_pct")
    check(use is not None and use > 0, "burner uses %s cores" % use)
    # Usage is averaged over the interval: allow generous slack, this is not a timing test.
    check(use is not None and use <= float(limit_cores) * 1.5 + 0.05,
          "burner stays near its %s-core limit (%s)" % (limit_cores, use))
    check(thr is not None and thr > 0, "burner is shown throttled (%s%%)" % thr)


def main():
    cmds = {"discover": cmd_discover, "same": cmd_same, "grows": cmd_grows, "files": cmd_files,
            "top": cmd_top, "top-live": cmd_top_live}
    if len(sys.argv) < 2 or sys.argv[1] not in cmds:
        print("usage: vmcheck.py %s ARGS..." % "|".join(sorted(cmds)), file=sys.stderr)
        return 2
    try:
        cmds[sys.argv[1]](*sys.argv[2:])
    except (KeyError, ValueError, OSError, json.JSONDecodeError) as e:
        bad("%s: %s: %s" % (sys.argv[1], type(e).__name__, e))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
