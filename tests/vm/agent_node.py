"""Guest side of the agent demo and t_50_agent.sh: a fake API server on the guest's loopback, opted-in
pods whose cgroups (cgroupfs driver, containerd names from the pod status) hold live workloads, and
`snug-agent run` managing them for real (cgroup v2, BPF, OOM kills).

    agent_node.py demo SECONDS   live table of /recommendations every second, then /metrics
    agent_node.py oomtest        grower with snug (in-place) vs without (off): OOM kills and headroom
    agent_node.py oombench [N]   N OOM kills, each in a fresh pod: kill -> resize accepted and memory.max written
    agent_node.py resizetest     an OOM kill, a throttled burner and an idle over-provisioned pod: the
                                 resizes the API accepted and the cgroup files they changed
"""

import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))

from snugtest import REPO  # noqa: E402
from snugtest.agent import AgentProcess, agent_command, free_port  # noqa: E402
from snugtest.cgtree import container_cgroup_name, container_id, pod_cgroup  # noqa: E402
from snugtest.fakeserver import FakeApiServer, resize_requests  # noqa: E402
from snugtest.inotify import FileWatch  # noqa: E402
from snugtest.node import Node as BaseNode  # noqa: E402
from snugtest.units import MiB, quantity  # noqa: E402

CG = os.environ.get("CG", "/sys/fs/cgroup")
BUILD = os.environ.get("SNUG_BUILD", os.path.join(REPO, "build"))
AGENT = os.path.join(BUILD, "snug-agent")
WORKLOAD = os.path.join(BUILD, "tests", "workload")
CONTROLLERS = "+cpu +memory +io +pids"


def cg_mkdir(rel):
    """Creates CG/rel level by level, enabling the controllers in each parent (as lib.sh's cg_mkdir)."""
    cur = CG
    for part in [p for p in rel.split("/") if p]:
        with open(os.path.join(cur, "cgroup.subtree_control")) as f:
            if "memory" not in f.read():
                with open(os.path.join(cur, "cgroup.subtree_control"), "w") as w:
                    w.write(CONTROLLERS)
        cur = os.path.join(cur, part)
        os.makedirs(cur, exist_ok=True)
    return cur


def cg_write(d, name, value):
    with open(os.path.join(d, name), "w") as f:
        f.write(value)


def cg_read(d, name):
    with open(os.path.join(d, name)) as f:
        return f.read()


def cg_key(d, name, key):
    for line in cg_read(d, name).splitlines():
        k, _, v = line.partition(" ")
        if k == key:
            return int(v)
    return 0


def working_set(d):
    return int(cg_read(d, "memory.current")) - cg_key(d, "memory.stat", "inactive_file")


def sd_wait(desc, pred, timeout=30):
    """Polls pred until true: a bound for a stuck systemd under TCG, not a timing check."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        if pred():
            return
        time.sleep(0.1)
    raise RuntimeError(desc)


def sd_active(unit):
    return subprocess.run(["systemctl", "-q", "is-active", unit]).returncode == 0


def sd_slice(name, *props):
    """A transient slice with properties (name, D-Bus signature, value), through StartTransientUnit as
    the kubelet's systemd cgroup manager makes them."""
    args = []
    for k, t, v in props:
        args += [k, t, str(v)]
    subprocess.run(["busctl", "call", "org.freedesktop.systemd1", "/org/freedesktop/systemd1",
                    "org.freedesktop.systemd1.Manager", "StartTransientUnit", "ssa(sv)a(sa(sv))", name,
                    "replace", str(len(props))] + args + ["0"], check=True, stdout=subprocess.DEVNULL)
    sd_wait("%s never became active" % name, lambda: sd_active(name))


def sd_scope(unit, slice_, cpu, memory, argv):
    """argv in a transient scope `unit` under slice_ with the container's limits, as runc/crun's systemd
    backend starts a container: systemd-run --scope execs argv itself, so the Popen is the workload."""
    cmd = ["systemd-run", "--scope", "--quiet", "--unit=" + unit, "--slice=" + slice_,
           "-p", "CPUQuotaPeriodSec=100ms", "-p", "MemorySwapMax=0"]
    if cpu:
        cmd += ["-p", "CPUQuota=%d%%" % round(quantity(cpu) * 100)]
    if memory:
        cmd += ["-p", "MemoryMax=" + mem(memory)]
    return subprocess.Popen(cmd + argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)


def spawn(cgdir, argv):
    """Starts argv inside the leaf cgroup cgdir (moved there before exec)."""
    def enter():
        with open(os.path.join(cgdir, "cgroup.procs"), "w") as f:
            f.write("0")
    return subprocess.Popen(argv, preexec_fn=enter, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)


def quota(cpu):
    return "%d 100000" % int(quantity(cpu) * 100000) if cpu else "max 100000"


def mem(q):
    return str(int(quantity(q)))


def loopback_up():
    """The guest boots with lo down; the fake API server and the agent talk over it."""
    import fcntl
    import socket
    import struct
    SIOCGIFFLAGS, SIOCSIFFLAGS, IFF_UP = 0x8913, 0x8914, 0x1
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        ifr = fcntl.ioctl(s, SIOCGIFFLAGS, struct.pack("16sh14x", b"lo", 0))
        flags = struct.unpack("16sh14x", ifr)[1]
        if not flags & IFF_UP:
            fcntl.ioctl(s, SIOCSIFFLAGS, struct.pack("16sh14x", b"lo", flags | IFF_UP))


class Node(BaseNode):
    """The guest as a node: the fake API server on its loopback (with its kubelet simulator), the real
    cgroup tree under CG with the pods' cgroups made as the kubelet would, their workloads, and
    snug-agent."""

    def __init__(self, layout="cgroupfs"):
        """layout: the kubelet's cgroup driver to play. "systemd" needs systemd as PID 1 (slices and
        scopes are its units) and starts each workload with its scope, a scope being a unit of processes."""
        super().__init__(CG, layout)
        loopback_up()
        self.layout = layout
        self.slices = set()
        self.dir = tempfile.mkdtemp(prefix="snug-node-")
        self.srv = FakeApiServer(version="1.36", workdir=os.path.join(self.dir, "srv"))
        os.makedirs(self.srv.dir, exist_ok=True)
        self.srv.start(timeout=60)
        # The simulated kubelet marks accepted resizes done; the agent writes the cgroup files itself.
        self.srv.kubelet(mode="apply", delay=0.1)
        self.procs = []
        self.pods = {}

    def pod(self, name, mode, requests, limits, argv, restart=False):
        """Create the pod first, then its cgroups named from the status, then the workload in them."""
        ann = {"snug.io/mode": mode} if mode else None
        pod = self.srv.create_pod(name, annotations=ann, requests=requests, limits=limits)
        cid = container_id(pod, "app")
        if self.layout == "systemd":
            self.sd_pod(name, pod, cid, requests, limits, argv)
            return
        pdir = cg_mkdir(pod_cgroup(pod))
        cdir = cg_mkdir(os.path.join(pod_cgroup(pod), container_cgroup_name(cid)))
        for d in (pdir, cdir):
            cg_write(d, "cpu.max", quota(limits.get("cpu")))
            if limits.get("memory"):
                cg_write(d, "memory.max", mem(limits["memory"]))
            cg_write(d, "memory.swap.max", "0") if os.path.exists(os.path.join(d, "memory.swap.max")) else None
        self.pods[name] = {"pod": pod, "cid": cid, "dir": cdir, "pdir": pdir, "argv": argv, "restart": restart,
                           "proc": None, "restarts": 0, "spec": (requests, limits)}

    def sd_pod(self, name, pod, cid, requests, limits, argv):
        """The systemd driver's pod: kubepods.slice, the QoS slice and the pod slice (limits = the
        container's), then the container's cri-containerd-<id>.scope. A scope exists only while it
        holds a process: an idle one keeps it from now on, and start_workloads() moves the workload in
        later, under the agent's eyes, as for the cgroupfs driver."""
        rel = pod_cgroup(pod, "systemd")
        parts = rel.split("/")
        for sl in parts[:-1]:
            if sl not in self.slices:
                sd_slice(sl, ("Description", "s", sl))
                self.slices.add(sl)
        props = [("Description", "s", "pod " + pod["metadata"]["uid"])]
        if limits.get("cpu"):
            props += [("CPUQuotaPerSecUSec", "t", cpu_quota_of(limits["cpu"]) * 10),
                      ("CPUQuotaPeriodUSec", "t", 100000)]
        if limits.get("memory"):
            props += [("MemoryMax", "t", mem(limits["memory"]))]
        sd_slice(parts[-1], *props)
        scope = container_cgroup_name(cid, "systemd")
        holder = sd_scope(scope, parts[-1], limits.get("cpu"), limits.get("memory"), [WORKLOAD, "idle"])
        cdir = os.path.join(CG, rel, scope)
        sd_wait("%s never got its process" % scope,
                lambda: os.path.exists(os.path.join(cdir, "cgroup.procs")) and cg_read(cdir, "cgroup.procs").strip())
        self.pods[name] = {"pod": pod, "cid": cid, "dir": cdir, "pdir": os.path.join(CG, rel), "argv": argv,
                           "restart": False, "proc": None, "restarts": 0, "spec": (requests, limits),
                           "unit": scope, "podunit": parts[-1], "holder": holder}

    def start_workloads(self):
        for p in self.pods.values():
            p["proc"] = spawn(p["dir"], p["argv"])

    def wait_tracked(self, n, timeout=60):
        """Waits until the agent samples n containers (its /recommendations), so the workloads start
        under its eyes."""
        deadline = time.time() + timeout
        while time.time() < deadline:
            if len([c for c in self.recommendations() if c.get("tracked")]) >= n:
                return
            time.sleep(0.2)
        raise RuntimeError("snug-agent tracks fewer than %d containers:\n%s" % (n, self.agent_log()))

    def restart_dead(self):
        """Plays the kubelet's restartPolicy: Always for pods that asked for it."""
        for p in self.pods.values():
            if p["restart"] and p["proc"].poll() is not None:
                p["proc"] = spawn(p["dir"], p["argv"])
                p["restarts"] += 1

    def start_agent(self, *extra, sample="500ms", decide="2s", history="20s"):
        self.port = free_port()
        cmd = agent_command(AGENT, "node-1", self.srv.kubeconfig(), CG, os.path.join(self.dir, "state"), self.port) + [
            "--sample-interval", sample, "--decide-interval", decide, "--throttle-window", "4s",
            "--cooldown", "10s", "--min-history", history, "--log-level", "debug"] + list(extra)
        self.run_agent(AgentProcess(cmd, self.port, os.path.join(self.dir, "agent.log"), ready_timeout=60,
                                    ready_poll=0.2, stop_timeout=20, http_timeout=10))

    def agent_log(self, tail=6000):
        """The log's last `tail` characters, without the periodic debug lines that would fill them."""
        text = super().agent_log(tail=1 << 62)
        return "\n".join(line for line in text.splitlines() if "(periodic)" not in line)[-tail:]

    def stop_checked(self, rc):
        """stop(); a snug-agent that did not exit 0 on SIGTERM fails the scenario (returns 1), else rc."""
        arc = self.stop()
        if arc != 0:
            print("FAIL: snug-agent exited %s on SIGTERM" % arc)
            return 1
        return rc

    def stop(self):
        for p in self.pods.values():
            for proc in (p["proc"], p.get("holder")):
                if proc and proc.poll() is None:
                    proc.kill()
                    proc.wait()
        rc = self.stop_agent()
        self.srv.cleanup()
        if self.layout == "systemd" and self.slices:
            subprocess.run(["systemctl", "stop", "kubepods.slice"], stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL)
        return rc


def fmt_cpu(m):
    return "-" if m is None or m < 0 else ("%dm" % m)


def fmt_mem(b):
    return "-" if b is None or b < 0 else ("%dMi" % round(b / MiB))


def fmt_res(r):
    r = r or {}
    return "%s/%s" % (fmt_cpu(r.get("cpu_millicores", r.get("cpu"))), fmt_mem(r.get("memory_bytes", r.get("memory"))))


def res_of(c, key):
    """requests/limits/usage as written by agent_metrics.c: {"cpu": millicores, "memory": bytes} or similar."""
    r = c.get(key) or {}
    out = {}  # cpu in millicores, memory in bytes
    for k, v in r.items():
        if k.startswith("cpu"):
            out["cpu"] = int(round(v * 1000))
        elif k.startswith("mem"):
            out["memory"] = v
    return out


def table(node, t0):
    recs = {c["pod"]: c for c in node.recommendations()}
    lines = ["t=%3ds" % (time.time() - t0),
             "%-6s %-4s %-9s %-11s %-13s %-13s %-13s %-4s %s" % (
                 "pod", "ctr", "mode", "request", "-> recommend", "cgroup limit", "usage", "oom", "last action: reason")]
    for name, p in node.pods.items():
        c = recs.get(name, {})
        q = cg_read(p["dir"], "cpu.max").split()
        m = cg_read(p["dir"], "memory.max").strip()
        lim = "%s/%s" % ("max" if q[0] == "max" else "%dm" % (int(q[0]) * 1000 // int(q[1])),
                         "max" if m == "max" else fmt_mem(int(m)))
        req = res_of(c, "requests")
        u = res_of(c, "usage")
        rec = res_of(c.get("recommendation", {}), "target")
        last = c.get("last_action")
        act = "%s: %s" % (last["result"], last["reason"][:70]) if last else "-"
        lines.append("%-6s %-4s %-9s %-11s %-13s %-13s %-13s %-4d %s" % (
            name, c.get("container", "app"), c.get("mode", "off"),
            "%s/%s" % (fmt_cpu(req.get("cpu")), fmt_mem(req.get("memory"))),
            "-> %s/%s" % (fmt_cpu(rec.get("cpu")), fmt_mem(rec.get("memory"))), lim,
            "%s/%s" % (fmt_cpu(u.get("cpu")), fmt_mem(u.get("memory"))),
            cg_key(p["dir"], "memory.events", "oom_kill"), act))
    return "\n".join(lines)


def demo(seconds):
    node = Node()
    try:
        node.pod("web", "in-place", {"cpu": "100m", "memory": "64Mi"}, {"cpu": "200m", "memory": "128Mi"},
                 [WORKLOAD, "burn"])
        node.pod("cache", "in-place", {"cpu": "1", "memory": "64Mi"}, {"cpu": "1", "memory": "64Mi"},
                 [WORKLOAD, "grow", "--rate-mib", "8", "--max-mib", "200"], restart=True)
        node.pod("batch", "auto", {"cpu": "1", "memory": "512Mi"}, {"cpu": "2", "memory": "1Gi"},
                 [WORKLOAD, "idle"])
        # Only the fast signals act (throttling, memory pressure, OOM kills); the history-based
        # recommendations are shown, not applied, as they would need minutes of history.
        node.start_agent("--max-cpu", "1", sample="250ms", decide="250ms", history="1h")
        node.wait_tracked(3)
        node.start_workloads()
        print("snug-agent run is up: metrics http://127.0.0.1:%d/metrics, table from /recommendations"
              % node.port, flush=True)
        t0 = time.time()
        try:
            while time.time() - t0 < seconds:
                node.restart_dead()
                sys.stdout.write("\033[H\033[J")
                print("snug-agent run: metrics at http://127.0.0.1:%d/metrics (in the VM)\n" % node.port)
                print(table(node, t0), flush=True)
                time.sleep(1)
        except KeyboardInterrupt:
            pass
        print("\n--- resizes the fake API server accepted:")
        for r in resize_requests(node.srv):
            if r["status"] == 200:
                body = r["body"] if isinstance(r["body"], dict) else json.loads(r["body"])
                res = [c["resources"] for c in body["spec"]["containers"]]
                print("   ", r["path"].split("/pods/")[1], json.dumps(res))
        print("--- http://127.0.0.1:%d/metrics (a few lines):" % node.port)
        st, body = node.http("/metrics")
        keep = [ln for ln in body.splitlines() if ln.startswith(("snug_resize", "snug_oom", "snug_tracked",
                                                                   "snug_throttl", "snug_pressure"))]
        print("\n".join(keep[:14]))
    finally:
        node.stop()


def oomtest():
    """One grower with snug in-place, one without; the kernel decides who dies."""
    node = Node()
    grow = [WORKLOAD, "grow", "--rate-mib", "8", "--max-mib", "200"]
    spec = ({"cpu": "250m", "memory": "64Mi"}, {"cpu": "250m", "memory": "64Mi"})
    rc = 1
    try:
        node.pod("snug", "in-place", *spec, grow)
        node.pod("nosnug", "off", *spec, grow)
        # Only memory pressure may act (no history-based recommendation), checked every 200 ms: at
        # 8 MiB/s the grower spends ~0.4 s between 95% of 64Mi and the limit. The 10 s cooldown
        # lets 5 grows in by default (--bypass-budget); on a loaded host (CI beside other VMs) the
        # steps came out small enough (six to 197Mi) that the sixth had to wait, and the grower hit
        # its limit meanwhile. This test is about keeping it alive, not about the budget (the API
        # tier holds that): room for 10.
        node.start_agent("--bypass-budget", "10", sample="200ms", decide="200ms", history="1h")
        node.wait_tracked(1)
        node.start_workloads()
        s, n = node.pods["snug"], node.pods["nosnug"]
        min_headroom = None
        deadline = time.time() + 45
        while time.time() < deadline:
            ws = working_set(s["dir"])
            mx = cg_read(s["dir"], "memory.max").strip()
            if mx != "max" and ws > 8 * MiB:
                h = int(mx) - ws
                min_headroom = h if min_headroom is None else min(min_headroom, h)
            if ws >= 199 * MiB and cg_key(n["dir"], "memory.events", "oom_kill") >= 1:
                break
            if s["proc"].poll() is not None:
                break
            time.sleep(0.5)
        kills_with = cg_key(s["dir"], "memory.events", "oom_kill")
        kills_without = cg_key(n["dir"], "memory.events", "oom_kill")
        final_max = cg_read(s["dir"], "memory.max").strip()
        print("  oom kills: with snug (in-place) %d, without snug (off) %d" % (kills_with, kills_without))
        print("  grower with snug: memory.max 64Mi -> %s, working set %s, min headroom (memory.max - working set) %s"
              % (fmt_mem(int(final_max)) if final_max != "max" else "max", fmt_mem(working_set(s["dir"])),
                 fmt_mem(min_headroom) if min_headroom is not None else "-"))
        print("  resizes accepted: %s" % " -> ".join(
            ["64Mi"] + [ctr_res(r).get("limits", {}).get("memory", "?")
                        for r in resize_requests(node.srv, "snug") if r["status"] == 200]))
        ok = True
        if kills_with != 0:
            print("FAIL: the grower under snug was OOM-killed %d times" % kills_with)
            ok = False
        if final_max != "max" and int(final_max) <= 64 * MiB:
            print("FAIL: memory.max of the grower under snug was not raised (%s)" % final_max)
            ok = False
        if s["proc"].poll() is not None:
            print("FAIL: the grower under snug exited (%s)" % s["proc"].returncode)
            ok = False
        if kills_without < 1:
            print("FAIL: the grower without snug was not OOM-killed")
            ok = False
        if resize_requests(node.srv, "nosnug"):
            print("FAIL: the pod with mode off was resized")
            ok = False
        if not ok:
            print(node.agent_log())
        rc = 0 if ok else 1
    finally:
        rc = node.stop_checked(rc)
    return rc


def oombench(iterations):
    """OOM kill -> resize on a real kernel: one fresh pod per kill, a workload that jumps past its 64Mi
    limit in one step. T0 = memory.events showing the kill
    (inotify); T1 = both the fake server's 200 to the resize sent and the container's memory.max
    written (inotify). The guest runs under TCG here: absolute times are inflated."""
    node = Node()
    spike = [WORKLOAD, "grow", "--rate-mib", "1000", "--max-mib", "200"]  # 100 MiB per step
    lat, api = [], []
    rc = 1
    try:
        for i in range(iterations):
            node.pod("spike%d" % i, "in-place", {"cpu": "100m", "memory": "32Mi"},
                     {"cpu": "500m", "memory": "64Mi"}, spike)
        # Sampling every 30 s keeps memory pressure from growing the limit before the kill (it would at
        # 1 s: the spike takes longer than a sample under TCG): the OOM path is what is timed.
        node.start_agent(sample="30s", decide="15s", history="1h")
        node.wait_tracked(iterations)
        st, body = node.http("/metrics")
        source = [ln.split("\"")[1] for ln in body.splitlines()
                  if ln.startswith("snug_oom_source{") and ln.endswith(" 1")]
        for i in range(iterations):
            p = node.pods["spike%d" % i]
            node.srv.clear_requests()
            with FileWatch(os.path.join(p["dir"], "memory.events")) as ev, \
                    FileWatch(os.path.join(p["dir"], "memory.max")) as mx:
                p["proc"] = spawn(p["dir"], p["argv"])
                t0 = None
                deadline = time.monotonic() + 60
                while t0 is None and time.monotonic() < deadline:
                    t = ev.wait(1)
                    if t is not None and cg_key(p["dir"], "memory.events", "oom_kill") >= 1:
                        t0 = t
                t_file = mx.wait(30) if t0 is not None else None
            if p["proc"].poll() is None:
                p["proc"].kill()
            p["proc"].wait()
            if t0 is None or t_file is None:
                print("FAIL: spike%d: %s" % (i, "no OOM kill" if t0 is None else "memory.max not written"))
                print(node.agent_log())
                return 1
            acc = None
            deadline = time.time() + 30
            while acc is None and time.time() < deadline:
                acc = next((r for r in resize_requests(node.srv, "spike%d" % i)
                            if r["status"] == 200 and r.get("done_mono")), None)
                time.sleep(0.05)
            if acc is None:
                print("FAIL: spike%d: no accepted resize\n%s" % (i, node.agent_log()))
                return 1
            lat.append((max(t_file, acc["done_mono"]) - t0) * 1000)
            api.append((acc["done_mono"] - t0) * 1000)
            time.sleep(0.5)
        med = statistics.median(lat)
        print("  VM (TCG) oom-to-resize, OOM source %s: memory.events shows the kill -> resize PATCH answered 200 "
              "-> memory.max written; per kill (ms): %s" % (",".join(source) or "?",
                                                          " ".join("%.0f" % x for x in lat)))
        st, body = node.http("/metrics")
        vals = {}
        for ln in body.splitlines():
            if ln.startswith(("snug_oom_to_resize_seconds_sum ", "snug_oom_to_resize_seconds_count ")):
                k, v = ln.split()
                vals[k] = float(v)
        if vals.get("snug_oom_to_resize_seconds_count"):
            print("  the agent's own snug_oom_to_resize_seconds (kill seen -> PATCH answered): mean %.0f ms over %d"
                  % (1000 * vals["snug_oom_to_resize_seconds_sum"] / vals["snug_oom_to_resize_seconds_count"],
                     vals["snug_oom_to_resize_seconds_count"]))
        print("  median %.0f ms, PATCH answered at median %.0f ms" % (med, statistics.median(api)))
        print("BENCH name=vm-oom-to-resize value=%.1f unit=ms" % med, flush=True)
        rc = 0
    finally:
        rc = node.stop_checked(rc)
    return rc


def cpu_quota_of(q):
    """cpu.max quota (period 100000) for a CPU limit quantity, as the kubelet writes it."""
    return int(round(quantity(q) * 100000))


def ctr_res(req):
    """The app container's resources in an accepted resize PATCH."""
    body = req["body"] if isinstance(req["body"], dict) else json.loads(req["body"])
    for c in body["spec"]["containers"]:
        if c["name"] == "app":
            return c["resources"]
    raise KeyError("app")


def last_resizes(srv, name, spec):
    """Accepted resizes of pod `name`, in order, each with the kind and reason of the
    snug.io/last-resize annotation the agent wrote after it; None while an annotation is missing.
    A PATCH names only what changes: each entry holds the requests and limits after it."""
    accepted, notes = [], []
    cur = {"requests": dict(spec[0]), "limits": dict(spec[1])}
    for r in srv.requests():
        if r["method"] != "PATCH" or r["status"] != 200:
            continue
        if r["path"].endswith("/pods/%s/resize" % name):
            res = ctr_res(r)
            cur = {k: dict(cur[k], **(res.get(k) or {})) for k in ("requests", "limits")}
            accepted.append(cur)
        elif r["path"].endswith("/pods/%s" % name) and isinstance(r["body"], dict):
            ann = (r["body"].get("metadata") or {}).get("annotations") or {}
            if "snug.io/last-resize" in ann:
                notes.append(json.loads(ann["snug.io/last-resize"]))
    if len(notes) != len(accepted):
        return None
    return [dict(res, kind=n["kind"], reason=n["reason"]) for res, n in zip(accepted, notes)]


def node_quota_of(node, q):
    """The cpu.max quota the agent writes for a CPU limit on this node: on the systemd driver rounded
    up to whole 10 ms per second (systemd keeps no finer CPUQuota across daemon-reload; runc rounds
    the same way)."""
    quota = cpu_quota_of(q)
    return -(-quota // 1000) * 1000 if node.layout == "systemd" else quota


def files(p):
    """cpu.max quota and memory.max of the container and pod cgroups ("max" → None)."""
    out = {}
    for level, d in (("ctr", p["dir"]), ("pod", p["pdir"])):
        q = cg_read(d, "cpu.max").split()[0]
        m = cg_read(d, "memory.max").strip()
        out[level + "_quota"] = None if q == "max" else int(q)
        out[level + "_mem"] = None if m == "max" else int(m)
    return out


def settled(node, name):
    """The resizes of `name` once the agent has annotated every one and both cgroups hold the last
    one's limits (the agent writes them right after the API accepts), else None."""
    rs = last_resizes(node.srv, name, node.pods[name]["spec"])
    if not rs:
        return None
    f = files(node.pods[name])
    lim = rs[-1].get("limits", {})
    want_q = node_quota_of(node, lim["cpu"]) if "cpu" in lim else None
    want_m = int(quantity(lim["memory"])) if "memory" in lim else None
    if want_q is not None and not (f["ctr_quota"] == f["pod_quota"] == want_q):
        return None
    if want_m is not None and not (f["ctr_mem"] == f["pod_mem"] == want_m):
        return None
    return rs, f


def show(rs):
    return "; ".join("%s: requests %s limits %s (%s)" % (r["kind"], json.dumps(r.get("requests")),
                                                        json.dumps(r.get("limits")), r["reason"][:90])
                     for r in rs)


def resizetest(node):
    """Three pods under one agent on the real kernel, each asserted on the resizes the fake API
    server accepted and the cgroup files:
      oomer   faults in 300 MiB at once under memory.max 64Mi: killed, then memory.max raised
      burner  spins under cpu.max 200m: throttled, then cpu.max raised (reason: cpu-throttled)
      idle    holds 16 MiB on requests of 1 CPU / 512Mi: shrunk once --min-history has passed"""
    q = quantity
    fails = []
    node.pod("oomer", "in-place", {"cpu": "100m", "memory": "32Mi"}, {"cpu": "500m", "memory": "64Mi"},
             [WORKLOAD, "grow", "--rate-mib", "3000", "--max-mib", "300", "--populate"])
    node.pod("burner", "in-place", {"cpu": "100m", "memory": "32Mi"}, {"cpu": "200m", "memory": "64Mi"},
             [WORKLOAD, "burn"])
    node.pod("idle", "in-place", {"cpu": "1", "memory": "512Mi"}, {"cpu": "2", "memory": "1Gi"},
             [WORKLOAD, "grow", "--rate-mib", "16", "--max-mib", "16"])
    # One mmap(MAP_POPULATE) and --pressure-lookahead 0: the agent would (rightly) grow the
    # oomer's limit ahead of a spike it sees coming, and this test wants the kill; t_50 covers
    # that. A working set caught at 95 % still grows the limit a little, never to 300 MiB. --test-half-life (test
    # only) shortens the recommender's 24h decay; --min-history 20s lets the idle pod's
    # recommendation act within the test.
    node.start_agent("--pressure-lookahead", "0", "--test-half-life", "30s", "--cooldown", "5s",
                     sample="250ms", decide="1s", history="20s")
    node.wait_tracked(3)
    node.start_workloads()
    oomer, burner, idle = node.pods["oomer"], node.pods["burner"], node.pods["idle"]
    t0 = time.time()
    got = {}
    nr_throttled = 0
    min_margin = None
    oomer_dead = None
    # Generous: the idle pod's CPU recommendation needs its first per-minute CPU sample.
    deadline = t0 + 170
    while time.time() < deadline and len(got) < 3:
        if oomer_dead is None and oomer["proc"].poll() is not None:
            oomer_dead = time.time() - t0
        if "oomer" not in got:
            s = settled(node, "oomer")
            if s and any(r["kind"] == "oom" for r in s[0]):
                got["oomer"] = s
        if "burner" not in got:
            nr_throttled = cg_key(burner["dir"], "cpu.stat", "nr_throttled")
            s = settled(node, "burner")
            if s:
                got["burner"] = s
                burner["proc"].kill()  # it would take a core of a TCG guest for the rest
                burner["proc"].wait()
        f = files(idle)
        if f["ctr_mem"] is not None:
            m = f["ctr_mem"] - int(cg_read(idle["dir"], "memory.current"))
            min_margin = m if min_margin is None else min(min_margin, m)
        if "idle" not in got:
            s = settled(node, "idle")
            if s and s[1]["ctr_quota"] < 200000 and s[1]["ctr_mem"] < 1024 * MiB:
                got["idle"] = s
        time.sleep(0.5)

    # (a) OOM kill → the memory limit raised through the API, then in both cgroups.
    kills = cg_key(oomer["dir"], "memory.events", "oom_kill")
    bpf_kills = node.metric("snug_oom_kills_total", source="bpf") or 0
    print("  oomer: oom_kill %d (snug_oom_kills_total{source=\"bpf\"} %d), exited %s s after its start"
          % (kills, bpf_kills, "%.1f" % oomer_dead if oomer_dead is not None else "-"))
    if kills < 1:
        fails.append("the oomer was not OOM-killed (memory.events oom_kill %d)" % kills)
    if bpf_kills < 1 or node.metric("snug_oom_source", source="bpf") != 1:
        fails.append("the agent did not count the OOM kill through BPF")
    if "oomer" not in got:
        fails.append("no accepted oom-kill resize of the oomer with its cgroups written: %s"
                     % show(last_resizes(node.srv, "oomer", oomer["spec"]) or []))
    else:
        rs, f = got["oomer"]
        oom = [r for r in rs if r["kind"] == "oom"][0]
        lim = q(oom["limits"]["memory"])
        print("  oomer: %s" % show(rs))
        print("  oomer: memory.max container 64Mi -> %s, pod 64Mi -> %s"
              % (fmt_mem(f["ctr_mem"]), fmt_mem(f["pod_mem"])))
        if not oom["reason"].startswith("oom-kill"):
            fails.append("oom resize reason %r" % oom["reason"])
        if lim <= 64 * MiB:
            fails.append("the oom-kill resize did not raise the memory limit: %s" % oom["limits"])
        if not (f["ctr_mem"] >= lim and f["pod_mem"] >= lim):
            fails.append("memory.max (container %s, pod %s) below the accepted %s"
                         % (f["ctr_mem"], f["pod_mem"], oom["limits"]["memory"]))

    # (b) Throttled burner → a higher CPU limit, and cpu.max quota with it.
    print("  burner: nr_throttled %d" % nr_throttled)
    if nr_throttled < 1:
        fails.append("the burner under cpu.max 200m was never throttled")
    if "burner" not in got:
        fails.append("no accepted resize of the throttled burner with cpu.max written: %s"
                     % show(last_resizes(node.srv, "burner", burner["spec"]) or []))
    else:
        rs, f = got["burner"]
        print("  burner: %s" % show(rs))
        print("  burner: cpu.max container 20000 100000 -> %d 100000, pod -> %d 100000"
              % (f["ctr_quota"], f["pod_quota"]))
        if rs[0]["kind"] != "throttle" or not rs[0]["reason"].startswith("cpu-throttled"):
            fails.append("the burner's first resize is not for throttling: %s" % show(rs[:1]))
        if q(rs[0]["limits"]["cpu"]) <= 0.2:
            fails.append("the throttle resize did not raise the CPU limit: %s" % rs[0]["limits"])
        if not (f["ctr_quota"] > 20000 and f["pod_quota"] > 20000):
            fails.append("cpu.max quota not raised: container %s, pod %s" % (f["ctr_quota"], f["pod_quota"]))

    # (c) Idle and over-provisioned → smaller requests and limits once the history is long
    # enough; memory.max never under usage + the 32 MiB margin.
    if "idle" not in got:
        fails.append("the idle pod was not shrunk (cpu.max and memory.max): %s files %s"
                     % (show(last_resizes(node.srv, "idle", idle["spec"]) or []), files(idle)))
    else:
        rs, f = got["idle"]
        print("  idle: %s" % show(rs))
        print("  idle: cpu.max container 200000 -> %d, pod 200000 -> %d; memory.max container 1Gi -> %s, "
              "pod 1Gi -> %s; memory.current %s; min memory.max - memory.current %s"
              % (f["ctr_quota"], f["pod_quota"], fmt_mem(f["ctr_mem"]), fmt_mem(f["pod_mem"]),
                 fmt_mem(int(cg_read(idle["dir"], "memory.current"))), fmt_mem(min_margin)))
        # A throttling raise may come first: the kernel can throttle a mostly idle container while
        # its workload starts (CFS bandwidth slices, seen under TCG: 16 % of its little CPU time,
        # 2 -> 3 cores). The shrink this checks is the recommendation's, and it comes last.
        if rs[-1]["kind"] != "recommendation" or any(r["kind"] not in ("recommendation", "throttle") for r in rs):
            fails.append("the idle pod was not shrunk by its recommendation last: %s" % show(rs))
        last = rs[-1]
        if not (q(last["requests"]["cpu"]) < 1 and q(last["requests"]["memory"]) < 512 * MiB):
            fails.append("the idle pod's requests did not shrink: %s" % last["requests"])
        if not (f["pod_quota"] < 200000 and f["pod_mem"] < 1024 * MiB):
            fails.append("the idle pod cgroup did not shrink: %s" % f)
        if min_margin is None or min_margin < 32 * MiB:
            fails.append("memory.max of the idle pod came within %s of its usage" % fmt_mem(min_margin))
        if idle["proc"].poll() is not None:
            fails.append("the idle workload died (%s)" % idle["proc"].returncode)
    return fails


def run_checked(scenario):
    """Runs scenario(node) on a new Node; it returns its failures, printed here (with the agent's log
    when there are any). 0 when there are none and snug-agent exited 0 on SIGTERM, else 1."""
    node = Node()
    rc = 1
    try:
        fails = scenario(node)
        for f in fails:
            print("FAIL: " + f)
        if fails:
            print(node.agent_log())
        rc = 1 if fails else 0
    finally:
        rc = node.stop_checked(rc)
    return rc


def sd_timespan_usec(s):
    """A time span as `systemctl show` prints it ("300ms", "1s 200ms", "infinity") in microseconds."""
    if s == "infinity":
        return None
    units = {"us": 1, "ms": 1000, "s": 1000000, "min": 60000000}
    total = 0
    for tok in s.split():
        num = tok.rstrip("abcdefghijklmnopqrstuvwxyz")
        total += round(float(num) * units[tok[len(num):]])
    return total


def sd_show(unit):
    """systemd's own record of a unit's limits: MemoryMax (bytes or None), CPUQuotaPerSecUSec (usec
    or None), CPUQuotaPeriodUSec."""
    out = subprocess.run(["systemctl", "show", "-p", "MemoryMax", "-p", "CPUQuotaPerSecUSec", "-p",
                          "CPUQuotaPeriodUSec", unit], check=True, capture_output=True, text=True,
                         env=dict(os.environ, SYSTEMD_COLORS="0", SYSTEMD_PAGER="")).stdout
    p = dict(ln.split("=", 1) for ln in out.splitlines() if "=" in ln)
    return {"MemoryMax": None if p["MemoryMax"] == "infinity" else int(p["MemoryMax"]),
            "CPUQuotaPerSecUSec": sd_timespan_usec(p["CPUQuotaPerSecUSec"]),
            "CPUQuotaPeriodUSec": sd_timespan_usec(p["CPUQuotaPeriodUSec"])}


def systemdtest():
    """`snug-agent run` on the systemd cgroup driver with systemd as PID 1, two pods as the kubelet's
    systemd driver and containerd make them (pod slices, cri-containerd-<id>.scope):
      burner  spins under a 150m limit: throttled, its CPU limit raised (to 225m: systemd keeps whole
              percents across daemon-reload, so the agent sets 230 ms per second)
      grower  takes 48 MiB at once, then 1 MiB/s towards 70 MiB under a 64Mi limit: its memory limit
              raised ahead of an OOM kill (the jump's projection or the slow approach to 95 % acts)
    Each resize is accepted by the API and set as unit properties over D-Bus: systemd's own record of
    the scope and the pod slice (systemctl show) and their cgroup files hold it, and still do after
    `systemctl daemon-reload` re-applied every unit's properties (it undoes a raw write, as a control
    scope's shows)."""
    node = Node(layout="systemd")
    q = quantity
    fails = []
    control = "snug-control.scope"
    ctl_proc = None
    try:
        # 150m: the throttle resize's 1.5x gives 225m, finer than the whole percent systemd keeps.
        node.pod("burner", "in-place", {"cpu": "100m", "memory": "32Mi"}, {"cpu": "150m", "memory": "64Mi"},
                 [WORKLOAD, "burn"])
        node.pod("grower", "in-place", {"cpu": "100m", "memory": "32Mi"}, {"cpu": "1", "memory": "64Mi"},
                 [WORKLOAD, "grow", "--start-mib", "48", "--rate-mib", "1", "--max-mib", "70"])
        for name, p in node.pods.items():
            sd = sd_show(p["unit"])
            print("  %s: %s/%s: systemd made it with CPUQuotaPerSecUSec %s, MemoryMax %s; cpu.max %s, memory.max %s"
                  % (name, p["podunit"], p["unit"], sd["CPUQuotaPerSecUSec"], sd["MemoryMax"],
                     cg_read(p["dir"], "cpu.max").strip(), cg_read(p["dir"], "memory.max").strip()))
            want_q = cpu_quota_of(p["spec"][1]["cpu"])
            if (sd["CPUQuotaPerSecUSec"], sd["MemoryMax"]) != (want_q * 10, 64 * MiB) or \
                    cg_read(p["dir"], "cpu.max").split()[0] != str(want_q):
                fails.append("%s's scope did not start under systemd's limits: %s" % (name, sd))
        # A control scope outside kubepods, raw-written below: once systemd has undone that write,
        # the daemon-reload has re-applied every unit's properties.
        ctl_proc = sd_scope(control, "snugtest.slice", None, "128Mi", [WORKLOAD, "idle"])
        ctl_dir = os.path.join(CG, "snugtest.slice", control)
        sd_wait("%s never got its process" % control,
                lambda: os.path.exists(os.path.join(ctl_dir, "cgroup.procs")) and cg_read(ctl_dir, "cgroup.procs").strip())

        # Only throttling and memory pressure may act (no history-based recommendation); the
        # cooldown leaves one resize per pod within the test.
        node.start_agent("--cooldown", "60s", sample="250ms", decide="1s", history="1h")
        node.wait_tracked(2)
        for rec in node.recommendations():
            p = node.pods[rec["pod"]]
            print("  %s: discovery: driver %s, cgroup %s" % (rec["pod"], rec.get("driver"), rec.get("cgroup")))
            if rec.get("driver") != "systemd" or rec.get("cgroup") != os.path.relpath(p["dir"], CG):
                fails.append("the agent did not find %s as a systemd-driver container: %s" % (rec["pod"], rec))
        node.start_workloads()

        got = {}
        deadline = time.time() + 90
        while len(got) < 2 and time.time() < deadline:
            for name in node.pods:
                if name not in got:
                    s = settled(node, name)
                    if s:
                        got[name] = s
            time.sleep(0.5)
        burner, grower = node.pods["burner"], node.pods["grower"]
        nr_throttled = cg_key(burner["dir"], "cpu.stat", "nr_throttled")
        # Hold the state still: the burner stops (its scope keeps its processes), the agent exits, so
        # what daemon-reload finds is what the agent left.
        for p in (burner, grower):
            os.kill(p["proc"].pid, signal.SIGSTOP)
        arc = node.stop_agent()
        if arc != 0:
            fails.append("snug-agent exited %s on SIGTERM" % arc)
        print("  burner: nr_throttled %d; grower: oom_kill %d, working set %s"
              % (nr_throttled, cg_key(grower["dir"], "memory.events", "oom_kill"), fmt_mem(working_set(grower["dir"]))))
        want = {}
        for name, p in node.pods.items():
            if name not in got:
                fails.append("no accepted resize of %s with its cgroups written: %s; files %s"
                             % (name, show(last_resizes(node.srv, name, p["spec"]) or []), files(p)))
                continue
            # The last accepted resize, read once the agent is gone: what the units must hold.
            rs = last_resizes(node.srv, name, p["spec"]) or got[name][0]
            print("  %s: %s" % (name, show(rs)))
            lim = rs[-1]["limits"]
            want[name] = (node_quota_of(node, lim["cpu"]), int(q(lim["memory"])))
        if "burner" in want:
            if want["burner"][0] <= 15000:
                fails.append("the burner's CPU limit was not raised: %s" % show(last_resizes(node.srv, "burner", burner["spec"])))
        if "grower" in want:
            if want["grower"][1] <= 64 * MiB:
                fails.append("the grower's memory limit was not raised: %s" % show(last_resizes(node.srv, "grower", grower["spec"])))
            if cg_key(grower["dir"], "memory.events", "oom_kill"):
                fails.append("the grower was OOM-killed")

        def check(when):
            out = []
            for name, (want_q, want_m) in want.items():
                p = node.pods[name]
                for unit, d in ((p["unit"], p["dir"]), (p["podunit"], p["pdir"])):
                    sd = sd_show(unit)
                    cq = cg_read(d, "cpu.max").split()
                    m = cg_read(d, "memory.max").strip()
                    print("  %s: %s %s: systemctl show CPUQuotaPerSecUSec=%s CPUQuotaPeriodUSec=%s MemoryMax=%s; "
                          "cpu.max %s, memory.max %s" % (when, name, unit[:40] + "...", sd["CPUQuotaPerSecUSec"],
                                                       sd["CPUQuotaPeriodUSec"], sd["MemoryMax"], " ".join(cq), m))
                    if (sd["CPUQuotaPerSecUSec"], sd["CPUQuotaPeriodUSec"], sd["MemoryMax"]) != (want_q * 10, 100000, want_m):
                        out.append("%s: systemd's CPUQuotaPerSecUSec/CPUQuotaPeriodUSec/MemoryMax of %s are %s/%s/%s, "
                                   "not the accepted %d/100000/%d: the agent did not set unit properties"
                                   % (when, unit, sd["CPUQuotaPerSecUSec"], sd["CPUQuotaPeriodUSec"], sd["MemoryMax"],
                                      want_q * 10, want_m))
                    if cq != [str(want_q), "100000"] or m != str(want_m):
                        out.append("%s: cpu.max/memory.max of %s are %s/%s, not the accepted %d 100000/%d"
                                   % (when, unit, " ".join(cq), m, want_q, want_m))
            return out

        fails += check("after the resizes")
        # The control scope gets a raw write, as the cgroupfs driver would write.
        cg_write(ctl_dir, "memory.max", str(192 * MiB))
        if cg_read(ctl_dir, "memory.max").strip() != str(192 * MiB):
            fails.append("the kernel did not take the raw write to %s" % control)
        subprocess.run(["systemctl", "daemon-reload"], check=True)
        try:
            sd_wait("systemd kept the raw write to %s across daemon-reload: the reload did not re-apply" % control,
                    lambda: cg_read(ctl_dir, "memory.max").strip() == str(128 * MiB))
            print("  control %s: memory.max 128Mi -> raw 192Mi -> daemon-reload -> %s"
                  % (control, fmt_mem(int(cg_read(ctl_dir, "memory.max")))))
        except RuntimeError as e:
            fails.append(str(e))
        fails += check("after daemon-reload")
    finally:
        if ctl_proc:
            ctl_proc.kill()
            ctl_proc.wait()
        arc = node.stop()
        if arc not in (0, None):
            fails.append("snug-agent exited %s on SIGTERM" % arc)
    for f in fails:
        print("FAIL: " + f)
    if fails:
        print(node.agent_log())
    return 1 if fails else 0


if __name__ == "__main__":
    if sys.argv[1] == "systemdtest":
        sys.exit(systemdtest())
    if sys.argv[1] == "demo":
        demo(int(sys.argv[2]) if len(sys.argv) > 2 else 60)
        sys.exit(0)
    if sys.argv[1] == "oombench":
        sys.exit(oombench(int(sys.argv[2]) if len(sys.argv) > 2 else 10))
    if sys.argv[1] == "resizetest":
        sys.exit(run_checked(resizetest))
    sys.exit(oomtest())
