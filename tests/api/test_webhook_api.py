"""API tier of the eviction fallback: the engine (build/tests/fallback-driver) and `snug-agent webhook`
against tests/fake-apiserver, whose ReplicaSet controller recreates evicted pods through the webhook
over HTTPS. What a user would notice: the replacement pod has the recommended resources; a PDB delays
but does not lose an eviction; bare and single-replica pods are left alone; the per-node eviction budget
holds; a broken annotation admits pods unchanged; one client cannot take every connection.

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
        wh = self.start_webhook()
        rs = self.make_rs()
        self.owned_pod(rs, "web-a")
        st = self.drive(["web-a"])
        self.assertEqual(st["evicted"], 1, self.driver_log)
        self.assertEqual(st["annotated"], 1)
        ann = json.loads(self.rs_annotation())
        self.assertEqual(ann["node"], "node-1")
        self.assertGreater(ann["at"], 1.7e9)
        self.assertEqual(ann["containers"][0]["name"], "app")
        self.assertEqual(ann["containers"][0]["requests"], {"cpu": "300m", "memory": "200Mi"})
        # the template is never touched
        st_, rsnow = self.srv.request("GET", "/apis/apps/v1/namespaces/default/replicasets/web")
        self.assertEqual(rsnow["spec"]["template"]["spec"]["containers"][0]["resources"]["requests"]["cpu"], "100m")
        pod = self.replacement("web-a")
        res = pod["spec"]["containers"][0]["resources"]
        self.assertEqual(res["requests"], {"cpu": "300m", "memory": "200Mi"})
        # limits keep their 2:1 ratio to the requests
        self.assertEqual(res["limits"], {"cpu": "600m", "memory": "400Mi"})
        self.assertEqual(pod["status"]["qosClass"], "Burstable")
        self.assertEqual(wh.metric('snug_webhook_requests_total{result="patched"}'), 1)
        # Events tell the story on the pod and the owner
        st_, evs = self.srv.request("GET", "/api/v1/namespaces/default/events")
        reasons = {e["reason"] for e in evs["items"]}
        self.assertTrue({"SnugEvicting", "SnugEvicted", "SnugRecommendationRecorded"} <= reasons, reasons)

    def test_guaranteed_pod_stays_guaranteed_and_caps_apply(self):
        wh = self.start_webhook("--max-cpu", "250m")
        rs = self.make_rs(resources={"limits": {"cpu": "100m", "memory": "128Mi"}})
        self.owned_pod(rs, "web-a")
        st = self.drive(["web-a"], rec="app:500m:256Mi")
        self.assertEqual(st["evicted"], 1, self.driver_log)
        pod = self.replacement("web-a")
        res = pod["spec"]["containers"][0]["resources"]
        self.assertEqual(res["requests"], {"cpu": "250m", "memory": "256Mi"})
        self.assertEqual(res["limits"], {"cpu": "250m", "memory": "256Mi"})
        self.assertEqual(pod["status"]["qosClass"], "Guaranteed")

    def test_pdb_block_is_retried_not_lost(self):
        self.start_webhook()
        rs = self.make_rs()
        self.owned_pod(rs, "web-a")
        self.srv.create_pdb("web-pdb", {"app": "web"}, disruptions_allowed=0, desired_healthy=3, current_healthy=3)
        drv = subprocess.Popen([DRIVER, "--kubeconfig", self.srv.kubeconfig(), "--node", "node-1", "--rec", "app:300m:200Mi",
                                "--pod", "default/web-a", "--backoff-min-ms", "200", "--backoff-max-ms", "400", "--run-ms", "30000"],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        try:
            self.assertTrue(self.srv.wait_for(lambda: len(self.evictions(429)) >= 3, timeout=15),
                            "expected repeated 429s: %s" % self.evictions())
            self.assertIsNotNone(self.srv.get_pod("web-a"))
            self.srv.set_pdb_status("web-pdb", 1, desired_healthy=2, current_healthy=3)
            out, err = drv.communicate(timeout=40)
        finally:
            if drv.poll() is None:
                drv.kill()
                drv.wait()
        st = json.loads(out)
        self.assertEqual(st["evicted"], 1, err.decode())
        self.assertGreaterEqual(st["blocked"], 3)
        self.assertEqual(st["failed"], 0)
        self.assertEqual(len(self.evictions(201)), 1)
        pod = self.replacement("web-a")
        self.assertEqual(pod["spec"]["containers"][0]["resources"]["requests"]["cpu"], "300m")
        st_, evs = self.srv.request("GET", "/api/v1/namespaces/default/events")
        blocked = [e for e in evs["items"] if e["reason"] == "SnugEvictionBlocked"]
        self.assertTrue(blocked)
        self.assertIn("web-pdb", blocked[0]["message"])

    def test_bare_and_single_replica_pods_not_evicted(self):
        self.srv.create_pod("bare")
        solo = self.make_rs(name="solo", replicas=1)
        self.owned_pod(solo, "solo-a")
        st = self.drive(["bare", "solo-a"])
        self.assertEqual(st["refused_bare"], 1)
        self.assertEqual(st["refused_single"], 1)
        self.assertEqual(st["evicted"], 0)
        self.assertEqual(self.evictions(), [])
        self.assertIsNone(self.rs_annotation("solo"))
        self.assertIsNotNone(self.srv.get_pod("bare"))
        self.assertIsNotNone(self.srv.get_pod("solo-a"))
        # ... unless the pod opts in
        self.owned_pod(solo, "solo-b", annotations={"snug.io/allow-single-replica-eviction": "true"})
        st = self.drive(["solo-b"])
        self.assertEqual(st["evicted"], 1, self.driver_log)

    def test_eviction_rate_limit_holds(self):
        rs = self.make_rs(replicas=3)
        for p in ("web-a", "web-b", "web-c"):
            self.owned_pod(rs, p)
        # one eviction per hour on this node: within the run only one pod goes
        st = self.drive(["web-a", "web-b", "web-c"], "--max-evictions", "1", "--interval-ms", "3600000", run_ms=3000)
        self.assertEqual(st["evicted"], 1, self.driver_log)
        self.assertEqual(st["queued"], 2)
        self.assertGreaterEqual(st["rate_limited"], 1)
        self.assertEqual(len(self.evictions()), 1)
        # with a short window the others go too
        left = [p for p in ("web-a", "web-b", "web-c") if self.srv.get_pod(p) and not self.srv.get_pod(p)["metadata"].get("deletionTimestamp")]
        self.assertEqual(len(left), 2)
        self.srv.clear_requests()
        st = self.drive(left, "--max-evictions", "1", "--interval-ms", "700")
        self.assertEqual(st["evicted"], 2, self.driver_log)
        self.assertEqual(len(self.evictions(201)), 2)

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
    def history_entry(node, cores, memory):
        """Node `node`'s WorkloadHistory entry of Deployment shop's app container: two days at `cores`
        and `memory` bytes, in VPA's checkpoint form (one bucket each, the largest 10000)."""
        now, day = time.time(), 86400
        iso = lambda t: time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t))  # noqa: E731
        bucket = lambda v, first: int(math.floor(math.log(v * 0.05 / first + 1) / math.log(1.05)))  # noqa: E731
        hist = lambda b, w: {"referenceTimestamp": iso(now - now % day), "totalWeight": w,  # noqa: E731
                             "numBuckets": 176, "bucketWeights": {str(b): 10000}}
        key = "%016x" % fnv1a64("Deployment/shop")
        return {"apiVersion": "snug.io/v1alpha1", "kind": "WorkloadHistory",
                "metadata": {"name": "%s.%s" % (key, node), "namespace": "default",
                             "labels": {"snug.io/workload": key, "snug.io/node": node}},
                "spec": {"nodeName": node, "workload": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "shop"},
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
