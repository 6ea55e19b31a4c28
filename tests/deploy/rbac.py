"""RBAC facts derived from snug's code and from a request log: which (apiGroup, resource, verb)
a request needs, the client's whole API surface (scanned from agent/kube/*.c), the calls the agent
code makes (scanned from agent/*.c), and whether a ClusterRole allows a request."""

import glob
import os
import re
from urllib.parse import urlsplit, parse_qs

# kube_object_ref kinds → (group, plural), read from object_path() in agent/kube/calls.c.
KIND_RE = re.compile(r'strcmp\(o->kind, "(\w+)"\) == 0\)\s*prefix = "([^"]+)", plural = "(\w+)"')
FUNC_RE = re.compile(r'^(?:static )?int (kube_\w+)\((.*?)^}', re.M | re.S)
CALL_RE = re.compile(r'(?:send_call|kube_request_new)\(c, \w+, "(GET|POST|PATCH|PUT|DELETE)"')


def group_of(prefix):
    return "" if prefix == "/api/v1" else prefix.split("/")[2]


def request_attrs(method, path, query):
    """(group, resource[/sub], verb) of one API request, like the apiserver's RequestInfo; None
    for a non-resource URL (/version, discovery: granted to every authenticated user)."""
    parts = [p for p in path.split("/") if p]
    if not parts or parts[0] not in ("api", "apis"):
        return None
    if parts[0] == "api":
        group, rest = "", parts[2:]
    else:
        if len(parts) < 3:
            return None
        group, rest = parts[1], parts[3:]
    if not rest:
        return None
    if rest[0] == "namespaces" and len(rest) >= 3:
        rest = rest[2:]
    resource = rest[0]
    name = rest[1] if len(rest) > 1 else None
    sub = rest[2] if len(rest) > 2 else None
    watch = query.get("watch", [""])[0] in ("1", "true")
    if method == "GET":
        verb = "watch" if watch else ("get" if name else "list")
    else:
        verb = {"POST": "create", "PATCH": "patch", "PUT": "update", "DELETE": "delete"}[method]
    return (group, resource + ("/" + sub if sub else ""), verb)


def log_attrs(entries):
    out = set()
    for e in entries:
        q = e.get("query") or {}
        q = {k: (v if isinstance(v, list) else [v]) for k, v in q.items()}
        a = request_attrs(e["method"], e["path"], q)
        if a:
            out.add(a)
    return out


def client_surface(repo):
    """Every (group, resource, verb) a function of the kube client can request, keyed by function."""
    src = {f: open(f).read() for f in sorted(glob.glob(os.path.join(repo, "agent/kube/*.c")))}
    calls = src[os.path.join(repo, "agent/kube/calls.c")]
    kinds = {k: (group_of(p), plural) for k, p, plural in KIND_RE.findall(calls)}
    if not kinds:
        raise RuntimeError("object_path() kinds not found in agent/kube/calls.c: the scan is stale")
    surface = {}
    for text in src.values():
        for fn, body in FUNC_RE.findall(text):
            methods = CALL_RE.findall(body)
            perms = set()
            for m in methods:
                verb = {"GET": "get", "POST": "create", "PATCH": "patch", "PUT": "update",
                        "DELETE": "delete"}[m]
                om = re.search(r'object_path\(&?(\w+), (.*?), &path\)', body)
                if om:
                    local = re.search(r'\.kind = "(\w+)"', body)
                    ks = {local.group(1): kinds[local.group(1)]} if local else kinds
                    sufs = re.findall(r'"/(\w+)"', om.group(2)) or []
                    if "NULL" in om.group(2) or not sufs:
                        sufs = sufs + [None]
                    for k, (g, plural) in ks.items():
                        for s in sufs:
                            if s and k != "Pod":
                                continue
                            perms.add((g, plural + ("/" + s if s else ""), verb, k))
                for fmt in re.findall(r'asprintf\(\s*&path,\s*"([^"]+)"', body):
                    a = request_attrs(m, fmt.split("?")[0], {})
                    if a:
                        perms.add(a + (None,))
            if perms:
                surface.setdefault(fn, set()).update(perms)
    # The list+watch cycle (watch.c) builds its paths outside a kube_* function.
    watch = src.get(os.path.join(repo, "agent/kube/watch.c"), "")
    for fmt in re.findall(r'asprintf\(&path,\s*"(/api[^"]+)"', watch):
        path, _, q = fmt.partition("?")
        a = request_attrs("GET", path, parse_qs(q.replace("%s", "x").replace("%u", "1")))
        if a:
            surface.setdefault("(list+watch)", set()).add(a + (None,))
    return surface


def agent_calls(repo, surface, exclude=("webhook",), only=None):
    """The client functions called by the agent's own code (agent/*.c outside kube/), with the
    object kinds it passes when they are literals. Returns {(group, resource, verb): [where]}."""
    need = {}
    files = [f for f in glob.glob(os.path.join(repo, "agent/*.c")) + glob.glob(os.path.join(repo, "agent/*/*.c"))
             if "/kube/" not in f and not any(x in os.path.basename(f) for x in exclude)
             and (only is None or any(x in os.path.basename(f) for x in only))]
    for f in sorted(files):
        text = open(f).read()
        for m in re.finditer(r'\b(kube_\w+)\s*\(', text):
            fn = m.group(1)
            if fn not in surface:
                continue
            # The kinds this file names: kube_object_ref initialisers and the strcmp() tests
            # that guard a kind taken from a pod's owner.
            lits = set(re.findall(r'\.kind = "(\w+)"', text)) | \
                set(re.findall(r'strcmp\([^,()]*kind[^,()]*, "(\w+)"\)', text))
            for perm in surface[fn]:
                g, res, verb, kind = perm
                if kind and kind not in lits:
                    continue
                where = "%s:%d %s" % (os.path.relpath(f, repo), text.count("\n", 0, m.start()) + 1, fn)
                need.setdefault((g, res, verb), []).append(where)
    if "(list+watch)" in surface and any("kube_client_watch_pods" in open(f).read()
                                          for f in files):
        for g, res, verb, _ in surface["(list+watch)"]:
            need.setdefault((g, res, verb), []).append("list+watch of this node's pods")
    return need


def role_perms(role):
    perms = set()
    for rule in role.get("rules", []):
        for g in rule.get("apiGroups", []):
            for r in rule.get("resources", []):
                for v in rule.get("verbs", []):
                    perms.add((g, r, v))
    return perms


def allowed(perms, attr):
    g, r, v = attr
    return any(pg in (g, "*") and pr in (r, "*") and pv in (v, "*") for pg, pr, pv in perms)
