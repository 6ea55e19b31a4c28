"""Guest-side driver of the node tier (used by node_scenarios.py, and meant for the demo and the
benchmark): the real kubelet's pods through the API, their cgroups as the kubelet laid them out, and
`snug-agent run` with the snug-agent ServiceAccount's token only."""

import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)

import kube  # noqa: E402

CG = "/sys/fs/cgroup"
MiB = 1 << 20
NS = "default"
RUN = os.environ.get("NODE_RUN", "/run/snug-node")
# The cgroup files compared with what the kubelet writes itself.
LIMIT_FILES = ("cpu.max", "cpu.weight", "memory.max", "memory.high")

_UNITS = {"Ki": 1 << 10, "Mi": 1 << 20, "Gi": 1 << 30, "Ti": 1 << 40, "k": 10**3, "M": 10**6, "G": 10**9,
          "m": 1e-3, "": 1}


def quantity(q):
    """A Kubernetes quantity as a number (bytes or cores)."""
    m = re.fullmatch(r"([0-9.]+)(Ki|Mi|Gi|Ti|k|M|G|m|)", str(q))
    if not m:
        raise ValueError("bad quantity %r" % q)
    return float(m.group(1)) * _UNITS[m.group(2)]


def fmt_mem(b):
    return "-" if b is None else ("%.0fMi" % (b / MiB) if b % MiB == 0 else "%.1fMi" % (b / MiB))


def read_env():
    res = os.environ["SNUG_VM_RESULTS"]
    env = {}
    with open(os.path.join(res, "node.env")) as f:
        for line in f:
            k, _, v = line.strip().partition("=")
            env[k] = v.strip("'")
    env["RES"] = res
    return env


def cg_read(path, name):
    try:
        with open(os.path.join(path, name)) as f:
            return f.read().strip()
    except OSError:
        return None


def cg_key(path, name, key):
    text = cg_read(path, name) or ""
    for line in text.splitlines():
        k, _, v = line.partition(" ")
        if k == key:
            return int(v)
    return 0


def cg_files(path):
    return {n: cg_read(path, n) for n in LIMIT_FILES}


def container_status(pod, name):
    st = pod.get("status", {})
    for cs in st.get("containerStatuses", []) + st.get("initContainerStatuses", []):
        if cs["name"] == name:
            return cs
    return None


def condition(pod, ctype):
    for c in pod.get("status", {}).get("conditions", []) or []:
        if c["type"] == ctype and c.get("status") == "True":
            return c
    return None


def spec_container(pod, name):
    for c in pod["spec"].get("containers", []) + pod["spec"].get("initContainers", []):
        if c["name"] == name:
            return c
    return None


def same_resources(a, b):
    """Requests and limits equal as quantities (the API may print 1Gi where we wrote 1024Mi)."""
    for part in ("requests", "limits"):
        x, y = (a or {}).get(part, {}), (b or {}).get(part, {})
        if set(x) != set(y) or any(quantity(x[k]) != quantity(y[k]) for k in x):
            return False
    return True


def pod_manifest(name, containers, mode=None, init=(), annotations=None, restart="Always"):
    """A pod bound to the node (no scheduler runs: spec.nodeName is set here), on the host network,
    images imported locally (imagePullPolicy Never). containers/init: dicts with name, args,
    requests, limits, and for init containers an optional restartPolicy (Always = native sidecar)."""
    def ctr(c):
        out = {"name": c["name"], "image": "localhost/snug/workload:1", "imagePullPolicy": "Never",
               "args": c["args"], "resources": {}}
        for k in ("requests", "limits"):
            if c.get(k):
                out["resources"][k] = c[k]
        if c.get("command"):
            out["command"] = c["command"]
        if c.get("restartPolicy"):
            out["restartPolicy"] = c["restartPolicy"]
        return out
    ann = dict(annotations or {})
    if mode:
        ann["snug.io/mode"] = mode
    spec = {"nodeName": NODE_NAME, "hostNetwork": True, "terminationGracePeriodSeconds": 1,
            "restartPolicy": restart, "containers": [ctr(c) for c in containers]}
    if init:
        spec["initContainers"] = [ctr(c) for c in init]
    return {"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": name, "namespace": NS, "annotations": ann, "labels": {"app": name}},
            "spec": spec}


NODE_NAME = "snug-node"

# Scenarios that run side by side keep their output in a per-thread buffer, printed when they end.
_output = threading.local()


def out(text):
    buf = getattr(_output, "buf", None)
    if buf is not None:
        buf.append(text if text.endswith("\n") else text + "\n")
    else:
        sys.stdout.write(text if text.endswith("\n") else text + "\n")
        sys.stdout.flush()


def output_buffer():
    """This thread's buffer (a list another thread may read once this one hangs), or None."""
    return getattr(_output, "buf", None)


def buffer_output(on):
    """Starts (on) or ends this thread's buffer; returns what it held."""
    held = "".join(getattr(_output, "buf", None) or [])
    _output.buf = [] if on else None
    return held


class Node:
    """The node as the tests see it: the API (admin), the kubelet's cgroup tree and snug."""

    def __init__(self):
        global NODE_NAME
        self.env = read_env()
        NODE_NAME = self.env["NODE_NAME"]
        self.res = self.env["RES"]
        with open(os.path.join(self.res, "admin.token")) as f:
            token = f.read().strip()
        self.token = token
        self._local = threading.local()
        self.driver = self.env.get("NODE_CGROUP_DRIVER", "cgroupfs")
        self.kubectl_bin = os.path.join(self.env["NODE_CACHE"], "kubectl-v1.36.2")
        self.agent = None
        self.agent_bin = os.path.join(REPO, "build", "snug-agent")
        self.agent_port = 9746
        self.agent_log_path = os.path.join(self.res, "logs", "agent.log")
        self.agent_dir = os.path.join(RUN, "agent")

    # --- the API --------------------------------------------------------------------------------
    @property
    def api(self):
        """The admin's client; one connection per thread (scenarios may run side by side)."""
        k = getattr(self._local, "api", None)
        if k is None:
            k = self._local.api = kube.Kube(self.env["NODE_API"], os.path.join(self.res, "ca.crt"), self.token)
        return k

    def pod(self, name):
        return self.api.pod(NS, name)

    def create(self, manifest):
        return self.api.create_pod(manifest)

    def delete(self, name, wait=True):
        self.api.delete_pod(NS, name, grace=0)
        if wait:
            self.api.wait("pod %s gone" % name, lambda: self.pod(name) is None, 60, 0.5)

    def running(self, name, timeout=120):
        """Waits until every container of the pod runs and is ready; returns the pod."""
        def ready():
            p = self.pod(name)
            if not p:
                return None
            css = p.get("status", {}).get("containerStatuses", [])
            if css and all(cs.get("ready") and "running" in cs.get("state", {}) for cs in css):
                return p
            return None
        return self.api.wait("pod %s running" % name, ready, timeout, 0.5)

    def events(self, pod_name, reason):
        """The messages of the pod's Events with REASON, oldest first."""
        evs = self.api.get("/api/v1/namespaces/%s/events?fieldSelector=involvedObject.name=%s,reason=%s"
                           % (NS, pod_name, reason))["items"]
        evs.sort(key=lambda e: e.get("lastTimestamp") or e.get("eventTime") or "")
        return [e.get("message", "") for e in evs]

    def node_obj(self):
        return self.api.get("/api/v1/nodes/" + NODE_NAME)

    def kubectl(self, *args):
        """Runs the real kubectl (admin) and prints what it shows, as an operator would see it."""
        cmd = [self.kubectl_bin, "--kubeconfig", os.path.join(self.res, "admin.kubeconfig")] + list(args)
        try:
            r = subprocess.run(cmd + ["--request-timeout=20s"], stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, timeout=40)
        except subprocess.TimeoutExpired as e:
            out("$ kubectl " + " ".join(args) + "\n(no answer in 40 s)\n" +
                (e.stdout or b"").decode("utf-8", "replace"))
            return 124
        out("$ kubectl " + " ".join(args) + "\n" + r.stdout.decode("utf-8", "replace"))
        return r.returncode

    # --- the kubelet's cgroups ------------------------------------------------------------------
    def pod_cgroup(self, pod):
        """The pod cgroup the kubelet made (cgroupfs or systemd driver)."""
        uid = pod["metadata"]["uid"]
        qos = pod["status"]["qosClass"]
        if self.driver == "systemd":
            u = uid.replace("-", "_")
            if qos == "Guaranteed":
                return os.path.join(CG, "kubepods.slice", "kubepods-pod%s.slice" % u)
            q = qos.lower()
            return os.path.join(CG, "kubepods.slice", "kubepods-%s.slice" % q, "kubepods-%s-pod%s.slice" % (q, u))
        if qos == "Guaranteed":
            return os.path.join(CG, "kubepods", "pod" + uid)
        return os.path.join(CG, "kubepods", qos.lower(), "pod" + uid)

    def ctr_cgroup(self, pod, name):
        cs = container_status(pod, name)
        if not cs or not cs.get("containerID"):
            return None
        cid = cs["containerID"].split("://", 1)[1]
        if self.driver == "systemd":
            return os.path.join(self.pod_cgroup(pod), "cri-containerd-%s.scope" % cid)
        return os.path.join(self.pod_cgroup(pod), cid)

    # --- snug -----------------------------------------------------------------------------------
    def start_agent(self, *extra):
        """`snug-agent run` as the DaemonSet runs it, but as a process in the guest with only the
        snug-agent ServiceAccount's token (agent.kubeconfig). The sampling and decision knobs are
        the tests' (shorter than the defaults, so a scenario fits in seconds under TCG)."""
        os.makedirs(self.agent_dir, exist_ok=True)
        cmd = [self.agent_bin, "run", "--node-name", NODE_NAME,
               "--kubeconfig", os.path.join(self.res, "agent.kubeconfig"), "--cgroup-root", CG,
               "--state-dir", os.path.join(self.agent_dir, "state"),
               "--listen", "127.0.0.1:%d" % self.agent_port] + list(extra)
        self.agent_cmd = cmd
        log = open(self.agent_log_path, "ab")
        self.agent = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT)
        deadline = time.time() + 60
        while time.time() < deadline:
            if self.agent.poll() is not None:
                raise RuntimeError("snug-agent exited %s:\n%s" % (self.agent.returncode, self.agent_log()))
            try:
                if self.http("/readyz")[0] == 200:
                    return
            except OSError:
                pass
            time.sleep(0.3)
        raise RuntimeError("snug-agent not ready after 60 s:\n" + self.agent_log())

    def stop_agent(self):
        """SIGTERM; the agent's exit status (None when it was not running)."""
        rc = None
        if self.agent and self.agent.poll() is None:
            self.agent.send_signal(signal.SIGTERM)
            try:
                rc = self.agent.wait(30)
            except subprocess.TimeoutExpired:
                self.agent.kill()
                rc = self.agent.wait()
        self.agent = None
        return rc

    def agent_log(self, tail=8000):
        try:
            with open(self.agent_log_path, "rb") as f:
                return f.read().decode("utf-8", "replace")[-tail:]
        except OSError:
            return ""

    def http(self, path):
        try:
            with urllib.request.urlopen("http://127.0.0.1:%d%s" % (self.agent_port, path), timeout=10) as r:
                return r.status, r.read().decode()
        except urllib.error.HTTPError as e:
            return e.code, ""

    def metric(self, name, **labels):
        """The sum of the series of NAME whose labels include LABELS, None when there is none."""
        total = None
        for line in self.http("/metrics")[1].splitlines():
            if line.startswith("#"):
                continue
            key, _, value = line.rpartition(" ")
            mname, _, lab = key.partition("{")
            if mname != name:
                continue
            if all(('%s="%s"' % kv) in lab for kv in labels.items()):
                total = (total or 0) + float(value)
        return total

    def tracked(self, pod_name):
        """Whether snug samples every container of the pod (its /recommendations)."""
        st, body = self.http("/recommendations")
        if st != 200:
            return False
        cs = [c for c in json.loads(body).get("containers", []) if c.get("pod") == pod_name]
        return bool(cs) and all(c.get("tracked") for c in cs)

    def managed_containers(self, pod_name):
        """The containers of the pod snug manages (its /recommendations)."""
        st, body = self.http("/recommendations")
        if st != 200:
            return set()
        return {c["container"] for c in json.loads(body).get("containers", []) if c.get("pod") == pod_name}

    def last_resize(self, pod):
        a = pod["metadata"].get("annotations", {}).get("snug.io/last-resize")
        return json.loads(a) if a else None
