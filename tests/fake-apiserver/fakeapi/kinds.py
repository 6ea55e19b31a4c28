"""The resource table (group, version, resource, kind, subresources) and the conversion of a stored object
to what a client of its group/version sees (events.k8s.io/v1 Events are stored as core/v1 Events)."""

from .common import dcopy
from .errors import err_bad_request, gr_name


class Res:
    def __init__(self, group, version, resource, kind, namespaced=True, subs=(), singular=None, short=None):
        self.group = group
        self.version = version
        self.resource = resource
        self.kind = kind
        self.namespaced = namespaced
        self.subs = set(subs)
        self.singular = singular or kind.lower()
        self.short = short

    @property
    def api_version(self):
        return self.version if not self.group else "%s/%s" % (self.group, self.version)

    @property
    def key(self):
        # storage key shared by every version of a group resource; events.k8s.io/v1 Events are core Events
        if self.group == "events.k8s.io":
            return "events"
        return gr_name(self)


RESOURCES = {}


def _reg(*a, **kw):
    r = Res(*a, **kw)
    RESOURCES[(r.group, r.version, r.resource)] = r
    return r


RES_POD = _reg("", "v1", "pods", "Pod", subs=("status", "resize", "eviction"), short=["po"])
RES_EVENT = _reg("", "v1", "events", "Event", short=["ev"])
RES_NODE = _reg("", "v1", "nodes", "Node", namespaced=False, subs=("status",), short=["no"])
RES_NS = _reg("", "v1", "namespaces", "Namespace", namespaced=False, subs=("status",), short=["ns"])
RES_SA = _reg("", "v1", "serviceaccounts", "ServiceAccount", short=["sa"])
RES_CM = _reg("", "v1", "configmaps", "ConfigMap", short=["cm"])
RES_PDB = _reg("policy", "v1", "poddisruptionbudgets", "PodDisruptionBudget", subs=("status",), short=["pdb"])
RES_RS = _reg("apps", "v1", "replicasets", "ReplicaSet", subs=("status",), short=["rs"])
RES_STS = _reg("apps", "v1", "statefulsets", "StatefulSet", subs=("status",), short=["sts"])
RES_DS = _reg("apps", "v1", "daemonsets", "DaemonSet", subs=("status",), short=["ds"])
RES_DEPLOY = _reg("apps", "v1", "deployments", "Deployment", subs=("status",), short=["deploy"])
RES_JOB = _reg("batch", "v1", "jobs", "Job", subs=("status",))
RES_EVENT2 = _reg("events.k8s.io", "v1", "events", "Event", short=["ev"])
RES_CR = _reg("rbac.authorization.k8s.io", "v1", "clusterroles", "ClusterRole", namespaced=False)
RES_CRB = _reg("rbac.authorization.k8s.io", "v1", "clusterrolebindings", "ClusterRoleBinding", namespaced=False)
RES_ROLE = _reg("rbac.authorization.k8s.io", "v1", "roles", "Role")
RES_RB = _reg("rbac.authorization.k8s.io", "v1", "rolebindings", "RoleBinding")
RES_LEASE = _reg("coordination.k8s.io", "v1", "leases", "Lease")
RES_HPA = _reg("autoscaling", "v2", "horizontalpodautoscalers", "HorizontalPodAutoscaler", subs=("status",),
               short=["hpa"])
# snug's own CRD (deploy/workloadhistory-crd.yaml), served as the apiextensions server serves a
# custom resource: namespaced, no subresources, generation 1 on create
RES_WORKLOAD_HISTORY = _reg("snug.io", "v1alpha1", "workloadhistories", "WorkloadHistory")

KIND_TO_RES = {}
for _r in RESOURCES.values():
    KIND_TO_RES.setdefault((_r.group, _r.kind), _r)


# events.k8s.io/v1 <-> core/v1 Event field names (the apiserver stores one object and converts)
EVENT_FIELDS = [
    ("regarding", "involvedObject"),
    ("note", "message"),
    ("reportingController", "reportingComponent"),
    ("deprecatedSource", "source"),
    ("deprecatedFirstTimestamp", "firstTimestamp"),
    ("deprecatedLastTimestamp", "lastTimestamp"),
    ("deprecatedCount", "count"),
]


def event_to_core(o):
    o = dcopy(o)
    for new, old in EVENT_FIELDS:
        if new in o:
            o[old] = o.pop(new)
    o["apiVersion"] = "v1"
    return o


def event_from_core(o):
    o = dcopy(o)
    for new, old in EVENT_FIELDS:
        if old in o:
            o[new] = o.pop(old)
    o.setdefault("deprecatedSource", {})
    o.setdefault("deprecatedFirstTimestamp", None)
    o.setdefault("deprecatedLastTimestamp", None)
    if not o.get("deprecatedCount"):
        o.pop("deprecatedCount", None)
    o["apiVersion"] = "events.k8s.io/v1"
    return o


def to_external(res, o):
    """The stored object as a client of res's group/version sees it."""
    if o is None or o.get("kind") == "Status":
        return o
    if res.group == "events.k8s.io":
        return event_from_core(o)
    if o.get("apiVersion") != res.api_version:
        o = dict(o, apiVersion=res.api_version)
    return o


def to_internal(res, o):
    if res.group == "events.k8s.io" and isinstance(o, dict):
        return event_to_core(o)
    return o


def res_for_object(obj):
    av = obj.get("apiVersion", "v1")
    group = av.split("/")[0] if "/" in av else ""
    r = KIND_TO_RES.get((group, obj.get("kind")))
    if r is None:
        raise err_bad_request("unknown kind %s %s" % (av, obj.get("kind")))
    return r

VERBS_ALL = ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"]
