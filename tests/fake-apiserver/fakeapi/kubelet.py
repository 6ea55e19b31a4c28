"""The kubelet simulator: the kubelet's admission, allocation and actuation of in-place resizes
(pkg/kubelet/allocation, kuberuntime_manager.go) and the container runtime under it (containerd storing
the container's resources, runc writing the cgroup files); the arithmetic lives in kubelet_rules.py."""

import json
import random
import threading
import time
import traceback
import uuid

import kubelet_rules as kr
from quantity import milli_value, parse_quantity
from quantity import value as quantity_value

from .common import dcopy, now_iso
from .kinds import RES_NODE, RES_POD
from .kubelet_actuation import KubeletActuationMixin
from .kubelet_cgroups import KubeletCgroupsMixin
from .kubelet_pod import (
    DEFAULT_DEFERRED_MESSAGE, DEFAULT_INFEASIBLE_MESSAGE, container_statuses, is_running, qos_class,
    requirements, requirements_equal, resizable_containers, resource_summary,
)
from .kubelet_status import KubeletStatusMixin
from .pod_rules import container_running, resource_list_of


class Kubelet(KubeletCgroupsMixin, KubeletActuationMixin, KubeletStatusMixin, threading.Thread):
    """Plays the kubelet of every node (see README.md): starts pods, admits resizes against the node
    (Deferred / Infeasible), checkpoints the allocation, actuates it into the pod and container
    cgroups in the kubelet's order, reports the result in the pod status, and finishes graceful
    deletions. Per-pod state is what the real kubelet keeps in its allocated/actuated checkpoints.
    This module holds the loop, the per-pod state, the start of a pod and the admission of a resize;
    the cgroup files (kubelet_cgroups), the actuation (kubelet_actuation) and the status writes
    (kubelet_status) are mixins."""

    def __init__(self, fake):
        super().__init__(daemon=True)
        self.fake = fake

    def run(self):
        while not self.fake.stop_event.is_set():
            try:
                self.tick()
            except Exception:  # noqa: BLE001
                traceback.print_exc()
            time.sleep(0.05)

    # ---- settings and version rules
    def mode_for(self, pod):
        kl = self.fake.kubelet
        key = "%s/%s" % (pod["metadata"]["namespace"], pod["metadata"]["name"])
        return kl["pods"].get(key, kl["pods"].get(pod["metadata"]["name"], kl["mode"]))

    def pod_level(self):
        """PodLevelResources: alpha (off) in 1.32-1.33, beta (on) from 1.34; the setting overrides."""
        v = self.fake.kubelet.get("pod_level_resources")
        return bool(v) if v is not None else self.fake.minor >= 34

    def pod_level_resize(self):
        """InPlacePodLevelResourcesVerticalScaling: beta (on) from 1.36."""
        return self.pod_level() and self.fake.minor >= 36

    def exclusive_cpus(self, pod, c):
        """Static CPU manager: a Guaranteed pod's container with an integer CPU request gets exclusive
        CPUs (ContainerHasExclusiveCPUs), and with DisableCPUQuotaWithExclusiveCPUs (on since 1.33) no
        CFS quota."""
        if self.fake.kubelet.get("cpu_manager_policy") != "static" or qos_class(pod) != "Guaranteed":
            return False
        m = milli_value(resource_list_of(c, "requests").get("cpu"))
        return m > 0 and m % 1000 == 0

    def enforce_cpu_limits(self, pod):
        """doPodResizeAction / podContainerManagerImpl.EnsureExists: cpuCFSQuota, off for a pod with
        exclusive CPUs."""
        if not self.fake.kubelet.get("cpu_cfs_quota", True):
            return False
        spec = pod.get("spec") or {}
        return not any(self.exclusive_cpus(pod, c) for c in list(spec.get("initContainers") or []) + list(spec.get("containers") or []))

    def pod_config(self, apod):
        return kr.resource_config_for_pod(apod, qos_class(apod), self.enforce_cpu_limits(apod), kr.QUOTA_PERIOD, self.pod_level())

    def container_lcr(self, apod, c):
        return kr.linux_container_resources(apod, c, self.fake.kubelet.get("cpu_cfs_quota", True), self.exclusive_cpus(apod, c), self.pod_level())

    # ---- the loop
    def tick(self):
        fake = self.fake
        now = time.time()
        with fake.lock:
            kl = fake.kubelet
            if kl.get("mode") == "off" and not kl.get("pods"):
                return  # nothing to do for any pod: skip copying them all (benchmarks hold hundreds)
            pods = [dcopy(p) for p in fake.store.items(RES_POD.key)]
        uids = set()
        for pod in pods:
            md = pod["metadata"]
            uids.add(md["uid"])
            if kl.get("nodes") and pod["spec"].get("nodeName") not in kl["nodes"]:
                continue
            if md.get("deletionTimestamp"):
                seen = fake.kubelet_seen.setdefault(md["uid"] + "/del", now)
                if now - seen >= float(kl.get("delete_grace", 0.5)) and kl.get("mode") != "off":
                    with fake.lock:
                        cur = fake.store.get(RES_POD.key, md["namespace"], md["name"])
                        if cur and cur["metadata"]["uid"] == md["uid"]:
                            gone = fake.store.remove(RES_POD.key, md["namespace"], md["name"])
                            fake.on_pod_gone(gone)
                continue
            if not pod["spec"].get("nodeName"):
                continue
            mode = self.mode_for(pod)
            if mode == "off":
                continue
            if kl.get("auto_start") and (pod.get("status") or {}).get("phase", "Pending") == "Pending" and not (pod.get("status") or {}).get("containerStatuses"):
                self.start_pod(pod)
                continue
            if not container_running(pod):
                continue
            st = fake.kubelet_pods.get(md["uid"])
            if st is None:
                st = self.adopt(pod)
            self.sync(pod, st, mode, now)
        for uid in list(fake.kubelet_pods):
            if uid not in uids:
                fake.kubelet_pods.pop(uid, None)

    # ---- per-pod state
    def new_state(self, pod):
        md = pod["metadata"]
        st = {
            "ns": md["namespace"],
            "name": md["name"],
            "alloc": {},  # container -> ResourceRequirements JSON (the allocated checkpoint)
            "actuated": {},  # container -> containerResourcesFromRequirements numbers (the actuated checkpoint)
            "runtime": {},  # container -> containerd's stored resources {shares, quota, period, memory}
            "cgroups": {},  # None (the pod) / container -> {file: text}, when no cgroup_root is set
            "desired_sig": None,
            "next_eval": 0.0,
            "next_actuate": 0.0,
            "pending": None,  # {"reason", "message", "gen", "since", "probe", "raw"}
            "in_progress": None,
        }
        self.fake.kubelet_pods[md["uid"]] = st
        return st

    def adopt(self, pod):
        """A running pod this kubelet did not start here (created with a status): its allocation and
        actuated resources are what the status says, and its cgroups are made as at its start."""
        st = self.new_state(pod)
        css = container_statuses(pod)
        for c in resizable_containers(pod):
            cs = css.get(c.get("name")) or {}
            alloc = requirements(c)
            if cs.get("resources") is not None:
                alloc = {k: dict(v) for k, v in (cs.get("resources") or {}).items() if k in ("requests", "limits") and v}
                if cs.get("allocatedResources"):
                    alloc["requests"] = dict(cs["allocatedResources"])
            st["alloc"][c["name"]] = alloc
        apod = self.allocated_pod(pod, st)
        for c in resizable_containers(apod):
            st["actuated"][c["name"]] = kr.container_resources_from_requirements(requirements(c), (apod["spec"].get("resources") or {}), self.pod_level_resize())
        self.create_cgroups(apod, st)
        st["desired_sig"] = self.desired_sig(pod)
        return st

    def allocated_pod(self, pod, st):
        """allocation manager UpdatePodFromAllocation: the pod with the allocated resources."""
        apod = dcopy(pod)
        for c in resizable_containers(apod):
            if c.get("name") in st["alloc"]:
                c["resources"] = dcopy(st["alloc"][c["name"]])
        return apod

    def desired_sig(self, pod):
        return json.dumps({c.get("name"): requirements(c) for c in resizable_containers(pod)}, sort_keys=True)

    # ---- starting a pod
    def start_pod(self, pod):
        """Admits a new pod and starts it: init containers ran to completion, sidecars and app
        containers run, cgroups made, allocation = spec."""
        fake = self.fake
        t = now_iso()
        st_pod = pod.setdefault("status", {})
        st_pod.update({"phase": "Running", "hostIP": "192.0.2.10", "podIP": "198.51.100.%d" % random.randint(2, 250), "startTime": t})
        st_pod["podIPs"] = [{"ip": st_pod["podIP"]}]
        st_pod["conditions"] = [
            {"type": c, "status": "True", "lastProbeTime": None, "lastTransitionTime": t} for c in ("Initialized", "Ready", "ContainersReady", "PodScheduled")
        ]

        def status_of(c, running):
            cs = {
                "name": c["name"],
                "state": {"running": {"startedAt": t}} if running else {"terminated": {"exitCode": 0, "reason": "Completed", "startedAt": t, "finishedAt": t, "containerID": ""}},
                "lastState": {},
                "ready": True,
                "restartCount": 0,
                "image": c.get("image", ""),
                "imageID": c.get("image", "") + "@sha256:" + "0" * 64,
                "containerID": "containerd://" + uuid.uuid4().hex + uuid.uuid4().hex,
                "started": running,
            }
            if not running:
                cs["state"]["terminated"]["containerID"] = cs["containerID"]
                cs.pop("started")
            return cs

        inits = [status_of(c, kr.is_sidecar(c)) for c in pod["spec"].get("initContainers") or []]
        st_pod["containerStatuses"] = [status_of(c, True) for c in pod["spec"]["containers"]]
        if inits:
            st_pod["initContainerStatuses"] = inits
        st = self.new_state(pod)
        for c in resizable_containers(pod):
            st["alloc"][c["name"]] = requirements(c)
            st["actuated"][c["name"]] = kr.container_resources_from_requirements(requirements(c), (pod["spec"].get("resources") or {}), self.pod_level_resize())
        st["desired_sig"] = self.desired_sig(pod)
        self.create_cgroups(pod, st)
        for key in ("initContainerStatuses", "containerStatuses"):
            specs = {c["name"]: c for c in (pod["spec"].get("initContainers") if key == "initContainerStatuses" else pod["spec"]["containers"]) or []}
            for cs in st_pod.get(key) or []:
                c = specs[cs["name"]]
                cs["resources"] = self.status_resources(pod, st, c, cs, None)
                if fake.minor >= 33 and resource_list_of(c, "requests"):
                    cs["allocatedResources"] = dict(resource_list_of(c, "requests"))
        with fake.lock:
            cur = fake.store.get(RES_POD.key, pod["metadata"]["namespace"], pod["metadata"]["name"])
            if cur and cur["metadata"]["uid"] == pod["metadata"]["uid"]:
                cur = dcopy(cur)
                cur["status"] = dict(st_pod, qosClass=cur["status"].get("qosClass"))
                if fake.minor >= 34:
                    cur["status"]["observedGeneration"] = cur["metadata"].get("generation", 1)
                fake.store.put(RES_POD.key, cur)

    # ---- one sync of a running pod
    def sync(self, pod, st, mode, now):
        kl = self.fake.kubelet
        delay = float(kl.get("delay", 0.2))
        gen = pod["metadata"].get("generation", 0)
        sig = self.desired_sig(pod)
        if sig != st["desired_sig"]:
            st["desired_sig"] = sig
            st["next_eval"] = now + delay
        desired = {c["name"]: requirements(c) for c in resizable_containers(pod)}
        changed = any(not requirements_equal(desired[n], st["alloc"].get(n)) for n in desired)
        if changed and now >= st["next_eval"]:
            st["next_eval"] = now + delay
            self.handle_resize(pod, st, mode, desired, gen)
        elif not changed and st["pending"] is not None:
            st["pending"] = None  # ClearPodResizePendingCondition: the spec went back to the allocation
            self.publish(pod, st)
        if self.resize_in_progress(pod, st):
            if now >= st["next_actuate"]:
                st["next_actuate"] = now + delay
                self.actuate(pod, st, mode)
        elif st["in_progress"] is not None:
            self.complete(pod, st)

    def resize_in_progress(self, pod, st):
        """IsPodResizeInProgress / isPodResizeInProgress: a running resizable container whose
        actuated resources differ from its allocation."""
        apod = self.allocated_pod(pod, st)
        css = container_statuses(pod)
        for c in resizable_containers(apod):
            if not is_running(css.get(c["name"])):
                continue
            want = kr.container_resources_from_requirements(requirements(c), (apod["spec"].get("resources") or {}), self.pod_level_resize())
            if want != st["actuated"].get(c["name"]):
                return True
        return False

    # ---- admission (handlePodResourcesResize)
    def handle_resize(self, pod, st, mode, desired, gen):
        verdict = self.admit(pod, st, mode)
        t = now_iso()
        if verdict is None:
            # SetAllocatedResources; clear PodResizePending; PodResizeInProgress (generation of this resize)
            st["alloc"] = {n: dcopy(r) for n, r in desired.items()}
            st["pending"] = None
            st["in_progress"] = {"reason": "", "message": "", "gen": gen, "since": t, "probe": t}
            st["next_actuate"] = time.time() + float(self.fake.kubelet.get("delay", 0.2))
            self.publish(pod, st)
            if self.fake.minor >= 35:
                self.event(pod, "Normal", "ResizeStarted", "Pod resize started: " + resource_summary(self.allocated_pod(pod, st), gen))
            return
        reason, raw, message = verdict
        old = st["pending"]
        if old is not None and old["reason"] == reason and old["message"] == message and old["gen"] == gen:
            return
        st["pending"] = {"reason": reason, "message": message, "gen": gen, "probe": t,
                         "since": old["since"] if old is not None and old["reason"] == reason else t}
        self.publish(pod, st)
        if self.fake.minor >= 35 and (old is None or old["reason"] != reason or old["gen"] != gen):
            self.event(pod, "Warning", "ResizeInfeasible" if reason == "Infeasible" else "ResizeDeferred",
                       "Pod resize %s: %s" % (raw, resource_summary(pod, gen, message)))

    def admit(self, pod, st, mode):
        """canResizePod (1.33-1.35, kubelet.go / allocation manager) or canAdmitPod with the resize
        and predicate admit handlers (1.36): None if the resize fits, else (PodResizePending reason,
        the admit reason, message)."""
        kl = self.fake.kubelet
        minor = self.fake.minor
        if mode == "deferred":
            return ("Deferred", "Deferred", kl.get("infeasible_message") or DEFAULT_DEFERRED_MESSAGE)
        if mode == "infeasible":
            return ("Infeasible", "Infeasible", kl.get("infeasible_message") or DEFAULT_INFEASIBLE_MESSAGE)
        if kl.get("cpu_manager_policy") == "static" and qos_class(pod) == "Guaranteed":
            if minor <= 35:
                msg = "Resize is infeasible for Guaranteed Pods alongside CPU Manager static policy"
                return ("Infeasible", "Infeasible", msg)
            cpu_change = any(
                parse_quantity(resource_list_of(c, "requests").get("cpu", "0")) != parse_quantity(((st["alloc"].get(c["name"]) or {}).get("requests") or {}).get("cpu", "0"))
                for c in resizable_containers(pod))
            if cpu_change:
                return ("Infeasible", "Infeasible", 'Resize is infeasible for Guaranteed Pods alongside CPU Manager policy "static"')
        with self.fake.lock:
            node = self.fake.store.get(RES_NODE.key, "", pod["spec"].get("nodeName"))
            if node is None:
                return None
            others = [dcopy(p) for p in self.fake.store.items(RES_POD.key)
                      if p["spec"].get("nodeName") == pod["spec"].get("nodeName")
                      and p["metadata"]["uid"] != pod["metadata"]["uid"]
                      and (p.get("status") or {}).get("phase") not in ("Succeeded", "Failed")]
        nst = node.get("status") or {}
        alloc = nst.get("allocatable") or nst.get("capacity") or {}
        alloc_cpu = milli_value(alloc["cpu"]) if "cpu" in alloc else None
        alloc_mem = quantity_value(alloc["memory"]) if "memory" in alloc else None
        alloc_pods = int(parse_quantity(alloc["pods"])) if "pods" in alloc else None
        if minor <= 35:
            cpu = kr.resource_request_1_33(pod, "cpu")
            mem = kr.resource_request_1_33(pod, "memory")
            if (alloc_cpu is not None and cpu > alloc_cpu) or (alloc_mem is not None and mem > alloc_mem):
                if alloc_mem is not None and mem > alloc_mem:
                    msg = "memory, requested: %d, capacity: %d" % (mem, alloc_mem)
                else:
                    msg = "cpu, requested: %d, capacity: %d" % (cpu, alloc_cpu)
                return ("Infeasible", "Infeasible", "Node didn't have enough capacity: " + msg)
        used_cpu = used_mem = 0
        for p in others:
            ost = self.fake.kubelet_pods.get(p["metadata"]["uid"])
            if ost is not None:
                p = self.allocated_pod(p, ost)
            c, m = kr.node_requested(p, self.pod_level())
            used_cpu += c
            used_mem += m
        pcpu, pmem = kr.pod_request_for_fit(pod, self.pod_level())
        failure = kr.fits_request(pcpu, pmem, used_cpu, used_mem, alloc_cpu, alloc_mem, len(others), alloc_pods)
        if failure is None:
            return None
        return ("Deferred", "Deferred" if minor <= 35 else failure[4], kr.insufficient_resource_message(failure))
