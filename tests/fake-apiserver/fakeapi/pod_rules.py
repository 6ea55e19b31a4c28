"""The apiserver's pod rules as pure functions: create defaults, QoS class, quantities, resize validation
(ValidatePodResize), the spec update check (ValidatePodUpdate), status defaults."""

import difflib
import json

from quantity import canonical_quantity, parse_quantity

from .common import dcopy
from .errors import FieldErr, err_bad_request, err_invalid

POD_UPDATE_FORBIDDEN = (
    "pod updates may not change fields other than `spec.containers[*].image`,`spec.initContainers[*].image`,"
    "`spec.activeDeadlineSeconds`,`spec.tolerations` (only additions to existing tolerations),"
    "`spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was previously negative)"
)


def canonicalize_resource_lists(obj):
    """Rewrite every quantity in a pod's or node's resource lists the way the apiserver stores them."""

    def fix(rl):
        if isinstance(rl, dict):
            for k, v in list(rl.items()):
                try:
                    rl[k] = canonical_quantity(v)
                except ValueError:
                    pass

    spec = obj.get("spec") if isinstance(obj.get("spec"), dict) else {}
    for key in ("initContainers", "containers", "ephemeralContainers"):
        for c in spec.get(key) or []:
            if isinstance(c, dict) and isinstance(c.get("resources"), dict):
                fix(c["resources"].get("requests"))
                fix(c["resources"].get("limits"))
    st = obj.get("status") if isinstance(obj.get("status"), dict) else {}
    for key in ("initContainerStatuses", "containerStatuses"):
        for cs in st.get(key) or []:
            if isinstance(cs, dict):
                fix(cs.get("allocatedResources"))
                if isinstance(cs.get("resources"), dict):
                    fix(cs["resources"].get("requests"))
                    fix(cs["resources"].get("limits"))
    fix(st.get("capacity"))
    fix(st.get("allocatable"))
    return obj


def pod_default(pod):
    """The defaulting a real apiserver applies on create (what shows up in the transcripts)."""
    spec = pod.setdefault("spec", {})
    for key in ("initContainers", "containers"):
        for c in spec.get(key) or []:
            if not isinstance(c, dict):
                continue
            res = c.get("resources")
            if not isinstance(res, dict):
                res = {}
            # requests default to limits when not given
            lim = res.get("limits") or {}
            if lim:
                req = res.setdefault("requests", {})
                for k, v in lim.items():
                    req.setdefault(k, v)
            c["resources"] = {k: res[k] for k in ("limits", "requests", "claims") if k in res}
            c.setdefault("terminationMessagePath", "/dev/termination-log")
            c.setdefault("terminationMessagePolicy", "File")
            image = c.get("image", "")
            tag_latest = ":" not in image.rsplit("/", 1)[-1] or image.endswith(":latest")
            c.setdefault("imagePullPolicy", "Always" if tag_latest and "@" not in image else "IfNotPresent")
    spec.setdefault("restartPolicy", "Always")
    spec.setdefault("terminationGracePeriodSeconds", 30)
    spec.setdefault("dnsPolicy", "ClusterFirst")
    spec.setdefault("serviceAccountName", "default")
    spec.setdefault("serviceAccount", spec["serviceAccountName"])
    spec.setdefault("securityContext", {})
    spec.setdefault("schedulerName", "default-scheduler")
    tol = spec.setdefault("tolerations", [])
    for key in ("node.kubernetes.io/not-ready", "node.kubernetes.io/unreachable"):
        if not any(t.get("key") == key for t in tol if isinstance(t, dict)):
            tol.append({"key": key, "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 300})
    spec.setdefault("priority", 0)
    spec.setdefault("enableServiceLinks", True)
    spec.setdefault("preemptionPolicy", "PreemptLowerPriority")
    return pod


def resource_list_of(c, which):
    r = (c.get("resources") or {}).get(which)
    return r if isinstance(r, dict) else {}


def pod_qos(pod):
    """qos.ComputePodQOS on cpu and memory."""
    requests, limits = {}, {}
    guaranteed = True
    spec = pod.get("spec") or {}
    for c in list(spec.get("initContainers") or []) + list(spec.get("containers") or []):
        req = {k: v for k, v in resource_list_of(c, "requests").items() if k in ("cpu", "memory")}
        lim = {k: v for k, v in resource_list_of(c, "limits").items() if k in ("cpu", "memory")}
        for k, v in req.items():
            if parse_quantity(v) != 0:
                requests[k] = True
        for k, v in lim.items():
            if parse_quantity(v) != 0:
                limits[k] = True
        if set(lim.keys()) != {"cpu", "memory"}:
            guaranteed = False
        else:
            for k in ("cpu", "memory"):
                if k in req and parse_quantity(req[k]) != parse_quantity(lim[k]):
                    guaranteed = False
    if not requests and not limits:
        return "BestEffort"
    if guaranteed:
        return "Guaranteed"
    return "Burstable"


def validate_quantities(pod):
    spec = pod.get("spec") or {}
    for key in ("initContainers", "containers"):
        for c in spec.get(key) or []:
            if not isinstance(c, dict):
                raise err_bad_request("Pod in version \"v1\" cannot be handled as a Pod: json: cannot unmarshal")
            for which in ("requests", "limits"):
                for k, v in resource_list_of(c, which).items():
                    try:
                        parse_quantity(v)
                    except ValueError as e:
                        raise err_bad_request('Pod in version "v1" cannot be handled as a Pod: %s' % e)


def _first_running_supports_resize(pod):
    for cs in (pod.get("status") or {}).get("containerStatuses") or []:
        if "running" in (cs.get("state") or {}):
            return "resources" in cs and cs["resources"] is not None
    return True


def resource_lists_equal(a, b):
    if set(a.keys()) != set(b.keys()):
        return False
    for k in a:
        try:
            if parse_quantity(a[k]) != parse_quantity(b[k]):
                return False
        except ValueError:
            return False
    return True


def _is_sidecar(c):
    """isRestartableInitContainer: an init container with restartPolicy Always."""
    return isinstance(c, dict) and c.get("restartPolicy") == "Always"


def _container_ordering_errors(old, new):
    """validatePodResizeContainerOrdering: no container added, removed, renamed or reordered."""
    errs = []
    for key in ("containers", "initContainers"):
        oc = old["spec"].get(key) or []
        nc = new["spec"].get(key) or []
        if len(oc) != len(nc):
            errs.append(FieldErr("FieldValueForbidden", "spec.%s" % key, "%s may not be added or removed on resize" % key))
            continue
        for ix, (a, b) in enumerate(zip(oc, nc)):
            if a.get("name") != b.get("name"):
                errs.append(
                    FieldErr(
                        "FieldValueForbidden",
                        "spec.%s[%d].name" % (key, ix),
                        "%s may not be renamed or reordered on resize" % key,
                    )
                )
    return errs


def _container_resize_errors(c, n, path, minor):
    """validateContainerResize: requests/limits may not be removed; up to 1.33 a memory limit may not go
    down unless the memory resizePolicy is RestartContainer."""
    errs = []
    for which in ("requests", "limits"):
        o_l, n_l = resource_list_of(c, which), resource_list_of(n, which)
        if len(o_l) > len(n_l) or any(k not in n_l for k in o_l):
            errs.append(FieldErr("FieldValueForbidden", "%s.%s" % (path, which), "resource %s cannot be removed" % which))
    if minor <= 33:
        o_mem = resource_list_of(c, "limits").get("memory")
        n_mem = resource_list_of(n, "limits").get("memory")
        policy = {p.get("resourceName"): p.get("restartPolicy") for p in (c.get("resizePolicy") or [])}
        if o_mem is not None and n_mem is not None and policy.get("memory") != "RestartContainer":
            if parse_quantity(n_mem) < parse_quantity(o_mem):
                errs.append(
                    FieldErr(
                        "FieldValueForbidden",
                        "%s.limits[memory]" % path,
                        "memory limits cannot be decreased unless resizePolicy is RestartContainer",
                    )
                )
    return errs


def _only_cpu_memory_changed(c, n, qos):
    """dropCPUMemoryResourcesFromContainer + DeepEqual: nothing but cpu and memory (and, through the
    subresource, nothing else at all) differs; resizePolicy may not change."""
    if (c.get("resizePolicy") or []) != (n.get("resizePolicy") or []):
        return False
    for which in ("requests", "limits"):
        o_l, n_l = resource_list_of(c, which), resource_list_of(n, which)
        o_other = {k: v for k, v in o_l.items() if k not in ("cpu", "memory")}
        n_other = {k: v for k, v in n_l.items() if k not in ("cpu", "memory")}
        if not resource_lists_equal(o_other, n_other):
            return False
        if not o_l and n_l and qos != "BestEffort":
            # a list appearing from nothing is not a cpu/memory change of an existing list
            if any(k not in ("cpu", "memory") for k in n_l):
                return False
    return True


def init_resources_changed(old, new):
    """Whether an ordinary (non-sidecar) init container's resources differ: what 1.36's
    InPlacePodVerticalScalingInitContainers allows and NodeDeclaredFeatures admission then checks
    (nonSidecarInitContainerResizeFeature.InferForUpdate)."""
    oc = old["spec"].get("initContainers") or []
    nc = new["spec"].get("initContainers") or []
    return any(
        not _is_sidecar(a) and (a.get("resources") or {}) != (b.get("resources") or {}) for a, b in zip(oc, nc)
    )


def validate_pod_resize(old, new, minor):
    """ValidatePodResize (pkg/apis/core/validation/validation.go; v1.33.13 and v1.36.2): old and new
    pods differ only in the containers' and init containers' resources/resizePolicy."""
    errs = []
    name = old["metadata"]["name"]
    ann = old["metadata"].get("annotations") or {}
    if "kubernetes.io/config.mirror" in ann:
        raise err_invalid("Pod", name, [FieldErr("FieldValueForbidden", "", "static pods cannot be resized")])
    if ((old.get("spec") or {}).get("os") or {}).get("name") == "windows":
        raise err_invalid("Pod", name, [FieldErr("FieldValueForbidden", "", "windows pods cannot be resized")])
    old_qos = (old.get("status") or {}).get("qosClass") or pod_qos(old)
    if pod_qos(new) != old_qos:
        errs.append(
            FieldErr("FieldValueInvalid", "spec", "Pod QOS Class may not change as a result of resizing", old_qos)
        )
    if not _first_running_supports_resize(old):
        errs.append(FieldErr("FieldValueForbidden", "spec", "Pod running on node without support for resize"))
    order = _container_ordering_errors(old, new)
    if order:
        raise err_invalid("Pod", name, errs + order)
    # 1.36 (InPlacePodVerticalScalingInitContainers, beta): every init container is resizable;
    # before, only sidecars (SidecarContainers).
    init_resizable = minor >= 36
    oi = old["spec"].get("initContainers") or []
    ni = new["spec"].get("initContainers") or []
    for ix, c in enumerate(oi):
        if _is_sidecar(c) or init_resizable:
            errs += _container_resize_errors(c, ni[ix], "spec.initContainers[%d].resources" % ix, minor)
    oc = old["spec"].get("containers") or []
    nc = new["spec"].get("containers") or []
    for ix, c in enumerate(oc):
        errs += _container_resize_errors(c, nc[ix], "spec.containers[%d].resources" % ix, minor)
    if not all(_only_cpu_memory_changed(c, nc[ix], old_qos) for ix, c in enumerate(oc)):
        errs.append(FieldErr("FieldValueForbidden", "spec", "only cpu and memory resources are mutable"))
    for ix, c in enumerate(oi):
        n = ni[ix]
        if _is_sidecar(c) or init_resizable:
            if not _only_cpu_memory_changed(c, n, old_qos):
                if minor >= 36:
                    errs.append(
                        FieldErr(
                            "FieldValueForbidden",
                            "spec.initContainers[%d]" % ix,
                            "only cpu and memory resources for init or sidecar containers are mutable",
                        )
                    )
                else:
                    errs.append(
                        FieldErr(
                            "FieldValueForbidden", "spec", "only cpu and memory resources for sidecar containers are mutable"
                        )
                    )
            elif (
                not _is_sidecar(c)
                and c != n
                and any(p.get("restartPolicy") == "RestartContainer" for p in (n.get("resizePolicy") or []))
            ):
                errs.append(
                    FieldErr(
                        "FieldValueForbidden",
                        "spec.initContainers[%d]" % ix,
                        "non-sidecar init containers with a resize policy of RestartContainer cannot be resized",
                    )
                )
        elif c != n:
            errs.append(FieldErr("FieldValueForbidden", "spec", "resources for non-sidecar init containers are immutable"))
    if errs:
        raise err_invalid("Pod", name, errs)


def pod_spec_update_diff(old_spec, new_spec, allow_resources):
    """Return None if the update of the pod spec is allowed (ValidatePodUpdate), else a diff text."""
    o = dcopy(old_spec or {})
    n = dcopy(new_spec or {})
    for key in ("containers", "initContainers"):
        oc = o.get(key) or []
        nc = n.get(key) or []
        if len(oc) == len(nc):
            for a, b in zip(oc, nc):
                if isinstance(a, dict) and isinstance(b, dict):
                    b["image"] = a.get("image")
                    # 1.27-1.31 (ValidatePodUpdate, InPlacePodVerticalScaling): app containers only
                    if allow_resources and key == "containers":
                        b["resources"] = a.get("resources")
                        if "resizePolicy" in a or "resizePolicy" in b:
                            b["resizePolicy"] = a.get("resizePolicy")
    for key in ("activeDeadlineSeconds",):
        n[key] = o.get(key)
        if n[key] is None:
            n.pop(key, None)
            o.pop(key, None)
    ot = o.get("tolerations") or []
    nt = n.get("tolerations") or []
    if all(t in nt for t in ot):
        n["tolerations"] = o.get("tolerations")
        if n["tolerations"] is None:
            n.pop("tolerations")
    if o.get("terminationGracePeriodSeconds", 0) is not None and (o.get("terminationGracePeriodSeconds") or 0) < 0:
        if n.get("terminationGracePeriodSeconds") == 1:
            n["terminationGracePeriodSeconds"] = o.get("terminationGracePeriodSeconds")
    if o == n:
        return None
    a = json.dumps(old_spec, indent=1, sort_keys=True).splitlines()
    b = json.dumps(new_spec, indent=1, sort_keys=True).splitlines()
    d = list(difflib.unified_diff(a, b, lineterm="", n=3))
    return "\n".join(d[2:]) + "\n"


def resources_changed(old_spec, new_spec):
    oc = old_spec.get("containers") or []
    nc = new_spec.get("containers") or []
    for a, b in zip(oc, nc):
        if (a.get("resources") or {}) != (b.get("resources") or {}):
            return True
    return False


def bump_generation(cur, out):
    """Spec changed: generation+1 on objects that track it (pods before 1.33 do not)."""
    if "generation" in cur["metadata"]:
        out["metadata"]["generation"] = cur["metadata"]["generation"] + 1


def pod_status_default(st):
    """Defaults the apiserver fills into a written pod status (seen in the transcripts)."""
    for c in st.get("conditions") or []:
        if isinstance(c, dict):
            c.setdefault("lastProbeTime", None)
            c.setdefault("lastTransitionTime", None)
    if st.get("podIP") and not st.get("podIPs"):
        st["podIPs"] = [{"ip": st["podIP"]}]
    for key in ("initContainerStatuses", "containerStatuses", "ephemeralContainerStatuses"):
        for cs in st.get(key) or []:
            if isinstance(cs, dict):
                cs.setdefault("state", {})
                cs.setdefault("lastState", {})
                cs.setdefault("ready", False)
                cs.setdefault("restartCount", 0)
                cs.setdefault("image", "")
                cs.setdefault("imageID", "")
    return st


def container_running(pod):
    for cs in (pod.get("status") or {}).get("containerStatuses") or []:
        if "running" in (cs.get("state") or {}):
            return True
    return False
