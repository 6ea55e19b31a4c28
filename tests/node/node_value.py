"""The value benchmark (issue 17; guest side of `make bench-node`, also `check.sh bench value` alone):
slack at equal safety on the real node. One boot, one snug-agent, the same workload suite three times
side by side under three policies:

  static    the requests and limits as written (no snug.io/mode: the agent leaves them alone)
  vpa-like  snug.io/mode in-place + snug.io/updater vpa-like: snug's recommender acting only as VPA's
            updater would (the recommendation, outside [lower, upper], once a minute; docs/value.md)
  snug      snug.io/mode in-place: snug's defaults

Sampled every SNUG_VALUE_SAMPLE seconds from the pods' cgroups (the kubelet's pod cgroup: it outlives
container restarts, so its cumulative counters count every kill) and the API (spec requests and
limits); time-weighted per workload and in total. The time series goes to value.csv in the results
dir, the summary to value.json; BENCH lines on stdout.

Compressed time: the recommender's day (histogram half-lives, memory aggregation interval, confidence
intervals) is SNUG_VALUE_DAY (5m), the service's CPU wave has that period; the controllers' own
timings (snug's 5 min cooldown, the VPA-like minute, throttle and PSI windows) stay real.
"""

import json
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))

import nodectl  # noqa: E402
from nodectl import cg_read, quantity  # noqa: E402

SECONDS = int(os.environ.get("SNUG_VALUE_SECONDS", "720"))
SAMPLE = float(os.environ.get("SNUG_VALUE_SAMPLE", "5"))
DAY = os.environ.get("SNUG_VALUE_DAY", "5m")
POLICIES = ("static", "vpa-like", "snug")
GIB = float(1 << 30)
# The recommender compressed (a day is DAY) and, as the suite is a ~1/10 scale model of real pods
# (tens of MiB, not hundreds), VPA's per-pod minimums (250 MiB, 25m) scaled likewise. The same for
# both policies that use it. --min-history: 2 of those days.
AGENT_ARGS = ["--sample-interval", "1s", "--decide-interval", "15s", "--min-history", "2m"] + [
    x for kv in ("cpu-histogram-decay-half-life=" + DAY, "memory-histogram-decay-half-life=" + DAY,
                 "memory-aggregation-interval=" + DAY, "confidence-interval-cpu=" + DAY,
                 "confidence-interval-memory=" + DAY, "pod-recommendation-min-memory-mb=25",
                 "pod-recommendation-min-cpu-millicores=10") for x in ("--rec", kv)]


def suite(seed):
    """(name, args, requests, limits): what a person would typically write (generous), but for
    the JVM-like one, which starts too small. Light on CPU: the node is a TCG VM on 2 shared cores,
    whose 2 allocatable CPUs must admit the three sets' requests (570m each)."""
    day_s = str(int(DAY[:-1]) * 60) if DAY.endswith("m") else DAY.rstrip("s")
    return [
        ("service", ["wave", "--min-m", "10", "--max-m", "80", "--period-s", day_s, "--mib", "30",
                     "--seed", str(seed)],
         {"cpu": "150m", "memory": "128Mi"}, {"cpu": "300m", "memory": "256Mi"}),
        ("leak", ["grow", "--rate-mib", "1", "--start-mib", "10", "--exit-mib", "90"],
         {"cpu": "20m", "memory": "128Mi"}, {"cpu": "50m", "memory": "192Mi"}),
        ("batch", ["batch", "--burst-ms", "300", "--period-s", "20", "--mib", "40", "--seed", str(seed)],
         {"cpu": "200m", "memory": "128Mi"}, {"cpu": "400m", "memory": "256Mi"}),
        ("jvm-small", ["sawtooth", "--base-mib", "40", "--peak-mib", "110", "--rate-mib", "10"],
         {"cpu": "50m", "memory": "64Mi"}, {"cpu": "100m", "memory": "96Mi"}),
        ("idle", ["grow", "--start-mib", "8", "--max-mib", "8"],
         {"cpu": "100m", "memory": "192Mi"}, {"cpu": "200m", "memory": "384Mi"}),
        ("startup", ["start", "--burn-ms", "3000", "--ready-port", str(18080 + seed)],
         {"cpu": "50m", "memory": "32Mi"}, {"cpu": "100m", "memory": "64Mi"}),
    ]


def log(msg):
    print(msg, flush=True)


def manifest(policy, idx, name, args, req, lim):
    ann = {}
    mode = None
    if policy != "static":
        mode = "in-place"
    if policy == "vpa-like":
        ann["snug.io/updater"] = "vpa-like"
    return nodectl.pod_manifest("%s-%s" % (name, policy), [dict(name="app", args=args, requests=req,
                                                                  limits=lim)], mode=mode, annotations=ann)


def kv_file(path, name):
    out = {}
    for line in (cg_read(path, name) or "").splitlines():
        k, _, v = line.partition(" ")
        try:
            out[k] = int(v)
        except ValueError:
            pass
    return out


def psi_some_total(path):
    for line in (cg_read(path, "memory.pressure") or "").splitlines():
        if line.startswith("some "):
            for f in line.split():
                if f.startswith("total="):
                    return int(f[6:])
    return 0


def oom_kills(events):
    """Processes OOM-killed in the pod: memory.events oom_kill less oom_group_kill. The kubelet
    (1.32+) sets memory.oom.group, and the kernel then counts the victim twice: as the victim and
    again as a member of its group (dmesg prints its "Killed process" line twice)."""
    return events.get("oom_kill", 0) - events.get("oom_group_kill", 0)


def res_of(pod):
    c = nodectl.spec_container(pod, "app") or {}
    r = c.get("resources", {})
    q = lambda part, k: quantity(r[part][k]) if k in r.get(part, {}) else None  # noqa: E731
    return q("requests", "memory"), q("limits", "memory"), q("requests", "cpu"), q("limits", "cpu")


def sample(node, names):
    """One row per pod: spec from the API, counters from its pod cgroup (None when not there)."""
    pods = {p["metadata"]["name"]: p for p in node.api.get("/api/v1/namespaces/%s/pods" % nodectl.NS)["items"]}
    t = time.monotonic()
    rows = {}
    for n in names:
        p = pods.get(n)
        if not p or not p.get("status", {}).get("qosClass"):
            continue
        cg = node.pod_cgroup(p)
        if not os.path.isdir(cg):
            continue
        mem = kv_file(cg, "memory.stat")
        cur = int(cg_read(cg, "memory.current") or 0)
        cpu = kv_file(cg, "cpu.stat")
        cs = nodectl.container_status(p, "app") or {}
        mreq, mlim, creq, clim = res_of(p)
        rows[n] = dict(t=t, mem_req=mreq, mem_lim=mlim, cpu_req=creq, cpu_lim=clim,
                       mem_usage=max(0, cur - mem.get("inactive_file", 0)),
                       cpu_usec=cpu.get("usage_usec", 0), periods=cpu.get("nr_periods", 0),
                       throttled=cpu.get("nr_throttled", 0), psi_us=psi_some_total(cg),
                       oom=oom_kills(kv_file(cg, "memory.events")),
                       restarts=cs.get("restartCount", 0))
    return rows


class Acc:
    """Time-weighted sums for one pod (or a total)."""

    KEYS = ("dt", "lim_dt", "lim_slack_dt", "req_dt", "req_slack_dt", "creq_dt", "creq_slack_dt",
            "periods", "throttled", "psi_us", "oom", "resizes", "mem_req_gib_h", "cpu_req_core_h")

    def __init__(self):
        for k in self.KEYS:
            setattr(self, k, 0.0)

    def add(self, other):
        for k in self.KEYS:
            setattr(self, k, getattr(self, k) + getattr(other, k))

    def summary(self):
        div = lambda a, b: 100.0 * a / b if b else None  # noqa: E731
        return {"mem_slack_vs_limit_pct": div(self.lim_slack_dt, self.lim_dt),
                "mem_slack_vs_request_pct": div(self.req_slack_dt, self.req_dt),
                "cpu_slack_vs_request_pct": div(self.creq_slack_dt, self.creq_dt),
                "throttled_pct": div(self.throttled, self.periods),
                "memory_stall_pct": div(self.psi_us / 1e6, self.dt),
                "oom_kills": int(self.oom), "resizes": int(self.resizes),
                "reserved_memory_gib_h": self.mem_req_gib_h, "reserved_cpu_core_h": self.cpu_req_core_h,
                "seconds": self.dt}


def step(acc, prev, cur):
    """Adds the interval prev -> cur of one pod to acc (values at the interval's end, rates from the
    deltas of the pod cgroup's cumulative counters)."""
    dt = cur["t"] - prev["t"]
    if dt <= 0:
        return
    acc.dt += dt
    u = cur["mem_usage"]
    if cur["mem_lim"]:
        acc.lim_dt += cur["mem_lim"] * dt
        acc.lim_slack_dt += (cur["mem_lim"] - u) * dt
    if cur["mem_req"]:
        acc.req_dt += cur["mem_req"] * dt
        acc.req_slack_dt += (cur["mem_req"] - u) * dt
        acc.mem_req_gib_h += cur["mem_req"] / GIB * dt / 3600
    if cur["cpu_req"]:
        cores = max(0, cur["cpu_usec"] - prev["cpu_usec"]) / 1e6 / dt
        acc.creq_dt += cur["cpu_req"] * dt
        acc.creq_slack_dt += (cur["cpu_req"] - cores) * dt
        acc.cpu_req_core_h += cur["cpu_req"] * dt / 3600
    acc.periods += max(0, cur["periods"] - prev["periods"])
    acc.throttled += max(0, cur["throttled"] - prev["throttled"])
    acc.psi_us += max(0, cur["psi_us"] - prev["psi_us"])
    acc.oom += max(0, cur["oom"] - prev["oom"])
    if (cur["mem_req"], cur["mem_lim"], cur["cpu_req"], cur["cpu_lim"]) != (
            prev["mem_req"], prev["mem_lim"], prev["cpu_req"], prev["cpu_lim"]):
        acc.resizes += 1


def ratio(baseline, value, floor):
    """baseline/value, the value taken as at least floor (1 for a count of 0); 1 when both are 0."""
    if not baseline and not value:
        return 1.0
    return baseline / max(value, floor)


def fmt(v, f="%.1f"):
    return "-" if v is None else f % v


def main():
    node = nodectl.Node()
    csv_path = os.path.join(node.res, "value.csv")
    plan = []
    for pi, policy in enumerate(POLICIES):
        for name, args, req, lim in suite(pi + 1):
            plan.append((policy, name, manifest(policy, pi, name, args, req, lim)))
    names = [m["metadata"]["name"] for _, _, m in plan]
    node.start_agent(*AGENT_ARGS)
    t_start = time.monotonic()
    for _, _, m in plan:
        node.create(m)
    log("value: %d pods created (%d workloads x %s); measuring %d s, a sample every %.0f s; the "
        "recommender's day is %s" % (len(plan), len(plan) // len(POLICIES), "/".join(POLICIES), SECONDS,
                                     SAMPLE, DAY))
    accs = {n: Acc() for n in names}
    last = {}
    rows_out = []
    deadline = t_start + SECONDS
    next_report = t_start + 60
    try:
        while time.monotonic() < deadline:
            t_loop = time.monotonic()
            try:
                rows = sample(node, names)
            except Exception as e:  # a slow API answer under TCG: skip the sample, not the run
                log("value: sample failed: %s" % e)
                rows = {}
            for n, r in rows.items():
                if n in last:
                    step(accs[n], last[n], r)
                last[n] = r
                rows_out.append((r["t"] - t_start, n, r))
            if t_loop >= next_report:
                next_report += 60
                log("value: %3.0f s: %d pods sampled; agent resizes ok %s" % (
                    t_loop - t_start, len(rows), fmt(node.metric("snug_resizes_total", result="ok"), "%.0f")))
            time.sleep(max(0.0, SAMPLE - (time.monotonic() - t_loop)))
        snug_resizes = node.metric("snug_resizes_total", result="ok")
    finally:
        node.stop_agent()
    who = {m["metadata"]["name"]: (policy, wl) for policy, wl, m in plan}
    with open(csv_path, "w") as f:
        f.write("t,policy,workload,mem_request,mem_limit,mem_usage,cpu_request,cpu_limit,oom_kills,restarts\n")
        for t, n, r in rows_out:
            pol, wl = who[n]
            f.write("%.1f,%s,%s,%s,%s,%d,%s,%s,%d,%d\n" % (
                t, pol, wl, int(r["mem_req"] or 0), int(r["mem_lim"] or 0), r["mem_usage"],
                r["cpu_req"] or 0, r["cpu_lim"] or 0, r["oom"], r["restarts"]))
    out = {"seconds": SECONDS, "sample": SAMPLE, "day": DAY, "agent_args": AGENT_ARGS,
           "snug_resizes_ok": snug_resizes, "policies": {}}
    log("")
    log("value: time-weighted over %.0f s (memory usage = the pod cgroup's memory.current - inactive_file)"
        % (time.monotonic() - t_start))
    log("  %-9s %-9s %8s %8s %8s %6s %6s %6s %5s %8s" % ("policy", "workload", "slk/lim", "slk/req", "cpu/req",
                                                          "thr%", "stall%", "ooms", "rsz", "GiB*h"))
    totals = {}
    for policy in POLICIES:
        tot = Acc()
        per = {}
        for _, wl, m in [x for x in plan if x[0] == policy]:
            a = accs[m["metadata"]["name"]]
            tot.add(a)
            s = per[wl] = a.summary()
            log("  %-9s %-9s %8s %8s %8s %6s %6s %6d %5d %8.4f" % (
                policy, wl, fmt(s["mem_slack_vs_limit_pct"]), fmt(s["mem_slack_vs_request_pct"]),
                fmt(s["cpu_slack_vs_request_pct"]), fmt(s["throttled_pct"]), fmt(s["memory_stall_pct"], "%.2f"),
                s["oom_kills"], s["resizes"], s["reserved_memory_gib_h"]))
        s = totals[policy] = tot.summary()
        log("  %-9s %-9s %8s %8s %8s %6s %6s %6d %5d %8.4f" % (
            policy, "TOTAL", fmt(s["mem_slack_vs_limit_pct"]), fmt(s["mem_slack_vs_request_pct"]),
            fmt(s["cpu_slack_vs_request_pct"]), fmt(s["throttled_pct"]), fmt(s["memory_stall_pct"], "%.2f"),
            s["oom_kills"], s["resizes"], s["reserved_memory_gib_h"]))
        out["policies"][policy] = {"total": s, "workloads": per}
    with open(os.path.join(node.res, "value.json"), "w") as f:
        json.dump(out, f, indent=1)
    base = totals["static"]
    # Counts and GiB-hours have no unit of their own in the BENCH format: `bytes` is the closest
    # (docs/value.md); a ratio against a count of 0 is taken against 1.
    for policy in POLICIES:
        s = totals[policy]
        for bname, key, unit, floor in (("memory-slack", "mem_slack_vs_limit_pct", "pct", 1e-9),
                                        ("oom-kills", "oom_kills", "bytes", 1),
                                        ("throttled-pct", "throttled_pct", "pct", 1e-9),
                                        ("reserved-gib-hours", "reserved_memory_gib_h", "bytes", 1e-9)):
            v, b = s[key] or 0.0, base[key] or 0.0
            print("BENCH name=value-%s-%s value=%.4g unit=%s baseline=%.4g ratio=%.3g" % (
                bname, policy, v, unit, b, ratio(b, v, floor)))
    sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
