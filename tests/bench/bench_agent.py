"""`make bench-agent`: the agent's own reaction time and footprint on the host, at native speed.

One fake API server (loopback) holds 125 opted-in pods x 2 containers; a fake kubelet-style cgroup tree
mirrors them; `snug-agent run --no-bpf` samples all 250 at 1 Hz. Two figures:

  footprint      after a warm-up, VmRSS (median over the window) and VmHWM of the agent, and its CPU use
                 (utime+stime of all its threads) as % of one core; only the agent's process is counted,
                 not the fake server's or this driver's. The fake tree is regular files, not kernfs:
                 reading a real memory.stat costs the kernel more, and that time is the agent's too.
  oom-to-resize  per iteration, oom_kill is bumped in one fresh container's memory.events (the --no-bpf
                 fallback path: the agent sees it through inotify). T0 = just before that write; T1 = when
                 both the fake server has sent its 200 to the resize PATCH (its `done_mono`) and the
                 container's memory.max has been written (inotify). All times are CLOCK_MONOTONIC.

    python3 tests/bench/bench_agent.py [--pods 125] [--window 30] [--iterations 25]
"""

import argparse
import os
import random
import statistics
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))

from snugtest.agent import Agent  # noqa: E402
from snugtest.cgtree import FakeTree  # noqa: E402
from snugtest.fakeserver import FakeApiServer, resize_requests  # noqa: E402
from snugtest.harness import tmpdir  # noqa: E402
from snugtest.inotify import FileWatch  # noqa: E402
from snugtest.node import Node as BaseNode  # noqa: E402
from snugtest.units import MiB  # noqa: E402

CLK_TCK = os.sysconf("SC_CLK_TCK")
PAGE = os.sysconf("SC_PAGE_SIZE")

APP = {"requests": {"cpu": "100m", "memory": "128Mi"}, "limits": {"cpu": "500m", "memory": "256Mi"}}
SIDECAR = {"requests": {"cpu": "50m", "memory": "64Mi"}, "limits": {"cpu": "200m", "memory": "256Mi"}}


def bench(name, value, unit, fmt="%.2f"):
    print(("BENCH name=%s value=" + fmt + " unit=%s") % (name, value, unit), flush=True)


def note(text):
    print("  " + text, flush=True)


def proc_status(pid):
    out = {}
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            k, _, v = line.partition(":")
            out[k] = v.strip()
    return out


def proc_kib(status, key):
    return int(status[key].split()[0]) * 1024


def proc_cpu_seconds(pid):
    """utime + stime of the whole thread group, in seconds."""
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def percentile(values, q):
    v = sorted(values)
    return v[min(len(v) - 1, max(0, int(round(q * (len(v) - 1)))))]


class Node(BaseNode):
    """The fake server, the fake tree with its pods, and the agent."""

    def __init__(self, n_pods, workdir):
        super().__init__(os.path.join(workdir, "cgroup"))
        self.dir = workdir
        self.srv = FakeApiServer(version="1.36", workdir=os.path.join(workdir, "srv"))
        os.makedirs(self.srv.dir, exist_ok=True)
        self.srv.start()
        # No simulated kubelet: every cgroup write is the agent's, and the fake server spends no CPU
        # walking 125 pods 20 times a second next to the agent being measured.
        self.srv.kubelet(mode="off")
        self.tree = FakeTree(self.cgroup_root)
        self.names = []
        for i in range(n_pods):
            name = "bench-%03d" % i
            containers = [{"name": "app", "image": "registry.example/app:1", "resources": APP},
                          {"name": "sidecar", "image": "registry.example/sidecar:1", "resources": SIDECAR}]
            pod = self.srv.create_pod(name, annotations={"snug.io/mode": "in-place"}, containers=containers)
            self.tree.add_pod(pod)
            self.names.append(name)
            for cname, cg in self.tree.pods[name]["containers"].items():
                cg.write("memory.max", "%d\n" % (256 * MiB))
                # app at 200 MiB: VPA's OOM bump (peak + 100 MiB) then lands above its 256 MiB limit.
                cg.memory = (200 if cname == "app" else 120) * MiB
                cg.write_memory()
            self.tree.pod(name).write("memory.max", "%d\n" % (512 * MiB))

    def start_agent(self):
        self.run_agent(Agent(self.srv, self.tree.root, os.path.join(self.dir, "state"), log_level="info",
                             args=["--sample-interval", "1s"]))
        self.wait_tracked(2 * len(self.names), timeout=60, interval=0.2)

    def feed(self, rng):
        """One second of life for every container: CPU time accrues, memory moves a little. Values keep
        their digit count, so the in-place rewrite never leaves a stale tail for a concurrent reader."""
        for name in self.names:
            for cname, cg in self.tree.pods[name]["containers"].items():
                cg.run(1.0, rng.uniform(0.02, 0.08))
                base = 200 if cname == "app" else 120
                cg.memory = base * MiB + rng.randrange(0, 4 * MiB, 4096)
                cg.write_memory()

    def stop(self):
        rc = self.agent.stop() if self.agent else None
        self.srv.cleanup()
        return rc


def footprint(node, warmup, window, rng):
    pid = node.agent.proc.pid
    end = time.monotonic() + warmup
    while time.monotonic() < end:
        node.feed(rng)
        time.sleep(1)
    rss = []
    c0, t0 = proc_cpu_seconds(pid), time.monotonic()
    next_tick = t0
    while time.monotonic() - t0 < window:
        node.feed(rng)
        rss.append(proc_kib(proc_status(pid), "VmRSS"))
        next_tick += 1
        time.sleep(max(0, next_tick - time.monotonic()))
    c1, t1 = proc_cpu_seconds(pid), time.monotonic()
    st = proc_status(pid)
    n = 2 * len(node.names)
    cpu_pct = 100.0 * (c1 - c0) / (t1 - t0)
    tracked = node.agent.metric("snug_tracked_containers")
    note("footprint: %d tracked containers (agent says %s), sampled every 1 s, %.0f s window after %.0f s warm-up; "
         "threads %s" % (n, int(tracked or 0), t1 - t0, warmup, st.get("Threads")))
    bench("agent-rss-%d" % n, statistics.median(rss), "bytes", "%d")
    bench("agent-rss-peak-%d" % n, proc_kib(st, "VmHWM"), "bytes", "%d")
    bench("agent-cpu-%d" % n, cpu_pct, "pct", "%.3f")
    return tracked


def oom_to_resize(node, iterations, rng):
    lat, api, arrived = [], [], []
    for i in range(iterations):
        name = node.names[i]
        c = node.tree.container(name, "app")
        before = c.read("memory.max").strip()
        node.srv.clear_requests()
        # A random phase against the agent's 1 s sampling tick: an OOM that waited for the tick would
        # show up as latencies spread over the interval.
        time.sleep(rng.uniform(0.2, 0.7))
        with FileWatch(os.path.join(c.path, "memory.max")) as w:
            t0 = time.monotonic()
            c.oom_kill()
            t_file = w.wait(10)
        if t_file is None:
            raise RuntimeError("iteration %d: %s memory.max not written within 10 s:\n%s"
                               % (i, name, node.agent.log()))
        accepted = None
        deadline = time.time() + 10
        while accepted is None and time.time() < deadline:
            for r in resize_requests(node.srv, name):
                if r["status"] == 200 and r.get("done_mono"):
                    accepted = r
            if accepted is None:
                time.sleep(0.02)
        if accepted is None:
            raise RuntimeError("iteration %d: no accepted resize of %s" % (i, name))
        after = c.read("memory.max").strip()
        if after == before:
            raise RuntimeError("iteration %d: memory.max of %s unchanged (%s)" % (i, name, after))
        t1 = max(t_file, accepted["done_mono"])
        lat.append((t1 - t0) * 1000)
        api.append((accepted["done_mono"] - t0) * 1000)
        arrived.append((accepted["mono"] - t0) * 1000)
    med, p90 = statistics.median(lat), percentile(lat, 0.9)
    note("oom-to-resize: %d OOM kills, each in a fresh container; memory.events bumped -> resize PATCH answered "
         "200 by the fake server -> container memory.max written; agent samples every 1 s" % iterations)
    note("  per iteration (ms): " + " ".join("%.1f" % x for x in lat))
    note("  min %.1f ms, median %.1f ms, p90 %.1f ms, max %.1f ms; medians: PATCH read by the server %.1f ms, "
         "answered %.1f ms" % (min(lat), med, p90, max(lat), statistics.median(arrived), statistics.median(api)))
    s = node.agent.metric("snug_oom_to_resize_seconds_sum")
    n = node.agent.metric("snug_oom_to_resize_seconds_count")
    if s is not None and n:
        note("  the agent's own snug_oom_to_resize_seconds (memory.events read -> PATCH answered): mean %.1f ms "
             "over %d" % (1000 * s / n, n))
    note("  context: the same path end to end on a real kernel (a real OOM kill seen through BPF, in the VM under "
         "TCG, so slower) is `make bench-vm T=agent` -> BENCH name=vm-oom-to-resize")
    bench("oom-to-resize", med, "ms")
    bench("oom-to-resize-p90", p90, "ms")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--pods", type=int, default=125, help="pods of 2 containers each (125 = 250 containers)")
    ap.add_argument("--warmup", type=float, default=10)
    ap.add_argument("--window", type=float, default=30)
    ap.add_argument("--iterations", type=int, default=25)
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    if args.iterations > args.pods:
        ap.error("--iterations must not exceed --pods (one fresh container each)")
    rng = random.Random(args.seed)
    workdir, rm = tmpdir("snug-bench-agent-")
    node = None
    rc = 1
    try:
        t = time.monotonic()
        node = Node(args.pods, workdir)
        node.start_agent()
        note("setup: %d pods on the fake server and the fake tree, agent ready, in %.1f s"
             % (args.pods, time.monotonic() - t))
        footprint(node, args.warmup, args.window, rng)
        oom_to_resize(node, args.iterations, rng)
        rc = 0
    finally:
        if node:
            arc = node.stop()
            if rc == 0 and arc != 0:
                print("bench-agent: the agent exited %s on SIGTERM" % arc, file=sys.stderr)
                rc = 1
        rm()
    return rc


if __name__ == "__main__":
    sys.exit(main())
