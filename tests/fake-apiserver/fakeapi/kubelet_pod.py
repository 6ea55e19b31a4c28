"""The kubelet simulator's settings and how it reads a pod: resizable containers, their requirements and
statuses, the QoS class, the resource summary of its resize Events."""

import json

import kubelet_rules as kr

from .pod_rules import pod_qos, resource_lists_equal

RESIZE_CONDITIONS = ("PodResizePending", "PodResizeInProgress")
KUBELET_CHOICES = {
    "mode": ("apply", "deferred", "infeasible", "error", "off"),
    "cgroup_driver": ("systemd", "cgroupfs"),
    "runtime_weight": ("old", "new"),
    "cpu_manager_policy": ("none", "static"),
    "cpu_cfs_quota": (True, False),
    "runtime_systemd_quota_roundup": (True, False),
    "pod_level_resources": (None, True, False),
}
DEFAULT_DEFERRED_MESSAGE = "Node didn't have enough resource: memory"
DEFAULT_INFEASIBLE_MESSAGE = "Node didn't have enough capacity: cpu, requested: 8000, capacity: 4000"
DEFAULT_ERROR_MESSAGE = "failed to update container resources"
NEW_CGROUP_FILES = (("cpu.max", "max 100000"), ("cpu.weight", "100"), ("memory.max", "max"))


def resizable_containers(pod):
    """The containers the kubelet resizes in place (allocation.IsResizableContainer): native sidecars
    and app containers, in the order computePodActions visits them."""
    spec = pod.get("spec") or {}
    return [c for c in spec.get("initContainers") or [] if kr.is_sidecar(c)] + list(spec.get("containers") or [])


def requirements(c):
    """A container's ResourceRequirements (requests and limits only) as stored JSON."""
    res = (c or {}).get("resources") or {}
    return {k: dict(res[k]) for k in ("requests", "limits") if isinstance(res.get(k), dict) and res[k]}


def requirements_equal(a, b):
    """apiequality.Semantic.DeepEqual on two ResourceRequirements (quantities compared by value)."""
    return all(resource_lists_equal((a or {}).get(k) or {}, (b or {}).get(k) or {}) for k in ("requests", "limits"))


def container_statuses(pod):
    """Name -> status of the pod's init (sidecar) and app containers."""
    st = pod.get("status") or {}
    out = {}
    for key in ("initContainerStatuses", "containerStatuses"):
        for cs in st.get(key) or []:
            out[cs.get("name")] = cs
    return out


def is_running(cs):
    return "running" in ((cs or {}).get("state") or {})


def resource_summary(pod, generation, error=""):
    """events.makeResourceSummaryFromSpec: the JSON the kubelet puts into its resize Events."""

    def alloc(c):
        res = {}
        for k in ("limits", "requests"):
            rl = ((c.get("resources") or {}).get(k)) or {}
            if rl:
                res[k] = {n: rl[n] for n in sorted(rl)}
        return {"name": c.get("name"), "resources": res}

    spec = pod.get("spec") or {}
    out = {}
    if spec.get("initContainers"):
        out["initContainers"] = [alloc(c) for c in spec["initContainers"]]
    if spec.get("containers"):
        out["containers"] = [alloc(c) for c in spec["containers"]]
    out["generation"] = generation
    if error:
        out["error"] = error
    return json.dumps(out, separators=(",", ":"))


def qos_class(pod):
    """v1qos.GetPodQOS: the status's class when set, else computed."""
    return (pod.get("status") or {}).get("qosClass") or pod_qos(pod)
