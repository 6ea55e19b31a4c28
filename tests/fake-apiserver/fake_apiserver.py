#!/usr/bin/python3
"""A fake Kubernetes API server (HTTPS, bearer tokens) that answers pods, resize, eviction, events
and owner objects the way a real kube-apiserver 1.26-1.36 does, with fault injection for tests.

Standard library only. See README.md beside this file for the CLI and the /_fake/ control API.
"""

import argparse
import base64
import collections
import copy
import difflib
import json
import os
import random
import re
import select
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import threading
import time
import traceback
import urllib.parse
import urllib.request
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import kubelet_rules as kr  # noqa: E402
from quantity import QUANTITY_ERROR, bytes_quantity, canonical_quantity, milli_quantity, milli_value, parse_quantity  # noqa: E402,F401
from quantity import value as quantity_value  # noqa: E402

# ---------------------------------------------------------------------------------------------
# small helpers


def now_iso(offset=0.0):
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + offset))


def dcopy(o):
    return copy.deepcopy(o)


def rand_suffix(n=5):
    # the same alphabet the apiserver's name generator uses (no vowels, no confusable digits)
    return "".join(random.choice("bcdfghjklmnpqrstvwxz2456789") for _ in range(n))


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


# ---------------------------------------------------------------------------------------------
# errors and Status bodies


class ApiError(Exception):
    def __init__(self, code, body, headers=None):
        super().__init__(body.get("message", ""))
        self.code = code
        self.body = body
        self.headers = headers or {}


def status_body(code, reason, message, details=None, status="Failure"):
    d = {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": status}
    if message is not None:
        d["message"] = message
    if reason:
        d["reason"] = reason
    if details is not None:
        d["details"] = details
    d["code"] = code
    return d


def gr_name(res):
    """'pods' / 'replicasets.apps' as the apiserver prints a group resource."""
    return res.resource if not res.group else "%s.%s" % (res.resource, res.group)


def res_details(res, name):
    d = {"name": name}
    if res.group:
        d["group"] = res.group
    d["kind"] = res.resource
    return d


def err_not_found(res, name):
    return ApiError(404, status_body(404, "NotFound", '%s "%s" not found' % (gr_name(res), name), res_details(res, name)))


def err_already_exists(res, name):
    return ApiError(
        409, status_body(409, "AlreadyExists", '%s "%s" already exists' % (gr_name(res), name), res_details(res, name))
    )


def err_conflict(res, name):
    return ApiError(
        409,
        status_body(
            409,
            "Conflict",
            'Operation cannot be fulfilled on %s "%s": the object has been modified; please apply your changes '
            "to the latest version and try again" % (gr_name(res), name),
            res_details(res, name),
        ),
    )


def err_no_route():
    return ApiError(404, status_body(404, "NotFound", "the server could not find the requested resource", {}))


def err_bad_request(message):
    return ApiError(400, status_body(400, "BadRequest", message))


def err_method_not_allowed(method):
    return ApiError(
        405, status_body(405, "MethodNotAllowed", "the server does not allow this method on the requested resource", {})
    )


def err_unsupported_media(ct):
    return ApiError(
        415,
        status_body(
            415,
            "UnsupportedMediaType",
            "the body of the request was in an unknown format - accepted media types include: "
            "application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml, "
            "application/strategic-merge-patch+json",
        ),
    )


class FieldErr:
    """One field.Error: reason FieldValueInvalid/Forbidden/Required/NotSupported."""

    def __init__(self, reason, field, detail, value=None):
        self.reason = reason
        self.field = field
        self.detail = detail
        self.value = value

    def cause_message(self):
        if self.reason == "FieldValueInvalid":
            return "Invalid value: %s: %s" % (json.dumps(self.value), self.detail)
        if self.reason == "FieldValueForbidden":
            return "Forbidden: %s" % self.detail
        if self.reason == "FieldValueRequired":
            return "Required value" + (": " + self.detail if self.detail else "")
        return self.detail

    def full(self):
        return "%s: %s" % (self.field, self.cause_message())


def err_invalid(kind, name, errs, group=None):
    if len(errs) == 1:
        agg = errs[0].full()
    else:
        agg = "[" + ", ".join(e.full() for e in errs) + "]"
    details = {"name": name}
    if group:
        details["group"] = group
    details["kind"] = kind
    details["causes"] = [{"reason": e.reason, "message": e.cause_message(), "field": e.field} for e in errs]
    return ApiError(422, status_body(422, "Invalid", '%s "%s" is invalid: %s' % (kind, name, agg), details))


UNAUTHORIZED = status_body(401, "Unauthorized", "Unauthorized")

# ---------------------------------------------------------------------------------------------
# patches


SMP_MERGE_KEYS = {
    "containers": "name",
    "initContainers": "name",
    "ephemeralContainers": "name",
    "containerStatuses": "name",
    "initContainerStatuses": "name",
    "ephemeralContainerStatuses": "name",
    "conditions": "type",
    "env": "name",
    "volumes": "name",
    "volumeMounts": "mountPath",
    "ports": "containerPort",
    "ownerReferences": "uid",
    "podIPs": "ip",
    "hostIPs": "ip",
    "imagePullSecrets": "name",
    "readinessGates": "conditionType",
}


def _strip_directives(v):
    if isinstance(v, dict):
        return {k: _strip_directives(x) for k, x in v.items() if not k.startswith("$")}
    if isinstance(v, list):
        return [_strip_directives(x) for x in v]
    return v


def strategic_merge(orig, patch):
    """Strategic merge patch for the core/apps types: lists named in SMP_MERGE_KEYS merge by key,
    every other list is replaced; null deletes; $patch replace/delete; other $ directives ignored."""
    if not isinstance(patch, dict):
        return dcopy(patch)
    if not isinstance(orig, dict):
        orig = {}
    if patch.get("$patch") == "replace":
        return _strip_directives(patch)
    result = dcopy(orig)
    for k, v in patch.items():
        if k.startswith("$"):
            continue
        if v is None:
            result.pop(k, None)
        elif isinstance(v, dict):
            if v.get("$patch") == "delete":
                result.pop(k, None)
            else:
                result[k] = strategic_merge(result.get(k), v)
        elif isinstance(v, list) and k in SMP_MERGE_KEYS and isinstance(result.get(k), list):
            result[k] = _merge_list(result[k], v, SMP_MERGE_KEYS[k])
        else:
            result[k] = _strip_directives(v)
    retain = patch.get("$retainKeys")
    if isinstance(retain, list):
        for k in list(result.keys()):
            if k not in retain and k not in patch:
                del result[k]
    return result


def _merge_list(orig, patch, key):
    if any(isinstance(i, dict) and i.get("$patch") == "replace" for i in patch):
        return [_strip_directives(i) for i in patch if not (isinstance(i, dict) and i.get("$patch") == "replace")]
    out = dcopy(orig)
    for item in patch:
        if not isinstance(item, dict) or key not in item:
            out.append(_strip_directives(item))
            continue
        idx = next((i for i, o in enumerate(out) if isinstance(o, dict) and o.get(key) == item[key]), None)
        if item.get("$patch") == "delete":
            if idx is not None:
                del out[idx]
        elif idx is not None:
            out[idx] = strategic_merge(out[idx], item)
        else:
            out.append(strategic_merge({}, item))
    return out


def merge_patch(orig, patch):
    """RFC 7386 JSON merge patch."""
    if not isinstance(patch, dict):
        return dcopy(patch)
    result = dcopy(orig) if isinstance(orig, dict) else {}
    for k, v in patch.items():
        if v is None:
            result.pop(k, None)
        else:
            result[k] = merge_patch(result.get(k), v)
    return result


class JsonPatchError(Exception):
    pass


def _ptr_parts(path):
    if path == "":
        return []
    if not path.startswith("/"):
        raise JsonPatchError('add operation does not apply: doc is missing path: "%s"' % path)
    return [p.replace("~1", "/").replace("~0", "~") for p in path[1:].split("/")]


def _ptr_parent(doc, parts, op, path):
    cur = doc
    for p in parts[:-1]:
        if isinstance(cur, dict) and p in cur:
            cur = cur[p]
        elif isinstance(cur, list) and p.isdigit() and int(p) < len(cur):
            cur = cur[int(p)]
        else:
            raise JsonPatchError('%s operation does not apply: doc is missing path: "%s"' % (op, path))
    return cur


def json_patch(doc, ops):
    """RFC 6902 JSON patch."""
    if not isinstance(ops, list):
        raise JsonPatchError("json: cannot unmarshal object into Go value of type jsonpatch.Patch")
    doc = dcopy(doc)
    for op in ops:
        if not isinstance(op, dict):
            raise JsonPatchError("invalid JSON patch operation")
        if not isinstance(op.get("path", ""), str) or not isinstance(op.get("from", ""), str):
            raise JsonPatchError("json: cannot unmarshal number into Go value of type string")
        kind = op.get("op")
        path = op.get("path", "")

        def get(p):
            parts = _ptr_parts(p)
            if not parts:
                return doc
            parent = _ptr_parent(doc, parts, kind, p)
            last = parts[-1]
            if isinstance(parent, dict) and last in parent:
                return parent[last]
            if isinstance(parent, list) and last.isdigit() and int(last) < len(parent):
                return parent[int(last)]
            raise JsonPatchError('%s operation does not apply: doc is missing path: "%s"' % (kind, p))

        def remove(p):
            parts = _ptr_parts(p)
            parent = _ptr_parent(doc, parts, kind, p)
            last = parts[-1]
            if isinstance(parent, dict) and last in parent:
                return parent.pop(last)
            if isinstance(parent, list) and last.isdigit() and int(last) < len(parent):
                return parent.pop(int(last))
            raise JsonPatchError('%s operation does not apply: doc is missing path: "%s"' % (kind, p))

        def add(p, value):
            nonlocal doc
            parts = _ptr_parts(p)
            if not parts:
                doc = value
                return
            parent = _ptr_parent(doc, parts, kind, p)
            last = parts[-1]
            if isinstance(parent, dict):
                parent[last] = value
            elif isinstance(parent, list):
                if last == "-":
                    parent.append(value)
                elif last.isdigit() and int(last) <= len(parent):
                    parent.insert(int(last), value)
                else:
                    raise JsonPatchError('%s operation does not apply: doc is missing path: "%s"' % (kind, p))
            else:
                raise JsonPatchError('%s operation does not apply: doc is missing path: "%s"' % (kind, p))

        if kind == "add":
            add(path, dcopy(op.get("value")))
        elif kind == "remove":
            remove(path)
        elif kind == "replace":
            get(path)
            remove(path) if _ptr_parts(path) else None
            add(path, dcopy(op.get("value")))
        elif kind == "move":
            v = remove(op.get("from", ""))
            add(path, v)
        elif kind == "copy":
            add(path, dcopy(get(op.get("from", ""))))
        elif kind == "test":
            if get(path) != op.get("value"):
                raise JsonPatchError("testing value %s failed: test failed" % path)
        else:
            raise JsonPatchError("Unexpected kind: %s" % kind)
    return doc


# ---------------------------------------------------------------------------------------------
# selectors


def parse_label_selector(s):
    """labelSelector query string -> list of (key, op, values)."""
    reqs = []
    if not s:
        return reqs
    # split on commas not inside parentheses
    parts, depth, cur = [], 0, ""
    for ch in s:
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        if ch == "," and depth == 0:
            parts.append(cur)
            cur = ""
        else:
            cur += ch
    parts.append(cur)
    for p in parts:
        p = p.strip()
        if not p:
            continue
        m = re.match(r"^([^\s!=]+)\s+(in|notin)\s+\((.*)\)$", p)
        if m:
            reqs.append((m.group(1), m.group(2), [v.strip() for v in m.group(3).split(",") if v.strip()]))
        elif "!=" in p:
            k, v = p.split("!=", 1)
            reqs.append((k.strip(), "!=", [v.strip()]))
        elif "==" in p:
            k, v = p.split("==", 1)
            reqs.append((k.strip(), "=", [v.strip()]))
        elif "=" in p:
            k, v = p.split("=", 1)
            reqs.append((k.strip(), "=", [v.strip()]))
        elif p.startswith("!"):
            reqs.append((p[1:].strip(), "!exists", []))
        else:
            reqs.append((p, "exists", []))
    return reqs


def labels_match(reqs, labels):
    labels = labels or {}
    for k, op, vals in reqs:
        if op == "=" and labels.get(k) != vals[0]:
            return False
        if op == "!=" and labels.get(k) == vals[0]:
            return False
        if op == "in" and labels.get(k) not in vals:
            return False
        if op == "notin" and k in labels and labels[k] in vals:
            return False
        if op == "exists" and k not in labels:
            return False
        if op == "!exists" and k in labels:
            return False
    return True


def match_label_selector_obj(sel, labels):
    """metav1.LabelSelector (matchLabels/matchExpressions) against labels. Empty selector matches all."""
    labels = labels or {}
    for k, v in (sel.get("matchLabels") or {}).items():
        if labels.get(k) != v:
            return False
    for e in sel.get("matchExpressions") or []:
        k, op, vals = e.get("key"), e.get("operator"), e.get("values") or []
        if op == "In" and labels.get(k) not in vals:
            return False
        if op == "NotIn" and k in labels and labels[k] in vals:
            return False
        if op == "Exists" and k not in labels:
            return False
        if op == "DoesNotExist" and k in labels:
            return False
    return True


FIELD_PATHS = {
    "metadata.name": lambda o: o.get("metadata", {}).get("name", ""),
    "metadata.namespace": lambda o: o.get("metadata", {}).get("namespace", ""),
    "spec.nodeName": lambda o: (o.get("spec") or {}).get("nodeName", ""),
    "spec.schedulerName": lambda o: (o.get("spec") or {}).get("schedulerName", ""),
    "spec.serviceAccountName": lambda o: (o.get("spec") or {}).get("serviceAccountName", ""),
    "spec.restartPolicy": lambda o: (o.get("spec") or {}).get("restartPolicy", ""),
    "status.phase": lambda o: (o.get("status") or {}).get("phase", ""),
    "status.podIP": lambda o: (o.get("status") or {}).get("podIP", ""),
    "status.nominatedNodeName": lambda o: (o.get("status") or {}).get("nominatedNodeName", ""),
    "involvedObject.name": lambda o: (o.get("involvedObject") or {}).get("name", ""),
    "involvedObject.namespace": lambda o: (o.get("involvedObject") or {}).get("namespace", ""),
    "involvedObject.kind": lambda o: (o.get("involvedObject") or {}).get("kind", ""),
    "involvedObject.uid": lambda o: (o.get("involvedObject") or {}).get("uid", ""),
    # events.k8s.io/v1 names of the same fields (events are stored in core/v1 form)
    "regarding.name": lambda o: (o.get("involvedObject") or {}).get("name", ""),
    "regarding.namespace": lambda o: (o.get("involvedObject") or {}).get("namespace", ""),
    "regarding.kind": lambda o: (o.get("involvedObject") or {}).get("kind", ""),
    "regarding.uid": lambda o: (o.get("involvedObject") or {}).get("uid", ""),
    "reportingController": lambda o: o.get("reportingComponent", ""),
    "source": lambda o: (o.get("source") or {}).get("component", ""),
    "reason": lambda o: o.get("reason", ""),
    "type": lambda o: o.get("type", ""),
}


def parse_field_selector(s, kind):
    reqs = []
    if not s:
        return reqs
    for p in s.split(","):
        p = p.strip()
        if not p:
            continue
        if "!=" in p:
            k, v = p.split("!=", 1)
            op = "!="
        elif "==" in p:
            k, v = p.split("==", 1)
            op = "="
        elif "=" in p:
            k, v = p.split("=", 1)
            op = "="
        else:
            raise err_bad_request('invalid selector: \'%s\'; can\'t understand \'%s\'' % (s, p))
        k = k.strip()
        if k not in FIELD_PATHS:
            raise err_bad_request(
                '"%s" is not a known field selector: only "metadata.name", "metadata.namespace"' % k
                if kind != "Pod"
                else 'field label not supported: %s' % k
            )
        reqs.append((k, op, v.strip()))
    return reqs


def fields_match(reqs, obj):
    for k, op, v in reqs:
        got = FIELD_PATHS[k](obj)
        if (op == "=" and got != v) or (op == "!=" and got == v):
            return False
    return True


# ---------------------------------------------------------------------------------------------
# resource table


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
GIT = {
    "1.36": ("v1.36.2", "98b35193b2ac7a23a673325f5e9b830ecd5ba406", "2026-08-21T00:00:00Z"),
    "1.33": ("v1.33.13", "2df3632e823a813f64218dfc6f5c2e70d28ecdf0", "2026-01-01T00:00:00Z"),
}


# ---------------------------------------------------------------------------------------------
# pod semantics


RESIZE_NONE, RESIZE_SPEC, RESIZE_SUBRESOURCE = "none", "spec", "subresource"

POD_UPDATE_FORBIDDEN = (
    "pod updates may not change fields other than `spec.containers[*].image`,`spec.initContainers[*].image`,"
    "`spec.activeDeadlineSeconds`,`spec.tolerations` (only additions to existing tolerations),"
    "`spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was previously negative)"
)


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


def _res_list(c, which):
    r = (c.get("resources") or {}).get(which)
    return r if isinstance(r, dict) else {}


def pod_qos(pod):
    """qos.ComputePodQOS on cpu and memory."""
    requests, limits = {}, {}
    guaranteed = True
    spec = pod.get("spec") or {}
    for c in list(spec.get("initContainers") or []) + list(spec.get("containers") or []):
        req = {k: v for k, v in _res_list(c, "requests").items() if k in ("cpu", "memory")}
        lim = {k: v for k, v in _res_list(c, "limits").items() if k in ("cpu", "memory")}
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
                for k, v in _res_list(c, which).items():
                    try:
                        parse_quantity(v)
                    except ValueError as e:
                        raise err_bad_request('Pod in version "v1" cannot be handled as a Pod: %s' % e)


def _first_running_supports_resize(pod):
    for cs in (pod.get("status") or {}).get("containerStatuses") or []:
        if "running" in (cs.get("state") or {}):
            return "resources" in cs and cs["resources"] is not None
    return True


def _rl_equal(a, b):
    if set(a.keys()) != set(b.keys()):
        return False
    for k in a:
        try:
            if parse_quantity(a[k]) != parse_quantity(b[k]):
                return False
        except ValueError:
            return False
    return True


def validate_pod_resize(old, new, minor):
    """ValidatePodResize: old and new pods differ only in containers' resources/resizePolicy."""
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
    oc = old["spec"].get("containers") or []
    nc = new["spec"].get("containers") or []
    for ix, c in enumerate(oc):
        n = nc[ix] if ix < len(nc) else {}
        for which, word in (("requests", "requests"), ("limits", "limits")):
            o_l, n_l = _res_list(c, which), _res_list(n, which)
            if len(o_l) > len(n_l) or any(k not in n_l for k in o_l):
                errs.append(
                    FieldErr(
                        "FieldValueForbidden",
                        "spec.containers[%d].resources.%s" % (ix, which),
                        "resource %s cannot be removed" % word,
                    )
                )
        if minor <= 33:
            o_mem = _res_list(c, "limits").get("memory")
            n_mem = _res_list(n, "limits").get("memory")
            policy = {p.get("resourceName"): p.get("restartPolicy") for p in (c.get("resizePolicy") or [])}
            if o_mem is not None and n_mem is not None and policy.get("memory") != "RestartContainer":
                if parse_quantity(n_mem) < parse_quantity(o_mem):
                    errs.append(
                        FieldErr(
                            "FieldValueForbidden",
                            "spec.containers[%d].resources.limits[memory]" % ix,
                            "memory limits cannot be decreased unless resizePolicy is RestartContainer",
                        )
                    )
    # only cpu and memory may change; resizePolicy may not change through resize
    mutable_only = True
    for ix, c in enumerate(oc):
        n = nc[ix] if ix < len(nc) else {}
        if (c.get("resizePolicy") or []) != (n.get("resizePolicy") or []):
            mutable_only = False
        for which in ("requests", "limits"):
            o_l, n_l = _res_list(c, which), _res_list(n, which)
            o_other = {k: v for k, v in o_l.items() if k not in ("cpu", "memory")}
            n_other = {k: v for k, v in n_l.items() if k not in ("cpu", "memory")}
            if not _rl_equal(o_other, n_other):
                mutable_only = False
            if not o_l and n_l and old_qos != "BestEffort":
                # a list appearing from nothing is not a cpu/memory change of an existing list
                if any(k not in ("cpu", "memory") for k in n_l):
                    mutable_only = False
    if not mutable_only:
        errs.append(FieldErr("FieldValueForbidden", "spec", "only cpu and memory resources are mutable"))
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
                    if allow_resources:
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


def _type_err(kind, field, want, got):
    names = {dict: "object", list: "array", str: "string", int: "number", float: "number", bool: "bool"}
    return err_bad_request(
        '%s in version "v1" cannot be handled as a %s: json: cannot unmarshal %s into Go struct field %s of type %s'
        % (kind, kind, names.get(type(got), "null"), field, want)
    )


def check_object_types(kind, obj):
    """The decoding step of the real apiserver: fields of the wrong JSON type are a 400, never stored."""
    if not isinstance(obj, dict):
        raise _type_err(kind, kind, "object", obj)
    md = obj.get("metadata")
    if md is not None and not isinstance(md, dict):
        raise _type_err(kind, "%s.metadata" % kind, "v1.ObjectMeta", md)
    md = md or {}
    for f in ("name", "generateName", "namespace", "resourceVersion", "uid"):
        if md.get(f) is not None and not isinstance(md[f], str):
            raise _type_err(kind, "ObjectMeta.metadata.%s" % f, "string", md[f])
    for f in ("labels", "annotations"):
        v = md.get(f)
        if v is not None and (not isinstance(v, dict) or not all(isinstance(x, str) for x in v.values())):
            raise _type_err(kind, "ObjectMeta.metadata.%s" % f, "map[string]string", v)
    refs = md.get("ownerReferences")
    if refs is not None and (not isinstance(refs, list) or not all(isinstance(r, dict) for r in refs)):
        raise _type_err(kind, "ObjectMeta.metadata.ownerReferences", "[]v1.OwnerReference", refs)
    for f in ("spec", "status"):
        if obj.get(f) is not None and not isinstance(obj[f], dict):
            raise _type_err(kind, "%s.%s" % (kind, f), "object", obj[f])
    if kind == "Pod":
        spec = obj.get("spec") or {}
        if spec.get("nodeName") is not None and not isinstance(spec["nodeName"], str):
            raise _type_err(kind, "PodSpec.spec.nodeName", "string", spec["nodeName"])
        tol = spec.get("tolerations")
        if tol is not None and (not isinstance(tol, list) or not all(isinstance(t, dict) for t in tol)):
            raise _type_err(kind, "PodSpec.spec.tolerations", "[]v1.Toleration", tol)
        for key in ("initContainers", "containers"):
            cs = spec.get(key)
            if cs is None:
                continue
            if not isinstance(cs, list):
                raise _type_err(kind, "PodSpec.spec.%s" % key, "[]v1.Container", cs)
            for c in cs:
                if not isinstance(c, dict):
                    raise _type_err(kind, "PodSpec.spec.%s" % key, "v1.Container", c)
                if c.get("name") is not None and not isinstance(c["name"], str):
                    raise _type_err(kind, "Container.spec.%s.name" % key, "string", c["name"])
                res = c.get("resources")
                if res is not None and not isinstance(res, dict):
                    raise _type_err(kind, "Container.spec.%s.resources" % key, "v1.ResourceRequirements", res)
                for which in ("requests", "limits"):
                    rl = (res or {}).get(which)
                    if rl is not None and not isinstance(rl, dict):
                        raise _type_err(kind, "ResourceRequirements.spec.%s.resources.%s" % (key, which), "v1.ResourceList", rl)
                rp = c.get("resizePolicy")
                if rp is not None and (not isinstance(rp, list) or not all(isinstance(p, dict) for p in rp)):
                    raise _type_err(kind, "Container.spec.%s.resizePolicy" % key, "[]v1.ContainerResizePolicy", rp)
        st = obj.get("status") or {}
        for f in ("conditions", "containerStatuses", "initContainerStatuses"):
            v = st.get(f)
            if v is not None and (not isinstance(v, list) or not all(isinstance(x, dict) for x in v)):
                raise _type_err(kind, "PodStatus.status.%s" % f, "[]object", v)
        for cs in st.get("containerStatuses") or []:
            for f in ("state", "lastState", "resources", "allocatedResources"):
                if cs.get(f) is not None and not isinstance(cs[f], dict):
                    raise _type_err(kind, "ContainerStatus.status.containerStatuses.%s" % f, "object", cs[f])
        for f in ("phase", "podIP", "hostIP", "qosClass"):
            if st.get(f) is not None and not isinstance(st[f], str):
                raise _type_err(kind, "PodStatus.status.%s" % f, "string", st[f])
    if kind == "PodDisruptionBudget":
        st = obj.get("status") or {}
        for f in ("observedGeneration", "disruptionsAllowed", "currentHealthy", "desiredHealthy", "expectedPods"):
            if st.get(f) is not None and (isinstance(st[f], bool) or not isinstance(st[f], int)):
                raise _type_err(kind, "PodDisruptionBudgetStatus.status.%s" % f, "int32", st[f])
        sel = (obj.get("spec") or {}).get("selector")
        if sel is not None and not isinstance(sel, dict):
            raise _type_err(kind, "PodDisruptionBudgetSpec.spec.selector", "v1.LabelSelector", sel)


def check_delete_options(opts):
    """DeleteOptions from a body, type-checked the way the apiserver's decoder would."""
    if opts is None:
        return {}
    if not isinstance(opts, dict):
        raise err_bad_request("json: cannot unmarshal %s into Go value of type v1.DeleteOptions" % type(opts).__name__)
    g = opts.get("gracePeriodSeconds")
    if g is not None and (isinstance(g, bool) or not isinstance(g, int)):
        raise err_bad_request("json: cannot unmarshal into Go struct field DeleteOptions.gracePeriodSeconds of type int64")
    pre = opts.get("preconditions")
    if pre is not None and not isinstance(pre, dict):
        raise err_bad_request("json: cannot unmarshal into Go struct field DeleteOptions.preconditions")
    dr = opts.get("dryRun")
    if dr is not None and (not isinstance(dr, list) or not all(isinstance(x, str) for x in dr)):
        raise err_bad_request("json: cannot unmarshal into Go struct field DeleteOptions.dryRun of type []string")
    return dict(opts)


# ---------------------------------------------------------------------------------------------
# the store


META_ORDER = ["name", "generateName", "namespace", "selfLink", "uid", "resourceVersion", "generation", "creationTimestamp",
              "deletionTimestamp", "deletionGracePeriodSeconds", "labels", "annotations", "ownerReferences", "finalizers"]


def order_meta(md):
    """Metadata keys in the order the apiserver writes them (easier to read in dumps)."""
    out = {k: md[k] for k in META_ORDER if k in md}
    for k, v in md.items():
        if k not in out:
            out[k] = v
    return out


class Watcher:
    def __init__(self):
        self.closed = False
        self.abort = False


class Store:
    """All objects, the global resourceVersion counter and a bounded event history for watches."""

    def __init__(self, history_size=1000, start_rv=100):
        self.lock = threading.RLock()
        self.cond = threading.Condition(self.lock)
        self.rv = start_rv
        self.floor = start_rv  # compaction: nothing older than this can be replayed, any resource
        self.key_floor = {}  # per resource: the newest event dropped from the bounded history
        self.objs = {}  # key -> {(ns, name): obj}
        self.history = collections.deque()
        self.history_size = history_size
        self.watchers = set()

    def next_rv(self):
        self.rv += 1
        return self.rv

    def get(self, key, ns, name):
        return self.objs.get(key, {}).get((ns or "", name))

    def items(self, key, ns=None):
        out = []
        for (ons, _), o in sorted(self.objs.get(key, {}).items()):
            if ns is None or ons == ns:
                out.append(o)
        return out

    def _record(self, etype, key, obj, old):
        self.history.append((int(obj["metadata"]["resourceVersion"]), etype, key, dcopy(obj), old))
        while len(self.history) > self.history_size:
            ev = self.history.popleft()
            self.key_floor[ev[2]] = ev[0]
        self.cond.notify_all()

    def put(self, key, obj, etype=None):
        """Store obj under a fresh resourceVersion; returns the stored object (a copy)."""
        with self.lock:
            md = obj["metadata"]
            k = (md.get("namespace", ""), md["name"])
            old = self.objs.get(key, {}).get(k)
            md["resourceVersion"] = str(self.next_rv())
            obj["metadata"] = order_meta(md)
            stored = dcopy(obj)
            self.objs.setdefault(key, {})[k] = stored
            self._record(etype or ("MODIFIED" if old else "ADDED"), key, stored, old)
            return dcopy(stored)

    def remove(self, key, ns, name):
        with self.lock:
            old = self.objs.get(key, {}).pop((ns or "", name), None)
            if old is None:
                return None
            gone = dcopy(old)
            gone["metadata"]["resourceVersion"] = str(self.next_rv())
            self._record("DELETED", key, gone, old)
            return gone

    def floor_for(self, key):
        """Oldest resourceVersion a watch of this resource can start from (like a per-type watch cache)."""
        return max(self.floor, self.key_floor.get(key, 0))

    def compact(self):
        with self.lock:
            self.history.clear()
            self.floor = self.rv
            self.key_floor = {}
            self.cond.notify_all()

    def reset(self):
        with self.lock:
            self.objs = {}
            self.history.clear()
            self.floor = self.rv
            self.key_floor = {}
            for w in self.watchers:
                w.abort = True
            self.cond.notify_all()


# ---------------------------------------------------------------------------------------------
# the server state (everything the control API can change)


class Fake:
    def __init__(self, args):
        self.args = args
        self.store = Store(history_size=args.history)
        self.lock = self.store.lock
        self.tokens = {}  # token -> {"user":..., "expires": epoch or None}
        self.admin_token = args.admin_token
        self.version = args.version
        self.feature_gate = not args.feature_gate_off
        self.faults = []
        self.fault_seq = 0
        self.watch_drop = None  # {"after": s, "until": epoch, "mode": "close"|"end"}
        self.bookmark_interval = args.bookmark_interval
        self.default_watch_timeout = 1800
        self.requests = collections.deque(maxlen=args.request_log)
        self.forbid = []  # {"user","verb","resource"}
        self.kubelet = {
            "mode": "apply",
            "delay": 0.2,
            "pods": {},
            "auto_start": False,
            "cgroup_root": None,
            "cgroup_driver": "systemd",
            "runtime": "cri-containerd",
            "delete_grace": 0.5,
            "infeasible_message": None,
            "error_message": None,
            "nodes": None,
            "cpu_cfs_quota": True,
            "runtime_weight": "old",
            "runtime_systemd_quota_roundup": False,
            "cpu_manager_policy": "none",
            "pod_level_resources": None,
        }
        self.kubelet_seen = {}  # uid + "/del" -> when the kubelet first saw the pod terminating
        self.kubelet_pods = {}  # uid -> the kubelet's state of a running pod (allocation, actuation)
        self.kubelet_writes = collections.deque(maxlen=5000)  # cgroup file writes, in order
        self.controller = {"enabled": False, "webhook": None, "log": []}
        self.port = None
        self.state_file = args.state_file
        self.stop_event = threading.Event()

    # ---- versions
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

    # ---- persistence
    def save_state(self):
        if not self.state_file:
            return
        with self.lock:
            data = {"rv": self.store.rv, "objs": [[k, list(ns_name), o] for k, d in self.store.objs.items() for ns_name, o in d.items()]}
        tmp = self.state_file + ".tmp"
        with open(tmp, "w") as f:
            json.dump(data, f)
        os.replace(tmp, self.state_file)

    def load_state(self):
        if not self.state_file or not os.path.exists(self.state_file):
            return
        with open(self.state_file) as f:
            data = json.load(f)
        with self.lock:
            self.store.rv = max(self.store.rv, int(data.get("rv", 0)))
            self.store.floor = self.store.rv
            for k, ns_name, o in data.get("objs", []):
                self.store.objs.setdefault(k, {})[tuple(ns_name)] = o

    # ---- auth
    def authenticate(self, headers, peer_cert=None):
        auth = headers.get("Authorization", "")
        if not auth and peer_cert:
            # x509 client certificate (verified against --client-ca): the user is the subject CN
            for rdn in peer_cert.get("subject", ()):
                for k, v in rdn:
                    if k == "commonName":
                        return v
        if not auth.startswith("Bearer "):
            return None
        tok = auth[7:].strip()
        with self.lock:
            t = self.tokens.get(tok)
            if t is None:
                return None
            if t.get("expires") is not None and time.time() >= t["expires"]:
                return None
            return t.get("user", "admin")

    def is_admin(self, headers):
        auth = headers.get("Authorization", "")
        if not self.admin_token:
            return self.authenticate(headers) is not None
        return auth == "Bearer " + self.admin_token

    def check_forbidden(self, user, verb, res, sub, ns, name):
        resource = res.resource + ("/" + sub if sub else "")
        for rule in self.forbid:
            if rule.get("user") not in (None, user):
                continue
            if rule.get("verb") not in (None, verb):
                continue
            if rule.get("resource") not in (None, resource):
                continue
            target = '%s "%s"' % (gr_name(res), name) if name else gr_name(res)
            where = ' in the namespace "%s"' % ns if ns else (" at the cluster scope" if not res.namespaced else "")
            msg = '%s is forbidden: User "%s" cannot %s resource "%s" in API group "%s"%s' % (
                target,
                user,
                verb,
                resource,
                res.group,
                where,
            )
            det = res_details(res, name) if name else {"group": res.group, "kind": res.resource} if res.group else {"kind": res.resource}
            raise ApiError(403, status_body(403, "Forbidden", msg, det))

    # ---- generic object life cycle
    def new_meta(self, res, obj, ns, defer_name=False):
        md = obj.setdefault("metadata", {})
        if not isinstance(md, dict):
            raise err_bad_request("metadata must be an object")
        if res.namespaced:
            if md.get("namespace") and ns and md["namespace"] != ns:
                raise ApiError(
                    400,
                    status_body(
                        400,
                        "BadRequest",
                        "the namespace of the provided object does not match the namespace sent on the request",
                    ),
                )
            md["namespace"] = ns or md.get("namespace") or "default"
        else:
            md.pop("namespace", None)
        if not md.get("name"):
            if md.get("generateName"):
                # pods keep an empty name through admission, like the real apiserver
                if not defer_name:
                    md["name"] = md["generateName"] + rand_suffix()
            else:
                raise err_invalid(
                    res.kind,
                    "",
                    [FieldErr("FieldValueRequired", "metadata.name", "name or generateName is required")],
                    group=res.group or None,
                )
        md["uid"] = str(uuid.uuid4())
        md.pop("resourceVersion", None)
        md["creationTimestamp"] = now_iso()
        for k in ("deletionTimestamp", "deletionGracePeriodSeconds", "managedFields", "selfLink"):
            md.pop(k, None)
        if res.resource not in ("events", "serviceaccounts", "configmaps", "namespaces", "nodes", "leases") and res.group != "rbac.authorization.k8s.io":
            # pods carry metadata.generation only from 1.33 on (KEP-5067)
            if res is not RES_POD or self.minor >= 33:
                md["generation"] = 1
        obj["apiVersion"] = res.api_version
        obj["kind"] = res.kind
        # the real server writes kind/apiVersion first, then metadata, spec, status
        ordered = {"kind": obj["kind"], "apiVersion": obj["apiVersion"], "metadata": obj["metadata"]}
        for k, v in obj.items():
            if k not in ordered:
                ordered[k] = v
        return ordered

    def create(self, res, ns, obj, dry_run=False, via_controller=False):
        if not isinstance(obj, dict):
            raise err_bad_request("Object 'Kind' is missing in '%s'" % json.dumps(obj))
        check_object_types(res.kind, obj)
        obj = self.new_meta(res, dcopy(obj), ns, defer_name=res is RES_POD)
        if res is RES_POD:
            validate_quantities(obj)
            if not (obj.get("spec") or {}).get("containers"):
                raise err_invalid(
                    "Pod", obj["metadata"].get("name", ""), [FieldErr("FieldValueRequired", "spec.containers", "")]
                )
            pod_default(obj)
            canonicalize_resource_lists(obj)
            st = obj.get("status") if isinstance(obj.get("status"), dict) else {}
            obj["status"] = {"phase": st.get("phase", "Pending"), "qosClass": pod_qos(obj)}
            if self.controller.get("webhook") and not dry_run:
                obj = self.call_webhook(obj, via_controller)
                validate_quantities(obj)
                canonicalize_resource_lists(obj)
                obj["status"]["qosClass"] = pod_qos(obj)
            md = obj["metadata"]
            if not md.get("name"):
                md["name"] = md["generateName"] + rand_suffix()
        elif res is RES_EVENT:
            for k, v in (("eventTime", None), ("reportingComponent", ""), ("reportingInstance", "")):
                obj.setdefault(k, v)
        elif res is RES_EVENT2:
            if not obj.get("eventTime"):
                raise err_invalid(
                    "Event", obj["metadata"]["name"], [FieldErr("FieldValueRequired", "eventTime", "")], group=None
                )
            obj = event_to_core(obj)
            for k, v in (("reportingComponent", ""), ("reportingInstance", ""), ("source", {})):
                obj.setdefault(k, v)
        elif res is RES_NODE:
            canonicalize_resource_lists(obj)
        elif res is RES_PDB:
            obj["status"] = {"disruptionsAllowed": 0, "currentHealthy": 0, "desiredHealthy": 0, "expectedPods": 0}
        with self.lock:
            md = obj["metadata"]
            if self.store.get(res.key, md.get("namespace"), md["name"]) is not None:
                raise err_already_exists(res, md["name"])
            if dry_run:
                return to_external(res, obj)
            return to_external(res, self.store.put(res.key, obj, "ADDED"))

    def get(self, res, ns, name):
        with self.lock:
            o = self.store.get(res.key, ns, name)
            if o is None:
                raise err_not_found(res, name)
            o = dcopy(o)
        return to_external(res, o)

    def list(self, res, ns, q):
        lsel = parse_label_selector(q.get("labelSelector", ""))
        fsel = parse_field_selector(q.get("fieldSelector", ""), res.kind)
        after = None
        rv = None
        if q.get("continue"):
            # pages are cut by (namespace, name); the token carries the first page's resourceVersion
            try:
                tok = json.loads(base64.urlsafe_b64decode(q["continue"].encode()))
                after, rv = tuple(tok["after"]), tok["rv"]
            except (ValueError, KeyError, TypeError):
                raise err_bad_request("continue key is not valid: illegal base64 data at input byte 0")
        try:
            limit = int(q.get("limit") or 0)
        except ValueError:
            raise err_bad_request("limit: Invalid value")
        with self.lock:
            matched = [
                o
                for o in self.store.items(res.key, ns)
                if labels_match(lsel, o["metadata"].get("labels")) and fields_match(fsel, o)
                and (after is None or (o["metadata"].get("namespace", ""), o["metadata"]["name"]) > after)
            ]
            rv = rv or str(self.store.rv)
            page = matched[:limit] if limit > 0 else matched
            items = [to_external(res, dcopy(o)) for o in page]
        md = {"resourceVersion": rv}
        if limit > 0 and len(matched) > limit:
            last = page[-1]["metadata"]
            md["continue"] = base64.urlsafe_b64encode(
                json.dumps({"rv": rv, "after": [last.get("namespace", ""), last["name"]]}).encode()
            ).decode()
            md["remainingItemCount"] = len(matched) - limit
        for o in items:
            o.pop("kind", None)
            o.pop("apiVersion", None)
        return {"kind": res.kind + "List", "apiVersion": res.api_version, "metadata": md, "items": items}

    def apply_patch(self, cur, ctype, body):
        ctype = (ctype or "").split(";")[0].strip()
        try:
            patch = json.loads(body.decode() if body else "null")
        except ValueError as e:
            if ctype == "application/apply-patch+yaml":
                raise err_bad_request("error decoding YAML: %s" % e)
            raise err_bad_request("error decoding patch: %s" % e)
        if ctype == "application/strategic-merge-patch+json":
            if not isinstance(patch, dict):
                raise err_bad_request("error decoding patch: json: cannot unmarshal into Go value of type map[string]interface {}")
            return strategic_merge(cur, patch), patch
        if ctype == "application/merge-patch+json":
            return merge_patch(cur, patch), patch
        if ctype == "application/json-patch+json":
            try:
                return json_patch(cur, patch), None
            except JsonPatchError as e:
                raise ApiError(422, status_body(422, "Invalid", str(e)))
        if ctype == "application/apply-patch+yaml":
            if not isinstance(patch, dict):
                raise err_bad_request("error decoding YAML: not an object")
            return strategic_merge(cur, patch), patch
        raise err_unsupported_media(ctype)

    def update(self, res, ns, name, sub, new, method, ctype, body, dry_run=False, q=None):
        """PUT (new = full object) and PATCH (ctype/body) of an object or its status."""
        with self.lock:
            cur = self.store.get(res.key, ns, name)
            if cur is None:
                raise err_not_found(res, name)
            cur = to_external(res, dcopy(cur))
            if method == "PATCH":
                new, _ = self.apply_patch(cur, ctype, body)
                if not isinstance(new, dict):
                    raise err_bad_request("patched object is not an object")
            else:
                if not isinstance(new, dict):
                    raise err_bad_request("body must be an object")
                nmd = new.get("metadata") or {}
                if nmd.get("name") and nmd.get("name") != name:
                    raise err_bad_request(
                        "the name of the object (%s) does not match the name on the URL (%s)" % (nmd.get("name"), name)
                    )
            # optimistic concurrency: a resourceVersion in the body (or left by the patch) must be current
            want = (new.get("metadata") or {}).get("resourceVersion") if isinstance(new.get("metadata"), dict) else None
            if want and want != cur["metadata"]["resourceVersion"]:
                raise err_conflict(res, name)
            check_object_types(res.kind, new)
            if res in (RES_POD, RES_NODE):
                validate_quantities(new)
                canonicalize_resource_lists(new)
            if res is RES_POD:
                out = self.pod_update(cur, new, sub, dry_run)
            else:
                out = self.generic_update(res, cur, new, sub)
            if out is None:
                return cur
            if dry_run:
                return out
            return to_external(res, self.store.put(res.key, to_internal(res, out)))

    def _keep_immutable_meta(self, cur, new):
        md = dcopy(new.get("metadata") or {})
        cmd = cur["metadata"]
        for k in ("name", "namespace", "uid", "creationTimestamp", "generation", "deletionTimestamp", "deletionGracePeriodSeconds", "resourceVersion"):
            if k in cmd:
                md[k] = cmd[k]
            else:
                md.pop(k, None)
        md.pop("managedFields", None)
        return md

    def generic_update(self, res, cur, new, sub):
        if sub == "status":
            out = dcopy(cur)
            if "status" in new:
                out["status"] = dcopy(new["status"])
            return out
        out = dcopy(new)
        out["metadata"] = self._keep_immutable_meta(cur, new)
        out["kind"], out["apiVersion"] = cur["kind"], cur["apiVersion"]
        if "status" in cur and res.subs and "status" in res.subs:
            out["status"] = dcopy(cur["status"])
        if "generation" in cur["metadata"] and out.get("spec") != cur.get("spec"):
            out["metadata"]["generation"] = cur["metadata"]["generation"] + 1
        return out

    def pod_update(self, cur, new, sub, dry_run):
        name = cur["metadata"]["name"]
        if sub == "status":
            out = dcopy(cur)
            st = new.get("status")
            out["status"] = pod_status_default(dcopy(st) if isinstance(st, dict) else {})
            out["status"]["qosClass"] = (cur.get("status") or {}).get("qosClass") or pod_qos(cur)
            return out
        if sub == "resize":
            # dropNonResizeUpdates: only containers' resources and resizePolicy are taken from the request
            out = dcopy(cur)
            newc = {c.get("name"): c for c in ((new.get("spec") or {}).get("containers") or []) if isinstance(c, dict)}
            for c in out["spec"].get("containers") or []:
                n = newc.get(c.get("name"))
                if n is None:
                    continue
                r = n.get("resources")
                c["resources"] = dcopy(r) if isinstance(r, dict) else {}
                if "resizePolicy" in n:
                    c["resizePolicy"] = dcopy(n["resizePolicy"])
                else:
                    c.pop("resizePolicy", None)
            validate_quantities(out)
            validate_pod_resize(cur, out, self.minor)
            if out["spec"] != cur["spec"] or dry_run:
                # the transcripts show the bumped generation even on a dry-run reply
                if out["spec"] != cur["spec"]:
                    bump_generation(cur, out)
            if out["spec"] == cur["spec"]:
                return out if dry_run else None
            return out
        # the pod itself: metadata and a few spec fields
        out = dcopy(cur)
        out["metadata"] = self._keep_immutable_meta(cur, new)
        if not isinstance(new.get("spec"), dict):
            new_spec = cur["spec"]
        else:
            new_spec = new["spec"]
        validate_quantities({"spec": new_spec})
        allow_res = self.resize_mode == RESIZE_SPEC
        diff = pod_spec_update_diff(cur["spec"], new_spec, allow_res)
        if diff is not None:
            msg = POD_UPDATE_FORBIDDEN + "\n" + diff
            raise err_invalid("Pod", name, [FieldErr("FieldValueForbidden", "spec", msg)])
        out["spec"] = dcopy(new_spec)
        if allow_res and resources_changed(cur["spec"], new_spec):
            tmp = dcopy(cur)
            tmp["spec"] = dcopy(new_spec)
            validate_pod_resize(cur, tmp, self.minor)
            out.setdefault("status", {})["resize"] = "Proposed"
        if out["spec"] != cur["spec"]:
            bump_generation(cur, out)
        if out == cur:
            return None
        return out

    def delete(self, res, ns, name, opts, dry_run=False):
        with self.lock:
            cur = self.store.get(res.key, ns, name)
            if cur is None:
                raise err_not_found(res, name)
            pre = (opts or {}).get("preconditions") or {}
            if pre.get("uid") and pre["uid"] != cur["metadata"]["uid"]:
                raise ApiError(
                    409,
                    status_body(
                        409,
                        "Conflict",
                        'Operation cannot be fulfilled on %s "%s": Precondition failed: UID in precondition: %s, UID in object meta: %s'
                        % (gr_name(res), name, pre["uid"], cur["metadata"]["uid"]),
                        res_details(res, name),
                    ),
                )
            if pre.get("resourceVersion") and pre["resourceVersion"] != cur["metadata"]["resourceVersion"]:
                raise err_conflict(res, name)
            if res is RES_POD:
                grace = (opts or {}).get("gracePeriodSeconds")
                if grace is None:
                    grace = cur["spec"].get("terminationGracePeriodSeconds", 30)
                if dry_run:
                    return dcopy(cur)
                if cur["metadata"].get("deletionTimestamp"):
                    return dcopy(cur)
                if grace > 0 and cur["spec"].get("nodeName") and (cur.get("status") or {}).get("phase") not in ("Succeeded", "Failed"):
                    return self.mark_terminating(cur, grace)
                gone = self.store.remove(res.key, ns, name)
                self.on_pod_gone(gone)
                return gone
            if dry_run:
                return status_body(200, None, None, dict(res_details(res, name), uid=cur["metadata"]["uid"]), status="Success")
            self.store.remove(res.key, ns, name)
            det = res_details(res, name)
            det["uid"] = cur["metadata"]["uid"]
            return status_body(200, None, None, det, status="Success")

    def mark_terminating(self, cur, grace):
        out = dcopy(cur)
        out["metadata"]["deletionTimestamp"] = now_iso(grace)
        out["metadata"]["deletionGracePeriodSeconds"] = grace
        bump_generation(cur, out)
        return self.store.put(RES_POD.key, out)

    # ---- eviction
    def evict(self, ns, name, body, q):
        if not isinstance(body, dict):
            raise err_bad_request("Eviction body must be an object")
        opts = check_delete_options(body.get("deleteOptions"))
        dry_run = "All" in (opts.get("dryRun") or []) or q.get("dryRun") == "All"
        with self.lock:
            pod = self.store.get(RES_POD.key, ns, name)
            if pod is None:
                raise err_not_found(RES_POD, name)
            pre = opts.get("preconditions") or {}
            if pre.get("uid") and pre["uid"] != pod["metadata"]["uid"]:
                raise ApiError(
                    409,
                    status_body(
                        409,
                        "Conflict",
                        'Operation cannot be fulfilled on Pod "%s": the UID in the precondition (%s) does not match the UID '
                        "in record (%s). The object might have been deleted and then recreated"
                        % (name, pre["uid"], pod["metadata"]["uid"]),
                        {"name": name, "kind": "Pod"},
                    ),
                )
            ok = status_body(201, None, None, status="Success")
            if pod["metadata"].get("deletionTimestamp"):
                return ok
            phase = (pod.get("status") or {}).get("phase")
            if phase not in ("Succeeded", "Failed", "Pending"):
                pdbs = [
                    p
                    for p in self.store.items(RES_PDB.key, ns)
                    if isinstance((p.get("spec") or {}).get("selector"), dict)
                    and match_label_selector_obj(p["spec"]["selector"], pod["metadata"].get("labels"))
                ]
                if len(pdbs) > 1:
                    raise ApiError(
                        500,
                        status_body(
                            500,
                            None,
                            "This pod has more than one PodDisruptionBudget, which the eviction subresource does not support.",
                        ),
                    )
                if pdbs:
                    pdb = pdbs[0]
                    st = pdb.get("status") or {}
                    pname = pdb["metadata"]["name"]
                    msg = "Cannot evict pod as it would violate the pod's disruption budget."
                    if st.get("observedGeneration", 0) < pdb["metadata"].get("generation", 1):
                        raise ApiError(
                            429,
                            status_body(
                                429,
                                "TooManyRequests",
                                msg,
                                {
                                    "causes": [
                                        {
                                            "reason": "DisruptionBudget",
                                            "message": "The disruption budget %s is still being processed by the server." % pname,
                                        }
                                    ],
                                    "retryAfterSeconds": 10,
                                },
                            ),
                            {"Retry-After": "10"},
                        )
                    if st.get("disruptionsAllowed", 0) < 0:
                        raise ApiError(403, status_body(403, "Forbidden", "pdb disruptions allowed is negative"))
                    if st.get("disruptionsAllowed", 0) == 0:
                        raise ApiError(
                            429,
                            status_body(
                                429,
                                "TooManyRequests",
                                msg,
                                {
                                    "causes": [
                                        {
                                            "reason": "DisruptionBudget",
                                            "message": "The disruption budget %s needs %d healthy pods and has %d currently"
                                            % (pname, st.get("desiredHealthy", 0), st.get("currentHealthy", 0)),
                                        }
                                    ]
                                },
                            ),
                        )
                    if not dry_run:
                        npdb = dcopy(pdb)
                        nst = npdb.setdefault("status", {})
                        nst["disruptionsAllowed"] = nst.get("disruptionsAllowed", 0) - 1
                        nst.setdefault("disruptedPods", {})[name] = now_iso()
                        self.store.put(RES_PDB.key, npdb)
            if dry_run:
                return ok
            # DisruptionTarget condition first, then the graceful delete
            p2 = dcopy(pod)
            conds = p2.setdefault("status", {}).setdefault("conditions", [])
            conds[:] = [c for c in conds if c.get("type") != "DisruptionTarget"]
            conds.append(
                {
                    "type": "DisruptionTarget",
                    "status": "True",
                    "lastProbeTime": None,
                    "lastTransitionTime": now_iso(),
                    "reason": "EvictionByEvictionAPI",
                    "message": "Eviction API: evicting",
                }
            )
            p2 = self.store.put(RES_POD.key, p2)
            grace = opts.get("gracePeriodSeconds")
            if grace is None:
                grace = p2["spec"].get("terminationGracePeriodSeconds", 30)
            if grace > 0 and p2["spec"].get("nodeName") and phase not in ("Succeeded", "Failed"):
                self.mark_terminating(p2, grace)
            else:
                gone = self.store.remove(RES_POD.key, ns, name)
                self.on_pod_gone(gone)
            return ok

    # ---- controller: recreate pods of a ReplicaSet
    def on_pod_gone(self, pod):
        if pod is None or not self.controller.get("enabled"):
            return
        refs = pod["metadata"].get("ownerReferences")
        refs = [r for r in refs if isinstance(r, dict) and r.get("controller")] if isinstance(refs, list) else []
        owners = {"ReplicaSet": RES_RS, "StatefulSet": RES_STS, "DaemonSet": RES_DS}
        if not refs or refs[0].get("kind") not in owners:
            return
        ref = refs[0]
        ns = pod["metadata"]["namespace"]
        owner = self.store.get(owners[ref["kind"]].key, ns, ref.get("name"))
        if owner is None:
            self.controller["log"].append({"pod": pod["metadata"]["name"], "error": "%s %s not found" % (ref["kind"], ref.get("name"))})
            return
        tmpl = dcopy(((owner.get("spec") or {}).get("template")) or {})
        spec = dcopy(tmpl.get("spec") or pod["spec"])
        spec["nodeName"] = self.controller.get("node") or pod["spec"].get("nodeName")
        md = dcopy(tmpl.get("metadata") or {})
        md["labels"] = md.get("labels") or dcopy(pod["metadata"].get("labels") or {})
        # a StatefulSet brings its pod back under the same name; the others make a new one
        md.pop("name", None)
        if ref["kind"] == "StatefulSet":
            md["name"] = pod["metadata"]["name"]
        else:
            md["generateName"] = "%s-" % ref.get("name")
        md["ownerReferences"] = [dcopy(ref)]
        newpod = {"apiVersion": "v1", "kind": "Pod", "metadata": md, "spec": spec}
        threading.Thread(target=self._controller_create, args=(ns, newpod, pod["metadata"]["name"]), daemon=True).start()

    def _controller_create(self, ns, newpod, oldname):
        delay = self.controller.get("delay", 0.1)
        time.sleep(delay)
        try:
            created = self.create(RES_POD, ns, newpod, via_controller=True)
            self.controller["log"].append({"replaced": oldname, "pod": created["metadata"]["name"], "uid": created["metadata"]["uid"]})
        except ApiError as e:
            self.controller["log"].append({"replaced": oldname, "error": e.body.get("message")})

    def call_webhook(self, pod, via_controller):
        wh = self.controller.get("webhook") or {}
        if not wh.get("url"):
            return pod
        if wh.get("only_controller", True) and not via_controller:
            return pod
        req_uid = str(uuid.uuid4())
        review = {
            "apiVersion": "admission.k8s.io/v1",
            "kind": "AdmissionReview",
            "request": {
                "uid": req_uid,
                "kind": {"group": "", "version": "v1", "kind": "Pod"},
                "resource": {"group": "", "version": "v1", "resource": "pods"},
                "requestKind": {"group": "", "version": "v1", "kind": "Pod"},
                "requestResource": {"group": "", "version": "v1", "resource": "pods"},
                "name": pod["metadata"].get("name", ""),
                "namespace": pod["metadata"].get("namespace"),
                "operation": "CREATE",
                "userInfo": {"username": "system:serviceaccount:kube-system:replicaset-controller", "groups": ["system:serviceaccounts", "system:authenticated"]},
                # mutating admission runs before the registry fills in status (phase, qosClass)
                "object": dict(pod, status={}),
                "oldObject": None,
                "dryRun": False,
                "options": {"kind": "CreateOptions", "apiVersion": "meta.k8s.io/v1"},
            },
        }
        fail_open = wh.get("failure_policy", "Ignore") == "Ignore"
        name = wh.get("name", "snug.webhook")
        try:
            ctx = ssl.create_default_context(cafile=wh.get("ca_file")) if wh.get("url", "").startswith("https") else None
            r = urllib.request.Request(wh["url"], data=json.dumps(review).encode(), headers={"Content-Type": "application/json"}, method="POST")
            with urllib.request.urlopen(r, timeout=wh.get("timeout", 10), context=ctx) as resp:
                out = json.loads(resp.read())
            response = out["response"]
            self.controller["log"].append({"webhook": name, "allowed": response.get("allowed"), "pod": pod["metadata"].get("name") or pod["metadata"].get("generateName")})
            if not response.get("allowed"):
                st = response.get("status") or {}
                code = st.get("code") or 400
                raise ApiError(code, status_body(code, st.get("reason") or "BadRequest", 'admission webhook "%s" denied the request: %s' % (name, st.get("message", ""))))
            if response.get("patch"):
                if response.get("patchType", "JSONPatch") != "JSONPatch":
                    raise ValueError("unsupported patchType")
                ops = json.loads(base64.b64decode(response["patch"]))
                st = pod.get("status")
                pod = json_patch(dict(pod, status={}), ops)
                pod["status"] = st
            return pod
        except ApiError:
            raise
        except Exception as e:  # noqa: BLE001 - any failure reaching the hook
            self.controller["log"].append({"webhook": name, "error": str(e), "pod": pod["metadata"].get("name") or pod["metadata"].get("generateName")})
            if fail_open:
                return pod
            raise ApiError(500, status_body(500, "InternalError", 'Internal error occurred: failed calling webhook "%s": %s' % (name, e), {"causes": [{"message": 'failed calling webhook "%s": %s' % (name, e)}]}))


# ---------------------------------------------------------------------------------------------
# discovery


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


# ---------------------------------------------------------------------------------------------
# HTTP


class QuietServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 64

    def handle_error(self, request, client_address):
        exc = sys.exc_info()[1]
        if isinstance(exc, (ConnectionError, ssl.SSLError, TimeoutError, OSError)):
            return
        traceback.print_exc()


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # headers and body go out in separate writes: without TCP_NODELAY each reply waits for a delayed ACK
    disable_nagle_algorithm = True
    server_version = "fake-apiserver"
    sys_version = ""
    fake = None  # set by main
    ssl_ctx = None

    def setup(self):
        if self.ssl_ctx is not None:
            self.request.settimeout(30)
            self.request = self.ssl_ctx.wrap_socket(self.request, server_side=True)
            self.request.settimeout(None)
        super().setup()

    def log_message(self, fmt, *a):
        if self.fake.args.verbose:
            sys.stderr.write("fake-apiserver: %s\n" % (fmt % a))

    # ---- plumbing
    def read_body(self):
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            data = b""
            while True:
                line = self.rfile.readline()
                n = int(line.split(b";")[0].strip() or b"0", 16)
                if n == 0:
                    self.rfile.readline()
                    break
                data += self.rfile.read(n)
                self.rfile.readline()
            return data
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n > 0 else b""

    def send_json(self, code, obj, headers=None):
        data = json.dumps(obj).encode()
        self.send_response(code)
        self.send_header("Audit-Id", str(uuid.uuid4()))
        self.send_header("Cache-Control", "no-cache, private")
        self.send_header("Content-Type", "application/json")
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        drop_half = getattr(self, "_drop_mid", False)
        if drop_half:
            self.wfile.write(data[: len(data) // 2])
            self.wfile.flush()
            self.abort_connection()
            return
        self.wfile.write(data)
        self._sent_mono = time.monotonic()
        self.wfile.flush()
        self._status = code

    def abort_connection(self):
        self.close_connection = True
        try:
            self.request.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
        except OSError:
            pass
        try:
            self.request.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    def do_GET(self):
        self.dispatch("GET")

    def do_POST(self):
        self.dispatch("POST")

    def do_PUT(self):
        self.dispatch("PUT")

    def do_PATCH(self):
        self.dispatch("PATCH")

    def do_DELETE(self):
        self.dispatch("DELETE")

    def dispatch(self, method):
        fake = self.fake
        url = urllib.parse.urlsplit(self.path)
        path = url.path
        q = {k: v[-1] for k, v in urllib.parse.parse_qs(url.query, keep_blank_values=True).items()}
        body = self.read_body()
        self._status = None
        self._drop_mid = False
        self._sent_mono = None
        # mono/done_mono: CLOCK_MONOTONIC (shared by every process on the host) when the request was
        # read and when its reply was sent, so a benchmark can time the agent against its own clock.
        entry = {
            "time": time.time(),
            "mono": time.monotonic(),
            "done_mono": None,
            "method": method,
            "path": path,
            "query": q,
            "raw_query": url.query,
            "content_type": self.headers.get("Content-Type"),
            "user_agent": self.headers.get("User-Agent"),
            "accept": self.headers.get("Accept"),
            "body": None,
            "status": None,
        }
        if body:
            try:
                entry["body"] = json.loads(body)
            except ValueError:
                entry["body"] = body.decode("utf-8", "replace")
        is_control = path.startswith("/_fake/")
        if not is_control:
            with fake.lock:
                fake.requests.append(entry)
        try:
            if is_control:
                if not fake.is_admin(self.headers):
                    self.send_json(401, UNAUTHORIZED)
                    return
                self.control(method, path, q, body)
                return
            # fault injection
            action = self.match_fault(method, path, url.query)
            if action is not None:
                if action.get("delay"):
                    time.sleep(action["delay"])
                a = action["action"]
                if a == "drop":
                    entry["status"] = "dropped"
                    self.abort_connection()
                    return
                if a == "drop_mid":
                    self._drop_mid = True
                if a == "touch":
                    # Another writer (the kubelet's status write) gets in first: the pod the request
                    # names is stored again under a new resourceVersion, then the request is served,
                    # so one made on the pod as it was meets the 409 of its precondition.
                    self.touch_pod(path)
                if a == "error":
                    code = action.get("status", 500)
                    reasons = {500: "InternalError", 502: "BadGateway", 503: "ServiceUnavailable", 504: "Timeout", 429: "TooManyRequests", 401: "Unauthorized", 403: "Forbidden", 409: "Conflict"}
                    msg = action.get("message") or {500: "Internal error occurred: injected", 503: "the server is currently unable to handle the request"}.get(code, "injected error")
                    hdr = {"Retry-After": str(action["retry_after"])} if action.get("retry_after") is not None else None
                    entry["status"] = code
                    self.send_json(code, status_body(code, reasons.get(code, "InternalError"), msg, action.get("details")), hdr)
                    return
            peer = None
            if isinstance(self.connection, ssl.SSLSocket):
                try:
                    peer = self.connection.getpeercert()
                except (ValueError, ssl.SSLError):
                    peer = None
            user = fake.authenticate(self.headers, peer)
            if user is None:
                entry["status"] = 401
                self.send_json(401, UNAUTHORIZED)
                return
            entry["user"] = user
            self.route(method, path, q, body, user, entry)
        except ApiError as e:
            entry["status"] = e.code
            entry["response"] = e.body
            self.send_json(e.code, e.body, e.headers)
        except (ConnectionError, BrokenPipeError, ssl.SSLError):
            self.close_connection = True
        except (TypeError, AttributeError, KeyError, IndexError, ValueError) as e:
            # a body of the wrong shape that no explicit check caught: the real decoder answers 400
            sys.stderr.write("fake-apiserver: %s %s: malformed input: %r\n" % (method, self.path, e))
            traceback.print_exc()
            entry["status"] = 400
            self.send_json(400, status_body(400, "BadRequest", "the server rejected the request: %s" % e))
        except Exception as e:  # noqa: BLE001
            traceback.print_exc()
            entry["status"] = 500
            self.send_json(500, status_body(500, "InternalError", "Internal error occurred: %s" % e))
        finally:
            entry["done_mono"] = self._sent_mono or time.monotonic()

    def touch_pod(self, path):
        m = re.match(r"^/api/v1/namespaces/([^/]+)/pods/([^/]+)", path)
        if not m:
            return
        store = self.fake.store
        with store.lock:
            pod = store.get(RES_POD.key, m.group(1), m.group(2))
            if pod is not None:
                store.put(RES_POD.key, dcopy(pod))

    def match_fault(self, method, path, query):
        fake = self.fake
        with fake.lock:
            for rule in list(fake.faults):
                if rule.get("method") and rule["method"].upper() != method:
                    continue
                target = path + ("?" + query if query else "")
                if rule.get("path") and not re.search(rule["path"], target):
                    continue
                if rule.get("count", -1) == 0:
                    continue
                if rule.get("count", -1) > 0:
                    rule["count"] -= 1
                rule["hits"] = rule.get("hits", 0) + 1
                if rule.get("count", -1) == 0 and not rule.get("keep"):
                    fake.faults.remove(rule)
                return dict(rule)
        return None

    # ---- the API
    def route(self, method, path, q, body, user, entry):
        fake = self.fake
        parts = [p for p in path.split("/") if p]
        if path in ("/version", "/version/"):
            return self.reply(entry, 200, fake.version_body())
        if path in ("/healthz", "/livez", "/readyz"):
            data = b"ok"
            self.send_response(200)
            self.send_header("Content-Type", "text/plain; charset=utf-8")
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(data)
            entry["status"] = 200
            return
        if parts == ["api"]:
            return self.reply(entry, 200, {"kind": "APIVersions", "versions": ["v1"], "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": "127.0.0.1:%d" % (fake.port or 0)}]})
        if parts == ["api", "v1"]:
            return self.reply(entry, 200, core_discovery(fake))
        if parts == ["apis"]:
            groups = [
                {"name": g, "versions": [{"groupVersion": "%s/%s" % (g, v), "version": v} for v in vs], "preferredVersion": {"groupVersion": "%s/%s" % (g, vs[0]), "version": vs[0]}}
                for g, vs in GROUPS.items()
            ]
            return self.reply(entry, 200, {"kind": "APIGroupList", "apiVersion": "v1", "groups": groups})
        if len(parts) == 3 and parts[0] == "apis" and parts[1] in GROUPS and parts[2] in GROUPS[parts[1]]:
            return self.reply(entry, 200, group_discovery(parts[1], parts[2]))
        if len(parts) >= 3 and parts[:2] == ["api", "v1"]:
            group, version, rest = "", "v1", parts[2:]
        elif len(parts) >= 4 and parts[0] == "apis":
            group, version, rest = parts[1], parts[2], parts[3:]
        else:
            raise err_no_route()
        ns = None
        if rest[0] == "namespaces" and len(rest) >= 3:
            ns, rest = rest[1], rest[2:]
        res = RESOURCES.get((group, version, rest[0]))
        if res is None or len(rest) > 3 or (ns is not None and not res.namespaced):
            raise err_no_route()
        name = rest[1] if len(rest) >= 2 else None
        sub = rest[2] if len(rest) == 3 else None
        if sub is not None and sub not in res.subs:
            raise err_no_route()
        if sub == "resize" and fake.resize_mode != RESIZE_SUBRESOURCE:
            raise err_no_route()
        if res.namespaced and name is not None and ns is None:
            raise err_no_route()
        dry_run = q.get("dryRun") == "All"
        obj = None
        if method in ("POST", "PUT") and body:
            try:
                obj = json.loads(body)
            except ValueError as e:
                raise err_bad_request("json: %s" % e)
        verb = {"GET": "get", "POST": "create", "PUT": "update", "PATCH": "patch", "DELETE": "delete"}[method]
        if method == "GET" and name is None:
            verb = "watch" if q.get("watch") in ("1", "true", "True") else "list"
        fake.check_forbidden(user, verb, res, sub, ns, name)
        if name is None:
            if method == "GET":
                if verb == "watch":
                    return self.watch(res, ns, q, entry)
                return self.reply(entry, 200, fake.list(res, ns, q))
            if method == "POST":
                if res.namespaced and ns is None:
                    raise err_method_not_allowed(method)
                return self.reply(entry, 201, fake.create(res, ns, obj, dry_run))
            raise err_method_not_allowed(method)
        if sub == "eviction":
            if method != "POST":
                raise err_method_not_allowed(method)
            return self.reply(entry, 201, fake.evict(ns, name, obj, q))
        if method == "GET":
            return self.reply(entry, 200, fake.get(res, ns, name))
        if method in ("PUT", "PATCH"):
            out = fake.update(res, ns, name, sub, obj, method, self.headers.get("Content-Type"), body, dry_run, q)
            return self.reply(entry, 200, out)
        if method == "DELETE":
            opts = None
            if body:
                try:
                    opts = json.loads(body)
                except ValueError as e:
                    raise err_bad_request("json: %s" % e)
            opts = check_delete_options(opts)
            if "gracePeriodSeconds" in q:
                try:
                    opts["gracePeriodSeconds"] = int(q["gracePeriodSeconds"])
                except ValueError:
                    raise err_bad_request('strconv.ParseInt: parsing "%s": invalid syntax' % q["gracePeriodSeconds"])
            dr = dry_run or "All" in (opts.get("dryRun") or [])
            return self.reply(entry, 200, fake.delete(res, ns, name, opts, dr))
        raise err_method_not_allowed(method)

    def reply(self, entry, code, obj, headers=None):
        entry["status"] = code
        self.send_json(code, obj, headers)

    # ---- watch
    def client_gone(self):
        """True when the peer closed a watch connection (nothing else is sent on it while we stream)."""
        try:
            r, _, _ = select.select([self.connection], [], [], 0)
            if not r:
                return False
            self.connection.setblocking(False)
            try:
                data = self.connection.recv(1)
            finally:
                self.connection.setblocking(True)
            return data == b""
        except (ssl.SSLWantReadError, ssl.SSLWantWriteError, BlockingIOError):
            return False
        except (OSError, ValueError):
            return True

    def write_chunk(self, data):
        self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
        self.wfile.flush()

    def watch(self, res, ns, q, entry):
        fake = self.fake
        store = fake.store
        lsel = parse_label_selector(q.get("labelSelector", ""))
        fsel = parse_field_selector(q.get("fieldSelector", ""), res.kind)

        def match(o):
            return o is not None and (ns is None or o["metadata"].get("namespace") == ns) and labels_match(lsel, o["metadata"].get("labels")) and fields_match(fsel, o)

        bookmarks = q.get("allowWatchBookmarks") in ("1", "true", "True")
        try:
            timeout = float(q.get("timeoutSeconds") or fake.default_watch_timeout)
        except ValueError:
            raise err_bad_request("invalid timeoutSeconds")
        send_initial = q.get("sendInitialEvents") in ("true", "1")
        if send_initial and fake.minor < 34:
            raise ApiError(
                422,
                status_body(
                    422,
                    "Invalid",
                    'ListOptions.meta.k8s.io "" is invalid: sendInitialEvents: Forbidden: sendInitialEvents is forbidden for watch unless the WatchList feature gate is enabled',
                    {"group": "meta.k8s.io", "kind": "ListOptions", "causes": [{"reason": "FieldValueForbidden", "message": "Forbidden: sendInitialEvents is forbidden for watch unless the WatchList feature gate is enabled", "field": "sendInitialEvents"}]},
                ),
            )
        rv_q = q.get("resourceVersion", "")
        pending = []
        error = None
        with store.lock:
            if rv_q in ("", "0") or send_initial:
                for o in store.items(res.key, ns):
                    if match(o):
                        pending.append(("ADDED", dcopy(o)))
                last = store.rv
                if send_initial and bookmarks:
                    pending.append(("BOOKMARK", self.bookmark_obj(res, last, initial_end=True)))
            else:
                try:
                    last = int(rv_q)
                except ValueError:
                    raise err_bad_request('resourceVersion: Invalid value: "%s": must be a valid resource version' % rv_q)
                if last < store.floor_for(res.key):
                    error = status_body(
                        410, "Expired", "too old resource version: %d (%d)" % (last, store.floor_for(res.key))
                    )
            w = Watcher()
            store.watchers.add(w)
        entry["status"] = 200
        entry["watch"] = True
        self.send_response(200)
        self.send_header("Audit-Id", str(uuid.uuid4()))
        self.send_header("Cache-Control", "no-cache, private")
        self.send_header("Content-Type", "application/json")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        start = time.monotonic()
        deadline = start + timeout
        def drop_due():
            # every watch open while the drop window lasts is cut `after` seconds after it started
            wd = fake.watch_drop
            if wd and time.time() < wd["until"]:
                return (start + wd["after"], wd.get("mode", "close"))
            return None

        next_bookmark = start + fake.bookmark_interval
        final_bookmark = deadline - 2 if timeout > 3 else None
        try:
            if error is not None:
                self.write_chunk(json.dumps({"type": "ERROR", "object": error}).encode() + b"\n")
                self.wfile.write(b"0\r\n\r\n")
                self.wfile.flush()
                return
            for t, o in pending:
                self.write_chunk(json.dumps({"type": t, "object": to_external(res, o)}).encode() + b"\n")
            while True:
                now = time.monotonic()
                drop = drop_due()
                if drop and now >= drop[0]:
                    if drop[1] == "end":
                        self.wfile.write(b"0\r\n\r\n")
                        self.wfile.flush()
                    else:
                        self.abort_connection()
                    entry["dropped"] = True
                    return
                if self.client_gone():
                    self.close_connection = True
                    return
                if now >= deadline or w.abort or fake.stop_event.is_set():
                    if w.abort and getattr(w, "hard", False):
                        self.abort_connection()
                        return
                    break
                out = []
                with store.lock:
                    if last < store.floor_for(res.key):
                        # the history we would need was dropped while this watch lagged
                        msg = "too old resource version: %d (%d)" % (last, store.floor_for(res.key))
                        out.append(("ERROR", status_body(410, "Expired", msg)))
                    else:
                        for ev_rv, etype, key, o, old in store.history:
                            if ev_rv <= last or key != res.key:
                                continue
                            new_m = match(o)
                            old_m = match(old) if old is not None else False
                            if etype == "DELETED":
                                if old_m or new_m:
                                    out.append(("DELETED", o))
                            elif new_m and old_m:
                                out.append(("MODIFIED", o))
                            elif new_m:
                                out.append(("ADDED", o))
                            elif old_m:
                                out.append(("DELETED", o))
                        last = store.rv
                    if not out:
                        waits = [deadline - now, 0.5]
                        if bookmarks:
                            waits.append(next_bookmark - now)
                            if final_bookmark:
                                waits.append(final_bookmark - now)
                        if drop:
                            waits.append(drop[0] - now)
                        store.cond.wait(max(0.01, min(waits)))
                for t, o in out:
                    self.write_chunk(json.dumps({"type": t, "object": to_external(res, o)}).encode() + b"\n")
                    if t == "ERROR":
                        self.wfile.write(b"0\r\n\r\n")
                        self.wfile.flush()
                        return
                now = time.monotonic()
                if bookmarks and (now >= next_bookmark or (final_bookmark and now >= final_bookmark)):
                    if final_bookmark and now >= final_bookmark:
                        final_bookmark = None
                    next_bookmark = now + fake.bookmark_interval
                    with store.lock:
                        brv = store.rv
                    self.write_chunk(json.dumps({"type": "BOOKMARK", "object": self.bookmark_obj(res, brv)}).encode() + b"\n")
            self.wfile.write(b"0\r\n\r\n")
            self.wfile.flush()
        except (ConnectionError, BrokenPipeError, ssl.SSLError, OSError):
            self.close_connection = True
        finally:
            with store.lock:
                store.watchers.discard(w)

    def bookmark_obj(self, res, rv, initial_end=False):
        # 1.35+ omits the zero creationTimestamp (omitzero); older servers print null
        md = {"resourceVersion": str(rv)} if self.fake.minor >= 35 else {"resourceVersion": str(rv), "creationTimestamp": None}
        if initial_end:
            md = {"resourceVersion": str(rv), "annotations": {"k8s.io/initial-events-end": "true"}}
        o = {"kind": res.kind, "apiVersion": res.api_version, "metadata": md}
        if res is RES_POD:
            o["spec"] = {"containers": None}
            o["status"] = {}
        return o

    # ---- control API
    def control(self, method, path, q, body):
        fake = self.fake
        try:
            data = json.loads(body) if body else {}
        except ValueError as e:
            self.send_json(400, {"error": "bad json: %s" % e})
            return
        p = path[len("/_fake/"):].strip("/")
        ok = {"ok": True}
        if p == "state" and method == "GET":
            with fake.lock:
                st = {
                    "resourceVersion": str(fake.store.rv),
                    "floor": fake.store.floor,
                    "version": fake.version,
                    "feature_gate": fake.feature_gate,
                    "resize_mode": fake.resize_mode,
                    "pods": [dcopy(o) for o in fake.store.items(RES_POD.key)],
                    "objects": {k: [dcopy(o) for o in fake.store.items(k)] for k in fake.store.objs},
                    "watches": len(fake.store.watchers),
                    "controller_log": list(fake.controller["log"]),
                    "kubelet": {k: v for k, v in fake.kubelet.items()},
                }
            return self.send_json(200, st)
        if p == "reset" and method == "POST":
            with fake.lock:
                fake.store.reset()
                fake.faults = []
                fake.watch_drop = None
                fake.requests.clear()
                fake.forbid = []
                fake.kubelet_seen = {}
                fake.kubelet_pods = {}
                fake.kubelet_writes.clear()
                fake.controller["log"] = []
            return self.send_json(200, ok)
        if p == "requests":
            with fake.lock:
                if method == "DELETE":
                    fake.requests.clear()
                    return self.send_json(200, ok)
                out = list(fake.requests)
                if q.get("clear") in ("1", "true"):
                    fake.requests.clear()
            return self.send_json(200, {"requests": out})
        if p == "faults":
            with fake.lock:
                if method == "DELETE":
                    fake.faults = []
                    fake.watch_drop = None
                    return self.send_json(200, ok)
                if method == "GET":
                    return self.send_json(200, {"faults": fake.faults, "watch_drop": fake.watch_drop})
                rules = data.get("rules") if "rules" in data else [data]
                ids = []
                for r in rules:
                    r = dict(r)
                    if r.get("action") not in ("error", "delay", "drop", "drop_mid", "touch"):
                        return self.send_json(400, {"error": "unknown action %r" % r.get("action")})
                    fake.fault_seq += 1
                    r["id"] = fake.fault_seq
                    r.setdefault("count", -1)
                    re.compile(r.get("path") or "")
                    fake.faults.append(r)
                    ids.append(r["id"])
            return self.send_json(200, {"ok": True, "ids": ids})
        if p == "watch-drop":
            with fake.lock:
                if method == "DELETE" or not data:
                    fake.watch_drop = None
                else:
                    fake.watch_drop = {"after": float(data.get("after", 1.0)), "until": time.time() + float(data.get("duration", 60)), "mode": data.get("mode", "close")}
            return self.send_json(200, ok)
        if p == "close-watches" and method == "POST":
            with fake.store.lock:
                for w in fake.store.watchers:
                    w.abort = True
                    w.hard = data.get("mode", "close") == "close"
                fake.store.cond.notify_all()
            return self.send_json(200, ok)
        if p == "watch":
            with fake.lock:
                if "bookmark_interval" in data:
                    fake.bookmark_interval = float(data["bookmark_interval"])
                if "default_timeout" in data:
                    fake.default_watch_timeout = float(data["default_timeout"])
                if "history" in data:
                    fake.store.history_size = int(data["history"])
            return self.send_json(200, ok)
        if p == "compact" and method == "POST":
            fake.store.compact()
            return self.send_json(200, {"ok": True, "floor": fake.store.floor})
        if p == "tokens":
            with fake.lock:
                if method == "GET":
                    return self.send_json(200, {"tokens": fake.tokens})
                for tok, spec in (data.get("set") or {}).items():
                    spec = dict(spec or {})
                    if "expires_in" in spec:
                        spec["expires"] = time.time() + float(spec.pop("expires_in"))
                    spec.setdefault("user", "admin")
                    fake.tokens[tok] = spec
                for tok in data.get("remove") or []:
                    fake.tokens.pop(tok, None)
                for tok in data.get("expire") or []:
                    if tok in fake.tokens:
                        fake.tokens[tok]["expires"] = time.time()
                if data.get("replace") is not None:
                    fake.tokens = {}
                    for tok, spec in data["replace"].items():
                        spec = dict(spec or {})
                        spec.setdefault("user", "admin")
                        fake.tokens[tok] = spec
            return self.send_json(200, ok)
        if p == "forbid":
            with fake.lock:
                if method == "DELETE":
                    fake.forbid = []
                else:
                    fake.forbid.extend(data.get("rules") or [data])
            return self.send_json(200, ok)
        if p == "version" and method in ("POST", "PUT"):
            with fake.lock:
                if "version" in data:
                    fake.version = str(data["version"])
                if "feature_gate" in data:
                    fake.feature_gate = bool(data["feature_gate"])
            return self.send_json(200, {"ok": True, "version": fake.version, "resize_mode": fake.resize_mode})
        if p == "kubelet/writes":
            with fake.lock:
                out = list(fake.kubelet_writes)
                if method == "DELETE" or q.get("clear") in ("1", "true"):
                    fake.kubelet_writes.clear()
            return self.send_json(200, {"writes": out})
        if p == "kubelet":
            with fake.lock:
                if method in ("POST", "PUT"):
                    for k, v in data.items():
                        if k == "pods":
                            for pk, pv in v.items():
                                if pv is None:
                                    fake.kubelet["pods"].pop(pk, None)
                                else:
                                    fake.kubelet["pods"][pk] = pv
                        elif k in KUBELET_CHOICES and v not in KUBELET_CHOICES[k]:
                            return self.send_json(400, {"error": "kubelet %s must be one of %s" % (k, ", ".join(map(str, KUBELET_CHOICES[k])))})
                        elif k in fake.kubelet:
                            fake.kubelet[k] = v
                        else:
                            return self.send_json(400, {"error": "unknown kubelet key %s" % k})
                return self.send_json(200, {"ok": True, "kubelet": fake.kubelet})
        if p == "controller":
            with fake.lock:
                if method in ("POST", "PUT"):
                    for k, v in data.items():
                        if k == "log":
                            continue
                        fake.controller[k] = v
                return self.send_json(200, {"ok": True, "controller": fake.controller})
        if p == "objects" and method in ("POST", "PUT"):
            # store an object as given (no validation, no defaulting) - seeds state for tests
            objs = data.get("items") if "items" in data else [data]
            out = []
            for o in objs:
                try:
                    r = res_for_object(o)
                except ApiError as e:
                    return self.send_json(400, e.body)
                o = dcopy(o)
                md = o.setdefault("metadata", {})
                if r.namespaced:
                    md.setdefault("namespace", "default")
                with fake.lock:
                    cur = fake.store.get(r.key, md.get("namespace", ""), md.get("name"))
                    md.setdefault("uid", cur["metadata"]["uid"] if cur else str(uuid.uuid4()))
                    md.setdefault("creationTimestamp", cur["metadata"]["creationTimestamp"] if cur else now_iso())
                    if r is RES_POD and "generation" not in md and fake.minor >= 33:
                        md["generation"] = cur["metadata"].get("generation", 1) if cur else 1
                    out.append(fake.store.put(r.key, o))
            return self.send_json(200, {"ok": True, "items": out})
        if p == "save" and method == "POST":
            fake.save_state()
            return self.send_json(200, ok)
        self.send_json(404, {"error": "no control endpoint %s %s" % (method, path)})


# ---------------------------------------------------------------------------------------------
# kubelet simulator: the kubelet's admission, allocation and actuation of in-place resizes
# (pkg/kubelet/allocation, kuberuntime_manager.go) and the container runtime under it (containerd
# storing the container's resources, runc writing the cgroup files). The arithmetic lives in
# kubelet_rules.py; this part keeps the kubelet's per-pod state and writes status, Events and files.

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


def _resizable(pod):
    """The containers the kubelet resizes in place (allocation.IsResizableContainer): native sidecars
    and app containers, in the order computePodActions visits them."""
    spec = pod.get("spec") or {}
    return [c for c in spec.get("initContainers") or [] if kr.is_sidecar(c)] + list(spec.get("containers") or [])


def _requirements(c):
    """A container's ResourceRequirements (requests and limits only) as stored JSON."""
    res = (c or {}).get("resources") or {}
    return {k: dict(res[k]) for k in ("requests", "limits") if isinstance(res.get(k), dict) and res[k]}


def _requirements_equal(a, b):
    """apiequality.Semantic.DeepEqual on two ResourceRequirements (quantities compared by value)."""
    return all(_rl_equal((a or {}).get(k) or {}, (b or {}).get(k) or {}) for k in ("requests", "limits"))


def _statuses(pod):
    st = pod.get("status") or {}
    out = {}
    for key in ("initContainerStatuses", "containerStatuses"):
        for cs in st.get(key) or []:
            out[cs.get("name")] = cs
    return out


def _is_running(cs):
    return "running" in ((cs or {}).get("state") or {})


def _resource_summary(pod, generation, error=""):
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


class Kubelet(threading.Thread):
    """Plays the kubelet of every node (see README.md): starts pods, admits resizes against the node
    (Deferred / Infeasible), checkpoints the allocation, actuates it into the pod and container
    cgroups in the kubelet's order, reports the result in the pod status, and finishes graceful
    deletions. Per-pod state is what the real kubelet keeps in its allocated/actuated checkpoints."""

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
        if self.fake.kubelet.get("cpu_manager_policy") != "static" or _qos(pod) != "Guaranteed":
            return False
        m = milli_value(_res_list(c, "requests").get("cpu"))
        return m > 0 and m % 1000 == 0

    def enforce_cpu_limits(self, pod):
        """doPodResizeAction / podContainerManagerImpl.EnsureExists: cpuCFSQuota, off for a pod with
        exclusive CPUs."""
        if not self.fake.kubelet.get("cpu_cfs_quota", True):
            return False
        spec = pod.get("spec") or {}
        return not any(self.exclusive_cpus(pod, c) for c in list(spec.get("initContainers") or []) + list(spec.get("containers") or []))

    def pod_config(self, apod):
        return kr.resource_config_for_pod(apod, _qos(apod), self.enforce_cpu_limits(apod), kr.QUOTA_PERIOD, self.pod_level())

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
        css = _statuses(pod)
        for c in _resizable(pod):
            cs = css.get(c.get("name")) or {}
            alloc = _requirements(c)
            if cs.get("resources") is not None:
                alloc = {k: dict(v) for k, v in (cs.get("resources") or {}).items() if k in ("requests", "limits") and v}
                if cs.get("allocatedResources"):
                    alloc["requests"] = dict(cs["allocatedResources"])
            st["alloc"][c["name"]] = alloc
        apod = self.allocated_pod(pod, st)
        for c in _resizable(apod):
            st["actuated"][c["name"]] = kr.container_resources_from_requirements(_requirements(c), (apod["spec"].get("resources") or {}), self.pod_level_resize())
        self.create_cgroups(apod, st)
        st["desired_sig"] = self.desired_sig(pod)
        return st

    def allocated_pod(self, pod, st):
        """allocation manager UpdatePodFromAllocation: the pod with the allocated resources."""
        apod = dcopy(pod)
        for c in _resizable(apod):
            if c.get("name") in st["alloc"]:
                c["resources"] = dcopy(st["alloc"][c["name"]])
        return apod

    def desired_sig(self, pod):
        return json.dumps({c.get("name"): _requirements(c) for c in _resizable(pod)}, sort_keys=True)

    # ---- cgroup files
    def pod_dir(self, pod):
        kl = self.fake.kubelet
        root = kl.get("cgroup_root")
        if not root:
            return None
        qos = _qos(pod)
        uid = pod["metadata"]["uid"]
        q = qos.lower()
        if kl.get("cgroup_driver", "systemd") == "systemd":
            u = uid.replace("-", "_")
            if qos == "Guaranteed":
                return os.path.join(root, "kubepods.slice", "kubepods-pod%s.slice" % u)
            return os.path.join(root, "kubepods.slice", "kubepods-%s.slice" % q, "kubepods-%s-pod%s.slice" % (q, u))
        if qos == "Guaranteed":
            return os.path.join(root, "kubepods", "pod" + uid)
        return os.path.join(root, "kubepods", q, "pod" + uid)

    def container_dir(self, pod, name):
        pdir = self.pod_dir(pod)
        if pdir is None:
            return None
        cid = ((_statuses(pod).get(name) or {}).get("containerID") or "").split("://")[-1]
        if not cid:
            return None
        kl = self.fake.kubelet
        if kl.get("cgroup_driver", "systemd") == "systemd":
            return os.path.join(pdir, "%s-%s.scope" % (kl.get("runtime", "cri-containerd"), cid))
        return os.path.join(pdir, cid)

    def cg_dir(self, pod, container):
        return self.pod_dir(pod) if container is None else self.container_dir(pod, container)

    def write(self, pod, st, container, fname, text, writer):
        """One write of a cgroup file, in place (the kernel's files keep their inode), logged in order."""
        d = self.cg_dir(pod, container)
        st["cgroups"].setdefault(container, {})[fname] = text
        if d is not None:
            os.makedirs(d, exist_ok=True)
            path = os.path.join(d, fname)
            with open(path, "r+" if os.path.exists(path) else "w") as f:
                f.write(text + "\n")
                f.truncate()
        with self.fake.lock:
            self.fake.kubelet_writes.append({"mono": time.monotonic(), "pod": "%s/%s" % (st["ns"], st["name"]),
                                             "container": container, "file": fname, "value": text, "by": writer,
                                             "path": os.path.join(d, fname) if d else None})

    def read(self, pod, st, container, fname):
        """The file's text (the real kubelet reads the pod cgroup's files), else the last value written."""
        d = self.cg_dir(pod, container)
        if d is not None:
            try:
                with open(os.path.join(d, fname)) as f:
                    return f.read().strip()
            except OSError:
                pass
        return (st["cgroups"].get(container) or {}).get(fname)

    def new_cgroup(self, pod, st, container):
        """A fresh cgroup holds the kernel's defaults."""
        d = self.cg_dir(pod, container)
        for fname, text in NEW_CGROUP_FILES:
            if d is None or not os.path.exists(os.path.join(d, fname)):
                st["cgroups"].setdefault(container, {})[fname] = text
                if d is not None:
                    os.makedirs(d, exist_ok=True)
                    with open(os.path.join(d, fname), "w") as f:
                        f.write(text + "\n")

    def set_pod_cgroup(self, pod, st, cfg, memory=False, quota=False, shares=False):
        """cgroupCommon.Update on the pod cgroup with the chosen fields (libcontainer fs2 Set: memory,
        then cpu); the systemd driver rounds the quota to whole percent (systemd addCPUQuota)."""
        if memory and cfg.get("memory") is not None:
            self.write(pod, st, None, "memory.max", "max" if cfg["memory"] < 0 else str(cfg["memory"]), "kubelet")
        if shares:
            self.write(pod, st, None, "cpu.weight", str(kr.kubelet_cpu_weight(cfg["shares"])), "kubelet")
        if quota and cfg.get("quota") is not None:
            q = cfg["quota"]
            if self.fake.kubelet.get("cgroup_driver", "systemd") == "systemd":
                q = kr.systemd_cpu_quota(q, cfg["period"])
            self.write(pod, st, None, "cpu.max", kr.cpu_max_text(q, cfg["period"]), "kubelet")

    def runtime_apply(self, pod, st, name):
        """runc writing the container's cgroup from the resources containerd holds for it."""
        kl = self.fake.kubelet
        files = kr.runc_cgroup_files(st["runtime"][name], kl.get("runtime_weight", "old"),
                                     kl.get("cgroup_driver", "systemd") == "systemd", kl.get("runtime_systemd_quota_roundup", False))
        for fname, text in files:
            self.write(pod, st, name, fname, text, "runtime")

    def create_cgroups(self, apod, st):
        """podContainerManagerImpl.EnsureExists (pod cgroup from ResourceConfigForPod), then each
        running container as CreateContainer + runc create make it."""
        cfg = self.pod_config(apod)
        self.new_cgroup(apod, st, None)
        self.set_pod_cgroup(apod, st, cfg, memory=True, quota=True, shares=True)
        css = _statuses(apod)
        for c in _resizable(apod):
            if not _is_running(css.get(c["name"])):
                continue
            self.create_container_cgroup(apod, st, c)

    def create_container_cgroup(self, apod, st, c):
        st["runtime"][c["name"]] = kr.containerd_merge(None, self.container_lcr(apod, c))
        self.new_cgroup(apod, st, c["name"])
        self.runtime_apply(apod, st, c["name"])

    def memory_current(self, pod, container):
        d = self.cg_dir(pod, container)
        if d is None:
            return None
        try:
            with open(os.path.join(d, "memory.current")) as f:
                return int(f.read().strip())
        except (OSError, ValueError):
            return None

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
        for c in _resizable(pod):
            st["alloc"][c["name"]] = _requirements(c)
            st["actuated"][c["name"]] = kr.container_resources_from_requirements(_requirements(c), (pod["spec"].get("resources") or {}), self.pod_level_resize())
        st["desired_sig"] = self.desired_sig(pod)
        self.create_cgroups(pod, st)
        for key in ("initContainerStatuses", "containerStatuses"):
            specs = {c["name"]: c for c in (pod["spec"].get("initContainers") if key == "initContainerStatuses" else pod["spec"]["containers"]) or []}
            for cs in st_pod.get(key) or []:
                c = specs[cs["name"]]
                cs["resources"] = self.status_resources(pod, st, c, cs, None)
                if fake.minor >= 33 and _res_list(c, "requests"):
                    cs["allocatedResources"] = dict(_res_list(c, "requests"))
        with fake.lock:
            cur = fake.store.get(RES_POD.key, pod["metadata"]["namespace"], pod["metadata"]["name"])
            if cur and cur["metadata"]["uid"] == pod["metadata"]["uid"]:
                cur = dcopy(cur)
                cur["status"] = dict(st_pod, qosClass=cur["status"].get("qosClass"))
                if fake.minor >= 34:
                    cur["status"]["observedGeneration"] = cur["metadata"].get("generation", 1)
                fake.store.put(RES_POD.key, cur)

    # ---- status resources (convertContainerStatusResources)
    def status_resources(self, apod, st, c, cs, old_cs):
        """kubelet_pods.go convertContainerStatusResources: the allocated resources, with the CPU
        limit, CPU request and memory limit as the runtime reports them (containerd answers from
        the resources it stored, not from the cgroup files) and the memory request from the
        actuated checkpoint; a value the runtime does not report keeps the previous status value."""
        alloc = _requirements(c)
        if not _is_running(cs):
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
        same = old_cs is not None and _is_running(old_cs) and old_cs.get("containerID") == cs.get("containerID")

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

    # ---- one sync of a running pod
    def sync(self, pod, st, mode, now):
        kl = self.fake.kubelet
        delay = float(kl.get("delay", 0.2))
        gen = pod["metadata"].get("generation", 0)
        sig = self.desired_sig(pod)
        if sig != st["desired_sig"]:
            st["desired_sig"] = sig
            st["next_eval"] = now + delay
        desired = {c["name"]: _requirements(c) for c in _resizable(pod)}
        changed = any(not _requirements_equal(desired[n], st["alloc"].get(n)) for n in desired)
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
        css = _statuses(pod)
        for c in _resizable(apod):
            if not _is_running(css.get(c["name"])):
                continue
            want = kr.container_resources_from_requirements(_requirements(c), (apod["spec"].get("resources") or {}), self.pod_level_resize())
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
                self.event(pod, "Normal", "ResizeStarted", "Pod resize started: " + _resource_summary(self.allocated_pod(pod, st), gen))
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
                       "Pod resize %s: %s" % (raw, _resource_summary(pod, gen, message)))

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
        if kl.get("cpu_manager_policy") == "static" and _qos(pod) == "Guaranteed":
            if minor <= 35:
                msg = "Resize is infeasible for Guaranteed Pods alongside CPU Manager static policy"
                return ("Infeasible", "Infeasible", msg)
            cpu_change = any(
                parse_quantity(_res_list(c, "requests").get("cpu", "0")) != parse_quantity(((st["alloc"].get(c["name"]) or {}).get("requests") or {}).get("cpu", "0"))
                for c in _resizable(pod))
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

    # ---- actuation (doPodResizeAction)
    def actuate(self, pod, st, mode):
        ok, message = self.do_pod_resize_action(pod, st, mode)
        gen = pod["metadata"].get("generation", 0)
        if ok:
            self.complete(pod, st)
            return
        old = st["in_progress"]
        t = now_iso()
        if old is not None and old["reason"] == "Error" and old["message"] == message:
            return
        st["in_progress"] = {"reason": "Error", "message": message, "gen": old["gen"] if old else gen, "probe": t,
                             "since": old["since"] if old is not None and old["reason"] == "Error" else t}
        self.publish(pod, st, resources=True)
        if self.fake.minor >= 35:
            self.event(pod, "Warning", "ResizeError", "Pod resize error: " + _resource_summary(self.allocated_pod(pod, st), st["in_progress"]["gen"], message))

    def complete(self, pod, st):
        """Allocated == actuated: ClearPodResizeInProgressCondition (and, from 1.35, a ResizeCompleted
        Event), with the containers' resources as the runtime now reports them."""
        done = st["in_progress"]
        st["in_progress"] = None
        self.publish(pod, st, resources=True)
        if self.fake.minor >= 35 and done is not None:
            self.event(pod, "Normal", "ResizeCompleted", "Pod resize completed: " + _resource_summary(self.allocated_pod(pod, st), done["gen"]))

    def read_pod_config(self, pod, st):
        """GetPodCgroupConfig for memory and cpu: the pod cgroup's files (quota -1 and memory -1 for
        "max"), or ValueError with the kubelet's message."""
        name = pod["metadata"]["name"]
        fmt = name if self.fake.minor <= 33 else '"%s/%s"' % (st["ns"], name)
        mem = self.read(pod, st, None, "memory.max")
        try:
            memory = -1 if mem == "max" else int(mem)
        except (TypeError, ValueError):
            raise ValueError("unable to get pod cgroup memory config for pod %s" % fmt)
        try:
            q, p = self.read(pod, st, None, "cpu.max").split()
            quota = -1 if q == "max" else int(q)
            period = int(p)
            shares = kr.cpu_weight_to_shares(int(self.read(pod, st, None, "cpu.weight")))
        except (AttributeError, TypeError, ValueError):
            raise ValueError("unable to get pod cgroup cpu config for pod %s" % fmt)
        return {"memory": memory, "quota": quota, "period": period, "shares": shares}

    def do_pod_resize_action(self, pod, st, mode):
        """computePodResizeAction for each running resizable container, then doPodResizeAction: per
        resource (memory first, then cpu) a net increase writes the pod cgroup before the containers,
        a net decrease after them; containers shrinking go before containers growing. Returns
        (True, "") or (False, the kubelet's error message)."""
        apod = self.allocated_pod(pod, st)
        css = _statuses(pod)
        cfg = self.pod_config(apod)
        pod_req = apod["spec"].get("resources") or {}
        updates = {"memory": [], "cpu": []}
        restarts = []
        for c in _resizable(apod):
            if not _is_running(css.get(c["name"])):
                continue
            want = kr.container_resources_from_requirements(_requirements(c), pod_req, self.pod_level_resize())
            cur = dict(st["actuated"].get(c["name"]) or {"memory_limit": 0, "memory_request": 0, "cpu_limit": 0, "cpu_request": 0})
            if want == cur:
                continue
            policy = {p.get("resourceName"): p.get("restartPolicy") for p in c.get("resizePolicy") or []}

            def resize(rname, key):
                if want[key] == cur[key]:
                    return False, False
                return True, policy.get(rname) == "RestartContainer"

            flags = {k: resize(r, k) for r, k in (("memory", "memory_limit"), ("memory", "memory_request"), ("cpu", "cpu_limit"), ("cpu", "cpu_request"))}
            if any(restart for _, restart in flags.values()):
                restarts.append(c)
                continue
            info = {"container": c, "want": want, "cur": cur}
            for rname, lim, req in (("memory", "memory_limit", "memory_request"), ("cpu", "cpu_limit", "cpu_request")):
                key = lim if flags[lim][0] else (req if flags[req][0] else None)
                if key is None:
                    continue
                if want[key] > cur[key]:
                    updates[rname].append(info)
                else:
                    updates[rname].insert(0, info)
        # SyncPod kills the containers whose resizePolicy says RestartContainer before the resize
        # (step 3) and starts them with the allocated resources after it (step 9), whatever the
        # resize's outcome.
        ok, message = self.resize_branches(pod, st, mode, apod, cfg, updates, restarts)
        for c in restarts:
            self.restart_container(pod, st, apod, c)
        return ok, message

    def resize_branches(self, pod, st, mode, apod, cfg, updates, restarts):
        minor = self.fake.minor
        try:
            current = self.read_pod_config(pod, st)
        except ValueError as e:
            return False, str(e)
        mem_branch = bool(updates["memory"]) or bool(restarts)
        cpu_branch = bool(updates["cpu"]) or bool(restarts)
        if minor >= 34 and mem_branch:
            err = self.validate_memory_resize(pod, st, current, cfg, updates["memory"])
            if err:
                return False, err

        def update_containers(rname):
            """updatePodContainerResources: UpdateContainerResources with this resource's desired values
            and the other resource's current ones; containerd merges them into the stored spec and runc
            writes the whole of it."""
            for info in updates[rname]:
                c, want, cur = info["container"], info["want"], info["cur"]
                if mode == "error":
                    return self.fake.kubelet.get("error_message") or DEFAULT_ERROR_MESSAGE
                m = want if rname == "memory" else cur
                p = want if rname == "cpu" else cur
                copy_c = dcopy(c)
                copy_c["resources"] = {
                    "limits": {"cpu": "%dm" % p["cpu_limit"], "memory": str(m["memory_limit"])},
                    "requests": {"cpu": "%dm" % p["cpu_request"], "memory": str(m["memory_request"])},
                }
                st["runtime"][c["name"]] = kr.containerd_merge(st["runtime"].get(c["name"]), self.container_lcr(apod, copy_c))
                self.runtime_apply(pod, st, c["name"])
                if rname == "memory":
                    cur["memory_limit"], cur["memory_request"] = want["memory_limit"], want["memory_request"]
                else:
                    cur["cpu_limit"], cur["cpu_request"] = want["cpu_limit"], want["cpu_request"]
                st["actuated"][c["name"]] = dict(cur)
            return None

        def resize_containers(rname, cur_lim, new_lim, cur_req, new_req):
            if new_lim > cur_lim:
                self.set_pod_cgroup(pod, st, cfg, memory=rname == "memory", quota=rname == "cpu")
            if new_req > cur_req:
                self.set_pod_cgroup(pod, st, cfg, shares=rname == "cpu")
            if updates[rname]:
                err = update_containers(rname)
                if err:
                    return err
            if new_req < cur_req:
                self.set_pod_cgroup(pod, st, cfg, shares=rname == "cpu")
            if new_lim < cur_lim:
                self.set_pod_cgroup(pod, st, cfg, memory=rname == "memory", quota=rname == "cpu")
            return None

        if mem_branch:
            if cfg["memory"] is not None and minor <= 33:
                usage = self.memory_current(pod, None)
                if usage is not None and usage >= cfg["memory"]:
                    return False, "aborting attempt to set pod memory limit less than current memory usage for pod %s" % pod["metadata"]["name"]
            if cfg["memory"] is None:
                cfg["memory"] = current["memory"]
            err = resize_containers("memory", current["memory"], cfg["memory"], 0, 0)
            if err:
                return False, err
        if cpu_branch:
            if cfg["quota"] is None:
                cfg["quota"], cfg["period"] = current["quota"], current["period"]
            err = resize_containers("cpu", current["quota"], cfg["quota"], current["shares"], cfg["shares"])
            if err:
                return False, err
        return True, ""

    def validate_memory_resize(self, pod, st, current, cfg, mem_updates):
        """validateMemoryResizeAction (1.34+): refuse to set a pod or container memory limit at or
        below its current usage (memory.current); the container message quotes the pod's usage, as
        the Go code does."""
        pod_decreasing = cfg["memory"] is not None and cfg["memory"] < current["memory"]
        decreasing = {}
        for info in mem_updates:
            want, cur = info["want"], info["cur"]
            if want["memory_limit"] != 0 and (cur["memory_limit"] == 0 or want["memory_limit"] < cur["memory_limit"]):
                decreasing[info["container"]["name"]] = want["memory_limit"]
        if not pod_decreasing and not decreasing:
            return None
        pod_usage = self.memory_current(pod, None) or 0
        errs = []
        if pod_decreasing and pod_usage >= cfg["memory"]:
            errs.append("attempting to set pod memory limit (%d) below current usage (%d)" % (cfg["memory"], pod_usage))
        for name, limit in decreasing.items():
            if (self.memory_current(pod, name) or 0) >= limit:
                errs.append('attempting to set container "%s" memory limit (%d) below current usage (%d)' % (name, limit, pod_usage))
        if not errs:
            return None
        return "cannot decrease memory limits: " + (errs[0] if len(errs) == 1 else "[%s]" % ", ".join(errs))

    def restart_container(self, pod, st, apod, c):
        """resizePolicy RestartContainer: the container is killed and started again with the allocated
        resources (a new container, a new cgroup)."""
        name = c["name"]
        new_id = "containerd://" + uuid.uuid4().hex + uuid.uuid4().hex
        old_dir = self.container_dir(pod, name)

        def fn(s):
            for key in ("initContainerStatuses", "containerStatuses"):
                for cs in s.get(key) or []:
                    if cs.get("name") == name:
                        cs["restartCount"] = cs.get("restartCount", 0) + 1
                        cs["lastState"] = {"terminated": {"exitCode": 0, "reason": "Completed", "startedAt": ((cs.get("state") or {}).get("running") or {}).get("startedAt"),
                                                          "finishedAt": now_iso(), "containerID": cs.get("containerID")}}
                        cs["containerID"] = new_id
                        cs["state"] = {"running": {"startedAt": now_iso()}}

        self.update_status(pod, fn)
        for cs in list((pod.get("status") or {}).get("containerStatuses") or []) + list((pod.get("status") or {}).get("initContainerStatuses") or []):
            if cs.get("name") == name:
                cs["containerID"] = new_id
        if old_dir and os.path.isdir(old_dir):
            shutil.rmtree(old_dir, ignore_errors=True)
        st["cgroups"].pop(name, None)
        self.create_container_cgroup(self.with_status_of(pod, apod), st, c)
        st["actuated"][name] = kr.container_resources_from_requirements(_requirements(c), (apod["spec"].get("resources") or {}), self.pod_level_resize())

    def with_status_of(self, pod, apod):
        out = dcopy(apod)
        out["status"] = dcopy(pod.get("status") or {})
        return out

    # ---- status and Events
    def publish(self, pod, st, resources=False):
        """The kubelet's status write: allocatedResources, the resize conditions (status.resize before
        1.33) and, after an actuation, the containers' resources."""
        fake = self.fake
        minor = fake.minor
        apod = self.allocated_pod(pod, st)
        specs = {c["name"]: c for c in list(apod["spec"].get("initContainers") or []) + list(apod["spec"].get("containers") or [])}
        resizable = {c["name"] for c in _resizable(apod)}

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
                        req = _res_list(specs[name], "requests")
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


def _qos(pod):
    """v1qos.GetPodQOS: the status's class when set, else computed."""
    return (pod.get("status") or {}).get("qosClass") or pod_qos(pod)


# ---------------------------------------------------------------------------------------------
# certificates


def make_certs(directory, cn="localhost", client_cn="snug-agent"):
    """Make a throwaway CA, a server cert (SAN IP:127.0.0.1, IP:::1, DNS:localhost) and a client
    cert with the openssl CLI. Returns a dict of paths."""
    os.makedirs(directory, exist_ok=True)
    p = {k: os.path.join(directory, k) for k in ("ca.crt", "ca.key", "server.crt", "server.key", "client.crt", "client.key")}

    def run(*a):
        subprocess.run(["openssl"] + list(a), check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
    run("req", "-x509", *ec, "-keyout", p["ca.key"], "-out", p["ca.crt"], "-days", "3", "-subj", "/CN=fake-apiserver-ca",
        "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign")
    for which, subj, ext in (
        ("server", "/CN=" + cn, "subjectAltName=IP:127.0.0.1,IP:::1,DNS:localhost\nbasicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\n"),
        ("client", "/CN=" + client_cn, "basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=clientAuth\n"),
    ):
        csr = os.path.join(directory, which + ".csr")
        extf = os.path.join(directory, which + ".ext")
        with open(extf, "w") as f:
            f.write(ext)
        run("req", "-new", *ec, "-keyout", p[which + ".key"], "-out", csr, "-subj", subj)
        run("x509", "-req", "-in", csr, "-CA", p["ca.crt"], "-CAkey", p["ca.key"], "-CAcreateserial", "-out", p[which + ".crt"], "-days", "3", "-extfile", extf)
    return p


# ---------------------------------------------------------------------------------------------
# main


def write_kubeconfig(path, port, ca, token, cert=None, key=None):
    """A kubeconfig for the fake: CA as data, and a bearer token or a client certificate/key as data."""

    def b64(p):
        with open(p, "rb") as f:
            return base64.b64encode(f.read()).decode()

    if cert:
        user = "    client-certificate-data: %s\n    client-key-data: %s\n" % (b64(cert), b64(key))
    else:
        user = "    token: %s\n" % token
    text = (
        "apiVersion: v1\nkind: Config\nclusters:\n- name: fake\n  cluster:\n    server: https://127.0.0.1:%d\n"
        "    certificate-authority-data: %s\ncontexts:\n- name: fake\n  context:\n    cluster: fake\n    user: fake\n"
        "current-context: fake\nusers:\n- name: fake\n  user:\n%s" % (port, b64(ca), user)
    )
    with open(path, "w") as f:
        f.write(text)


def parse_args(argv):
    ap = argparse.ArgumentParser(description="fake Kubernetes API server for tests")
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--port-file")
    ap.add_argument("--bind", default="127.0.0.1")
    ap.add_argument("--cert")
    ap.add_argument("--key")
    ap.add_argument("--client-ca", help="accept client certificates signed by this CA (user = CN)")
    ap.add_argument("--gen-certs", metavar="DIR", help="make a throwaway CA + server cert into DIR and use them")
    ap.add_argument("--plain-http", action="store_true", help="no TLS (only to test that a client refuses it)")
    ap.add_argument("--token", action="append", default=[], help="TOKEN or TOKEN:USER (repeatable)")
    ap.add_argument("--token-file", action="append", default=[], help="file with one TOKEN[:USER] per line")
    ap.add_argument("--admin-token", default=None, help="bearer token for /_fake/ (default: any valid token)")
    ap.add_argument("--version", default="1.36")
    ap.add_argument("--feature-gate-off", action="store_true", help="InPlacePodVerticalScaling off")
    ap.add_argument("--state-file")
    ap.add_argument("--kubeconfig-out", help="write a kubeconfig (CA data + first token) here")
    ap.add_argument("--history", type=int, default=1000, help="watch event history kept (older rv -> 410)")
    ap.add_argument("--bookmark-interval", type=float, default=5.0)
    ap.add_argument("--request-log", type=int, default=10000)
    ap.add_argument("--kubelet-delay", type=float, default=None)
    ap.add_argument("--kubelet-auto-start", action="store_true")
    ap.add_argument("--cgroup-root")
    ap.add_argument("-v", "--verbose", action="store_true")
    return ap.parse_args(argv)


def main(argv=None):
    args = parse_args(argv if argv is not None else sys.argv[1:])
    fake = Fake(args)
    for t in args.token:
        tok, _, user = t.partition(":")
        fake.tokens[tok] = {"user": user or "admin"}
    for tf in args.token_file:
        with open(tf) as f:
            for line in f:
                line = line.strip()
                if line and not line.startswith("#"):
                    tok, _, user = line.partition(":")
                    fake.tokens[tok] = {"user": user or "admin"}
    if args.kubelet_delay is not None:
        fake.kubelet["delay"] = args.kubelet_delay
    if args.kubelet_auto_start:
        fake.kubelet["auto_start"] = True
    if args.cgroup_root:
        fake.kubelet["cgroup_root"] = args.cgroup_root
    fake.load_state()
    ctx = None
    ca_for_kubeconfig = None
    if not args.plain_http:
        cert, key = args.cert, args.key
        if args.gen_certs:
            p = make_certs(args.gen_certs)
            cert, key = p["server.crt"], p["server.key"]
            ca_for_kubeconfig = p["ca.crt"]
        if not cert or not key:
            sys.exit("fake-apiserver: --cert and --key (or --gen-certs DIR) are required")
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(cert, key)
        ctx.set_alpn_protocols(["http/1.1"])
        if args.client_ca:
            ctx.load_verify_locations(args.client_ca)
            ctx.verify_mode = ssl.CERT_OPTIONAL
    Handler.fake = fake
    Handler.ssl_ctx = ctx
    httpd = QuietServer((args.bind, args.port), Handler)
    fake.port = httpd.server_address[1]
    if args.kubeconfig_out and ca_for_kubeconfig and fake.tokens:
        write_kubeconfig(args.kubeconfig_out, fake.port, ca_for_kubeconfig, next(iter(fake.tokens)))
    Kubelet(fake).start()

    def stop(signum, frame):
        fake.stop_event.set()
        threading.Thread(target=httpd.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    if args.port_file:
        tmp = args.port_file + ".tmp"
        with open(tmp, "w") as f:
            f.write("%d\n" % fake.port)
        os.replace(tmp, args.port_file)
    print("fake-apiserver: listening on %s://127.0.0.1:%d (version %s, resize %s)" % ("http" if args.plain_http else "https", fake.port, fake.version, fake.resize_mode), flush=True)
    try:
        httpd.serve_forever(poll_interval=0.2)
    finally:
        fake.stop_event.set()
        fake.save_state()
        httpd.server_close()


if __name__ == "__main__":
    main()
