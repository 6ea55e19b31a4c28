"""Label and field selectors of list and watch requests, and metav1.LabelSelector matching (PDBs)."""

import re

from .errors import err_bad_request


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
