"""One envtest scenario of the eviction fallback, end to end with `snug-agent run` against a real
kube-apiserver (run by envtest.sh, once per version).

1.33 runs with InPlacePodVerticalScaling=false (no pods/resize: a cluster without the feature); on
1.36 the pod's status says its node cannot resize (a running container without status.resources:
the server answers the resize 422 "Pod running on node without support for resize"). Either way
the agent, as the snug-agent service account (deploy/rbac.yaml) with a token bound to a pod on
node-1 and confined to that node by deploy/policy.yaml, acts on an OOM kill in its fake
cgroup tree, finds it cannot resize in place, writes its WorkloadHistory entry of the ReplicaSet and
asks for the eviction: the label and annotation snug.io/eviction-requested on its own pod (it has no
eviction right). `snug-agent webhook`, as the snug-webhook service account (deploy/webhook-rbac.yaml),
watches such pods and evicts: a real PodDisruptionBudget (status written here, as there is no
disruption controller) answers 429, then 201 once it allows a disruption. Then this test plays the
ReplicaSet controller: it creates the replacement pod, the real API server calls the same webhook over
HTTPS (MutatingWebhookConfiguration with url + caBundle), and the pod comes out with the workload's
merged recommendation (the history the agent wrote). A bare pod in the same state is not asked for.
Exit status 0 = pass.
"""

import base64
import json
import os
import ssl
import subprocess
import sys
import time
import urllib.error
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))

from snugtest.agent import FAST, Agent  # noqa: E402
from snugtest.cgtree import FakeTree  # noqa: E402
from snugtest.harness import wait_for  # noqa: E402
from snugtest.realapi import Client, token_kubeconfig  # noqa: E402
from snugtest.units import MiB, quantity  # noqa: E402

SERVER = os.environ["SNUG_ENVTEST_SERVER"]
CA = os.environ["SNUG_ENVTEST_CA"]
CA_KEY = os.environ["SNUG_ENVTEST_CA_KEY"]
TOKEN = os.environ["SNUG_ENVTEST_ADMIN_TOKEN"]
KUBECONFIG = os.environ["SNUG_ENVTEST_KUBECONFIG"]
WORK = os.environ["SNUG_ENVTEST_WORK"]
AGENT = os.environ["SNUG_AGENT"]
VERSION = os.environ.get("SNUG_ENVTEST_VERSION", "?")
# "no-gate": the server runs without InPlacePodVerticalScaling; "no-node-support": the pod's status
# says its node cannot resize.
CASE = os.environ["SNUG_ENVTEST_CASE"]
CTX = ssl.create_default_context(cafile=CA)
CTX_LOCAL = ssl.create_default_context(cafile=CA)
NS = "default"


def api(method, path, body=None, ctype="application/json"):
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(SERVER + path, data=data, method=method,
                                 headers={"Authorization": "Bearer " + TOKEN, "Content-Type": ctype})
    try:
        with urllib.request.urlopen(req, context=CTX, timeout=30) as r:
            return r.status, json.loads(r.read() or b"{}")
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read() or b"{}")


def must(st, out, *ok):
    if st not in ok:
        raise AssertionError("HTTP %s: %s" % (st, json.dumps(out)[:600]))
    return out


def check(cond, msg):
    if not cond:
        raise AssertionError(msg)
    print("  ok: %s: %s" % (VERSION, msg))


def webhook_cert():
    """A serving certificate for 127.0.0.1 signed by the envtest CA."""
    key, csr, crt, ext = (os.path.join(WORK, n) for n in ("wh.key", "wh.csr", "wh.crt", "wh.ext"))
    with open(ext, "w") as f:
        f.write("subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n")
    subprocess.run(["openssl", "req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=snug-webhook", "-keyout", key,
                    "-out", csr], check=True, capture_output=True)
    subprocess.run(["openssl", "x509", "-req", "-in", csr, "-CA", CA, "-CAkey", CA_KEY, "-CAcreateserial", "-days", "2",
                    "-extfile", ext, "-out", crt], check=True, capture_output=True)
    return crt, key


def start_webhook():
    crt, key = webhook_cert()
    port_file = os.path.join(WORK, "webhook.port")
    log = open(os.path.join(WORK, "webhook.log"), "wb")
    # The webhook as its own service account, snug-webhook (deploy/webhook-rbac.yaml).
    with open(os.environ["SNUG_ENVTEST_WEBHOOK_TOKEN_FILE"]) as f:
        kubeconfig = token_kubeconfig(os.path.join(WORK, "webhook.kubeconfig"), SERVER, CA, f.read().strip())
    wh = subprocess.Popen([AGENT, "webhook", "--listen", "127.0.0.1:0", "--port-file", port_file, "--tls-cert", crt,
                           "--tls-key", key, "--kubeconfig", kubeconfig, "--log-level", "debug",
                           "--eviction-backoff-min", "0.5", "--eviction-backoff-max", "2"],
                          stdout=log, stderr=subprocess.STDOUT)
    log.close()
    if not wait_for(lambda: os.path.exists(port_file) and open(port_file).read().strip(), 10, 0.2):
        raise AssertionError("the webhook did not start")
    port = int(open(port_file).read())
    WEBHOOK["port"] = port
    with open(CA, "rb") as f:
        ca_bundle = base64.b64encode(f.read()).decode()
    must(*api("POST", "/apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations", {
        "apiVersion": "admissionregistration.k8s.io/v1", "kind": "MutatingWebhookConfiguration",
        "metadata": {"name": "snug-webhook"},
        "webhooks": [{"name": "recommendation.snug.io", "admissionReviewVersions": ["v1"], "sideEffects": "None",
                      "failurePolicy": "Ignore", "timeoutSeconds": 10,
                      "clientConfig": {"url": "https://127.0.0.1:%d/mutate" % port, "caBundle": ca_bundle},
                      "rules": [{"operations": ["CREATE"], "apiGroups": [""], "apiVersions": ["v1"],
                                 "resources": ["pods"], "scope": "Namespaced"}],
                      "namespaceSelector": {"matchExpressions": [{"key": "kubernetes.io/metadata.name",
                                                                  "operator": "NotIn", "values": ["kube-system"]}]},
                      "objectSelector": {"matchLabels": {"snug.io/managed": "true"}}}]}), 201)
    return wh


WEBHOOK = {}


def webhook_metric(result):
    """snug_webhook_evictions_total{result=...} from the webhook's /metrics (HTTPS, envtest CA)."""
    with urllib.request.urlopen("https://127.0.0.1:%d/metrics" % WEBHOOK["port"], context=CTX_LOCAL, timeout=10) as r:
        for line in r.read().decode().splitlines():
            if line.startswith('snug_webhook_evictions_total{result="%s"} ' % result):
                return float(line.split()[-1])
    return None


LABELS = {"app": "web", "snug.io/managed": "true"}
SPEC = {"containers": [{"name": "app", "image": "registry.example/app:1",
                        "resources": {"requests": {"cpu": "100m", "memory": "128Mi"},
                                      "limits": {"cpu": "500m", "memory": "256Mi"}}}]}


def create_pod(name, owner=None, generate=False):
    md = {"labels": dict(LABELS) if owner else {"app": name}, "annotations": {"snug.io/mode": "auto"}}
    if owner:
        md["ownerReferences"] = [owner]
    if generate:
        md["generateName"] = name
    else:
        md["name"] = name
    return must(*api("POST", "/api/v1/namespaces/%s/pods" % NS, {
        "apiVersion": "v1", "kind": "Pod", "metadata": md, "spec": dict(SPEC, nodeName="node-1")}), 201)


def set_running(name, cid):
    """What the kubelet would report: running, ready, with a container ID; no status.resources,
    which on 1.33+ is what a node without in-place resize support reports."""
    now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    st = {"status": {"phase": "Running", "startTime": now,
                     "conditions": [{"type": "Ready", "status": "True", "lastTransitionTime": now}],
                     "containerStatuses": [{"name": "app", "ready": True, "started": True, "restartCount": 0,
                                            "image": "registry.example/app:1",
                                            "imageID": "registry.example/app@sha256:" + "0" * 64,
                                            "containerID": "containerd://" + cid,
                                            "state": {"running": {"startedAt": now}}}]}}
    return must(*api("PATCH", "/api/v1/namespaces/%s/pods/%s/status" % (NS, name), st,
                     "application/strategic-merge-patch+json"), 200)


def pdb_status(allowed):
    cur = must(*api("GET", "/apis/policy/v1/namespaces/%s/poddisruptionbudgets/web-pdb" % NS), 200)
    cur["status"] = {"observedGeneration": cur["metadata"].get("generation", 1), "disruptionsAllowed": allowed,
                     "currentHealthy": 3, "desiredHealthy": 3 - allowed, "expectedPods": 3}
    must(*api("PUT", "/apis/policy/v1/namespaces/%s/poddisruptionbudgets/web-pdb/status" % NS, cur), 200)


def events(pod, reason):
    st, out = api("GET", "/api/v1/namespaces/%s/events?fieldSelector=involvedObject.name=%s" % (NS, pod))
    return [e for e in out.get("items", []) if e.get("reason") == reason] if st == 200 else []


def deleting(name):
    st, pod = api("GET", "/api/v1/namespaces/%s/pods/%s" % (NS, name))
    return st == 404 or bool(pod["metadata"].get("deletionTimestamp"))


def precondition():
    """The server really cannot resize this pod in place (asked as admin, dry run)."""
    disc = must(*api("GET", "/api/v1"), 200)
    has_resize = any(r["name"] == "pods/resize" for r in disc["resources"])
    st, out = api("PATCH", "/api/v1/namespaces/%s/pods/web-a/resize?dryRun=All" % NS,
                  {"spec": {"containers": [{"name": "app", "resources": {"limits": {"memory": "300Mi"}}}]}},
                  "application/strategic-merge-patch+json")
    if CASE == "no-gate":
        check(not has_resize and st == 404, "feature gate off: no pods/resize in discovery, PATCH resize -> %d" % st)
    else:
        check(has_resize and st == 422 and "without support for resize" in out.get("message", ""),
              "pod on a node without resize support: PATCH resize -> %d %s" % (st, out.get("message")))


def run(agent_box):
    must(*api("POST", "/api/v1/namespaces/%s/serviceaccounts" % NS,
              {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "default"}}), 201, 409)
    rs = must(*api("POST", "/apis/apps/v1/namespaces/%s/replicasets" % NS, {
        "apiVersion": "apps/v1", "kind": "ReplicaSet", "metadata": {"name": "web"},
        "spec": {"replicas": 3, "selector": {"matchLabels": {"app": "web"}},
                 "template": {"metadata": {"labels": LABELS, "annotations": {"snug.io/mode": "auto"}},
                              "spec": SPEC}}}), 201)
    owner = {"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "web", "uid": rs["metadata"]["uid"],
             "controller": True, "blockOwnerDeletion": True}

    # No recommendation yet: the webhook admits the first pod unchanged.
    pod = create_pod("web-a", owner)
    check(pod["spec"]["containers"][0]["resources"]["requests"]["cpu"] == "100m",
          "pod without a recommendation on its owner admitted unchanged")
    create_pod("solo")
    tree = FakeTree(os.path.join(WORK, "cgroup"))
    for name, cid in (("web-a", "a" * 64), ("solo", "b" * 64)):
        tree.add_pod(set_running(name, cid))
    precondition()

    must(*api("POST", "/apis/policy/v1/namespaces/%s/poddisruptionbudgets" % NS, {
        "apiVersion": "policy/v1", "kind": "PodDisruptionBudget", "metadata": {"name": "web-pdb"},
        "spec": {"minAvailable": 3, "selector": {"matchLabels": {"app": "web"}}}}), 201)
    pdb_status(0)

    # 200 MiB in use from the start: the OOM bump is computed from that peak.
    for name in ("web-a", "solo"):
        c = tree.container(name)
        c.memory = 200 * MiB
        c.write_memory()
    # The agent's kubeconfig: a token of the snug-agent service account bound to a pod on node-1,
    # once the policy is in force (a dry-run label change of web-a, which only the policy refuses).
    with open(os.environ["SNUG_ENVTEST_AGENT_TOKEN_FILE"]) as f:
        agent_token = f.read().strip()
    kubeconfig = token_kubeconfig(os.path.join(WORK, "agent.kubeconfig"), SERVER, CA, agent_token)
    probe = Client(SERVER, CA, agent_token)
    check(wait_for(lambda: probe.call("PATCH", "/api/v1/namespaces/%s/pods/web-a?dryRun=All" % NS,
                                      {"metadata": {"labels": {"probe": "1"}}},
                                      "application/merge-patch+json")[0] == 403, 60, 0.5),
          "deploy/policy.yaml is in force for the agent's token")
    agent = Agent(kubeconfig, tree.root, os.path.join(WORK, "state"), args=FAST,
                  log_path=os.path.join(WORK, "agent.log"))
    agent_box.append(agent)
    agent.start()
    check(wait_for(lambda: (agent.metric("snug_tracked_containers") or 0) >= 2, 20, 0.2),
          "the agent tracks both pods' containers")
    # Two seconds of CPU use (50m) and the 200 MiB working set: samples of both resources, the
    # history the webhook needs to recommend for the replacement.
    for _ in range(10):
        for name in ("web-a", "solo"):
            tree.container(name).run(0.2, 0.05)
        time.sleep(0.2)
    for name in ("web-a", "solo"):
        tree.container(name).oom_kill()

    ev = wait_for(lambda: events("web-a", "ResizeNotSupported"), 20, 0.2)
    check(ev, "ResizeNotSupported Event on the pod after the OOM kill")
    want = "without support for resize" if CASE == "no-node-support" else "not available on this server"
    check(want in ev[0]["message"], "the Event says why: %s" % ev[0]["message"])
    if CASE == "no-node-support":
        check((agent.metric("snug_api_requests_total", verb="resize", code="422") or 0) >= 1,
              "the agent's resize PATCH got 422 (counted in /metrics)")
    else:
        check(not agent.metric("snug_api_requests_total", verb="resize"),
              "no resize PATCH sent: discovery has no pods/resize")

    # The agent asks: its history entry first, then the label and annotation on its own pod.
    asked = wait_for(lambda: must(*api("GET", "/api/v1/namespaces/%s/pods/web-a" % NS), 200)["metadata"]
                     .get("labels", {}).get("snug.io/eviction-requested"), 30, 0.2)
    check(asked == "true", "the agent asked for the eviction: label snug.io/eviction-requested=true on web-a")
    req = json.loads(must(*api("GET", "/api/v1/namespaces/%s/pods/web-a" % NS), 200)["metadata"]["annotations"]
                     ["snug.io/eviction-requested"])
    rc = req["containers"][0]
    check(rc["name"] == "app" and req["node"] == "node-1" and quantity(rc["limits"]["memory"]) > 256 * MiB,
          "the request says node-1 and the OOM bump (memory limit %s)" % rc["limits"]["memory"])
    hist = must(*api("GET", "/apis/snug.io/v1alpha1/namespaces/%s/workloadhistories" % NS), 200)["items"]
    mine = [h for h in hist if h["spec"]["nodeName"] == "node-1" and h["spec"]["workload"]["name"] == "web"]
    check(mine and mine[0]["spec"]["containers"][0]["name"] == "app",
          "node-1's WorkloadHistory entry of ReplicaSet web is written (%d entries)" % len(hist))
    check(not agent.metric("snug_api_requests_total", verb="evict"), "the agent sent no eviction")
    check(events("web-a", "SnugEvictionRequested"), "SnugEvictionRequested Event on the pod")

    blocked = wait_for(lambda: webhook_metric("blocked"), 30, 0.2)
    check(blocked and blocked >= 1, "the PDB blocks the webhook's eviction: snug_webhook_evictions_total"
          "{result=blocked} = %s" % blocked)
    check(not deleting("web-a"), "the pod is still there while the PDB blocks")
    check(wait_for(lambda: events("web-a", "SnugEvictionBlocked"), 10, 0.2), "SnugEvictionBlocked Event on the pod")
    owner_ann = must(*api("GET", "/apis/apps/v1/namespaces/%s/replicasets/web" % NS), 200)["metadata"].get(
        "annotations") or {}
    check("snug.io/recommendation" not in owner_ann, "no recommendation is recorded on the ReplicaSet")

    pdb_status(1)
    evicted = wait_for(lambda: webhook_metric("evicted"), 45, 0.2)
    check(evicted == 1, "the retry is granted once the PDB allows it: snug_webhook_evictions_total{result=evicted} = %s"
          % evicted)
    check(deleting("web-a"), "the evicted pod is terminating")
    check(wait_for(lambda: events("web-a", "SnugEvicted"), 10, 0.2), "SnugEvicted Event on the pod")

    # The bare pod had the same OOM kill and the same unsupported resize: never evicted.
    check(wait_for(lambda: events("solo", "ResizeNotSupported"), 10, 0.2), "the bare pod's resize is not supported either")
    check(not deleting("solo"), "the bare pod is not evicted")
    solo = must(*api("GET", "/api/v1/namespaces/%s/pods/solo" % NS), 200)
    check("snug.io/eviction-requested" not in solo["metadata"].get("labels", {}), "nor asked for")
    check(webhook_metric("evicted") == 1, "only one pod evicted")

    # The ReplicaSet controller's part: the replacement goes through the webhook, which gives it the
    # workload's merged history (the entry node-1 wrote: 200 MiB in use, then the OOM kill).
    pod = create_pod("web-", owner, generate=True)
    res = pod["spec"]["containers"][0]["resources"]
    req_mem = quantity(res["requests"]["memory"])
    check(req_mem > 200 * MiB, "replacement pod's memory request %s is from the history (above the 200 MiB in use, "
          "template 128Mi)" % res["requests"]["memory"])
    check(abs(float(quantity(res["limits"]["memory"]) / req_mem) - 2) < 0.01, "its memory limit keeps the template's 2:1 ratio: %s"
          % res["limits"]["memory"])
    check(quantity(res["limits"]["memory"]) > 256 * MiB, "replacement pod's memory limit is above the one that OOMed")
    check(pod["status"].get("qosClass") in (None, "Burstable"), "QoS class unchanged")
    rsnow = must(*api("GET", "/apis/apps/v1/namespaces/%s/replicasets/web" % NS), 200)
    check(rsnow["spec"]["template"]["spec"]["containers"][0]["resources"]["limits"]["memory"] == "256Mi",
          "the ReplicaSet template is not modified")
    rc_exit = agent.stop()
    check(rc_exit == 0, "the agent exits cleanly on SIGTERM")


def main():
    wh = None
    agent_box = []
    try:
        wh = start_webhook()
        run(agent_box)
        return 0
    except Exception as e:  # noqa: BLE001
        print("FAIL (%s): %s" % (VERSION, e))
        if agent_box:
            print("agent log tail:\n" + agent_box[0].log()[-3000:])
        return 1
    finally:
        for a in agent_box:
            a.stop()
        if wh:
            wh.terminate()
            wh.wait(10)


if __name__ == "__main__":
    sys.exit(main())
