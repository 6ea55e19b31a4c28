"""Guest-side driver of the node tier (used by node_scenarios.py, and meant for the demo and the
benchmark): the real kubelet's pods through the API, their cgroups as the kubelet laid them out, and
`snug-agent run` with the snug-agent ServiceAccount's token only."""

import json
import os
import subprocess
import sys
import threading

import kube
from snugtest import REPO, units
from snugtest.agent import AgentProcess, agent_command
from snugtest.node import Node as BaseNode
from snugtest.units import MiB

CG = "/sys/fs/cgroup"
NS = "default"
RUN = os.environ.get("NODE_RUN", "/run/snug-node")
# The cgroup files compared with what the kubelet writes itself.
LIMIT_FILES = ("cpu.max", "cpu.weight", "memory.max", "memory.high")

def quantity(q):
    """A Kubernetes quantity as a float (bytes or cores)."""
    return float(units.quantity(q))


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


class Node(BaseNode):
    """The node as the tests see it: the API (admin), the kubelet's cgroup tree and snug."""

    def __init__(self):
        global NODE_NAME
        self.env = read_env()
        NODE_NAME = self.env["NODE_NAME"]
        super().__init__(CG, self.env.get("NODE_CGROUP_DRIVER", "cgroupfs"), NODE_NAME)
        self.res = self.env["RES"]
        with open(os.path.join(self.res, "admin.token")) as f:
            token = f.read().strip()
        self.token = token
        self._local = threading.local()
        self.kubectl_bin = os.path.join(self.env["NODE_CACHE"], "kubectl-v1.36.2")
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

    # --- snug (the kubelet's cgroups, the agent's log and endpoints: snugtest.node.Node) ---------
    def start_agent(self, *extra):
        """`snug-agent run` as the DaemonSet runs it, but as a process in the guest with only the
        snug-agent ServiceAccount's token (agent.kubeconfig). The sampling and decision knobs are
        the tests' (shorter than the defaults, so a scenario fits in seconds under TCG)."""
        os.makedirs(self.agent_dir, exist_ok=True)
        cmd = agent_command(self.agent_bin, NODE_NAME, os.path.join(self.res, "agent.kubeconfig"), CG,
                            os.path.join(self.agent_dir, "state"), self.agent_port) + list(extra)
        self.agent_cmd = cmd
        self.run_agent(AgentProcess(cmd, self.agent_port, self.agent_log_path, ready_timeout=60, ready_poll=0.3,
                                    stop_timeout=30, http_timeout=10))

    def tracked(self, pod_name):
        """Whether snug samples every container of the pod (its /recommendations)."""
        cs = [c for c in self.recommendations() if c.get("pod") == pod_name]
        return bool(cs) and all(c.get("tracked") for c in cs)

    def managed_containers(self, pod_name):
        """The containers of the pod snug manages (its /recommendations)."""
        return {c["container"] for c in self.recommendations() if c.get("pod") == pod_name}

    def last_resize(self, pod):
        a = pod["metadata"].get("annotations", {}).get("snug.io/last-resize")
        return json.loads(a) if a else None
