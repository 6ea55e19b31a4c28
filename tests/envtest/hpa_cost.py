"""Measures, on a real kube-apiserver (an envtest control plane), what the agent's two ways of learning of
HorizontalPodAutoscalers would cost: the bytes of one HPA as the controller keeps it (status written), of a
namespace's LIST reply and of a watch event, and from them the load of a 5000-node cluster either way.
Not a pass/fail test: it prints the figures docs/agent.md quotes. Optionally records the LIST reply (status
line + body) as a unit-test fixture.

  SNUG_ENVTEST_SERVER=… SNUG_ENVTEST_CA=… SNUG_ENVTEST_ADMIN_TOKEN=… python3 tests/envtest/hpa_cost.py [FIXTURE]
"""

import json
import os
import ssl
import sys
import time
import urllib.error
import urllib.request

SERVER = os.environ.get("SNUG_ENVTEST_SERVER")
NS = "hpa-cost"

# The cluster the note is about; each figure is a parameter, printed with the result.
NODES = 5000
HPAS = 2000  # HorizontalPodAutoscalers in the cluster
NAMESPACES_PER_NODE = 10  # namespaces with managed pods on one node
REFRESH_S = 300  # --hpa-refresh
SYNC_S = 15  # kube-controller-manager --horizontal-pod-autoscaler-sync-period


def call(method, path, body=None, ctype="application/json"):
    ctx = ssl.create_default_context(cafile=os.environ["SNUG_ENVTEST_CA"])
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(SERVER + path, data=data, method=method,
                                 headers={"Authorization": "Bearer " + os.environ["SNUG_ENVTEST_ADMIN_TOKEN"],
                                          "Content-Type": ctype})
    try:
        with urllib.request.urlopen(req, context=ctx, timeout=30) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


def ok(method, path, body=None, ctype="application/json"):
    st, out = call(method, path, body, ctype)
    if st not in (200, 201):
        raise RuntimeError("%s %s -> %d %s" % (method, path, st, out[:400]))
    return out


def hpa(name):
    return {"apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler",
            "metadata": {"name": name, "namespace": NS, "labels": {"app": name}},
            "spec": {"scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": name},
                     "minReplicas": 2, "maxReplicas": 20,
                     "metrics": [{"type": "Resource", "resource": {
                         "name": "cpu", "target": {"type": "Utilization", "averageUtilization": 60}}}]}}


def status(gen):
    """What the HPA controller writes every sync (pkg/controller/podautoscaler/horizontal.go
    setStatus/setCondition): replicas, the current metric, and its three conditions."""
    t = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    cond = [("AbleToScale", "True", "ReadyForNewScale", "recommended size matches current size"),
            ("ScalingActive", "True", "ValidMetricFound",
             "the HPA was able to successfully calculate a replica count from cpu resource utilization "
             "(percentage of request)"),
            ("ScalingLimited", "False", "DesiredWithinRange", "the desired count is within the acceptable range")]
    return {"status": {"observedGeneration": gen, "lastScaleTime": t, "currentReplicas": 4, "desiredReplicas": 4,
                       "currentMetrics": [{"type": "Resource", "resource": {
                           "name": "cpu", "current": {"averageUtilization": 57, "averageValue": "114m"}}}],
                       "conditions": [{"type": a, "status": b, "lastTransitionTime": t, "reason": c, "message": d}
                                      for a, b, c, d in cond]}}


def main():
    if not SERVER:
        print("*** SKIPPED: hpa cost: needs an envtest control plane (SNUG_ENVTEST_SERVER) ***")
        return 0
    call("POST", "/api/v1/namespaces", {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NS}})
    base = "/apis/autoscaling/v2/namespaces/%s/horizontalpodautoscalers" % NS
    for i in range(10):
        o = json.loads(ok("POST", base, hpa("web-%d" % i)))
        ok("PATCH", "%s/web-%d/status" % (base, i), status(o["metadata"].get("generation", 1)),
           "application/merge-patch+json")
    one = ok("GET", base + "/web-0")
    st, list10 = call("GET", base + "?resourceVersion=0")
    for i in range(1, 10):
        ok("DELETE", "%s/web-%d" % (base, i))
    st, list1 = call("GET", base + "?resourceVersion=0")
    if len(sys.argv) > 1:
        with open(sys.argv[1], "w") as f:
            f.write("%d\n%s" % (st, json.dumps(json.loads(list1), indent=2)))
    obj = len(json.dumps(json.loads(one), separators=(",", ":")))
    event = obj + len('{"type":"MODIFIED","object":}\n')
    l1 = len(list1)
    per_item = (len(list10) - l1) / 9.0
    print("measured (kube-apiserver %s): one HPA with status %d bytes; watch event %d bytes; LIST of a "
          "namespace: %d bytes with 1 HPA, %d with 10 (%.0f per HPA)" % (
              json.loads(ok("GET", "/version"))["gitVersion"], obj, event, l1, len(list10), per_item))

    # (a) one list+watch of every HPA per node
    writes = HPAS / SYNC_S  # status writes per second, at most one per HPA per sync
    print("watch per node: %d watches; initial LIST %d objects per node, %.1f MB per node, %.1f GB for a "
          "DaemonSet rollout; %.0f status writes/s fanned out to %d watchers = %.0f events/s, %.0f MB/s" % (
              NODES, HPAS, HPAS * obj / 1e6, NODES * HPAS * obj / 1e9, writes, NODES, writes * NODES,
              writes * NODES * event / 1e6))
    # (b) a LIST per namespace with managed pods, every REFRESH_S
    qps = NODES * NAMESPACES_PER_NODE / float(REFRESH_S)
    per_ns = HPAS / 1000.0  # a cluster of 1000 namespaces: 2 HPAs each
    reply = l1 + (per_ns - 1) * per_item
    print("LIST per namespace every %ds: %.0f LIST/s cluster-wide (%d nodes x %d namespaces), %.0f bytes "
          "per reply (%.0f HPAs), %.2f MB/s; no watch; a new namespace costs 1 LIST" % (
              REFRESH_S, qps, NODES, NAMESPACES_PER_NODE, reply, per_ns, qps * reply / 1e6))
    return 0


if __name__ == "__main__":
    sys.exit(main())
