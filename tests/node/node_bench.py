"""The node-limit-enforced benchmark (guest side of `make bench-node`): on the real node, how long from
an OOM kill at a container's memory limit to the raised memory.max in that container's cgroup, with
snug writing the cgroups as soon as the API server accepts its resize, against the same agent with
--api-only, where the kubelet's own write (resize accepted -> its pod sync -> containerd -> runc
update) is the only one. Both in one boot, interleaved, with fresh pods.

    node_bench.py [value]  run from tests/node/guest.sh bench; SNUG_NODE_BENCH_KILLS kills per path (12);
                           then the value benchmark (node_value.py; `value`: that one alone)

Each pod's container is a shell (PID 1 of the container) that on SIGUSR1 runs one spike: 96 MiB
faulted in at once under its 64Mi limit. The kernel kills the spike (the largest task of the memcg),
the shell and the container live on, so the same container cgroup receives the new memory.max.

Times, all the guest kernel's, on its CLOCK_MONOTONIC (ftrace, trace_clock mono):
  kill     the oom/mark_victim tracepoint
  enforced the first write of a new value into the container's memory.max: a kprobe on
           memory_max_write recording the writing task, the cgroup's directory name and the value
           (the inotify IN_MODIFY of that file wakes the bench and is printed beside it; it stands
           in where the kprobe cannot be had)
  accepted a uprobe on the agent's on_resize_done (its callback for the API server's answer to the
           PATCH) and one on act_write_cgroups (its cgroup writer): between the two runs all the
           agent does between the 200 and the first cgroup write; sched_switch of the agent says
           whether it was off the CPU meanwhile.
"""

import os
import re
import signal
import statistics
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))

import nodectl  # noqa: E402
from snugtest.inotify import FileWatch  # noqa: E402
from nodectl import cg_key, cg_read, container_status, quantity  # noqa: E402

KILLS = int(os.environ.get("SNUG_NODE_BENCH_KILLS", "12"))
# Rounds per path, alternating snug and --api-only so that a drift of the shared host's load
# falls on both.
ROUNDS = 3
SPIKE = "/workload grow --start-mib 96 --max-mib 96 --rate-mib 1"
# The spike raises its own oom_score_adj to 1000 (any process may raise it) so that it is the
# victim; the shell is protected from outside (one_kill).
SHELL = "trap '(echo 1000 >/proc/self/oom_score_adj; exec %s)' USR1; while :; do sleep 1; done" % SPIKE
# The agent as deployed, but for the sampling interval: memory pressure seen by the sampler during
# the spike could grow the limit before the kill (the OOM path is what is timed; the memory.events
# watch and BPF still see every kill at once).
AGENT_ARGS = ["--sample-interval", "30s"]
TRACEFS = "/sys/kernel/tracing"
PATHS = ("snug", "api-only")


def log(msg):
    print(msg, flush=True)


class Trace:
    """ftrace on CLOCK_MONOTONIC: the OOM kill tracepoint, a kprobe on memory.max writes and uprobes
    in the agent binary; a thread collects the events."""

    LINE = re.compile(r"^\s*(?P<task>.+?)-(?P<pid>\d+)\s+\[\d+\]\s+\S+\s+(?P<ts>\d+\.\d+):\s+"
                      r"(?P<ev>\w+):\s*(?P<rest>.*)$")

    def __init__(self, agent_bin, raw_path):
        self.raw_path = raw_path
        self.events = []
        self.lock = threading.Lock()
        self.notes = []
        if not os.path.exists(os.path.join(TRACEFS, "trace_pipe")):
            os.makedirs(TRACEFS, exist_ok=True)
            subprocess.run(["mount", "-t", "tracefs", "nodev", TRACEFS], check=True)
        self.w("tracing_on", "0")
        self.w("trace_clock", "mono")
        self.w("trace", "")
        self.w("buffer_size_kb", "4096")
        # Who wrote what into which cgroup's memory.max: the file's kernfs_open_file -> kn (offset 0)
        # -> parent (8) -> name (16) is the cgroup's directory name (6.1 without lockdep); value
        # last, as a trailing newline in it ends the trace line.
        self.kprobe = self.add("kprobe_events", "p:snug/memmax memory_max_write "
                               "cg=+0(+16(+8(+0($arg1)))):string comm=$comm value=+0($arg2):string")
        self.uprobes = all(self.add("uprobe_events",
                                    "p:snug/%s %s:0x%x" % (name, agent_bin, elf_offset(agent_bin, name)))
                           for name in ("on_resize_done", "act_write_cgroups"))
        # When the agent was off the CPU (and whether it was runnable, i.e. preempted, or asleep).
        try:
            self.w("events/sched/sched_switch/filter", 'prev_comm == "snug-agent" || next_comm == "snug-agent"')
            self.w("events/sched/sched_switch/enable", "1")
        except OSError as e:
            self.notes.append("sched_switch: %s" % e)
        self.w("events/oom/mark_victim/enable", "1")
        if self.kprobe or self.uprobes:
            self.w("events/snug/enable", "1")
        self.w("tracing_on", "1")
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.thread.start()

    def w(self, name, value, append=False):
        # os.open: Python's append mode seeks to the end, which these files refuse (EINVAL).
        fd = os.open(os.path.join(TRACEFS, name), os.O_WRONLY | (os.O_APPEND if append else os.O_TRUNC))
        try:
            os.write(fd, (value + "\n").encode())
        finally:
            os.close(fd)

    def add(self, name, definition):
        try:
            self.w(name, definition, append=True)
            return True
        except OSError as e:
            try:
                with open(os.path.join(TRACEFS, "error_log")) as f:
                    why = f.read().strip()
            except OSError:
                why = ""
            self.notes.append("%s: %r refused (%s) %s" % (name, definition, e, why))
            return False

    def run(self):
        with open(os.path.join(TRACEFS, "trace_pipe")) as f, open(self.raw_path, "w") as raw:
            for line in f:
                raw.write(line)
                m = self.LINE.match(line)
                if not m:
                    continue
                ev = {"t": float(m.group("ts")), "task": m.group("task").strip(), "event": m.group("ev"),
                      "rest": m.group("rest")}
                for k in ("cg", "comm", "value", "prev_comm", "prev_pid", "prev_state", "next_comm", "next_pid"):
                    v = re.search(r'\b' + k + r'=(?:"([^"]*)|(\S+))', ev["rest"])
                    if v:
                        ev[k] = (v.group(1) if v.group(1) is not None else v.group(2)).strip()
                with self.lock:
                    self.events.append(ev)

    def off_cpu(self, pid, a, b):
        """Microseconds the task PID spent off the CPU within [a, b], split into runnable (preempted)
        and sleeping."""
        with self.lock:
            sw = [e for e in self.events if e["event"] == "sched_switch" and a - 1 <= e["t"] <= b]
        runnable = asleep = 0.0
        out_at, out_state = None, None
        for e in sw:
            if e.get("prev_pid") == str(pid):
                out_at, out_state = e["t"], e.get("prev_state", "")
            elif e.get("next_pid") == str(pid) and out_at is not None:
                lo, hi = max(out_at, a), min(e["t"], b)
                if hi > lo:
                    if out_state.startswith("R"):
                        runnable += hi - lo
                    else:
                        asleep += hi - lo
                out_at = None
        return runnable * 1e6, asleep * 1e6

    def since(self, t, event):
        with self.lock:
            return [e for e in self.events if e["t"] >= t and e["event"] == event]

    def close(self):
        self.w("tracing_on", "0")
        for name in ("events/oom/mark_victim/enable", "events/snug/enable"):
            try:
                self.w(name, "0")
            except OSError:
                pass


def elf_offset(path, symbol):
    """The file offset of SYMBOL in the ELF file PATH (what a uprobe wants): its address from nm,
    mapped through the PT_LOAD segment that holds it (readelf)."""
    addr = None
    for line in subprocess.run(["nm", path], stdout=subprocess.PIPE, check=True).stdout.decode().splitlines():
        parts = line.split()
        if len(parts) == 3 and parts[2] == symbol:
            addr = int(parts[0], 16)
    if addr is None:
        raise RuntimeError("no symbol %s in %s" % (symbol, path))
    segments = subprocess.run(["readelf", "-lW", path], stdout=subprocess.PIPE, check=True).stdout.decode()
    for line in segments.splitlines():
        parts = line.split()
        if parts and parts[0] == "LOAD":
            off, vaddr, memsz = int(parts[1], 16), int(parts[2], 16), int(parts[5], 16)
            if vaddr <= addr < vaddr + memsz:
                return addr - vaddr + off
    raise RuntimeError("%s of %s is in no LOAD segment" % (symbol, path))


def pct(xs, p):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(p * (len(xs) - 1))))]


def spike_pod(name):
    return nodectl.pod_manifest(name, [dict(name="app", command=["/bin/sh", "-c", SHELL], args=[],
                                            requests={"cpu": "20m", "memory": "32Mi"},
                                            limits={"memory": "64Mi"})], mode="in-place")


def shell_pid(ctr):
    for pid in (cg_read(ctr, "cgroup.procs") or "").split():
        try:
            with open("/proc/%s/comm" % pid) as f:
                if f.read().strip() == "sh":
                    return int(pid)
        except OSError:
            pass
    return None


def one_kill(node, trace, name, path):
    """Triggers the spike in pod NAME and measures; a dict of times (ms from the kill), or a string
    saying what failed."""
    pod = node.pod(name)
    ctr = node.ctr_cgroup(pod, "app")
    pid = shell_pid(ctr) if ctr else None
    if not pid:
        return "no container cgroup or shell"
    cid = os.path.basename(ctr)
    pod_cg = os.path.basename(node.pod_cgroup(pod))
    # The shell must outlive the spike: once the dying spike's memory is reaped, a charge it still
    # makes can OOM the memcg again, and the kernel would pick the shell (seen under TCG), ending the
    # container and its cgroup. -1000 (written from outside: the container may not lower it) leaves
    # the spike (which raises its own to 1000) and the shell's sleeps to kill.
    with open("/proc/%d/oom_score_adj" % pid, "w") as f:
        f.write("-1000")
    old = cg_read(ctr, "memory.max")
    kills0 = cg_key(ctr, "memory.events", "oom_kill")
    resizes0 = node.metric("snug_resizes_total", result="ok") or 0
    t_start = time.monotonic()
    with FileWatch(os.path.join(ctr, "memory.max")) as mx:
        os.kill(pid, signal.SIGUSR1)
        t1 = value = None
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            t = mx.wait(1)
            if t is not None and cg_read(ctr, "memory.max") != old:
                t1, value = t, cg_read(ctr, "memory.max")
                break
    if t1 is None:
        return "memory.max never changed (oom_kill %d -> %d)" % (kills0, cg_key(ctr, "memory.events", "oom_kill"))

    # Until the kubelet reports the resize done (its own writes come before that), then a moment.
    def done():
        p = node.pod(name)
        cs = container_status(p, "app") or {}
        want = (nodectl.spec_container(p, "app") or {}).get("resources", {}).get("limits", {}).get("memory")
        got = ((cs.get("resources") or {}).get("limits") or {}).get("memory")
        return want and got and quantity(want) == quantity(got) and not nodectl.condition(p, "PodResizeInProgress")
    try:
        node.api.wait("the kubelet to finish %s's resize" % name, done, 30, 0.3)
    except TimeoutError:
        pass
    time.sleep(0.5)
    kills = trace.since(t_start, "mark_victim")
    if not kills:
        return "no OOM kill traced (memory.events oom_kill %d -> %d)" % (
            kills0, cg_key(ctr, "memory.events", "oom_kill"))
    t0 = kills[0]["t"]
    r = {"value": int(value), "inotify_ms": (t1 - t0) * 1000, "kills_traced": len(kills),
         "oom_kill": cg_key(ctr, "memory.events", "oom_kill") - kills0,
         "resizes": int((node.metric("snug_resizes_total", result="ok") or 0) - resizes0)}
    # The limit the kill enforced: the last write before it (a pressure grow can come first), else
    # the limit the kubelet created the container with.
    before = [e for e in trace.since(t_start, "memmax") if e.get("cg") == cid and e["t"] < t0]
    at_kill = before[-1].get("value") if before else old
    writes = [e for e in trace.since(t0, "memmax") if e.get("cg") == cid and e.get("value") != at_kill]
    pod_writes = [e for e in trace.since(t0, "memmax") if e.get("cg") == pod_cg]
    if before:
        r["pressure_grow_before_kill"] = True
    if writes:
        r["enforced_ms"], r["writer"] = (writes[0]["t"] - t0) * 1000, writes[0]["comm"]
        r["value"] = int(writes[0]["value"])
        later = [e for e in writes[1:] if e["comm"] != writes[0]["comm"]]
        if later:
            r["other_ms"], r["other_writer"] = (later[0]["t"] - t0) * 1000, later[0]["comm"]
    else:
        r["enforced_ms"], r["writer"] = r["inotify_ms"], "?"
    acc = trace.since(t0, "on_resize_done")
    if acc:
        r["accepted_ms"] = (acc[0]["t"] - t0) * 1000
        if path == "snug":
            wr = trace.since(acc[0]["t"], "act_write_cgroups")
            if wr:
                r["callback_to_writer_us"] = (wr[0]["t"] - acc[0]["t"]) * 1e6
            first = [e for e in pod_writes + writes if e["t"] >= acc[0]["t"] and e["comm"] == "snug-agent"]
            if first:
                t_w = min(e["t"] for e in first)
                r["callback_to_write_us"] = (t_w - acc[0]["t"]) * 1e6
                r["preempted_us"], r["asleep_us"] = trace.off_cpu(node.agent.pid, acc[0]["t"], t_w)
    p = node.pod(name)
    r["kind"] = (node.last_resize(p) or {}).get("kind", "?")
    r["final"] = (nodectl.spec_container(p, "app") or {}).get("resources", {}).get("limits", {}).get("memory")
    return r


def run_path(node, trace, path, names):
    extra = ["--api-only"] if path == "api-only" else []
    node.start_agent(*(AGENT_ARGS + extra))
    results = []
    try:
        node.api.wait("snug to track the %s pods" % path, lambda: all(node.tracked(n) for n in names), 60, 0.5)
        for n in names:
            r = one_kill(node, trace, n, path)
            if isinstance(r, str):
                log("  %-8s %s: FAILED: %s" % (path, n, r))
                results.append(None)
            else:
                log("  %-8s %-12s kill -> container memory.max %s by %s: %.1f ms (inotify %.1f); the 200's "
                    "callback %s ms; callback -> writer %s us, -> first write %s us (agent off-CPU: %s); "
                    "other writer %s; "
                    "kills traced %d, oom_kill +%d, resizes %d (%s), limit now %s" % (
                        path, n, nodectl.fmt_mem(r["value"]), r["writer"], r["enforced_ms"], r["inotify_ms"],
                        "%.1f" % r["accepted_ms"] if "accepted_ms" in r else "-",
                        "%.0f" % r["callback_to_writer_us"] if "callback_to_writer_us" in r else "-",
                        "%.0f" % r["callback_to_write_us"] if "callback_to_write_us" in r else "-",
                        "preempted %.0f us, asleep %.0f us" % (r["preempted_us"], r["asleep_us"])
                        if "preempted_us" in r else "-",
                        "%s at %.1f ms" % (r["other_writer"], r["other_ms"]) if "other_ms" in r else "none",
                        r["kills_traced"], r["oom_kill"], r["resizes"], r["kind"], r["final"]) +
                    ("; a pressure grow came before the kill" if r.get("pressure_grow_before_kill") else ""))
                results.append(r)
            # The next kill meets a kubelet at rest: this pod torn down (its cgroup gone) first.
            gone = node.pod_cgroup(node.pod(n))
            node.delete(n, wait=False)
            try:
                node.api.wait("%s's cgroup to go" % n, lambda: not os.path.isdir(gone), 90, 0.5)
            except TimeoutError as e:
                log("  %s" % e)
            time.sleep(1)
    finally:
        node.stop_agent()
    return results


def main():
    node = nodectl.Node()
    phases = os.path.join(node.res, "phases")
    # The agent runs from tmpfs: the uprobes attach to its inode (the 9p root is the host's).
    agent_bin = os.path.join(nodectl.RUN, "snug-agent")
    subprocess.run(["cp", os.path.join(nodectl.REPO, "build", "snug-agent"), agent_bin], check=True)
    node.agent_bin = agent_bin
    # Its log on tmpfs too (copied to the results at the end): a write to the 9p results dir blocks
    # for a virtio round trip, which a pipe to the container runtime (its log on a node) does not.
    node.agent_log_path = os.path.join(nodectl.RUN, "agent.log")
    trace = Trace(agent_bin, os.path.join(node.res, "logs", "trace.txt"))
    for n in trace.notes:
        log("bench: " + n)
    per_round = (KILLS + ROUNDS - 1) // ROUNDS
    plan = [(path, ["%s-%d-%d" % (path, rnd, i) for i in range(per_round)]) for rnd in range(ROUNDS) for path in PATHS]
    t = time.time()
    for _, names in plan:
        for n in names:
            node.create(spike_pod(n))
    everyone = [n for _, names in plan for n in names]
    for n in everyone:
        node.running(n, 300)
    with open(phases, "a") as f:
        f.write("pods-running %.1f\n" % (time.time() - t))
    log("bench: %d pods running in %.1fs; %d kills per path in %d rounds, each in a fresh pod (64Mi limit, "
        "96 MiB spike)"
        % (len(everyone), time.time() - t, per_round * ROUNDS, ROUNDS))
    res = {p: [] for p in PATHS}
    t = time.time()
    for path, names in plan:
        res[path] += run_path(node, trace, path, names)
    with open(phases, "a") as f:
        f.write("kills %.1f\n" % (time.time() - t))
    trace.close()
    subprocess.run(["cp", node.agent_log_path, os.path.join(node.res, "logs", "agent.log")])
    ok = {p: [r for r in res[p] if r] for p in PATHS}
    failed = sum(1 for p in PATHS for r in res[p] if r is None)
    need = min(10, per_round * ROUNDS)
    for p in PATHS:
        if len(ok[p]) < need:
            log("FAIL: %s: only %d of %d kills measured" % (p, len(ok[p]), len(res[p])))
            return 1
    snug = [r["enforced_ms"] for r in ok["snug"]]
    base = [r["enforced_ms"] for r in ok["api-only"]]
    med, bmed = statistics.median(snug), statistics.median(base)
    p90, bp90 = pct(snug, 0.9), pct(base, 0.9)
    log("")
    log("node-limit-enforced: the OOM kill (kernel timestamp) -> the new memory.max written into the "
        "container's cgroup")
    for p in PATHS:
        xs = [r["enforced_ms"] for r in ok[p]]
        log("  %-8s n=%d median %.1f ms, p90 %.1f ms, min %.1f, max %.1f; written by %s" % (
            p, len(xs), statistics.median(xs), pct(xs, 0.9), min(xs), max(xs),
            ",".join(sorted({r["writer"] for r in ok[p]}))))

    def median_of(p, key, cond=lambda r: True):
        xs = [r[key] for r in ok[p] if key in r and cond(r)]
        return (statistics.median(xs), len(xs)) if xs else (None, 0)
    for p in PATHS:
        acc, n = median_of(p, "accepted_ms")
        if acc is not None:
            log("  %-8s kill -> the agent's callback for the API server's 200: median %.1f ms (n=%d)" % (p, acc, n))
    for p in PATHS:
        xs = [r["enforced_ms"] - r["accepted_ms"] for r in ok[p] if "accepted_ms" in r]
        if xs:
            log("  %-8s the 200's callback -> container memory.max: median %.1f ms (%s)" % (
                p, statistics.median(xs), "snug's own write, pod cgroup first" if p == "snug"
                else "the kubelet's pod sync, containerd, runc update"))
    cb, n = median_of("snug", "callback_to_writer_us")
    cw, _ = median_of("snug", "callback_to_write_us")
    if cb is not None:
        log("  snug     the 200's callback -> the cgroup writer entered: median %.0f us, -> its first write "
            "(pod memory.max) %s us (n=%d): all that runs between the API server's answer and the kernel"
            % (cb, "%.0f" % cw if cw is not None else "-", n))
    pre, _ = median_of("snug", "preempted_us")
    sl, _ = median_of("snug", "asleep_us")
    if pre is not None:
        log("  snug     of which the agent was off the CPU: median %.0f us runnable (preempted), %.0f us asleep"
            % (pre, sl))
    other, n = median_of("snug", "other_ms")
    if other is not None:
        log("  snug     the kubelet's own write of the container's memory.max after snug's: median %.1f ms "
            "after the kill (n=%d; it rewrites the value snug wrote)" % (other, n))
    dup = [r for p in PATHS for r in ok[p] if r["resizes"] > r["kills_traced"]]
    if dup:
        log("  note: %d of %d kills were followed by more accepted resizes than kills traced (the first "
            "resize is what is timed)" % (len(dup), sum(len(ok[p]) for p in PATHS)))
    if failed:
        log("  %d kills were not measured (above)" % failed)
    print("BENCH name=node-limit-enforced value=%.1f unit=ms baseline=%.1f ratio=%.2f" % (med, bmed, bmed / med))
    print("BENCH name=node-limit-enforced-p90 value=%.1f unit=ms baseline=%.1f ratio=%.2f" % (p90, bp90, bp90 / p90))
    if cw is not None:
        print("BENCH name=node-accepted-to-write value=%.0f unit=us" % cw)
    sys.stdout.flush()
    return bench_startup_boost(node)


def bench_startup_boost(node):
    """startup-boost-ready: a container that burns 4 s of CPU before its readiness probe passes,
    under a 200m limit, from its start to ready: with snug.io/startup-cpu-boost 4x against the same
    pod without (node_scenarios.measure_startup_boost, both pods created at once)."""
    import node_scenarios
    node.start_agent(*AGENT_ARGS)
    try:
        ready, since_create, back = node_scenarios.measure_startup_boost(node)
    finally:
        node.stop_agent()
    if len(ready) < 2:
        log("FAIL: startup-boost-ready: not both pods turned ready: %s" % ready)
        return 1
    log("startup-boost-ready: container start -> ready %.1f s boosted (4x), %.1f s without; from the pod's "
        "creation %.1f s and %.1f s; the boosted limit back at 200m %s s after ready" % (
            ready["boosted"], ready["unboosted"], since_create["boosted"], since_create["unboosted"],
            "%.2f" % back if back is not None else "never"))
    print("BENCH name=startup-boost-ready value=%.1f unit=s baseline=%.1f ratio=%.2f"
          % (ready["boosted"], ready["unboosted"], ready["unboosted"] / ready["boosted"]))
    sys.stdout.flush()
    return 0


def run_all():
    """`node_bench.py value`: the value benchmark alone (tests/node/node_value.py); with no argument
    node-limit-enforced and startup-boost-ready, then the value benchmark."""
    import node_value
    if sys.argv[1:] == ["value"]:
        return node_value.main()
    rc = main()
    return node_value.main() or rc


if __name__ == "__main__":
    sys.exit(run_all())
