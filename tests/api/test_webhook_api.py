"""API tier of the eviction fallback: the node's engine (build/tests/fallback-driver, which asks with
the label snug.io/eviction-requested on the pod) and `snug-agent webhook` (its controller evicts what is
asked for, its admission webhook mutates the replacement) against tests/fake-apiserver, whose ReplicaSet
controller recreates evicted pods through the webhook over HTTPS. What a user would notice: the
replacement pod has the workload's merged recommendation; a PDB delays but does not lose an eviction; an
eviction of a pod already gone (another webhook replica's) is done, not an error; bare and
single-replica pods are left alone; the per-node budget holds; a broken annotation admits pods
unchanged; one client cannot take every connection.

Env: SNUG_AGENT, SNUG_FALLBACK_DRIVER (paths), SNUG_RESULTS (result line file).
"""

import base64
import http.client
import json
import math
import os
import select
import shutil
import socket
import ssl
import subprocess
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))

from snugtest import REPO  # noqa: E402
from snugtest.agent import AGENT  # noqa: E402
from snugtest.fakeserver import FakeApiServer  # noqa: E402
from snugtest.harness import main  # noqa: E402
from snugtest.units import quantity as quantity_bytes  # noqa: E402

DRIVER = os.environ.get("SNUG_FALLBACK_DRIVER", os.path.join(REPO, "build", "tests", "fallback-driver"))
ANN = "snug.io/recommendation"


def fnv1a64(text):
    h = 0xcbf29ce484222325
    for b in text.encode():
        h = ((h ^ b) * 0x100000001b3) & 0xFFFFFFFFFFFFFFFF
    return h


class Webhook:
    """`snug-agent webhook` on a random loopback port, with the fake server's certificate."""

    def __init__(self, srv, workdir, extra=()):
        self.srv = srv
        self.dir = workdir
        self.port_file = os.path.join(workdir, "webhook.port")
        self.cert = os.path.join(workdir, "wh.crt")
        self.key = os.path.join(workdir, "wh.key")
        shutil.copy(srv.certs["server.crt"], self.cert)
        shutil.copy(srv.certs["server.key"], self.key)
        self.log_path = os.path.join(workdir, "webhook.log")
        self.extra = list(extra)
        self.proc = None

    def start(self):
        if os.path.exists(self.port_file):
            os.unlink(self.port_file)
        self._log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(
            [AGENT, "webhook", "--listen", "127.0.0.1:0", "--port-file", self.port_file, "--tls-cert", self.cert,
             "--tls-key", self.key, "--kubeconfig", self.srv.kubeconfig(), "--log-level", "debug"] + self.extra,
            stdout=self._log, stderr=subprocess.STDOUT)
        deadline = time.time() + 10
        while time.time() < deadline:
            if os.path.exists(self.port_file):
                with open(self.port_file) as f:
                    self.port = int(f.read())
                return self
            if self.proc.poll() is not None:
                raise RuntimeError("webhook exited: %s" % self.log())
            time.sleep(0.05)
        raise RuntimeError("webhook did not start: %s" % self.log())

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None
        self._log.close()

    def log(self):
        with open(self.log_path, "rb") as f:
            return f.read().decode("utf-8", "replace")[-4000:]

    @property
    def url(self):
        return "https://127.0.0.1:%d/mutate" % self.port

    def get(self, path):
        c = http.client.HTTPSConnection("127.0.0.1", self.port, context=ssl.create_default_context(cafile=self.srv.ca_file), timeout=10)
        c.request("GET", path)
        r = c.getresponse()
        return r.status, r.read().decode()

    def post(self, body):
        c = http.client.HTTPSConnection("127.0.0.1", self.port, context=ssl.create_default_context(cafile=self.srv.ca_file), timeout=10)
        c.request("POST", "/mutate", body=body, headers={"Content-Type": "application/json"})
        r = c.getresponse()
        return r.status, r.read().decode()

    def metric(self, name):
        st, text = self.get("/metrics")
        for line in text.splitlines():
            if line.startswith(name + " "):
                return float(line.split()[-1])
        return None


class FallbackApiTest(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="snug-webhook-")
        # 1.26: no in-place resize at all, the case the fallback exists for
        os.makedirs(os.path.join(self.dir, "api"))
        self.srv = FakeApiServer(version="1.26", workdir=os.path.join(self.dir, "api")).start()
        self.srv.create_node("node-1")
        self.srv.kubelet(delete_grace=0.2)
        self.wh = None

    def tearDown(self):
        if self.wh:
            self.wh.stop()
        self.srv.cleanup()
        shutil.rmtree(self.dir, ignore_errors=True)

    # ---- helpers
    def start_webhook(self, *extra):
        self.wh = Webhook(self.srv, self.dir, extra).start()
        self.srv.controller(enabled=True, delay=0.05,
                            webhook={"url": self.wh.url, "ca_file": self.srv.ca_file, "failure_policy": "Ignore", "timeout": 10,
                                     "name": "snug.webhook"})
        return self.wh

    def make_rs(self, name="web", replicas=3, annotations=None, resources=None):
        res = resources or {"requests": {"cpu": "100m", "memory": "128Mi"}, "limits": {"cpu": "200m", "memory": "256Mi"}}
        md = {"name": name, "namespace": "default"}
        if annotations:
            md["annotations"] = annotations
        rs = self.srv.create({"apiVersion": "apps/v1", "kind": "ReplicaSet", "metadata": md,
                              "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": name}},
                                       "template": {"metadata": {"labels": {"app": name}},
                                                    "spec": {"containers": [{"name": "app", "image": "registry.example/app:1",
                                                                             "resources": res}]}}}})
        return rs

    def owned_pod(self, rs, name, annotations=None):
        owner = {"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": rs["metadata"]["name"],
                 "uid": rs["metadata"]["uid"], "controller": True}
        return self.srv.create_pod(name, labels={"app": rs["metadata"]["name"]}, owner=owner, annotations=annotations)

    def drive(self, pods, *args, rec="app:300m:200Mi", run_ms=20000):
        cmd = [DRIVER, "--kubeconfig", self.srv.kubeconfig(), "--node", "node-1", "--rec", rec,
               "--backoff-min-ms", "200", "--backoff-max-ms", "400", "--run-ms", str(run_ms)]
        for p in pods:
            cmd += ["--pod", "default/" + p]
        cmd += list(args)
        out = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=run_ms / 1000 + 30)
        self.driver_log = out.stderr.decode()
        self.assertIn(out.returncode, (0,), self.driver_log)
        return json.loads(out.stdout)

    def evictions(self, status=None):
        return [r for r in self.srv.requests()
                if r["method"] == "POST" and r["path"].endswith("/eviction") and (status is None or r["status"] == status)]

    def merged_history(self, name="web", cores=(0.5, 1.5), memory=(300 << 20, 900 << 20)):
        """Two nodes' WorkloadHistory entries of ReplicaSet `name`; returns VPA's target of the merge
        (P90 + 15 %: the larger node's bucket end) as (millicores, bytes)."""
        for i, (c, m) in enumerate(zip(cores, memory)):
            self.srv.create(self.history_entry("node-%d" % (i + 1), c, m, kind="ReplicaSet", name=name))
        end = lambda b, first: first * (1.05 ** (b + 1) - 1) / 0.05  # noqa: E731
        bucket = lambda v, first: int(math.floor(math.log(v * 0.05 / first + 1) / math.log(1.05)))  # noqa: E731
        margin = lambda v: v + int(v * 0.15)  # noqa: E731
        return (margin(int(end(bucket(max(cores), 0.01), 0.01) * 1000)),
                margin(int(end(bucket(max(memory), 1e7), 1e7))))

    def asked(self, pod):
        p = self.srv.get_pod(pod)
        return p and (p["metadata"].get("labels") or {}).get("snug.io/eviction-requested") == "true"

    def webhook_metric(self, result, wh=None):
        return (wh or self.wh).metric('snug_webhook_evictions_total{result="%s"}' % result)

    def rs_annotation(self, name="web"):
        st, rs = self.srv.request("GET", "/apis/apps/v1/namespaces/default/replicasets/%s" % name)
        return (rs["metadata"].get("annotations") or {}).get(ANN)

    def replacement(self, old):
        def find():
            for e in self.srv.state()["controller_log"]:
                if e.get("replaced") == old and e.get("pod"):
                    return e["pod"]
            return None
        name = self.srv.wait_for(find, timeout=15)
        self.assertIsNotNone(name, "no replacement for %s: %s" % (old, self.srv.state()["controller_log"]))
        return self.srv.get_pod(name)

    # ---- tests
    def test_evicted_pod_comes_back_with_recommendation(self):
        # The node asks (label + annotation on its pod), the webhook's controller evicts, the
        # replacement gets the workload's merged history: node-2's 1.5 cores / 900 MiB win the P90.
        wh = self.start_webhook("--eviction-backoff-min", "0.2", "--eviction-backoff-max", "0.4")
        cpu, mem = self.merged_history()
        rs = self.make_rs()
        self.owned_pod(rs, "web-a")
        st = self.drive(["web-a"])
        self.assertEqual(st["requested"], 1, self.driver_log)
        # the request as the node wrote it (the pod may be gone already)
        ask = [r["body"] for r in self.srv.requests() if r["method"] == "PATCH" and r["path"].endswith("/pods/web-a")]
        self.assertEqual(len(ask), 1, ask)
        self.assertEqual(ask[0]["metadata"]["labels"], {"snug.io/eviction-requested": "true"})
        req = json.loads(ask[0]["metadata"]["annotations"]["snug.io/eviction-requested"])
        self.assertEqual((req["node"], req["containers"][0]["requests"]), ("node-1", {"cpu": "300m", "memory": "200Mi"}))
        pod = self.replacement("web-a")
        # the eviction is the webhook's, never the node engine's
        ev = self.evictions(201)
        self.assertEqual(len(ev), 1)
        self.assertEqual(ev[0]["user_agent"].split("/")[0], "snug-webhook")
        self.assertFalse([r for r in self.srv.requests() if (r.get("user_agent") or "").startswith("snug-fallback-driver")
                          and (r["path"].endswith("/eviction") or "/replicasets/" in r["path"] and r["method"] != "GET")])
        self.assertIsNone(self.rs_annotation())
        res = pod["spec"]["containers"][0]["resources"]
        self.assertEqual(res["requests"]["cpu"], "%dm" % cpu)
        self.assertEqual(quantity_bytes(res["requests"]["memory"]), mem)
        # limits keep their 2:1 ratio to the requests
        self.assertEqual(res["limits"]["cpu"], "%dm" % (2 * cpu))
        self.assertEqual(pod["status"]["qosClass"], "Burstable")
        self.assertEqual(wh.metric('snug_webhook_requests_total{result="patched"}'), 1)
        self.assertEqual(self.webhook_metric("evicted"), 1)
        # the template is never touched
        st_, rsnow = self.srv.request("GET", "/apis/apps/v1/namespaces/default/replicasets/web")
        self.assertEqual(rsnow["spec"]["template"]["spec"]["containers"][0]["resources"]["requests"]["cpu"], "100m")
        # Events tell the story on the pod
        st_, evs = self.srv.request("GET", "/api/v1/namespaces/default/events")
        reasons = {e["reason"] for e in evs["items"]}
        self.assertTrue({"SnugEvictionRequested", "SnugEvicted"} <= reasons, reasons)

    def test_guaranteed_pod_stays_guaranteed_and_caps_apply(self):
        self.start_webhook("--max-cpu", "250m")
        cpu, mem = self.merged_history()
        rs = self.make_rs(resources={"limits": {"cpu": "100m", "memory": "128Mi"}})
        self.owned_pod(rs, "web-a")
        st = self.drive(["web-a"], rec="app:500m:256Mi")
        self.assertEqual(st["requested"], 1, self.driver_log)
        pod = self.replacement("web-a")
        res = pod["spec"]["containers"][0]["resources"]
        self.assertEqual(res["requests"]["cpu"], "250m")
        self.assertEqual(res["limits"]["cpu"], "250m")
        self.assertEqual(quantity_bytes(res["requests"]["memory"]), mem)
        self.assertEqual(res["limits"]["memory"], res["requests"]["memory"])
        self.assertEqual(pod["status"]["qosClass"], "Guaranteed")

    def test_pdb_block_is_retried_not_lost(self):
        wh = self.start_webhook("--eviction-backoff-min", "0.2", "--eviction-backoff-max", "0.4")
        rs = self.make_rs()
        self.owned_pod(rs, "web-a")
        self.srv.create_pdb("web-pdb", {"app": "web"}, disruptions_allowed=0, desired_healthy=3, current_healthy=3)
        st = self.drive(["web-a"])
        self.assertEqual(st["requested"], 1, self.driver_log)
        self.assertTrue(self.srv.wait_for(lambda: len(self.evictions(429)) >= 3, timeout=15),
                        "expected repeated 429s: %s\n%s" % (self.evictions(), wh.log()))
        self.assertIsNotNone(self.srv.get_pod("web-a"))
        self.assertFalse(self.srv.get_pod("web-a")["metadata"].get("deletionTimestamp"))
        self.srv.set_pdb_status("web-pdb", 1, desired_healthy=2, current_healthy=3)
        self.replacement("web-a")
        self.assertEqual(len(self.evictions(201)), 1)
        self.assertGreaterEqual(self.webhook_metric("blocked"), 3)
        self.assertEqual(self.webhook_metric("evicted"), 1)
        self.assertEqual(self.webhook_metric("failed"), 0)
        st_, evs = self.srv.request("GET", "/api/v1/namespaces/default/events")
        blocked = [e for e in evs["items"] if e["reason"] == "SnugEvictionBlocked"]
        self.assertTrue(blocked)
        self.assertIn("web-pdb", blocked[0]["message"])

    def test_eviction_of_a_pod_already_gone_is_done(self):
        # Another replica of the Deployment evicted it first: the API answers 404. Done, not an
        # error: no retry, no SnugEvictionFailed.
        self.start_webhook("--eviction-backoff-min", "0.2", "--eviction-backoff-max", "0.4")
        rs = self.make_rs()
        self.owned_pod(rs, "web-a")
        self.srv.fault(action="error", method="POST", path="/pods/web-a/eviction$", status=404, count=1,
                       message='pods "web-a" not found')
        st = self.drive(["web-a"])
        self.assertEqual(st["requested"], 1, self.driver_log)
        self.assertTrue(self.srv.wait_for(lambda: self.webhook_metric("gone") == 1, timeout=10), self.wh.log())
        time.sleep(1.5)  # several backoff periods: a retry would have come by now
        self.assertEqual(len(self.evictions()), 1, self.evictions())
        self.assertEqual((self.webhook_metric("error"), self.webhook_metric("failed")), (0, 0))
        st_, evs = self.srv.request("GET", "/api/v1/namespaces/default/events")
        self.assertFalse([e for e in evs["items"] if e["reason"] == "SnugEvictionFailed"])

    def test_two_webhook_replicas_evict_once(self):
        # Both replicas of the Deployment see the request; the pod is evicted and replaced once, and
        # neither counts an error.
        self.start_webhook("--eviction-backoff-min", "0.2", "--eviction-backoff-max", "0.4")
        os.makedirs(os.path.join(self.dir, "b"))
        other = Webhook(self.srv, os.path.join(self.dir, "b"), ("--eviction-backoff-min", "0.2")).start()
        try:
            rs = self.make_rs()
            self.owned_pod(rs, "web-a")
            self.drive(["web-a"])
            self.replacement("web-a")
            time.sleep(1)
            both = [self.webhook_metric(r) + self.webhook_metric(r, other) for r in ("evicted", "gone", "error", "failed")]
            self.assertEqual(both[2:], [0, 0], self.wh.log() + other.log())
            self.assertGreaterEqual(both[0], 1)
            replaced = [e for e in self.srv.state()["controller_log"] if e.get("replaced") == "web-a" and e.get("pod")]
            self.assertEqual(len(replaced), 1, replaced)
        finally:
            other.stop()

    def test_bare_and_single_replica_pods_not_asked_for(self):
        self.srv.create_pod("bare")
        solo = self.make_rs(name="solo", replicas=1)
        self.owned_pod(solo, "solo-a")
        st = self.drive(["bare", "solo-a"])
        self.assertEqual(st["refused_bare"], 1)
        self.assertEqual(st["refused_single"], 1)
        self.assertEqual(st["requested"], 0)
        self.assertFalse(self.asked("bare") or self.asked("solo-a"))
        self.assertEqual(self.evictions(), [])
        # ... unless the pod opts in
        self.owned_pod(solo, "solo-b", annotations={"snug.io/allow-single-replica-eviction": "true"})
        st = self.drive(["solo-b"])
        self.assertEqual(st["requested"], 1, self.driver_log)
        self.assertTrue(self.asked("solo-b"))

    def test_webhook_refuses_a_bare_pod_that_asks(self):
        # A compromised node may label its own bare pod: the controller does not evict a pod that
        # would not come back.
        self.start_webhook()
        self.srv.create_pod("bare", labels={"snug.io/eviction-requested": "true"})
        self.assertTrue(self.srv.wait_for(lambda: self.webhook_metric("refused-bare") == 1, timeout=10), self.wh.log())
        self.assertEqual(self.evictions(), [])

    def test_eviction_rate_limit_holds(self):
        rs = self.make_rs(replicas=3)
        for p in ("web-a", "web-b", "web-c"):
            self.owned_pod(rs, p)
        # one request per hour on this node: within the run only one pod is asked for
        st = self.drive(["web-a", "web-b", "web-c"], "--max-evictions", "1", "--interval-ms", "3600000", run_ms=3000)
        self.assertEqual(st["requested"], 1, self.driver_log)
        self.assertEqual(st["queued"], 3)  # one asked, two waiting
        self.assertGreaterEqual(st["rate_limited"], 1)
        left = [p for p in ("web-a", "web-b", "web-c") if not self.asked(p)]
        self.assertEqual(len(left), 2)
        # with a short window the others go too
        st = self.drive(left, "--max-evictions", "1", "--interval-ms", "700")
        self.assertEqual(st["requested"], 2, self.driver_log)
        self.assertTrue(all(self.asked(p) for p in ("web-a", "web-b", "web-c")))

    def test_broken_annotation_admits_unchanged(self):
        wh = self.start_webhook()
        rs = self.make_rs(annotations={ANN: "{not json"})
        self.owned_pod(rs, "web-a")
        st, _ = self.srv.request("DELETE", "/api/v1/namespaces/default/pods/web-a", {"gracePeriodSeconds": 0})
        self.assertEqual(st, 200)
        pod = self.replacement("web-a")
        self.assertEqual(pod["spec"]["containers"][0]["resources"]["requests"], {"cpu": "100m", "memory": "128Mi"})
        self.assertEqual(wh.metric('snug_webhook_requests_total{result="failed_open"}'), 1)
        self.assertEqual(wh.metric('snug_webhook_failed_open_total{cause="bad_annotation"}'), 1)
        self.assertIn("failed open", wh.log())

    def test_garbage_reviews_are_admitted(self):
        wh = self.start_webhook()
        for body in (b"", b"{", b"[]", b'{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"u1"}}'):
            st, out = wh.post(body)
            self.assertEqual(st, 200, out)
            resp = json.loads(out)["response"]
            self.assertTrue(resp["allowed"])
            self.assertNotIn("patch", resp)
        self.assertEqual(json.loads(out)["response"]["uid"], "u1")
        # owner missing: a pod whose ReplicaSet does not exist is admitted unchanged
        review = {"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview",
                  "request": {"uid": "u2", "kind": {"group": "", "version": "v1", "kind": "Pod"}, "namespace": "default",
                              "operation": "CREATE",
                              "object": {"metadata": {"generateName": "x-", "ownerReferences": [
                                  {"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "nope", "uid": "u", "controller": True}]},
                                  "spec": {"containers": [{"name": "app", "resources": {"requests": {"cpu": "1"}}}]}}}}
        st, out = wh.post(json.dumps(review).encode())
        resp = json.loads(out)["response"]
        self.assertEqual((st, resp["uid"], resp["allowed"], resp.get("patch")), (200, "u2", True, None))
        self.assertEqual(wh.metric('snug_webhook_failed_open_total{cause="owner_lookup"}'), 1)
        st, text = wh.get("/healthz")
        self.assertEqual((st, text), (200, "ok\n"))

    def test_patch_over_https_directly(self):
        wh = self.start_webhook()
        rs = self.make_rs(annotations={ANN: json.dumps({"at": 1, "containers": [{"name": "app", "requests": {"cpu": "1", "memory": "1Gi"}}]})})
        review = {"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview",
                  "request": {"uid": "u3", "kind": {"group": "", "version": "v1", "kind": "Pod"}, "namespace": "default",
                              "operation": "CREATE",
                              "object": {"metadata": {"generateName": "web-", "ownerReferences": [
                                  {"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "web", "uid": rs["metadata"]["uid"], "controller": True}]},
                                  "spec": {"containers": [{"name": "app", "resources": {"requests": {"cpu": "100m", "memory": "128Mi"},
                                                                                         "limits": {"cpu": "200m"}}}]}}}}
        st, out = wh.post(json.dumps(review).encode())
        resp = json.loads(out)["response"]
        self.assertEqual(resp["patchType"], "JSONPatch")
        ops = json.loads(base64.b64decode(resp["patch"]))
        by_path = {o["path"]: o["value"] for o in ops}
        self.assertEqual(by_path["/spec/containers/0/resources/requests"], {"cpu": "1", "memory": "1Gi"})
        self.assertEqual(by_path["/spec/containers/0/resources/limits"], {"cpu": "2"})

    @staticmethod
    def history_entry(node, cores, memory, kind="Deployment", name="shop"):
        """Node `node`'s WorkloadHistory entry of workload kind/name's app container (Deployment shop):
        two days at `cores` and `memory` bytes, in VPA's checkpoint form (one bucket each, the largest
        10000)."""
        now, day = time.time(), 86400
        iso = lambda t: time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t))  # noqa: E731
        bucket = lambda v, first: int(math.floor(math.log(v * 0.05 / first + 1) / math.log(1.05)))  # noqa: E731
        hist = lambda b, w: {"referenceTimestamp": iso(now - now % day), "totalWeight": w,  # noqa: E731
                             "numBuckets": 176, "bucketWeights": {str(b): 10000}}
        key = "%016x" % fnv1a64("%s/%s" % (kind, name))
        return {"apiVersion": "snug.io/v1alpha1", "kind": "WorkloadHistory",
                "metadata": {"name": "%s.%s" % (key, node), "namespace": "default",
                             "labels": {"snug.io/workload": key, "snug.io/node": node}},
                "spec": {"nodeName": node, "workload": {"apiVersion": "apps/v1", "kind": kind, "name": name},
                         "containers": [{"name": "app", "firstSampleStart": iso(now - 2 * day),
                                         "lastSampleStart": iso(now - 120), "totalSamplesCount": 2880,
                                         "cpuHistogram": hist(bucket(cores, 0.01), 288.0),
                                         "memoryHistogram": hist(bucket(memory, 1e7), 20.0)}]}}

    def test_patch_from_the_merged_workload_history(self):
        # Two nodes' entries of Deployment shop (0.5 cores / 300 MiB, 1.5 cores / 900 MiB): the
        # recreated pod of its ReplicaSet gets VPA's target of the merge (P90 + 15%), not the owner's
        # annotation, and no owner is read.
        wh = self.start_webhook()
        for node, cores, mem in (("node-1", 0.5, 300 << 20), ("node-2", 1.5, 900 << 20)):
            self.srv.create(self.history_entry(node, cores, mem))
        review = {"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview",
                  "request": {"uid": "u4", "kind": {"group": "", "version": "v1", "kind": "Pod"}, "namespace": "default",
                              "operation": "CREATE",
                              "object": {"metadata": {"generateName": "shop-7c9d8f6b5d-",
                                                      "labels": {"pod-template-hash": "7c9d8f6b5d"},
                                                      "ownerReferences": [
                                  {"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "shop-7c9d8f6b5d",
                                   "uid": "0e1f", "controller": True}]},
                                  "spec": {"containers": [{"name": "app", "resources": {
                                      "requests": {"cpu": "100m", "memory": "128Mi"},
                                      "limits": {"cpu": "200m", "memory": "256Mi"}}}]}}}}
        st, out = wh.post(json.dumps(review).encode())
        resp = json.loads(out)["response"]
        self.assertEqual(resp.get("patchType"), "JSONPatch", wh.log())
        by_path = {o["path"]: o["value"] for o in json.loads(base64.b64decode(resp["patch"]))}
        end = lambda b, first: first * (1.05 ** (b + 1) - 1) / 0.05  # noqa: E731
        margin = lambda v: v + int(v * 0.15)  # noqa: E731
        cpu = margin(int(end(int(math.floor(math.log(1.5 * 0.05 / 0.01 + 1) / math.log(1.05))), 0.01) * 1000))
        mem = margin(int(end(int(math.floor(math.log((900 << 20) * 0.05 / 1e7 + 1) / math.log(1.05))), 1e7)))
        req = by_path["/spec/containers/0/resources/requests"]
        self.assertEqual(req["cpu"], "%dm" % cpu)
        self.assertEqual(int(req["memory"]), mem)
        lists = [r for r in self.srv.requests() if r["method"] == "GET" and r["path"].endswith("/workloadhistories")]
        self.assertEqual(len(lists), 1)
        self.assertFalse([r for r in self.srv.requests() if "/replicasets/" in r["path"]], "the owner was read")

    def test_tls_certificate_reloaded(self):
        wh = self.start_webhook("--tls-check-interval", "0.2")
        pem1 = ssl.get_server_certificate(("127.0.0.1", wh.port))
        # a new certificate from the same CA, written the way a Secret update lands (rename)
        d = os.path.join(self.dir, "pki2")
        os.makedirs(d)
        ca_key = self.srv.certs["ca.key"]
        subprocess.run(["openssl", "req", "-new", "-newkey", "rsa:2048", "-nodes", "-keyout", os.path.join(d, "k"),
                        "-subj", "/CN=snug-webhook-2", "-out", os.path.join(d, "csr")], check=True, capture_output=True)
        ext = os.path.join(d, "ext")
        with open(ext, "w") as f:
            f.write("subjectAltName=IP:127.0.0.1,DNS:localhost\n")
        subprocess.run(["openssl", "x509", "-req", "-in", os.path.join(d, "csr"), "-CA", self.srv.ca_file, "-CAkey", ca_key,
                        "-CAcreateserial", "-days", "2", "-extfile", ext, "-out", os.path.join(d, "c")], check=True, capture_output=True)
        shutil.copy(os.path.join(d, "k"), wh.key + ".tmp")
        os.rename(wh.key + ".tmp", wh.key)
        shutil.copy(os.path.join(d, "c"), wh.cert + ".tmp")
        os.rename(wh.cert + ".tmp", wh.cert)
        def served():
            try:
                return ssl.get_server_certificate(("127.0.0.1", wh.port))
            except (OSError, ssl.SSLError) as e:
                self.fail("TLS handshake failed during the reload: %s" % e)
        changed = self.srv.wait_for(lambda: served() != pem1, timeout=10)
        self.assertTrue(changed, wh.log())
        st, text = wh.get("/healthz")  # verified against the CA with the new certificate
        self.assertEqual(st, 200)
        self.assertGreaterEqual(wh.metric('snug_webhook_tls_reloads_total{result="ok"}'), 1)

    def test_one_client_holds_only_its_share_of_connections(self):
        # A client address that opens connections and never sends a byte (not even a TLS hello)
        # keeps at most 128 of them (docs/metrics.md); the rest are closed at once, and the probes'
        # /healthz from another address is answered while those 128 are held. Without the per-client
        # limit all 200 would be held (512 in all), none closed.
        per_client, opened = 128, 200
        wh = self.start_webhook()
        socks = []

        def closed_by_server(s):
            if not select.select([s], [], [], 0)[0]:
                return False
            try:
                return s.recv(1) == b""
            except ConnectionResetError:
                return True

        def count_closed():
            return sum(1 for s in socks if closed_by_server(s))

        try:
            for _ in range(opened):
                s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
                socks.append(s)
                s.bind(("127.0.0.2", 0))
                s.connect(("127.0.0.1", wh.port))
            self.srv.wait_for(lambda: count_closed() == opened - per_client, timeout=10)
            self.assertEqual(count_closed(), opened - per_client, wh.log())
            st, text = wh.get("/healthz")
            self.assertEqual((st, text), (200, "ok\n"))
            self.assertEqual(count_closed(), opened - per_client)  # still held meanwhile
        finally:
            for s in socks:
                s.close()


if __name__ == "__main__":
    main("webhook")
