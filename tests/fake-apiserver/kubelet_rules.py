"""The kubelet's and the container runtime's resource arithmetic, reproduced function by function
from their Go sources, for the fake API server's kubelet simulator: pure functions on pod JSON, no I/O.

Sources (read from github:openshift/microshift, deps/github.com/openshift/kubernetes: main = v1.36.2,
release-4.20 = v1.33.13; opencontainers/cgroups v0.0.3/v0.0.6 and runc v1.1.x as vendored there;
containerd internal/cri): each function names the Go function it reproduces. Only cpu and memory are
modelled (no hugepages, ephemeral storage or extended resources)."""

import math

from quantity import milli_value, parse_quantity, value

# pkg/kubelet/cm/helpers_linux.go
MIN_SHARES = 2
MAX_SHARES = 262144
SHARES_PER_CPU = 1024
MILLI_CPU_TO_CPU = 1000
QUOTA_PERIOD = 100000
MIN_QUOTA_PERIOD = 1000
MIN_MILLI_CPU_LIMIT = 10

RESOURCES = ("cpu", "memory")

# ---------------------------------------------------------------------------------------------
# CPU conversions


def milli_cpu_to_shares(milli):
    """cm.MilliCPUToShares: 0 -> 2 (the kernel's minimum), else milli*1024/1000 clamped to [2, 262144]."""
    if milli == 0:
        return MIN_SHARES
    shares = milli * SHARES_PER_CPU // MILLI_CPU_TO_CPU
    return max(MIN_SHARES, min(MAX_SHARES, shares))


def milli_cpu_to_quota(milli, period=QUOTA_PERIOD):
    """cm.MilliCPUToQuota (and kuberuntime's milliCPUToQuota in 1.33): 0 -> 0 (no quota), else
    milli*period/1000, at least 1000 µs."""
    if milli == 0:
        return 0
    return max(MIN_QUOTA_PERIOD, milli * period // MILLI_CPU_TO_CPU)


def shares_to_milli_cpu(shares):
    """cm.SharesToMilliCPU: how the kubelet reads a request back from the runtime's shares."""
    if shares < MIN_SHARES:
        return 0
    return int(math.ceil(shares * MILLI_CPU_TO_CPU / SHARES_PER_CPU))


def quota_to_milli_cpu(quota, period):
    """cm.QuotaToMilliCPU: -1 (no quota) -> 0."""
    if quota == -1:
        return 0
    return quota * MILLI_CPU_TO_CPU // period


def kubelet_cpu_weight(shares):
    """cm.getCPUWeight (cgroup_manager_linux.go), what the kubelet itself writes into pod (and QoS)
    cgroups on cgroup v2, in 1.33 and 1.36 alike: 1 + ((shares-2)*9999)/262142, 10000 at the top."""
    if shares >= MAX_SHARES:
        return 10000
    return 1 + ((shares - 2) * 9999) // 262142


def cpu_weight_to_shares(weight):
    """cm.cpuWeightToCPUShares: the kubelet reading a pod cgroup's cpu.weight back
    (cgroupV2impl.getCgroupCPUConfig)."""
    return ((weight - 1) * 262142) // 9999 + 2


def runtime_cpu_weight_old(shares):
    """runc <= 1.3.1 (Debian 12's runc 1.1.5) libcontainer/cgroups ConvertCPUSharesToCgroupV2Value:
    the linear map, 1024 shares -> 39. 0 means unset."""
    if shares == 0:
        return 0
    return 1 + ((shares - 2) * 9999) // 262142


def runtime_cpu_weight_new(shares):
    """opencontainers/cgroups ConvertCPUSharesToCgroupV2Value as vendored in kubernetes 1.33/1.36 and
    used by runc >= 1.3.2 / crun >= 1.23: a quadratic in log2(shares) through (2,1), (1024,100),
    (262144,10000). 0 means unset."""
    if shares == 0:
        return 0
    if shares <= 2:
        return 1
    if shares >= 262144:
        return 10000
    lg = math.log2(float(shares))
    exponent = (lg * lg + 125 * lg) / 612.0 - 7.0 / 34.0
    return int(math.ceil(math.pow(10, exponent)))


def systemd_cpu_quota(quota, period):
    """opencontainers/cgroups systemd addCPUQuota (v0.0.3 in 1.33, v0.0.6 in 1.36): systemd keeps
    CPUQuotaPerSecUSec in whole percent, so the quota is rounded up to 10 ms per second and, in these
    versions, the rounded value is what the cgroupfs write uses too. runc 1.1.x rounded only the
    systemd property and wrote the raw quota to the file."""
    if quota <= 0:
        return quota
    per_sec = quota * 1000000 // period
    if per_sec % 10000 != 0:
        per_sec = (per_sec // 10000 + 1) * 10000
        return per_sec * period // 1000000
    return quota


def cpu_max_text(quota, period):
    """fs2 setCPU: the cpu.max line for a quota (<= 0 -> "max") and a period (0 -> 100000)."""
    q = "max" if quota <= 0 else str(quota)
    return "%s %d" % (q, period or QUOTA_PERIOD)


# ---------------------------------------------------------------------------------------------
# resource lists of pod JSON (name -> Fraction, cpu and memory only)


def _rl(obj, which):
    r = ((obj or {}).get("resources") or {}).get(which)
    return r if isinstance(r, dict) else {}


def resource_list(rl):
    """A JSON resource list as {name: Fraction} for cpu and memory."""
    out = {}
    for k, v in (rl or {}).items():
        if k in RESOURCES:
            out[k] = parse_quantity(v)
    return out


def _add(acc, rl):
    """addResourceList."""
    for k, v in rl.items():
        acc[k] = acc.get(k, 0) + v


def _max_into(acc, rl):
    """maxResourceList."""
    for k, v in rl.items():
        if k not in acc or v > acc[k]:
            acc[k] = v


def _max(*lists):
    """max(a, b...) of component-helpers resource: a copy of the first, then the per-name maxima."""
    out = dict(lists[0] or {})
    for other in lists[1:]:
        _max_into(out, other or {})
    return out


def is_sidecar(container):
    """podutil.IsRestartableInitContainer: an init container with restartPolicy Always."""
    return (container or {}).get("restartPolicy") == "Always"


def _supported_pod_level(name):
    return name in RESOURCES or name.startswith("hugepages-")


def is_pod_level_requests_set(pod):
    """resource.IsPodLevelRequestsSet."""
    req = ((pod.get("spec") or {}).get("resources") or {}).get("requests") or {}
    return any(_supported_pod_level(k) for k in req)


def is_pod_level_resources_set(pod):
    """resource.IsPodLevelResourcesSet: pod-level requests or limits of a supported resource."""
    res = (pod.get("spec") or {}).get("resources") or {}
    return any(_supported_pod_level(k) for k in list((res.get("requests") or {})) + list((res.get("limits") or {})))


def is_pod_resize_infeasible(pod):
    """resource.IsPodResizeInfeasible: the first PodResizePending condition says Infeasible."""
    for c in (pod.get("status") or {}).get("conditions") or []:
        if c.get("type") == "PodResizePending":
            return c.get("reason") == "Infeasible"
    return False


def _statuses_by_name(pod):
    st = pod.get("status") or {}
    out = {}
    for key in ("containerStatuses", "initContainerStatuses"):
        for cs in st.get(key) or []:
            out[cs.get("name")] = cs
    return out


def _effective_requests(pod, container, cs):
    """determineEffectiveRequests: max(spec, actual, allocated), or max(actual, allocated) while the
    pod's resize is Infeasible."""
    spec = resource_list(_rl(container, "requests"))
    actual = resource_list(((cs.get("resources") or {}).get("requests")) or {})
    allocated = resource_list(cs.get("allocatedResources") or {})
    if is_pod_resize_infeasible(pod):
        return _max(actual, allocated)
    return _max(spec, actual, allocated)


def _effective_limits(pod, container, cs):
    """determineEffectiveLimits: max(spec, actual), or actual while the resize is Infeasible."""
    actual = resource_list(((cs.get("resources") or {}).get("limits")) or {})
    if is_pod_resize_infeasible(pod):
        return dict(actual)
    return _max(resource_list(_rl(container, "limits")), actual)


def _aggregate(pod, which, use_status, container_fn):
    """AggregateContainerRequests / AggregateContainerLimits (the sidecar KEP's formula): app
    containers and native sidecars summed; each ordinary init container, plus the sidecars started
    before it, as a maximum."""
    spec = pod.get("spec") or {}
    statuses = _statuses_by_name(pod) if use_status else {}
    effective = _effective_requests if which == "requests" else _effective_limits
    total = {}
    for c in spec.get("containers") or []:
        res = resource_list(_rl(c, which))
        cs = statuses.get(c.get("name"))
        if use_status and cs is not None and cs.get("resources") is not None:
            res = effective(pod, c, cs)
        if container_fn:
            container_fn(res, "containers")
        _add(total, res)
    sidecars, init_max = {}, {}
    for c in spec.get("initContainers") or []:
        res = resource_list(_rl(c, which))
        if use_status and is_sidecar(c):
            cs = statuses.get(c.get("name"))
            if cs is not None and cs.get("resources") is not None:
                res = effective(pod, c, cs)
        if is_sidecar(c):
            _add(total, res)
            _add(sidecars, res)
            res = dict(sidecars)
        else:
            tmp = dict(res)
            _add(tmp, sidecars)
            res = tmp
        if container_fn:
            container_fn(res, "initContainers")
        _max_into(init_max, res)
    _max_into(total, init_max)
    return total


def pod_requests(pod, pod_level=True, use_status=False, exclude_overhead=False):
    """resource.PodRequests (component-helpers/resource/helpers.go): the aggregate, replaced per
    resource by pod-level spec.resources.requests when set (and the PodLevelResources gate is on),
    plus spec.overhead."""
    reqs = _aggregate(pod, "requests", use_status, None)
    spec = pod.get("spec") or {}
    if pod_level and is_pod_level_requests_set(pod):
        for k, v in resource_list((spec.get("resources") or {}).get("requests")).items():
            reqs[k] = v
    if not exclude_overhead and spec.get("overhead"):
        _add(reqs, resource_list(spec.get("overhead")))
    return reqs


def pod_limits(pod, pod_level=True, container_fn=None):
    """resource.PodLimits: the aggregate of limits, replaced by pod-level spec.resources.limits when
    set, plus spec.overhead on every limit that is not zero."""
    limits = _aggregate(pod, "limits", False, container_fn)
    spec = pod.get("spec") or {}
    if pod_level and is_pod_level_resources_set(pod):
        for k, v in resource_list((spec.get("resources") or {}).get("limits")).items():
            limits[k] = v
    for k, v in resource_list(spec.get("overhead")).items():
        if limits.get(k, 0) != 0:
            limits[k] += v
    return limits


def _milli(fr):
    return int(math.ceil(fr * 1000))


def _units(fr):
    return int(math.ceil(fr))


def resource_request_1_33(pod, name):
    """pkg/api/v1/resource GetResourceRequest, used by the 1.33-1.35 kubelet's canResizePod for its
    Infeasible check: app containers summed, every init container (sidecars too) as a maximum, plus
    the overhead when the total is not zero. Milli-CPU for cpu, bytes for memory."""
    spec = pod.get("spec") or {}
    total = 0
    for c in spec.get("containers") or []:
        q = _rl(c, "requests").get(name)
        if q is not None:
            total += parse_quantity(q)
    for c in spec.get("initContainers") or []:
        q = _rl(c, "requests").get(name)
        if q is not None and total < parse_quantity(q):
            total = parse_quantity(q)
    over = (spec.get("overhead") or {}).get(name)
    if over is not None and total != 0:
        total += parse_quantity(over)
    return _milli(total) if name == "cpu" else _units(total)


# ---------------------------------------------------------------------------------------------
# the pod cgroup


def resource_config_for_pod(pod, qos, enforce_cpu_limits=True, cpu_period=QUOTA_PERIOD, pod_level=True):
    """cm.ResourceConfigForPod (helpers_linux.go) on the allocated pod: {"shares", "quota", "period",
    "memory"}, None where the kubelet leaves the value alone. cpu.max only when every container
    declares a CPU limit (or the pod does), memory.max only when every container declares a memory
    limit (or the pod does); BestEffort gets 2 shares and nothing else. enforce_cpu_limits=False
    (cpuCFSQuota: false, or exclusive CPUs) makes the quota -1 ("max")."""
    reqs = pod_requests(pod, pod_level=pod_level)
    declared = {"cpu": True, "memory": True}

    def seen(res, _kind):
        for r in RESOURCES:
            if res.get(r, 0) == 0:
                declared[r] = False

    limits = pod_limits(pod, pod_level=pod_level, container_fn=seen)
    if pod_level and is_pod_level_resources_set(pod):
        plim = resource_list(((pod.get("spec") or {}).get("resources") or {}).get("limits"))
        for r in RESOURCES:
            if plim.get(r, 0) != 0:
                declared[r] = True
    cpu_requests = _milli(reqs.get("cpu", 0))
    cpu_limits = _milli(limits.get("cpu", 0))
    memory_limits = _units(limits.get("memory", 0))
    shares = milli_cpu_to_shares(cpu_requests)
    quota = milli_cpu_to_quota(cpu_limits, cpu_period)
    if not enforce_cpu_limits:
        quota = -1
    out = {"shares": shares, "quota": None, "period": None, "memory": None}
    if qos == "Guaranteed":
        out.update(quota=quota, period=cpu_period, memory=memory_limits)
    elif qos == "Burstable":
        if declared["cpu"]:
            out.update(quota=quota, period=cpu_period)
        if declared["memory"]:
            out["memory"] = memory_limits
    else:
        out["shares"] = MIN_SHARES
    return out


# ---------------------------------------------------------------------------------------------
# container resources: what the kubelet asks the runtime for, and what the runtime writes


def _container_limit(pod, container, name, pod_level):
    """getCPULimit / getMemoryLimit (kuberuntime_container_linux.go): the container's limit, or the
    pod-level limit when the container has none."""
    own = _rl(container, "limits").get(name)
    if pod_level and is_pod_level_resources_set(pod) and (own is None or parse_quantity(own) == 0):
        return (((pod.get("spec") or {}).get("resources") or {}).get("limits") or {}).get(name)
    return own


def linux_container_resources(pod, container, cpu_cfs_quota=True, exclusive_cpus=False, pod_level=True):
    """generateLinuxContainerResources + calculateLinuxResources: the CRI LinuxContainerResources the
    kubelet sends (CreateContainer, UpdateContainerResources) as {"shares", "quota", "period",
    "memory"}, 0 meaning "not set". Shares from the request (from the limit when no request is given,
    2 with neither); quota and period only with cpuCFSQuota on, quota -1 for a container with
    exclusive CPUs (DisableCPUQuotaWithExclusiveCPUs, on since 1.33)."""
    req = _rl(container, "requests")
    cpu_limit = _container_limit(pod, container, "cpu", pod_level)
    mem_limit = _container_limit(pod, container, "memory", pod_level)
    if "cpu" not in req:
        shares = milli_cpu_to_shares(milli_value(cpu_limit))
    else:
        shares = milli_cpu_to_shares(milli_value(req["cpu"]))
    out = {"shares": shares, "quota": 0, "period": 0, "memory": value(mem_limit)}
    if cpu_cfs_quota:
        out["period"] = QUOTA_PERIOD
        out["quota"] = -1 if exclusive_cpus else milli_cpu_to_quota(milli_value(cpu_limit), QUOTA_PERIOD)
    return out


def containerd_merge(spec, lcr):
    """containerd's opts.WithResources on the container's stored OCI spec (CreateContainer and
    updateOCIResource): every field the kubelet sent that is not 0 replaces the stored one."""
    out = dict(spec or {"shares": 0, "quota": 0, "period": 0, "memory": 0})
    for k in ("shares", "quota", "period", "memory"):
        if lcr.get(k):
            out[k] = lcr[k]
    return out


def runc_cgroup_files(spec, weight_formula="old", systemd=False, systemd_quota_roundup=False):
    """What runc writes into a container cgroup from the OCI resources (create, and `runc update` with
    the whole merged spec that containerd's task.Update sends): fs2 Manager.Set order memory, then
    cpu. memory.max only with a limit, cpu.weight from the shares by the runtime's formula, cpu.max
    only when a quota or period is set. Returns [(file, text)]."""
    files = []
    if spec.get("memory"):
        files.append(("memory.max", "max" if spec["memory"] < 0 else str(spec["memory"])))
    conv = runtime_cpu_weight_new if weight_formula == "new" else runtime_cpu_weight_old
    weight = conv(spec.get("shares") or 0)
    if weight:
        files.append(("cpu.weight", str(weight)))
    quota, period = spec.get("quota") or 0, spec.get("period") or 0
    if quota or period:
        if systemd and systemd_quota_roundup and quota > 0:
            quota = systemd_cpu_quota(quota, period or QUOTA_PERIOD)
        files.append(("cpu.max", cpu_max_text(quota, period)))
    return files


def container_resources_from_requirements(container_requirements, pod_requirements=None, pod_level_resize=False):
    """containerResourcesFromRequirements (kuberuntime_manager.go): the four numbers the kubelet
    compares between allocated and actuated: memory limit and request in bytes, CPU limit and request
    in milli-CPU. With InPlacePodLevelResourcesVerticalScaling (1.36) a missing container limit takes
    the pod-level one (kubeutil.GetLimits)."""
    lim = dict((container_requirements or {}).get("limits") or {})
    req = (container_requirements or {}).get("requests") or {}
    plim = (pod_requirements or {}).get("limits") or {}
    if pod_level_resize and plim:
        for r in RESOURCES:
            if milli_value(lim.get(r)) == 0 and milli_value(plim.get(r)) != 0:
                lim[r] = plim[r]
    return {
        "memory_limit": value(lim.get("memory")),
        "memory_request": value(req.get("memory")),
        "cpu_limit": milli_value(lim.get("cpu")),
        "cpu_request": milli_value(req.get("cpu")),
    }


# ---------------------------------------------------------------------------------------------
# node fit (the predicate admit handler)


def fits_request(pod_cpu, pod_memory, used_cpu, used_memory, alloc_cpu, alloc_memory, other_pods, allowed_pods):
    """noderesources.fitsRequest through scheduler.AdmissionCheck, as the kubelet's predicate admit
    handler calls it with the other pods' allocated requests: the first failure as (resource,
    requested, used, capacity, reason), or None. The pod count is checked first, then cpu, then
    memory; a resource the node object does not list (alloc None) is not checked."""
    if allowed_pods is not None and other_pods + 1 > allowed_pods:
        return ("pods", 1, other_pods, allowed_pods, "OutOfpods")
    if pod_cpu == 0 and pod_memory == 0:
        return None
    if alloc_cpu is not None and pod_cpu > 0 and pod_cpu > alloc_cpu - used_cpu:
        return ("cpu", pod_cpu, used_cpu, alloc_cpu, "OutOfcpu")
    if alloc_memory is not None and pod_memory > 0 and pod_memory > alloc_memory - used_memory:
        return ("memory", pod_memory, used_memory, alloc_memory, "OutOfmemory")
    return None


def insufficient_resource_message(failure):
    """lifecycle.InsufficientResourceError.Error()."""
    name, requested, used, capacity = failure[:4]
    return "Node didn't have enough resource: %s, requested: %d, used: %d, capacity: %d" % (name, requested, used, capacity)


def node_requested(pod, pod_level=True):
    """framework PodInfo.CalculateResource as NodeInfo sums the other pods: PodRequests with
    UseStatusResources (max of spec, allocated and actual per container) -> (milli-CPU, bytes)."""
    r = pod_requests(pod, pod_level=pod_level, use_status=True)
    return _milli(r.get("cpu", 0)), _units(r.get("memory", 0))


def pod_request_for_fit(pod, pod_level=True):
    """noderesources.computePodResourceRequest: PodRequests of the pod being admitted (spec only)."""
    r = pod_requests(pod, pod_level=pod_level)
    return _milli(r.get("cpu", 0)), _units(r.get("memory", 0))
