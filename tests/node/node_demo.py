"""`make demo` on the real node (guest side): snug-agent managing real containers run by the real
kubelet, shown as a live table of what the API server says (spec, the kubelet's status, snug's
annotation), what the kernel holds (the container's cgroup files) and what snug recommends.

    node_demo.py   run from tests/node/guest.sh demo, after the node is up

The story: a burner throttled under 200m whose CPU limit snug raises; a grower heading for its 64Mi
limit that snug keeps alive (its limit raised ahead of the kill), beside the same grower with snug
off, which the kernel OOM-kills; an idle pod requesting 1 CPU / 1Gi whose recommendation is far
below that, applied in place. Everything shown comes from the API, the kernel or snug's endpoints.
"""

import json
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))

import nodectl  # noqa: E402
from nodectl import MiB, cg_key, cg_read, condition, container_status, quantity  # noqa: E402

# Sampling and deciding faster than the defaults so that each signal acts within seconds under TCG.
# TEST ONLY, never on a cluster: --min-history 20s and --test-half-life 30s (as the VM tier's
# t_55_agent_resize.sh and the node tier's deferred scenario) let the idle pod's history-based
# recommendation act within the demo instead of after 10 minutes of a 24 h decay.
AGENT_ARGS = ["--sample-interval", "500ms", "--decide-interval", "1s", "--throttle-window", "8s",
              "--cooldown", "20s", "--min-history", "20s", "--test-half-life", "30s"]

GROW = ["grow", "--start-mib", "24", "--rate-mib", "3", "--max-mib", "112"]
PODS = [
    # name, mode, annotations, args, requests, limits, what it shows
    ("burner", "in-place", {"snug.io/max-cpu": "500m"}, ["burn"],
     {"cpu": "100m", "memory": "16Mi"}, {"cpu": "200m", "memory": "32Mi"},
     "wants a whole core, capped at 200m: throttled; snug raises its CPU limit (up to its max-cpu 500m)"),
    ("grower", "in-place", {}, GROW, {"cpu": "50m", "memory": "48Mi"}, {"cpu": "1", "memory": "64Mi"},
     "grows 3 MiB/s from 24 to 112 MiB under a 64Mi limit; snug raises the limit ahead of the kill"),
    ("grower-off", "off", {}, GROW, {"cpu": "50m", "memory": "48Mi"}, {"cpu": "1", "memory": "64Mi"},
     "the same grower with snug.io/mode: off: the kernel OOM-kills it at 64Mi, the kubelet restarts it"),
    ("idle", "in-place", {}, ["idle"], {"cpu": "1", "memory": "1Gi"}, {"cpu": "2", "memory": "2Gi"},
     "requests 1 CPU / 1Gi and uses almost nothing: snug's recommendation is far below, applied in place"),
]
# The story ends when every pod has shown its part, or after this long.
STORY_SECONDS = float(os.environ.get("SNUG_DEMO_SECONDS", "100"))
TTY = os.environ.get("SNUG_DEMO_TTY") == "1"
COLUMNS = int(os.environ.get("COLUMNS", "0") or 0)
COLUMNS = COLUMNS if COLUMNS >= 60 else 120
LINES = int(os.environ.get("LINES", "0") or 0)
LINES = LINES if LINES >= 20 else 40


def fmt_cpu(cores):
    if cores is None:
        return "-"
    m = cores * 1000
    return "%dm" % round(m) if m < 1000 or round(m) % 1000 else "%d" % round(cores)


def fmt_mem(b):
    return "-" if b is None else ("%dMi" % round(b / MiB) if b >= 10 * MiB else "%.1fMi" % (b / MiB))


def pair(res):
    """'cpu/memory' of a requests or limits dict of the API."""
    if res is None:
        return "-"
    cpu, mem = res.get("cpu"), res.get("memory")
    return "%s/%s" % (fmt_cpu(quantity(cpu)) if cpu else "-", fmt_mem(quantity(mem)) if mem else "-")


def kernel_pair(ctr):
    """The container cgroup's cpu.max and memory.max as cores/MiB ("max" when unlimited)."""
    if not ctr:
        return "-"
    q, m = (cg_read(ctr, "cpu.max") or "").split(), cg_read(ctr, "memory.max")
    if not q or m is None:
        return "-"
    cpu = "max" if q[0] == "max" else fmt_cpu(int(q[0]) / int(q[1]))
    return "%s/%s" % (cpu, "max" if m == "max" else fmt_mem(int(m)))


class Row:
    """One pod as the table shows it, and what it was at the previous tick (to tell changes)."""

    def __init__(self, name, mode, what):
        self.name, self.mode, self.what = name, mode, what
        self.cells = {}
        self.prev = {}
        self.pod = None
        self.usage_usec = None
        self.usage_at = None
        self.cpu = None
        self.ws = None


class Demo:
    def __init__(self, node):
        self.node = node
        self.t0 = time.time()
        self.rows = [Row(n, m, w) for n, m, _, _, _, _, w in PODS]
        self.log = []
        self.milestones = {}
        self.phase_file = os.path.join(node.res, "phases")

    def now(self):
        return time.time() - self.t0

    def say(self, text):
        line = "t=%5.1fs  %s" % (self.now(), text)
        self.log.append(line)
        if not self.redrawing():
            print(line, flush=True)

    def milestone(self, key, text):
        if key in self.milestones:
            return
        self.milestones[key] = self.now()
        self.say("*** " + text)
        with open(self.phase_file, "a") as f:
            f.write("%s %.1f\n" % (key, self.now()))

    def recommendations(self):
        try:
            st, body = self.node.http("/recommendations")
        except OSError:
            return {}
        if st != 200:
            return {}
        return {c["pod"]: c for c in json.loads(body).get("containers", []) if c.get("container") == "app"}

    def tick(self):
        # The kernel first, then the API: a resize landing between the two reads then shows as
        # accepted before it shows in the kernel, the order in which it happened (the container's
        # cgroup is found from the pod as the last tick saw it).
        kernel = {}
        for row in self.rows:
            kernel[row.name] = self.read_kernel(row)
        pods = {p["metadata"]["name"]: p for p in self.node.api.get(
            "/api/v1/namespaces/%s/pods" % nodectl.NS)["items"]}
        recs = self.recommendations()
        for row in self.rows:
            self.update(row, pods.get(row.name), recs.get(row.name), kernel[row.name])

    def read_kernel(self, row):
        """The container cgroup's limits and usage, from the pod as the last tick saw it."""
        pod = row.pod
        cs = container_status(pod, "app") if pod else None
        ctr = self.node.ctr_cgroup(pod, "app") if cs and "running" in (cs.get("state") or {}) else None
        if not ctr or not os.path.isdir(ctr):
            row.usage_usec = row.cpu = row.ws = None
            return "-"
        usec = cg_key(ctr, "cpu.stat", "usage_usec")
        t = time.monotonic()
        if row.usage_usec is not None and t > row.usage_at and usec >= row.usage_usec:
            row.cpu = (usec - row.usage_usec) / 1e6 / (t - row.usage_at)
        row.usage_usec, row.usage_at = usec, t
        cur = cg_read(ctr, "memory.current")
        row.ws = int(cur) - cg_key(ctr, "memory.stat", "inactive_file") if cur else None
        return kernel_pair(ctr)

    def update(self, row, pod, rec, kernel):
        c = {}
        if pod is None:
            row.cells, row.pod = {"state": "gone"}, None
            return
        spec = (nodectl.spec_container(pod, "app") or {}).get("resources", {})
        cs = container_status(pod, "app") or {}
        state = next(iter(cs.get("state", {}) or {"Pending": 0}), "Pending")
        if state == "waiting":
            state = cs["state"]["waiting"].get("reason", "waiting")
        c["state"] = state
        c["requests"] = pair(spec.get("requests"))
        c["limits"] = pair(spec.get("limits"))
        c["kubelet"] = pair((cs.get("resources") or {}).get("limits")) if cs.get("resources") else "-"
        target = ((rec or {}).get("recommendation") or {}).get("target") or {}
        c["recommend"] = "%s/%s" % (fmt_cpu(target.get("cpu_cores")), fmt_mem(target.get("memory_bytes"))) \
            if target else "-"
        row.pod = pod
        c["kernel"] = kernel
        c["usage"] = "%s/%s" % (fmt_cpu(row.cpu), fmt_mem(row.ws))
        restarts = cs.get("restartCount", 0)
        last = (cs.get("lastState") or {}).get("terminated") or {}
        c["restarts"] = "%d%s" % (restarts, " (%s)" % last["reason"] if last.get("reason") else "")
        lr = self.node.last_resize(pod)
        c["action"] = "%s (%.0fs ago)" % (lr["reason"], time.time() - lr["at"]) if lr else "-"
        c["action_reason"] = lr["reason"] if lr else None
        pend = condition(pod, "PodResizePending") or condition(pod, "PodResizeInProgress")
        c["resize"] = ("%s %s" % (pend["type"], pend.get("reason") or "")).strip() if pend else None
        row.prev, row.cells = row.cells, c
        self.changes(row, pod, spec, cs)

    def changes(self, row, pod, spec, cs):
        """Log lines for what changed since the last tick, and the story's milestones."""
        p, c, n = row.prev, row.cells, row.name
        if not p:
            return
        if c["state"] != p.get("state"):
            self.say("%-10s %s" % (n, c["state"]))
            if c["state"] == "running" and all(r.cells.get("state") == "running" for r in self.rows):
                self.milestone("pods-running", "all four pods run (the kubelet started their containers)")
        if c["action_reason"] and c["action_reason"] != p.get("action_reason"):
            self.say("%-10s the API server accepted snug's resize: %s" % (n, c["action_reason"]))
        if c["limits"] != p.get("limits") or c["requests"] != p.get("requests"):
            self.say("%-10s spec: requests %s -> %s, limits %s -> %s" % (
                n, p.get("requests"), c["requests"], p.get("limits"), c["limits"]))
        if c["kernel"] != p.get("kernel") and p.get("kernel") not in (None, "-") and c["kernel"] != "-":
            self.say("%-10s kernel: container cpu.max/memory.max %s -> %s" % (n, p["kernel"], c["kernel"]))
        if c["kubelet"] != p.get("kubelet") and p.get("kubelet") not in (None, "-") and c["kubelet"] != "-":
            self.say("%-10s the kubelet reports limits %s (status.containerStatuses[].resources)" % (n, c["kubelet"]))
        if c["resize"] != p.get("resize") and c["resize"]:
            self.say("%-10s %s" % (n, c["resize"]))
        if c["restarts"] != p.get("restarts"):
            self.say("%-10s restarts: %s" % (n, c["restarts"]))
        settled = c["limits"] == c["kubelet"] and c["resize"] is None
        if n == "burner" and settled and quantity((spec.get("limits") or {}).get("cpu", "0")) > 0.2:
            self.milestone("burner-raised", "burner: CPU limit raised 200m -> %s; the kubelet and cpu.max agree"
                           % c["limits"].split("/")[0])
        if n == "grower" and settled and row.ws and row.ws > 96 * MiB and cs.get("restartCount") == 0:
            self.milestone("grower-saved", "grower: %s in use, past its old 64Mi limit, never OOM-killed "
                           "(limit now %s)" % (fmt_mem(row.ws), c["limits"].split("/")[1]))
        term = (cs.get("lastState") or {}).get("terminated") or {}
        if n == "grower-off" and term.get("reason") == "OOMKilled":
            self.milestone("grower-off-killed", "grower-off (snug off): OOMKilled at 64Mi, restarted by the kubelet")
        if n == "idle" and settled and quantity((spec.get("requests") or {}).get("memory", "0")) < 1 << 30:
            self.milestone("idle-shrunk", "idle: requests 1/1Gi -> %s from snug's recommendation, applied in place"
                           % c["requests"])

    def render(self):
        cols = [("POD", 10, "name"), ("MODE", 8, "mode"), ("STATE", 17, "state"), ("REQUESTS", 11, "requests"),
                ("RECOMMEND", 11, "recommend"), ("LIMITS", 11, "limits"), ("KUBELET", 11, "kubelet"),
                ("KERNEL", 11, "kernel"), ("USAGE", 11, "usage"), ("RESTARTS", 16, "restarts")]
        out = ["snug demo on a real node: kubelet %s + containerd, t=%.0fs   (cpu/memory per container)"
               % (self.node.env.get("NODE_VERSION", "?"), self.now()), ""]
        out.append(" ".join("%-*s" % (w, h) for h, w, _ in cols))
        for row in self.rows:
            vals = dict(row.cells, name=row.name, mode=row.mode)
            out.append(" ".join("%-*s" % (w, str(vals.get(k, "-"))[:w]) for _, w, k in cols))
            action = "           snug: %s" % (vals.get("action") or "-")
            out.append(action[:COLUMNS - 1] if TTY else action)
        out.append("")
        out.append("REQUESTS, LIMITS: the pod's spec (API server); KUBELET: the limits the kubelet reports it applied")
        out.append("(status); KERNEL: the container cgroup's cpu.max/memory.max; USAGE: the kernel's cpu.stat and")
        out.append("working set; RECOMMEND: snug's target (VPA's model; CPU gets one sample a minute, as in VPA, so")
        out.append("until the first one its CPU target is VPA's floor, 25m, and steers nothing).")
        return "\n".join(out)

    def redrawing(self):
        """On a terminal the table is redrawn in place once every pod runs (until then the banner
        stays and the log scrolls under it)."""
        return TTY and "pods-running" in self.milestones

    def draw(self):
        if self.redrawing():
            table = self.render()
            room = max(3, LINES - table.count("\n") - 4)
            sys.stdout.write("\033[H\033[J" + table + "\n\n" + "\n".join(self.log[-room:]) + "\n")
            sys.stdout.flush()

    def done(self):
        return all(k in self.milestones for k in ("burner-raised", "grower-saved", "grower-off-killed",
                                                    "idle-shrunk"))


def kubectl_text(node, *args):
    cmd = [node.kubectl_bin, "--kubeconfig", os.path.join(node.res, "admin.kubeconfig")] + list(args)
    r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    return "$ kubectl " + " ".join(args) + "\n" + r.stdout.decode("utf-8", "replace")


def describe_extract(text):
    """From `kubectl describe pod`: snug's annotations, the container's state, restarts, limits and
    requests (its Events are in the list above)."""
    keep, section = [], None
    for line in text.splitlines():
        if line.startswith("$ kubectl"):
            keep.append(line)
            continue
        if line and not line[0].isspace():
            section = line.split(":")[0]
            if section == "Annotations":
                keep.append(line)
            continue
        if section == "Annotations":
            keep.append(line)
        elif section == "Containers" and line.lstrip().startswith(
                ("State:", "Restart Count:", "Limits:", "Requests:", "cpu:", "memory:")):
            keep.append(line)
    return "\n".join(keep)


def banner(node):
    print("=" * 100)
    print(" snug demo: a throwaway VM (Debian's kernel %s, cgroup v2) is a Kubernetes node: the real kubelet"
          % os.uname().release)
    print(" %s and containerd 2.1 + runc run real containers; the kube-apiserver runs on the host's loopback."
          % node.env.get("NODE_VERSION", "?"))
    print(" snug was installed with `kubectl apply -k`; `snug-agent run` holds only its ServiceAccount's token.")
    print(" Four pods, opted in with the annotation snug.io/mode:")
    for name, mode, _, _, req, lim, what in PODS:
        print("   %-10s %-8s requests %s, limits %s:\n               %s" % (name, mode, pair(req), pair(lim), what))
    print(" The agent runs with test-only knobs (--min-history 20s --test-half-life 30s: a recommendation")
    print(" acts after 20 s of history instead of 10 minutes) and samples every 500 ms.")
    print("=" * 100, flush=True)


def epilogue(node, demo):
    print("\n" + "=" * 100)
    print("What the API server shows now (the real kubectl):\n", flush=True)
    cc = ("POD:.metadata.name,CPU-REQ:.spec.containers[0].resources.requests.cpu,"
          "MEM-REQ:.spec.containers[0].resources.requests.memory,CPU-LIM:.spec.containers[0].resources.limits.cpu,"
          "MEM-LIM:.spec.containers[0].resources.limits.memory,"
          "APPLIED-CPU-LIM:.status.containerStatuses[0].resources.limits.cpu,"
          "APPLIED-MEM-LIM:.status.containerStatuses[0].resources.limits.memory,"
          "RESTARTS:.status.containerStatuses[0].restartCount,"
          "LAST-TERMINATION:.status.containerStatuses[0].lastState.terminated.reason")
    print(kubectl_text(node, "get", "pods", "-o", "custom-columns=" + cc))
    # The resizes: snug's own Events (one per pod and reason a minute: its rate limit) and the
    # kubelet's ResizeCompleted for each one it actuated.
    text = kubectl_text(node, "get", "events", "--sort-by=.lastTimestamp", "-o",
                        "custom-columns=TIME:.lastTimestamp,POD:.involvedObject.name,FROM:.source.component,"
                        "REASON:.reason,MESSAGE:.message")
    lines = text.splitlines()
    keep = [ln for ln in lines[2:] if " Resized " in ln or " ResizeCompleted " in ln]
    print("\n".join(lines[:2] + [ln if len(ln) <= 170 else ln[:167] + "..." for ln in keep]))
    print("(snug sends one Event per pod and reason a minute; the kubelet one ResizeCompleted per resize.)\n")
    print(describe_extract(kubectl_text(node, "describe", "pod", "grower")) + "\n")
    print("snug's /metrics (a few lines):")
    st, body = node.http("/metrics")
    for line in body.splitlines():
        if line.startswith(("snug_resizes_total", "snug_oom_kills_total", "snug_oom_kill_causes_total",
                            "snug_tracked_containers", "snug_container_limits_memory_bytes{",
                            "snug_container_limits_cpu_cores{")) or \
                (line.startswith("snug_recommendation_") and 'bound="target"' in line and 'pod="idle"' in line):
            print("  " + line)
    print("", flush=True)


def main():
    node = nodectl.Node()
    banner(node)
    t = time.time()
    node.start_agent(*AGENT_ARGS)
    with open(os.path.join(node.res, "phases"), "a") as f:
        f.write("agent-up %.1f\n" % (time.time() - t))
    print("snug-agent run is up (%.1fs): %s" % (time.time() - t, " ".join(node.agent_cmd[1:])), flush=True)
    demo = Demo(node)
    for name, mode, ann, args, req, lim, _ in PODS:
        node.create(nodectl.pod_manifest(name, [dict(name="app", args=args, requests=req, limits=lim)],
                                         mode=mode, annotations=ann))
    demo.say("four pods created (kubectl would say: pod/burner created, ...)")
    rc = 0
    try:
        deadline = time.time() + STORY_SECONDS
        while time.time() < deadline and not demo.done():
            demo.tick()
            demo.draw()
            time.sleep(1)
        # Resizes still in flight settle before the last table (a few seconds at most).
        settle = time.time() + 8
        while time.time() < settle and any(r.cells.get("resize") or r.cells.get("limits") != r.cells.get("kubelet")
                                           for r in demo.rows if r.cells.get("state") == "running"):
            time.sleep(1)
            demo.tick()
            demo.draw()
        demo.tick()
        if demo.redrawing():
            # The whole timeline, then the last table, left on the screen.
            sys.stdout.write("\033[H\033[J" + "\n".join(demo.log) + "\n")
        print("\n" + demo.render(), flush=True)
        missing = [k for k in ("burner-raised", "grower-saved", "grower-off-killed", "idle-shrunk")
                   if k not in demo.milestones]
        print("\nstory: %s in %.0fs" % ("complete" if not missing else "incomplete, not seen: " + ", ".join(missing),
                                        demo.now()), flush=True)
        with open(os.path.join(node.res, "phases"), "a") as f:
            f.write("story %.1f\n" % demo.now())
        t = time.time()
        epilogue(node, demo)
        with open(os.path.join(node.res, "phases"), "a") as f:
            f.write("epilogue %.1f\n" % (time.time() - t))
        if missing:
            print("--- snug-agent log (tail):\n" + node.agent_log(4000))
            rc = 1
    finally:
        node.stop_agent()
    return rc


if __name__ == "__main__":
    sys.exit(main())
