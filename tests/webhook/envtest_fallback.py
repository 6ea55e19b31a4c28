"""One envtest scenario of the eviction fallback against a real kube-apiserver (run by envtest.sh).

The agent side (fallback-driver, as the snug-agent service account through deploy/rbac.yaml) records
the recommendation on the ReplicaSet and evicts; a real PodDisruptionBudget (status written here, as
there is no disruption controller) answers 429, then 201 once it allows a disruption. Then this test
plays the ReplicaSet controller: it creates the replacement pod, the real API server calls
`snug-agent webhook` over HTTPS (MutatingWebhookConfiguration with url + caBundle), and the pod comes
out with the recommended resources. Exit status 0 = pass.
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

SERVER = os.environ["SNUG_ENVTEST_SERVER"]
CA = os.environ["SNUG_ENVTEST_CA"]
CA_KEY = os.environ["SNUG_ENVTEST_CA_KEY"]
TOKEN = os.environ["SNUG_ENVTEST_ADMIN_TOKEN"]
KUBECONFIG = os.environ["SNUG_ENVTEST_KUBECONFIG"]
WORK = os.environ["SNUG_ENVTEST_WORK"]
AGENT = os.environ["SNUG_AGENT"]
DRIVER = os.environ["SNUG_FALLBACK_DRIVER"]
VERSION = os.environ.get("SNUG_ENVTEST_VERSION", "?")
CTX = ssl.create_default_context(cafile=CA)


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
    print("  ok: " + msg)


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


def evictions_seen(log):
    return log.count("SnugEvictionBlocked")


def main():
    ns = "default"
    crt, key = webhook_cert()
    port_file = os.path.join(WORK, "webhook.port")
    wh_log = open(os.path.join(WORK, "webhook.log"), "wb")
    # The webhook reads owners with the agent's kubeconfig here (both only need get on owners).
    wh = subprocess.Popen([AGENT, "webhook", "--listen", "127.0.0.1:0", "--port-file", port_file, "--tls-cert", crt,
                           "--tls-key", key, "--kubeconfig", KUBECONFIG, "--log-level", "debug"],
                          stdout=wh_log, stderr=subprocess.STDOUT)
    drv = None
    try:
        for _ in range(100):
            if os.path.exists(port_file):
                break
            time.sleep(0.05)
        port = int(open(port_file).read())
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
        # no controller manager: the default service account is made by hand
        must(*api("POST", "/api/v1/namespaces/%s/serviceaccounts" % ns,
                  {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "default"}}), 201, 409)
        labels = {"app": "web", "snug.io/managed": "true"}
        tmpl = {"metadata": {"labels": labels, "annotations": {"snug.io/mode": "auto"}},
                "spec": {"containers": [{"name": "app", "image": "registry.example/app:1",
                                         "resources": {"requests": {"cpu": "100m", "memory": "128Mi"},
                                                       "limits": {"cpu": "200m", "memory": "256Mi"}}}]}}
        rs = must(*api("POST", "/apis/apps/v1/namespaces/%s/replicasets" % ns, {
            "apiVersion": "apps/v1", "kind": "ReplicaSet", "metadata": {"name": "web"},
            "spec": {"replicas": 3, "selector": {"matchLabels": {"app": "web"}}, "template": tmpl}}), 201)
        owner = {"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "web", "uid": rs["metadata"]["uid"],
                 "controller": True, "blockOwnerDeletion": True}

        def new_pod(name=None):
            md = {"labels": labels, "annotations": {"snug.io/mode": "auto"}, "ownerReferences": [owner]}
            if name:
                md["name"] = name
            else:
                md["generateName"] = "web-"
            return must(*api("POST", "/api/v1/namespaces/%s/pods" % ns, {
                "apiVersion": "v1", "kind": "Pod", "metadata": md,
                "spec": dict(tmpl["spec"], nodeName="node-1")}), 201)

        # No recommendation yet: the webhook admits the first pod unchanged.
        pod = new_pod("web-a")
        check(pod["spec"]["containers"][0]["resources"]["requests"]["cpu"] == "100m",
              "%s: pod without a recommendation on its owner admitted unchanged" % VERSION)
        # Running, so the PDB counts it (the API server's eviction skips the PDB for Pending pods).
        st = {"status": {"phase": "Running", "conditions": [{"type": "Ready", "status": "True"}]}}
        must(*api("PATCH", "/api/v1/namespaces/%s/pods/web-a/status" % ns, st, "application/merge-patch+json"), 200)

        pdb = must(*api("POST", "/apis/policy/v1/namespaces/%s/poddisruptionbudgets" % ns, {
            "apiVersion": "policy/v1", "kind": "PodDisruptionBudget", "metadata": {"name": "web-pdb"},
            "spec": {"minAvailable": 3, "selector": {"matchLabels": {"app": "web"}}}}), 201)

        def pdb_status(allowed):
            cur = must(*api("GET", "/apis/policy/v1/namespaces/%s/poddisruptionbudgets/web-pdb" % ns), 200)
            cur["status"] = {"observedGeneration": cur["metadata"].get("generation", 1), "disruptionsAllowed": allowed,
                             "currentHealthy": 3, "desiredHealthy": 3 - allowed, "expectedPods": 3}
            must(*api("PUT", "/apis/policy/v1/namespaces/%s/poddisruptionbudgets/web-pdb/status" % ns, cur), 200)
        del pdb
        pdb_status(0)

        drv_log = open(os.path.join(WORK, "driver.log"), "w+b")
        drv = subprocess.Popen([DRIVER, "--kubeconfig", KUBECONFIG, "--node", "node-1", "--rec", "app:300m:200Mi",
                                "--pod", "%s/web-a" % ns, "--backoff-min-ms", "300", "--backoff-max-ms", "600",
                                "--run-ms", "60000", "--log-level", "info"], stdout=subprocess.PIPE, stderr=drv_log)
        deadline = time.time() + 30
        while time.time() < deadline:
            drv_log.seek(0)
            if evictions_seen(drv_log.read().decode()) >= 2:
                break
            time.sleep(0.2)
        drv_log.seek(0)
        text = drv_log.read().decode()
        check(evictions_seen(text) >= 2, "%s: the PDB blocks the eviction (429), retried" % VERSION)
        check(api("GET", "/api/v1/namespaces/%s/pods/web-a" % ns)[1].get("metadata", {}).get("deletionTimestamp") is None,
              "%s: the pod is still there while the PDB blocks" % VERSION)
        ann = must(*api("GET", "/apis/apps/v1/namespaces/%s/replicasets/web" % ns), 200)["metadata"]["annotations"]
        rec = json.loads(ann["snug.io/recommendation"])
        check(rec["containers"][0]["requests"] == {"cpu": "300m", "memory": "200Mi"} and rec["node"] == "node-1",
              "%s: the recommendation is on the ReplicaSet (written as snug-agent)" % VERSION)
        pdb_status(1)
        out, _ = drv.communicate(timeout=60)
        stats = json.loads(out)
        check(stats["evicted"] == 1 and stats["blocked"] >= 2 and stats["failed"] == 0,
              "%s: evicted once the PDB allows it: %s" % (VERSION, out.decode().strip()))
        gone = api("GET", "/api/v1/namespaces/%s/pods/web-a" % ns)
        check(gone[0] == 404 or gone[1]["metadata"].get("deletionTimestamp"),
              "%s: the evicted pod is terminating" % VERSION)

        # The ReplicaSet controller's part: the replacement goes through the webhook.
        pod = new_pod()
        res = pod["spec"]["containers"][0]["resources"]
        check(res["requests"] == {"cpu": "300m", "memory": "200Mi"},
              "%s: replacement pod created with the recommended requests: %s" % (VERSION, res["requests"]))
        check(res["limits"] == {"cpu": "600m", "memory": "400Mi"},
              "%s: limits keep their ratio: %s" % (VERSION, res["limits"]))
        check(pod["status"].get("qosClass") in (None, "Burstable"), "%s: QoS class unchanged" % VERSION)
        # The template is untouched.
        rsnow = must(*api("GET", "/apis/apps/v1/namespaces/%s/replicasets/web" % ns), 200)
        check(rsnow["spec"]["template"]["spec"]["containers"][0]["resources"]["requests"]["cpu"] == "100m",
              "%s: the ReplicaSet template is not modified" % VERSION)
        # A broken annotation: admitted unchanged.
        must(*api("PATCH", "/apis/apps/v1/namespaces/%s/replicasets/web" % ns,
                  {"metadata": {"annotations": {"snug.io/recommendation": "{broken"}}}, "application/merge-patch+json"), 200)
        pod = new_pod()
        check(pod["spec"]["containers"][0]["resources"]["requests"]["cpu"] == "100m",
              "%s: broken recommendation: pod admitted unchanged" % VERSION)
        return 0
    except Exception as e:  # noqa: BLE001
        print("FAIL (%s): %s" % (VERSION, e))
        return 1
    finally:
        if drv and drv.poll() is None:
            drv.kill()
            drv.wait()
        wh.terminate()
        wh.wait(10)
        wh_log.close()


if __name__ == "__main__":
    sys.exit(main())
