"""The kubelet simulator's status writes (resources, allocatedResources, resize conditions) and Events. A
mixin of the Kubelet."""

import time

import kubelet_rules as kr
from quantity import bytes_quantity, milli_quantity, milli_value

from .common import dcopy, now_iso
from .errors import ApiError
from .kinds import RES_EVENT, RES_POD
from .kubelet_pod import RESIZE_CONDITIONS, is_running, requirements, resizable_containers
from .pod_rules import resource_list_of


class KubeletStatusMixin:
    """Uses self.fake, the per-pod state st and the Kubelet's allocated_pod."""

    # ---- status resources (convertContainerStatusResources)
    def status_resources(self, apod, st, c, cs, old_cs):
        """kubelet_pods.go convertContainerStatusResources: the allocated resources, with the CPU
        limit, CPU request and memory limit as the runtime reports them (containerd answers from
        the resources it stored, not from the cgroup files) and the memory request from the
        actuated checkpoint; a value the runtime does not report keeps the previous status value."""
        alloc = requirements(c)
        if not is_running(cs):
            return alloc
        name = c["name"]
        spec = st["runtime"].get(name) or {}
        actuated = st["actuated"].get(name) or {}
        report = {}
        if (spec.get("period") or 0) > 0:
            m = kr.quota_to_milli_cpu(spec.get("quota") or 0, spec["period"])
            if m > 0:
                report["cpu_limit"] = m
        if (spec.get("shares") or 0) > 0:
            m = kr.shares_to_milli_cpu(spec["shares"])
            if m > 0:
                report["cpu_request"] = m
        if (spec.get("memory") or 0) > 0:
            report["memory_limit"] = spec["memory"]
        old = ((old_cs or {}).get("resources")) or {}
        same = old_cs is not None and is_running(old_cs) and old_cs.get("containerID") == cs.get("containerID")

        def preserve(which, rname, target):
            if same and rname in (old.get(which) or {}):
                target[rname] = old[which][rname]

        res = dcopy(alloc)
        if "limits" in res:
            lim = res["limits"]
            if "cpu_limit" in report:
                if report["cpu_limit"] > kr.MIN_MILLI_CPU_LIMIT or milli_value(lim.get("cpu")) > kr.MIN_MILLI_CPU_LIMIT:
                    lim["cpu"] = milli_quantity(report["cpu_limit"])
            else:
                preserve("limits", "cpu", lim)
            if "memory_limit" in report:
                lim["memory"] = bytes_quantity(report["memory_limit"])
            else:
                preserve("limits", "memory", lim)
        if "requests" in res:
            req = res["requests"]
            if "cpu_request" in report:
                if report["cpu_request"] > kr.MIN_SHARES or milli_value(req.get("cpu")) > kr.MIN_SHARES:
                    req["cpu"] = milli_quantity(report["cpu_request"])
            else:
                preserve("requests", "cpu", req)
            if self.fake.minor <= 33:
                if "memory" in req and name in st["actuated"]:
                    req["memory"] = bytes_quantity(actuated.get("memory_request", 0))
            elif actuated.get("memory_request"):
                req["memory"] = bytes_quantity(actuated["memory_request"])
            else:
                preserve("requests", "memory", req)
        return res

    # ---- status and Events
    def publish(self, pod, st, resources=False):
        """The kubelet's status write: allocatedResources, the resize conditions (status.resize before
        1.33) and, after an actuation, the containers' resources."""
        fake = self.fake
        minor = fake.minor
        apod = self.allocated_pod(pod, st)
        specs = {c["name"]: c for c in list(apod["spec"].get("initContainers") or []) + list(apod["spec"].get("containers") or [])}
        resizable = {c["name"] for c in resizable_containers(apod)}

        def fn(s):
            if minor >= 33:
                conds = [c for c in s.get("conditions") or [] if c.get("type") not in RESIZE_CONDITIONS]
                for typ, info in (("PodResizePending", st["pending"]), ("PodResizeInProgress", st["in_progress"])):
                    if info is None:
                        continue
                    c = {"type": typ}
                    if minor >= 34:
                        c["observedGeneration"] = info["gen"]
                    c.update({"status": "True", "lastProbeTime": info["probe"], "lastTransitionTime": info["since"]})
                    if info["reason"]:
                        c["reason"] = info["reason"]
                    if info["message"]:
                        c["message"] = info["message"]
                    conds.append(c)
                s["conditions"] = conds
            else:
                s.pop("resize", None)
                if st["pending"] is not None:
                    s["resize"] = st["pending"]["reason"]
                elif st["in_progress"] is not None:
                    s["resize"] = "InProgress"
            for key in ("initContainerStatuses", "containerStatuses"):
                for cs in s.get(key) or []:
                    name = cs.get("name")
                    if name not in resizable:
                        continue
                    if minor >= 33:
                        req = resource_list_of(specs[name], "requests")
                        if req:
                            cs["allocatedResources"] = dict(req)
                    if resources and cs.get("resources") is not None:
                        cs["resources"] = self.status_resources(apod, st, specs[name], cs, dcopy(cs))

        self.update_status(pod, fn)

    def update_status(self, pod, fn):
        fake = self.fake
        with fake.lock:
            cur = fake.store.get(RES_POD.key, pod["metadata"]["namespace"], pod["metadata"]["name"])
            if not cur or cur["metadata"]["uid"] != pod["metadata"]["uid"]:
                return
            cur = dcopy(cur)
            st = cur.setdefault("status", {})
            before = dcopy(st)
            fn(st)
            if fake.minor >= 34:
                # PodObservedGenerationTracking (beta in 1.34): the generation the kubelet acted on
                st["observedGeneration"] = cur["metadata"].get("generation", 1)
            if st != before:
                fake.store.put(RES_POD.key, cur)

    def event(self, pod, etype, reason, message):
        """A kubelet Event on the pod (record.EventRecorder: source component kubelet, host = node)."""
        md = pod["metadata"]
        node = pod["spec"].get("nodeName", "")
        t = now_iso()
        ev = {
            "metadata": {"name": "%s.%x" % (md["name"], time.time_ns()), "namespace": md["namespace"]},
            "involvedObject": {"kind": "Pod", "namespace": md["namespace"], "name": md["name"], "uid": md["uid"], "apiVersion": "v1"},
            "reason": reason,
            "message": message,
            "source": {"component": "kubelet", "host": node},
            "firstTimestamp": t,
            "lastTimestamp": t,
            "count": 1,
            "type": etype,
            "reportingComponent": "kubelet",
            "reportingInstance": node,
        }
        try:
            self.fake.create(RES_EVENT, md["namespace"], ev)
        except ApiError:
            pass
