#!/usr/bin/python3
"""The deploy tier: checks what an operator applies (deploy/) — manifests parse and match the
Kubernetes schemas, the Helm chart is generated from the kustomize base and renders the same
objects, the DaemonSet keeps its contract (probes, capabilities, mounts, NODE_NAME), RBAC is exactly
what the code calls, the alert rules pass promtool, and every metric the dashboard queries exists
in a live scrape of the agent. Prints one line per check and writes "deploy P F S" to $SNUG_RESULTS."""

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import traceback

import yaml

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
DEPLOY = os.path.join(REPO, "deploy")
sys.path.insert(0, os.path.join(HERE, "..", "lib"))  # snugtest, for live_agent.py
import rbac  # noqa: E402
import strict_fields  # noqa: E402

CACHE = os.environ.get("SNUG_CACHE", os.path.expanduser("~/.cache/snug"))
NAMESPACE = "snug-system"
PORT = 9746


class Skip(Exception):
    pass


def load_docs(path):
    with open(path) as f:
        return [d for d in yaml.safe_load_all(f) if d is not None]


def kustomization_docs(rel):
    kust = yaml.safe_load(open(os.path.join(DEPLOY, rel, "kustomization.yaml")))
    docs = []
    for res in kust["resources"]:
        docs += load_docs(os.path.join(DEPLOY, rel, res))
    return docs


def base_docs():
    """What `kubectl apply -k deploy/` applies."""
    return kustomization_docs(".")


def install_docs():
    """The base with the optional monitoring component (the Helm chart with every toggle on)."""
    return base_docs() + kustomization_docs("monitoring")


def find(docs, kind, name=None):
    got = [d for d in docs if d["kind"] == kind and (name is None or d["metadata"]["name"] == name)]
    assert got, "no %s %s in the base" % (kind, name or "")
    return got[0]


# ---- a Helm template renderer for the subset generate.py emits ---------------------------------

def render_chart(values, namespace):
    """Renders chart/snug/templates with the actions generate.py writes: {{ "x" }},
    {{ .Values.a.b }}, {{ .Release.Namespace }}, {{- if .Values.a.b }} … {{- end }}."""
    def value(expr):
        expr = expr.strip()
        if expr.startswith('"') and expr.endswith('"'):
            return expr[1:-1]
        if expr == ".Release.Namespace":
            return namespace
        if expr.startswith(".Values."):
            v = values
            for k in expr[len(".Values."):].split("."):
                v = v[k]
            return v
        raise ValueError("template action not understood: {{%s}}" % expr)

    out = []
    tdir = os.path.join(DEPLOY, "chart/snug/templates")
    for f in sorted(os.listdir(tdir)):
        text = open(os.path.join(tdir, f)).read()
        res, pos, keep = [], 0, [True]
        for m in re.finditer(r'\{\{(-?)((?:"[^"]*"|[^"}])*?)(-?)\}\}', text, re.S):
            chunk = text[pos:m.start()]
            if m.group(1):
                chunk = chunk.rstrip()
            if all(keep):
                res.append(chunk)
            pos = m.end()
            body = m.group(2).strip()
            if body.startswith("if "):
                keep.append(bool(value(body[3:])))
            elif body == "end":
                keep.pop()
            elif all(keep):
                res.append(str(value(body)))
            if m.group(3):
                while pos < len(text) and text[pos] in " \t\n":
                    pos += 1
        if all(keep):
            res.append(text[pos:])
        out += [d for d in yaml.safe_load_all("".join(res)) if d is not None]
    return out


# ---- checks ---------------------------------------------------------------------------------

def check_generated_up_to_date():
    r = subprocess.run([sys.executable, os.path.join(DEPLOY, "generate.py"), "--check"],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr


def check_manifests_parse():
    n = 0
    for dirpath, _, files in os.walk(DEPLOY):
        if "chart" in os.path.relpath(dirpath, DEPLOY).split(os.sep):
            continue
        for f in files:
            p = os.path.join(dirpath, f)
            if f.endswith((".yaml", ".yml")):
                for d in load_docs(p):
                    assert isinstance(d, dict), p
                    if "groups" in d and "kind" not in d:
                        continue  # a plain Prometheus rule file
                    for k in ("apiVersion", "kind"):
                        assert k in d, "%s: a document without %s" % (p, k)
                    if d["kind"] not in ("Kustomization", "Component"):
                        assert d.get("metadata", {}).get("name"), "%s: %s without a name" % (p, d["kind"])
                    n += 1
            elif f.endswith(".json"):
                json.load(open(p))
                n += 1
    assert n >= 10, "only %d documents found" % n
    return "%d documents" % n


def all_objects():
    docs = install_docs()
    for f in sorted(os.listdir(os.path.join(DEPLOY, "examples"))):
        if f.endswith((".yaml", ".yml")):
            docs += load_docs(os.path.join(DEPLOY, "examples", f))
    return docs


def schema_root():
    root = os.path.join(CACHE, "k8s-schema")
    marker = os.path.join(root, "node_modules/kubernetes-models/package.json")
    if os.path.exists(marker) and os.path.exists(os.path.join(root, "node_modules/@kubernetes-models/prometheus-operator")):
        return root
    if not shutil.which("node") or not shutil.which("npm"):
        raise Skip("node/npm not installed: the Kubernetes OpenAPI schema check needs the npm "
                   "packages kubernetes-models and @kubernetes-models/prometheus-operator")
    os.makedirs(root, exist_ok=True)
    r = subprocess.run(["npm", "install", "--no-audit", "--no-fund", "--prefix", root,
                        "kubernetes-models@5.1.0", "@kubernetes-models/prometheus-operator@6.0.0"],
                       capture_output=True, text=True, timeout=300)
    if r.returncode != 0 or not os.path.exists(marker):
        raise Skip("npm install of kubernetes-models failed (registry unreachable?): " + r.stderr[-500:])
    return root


def check_schema():
    root = schema_root()
    docs = all_objects() + render_chart(chart_values(), NAMESPACE)
    r = subprocess.run(["node", os.path.join(HERE, "k8s_validate.mjs"), root], input=json.dumps(docs),
                       capture_output=True, text=True, timeout=120)
    bad = [l for l in r.stdout.splitlines() if l.startswith("bad ")]
    assert r.returncode == 0 and not bad, "\n".join(bad) or r.stderr[-2000:]
    nm = os.path.join(root, "node_modules")
    unknown = []
    for d in docs:
        u = strict_fields.check(nm, d)
        assert u is not None, "no type declaration for %s %s" % (d["apiVersion"], d["kind"])
        unknown += u
    assert not unknown, "\n".join(unknown)
    # The validators must see a broken manifest: a wrong type and a misspelt field.
    ds = json.loads(json.dumps(find(base_docs(), "DaemonSet")))
    c = ds["spec"]["template"]["spec"]["containers"][0]
    c["ports"][0]["containerPort"] = "9746"
    c["securityContext"]["readOnlyRootFileSystem"] = True
    r = subprocess.run(["node", os.path.join(HERE, "k8s_validate.mjs"), root], input=json.dumps([ds]),
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 1 and "containerPort" in r.stdout, "schema check missed a bad type: " + r.stdout
    assert strict_fields.check(nm, ds), "unknown-field check missed a misspelt field"
    return "%d objects valid against kubernetes-models 5.1.0 schemas, no unknown fields" % len(docs)


def chart_values():
    return yaml.safe_load(open(os.path.join(DEPLOY, "chart/snug/values.yaml")))


def check_chart_renders_base():
    """The chart's defaults render the kustomize base; every toggle on, the base and the monitoring
    component; every toggle off, neither the Prometheus-operator objects nor the dashboard."""
    key = lambda d: (d["kind"], d["metadata"]["name"])  # noqa: E731

    def same(chart, kust, what):
        kust = [d for d in kust if d["kind"] != "Namespace"]
        assert sorted(map(key, chart)) == sorted(map(key, kust)), (what, sorted(map(key, chart)),
                                                                    sorted(map(key, kust)))
        cm = {key(d): d for d in chart}
        for d in kust:
            assert cm[key(d)] == d, "chart (%s) renders %s/%s differently from kustomize" % ((what,) + key(d))
        return len(kust)
    n = same(render_chart(chart_values(), NAMESPACE), base_docs(), "defaults")
    v = chart_values()
    for k in ("podMonitor", "prometheusRule"):
        v[k]["enabled"] = True
    m = same(render_chart(v, NAMESPACE), install_docs(), "monitoring on")
    for k in ("podMonitor", "prometheusRule", "grafanaDashboard"):
        v[k]["enabled"] = False
    kinds = {d["kind"] for d in render_chart(v, "other")}
    assert not kinds & {"PodMonitor", "PrometheusRule", "ConfigMap"}, kinds
    return "defaults = the base (%d objects), monitoring on = base + component (%d)" % (n, m)


def check_daemonset_contract():
    docs = base_docs()
    ds = find(docs, "DaemonSet", "snug-agent")
    spec = ds["spec"]["template"]["spec"]
    labels = ds["spec"]["template"]["metadata"]["labels"]
    assert all(labels.get(k) == v for k, v in ds["spec"]["selector"]["matchLabels"].items())
    assert spec["priorityClassName"] == "system-node-critical"
    assert {"operator": "Exists"} in spec["tolerations"], "must tolerate every taint"
    assert not spec.get("hostPID") and not spec.get("hostNetwork")
    sa = spec["serviceAccountName"]
    find(docs, "ServiceAccount", sa)
    (c,) = spec["containers"]
    sc = c["securityContext"]
    assert sc["readOnlyRootFilesystem"] is True
    assert sc.get("allowPrivilegeEscalation") is False
    if not sc.get("privileged"):
        assert sc["capabilities"]["drop"] == ["ALL"]
        extra = set(sc["capabilities"]["add"]) - {"BPF", "PERFMON", "SYS_RESOURCE", "DAC_OVERRIDE"}
        assert not extra, "capabilities beyond BPF/cgroup needs: %s" % extra
    env = {e["name"]: e for e in c["env"]}
    assert env["NODE_NAME"]["valueFrom"]["fieldRef"]["fieldPath"] == "spec.nodeName"
    assert any("$(NODE_NAME)" in a for a in c["args"]), "the agent is not told its node"
    ports = {p["name"]: p["containerPort"] for p in c["ports"]}
    assert ports["metrics"] == PORT
    assert "--listen=:%d" % PORT in c["args"]
    for probe, path in (("livenessProbe", "/healthz"), ("readinessProbe", "/readyz")):
        g = c[probe]["httpGet"]
        assert g["path"] == path and ports.get(g["port"], g["port"]) == PORT, (probe, g)
    for k in ("requests", "limits"):
        assert {"cpu", "memory"} <= set(c["resources"][k]), k
    vols = {v["name"]: v for v in spec["volumes"]}
    mounts = {}
    for m in c["volumeMounts"]:
        v = vols[m["name"]]
        if "hostPath" in v:
            mounts[v["hostPath"]["path"]] = m
    for path in ("/sys/fs/cgroup", "/sys/kernel/btf", "/sys/fs/bpf", "/var/lib/snug", "/run/dbus"):
        assert path in mounts, "hostPath %s not mounted" % path
    assert mounts["/sys/kernel/btf"].get("readOnly") is True
    cg = mounts["/sys/fs/cgroup"]["mountPath"]
    assert "--cgroup-root=%s" % cg in c["args"], "--cgroup-root must point at the host cgroup mount"
    assert "--state-dir=%s" % mounts["/var/lib/snug"]["mountPath"] in c["args"]
    svc = find(docs, "Service", "snug-agent")
    assert all(labels.get(k) == v for k, v in svc["spec"]["selector"].items())
    assert svc["spec"]["ports"][0]["targetPort"] in ports
    pm = find(install_docs(), "PodMonitor", "snug-agent")
    assert all(labels.get(k) == v for k, v in pm["spec"]["selector"]["matchLabels"].items())
    assert pm["spec"]["podMetricsEndpoints"][0]["port"] in ports
    assert pm["spec"]["podMetricsEndpoints"][0]["path"] == "/metrics"
    for d in docs:
        if d["kind"] not in ("Namespace", "ClusterRole", "ClusterRoleBinding", "MutatingWebhookConfiguration",
                             "ValidatingAdmissionPolicy", "ValidatingAdmissionPolicyBinding",
                             "CustomResourceDefinition", "FlowSchema", "PriorityLevelConfiguration"):
            assert d["metadata"].get("namespace") == NAMESPACE, "%s/%s not in %s" % (
                d["kind"], d["metadata"]["name"], NAMESPACE)
    crb = find(docs, "ClusterRoleBinding", "snug-agent")
    assert crb["roleRef"]["name"] == "snug-agent"
    assert {"kind": "ServiceAccount", "name": sa, "namespace": NAMESPACE} in crb["subjects"]


MODES = {"off", "recommend", "auto", "in-place"}
QTY = re.compile(r"^[0-9]+(\.[0-9]+)?(m|k|M|G|T|Ki|Mi|Gi|Ti)?$")


def check_examples():
    n = 0
    for f in sorted(os.listdir(os.path.join(DEPLOY, "examples"))):
        for d in load_docs(os.path.join(DEPLOY, "examples", f)):
            meta = d["spec"]["template"]["metadata"] if d["kind"] != "Pod" else d["metadata"]
            ann = meta.get("annotations", {})
            pod = d["spec"]["template"]["spec"] if d["kind"] != "Pod" else d["spec"]
            names = {c["name"] for c in pod["containers"]}
            assert ann.get("snug.io/mode") in MODES, "%s: snug.io/mode" % f
            for k, v in ann.items():
                if not k.startswith("snug.io/"):
                    continue
                key = k[len("snug.io/"):]
                if key == "resources":
                    assert set(v.split(",")) <= {"cpu", "memory"}, (f, k, v)
                elif key == "controlled-values":
                    assert v in ("requests", "requests-and-limits"), (f, k, v)
                elif key in ("min-cpu", "max-cpu", "min-memory", "max-memory"):
                    assert QTY.match(v), (f, k, v)
                elif key == "containers":
                    assert set(v.split(",")) <= names, (f, k, v)
                else:
                    assert key in ("mode", "startup-cpu-boost", "allow-single-replica-eviction"), (f, k)
            for c in pod["containers"]:
                assert c.get("resources", {}).get("requests"), "%s: %s has no requests to resize" % (f, c["name"])
            n += 1
    return "%d example workloads" % n


def promtool():
    if not shutil.which("promtool"):
        raise Skip("promtool not installed (Debian package prometheus)")
    return "promtool"


def check_alert_rules():
    tool = promtool()
    r = subprocess.run([tool, "check", "rules", os.path.join(DEPLOY, "prometheus/snug-alerts.yml")],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr
    # The generated PrometheusRule object carries the same, valid rules.
    pr = find(install_docs(), "PrometheusRule")
    with tempfile.NamedTemporaryFile("w", suffix=".yml") as t:
        yaml.safe_dump(pr["spec"], t)
        t.flush()
        r2 = subprocess.run([tool, "check", "rules", t.name], capture_output=True, text=True)
    assert r2.returncode == 0, r2.stdout + r2.stderr
    assert pr["spec"] == yaml.safe_load(open(os.path.join(DEPLOY, "prometheus/snug-alerts.yml")))
    alerts = {r["alert"] for g in pr["spec"]["groups"] for r in g["rules"]}
    for want in ("SnugAgentDown", "SnugResizeFailures", "SnugManagedPodOOMKilled"):
        assert want in alerts, want
    return r.stdout.strip().splitlines()[-1].strip()


PROM_FUNCS = {"sum", "by", "without", "rate", "increase", "irate", "histogram_quantile", "count", "avg",
              "max", "min", "absent", "on", "ignoring", "and", "or", "unless", "label_values", "topk",
              "bool", "group_left", "group_right", "le"}


def metric_names(exprs):
    """The metric names a list of PromQL expressions selects (functions, labels, numbers left out)."""
    names = set()
    for e in exprs:
        e = re.sub(r'"[^"]*"', '""', e)           # label values
        e = re.sub(r"\{[^}]*\}", "", e)            # matchers
        e = re.sub(r"\[[^\]]*\]", "", e)           # ranges
        e = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^()]*\)", "", e)
        e = re.sub(r"\b[0-9][0-9.]*\b", "", e)
        e = re.sub(r"label_values\(([^,()]*),\s*\w+\s*\)", r"(\1)", e)  # its label argument
        for tok in re.findall(r"[A-Za-z_:][A-Za-z0-9_:]*", e):
            if tok not in PROM_FUNCS and not tok.startswith("__"):
                names.add(tok)
    return names


def alert_metrics():
    rules = yaml.safe_load(open(os.path.join(DEPLOY, "prometheus/snug-alerts.yml")))
    return metric_names([r["expr"] for g in rules["groups"] for r in g["rules"]])


def dashboard_metrics():
    dash = json.load(open(os.path.join(DEPLOY, "grafana/snug-dashboard.json")))
    exprs = []

    def walk(p):
        for t in p.get("targets", []):
            exprs.append(t["expr"])
        for q in p.get("panels", []):
            walk(q)
    for p in dash["panels"]:
        walk(p)
    for v in dash["templating"]["list"]:
        if v.get("type") == "query":
            exprs.append(v["query"]["query"] if isinstance(v["query"], dict) else v["query"])
    return dash, exprs, metric_names(exprs)


def check_dashboard_loads():
    # The extraction itself, on the shapes the dashboard uses.
    got = metric_names(['histogram_quantile(0.99, sum by (node, le) (rate(a_bucket{x="y"}[5m]))) / b',
                        'label_values(c{namespace=~"$ns"}, pod)', 'd == 1 and on (pod) e{s="bpf"}'])
    assert got == {"a_bucket", "b", "c", "d", "e"}, got
    dash, exprs, names = dashboard_metrics()
    assert dash["uid"] and dash["panels"] and exprs
    titles = " ".join(p["title"] for p in dash["panels"])
    for want in ("CPU", "Memory", "Resizes", "OOM", "Agents up"):
        assert want in titles, want
    assert all(n.startswith("snug_") or n == "up" for n in names), names
    return "%d queries, %d metrics" % (len(exprs), len(names))


def check_rbac_static():
    docs = base_docs()
    role = rbac.role_perms(find(docs, "ClusterRole", "snug-agent"))
    surface = rbac.client_surface(REPO)
    client = {p[:3] for ps in surface.values() for p in ps}
    need = rbac.agent_calls(REPO, surface)
    missing = [(a, need[a]) for a in need if not rbac.allowed(role, a)]
    assert not missing, "the agent calls these but the ClusterRole does not grant them: %s" % missing
    beyond = sorted(p for p in role if p not in client)
    assert not beyond, "granted, but no call in agent/kube/ can use it: %s" % beyond
    unused = sorted(p for p in role if p not in need)
    assert not unused, "granted, but the agent's code never makes that call: %s" % unused
    return "%d permissions, each used by a call in agent/ (%s)" % (
        len(role), ", ".join(sorted({w.split()[0].split(":")[0] for ws in need.values() for w in ws})))


def check_rbac_webhook():
    """The webhook's ClusterRole against the calls in agent/webhook*.c, the same way."""
    p = os.path.join(DEPLOY, "webhook-rbac.yaml")
    if not os.path.exists(p):
        raise Skip("deploy/webhook-rbac.yaml is not on this branch yet")
    docs = load_docs(p)
    role = rbac.role_perms(find(docs, "ClusterRole", "snug-webhook"))
    surface = rbac.client_surface(REPO)
    need = rbac.agent_calls(REPO, surface, exclude=(), only=("webhook",))
    assert need, "no kube client call found in agent/webhook*.c: the scan is stale"
    missing = sorted(a for a in need if not rbac.allowed(role, a))
    assert not missing, "the webhook calls these but snug-webhook does not grant them: %s" % missing
    unused = sorted(p for p in role if p not in need)
    assert not unused, "snug-webhook grants what the webhook never calls: %s" % unused
    return "%d permissions, each used by agent/webhook*.c" % len(role)


def check_kustomization_complete():
    """Every manifest at the top of deploy/ is in the base, every one in deploy/monitoring/ in the
    component (so all are in the chart too)."""
    unlisted, listed = [], set()
    for rel in (".", "monitoring"):
        d = os.path.join(DEPLOY, rel)
        names = set(yaml.safe_load(open(os.path.join(d, "kustomization.yaml")))["resources"])
        listed |= {os.path.normpath(os.path.join(rel, n)) for n in names}
        top = {f for f in os.listdir(d) if f.endswith((".yaml", ".yml")) and f != "kustomization.yaml"}
        unlisted += [os.path.normpath(os.path.join(rel, f)) for f in sorted(top - names)]
    if unlisted:
        # Not a failure: another module may land its manifest before the base lists it.
        raise Skip("NOT IN THE KUSTOMIZE BASE (nor the chart): %s: add them to deploy/kustomization.yaml "
                   "and run deploy/generate.py" % unlisted)
    return "%d manifests listed" % len(listed)


# API groups a cluster serves without any CRD installed (what the base may use).
# apiextensions.k8s.io: the base defines snug's own CRD (WorkloadHistory), a built-in kind; it needs
# no CRD installed beforehand. flowcontrol.apiserver.k8s.io/v1: API priority and fairness, GA in 1.29.
BUILTIN_GROUPS = {"", "apps", "batch", "policy", "rbac.authorization.k8s.io", "admissionregistration.k8s.io",
                  "apiextensions.k8s.io", "flowcontrol.apiserver.k8s.io"}


def kubectl():
    """The real kubectl the envtest tier unpacks (tests/envtest/controlplane.sh cp_kubectl), or None."""
    for p in (os.path.join(CACHE, "envtest/kubectl-v1.36.2"), os.path.join(CACHE, "node/kubectl-v1.36.2")):
        if os.access(p, os.X_OK):
            return p
    return None


def check_base_needs_no_crd():
    """`kubectl apply -k deploy/` works on a cluster without the Prometheus operator: the base uses
    built-in kinds only, the monitoring component holds the rest, and (with the real kubectl) kustomize
    builds the base, and an overlay with the component, into exactly those objects."""
    groups = {d["apiVersion"].rpartition("/")[0] for d in base_docs()}
    assert groups <= BUILTIN_GROUPS, "the base needs CRDs: %s" % sorted(groups - BUILTIN_GROUPS)
    comp = yaml.safe_load(open(os.path.join(DEPLOY, "monitoring/kustomization.yaml")))
    assert comp["kind"] == "Component", comp["kind"]
    assert {d["kind"] for d in kustomization_docs("monitoring")} == {"PodMonitor", "PrometheusRule"}
    kc = kubectl()
    if not kc:
        return "built-in kinds only (no kubectl unpacked yet: `make check-envtest` does; kustomize not run)"
    key = lambda d: (d["kind"], d["metadata"]["name"])  # noqa: E731
    os.makedirs(os.path.join(REPO, "build"), exist_ok=True)
    overlay = tempfile.mkdtemp(prefix="overlay-", dir=os.path.join(REPO, "build"))
    try:
        # kustomize refuses an overlay inside its base's directory: this one sits in build/
        rel = os.path.relpath(DEPLOY, overlay)
        with open(os.path.join(overlay, "kustomization.yaml"), "w") as f:
            f.write("resources:\n  - %s\ncomponents:\n  - %s/monitoring\n" % (rel, rel))
        for where, want in ((DEPLOY, base_docs()), (overlay, install_docs())):
            r = subprocess.run([kc, "kustomize", where], capture_output=True, text=True, timeout=60)
            assert r.returncode == 0, r.stderr
            got = [d for d in yaml.safe_load_all(r.stdout) if d]
            assert sorted(map(key, got)) == sorted(map(key, want)), (where, sorted(map(key, got)))
    finally:
        shutil.rmtree(overlay, ignore_errors=True)
    return "built-in kinds only; kustomize builds %d objects, %d with the monitoring component" % (
        len(base_docs()), len(install_docs()))


# Writes the agent's ClusterRole grants that deploy/policy.yaml leaves unconfined, and why.
POLICY_EXEMPT = {
    ("", "events", "create"): "an Event names its object but changes none",
}
# Writes the agent must never be granted again (docs/security.md): an eviction, which the policy
# cannot confine to the agent's node (it sees the Eviction, not the pod), and any owner write (a
# pod template is the whole workload). snug-webhook evicts; the webhook reads the merged history.
AGENT_NEVER = {("", "pods/eviction", "create")} | {
    (g, r, v) for g, rs in (("apps", ("replicasets", "statefulsets", "daemonsets", "deployments")),
                            ("batch", ("jobs",)))
    for r in rs for v in ("create", "update", "patch", "delete")}
VERB_OPERATION = {"create": "CREATE", "patch": "UPDATE", "update": "UPDATE", "delete": "DELETE"}


def check_policy_confines_agent_writes():
    """deploy/policy.yaml evaluates every write the agent's ClusterRole grants (but the exemptions
    above), for the agent's service account only, and its binding denies."""
    docs = base_docs()
    vap = find(docs, "ValidatingAdmissionPolicy", "snug-agent-own-node")
    binding = find(docs, "ValidatingAdmissionPolicyBinding")
    assert binding["spec"]["policyName"] == vap["metadata"]["name"]
    assert binding["spec"]["validationActions"] == ["Deny"], binding["spec"]
    assert vap["spec"]["failurePolicy"] == "Fail"
    ds = find(docs, "DaemonSet", "snug-agent")
    user = "system:serviceaccount:%s:%s" % (NAMESPACE, ds["spec"]["template"]["spec"]["serviceAccountName"])
    assert any("'%s'" % user in c["expression"] for c in vap["spec"]["matchConditions"]), \
        "the policy's matchConditions do not name %s" % user
    covered = set()
    for rule in vap["spec"]["matchConstraints"]["resourceRules"]:
        for g in rule["apiGroups"]:
            for r in rule["resources"]:
                for op in rule["operations"]:
                    covered.add((g, r, op))
    role = rbac.role_perms(find(docs, "ClusterRole", "snug-agent"))
    never = sorted(a for a in AGENT_NEVER if rbac.allowed(role, a))
    assert not never, "the agent's ClusterRole grants what no node agent may hold: %s" % never
    writes = sorted(p for p in role if p[2] in VERB_OPERATION)
    loose = [p for p in writes if p not in POLICY_EXEMPT and (p[0], p[1], VERB_OPERATION[p[2]]) not in covered]
    assert not loose, "the agent may make these writes and deploy/policy.yaml does not confine them: %s" % loose
    return "%d granted writes confined, %d exempt (%s)" % (
        len(writes) - len([p for p in writes if p in POLICY_EXEMPT]), len([p for p in writes if p in POLICY_EXEMPT]),
        ", ".join("%s %s" % (p[1], p[2]) for p in sorted(POLICY_EXEMPT)))


def check_live_agent():
    """Runs `snug-agent run` against the fake API server (tests/lib/snugtest/agent.py) through an OOM
    kill and a resize, on a resize-subresource server and on a spec-patch server."""
    agent_py = os.path.join(REPO, "tests/lib/snugtest/agent.py")
    agent = os.path.join(REPO, "build/snug-agent")
    if not os.path.exists(agent_py):
        raise Skip("tests/lib/snugtest/agent.py is not on this branch: `snug-agent run` is not assembled yet")
    r = subprocess.run([agent, "run", "--help"], capture_output=True, text=True)
    if r.returncode != 0 or "--node-name" not in r.stdout + r.stderr:
        raise Skip("`snug-agent run` is not implemented in this build")
    import live_agent
    return live_agent.run(REPO, os.path.join(CACHE, "deploy-live"))


def main():
    results = {"p": 0, "f": 0, "s": 0}
    checks = [check_generated_up_to_date, check_manifests_parse, check_schema, check_chart_renders_base,
              check_daemonset_contract, check_examples, check_alert_rules, check_dashboard_loads,
              check_rbac_static, check_rbac_webhook, check_kustomization_complete, check_base_needs_no_crd,
              check_policy_confines_agent_writes]
    live = None
    for fn in checks + [check_live_agent]:
        name = fn.__name__[len("check_"):]
        try:
            out = fn()
            if fn is check_live_agent:
                live = out
                out = live["summary"]
            print("PASS %-26s %s" % (name, out or ""))
            results["p"] += 1
        except Skip as e:
            print("*** SKIPPED %s: %s ***" % (name, e))
            results["s"] += 1
        except Exception as e:  # noqa: BLE001
            print("FAIL %-26s %s" % (name, e))
            if os.environ.get("V"):
                traceback.print_exc()
            results["f"] += 1
    if live is not None:
        for name, fn in (("dashboard_metrics_live", lambda: live_dashboard(live)),
                         ("alert_metrics_live", lambda: live_alerts(live)),
                         ("promtool_check_metrics", lambda: live_promtool(live)),
                         ("rbac_covers_live_calls", lambda: live_rbac(live))):
            try:
                print("PASS %-26s %s" % (name, fn()))
                results["p"] += 1
            except Exception as e:  # noqa: BLE001
                print("FAIL %-26s %s" % (name, e))
                results["f"] += 1
    else:
        for name in ("dashboard_metrics_live", "alert_metrics_live", "promtool_check_metrics",
                     "rbac_covers_live_calls"):
            print("*** SKIPPED %s: needs the live agent (see live_agent above) ***" % name)
            results["s"] += 1
    res = os.environ.get("SNUG_RESULTS")
    if res:
        with open(res, "w") as f:
            f.write("deploy %d %d %d\n" % (results["p"], results["f"], results["s"]))
    print("deploy: %d passed, %d failed, %d skipped" % (results["p"], results["f"], results["s"]))
    return 1 if results["f"] else 0


def live_dashboard(live):
    _, _, names = dashboard_metrics()
    present = live["families"]
    missing = sorted(n for n in names if n != "up" and n not in present)
    assert not missing, "the dashboard queries metrics the agent does not export: %s" % missing
    return "all %d dashboard metrics in the scrape" % len(names - {"up"})


def live_alerts(live):
    names = alert_metrics()
    missing = sorted(n for n in names if n != "up" and n not in live["families"])
    assert not missing, "the alert rules use metrics the agent does not export: %s" % missing
    return "all %d alert metrics in the scrape: %s" % (len(names - {"up"}), sorted(names - {"up"}))


def live_promtool(live):
    tool = promtool()
    for text in live["texts"]:
        r = subprocess.run([tool, "check", "metrics"], input=text, capture_output=True, text=True)
        assert r.returncode == 0, r.stdout + r.stderr
    return "the agent's /metrics passes promtool check metrics"


def live_rbac(live):
    role = rbac.role_perms(find(base_docs(), "ClusterRole", "snug-agent"))
    attrs = rbac.log_attrs(live["requests"])
    missing = sorted(a for a in attrs if not rbac.allowed(role, a))
    assert not missing, "the live agent made calls the ClusterRole does not grant: %s" % missing
    surface = rbac.client_surface(REPO)
    need = rbac.agent_calls(REPO, surface)
    unscanned = sorted(a for a in attrs if a not in need)
    assert not unscanned, "the code scan missed calls the live agent made: %s" % unscanned
    return "%d distinct calls, all granted: %s" % (len(attrs), sorted(attrs))


if __name__ == "__main__":
    sys.exit(main())
