"""Envtest tier, end to end: `snug-agent run` against a real kube-apiserver (started by run.sh, which
installed deploy/ with kubectl), as the snug-agent service account whose only rights come from
deploy/rbac.yaml, confined to its node by deploy/policy.yaml (each agent holds a token bound to a pod
on its own node, as its DaemonSet pod would), and fake cgroup trees fed by the test. The test plays the kubelet: it writes pod status through the `status` subresource (Running,
container IDs matching the fake tree, status.resources/allocatedResources) and, after the agent's
PATCH of the `resize` subresource, the status the kubelet would write (the new resources, or the
PodResizePending condition, reason Infeasible or Deferred).

One control plane per version serves every scenario: each agent has its own node (and flags), all
pods are set up and all signals fed at once, then each test checks one scenario against what the real
API server holds (pod spec, metadata.generation, annotations, Events) and what the fake tree holds."""

import copy
import json
import math
import os
import sys
import threading
import time
import unittest
import uuid

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))

from snugtest.agent import FAST, Agent  # noqa: E402
from snugtest.cgtree import FakeTree  # noqa: E402
from snugtest.harness import main, tmpdir, wait_for  # noqa: E402
from snugtest.inotify import LimitWrites  # noqa: E402
from snugtest.node import Node as BaseNode  # noqa: E402
from snugtest.realapi import NODE_NAME_EXTRA, Client, agent_token, token_kubeconfig  # noqa: E402
from snugtest.units import MiB, quantity  # noqa: E402

SERVER = os.environ.get("SNUG_ENVTEST_SERVER")
NS = "snug-e2e"
# 1.36 reports status.observedGeneration (PodObservedGenerationTracking, 1.34+); 1.33 has no such field.
VERSION = int(os.environ.get("SNUG_ENVTEST_VERSION", "136"))
BURSTABLE = {"requests": {"cpu": "100m", "memory": "128Mi"}, "limits": {"cpu": "500m", "memory": "256Mi"}}


class Api(Client):
    """The admin's calls to the real API server (the agent has its own kubeconfig)."""

    def __init__(self):
        super().__init__(SERVER, os.environ["SNUG_ENVTEST_CA"], os.environ["SNUG_ENVTEST_ADMIN_TOKEN"])

    def pod(self, name):
        return self.ok("GET", "/api/v1/namespaces/%s/pods/%s" % (NS, name))

    def events(self, pod, reason):
        items = self.ok("GET", "/api/v1/namespaces/%s/events" % NS).get("items", [])
        return [e for e in items if e["involvedObject"].get("name") == pod and e.get("reason") == reason]


def now_iso():
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def app(pod):
    return [c for c in pod["spec"]["containers"] if c["name"] == "app"][0]["resources"]


def quantity_bytes(q):
    return int(quantity(q))


class Kubelet(threading.Thread):
    """Answers resizes the way the kubelet would, through the status subresource: for a pod whose spec
    resources differ from its status.containerStatuses[].resources, either the new resources
    (allocated and actual) or a PodResizePending condition (Infeasible, Deferred). It writes no cgroup
    file: those the agent writes are the ones under test."""

    def __init__(self, api):
        super().__init__(daemon=True)
        self.api = api
        self.verdicts = {}  # pod name -> ("Infeasible"|"Deferred", message); default: apply
        self.answered = {}  # pod name -> generation answered
        self.stop = threading.Event()
        self.errors = []

    def run(self):
        while not self.stop.is_set():
            try:
                self.tick()
            except Exception as e:  # noqa: BLE001 (kept for the report; the loop goes on)
                self.errors.append(repr(e))
            self.stop.wait(0.1)

    def tick(self):
        for pod in self.api.ok("GET", "/api/v1/namespaces/%s/pods" % NS).get("items", []):
            name, gen = pod["metadata"]["name"], pod["metadata"].get("generation", 1)
            st = pod.get("status", {})
            css = {cs["name"]: cs for cs in st.get("containerStatuses", []) + st.get("initContainerStatuses", [])}
            # app containers and native sidecars (the kubelet resizes both; IsResizableContainer)
            pending = [c for c in pod["spec"]["containers"] + [i for i in pod["spec"].get("initContainers", [])
                                                              if i.get("restartPolicy") == "Always"]
                       if c["name"] in css and css[c["name"]].get("resources") != c.get("resources")]
            if not pending or self.answered.get(name) == gen:
                continue
            status = copy.deepcopy(pod["status"])
            conds = [c for c in status.get("conditions", [])
                     if c["type"] not in ("PodResizePending", "PodResizeInProgress")]
            verdict = self.verdicts.get(name)
            if verdict:
                cond = {"type": "PodResizePending", "status": "True", "lastProbeTime": None,
                        "lastTransitionTime": now_iso(), "reason": verdict[0], "message": verdict[1]}
                if VERSION >= 134:
                    cond["observedGeneration"] = gen
                conds.append(cond)
            else:
                for c in pending:
                    cs = [x for x in status["containerStatuses"] + status.get("initContainerStatuses", [])
                          if x["name"] == c["name"]][0]
                    cs["resources"] = copy.deepcopy(c.get("resources") or {})
                    cs["allocatedResources"] = copy.deepcopy((c.get("resources") or {}).get("requests") or {})
            status["conditions"] = conds
            if VERSION >= 134:
                status["observedGeneration"] = gen
            body = {"apiVersion": "v1", "kind": "Pod", "metadata": pod["metadata"], "spec": pod["spec"],
                    "status": status}
            st, out = self.api.call("PUT", "/api/v1/namespaces/%s/pods/%s/status" % (NS, name), body)
            if st == 200:
                self.answered[name] = gen
            elif st != 409:  # 409: changed meanwhile (the agent's annotation); answered next tick
                raise RuntimeError("status of %s -> %d %s" % (name, st, json.dumps(out)[:400]))


HIST = "/apis/snug.io/v1alpha1/namespaces/%s/workloadhistories" % NS
CPU_FIRST, MEM_FIRST, RATIO = 0.01, 1e7, 1.05


def bucket(v, first):
    """VPA's exponential bucket of v (CPU: first 0.01 cores, memory: 1e7 bytes; ratio 1.05)."""
    return int(math.floor(math.log(v * (RATIO - 1) / first + 1) / math.log(RATIO)))


def bucket_end(b, first):
    return first * (RATIO ** (b + 1) - 1) / (RATIO - 1)


def shop_checkpoint(cores, memory):
    """A node's checkpoint of Deployment shop's app container after two days at `cores` and `memory`
    (VPA's checkpoint form: one bucket each, the largest 10000, the total weight apart)."""
    now = time.time()
    day = 86400
    iso = lambda t: time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t))  # noqa: E731
    hist = lambda b, w: {"referenceTimestamp": iso(now - now % day), "totalWeight": w,  # noqa: E731
                         "numBuckets": 176, "bucketWeights": {str(b): 10000}}
    return {"version": "v3", "identity": {"namespace": NS, "ownerKind": "Deployment", "ownerName": "shop",
                                          "container": "app"},
            "lastUpdateTime": iso(now - 60), "firstSampleStart": iso(now - 2 * day),
            "lastSampleStart": iso(now - 120), "totalSamplesCount": 2880,
            "cpuHistogram": hist(bucket(cores, CPU_FIRST), 288.0),
            "memoryHistogram": hist(bucket(memory, MEM_FIRST), 20.0)}


class Node(BaseNode):
    """One agent on its own node, with its fake cgroup tree and state directory."""

    def __init__(self, suite_dir, name, args):
        self.dir = os.path.join(suite_dir, name)
        self.kubeconfig = os.path.join(self.dir, "kubeconfig")
        super().__init__(os.path.join(self.dir, "cgroup"), name=name)
        self.tree = FakeTree(self.cgroup_root)
        self.args = FAST + list(args)
        self.pods = []
        self.token = None

    def start(self):
        """The agent, authenticated by a token bound to a pod on this node (made on first start)."""
        if self.token is None:
            admin = Client(SERVER, os.environ["SNUG_ENVTEST_CA"], os.environ["SNUG_ENVTEST_ADMIN_TOKEN"])
            self.token = agent_token(admin, self.name)
            os.makedirs(self.dir, exist_ok=True)
            token_kubeconfig(self.kubeconfig, SERVER, os.environ["SNUG_ENVTEST_CA"], self.token)
        self.run_agent(Agent(self.kubeconfig, self.tree.root, os.path.join(self.dir, "state"),
                             node=self.name, args=self.args, log_path=os.path.join(self.dir, "agent.log")))

    def stop(self):
        """The agent's exit status on SIGTERM (the earlier one when it had exited already), 0 when none ran."""
        rc = self.agent.stop() if self.agent else 0
        self.agent = None
        return rc


# Pod-level resources (spec.resources) of the pods that have them.
POD_LEVEL = {"levelled": {"requests": {"cpu": "500m", "memory": "320Mi"}, "limits": {"cpu": "1", "memory": "1Gi"}}}


class AgentEnvtest(unittest.TestCase):
    """All scenarios against one real API server; setUpClass starts the agents and feeds the signals."""

    @classmethod
    def setUpClass(cls):
        # Under run.sh's work directory, which it keeps when something failed.
        cls.dir = os.path.join(os.environ.get("SNUG_ENVTEST_WORK") or tmpdir("snug-agent-envtest-")[0],
                               "agent")
        cls.api = api = Api()
        api.call("POST", "/api/v1/namespaces", {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NS}})
        # The ServiceAccount admission looks the pod's account up even when no token is mounted, and no
        # controller-manager runs here to create it.
        api.call("POST", "/api/v1/namespaces/%s/serviceaccounts" % NS,
                 {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "default"}})
        cls.kubelet = Kubelet(api)
        cls.nodes = {n: Node(cls.dir, n, args) for n, args in (
            ("e2e-main", ["--throttle-window", "2s", "--psi-window", "2s"]),
            ("e2e-dry", ["--dry-run"]),
            ("e2e-cap", ["--max-memory", "300Mi"]),
            ("e2e-shrink", ["--min-history", "0"]),
            ("e2e-sidecar", []),
            ("e2e-hpa", ["--throttle-window", "2s"]),
            # the shared workload history: replicas of Deployment shop on three nodes
            ("e2e-hist-a", ["--history-interval", "1s"]),
            ("e2e-hist-b", ["--history-interval", "1s"]),
            ("e2e-hist-c", ["--history-interval", "1s"]),
        )}
        for n in cls.nodes:
            api.ok("POST", "/api/v1/nodes", {"apiVersion": "v1", "kind": "Node", "metadata": {"name": n}})
            res = {"cpu": "4", "memory": "8Gi", "pods": "110"}
            api.ok("PATCH", "/api/v1/nodes/%s/status" % n,
                   {"status": {"capacity": res, "allocatable": res, "conditions": [{"type": "Ready", "status": "True"}]}},
                   "application/strategic-merge-patch+json")
        G = {"requests": {"cpu": "200m", "memory": "256Mi"}, "limits": {"cpu": "200m", "memory": "256Mi"}}
        # name, node, annotations, resources, working set (MiB), memory.max written (MiB), signal
        cls.specs = [
            ("oom", "e2e-main", {"snug.io/mode": "auto"}, BURSTABLE, 200, 256, "oom"),
            ("plain", "e2e-main", {}, BURSTABLE, 200, 256, "oom"),
            ("off", "e2e-main", {"snug.io/mode": "off"}, BURSTABLE, 200, 256, "oom"),
            ("watched", "e2e-main", {"snug.io/mode": "recommend"}, BURSTABLE, 200, 256, "oom"),
            ("leaky", "e2e-main", {"snug.io/mode": "in-place"}, BURSTABLE, 0, 256, "pressure"),
            ("typo", "e2e-main", {"snug.io/mode": "sometimes", "snug.io/max-memory": "lots"}, BURSTABLE, 200, 256,
             "oom"),
            ("gpod", "e2e-main", {"snug.io/mode": "auto"}, G, 200, 256, "oom"),
            ("huge", "e2e-main", {"snug.io/mode": "in-place"}, BURSTABLE, 200, 256, "oom"),
            ("later", "e2e-main", {"snug.io/mode": "in-place"}, BURSTABLE, 200, 256, "oom"),
            ("bounded", "e2e-main", {"snug.io/mode": "auto", "snug.io/max-memory": "280Mi"}, BURSTABLE, 200, 256,
             "oom"),
            ("burner", "e2e-main", {"snug.io/mode": "in-place"},
             {"requests": {"cpu": "100m", "memory": "128Mi"}, "limits": {"cpu": "200m", "memory": "256Mi"}}, 0, 256,
             "throttle"),
            # Pod-level resources (beta in 1.36; a 1.33 server drops them): the container's OOM bump
            # is held to the pod-level request, which the API server enforces.
            ("levelled", "e2e-main", {"snug.io/mode": "in-place"}, BURSTABLE, 200, 256, "oom"),
            # Created Pending (no container yet) with a startup boost: the test starts it.
            ("booster", "e2e-main", {"snug.io/mode": "in-place", "snug.io/startup-cpu-boost": "4x"}, BURSTABLE, 0,
             256, "boost"),
            # A page-cache thrasher: usage at the limit, 200 MiB of it inactive file cache.
            ("thrash", "e2e-main", {"snug.io/mode": "in-place"}, BURSTABLE, 250, 256, "stall"),
            ("dry", "e2e-dry", {"snug.io/mode": "auto"}, BURSTABLE, 200, 256, "oom"),
            ("capped", "e2e-cap", {"snug.io/mode": "auto"}, BURSTABLE, 200, 256, "oom"),
            ("idle", "e2e-shrink", {"snug.io/mode": "auto"},
             {"requests": {"cpu": "100m", "memory": "1Gi"}, "limits": {"cpu": "500m", "memory": "2Gi"}}, 40, 2048,
             None),
            # an ordinary init container and a native sidecar beside app; the kill is the sidecar's
            ("mesh", "e2e-sidecar", {"snug.io/mode": "auto"}, BURSTABLE, 200, 256, "sidecar-oom"),
            # Requests equal to their limits on the resource an HPA scales on: without the HPA a grow
            # of the limit would take the request along.
            ("hpa-cpu", "e2e-hpa", {"snug.io/mode": "in-place"},
             {"requests": {"cpu": "200m", "memory": "128Mi"}, "limits": {"cpu": "200m", "memory": "256Mi"}}, 0, 256,
             "throttle"),
            ("hpa-mem", "e2e-hpa", {"snug.io/mode": "in-place"},
             {"requests": {"cpu": "100m", "memory": "256Mi"}, "limits": {"cpu": "500m", "memory": "256Mi"}}, 200, 256,
             "oom"),
            # Replicas of Deployment shop on two nodes, each with two days of its own history (a
            # checkpoint): 0.5 cores and 300 MiB on one, 1.5 cores and 900 MiB on the other.
            ("shop-a", "e2e-hist-a", {"snug.io/mode": "recommend"}, BURSTABLE, 300, 2048, None),
            ("shop-b", "e2e-hist-b", {"snug.io/mode": "recommend"}, BURSTABLE, 900, 2048, None),
        ]
        # hpa-cpu belongs to Deployment web (its ReplicaSet web-<pod-template-hash>), scaled on CPU
        # utilization; hpa-mem to StatefulSet db, scaled on memory utilization.
        cls.owners = {
            "hpa-cpu": ({"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "web-6b7f9c8d4f",
                         "uid": str(uuid.uuid4()), "controller": True}, {"pod-template-hash": "6b7f9c8d4f"}),
            "hpa-mem": ({"apiVersion": "apps/v1", "kind": "StatefulSet", "name": "db", "uid": str(uuid.uuid4()),
                         "controller": True}, {}),
        }
        shop = ({"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "shop-7c9d8f6b5d", "uid": str(uuid.uuid4()),
                 "controller": True}, {"pod-template-hash": "7c9d8f6b5d"})
        for name in ("shop-a", "shop-b", "shop-c"):
            cls.owners[name] = shop
        # The CRD run.sh applied is served once established.
        if not wait_for(lambda: api.call("GET", HIST)[0] == 200, timeout=30):
            raise RuntimeError("workloadhistories not served: %s" % (api.call("GET", HIST),))
        for node, cores, mem in (("e2e-hist-a", 0.5, 300 * MiB), ("e2e-hist-b", 1.5, 900 * MiB)):
            state = os.path.join(cls.nodes[node].dir, "state")
            os.makedirs(state, exist_ok=True)
            with open(os.path.join(state, "%s_Deployment_shop_app.json" % NS), "w") as f:
                json.dump(shop_checkpoint(cores, mem), f)
        for name, kind, target, resource in (("web", "Deployment", "web", "cpu"),
                                             ("db", "StatefulSet", "db", "memory")):
            api.ok("POST", "/apis/autoscaling/v2/namespaces/%s/horizontalpodautoscalers" % NS, {
                "apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler", "metadata": {"name": name},
                "spec": {"scaleTargetRef": {"apiVersion": "apps/v1", "kind": kind, "name": target},
                         "maxReplicas": 5, "metrics": [{"type": "Resource", "resource": {
                             "name": resource, "target": {"type": "Utilization", "averageUtilization": 60}}}]}})
        cls.kubelet.verdicts["huge"] = ("Infeasible", "Node didn't have enough capacity: memory, requested: "
                                        "9663676416, capacity: 8589934592")
        cls.kubelet.verdicts["later"] = ("Deferred", "Node didn't have enough resource: memory, requested: "
                                         "402653184, used: 8321499136, capacity: 8589934592")
        for name, node, ann, res, ws, mmax, sig in cls.specs:
            n = cls.nodes[node]
            if sig == "boost":
                cls.make_pod(name, node, ann, res, start=False)
                continue
            pod = cls.make_pod(name, node, ann, res, POD_LEVEL.get(name), sidecar=sig == "sidecar-oom")
            n.tree.add_pod(pod)
            n.pods.append(name)
            c = n.tree.container(name)
            c.write("memory.max", "%d\n" % (mmax * MiB))
            n.tree.pod(name).write("memory.max", "%d\n" % (mmax * MiB))
            if ws:
                c.memory = ws * MiB
                c.inactive_file = 200 * MiB if sig == "stall" else 0
                c.write_memory()
            if sig == "sidecar-oom":
                # the sidecar at its 256Mi limit with 200Mi in use; the pod at the kubelet's value,
                # max(app + proxy, setup) = 512Mi
                for cname in ("proxy", "setup"):
                    sc = n.tree.container(name, cname)
                    sc.write("memory.max", "%d\n" % (mmax * MiB))
                    sc.memory = ws * MiB
                    sc.write_memory()
                n.tree.pod(name).write("memory.max", "%d\n" % (2 * mmax * MiB))
            if sig == "throttle":
                # its 200m limit, and the pod's (the kubelet's sum for a one-container pod): a pod
                # cgroup left at "max" would tell the agent the kubelet keeps no quota here
                c.write("cpu.max", "20000 100000\n")
                n.tree.pod(name).write("cpu.max", "20000 100000\n")
        cls.writes = {}
        for n in cls.nodes.values():
            for name in n.pods:
                cls.writes[name] = LimitWrites([n.tree.pod(name).path, n.tree.container(name).path])
        cls.kubelet.start()
        try:
            for n in cls.nodes.values():
                n.start()
            for n in cls.nodes.values():
                managed = len([s for s in cls.specs if s[1] == n.name and s[2].get("snug.io/mode") not in
                               (None, "off", "sometimes") and s[6] != "boost"])
                n.wait_tracked(managed, timeout=15, interval=0.1)
            time.sleep(0.6)  # a sample of each working set before the kills
            for name, node, _, _, _, _, signal in cls.specs:
                if signal == "boost":
                    continue  # no container yet
                c = cls.nodes[node].tree.container(name)
                if signal == "oom":
                    c.oom_kill()
                elif signal == "sidecar-oom":
                    cls.nodes[node].tree.container(name, "setup").oom_kill()  # ignored: not tracked
                    cls.nodes[node].tree.container(name, "proxy").oom_kill()
                elif signal == "pressure":
                    c.memory = 250 * MiB  # 97% of the limit, no kill yet
                    c.write_memory()
                elif signal == "throttle":
                    cls.burn = threading.Thread(target=cls.burn_until_raised, args=(c,), daemon=True)
                    cls.burn.start()
                elif signal == "stall":
                    cls.stall = threading.Thread(target=cls.stall_until_raised, args=(c,), daemon=True)
                    cls.stall.start()
        except Exception:
            cls.tearDownClass()
            raise

    @classmethod
    def burn_until_raised(cls, c):
        """A CPU burner held at its 200m limit, 80% of its periods throttled, until the agent raises
        its cpu.max (then it stops, so the restart test sees no reason for another resize)."""
        while not cls.kubelet.stop.is_set() and c.read("cpu.max").split()[0] == "20000":
            c.run(0.2, 0.2, throttled_fraction=0.8)
            time.sleep(0.2)

    @classmethod
    def stall_until_raised(cls, c):
        """memory.pressure as the kernel counts a thrasher's refaults: 40 % of the wall time stalled,
        until the agent raises its memory.max."""
        total = 0
        while not cls.kubelet.stop.is_set() and c.read("memory.max").strip() == str(256 * MiB):
            total += 80000
            c.write("memory.pressure", "some avg10=40.00 avg60=0.00 avg300=0.00 total=%d\n"
                    "full avg10=40.00 avg60=0.00 avg300=0.00 total=%d\n" % (total, total))
            time.sleep(0.2)

    @classmethod
    def tearDownClass(cls):
        cls.kubelet.stop.set()
        failed = False
        for n in cls.nodes.values():
            if n.stop() not in (0, None):
                failed = True
        for w in cls.writes.values():
            w.close()
        if cls.kubelet.errors:
            print("kubelet errors: %s" % cls.kubelet.errors[-3:])
        if failed:
            raise AssertionError("an agent did not exit cleanly on SIGTERM; logs in %s" % cls.dir)

    @classmethod
    def make_pod(cls, name, node, annotations, resources, pod_resources=None, start=True, sidecar=False):
        """Created by the admin bound to the node, then (start) started through the status subresource
        as the kubelet would report it (1.33+: allocatedResources beside the actual resources). With
        sidecar, init containers `setup` (ordinary, finished) and `proxy` (restartPolicy Always,
        running) too, with the same resources."""
        owner, labels = getattr(cls, "owners", {}).get(name, (None, {}))
        manifest = {"apiVersion": "v1", "kind": "Pod",
                    "metadata": {"name": name, "namespace": NS, "labels": dict({"app": name}, **labels),
                                 "annotations": annotations},
                    "spec": {"nodeName": node, "automountServiceAccountToken": False,
                             "containers": [{"name": "app", "image": "registry.example/app:1",
                                             "resources": copy.deepcopy(resources)}]}}
        if pod_resources:
            manifest["spec"]["resources"] = copy.deepcopy(pod_resources)
        if sidecar:
            manifest["spec"]["initContainers"] = [
                {"name": "setup", "image": "registry.example/setup:1", "resources": copy.deepcopy(resources)},
                {"name": "proxy", "image": "registry.example/proxy:1", "restartPolicy": "Always",
                 "resources": copy.deepcopy(resources)}]
        if owner:
            manifest["metadata"]["ownerReferences"] = [owner]
        pod = cls.api.ok("POST", "/api/v1/namespaces/%s/pods" % NS, manifest)
        return cls.start_pod(pod) if start else pod

    @classmethod
    def start_pod(cls, pod):
        """The kubelet's status for a pod whose container runs and is ready, with the spec's resources."""
        name, resources = pod["metadata"]["name"], pod["spec"]["containers"][0].get("resources") or {}
        sidecar = bool(pod["spec"].get("initContainers"))
        t = now_iso()
        cs = {"name": "app", "ready": True, "started": True, "restartCount": 0, "image": "registry.example/app:1",
              "imageID": "registry.example/app@sha256:" + "0" * 64,
              "containerID": "containerd://" + uuid.uuid4().hex + uuid.uuid4().hex,
              "state": {"running": {"startedAt": t}}, "resources": copy.deepcopy(resources),
              "allocatedResources": copy.deepcopy(resources["requests"])}
        status = {"phase": "Running", "hostIP": "192.0.2.10", "podIP": "198.51.100.7", "startTime": t,
                  "conditions": [{"type": x, "status": "True", "lastTransitionTime": t}
                                 for x in ("Ready", "ContainersReady", "PodScheduled")],
                  "containerStatuses": [cs]}
        if sidecar:
            inits = []
            for cname, running in (("setup", False), ("proxy", True)):
                ics = dict(copy.deepcopy(cs), name=cname, containerID="containerd://" + uuid.uuid4().hex * 2)
                if not running:
                    ics["state"] = {"terminated": {"exitCode": 0, "reason": "Completed", "startedAt": t,
                                                   "finishedAt": t}}
                    ics["ready"] = False
                    ics.pop("started")
                inits.append(ics)
            status["initContainerStatuses"] = inits
        if VERSION >= 134:
            status["observedGeneration"] = pod["metadata"].get("generation", 1)
        return cls.api.ok("PATCH", "/api/v1/namespaces/%s/pods/%s/status" % (NS, name), {"status": status},
                          "application/strategic-merge-patch+json")

    # ---- helpers -----------------------------------------------------------------------------

    def node_of(self, pod):
        return [self.nodes[s[1]] for s in self.specs if s[0] == pod][0]

    def log(self, pod):
        n = self.node_of(pod)
        return n.agent.log() if n.agent else ""

    def wait_resized(self, name):
        """The pod once the API server holds the agent's resize and the kubelet's answer to it."""
        pod = wait_for(lambda: (lambda p: p if p["metadata"].get("generation", 1) >= 2 and
                                self.kubelet.answered.get(name) == p["metadata"]["generation"] else None)(
            self.api.pod(name)), timeout=20)
        self.assertTrue(pod, "no resize of %s accepted by the API server:\n%s" % (name, self.log(name)))
        return self.api.pod(name)

    def assert_untouched(self, name):
        pod = self.api.pod(name)
        spec = [s for s in self.specs if s[0] == name][0]
        self.assertEqual(pod["metadata"].get("generation", 1), 1, "%s was resized:\n%s" % (name, self.log(name)))
        self.assertEqual(app(pod), spec[3])
        self.assertNotIn("snug.io/last-resize", pod["metadata"].get("annotations", {}))
        c = self.node_of(name).tree.container(name)
        self.assertEqual(c.read("memory.max").strip(), str(spec[5] * MiB))

    def metric(self, name, metric, **labels):
        return self.node_of(name).agent.metric(metric, **labels) or 0

    def order(self, name):
        """The limit files written under the pod's and its container's cgroup, in order."""
        n = self.node_of(name)
        pdir = n.tree.pod(name).path
        return [("pod" if d == pdir else "container", f) for d, f in self.writes[name].writes()]

    # ---- scenarios ---------------------------------------------------------------------------

    def test_oom_kill_resized_in_place_and_cgroups_written_pod_first(self):
        pod = self.wait_resized("oom")
        res = app(pod)
        limit = quantity_bytes(res["limits"]["memory"])
        # VPA's OOM bump: at least +100 MiB over the 200 MiB peak, the request in ratio; CPU untouched.
        self.assertGreaterEqual(limit, 300 * MiB, "%s\n%s" % (res, self.log("oom")))
        self.assertEqual((res["requests"]["cpu"], res["limits"]["cpu"]), ("100m", "500m"))
        self.assertEqual(pod["status"]["qosClass"], "Burstable")
        c = self.node_of("oom").tree.container("oom")
        p = self.node_of("oom").tree.pod("oom")
        self.assertTrue(wait_for(lambda: c.read("memory.max").strip() == str(limit)),
                        "container memory.max not written: %s" % c.read("memory.max"))
        self.assertEqual(p.read("memory.max").strip(), str(limit))
        mem = [w for w in self.order("oom") if w[1] == "memory.max"]
        self.assertEqual(mem[:2], [("pod", "memory.max"), ("container", "memory.max")],
                         "growing must write the pod cgroup first: %s" % mem)
        ann = wait_for(lambda: self.api.pod("oom")["metadata"].get("annotations", {}).get("snug.io/last-resize"))
        self.assertTrue(ann, "no snug.io/last-resize annotation:\n" + self.log("oom"))
        ann = json.loads(ann)
        self.assertEqual(ann["container"], "app")
        self.assertIn("oom", ann["reason"].lower())
        ev = wait_for(lambda: self.api.events("oom", "Resized"))
        self.assertTrue(ev, "no Resized Event:\n" + self.log("oom"))
        self.assertEqual(ev[0]["involvedObject"]["uid"], pod["metadata"]["uid"])
        rec = [x for x in self.node_of("oom").agent.recommendations()["containers"] if x["pod"] == "oom"][0]
        self.assertEqual(rec["last_action"]["result"], "accepted")

    def test_opted_out_and_off_pods_are_left_alone(self):
        self.wait_resized("oom")  # the kills were seen by now
        recs = {c["pod"] for c in self.nodes["e2e-main"].agent.recommendations()["containers"]}
        self.assertNotIn("plain", recs)
        self.assertNotIn("off", recs)
        self.assertIn("oom", recs)
        self.assert_untouched("plain")
        self.assert_untouched("off")

    def test_recommend_mode_only_reports(self):
        ev = wait_for(lambda: self.api.events("watched", "Recommendation"))
        self.assertTrue(ev, "no Recommendation Event:\n" + self.log("watched"))
        self.assertIn("oom", ev[0]["message"].lower())
        self.assert_untouched("watched")

    def test_in_place_mode_grows_memory_before_the_kill(self):
        pod = self.wait_resized("leaky")
        limit = quantity_bytes(app(pod)["limits"]["memory"])
        self.assertGreater(limit, 256 * MiB)
        c = self.node_of("leaky").tree.container("leaky")
        self.assertTrue(wait_for(lambda: c.read("memory.max").strip() == str(limit)))
        self.assertEqual(c.events["oom_kill"], 0)
        ann = json.loads(pod["metadata"]["annotations"]["snug.io/last-resize"]) if "snug.io/last-resize" in \
            pod["metadata"].get("annotations", {}) else json.loads(wait_for(
                lambda: self.api.pod("leaky")["metadata"].get("annotations", {}).get("snug.io/last-resize")))
        self.assertIn("pressure", ann["reason"])

    def test_pod_level_resources_bound_the_oom_bump(self):
        # VPA's bump would take the request to 356Mi; the pod-level request is 320Mi and the API server
        # refuses container requests above it (validatePodResourceConsistency): snug asks no more, the
        # resize is accepted, and the pod-level resources stay as they are (snug does not resize them:
        # a 1.36 server refuses that unless the node declares InPlacePodLevelResourcesVerticalScaling,
        # alpha and off by default). A 1.33 server drops spec.resources: an ordinary pod there.
        pod = self.wait_resized("levelled")
        res = app(pod)
        req = quantity_bytes(res["requests"]["memory"])
        self.assertGreater(req, 128 * MiB, res)
        if VERSION >= 134:
            self.assertEqual(pod["spec"].get("resources"), POD_LEVEL["levelled"])
            self.assertLessEqual(req, 320 * MiB, "%s\n%s" % (res, self.log("levelled")))
            self.assertLessEqual(quantity_bytes(res["limits"]["memory"]), 1024 * MiB, res)
        else:
            self.assertIsNone(pod["spec"].get("resources"))

    def test_startup_boost_of_a_pending_pod_and_back_once_ready(self):
        # The real API server takes a resize of a Pending pod (the kubelet then starts it boosted);
        # once the container reports ready, the CPU goes back.
        def cpu(p):
            return app(p)["requests"].get("cpu"), app(p)["limits"].get("cpu")
        pod = wait_for(lambda: (lambda p: p if cpu(p) == ("400m", "2") else None)(self.api.pod("booster")))
        self.assertTrue(pod, "not boosted: %s\n%s" % (app(self.api.pod("booster")), self.log("booster")))
        self.assertEqual(pod["status"].get("phase"), "Pending")
        self.start_pod(pod)
        back = wait_for(lambda: (lambda p: p if cpu(p) == ("100m", "500m") else None)(self.api.pod("booster")))
        self.assertTrue(back, "not given back: %s\n%s" % (app(self.api.pod("booster")), self.log("booster")))
        ann = json.loads(wait_for(lambda: (lambda a: a if a and "over" in a else None)(
            self.api.pod("booster")["metadata"].get("annotations", {}).get("snug.io/last-resize"))))
        self.assertEqual(ann["kind"], "startup-boost-over")
        self.assertTrue(ann["reason"].startswith("startup-boost over: cpu limit 2 -> 500m"), ann)

    def test_memory_stall_raises_the_limit_of_a_page_cache_thrasher(self):
        # Working set 50 MiB of 256Mi, usage at the limit, 40 % of the time stalled on memory (PSI):
        # the stall alone raises the limit, and the real API server takes it.
        pod = self.wait_resized("thrash")
        limit = quantity_bytes(app(pod)["limits"]["memory"])
        self.assertGreater(limit, 256 * MiB)
        c = self.node_of("thrash").tree.container("thrash")
        self.assertTrue(wait_for(lambda: c.read("memory.max").strip() == str(limit)))
        ann = json.loads(wait_for(
            lambda: self.api.pod("thrash")["metadata"].get("annotations", {}).get("snug.io/last-resize")))
        self.assertTrue(ann["reason"].startswith("memory-pressure: memory stall (PSI) some"), ann)

    def test_bad_annotation_is_an_event_and_the_pod_is_left_alone(self):
        ev = wait_for(lambda: self.api.events("typo", "InvalidAnnotation"))
        self.assertTrue(ev, "no InvalidAnnotation Event:\n" + self.log("typo"))
        self.assertIn("snug.io/mode", ev[0]["message"])
        self.assertEqual(ev[0]["type"], "Warning")
        self.assertEqual(self.metric("typo", "snug_bad_annotations_total", pod="typo"), 1)
        self.wait_resized("oom")
        self.assert_untouched("typo")
        self.assertEqual(self.nodes["e2e-main"].agent.get("/healthz")[0], 200)

    def test_guaranteed_pod_stays_guaranteed(self):
        pod = self.wait_resized("gpod")
        res = app(pod)
        self.assertEqual(res["requests"]["memory"], res["limits"]["memory"])
        self.assertEqual(res["requests"]["cpu"], res["limits"]["cpu"])
        self.assertGreater(quantity_bytes(res["limits"]["memory"]), 256 * MiB)
        self.assertEqual(pod["status"]["qosClass"], "Guaranteed")

    def test_infeasible_is_reported(self):
        pod = wait_for(lambda: (lambda p: p if p["metadata"].get("generation", 1) >= 2 else None)(
            self.api.pod("huge")), timeout=20)
        self.assertTrue(pod, "no resize of huge:\n" + self.log("huge"))
        self.assertTrue(wait_for(lambda: self.metric("huge", "snug_resizes_total", result="infeasible") >= 1),
                        "Infeasible not seen:\n" + self.log("huge"))
        ev = wait_for(lambda: self.api.events("huge", "ResizeNotApplied"))
        self.assertTrue(ev, "no ResizeNotApplied Event:\n" + self.log("huge"))
        self.assertIn("enough capacity", ev[0]["message"])
        rec = [x for x in self.nodes["e2e-main"].agent.recommendations()["containers"] if x["pod"] == "huge"][0]
        self.assertEqual(rec["last_action"]["result"], "infeasible")

    def test_deferred_is_reported(self):
        self.assertTrue(wait_for(lambda: self.metric("later", "snug_resizes_total", result="deferred") >= 1,
                                 timeout=20), "Deferred not seen:\n" + self.log("later"))
        ev = wait_for(lambda: self.api.events("later", "ResizeNotApplied"))
        self.assertTrue(ev, "no ResizeNotApplied Event:\n" + self.log("later"))
        self.assertIn("deferred", ev[0]["message"])

    def test_annotation_max_bounds_the_bump(self):
        pod = self.wait_resized("bounded")
        limit = quantity_bytes(app(pod)["limits"]["memory"])
        self.assertGreater(limit, 256 * MiB)
        self.assertLessEqual(limit, 280 * MiB, self.log("bounded"))

    def test_sustained_throttling_raises_the_cpu_limit_pod_cgroup_first(self):
        pod = self.wait_resized("burner")
        res = app(pod)
        millis = int(res["limits"]["cpu"][:-1]) if res["limits"]["cpu"].endswith("m") else \
            int(float(res["limits"]["cpu"]) * 1000)
        self.assertGreater(millis, 200, self.log("burner"))
        self.assertEqual(pod["status"]["containerStatuses"][0]["resources"]["limits"]["cpu"], res["limits"]["cpu"])
        c = self.node_of("burner").tree.container("burner")
        quota = millis * 100
        self.assertTrue(wait_for(lambda: c.read("cpu.max").split()[0] == str(quota)),
                        "cpu.max not raised: %s (want %d)" % (c.read("cpu.max"), quota))
        cpu = [w for w in self.order("burner") if w[1] == "cpu.max"]
        self.assertEqual(cpu[:2], [("pod", "cpu.max"), ("container", "cpu.max")],
                         "growing must write the pod cgroup first: %s" % cpu)

    def test_dry_run_changes_nothing(self):
        self.assertTrue(wait_for(lambda: self.metric("dry", "snug_resizes_total", result="dry-run") >= 1),
                        "dry-run decision not counted:\n" + self.log("dry"))
        self.assert_untouched("dry")
        self.assertEqual(self.writes["dry"].writes(), [])

    def test_cluster_cap_limits_the_bump(self):
        pod = self.wait_resized("capped")
        limit = quantity_bytes(app(pod)["limits"]["memory"])
        self.assertGreater(limit, 256 * MiB)
        self.assertLessEqual(limit, 300 * MiB)

    def test_recommendation_shrinks_an_overprovisioned_container_container_first(self):
        pod = self.wait_resized("idle")
        res = app(pod)
        # VPA's floor is 250 MiB for a one-container pod; 40 MiB used + 15% is below it.
        self.assertEqual(quantity_bytes(res["requests"]["memory"]), 250 * MiB, self.log("idle"))
        c = self.node_of("idle").tree.container("idle")
        limit = quantity_bytes(res["limits"]["memory"])
        if VERSION < 134:
            # 1.33 refuses lowering a memory limit (resizePolicy NotRequired): the request shrinks,
            # the limit and memory.max stay, and nothing was refused.
            self.assertEqual(limit, 2048 * MiB)
            self.assertEqual(self.api.events("idle", "ResizeRejected"), [])
            self.assertEqual([w for w in self.order("idle") if w[1] == "memory.max"], [])
            self.assertEqual(c.read("memory.max").strip(), str(2048 * MiB))
            return
        # requests-and-limits: the limit keeps its 2:1 ratio to the request.
        self.assertEqual(limit, 500 * MiB)
        self.assertTrue(wait_for(lambda: c.read("memory.max").strip() == str(limit)),
                        "memory.max not %d: %s" % (limit, c.read("memory.max")))
        mem = [w for w in self.order("idle") if w[1] == "memory.max"]
        self.assertEqual(mem[:2], [("container", "memory.max"), ("pod", "memory.max")],
                         "shrinking must write the container cgroup first: %s" % mem)

    def test_hpa_on_cpu_utilization_keeps_the_cpu_request_and_raises_the_limit(self):
        pod = self.wait_resized("hpa-cpu")
        res = app(pod)
        millis = int(res["limits"]["cpu"][:-1]) if res["limits"]["cpu"].endswith("m") else \
            int(float(res["limits"]["cpu"]) * 1000)
        self.assertGreater(millis, 200, self.log("hpa-cpu"))
        self.assertEqual(res["requests"]["cpu"], "200m", self.log("hpa-cpu"))
        self.assertEqual(res["requests"]["memory"], "128Mi")
        self.assertEqual(pod["status"]["qosClass"], "Burstable")
        c = self.node_of("hpa-cpu").tree.container("hpa-cpu")
        self.assertTrue(wait_for(lambda: c.read("cpu.max").split()[0] == str(millis * 100)),
                        "cpu.max not raised: %s" % c.read("cpu.max"))
        ev = wait_for(lambda: self.api.events("hpa-cpu", "RequestKeptForHPA"))
        self.assertTrue(ev, "no RequestKeptForHPA Event:\n" + self.log("hpa-cpu"))
        self.assertIn("HorizontalPodAutoscaler web scales on cpu utilization", ev[0]["message"])
        self.assertEqual(len(ev), 1)
        rec = [x for x in self.nodes["e2e-hpa"].agent.recommendations()["containers"] if x["pod"] == "hpa-cpu"][0]
        self.assertEqual(rec["requests_kept_for_hpa"], {"cpu": "web"})
        ann = json.loads(wait_for(
            lambda: self.api.pod("hpa-cpu")["metadata"].get("annotations", {}).get("snug.io/last-resize")))
        self.assertIn("request kept: HorizontalPodAutoscaler web", ann["reason"])

    def test_hpa_on_memory_utilization_keeps_the_memory_request_and_raises_the_limit(self):
        pod = self.wait_resized("hpa-mem")
        res = app(pod)
        limit = quantity_bytes(res["limits"]["memory"])
        self.assertGreater(limit, 256 * MiB, self.log("hpa-mem"))
        self.assertEqual(res["requests"]["memory"], "256Mi", self.log("hpa-mem"))
        self.assertEqual((res["requests"]["cpu"], res["limits"]["cpu"]), ("100m", "500m"))
        c = self.node_of("hpa-mem").tree.container("hpa-mem")
        self.assertTrue(wait_for(lambda: c.read("memory.max").strip() == str(limit)))
        ev = wait_for(lambda: self.api.events("hpa-mem", "RequestKeptForHPA"))
        self.assertTrue(ev, "no RequestKeptForHPA Event:\n" + self.log("hpa-mem"))
        self.assertIn("HorizontalPodAutoscaler db scales on memory utilization", ev[0]["message"])
        rec = [x for x in self.nodes["e2e-hpa"].agent.recommendations()["containers"] if x["pod"] == "hpa-mem"][0]
        self.assertEqual(rec["requests_kept_for_hpa"], {"memory": "db"})
        # The namespace's HPAs were listed (once: --hpa-refresh is 5 minutes), with deploy/rbac.yaml's rights.
        self.assertEqual(self.metric("hpa-mem", "snug_api_requests_total", verb="list-hpa", code="200"), 1)

    def test_deploy_rbac_is_all_the_agent_needs(self):
        """Every call the agents made was allowed to the snug-agent identity (deploy/rbac.yaml), each
        confined to its own node (deploy/policy.yaml): a denial by either would be a 403."""
        for n in self.nodes.values():
            user = Client(SERVER, os.environ["SNUG_ENVTEST_CA"], n.token).whoami()
            self.assertEqual(user["extra"].get(NODE_NAME_EXTRA), [n.name], user)
        for name in ("oom", "idle", "capped"):
            self.wait_resized(name)
        self.assertTrue(wait_for(lambda: self.api.events("oom", "Resized")))
        main = self.nodes["e2e-main"].agent
        for verb in ("list", "resize", "annotate", "event"):
            self.assertGreaterEqual(self.metric("oom", "snug_api_requests_total", verb=verb), 1, verb)
        for n in self.nodes.values():
            for code in ("401", "403"):
                self.assertEqual(n.agent.metric("snug_api_requests_total", code=code) or 0, 0,
                                 "%s got HTTP %s:\n%s" % (n.name, code, n.agent.metrics()))
        self.assertIsNotNone(main.metric("snug_api_requests_total", verb="resize", code="200"))

    def test_sidecar_resized_under_init_containers(self):
        """Issue 15: the OOM kill in the native sidecar grows it through spec.initContainers, which the
        real API server accepts; app and the ordinary init container (also killed) stay as they were."""
        pod = self.wait_resized("mesh")
        inits = {c["name"]: c["resources"] for c in pod["spec"]["initContainers"]}
        limit = quantity_bytes(inits["proxy"]["limits"]["memory"])
        self.assertGreaterEqual(limit, 300 * MiB, "%s\n%s" % (inits, self.log("mesh")))
        self.assertEqual(inits["setup"], BURSTABLE)
        self.assertEqual(app(pod), BURSTABLE)
        self.assertEqual(pod["metadata"]["generation"], 2, self.log("mesh"))
        self.assertEqual(pod["status"]["qosClass"], "Burstable")
        n = self.node_of("mesh")
        proxy = n.tree.container("mesh", "proxy")
        self.assertTrue(wait_for(lambda: proxy.read("memory.max").strip() == str(limit)),
                        "sidecar memory.max not written: %s" % proxy.read("memory.max"))
        self.assertEqual(n.tree.pod("mesh").read("memory.max").strip(), str(256 * MiB + limit))
        self.assertEqual(n.tree.container("mesh", "setup").read("memory.max").strip(), str(256 * MiB))
        ann = json.loads(wait_for(lambda: self.api.pod("mesh")["metadata"].get("annotations", {})
                                  .get("snug.io/last-resize")))
        self.assertEqual(ann["container"], "proxy")
        self.assertEqual(n.agent.metric("snug_tracked_containers"), 2)

    # ---- the shared workload history -----------------------------------------------------------

    def targets(self, pods):
        out = []
        for pod in pods:
            c = [x for x in self.node_of(pod).agent.recommendations()["containers"] if x["pod"] == pod]
            t = c and c[0].get("recommendation", {}).get("target")
            out.append(t and (t.get("cpu_cores"), t.get("memory_bytes")))
        return out

    # VPA's estimator: the P90 bucket's end as an int64 amount, plus 15% of it truncated.
    MERGED = ((lambda m: (m + int(m * 0.15)) / 1000.0)(int(bucket_end(bucket(1.5, CPU_FIRST), CPU_FIRST) * 1000)),
              (lambda b: b + int(b * 0.15))(int(bucket_end(bucket(900 * MiB, MEM_FIRST), MEM_FIRST))))

    def test_shared_history_two_nodes_converge_on_one_recommendation(self):
        """Replicas of one Deployment on two nodes, each node with its own two days of history, end on
        one recommendation: the merge of both nodes' histories (VPA's P90 of the union, + 15%)."""
        same = wait_for(lambda: (lambda t: t if t[0] and t[0] == t[1] == self.MERGED else None)(
            self.targets(["shop-a", "shop-b"])), timeout=30)
        self.assertTrue(same, "targets %s, want %s both:\n%s\n%s" % (
            self.targets(["shop-a", "shop-b"]), self.MERGED, self.log("shop-a"), self.log("shop-b")))
        entries = self.api.ok("GET", HIST)["items"]
        mine = sorted(e["spec"]["nodeName"] for e in entries if e["spec"]["workload"]["name"] == "shop")
        self.assertEqual(mine[:2], ["e2e-hist-a", "e2e-hist-b"])
        node_a = self.api.ok("GET", "/api/v1/nodes/e2e-hist-a")
        e = [x for x in entries if x["spec"]["nodeName"] == "e2e-hist-a" and x["spec"]["workload"]["name"] == "shop"][0]
        self.assertEqual(e["metadata"]["labels"]["snug.io/node"], "e2e-hist-a")
        self.assertEqual(e["metadata"]["ownerReferences"], [{"apiVersion": "v1", "kind": "Node", "name": "e2e-hist-a",
                                                             "uid": node_a["metadata"]["uid"]}])

        # bucketWeights is one field to the API server (x-kubernetes-map-type: atomic), not one per
        # bucket: managedFields, ~45 % of an entry otherwise, names no bucket.
        def weights(fields):
            for k, v in fields.items():
                if k == "f:bucketWeights":
                    yield v
                elif isinstance(v, dict):
                    yield from weights(v)

        tracked = [w for m in e["metadata"]["managedFields"] for w in weights(m.get("fieldsV1", {}))]
        self.assertTrue(tracked, "managedFields do not name bucketWeights: %s" % e["metadata"]["managedFields"])
        self.assertEqual([w for w in tracked if w], [], "managedFields track single buckets")

    def test_shared_history_third_node_replica_starts_from_it(self):
        """A replica created on a third node, which has no history of the Deployment, is resized at its
        first decision to the merged recommendation (--min-history is 1h: its own seconds would not do)."""
        self.assertTrue(wait_for(lambda: len([e for e in self.api.ok("GET", HIST)["items"]
                                              if e["spec"]["workload"]["name"] == "shop"]) >= 2, timeout=30),
                        "the two nodes' entries are not there:\n" + self.log("shop-a"))
        n = self.nodes["e2e-hist-c"]
        self.assertFalse([f for f in os.listdir(os.path.join(n.dir, "state")) if "shop" in f],
                         "node c has a history of shop of its own")
        pod = self.make_pod("shop-c", "e2e-hist-c", {"snug.io/mode": "auto"},
                            {"requests": {"cpu": "100m", "memory": "128Mi"}, "limits": {"cpu": "200m", "memory": "256Mi"}})
        n.tree.add_pod(pod)
        c = n.tree.container("shop-c")
        c.write("memory.max", "%d\n" % (256 * MiB))
        c.memory = 100 * MiB
        c.write_memory()
        self.specs.append(("shop-c", "e2e-hist-c", {}, None, 100, 256, None))
        pod = self.wait_resized("shop-c")
        req = app(pod)["requests"]
        self.assertAlmostEqual(quantity(req["cpu"]), self.MERGED[0], delta=0.001, msg=n.agent.log())
        self.assertAlmostEqual(quantity_bytes(req["memory"]), self.MERGED[1], delta=self.MERGED[1] * 0.001)

    def test_zz_restart_does_not_resize_again(self):
        """Last: the main node's agent restarts from its checkpoints and resizes nothing again."""
        for name in ("oom", "leaky", "gpod", "bounded", "burner"):
            self.wait_resized(name)
        n = self.nodes["e2e-main"]
        gens = {p: self.api.pod(p)["metadata"].get("generation", 1) for p in n.pods}
        # One signal, one resize each: the kubelet's status answer did not cause another.
        self.assertEqual([gens[p] for p in ("oom", "leaky", "gpod", "bounded", "burner")], [2] * 5, n.agent.log())
        self.assertEqual(n.stop(), 0, "agent did not exit cleanly on SIGTERM")
        files = [f for f in os.listdir(os.path.join(n.dir, "state")) if f.endswith(".json")]
        self.assertIn("%s_Pod_oom_app.json" % NS, files, "no checkpoint saved at shutdown")
        n.start()
        self.assertTrue(wait_for(lambda: (n.agent.metric("snug_tracked_containers") or 0) >= 8))
        time.sleep(2.5)  # several decide rounds
        # The whole log: the restart's first line is more than the default tail ago.
        self.assertIn("Loaded %d checkpoints" % len(files), n.agent.log(tail=1 << 22))
        self.assertEqual({p: self.api.pod(p)["metadata"].get("generation", 1) for p in n.pods}, gens,
                         "resized again after the restart:\n" + n.agent.log())


if __name__ == "__main__":
    if not SERVER:
        print("*** SKIPPED: agent envtest: run through tests/envtest/run.sh (no SNUG_ENVTEST_SERVER) ***")
        sys.exit(0)
    main("agent-envtest")
