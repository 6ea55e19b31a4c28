"""What each Kubernetes version exposes: /version, the resize path (none, pod spec, resize subresource)
and the discovery documents."""

from .kinds import RESOURCES, VERBS_ALL

# how a resize reaches a pod: not at all (before 1.27, or the feature gate off), through the pod's spec
# (1.27-1.31), through the resize subresource (1.32 on)
RESIZE_NONE, RESIZE_SPEC, RESIZE_SUBRESOURCE = "none", "spec", "subresource"
# /version of the recorded servers (gitVersion, gitCommit, buildDate)
GIT = {
    "1.36": ("v1.36.2", "98b35193b2ac7a23a673325f5e9b830ecd5ba406", "2026-08-21T00:00:00Z"),
    "1.33": ("v1.33.13", "2df3632e823a813f64218dfc6f5c2e70d28ecdf0", "2026-01-01T00:00:00Z"),
}


class VersionMixin:
    """The Fake's version answers (self.version and self.feature_gate are set by the Fake)."""

    @property
    def minor(self):
        try:
            return int(str(self.version).split(".")[1])
        except (IndexError, ValueError):
            return 36

    @property
    def resize_mode(self):
        if not self.feature_gate or self.minor < 27:
            return RESIZE_NONE
        if self.minor < 32:
            return RESIZE_SPEC
        return RESIZE_SUBRESOURCE

    def version_body(self):
        m = self.minor
        git, commit, date = GIT.get("1.%d" % m, ("v1.%d.0" % m, "0" * 40, "2026-01-01T00:00:00Z"))
        d = {"major": "1", "minor": str(m)}
        if m >= 31:
            d.update(
                {
                    "emulationMajor": "1",
                    "emulationMinor": str(m),
                    "minCompatibilityMajor": "1",
                    "minCompatibilityMinor": str(m - 1),
                }
            )
        d.update(
            {
                "gitVersion": git,
                "gitCommit": commit,
                "gitTreeState": "clean",
                "buildDate": date,
                "goVersion": "go1.26.10",
                "compiler": "gc",
                "platform": "linux/amd64",
            }
        )
        return d


def core_discovery(fake):
    def r(name, kind, namespaced=True, verbs=None, short=None, singular="", **extra):
        d = {"name": name, "singularName": singular, "namespaced": namespaced}
        d.update(extra.pop("gv", {}))
        d["kind"] = kind
        d["verbs"] = verbs or VERBS_ALL
        if short:
            d["shortNames"] = short
        d.update(extra)
        return d

    res = [
        r("bindings", "Binding", verbs=["create"], singular="binding"),
        r("configmaps", "ConfigMap", short=["cm"], singular="configmap"),
        r("events", "Event", short=["ev"], singular="event"),
        r("namespaces", "Namespace", namespaced=False, verbs=["create", "delete", "get", "list", "patch", "update", "watch"], short=["ns"], singular="namespace"),
        r("namespaces/status", "Namespace", namespaced=False, verbs=["get", "patch", "update"]),
        r("nodes", "Node", namespaced=False, short=["no"], singular="node"),
        r("nodes/status", "Node", namespaced=False, verbs=["get", "patch", "update"]),
        r("pods", "Pod", short=["po"], singular="pod", categories=["all"]),
        r("pods/attach", "PodAttachOptions", verbs=["create", "get"]),
        r("pods/binding", "Binding", verbs=["create"]),
        r("pods/ephemeralcontainers", "Pod", verbs=["get", "patch", "update"]),
        r("pods/eviction", "Eviction", verbs=["create"], gv={"group": "policy", "version": "v1"}),
        r("pods/exec", "PodExecOptions", verbs=["create", "get"]),
        r("pods/log", "Pod", verbs=["get"]),
        r("pods/portforward", "PodPortForwardOptions", verbs=["create", "get"]),
        r("pods/proxy", "PodProxyOptions", verbs=["create", "delete", "get", "patch", "update"]),
        r("pods/resize", "Pod", verbs=["get", "patch", "update"]),
        r("pods/status", "Pod", verbs=["get", "patch", "update"]),
        r("serviceaccounts", "ServiceAccount", short=["sa"], singular="serviceaccount"),
    ]
    if fake.resize_mode != RESIZE_SUBRESOURCE:
        res = [x for x in res if x["name"] != "pods/resize"]
    if fake.minor < 25:
        res = [x for x in res if x["name"] != "pods/ephemeralcontainers"]
    return {"kind": "APIResourceList", "groupVersion": "v1", "resources": res}


GROUPS = {
    "policy": ["v1"],
    "apps": ["v1"],
    "batch": ["v1"],
    "events.k8s.io": ["v1"],
    "rbac.authorization.k8s.io": ["v1"],
    "coordination.k8s.io": ["v1"],
}


def group_discovery(group, version):
    res = []
    for (g, v, name), r in sorted(RESOURCES.items()):
        if g != group or v != version:
            continue
        d = {"name": name, "singularName": r.singular, "namespaced": r.namespaced, "kind": r.kind, "verbs": VERBS_ALL}
        if r.short:
            d["shortNames"] = r.short
        res.append(d)
        for s in sorted(r.subs):
            res.append({"name": "%s/%s" % (name, s), "singularName": "", "namespaced": r.namespaced, "kind": r.kind, "verbs": ["get", "patch", "update"]})
    return {"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": "%s/%s" % (group, version), "resources": res}
