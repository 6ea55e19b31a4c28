"""Drive `snug-agent run` in tests: a fake kubelet-style cgroup tree fed by the test, the agent process
against an API server (the fake one, or a real one in the envtest tier), readers for its /metrics and
/recommendations, and a recorder of the order in which cgroup limit files get written."""

import ctypes
import ctypes.util
import http.client
import json
import os
import select
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
AGENT = os.environ.get("SNUG_AGENT", os.path.join(REPO, "build", "snug-agent"))
MiB = 1024 * 1024
# Recommendations wait for an hour of history, so only the signal under test acts; tests that want
# recommendations lower it.
FAST = ["--sample-interval", "200ms", "--decide-interval", "500ms", "--min-history", "1h"]


def wait_for(fn, timeout=15, interval=0.1):
    deadline = time.time() + timeout
    while time.time() < deadline:
        v = fn()
        if v:
            return v
        time.sleep(interval)
    return fn()


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def container_id_of(pod, name):
    for cs in pod.get("status", {}).get("containerStatuses", []):
        if cs["name"] == name:
            return cs["containerID"].split("://", 1)[1]
    raise KeyError(name)


class FakeCgroup:
    """One container's (or pod's) cgroup directory with the files the kernel would have. Values are
    rewritten in place (same inode), as the kernel's files are, so kept fds see them."""

    def __init__(self, path):
        self.path = path
        os.makedirs(path, exist_ok=True)
        self.usage_usec = 0
        self.throttled_usec = 0
        self.nr_periods = 0
        self.nr_throttled = 0
        self.events = {"low": 0, "high": 0, "max": 0, "oom": 0, "oom_kill": 0, "oom_group_kill": 0}
        self.memory = 64 * MiB
        self.inactive_file = 0
        for name, text in (("cpu.max", "max 100000\n"), ("cpu.weight", "100\n"), ("memory.max", "max\n"),
                           ("memory.high", "max\n"), ("cpu.pressure", self._psi()),
                           ("memory.pressure", self._psi())):
            self.write(name, text)
        self.write_cpu()
        self.write_memory()
        self.write_events()

    @staticmethod
    def _psi():
        return ("some avg10=0.00 avg60=0.00 avg300=0.00 total=0\n"
                "full avg10=0.00 avg60=0.00 avg300=0.00 total=0\n")

    def write(self, name, text):
        with open(os.path.join(self.path, name), "r+" if os.path.exists(os.path.join(self.path, name)) else "w") as f:
            f.write(text)
            f.truncate()

    def read(self, name):
        with open(os.path.join(self.path, name)) as f:
            return f.read()

    def write_cpu(self):
        self.write("cpu.stat", "usage_usec %d\nuser_usec %d\nsystem_usec 0\nnr_periods %d\nnr_throttled %d\n"
                   "throttled_usec %d\nnr_bursts 0\nburst_usec 0\n" % (
                       self.usage_usec, self.usage_usec, self.nr_periods, self.nr_throttled,
                       self.throttled_usec))

    def write_memory(self):
        self.write("memory.current", "%d\n" % self.memory)
        self.write("memory.stat", "anon %d\nfile %d\nkernel_stack 16384\nshmem 0\nfile_mapped 0\nfile_dirty 0\n"
                   "file_writeback 0\ninactive_anon 0\nactive_anon %d\ninactive_file %d\nactive_file 0\n"
                   "unevictable 0\nslab_reclaimable 0\nslab_unreclaimable 0\npgfault 0\npgmajfault 0\n" % (
                       self.memory - self.inactive_file, self.inactive_file, self.memory - self.inactive_file,
                       self.inactive_file))

    def write_events(self):
        self.write("memory.events", "".join("%s %d\n" % (k, self.events[k]) for k in
                                            ("low", "high", "max", "oom", "oom_kill", "oom_group_kill")))

    def run(self, seconds, cores, throttled_fraction=0.0):
        """Accounts `seconds` of CPU use at `cores`, with that fraction of periods throttled."""
        self.usage_usec += int(seconds * cores * 1e6)
        periods = int(seconds * 10)
        self.nr_periods += periods
        if throttled_fraction:
            self.nr_throttled += int(periods * throttled_fraction)
            self.throttled_usec += int(seconds * 1e6 * throttled_fraction)
        self.write_cpu()

    def oom_kill(self):
        self.events["max"] += 5
        self.events["oom"] += 1
        self.events["oom_kill"] += 1
        self.write_events()


class FakeTree:
    """A kubelet-style cgroupfs-driver tree (kubepods/<qos>/pod<uid>/<container id>)."""

    def __init__(self, root, driver="cgroupfs"):
        self.root = root
        self.driver = driver
        os.makedirs(root, exist_ok=True)
        self.pods = {}

    def pod_dir(self, pod):
        uid = pod["metadata"]["uid"]
        qos = pod["status"]["qosClass"]
        if self.driver == "systemd":
            u = uid.replace("-", "_")
            if qos == "Guaranteed":
                return os.path.join(self.root, "kubepods.slice", "kubepods-pod%s.slice" % u)
            q = qos.lower()
            return os.path.join(self.root, "kubepods.slice", "kubepods-%s.slice" % q,
                                "kubepods-%s-pod%s.slice" % (q, u))
        if qos == "Guaranteed":
            return os.path.join(self.root, "kubepods", "pod" + uid)
        return os.path.join(self.root, "kubepods", qos.lower(), "pod" + uid)

    def add_pod(self, pod):
        """Creates the pod's cgroup and one per container (names from the pod status: app containers,
        and init containers that have a container ID, as a kubelet in the middle of them would)."""
        pdir = self.pod_dir(pod)
        entry = {"pod": FakeCgroup(pdir), "containers": {}}
        st = pod["status"]
        for cs in st["containerStatuses"] + [c for c in st.get("initContainerStatuses") or [] if c.get("containerID")]:
            cid = cs["containerID"].split("://", 1)[1]
            name = ("cri-containerd-%s.scope" % cid) if self.driver == "systemd" else cid
            entry["containers"][cs["name"]] = FakeCgroup(os.path.join(pdir, name))
        self.pods[pod["metadata"]["name"]] = entry
        return entry

    def container(self, pod_name, container="app"):
        return self.pods[pod_name]["containers"][container]

    def pod(self, pod_name):
        return self.pods[pod_name]["pod"]


class Agent:
    """`snug-agent run` against an API server and a fake tree; stopped with SIGTERM. `srv` is the fake
    API server, or the path of a kubeconfig for a real one."""

    def __init__(self, srv, tree_root, state_dir, node="node-1", args=(), log_path=None, log_level="debug"):
        self.srv = srv
        self.port = free_port()
        kubeconfig = srv if isinstance(srv, str) else srv.kubeconfig()
        self.cmd = [AGENT, "run", "--node-name", node, "--kubeconfig", kubeconfig,
                    "--cgroup-root", tree_root, "--state-dir", state_dir, "--listen", "127.0.0.1:%d" % self.port,
                    "--no-bpf", "--log-level", log_level] + list(args)
        self.log_path = log_path or os.path.join(state_dir + ".log")
        self.proc = None

    def start(self, wait_ready=True):
        self._log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(self.cmd, stdout=self._log, stderr=subprocess.STDOUT)
        if wait_ready:
            deadline = time.time() + 20
            while time.time() < deadline:
                if self.proc.poll() is not None:
                    raise RuntimeError("agent exited %s:\n%s" % (self.proc.returncode, self.log()))
                try:
                    if self.get("/readyz")[0] == 200:
                        return self
                except OSError:
                    pass
                time.sleep(0.05)
            raise RuntimeError("agent not ready:\n" + self.log())
        return self

    def stop(self):
        rc = None
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                rc = self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                rc = self.proc.wait()
        elif self.proc:
            rc = self.proc.returncode
        self.proc = None
        if getattr(self, "_log", None):
            self._log.close()
            self._log = None
        return rc

    def log(self):
        try:
            with open(self.log_path, "rb") as f:
                return f.read().decode("utf-8", "replace")[-8000:]
        except OSError:
            return ""

    def get(self, path):
        c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=5)
        try:
            c.request("GET", path)
            r = c.getresponse()
            return r.status, r.read().decode()
        finally:
            c.close()

    def metrics(self):
        st, body = self.get("/metrics")
        if st != 200:
            raise RuntimeError("/metrics -> %d" % st)
        return body

    def metric(self, name, **labels):
        """Sum of the samples of `name` whose labels include `labels`."""
        total = None
        for line in self.metrics().splitlines():
            if not line or line.startswith("#"):
                continue
            key, _, value = line.rpartition(" ")
            mname, _, lab = key.partition("{")
            if mname != name:
                continue
            ok = all(('%s="%s"' % (k, v)) in lab for k, v in labels.items())
            if ok:
                total = (total or 0) + float(value)
        return total

    def recommendations(self):
        st, body = self.get("/recommendations")
        if st != 200:
            raise RuntimeError("/recommendations -> %d" % st)
        return json.loads(body)


IN_MODIFY = 0x2


def _inotify(paths, flags=0):
    """An inotify fd watching each path for writes (IN_MODIFY), and {watch descriptor: path}. Python
    has no inotify binding, so libc's through ctypes."""
    libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
    fd = libc.inotify_init1(os.O_CLOEXEC | flags)
    if fd < 0:
        raise OSError(ctypes.get_errno(), "inotify_init1")
    wds = {}
    for p in paths:
        wd = libc.inotify_add_watch(fd, os.fsencode(p), IN_MODIFY)
        if wd < 0:
            err = ctypes.get_errno()
            os.close(fd)
            raise OSError(err, "inotify_add_watch", p)
        wds[wd] = p
    return fd, wds


class LimitWrites:
    """Records, in order, the writes to cgroup limit files (cpu.max, cpu.weight, memory.max) under the
    directories given: which file of which cgroup was written first is what the safe order (grow: pod
    then container; shrink: container then pod) is about."""

    FILES = ("cpu.max", "cpu.weight", "memory.max")

    def __init__(self, dirs):
        self._fd, self._dirs = _inotify(dirs, os.O_NONBLOCK)
        self._seen = []

    def writes(self):
        """[(dir, file name)] in the order the kernel saw them; consecutive writes to one file are one."""
        while select.select([self._fd], [], [], 0)[0]:
            buf = os.read(self._fd, 65536)
            off = 0
            while off < len(buf):
                wd, _mask, _cookie, n = struct.unpack_from("iIII", buf, off)
                name = buf[off + 16:off + 16 + n].split(b"\0", 1)[0].decode()
                off += 16 + n
                item = (self._dirs.get(wd), name)
                if name in self.FILES and (not self._seen or self._seen[-1] != item):
                    self._seen.append(item)
        return list(self._seen)

    def close(self):
        os.close(self._fd)


class FileWatch:
    """Tells when a file is next written (inotify IN_MODIFY), on the caller's CLOCK_MONOTONIC, without
    polling it: arm before the action, then wait()."""

    def __init__(self, path):
        self.fd, _ = _inotify([path])

    def wait(self, timeout):
        """time.monotonic() when a write was seen, or None after timeout seconds."""
        r, _, _ = select.select([self.fd], [], [], timeout)
        if not r:
            return None
        t = time.monotonic()
        os.read(self.fd, 4096)
        return t

    def close(self):
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def resize_requests(srv, pod_name=None):
    out = []
    for r in srv.requests():
        if r["method"] == "PATCH" and r["path"].endswith("/resize"):
            if pod_name is None or "/pods/%s/" % pod_name in r["path"]:
                out.append(r)
    return out


def events(srv, reason=None):
    st, body = srv.request("GET", "/api/v1/events")
    items = body.get("items", []) if st == 200 else []
    return [e for e in items if reason is None or e.get("reason") == reason]


def tmpdir(prefix):
    d = tempfile.mkdtemp(prefix=prefix)
    return d, (lambda: shutil.rmtree(d, ignore_errors=True))


def main(tier):
    """Runs the calling module's unittest cases and writes the tier's result line to $SNUG_RESULTS."""
    prog = unittest.main(exit=False, testRunner=unittest.TextTestRunner(verbosity=2))
    r = prog.result
    failed = len(r.failures) + len(r.errors)
    skipped = len(r.skipped)
    # A failed setUpClass is one error that ran no test: it fails, and takes no test's pass away.
    passed = r.testsRun - skipped - len([t for t, _ in r.failures + r.errors if isinstance(t, unittest.TestCase)])
    out = os.environ.get("SNUG_RESULTS")
    if out:
        with open(out, "w") as f:
            f.write("%s %d %d %d\n" % (tier, passed, failed, skipped))
    print("%s: %d passed, %d failed, %d skipped" % (tier, passed, failed, skipped))
    sys.exit(1 if failed else 0)
