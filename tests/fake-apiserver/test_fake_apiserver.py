#!/usr/bin/python3
"""Tests of the fake API server: it must answer as the recorded real kube-apiserver 1.36/1.33 did
(transcript replay) and its test-only machinery (kubelet, controller, faults, tokens) must work."""

import copy
import http.client
import json
import os
import shutil
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
import time
import unittest
from http.server import BaseHTTPRequestHandler, HTTPServer

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import fakectl  # noqa: E402
import transcripts  # noqa: E402

SHARED_DIR = os.environ.get("SHARED_DIR") or os.path.abspath(os.path.join(HERE, "..", "..", "..", "shared"))
TRANSCRIPT_DIR = os.environ.get("SNUG_TRANSCRIPTS") or os.path.join(SHARED_DIR, "spec", "api-transcripts")
AGENT_TOKEN = "agent-token"

# ---------------------------------------------------------------------------------------------
# transcript replay: one TestCase per server version, one test per recorded call, run in order


def _transcript_dirs(version):
    return [os.path.join(TRANSCRIPT_DIR, "v%s-transcripts" % version), os.path.join(TRANSCRIPT_DIR, "v%s-transcripts2" % version)]


def _make_replay_case(version):
    steps = []
    for d in _transcript_dirs(version):
        if os.path.isdir(d):
            for t in transcripts.load_dir(d):
                steps.append((os.path.basename(d), t))

    class Replay(unittest.TestCase):
        srv = None
        rep = None
        results = {}

        @classmethod
        def setUpClass(cls):
            if not steps:
                return
            cls.srv = fakectl.FakeApiServer(version=version, extra_tokens={AGENT_TOKEN: "node-agent"}).start()
            # the recordings were made without a kubelet: nothing may touch pod status behind our back
            cls.srv.kubelet(mode="off")
            cls.srv.control("POST", "watch", {"bookmark_interval": 30})
            cls.rep = transcripts.Replayer(cls.srv, version, AGENT_TOKEN)
            cls.results = {}

        @classmethod
        def tearDownClass(cls):
            if cls.srv:
                cls.srv.cleanup()

        def replay(self, t):
            key = (version, t.name)
            if key in transcripts.KNOWN_DIFFERENCES:
                self.skipTest(transcripts.KNOWN_DIFFERENCES[key])
            if t.num in self.results:
                diffs = self.results.pop(t.num)
                self.assertEqual(diffs, [], "%s (replayed inside the watch before it)" % t.file)
                return
            rep = self.rep
            forbid = None
            if t.status == 403 and isinstance(t.resp_body, dict):
                m = transcripts.FORBID_RE.search(t.resp_body.get("message", ""))
                if m:
                    # the recording ran with RBAC: stand in for the missing grant with a forbid rule
                    forbid = {"user": m.group(1), "verb": m.group(2), "resource": m.group(3)}
                    self.srv.control("POST", "forbid", forbid)
            try:
                if t.events is not None or (t.is_watch and t.method == "GET"):
                    self.replay_watch(t)
                    return
                status, body = rep.send(t)
                diffs = rep.compare_plain(t, status, body)
                self.assertEqual(diffs, [], "%s: %s %s" % (t.file, t.method, t.target))
            finally:
                if forbid:
                    self.srv.control("DELETE", "forbid")

        def replay_watch(self, t):
            rep = self.rep
            overrides = {}
            trigger = None
            if t.name == "watch-bookmarks-timeout10":
                # recorded with a label patch (the next call) 1 s into the watch; 4 s keeps the test short
                overrides["timeoutSeconds"] = "4"
                trigger = next(x for _, x in steps if x.name == "watch-trigger-label")
            box = {}
            th = threading.Thread(target=lambda: box.setdefault("events", rep.run_watch(t, overrides)))
            th.start()
            if trigger is not None:
                time.sleep(1.0)
                status, body = rep.send(trigger)
                self.results[trigger.num] = rep.compare_plain(trigger, status, body)
            th.join(60)
            self.assertFalse(th.is_alive(), "watch did not end")
            diffs = rep.compare_watch(t, box.get("events", []))
            self.assertEqual(diffs, [], "%s: %s" % (t.file, t.target))

    for i, (dname, t) in enumerate(steps):
        def test(self, t=t):
            self.replay(t)

        safe = "".join(c if c.isalnum() else "_" for c in t.name)
        test.__doc__ = "%s/%s: %s %s -> %s" % (dname, t.file, t.method, t.path_only, t.status)
        setattr(Replay, "test_%03d_%s" % (i, safe), test)

    if not steps:
        def test_transcripts_missing(self):
            print("\n*** SKIPPED: no transcripts at %s (set SHARED_DIR) ***" % TRANSCRIPT_DIR, file=sys.stderr)
            self.skipTest("transcripts absent: %s" % TRANSCRIPT_DIR)

        Replay.test_transcripts_missing = test_transcripts_missing
    Replay.__name__ = Replay.__qualname__ = "TestReplay_%s" % version.replace(".", "_")
    return Replay


TestReplay_1_36 = _make_replay_case("1.36")
TestReplay_1_33 = _make_replay_case("1.33")


class TestTranscriptParser(unittest.TestCase):
    """The transcripts double as parser fixtures: every file must parse into a request and a reply."""

    def test_all_files_parse(self):
        found = 0
        for v in ("1.36", "1.33"):
            for d in _transcript_dirs(v):
                if not os.path.isdir(d):
                    continue
                for t in transcripts.load_dir(d):
                    found += 1
                    self.assertIn(t.method, ("GET", "POST", "PUT", "PATCH", "DELETE"), t.file)
                    self.assertTrue(100 <= t.status < 600, t.file)
                    if t.events is None and t.status != 204:
                        self.assertIsInstance(t.resp_body, dict, t.file)
        if not found:
            print("\n*** SKIPPED: no transcripts at %s ***" % TRANSCRIPT_DIR, file=sys.stderr)
            self.skipTest("transcripts absent")


# ---------------------------------------------------------------------------------------------
# behaviour of the fake itself


class ServerCase(unittest.TestCase):
    version = "1.36"
    srv = None

    @classmethod
    def setUpClass(cls):
        cls.srv = fakectl.FakeApiServer(version=cls.version, extra_tokens={AGENT_TOKEN: "node-agent"}).start()

    @classmethod
    def tearDownClass(cls):
        cls.srv.cleanup()

    def setUp(self):
        self.srv.reset()
        self.srv.set_version(self.version, feature_gate=True)
        self.srv.kubelet(mode="apply", delay=0.05, pods={}, auto_start=False, cgroup_root=None, delete_grace=0.2,
                         cgroup_driver="systemd", runtime_weight="old", runtime_systemd_quota_roundup=False,
                         cpu_cfs_quota=True, cpu_manager_policy="none", pod_level_resources=None,
                         infeasible_message=None, error_message=None)
        self.srv.controller(enabled=False, webhook=None)
        self.srv.control("POST", "watch", {"bookmark_interval": 5, "history": 1000})
        self.srv.tokens(replace={self.srv.token: {"user": "admin"}, AGENT_TOKEN: {"user": "node-agent"}})


class TestAuthAndTLS(ServerCase):
    def test_missing_and_wrong_token_is_401_status(self):
        for tok in (False, "nope"):
            st, body = self.srv.request("GET", "/api/v1/pods", token=tok)
            self.assertEqual(st, 401)
            self.assertEqual(body, {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                                    "message": "Unauthorized", "reason": "Unauthorized", "code": 401})

    def test_token_expire_and_rotate(self):
        self.assertEqual(self.srv.request("GET", "/api/v1/pods")[0], 200)
        self.srv.tokens(expire=[self.srv.token], set={"rotated": {"user": "admin"}})
        self.assertEqual(self.srv.request("GET", "/api/v1/pods")[0], 401)
        self.assertEqual(self.srv.request("GET", "/api/v1/pods", token="rotated")[0], 200)
        self.srv.tokens(set={"short": {"expires_in": 0.3}})
        self.assertEqual(self.srv.request("GET", "/version", token="short")[0], 200)
        time.sleep(0.4)
        self.assertEqual(self.srv.request("GET", "/version", token="short")[0], 401)

    def test_tls_only_and_verified_by_the_ca(self):
        # plain HTTP on the TLS port gets no HTTP answer
        s = socket.create_connection(("127.0.0.1", self.srv.port), timeout=5)
        s.sendall(b"GET /version HTTP/1.1\r\nHost: x\r\n\r\n")
        try:
            data = s.recv(100)
        except ConnectionResetError:
            data = b""
        s.close()
        self.assertFalse(data.startswith(b"HTTP/1.1 200"))
        # a client trusting another CA refuses the server
        other = fakectl.make_certs(tempfile.mkdtemp(prefix="otherca-"))
        ctx = ssl.create_default_context(cafile=other["ca.crt"])
        c = http.client.HTTPSConnection("127.0.0.1", self.srv.port, context=ctx, timeout=5)
        with self.assertRaises(ssl.SSLError):
            c.request("GET", "/version")
        shutil.rmtree(os.path.dirname(other["ca.crt"]), ignore_errors=True)
        # localhost matches the certificate too
        ctx = ssl.create_default_context(cafile=self.srv.ca_file)
        c = http.client.HTTPSConnection("localhost", self.srv.port, context=ctx, timeout=5)
        c.request("GET", "/version", headers={"Authorization": "Bearer " + self.srv.token})
        self.assertEqual(c.getresponse().status, 200)

    def test_client_certificate_authenticates_as_its_cn(self):
        ctx = ssl.create_default_context(cafile=self.srv.ca_file)
        ctx.load_cert_chain(self.srv.certs["client.crt"], self.srv.certs["client.key"])
        self.srv.forbid(user="snug-agent", verb="list", resource="pods")
        c = http.client.HTTPSConnection("127.0.0.1", self.srv.port, context=ctx, timeout=5)
        c.request("GET", "/api/v1/pods")
        r = c.getresponse()
        body = json.loads(r.read())
        self.assertEqual(r.status, 403)
        self.assertIn('User "snug-agent" cannot list resource "pods"', body["message"])
        c.request("GET", "/version")
        self.assertEqual(c.getresponse().status, 200)
        self.srv.control("DELETE", "forbid")

    def test_forbid_rule_gives_rbac_style_403(self):
        self.srv.create_pod("rz")
        self.srv.forbid(user="node-agent", verb="patch", resource="pods/resize")
        st, body = self.srv.request("PATCH", "/api/v1/namespaces/default/pods/rz/resize", {"spec": {}},
                                    "application/strategic-merge-patch+json", token=AGENT_TOKEN)
        self.assertEqual(st, 403)
        self.assertEqual(body["message"], 'pods "rz" is forbidden: User "node-agent" cannot patch resource "pods/resize" '
                                          'in API group "" in the namespace "default"')
        self.srv.control("DELETE", "forbid")


class TestVersions(ServerCase):
    def _resize_cpu(self, name, cpu):
        return self.srv.resize(name, requests={"cpu": cpu})

    def _spec_patch_cpu(self, name, cpu):
        return self.srv.request("PATCH", "/api/v1/namespaces/default/pods/%s" % name,
                                {"spec": {"containers": [{"name": "app", "resources": {"requests": {"cpu": cpu}}}]}},
                                "application/strategic-merge-patch+json")

    def discovery_has_resize(self):
        st, d = self.srv.request("GET", "/api/v1")
        return "pods/resize" in [r["name"] for r in d["resources"]]

    def test_1_36_subresource(self):
        self.srv.create_pod("a")
        self.assertTrue(self.discovery_has_resize())
        self.assertEqual(self._resize_cpu("a", "120m")[0], 200)
        st, body = self._spec_patch_cpu("a", "130m")
        self.assertEqual(st, 422)
        self.assertTrue(body["message"].startswith('Pod "a" is invalid: spec: Forbidden: pod updates may not change'))
        st, v = self.srv.request("GET", "/version")
        self.assertEqual((v["major"], v["minor"], v["gitVersion"]), ("1", "36", "v1.36.2"))

    def test_1_30_spec_patch(self):
        self.srv.set_version("1.30")
        self.srv.create_pod("a")
        self.assertFalse(self.discovery_has_resize())
        st, body = self._resize_cpu("a", "120m")
        self.assertEqual((st, body["reason"], body["message"]), (404, "NotFound", "the server could not find the requested resource"))
        st, pod = self._spec_patch_cpu("a", "130m")
        self.assertEqual(st, 200)
        self.assertEqual(pod["spec"]["containers"][0]["resources"]["requests"]["cpu"], "130m")
        self.assertEqual(pod["status"].get("resize"), "Proposed")
        # pods have metadata.generation only from 1.33 on
        self.assertNotIn("generation", pod["metadata"])
        # the same validations apply to the spec path
        st, body = self.srv.request("PATCH", "/api/v1/namespaces/default/pods/a",
                                    {"spec": {"containers": [{"name": "app", "resources": {"requests": {"ephemeral-storage": "1Gi"}}}]}},
                                    "application/strategic-merge-patch+json")
        self.assertEqual(st, 422)
        self.assertIn("only cpu and memory resources are mutable", body["message"])
        st, v = self.srv.request("GET", "/version")
        self.assertEqual(v["gitVersion"], "v1.30.0")

    def test_1_26_and_gate_off_refuse_both_paths(self):
        for version, gate in (("1.26", True), ("1.36", False), ("1.30", False)):
            self.srv.reset()
            self.srv.set_version(version, feature_gate=gate)
            self.srv.create_pod("a")
            self.assertFalse(self.discovery_has_resize())
            self.assertEqual(self._resize_cpu("a", "120m")[0], 404, version)
            st, body = self._spec_patch_cpu("a", "130m")
            self.assertEqual(st, 422, version)
            self.assertEqual(body["details"]["causes"][0]["reason"], "FieldValueForbidden")
            self.assertIn("pod updates may not change fields other than", body["message"])

    def test_memory_limit_decrease_1_33_vs_1_36(self):
        self.srv.create_pod("a")
        self.srv.set_version("1.33")
        st, body = self.srv.resize("a", limits={"memory": "200Mi"})
        self.assertEqual(st, 422)
        self.assertEqual(body["details"]["causes"][0]["field"], "spec.containers[0].resources.limits[memory]")
        self.srv.set_version("1.36")
        self.assertEqual(self.srv.resize("a", limits={"memory": "200Mi"})[0], 200)


class TestResize(ServerCase):
    def test_validations(self):
        self.srv.create_pod("rz")
        cases = [
            ({"requests": {"cpu": "300m", "memory": "256Mi"}, "limits": {"cpu": "300m", "memory": "256Mi"}},
             'Pod "rz" is invalid: spec: Invalid value: "Burstable": Pod QOS Class may not change as a result of resizing'),
            ({"requests": {"ephemeral-storage": "1Gi"}}, 'Pod "rz" is invalid: spec: Forbidden: only cpu and memory resources are mutable'),
        ]
        for res, msg in cases:
            st, body = self.srv.request("PATCH", "/api/v1/namespaces/default/pods/rz/resize",
                                        {"spec": {"containers": [{"name": "app", "resources": res}]}},
                                        "application/strategic-merge-patch+json")
            self.assertEqual((st, body["message"]), (422, msg))
        st, body = self.srv.request("PATCH", "/api/v1/namespaces/default/pods/rz/resize",
                                    [{"op": "remove", "path": "/spec/containers/0/resources/limits"}],
                                    "application/json-patch+json")
        self.assertEqual(body["details"]["causes"][0]["field"], "spec.containers[0].resources.limits")
        # unknown fields are dropped silently, generation unchanged
        before = self.srv.get_pod("rz")
        st, pod = self.srv.request("PATCH", "/api/v1/namespaces/default/pods/rz/resize",
                                   {"metadata": {"labels": {"x": "y"}}, "spec": {"containers": [{"name": "app", "image": "other"}]}},
                                   "application/strategic-merge-patch+json")
        self.assertEqual(st, 200)
        self.assertEqual(pod["metadata"]["generation"], before["metadata"]["generation"])
        self.assertNotIn("x", pod["metadata"]["labels"])
        # stale resourceVersion
        st, body = self.srv.request("PATCH", "/api/v1/namespaces/default/pods/rz/resize",
                                    {"metadata": {"resourceVersion": "1"}, "spec": {"containers": [{"name": "app", "resources": {"requests": {"cpu": "120m"}}}]}},
                                    "application/strategic-merge-patch+json")
        self.assertEqual((st, body["reason"]), (409, "Conflict"))

    def test_running_without_status_resources(self):
        self.srv.create_pod("old", status_resources=False)
        st, body = self.srv.resize("old", requests={"cpu": "150m"})
        self.assertEqual(st, 422)
        self.assertEqual(body["message"], 'Pod "old" is invalid: spec: Forbidden: Pod running on node without support for resize')

    def test_quantities_stored_canonical(self):
        pod = self.srv.create_pod("q", requests={"cpu": "0.1", "memory": "1024Mi"}, limits={"cpu": "2000m", "memory": "1.5Gi"})
        self.assertEqual(pod["spec"]["containers"][0]["resources"],
                         {"requests": {"cpu": "100m", "memory": "1Gi"}, "limits": {"cpu": "2", "memory": "1536Mi"}})
        self.assertEqual(pod["status"]["containerStatuses"][0]["resources"]["limits"]["memory"], "1536Mi")
        st, out = self.srv.resize("q", requests={"cpu": "0.25"})
        self.assertEqual((st, out["spec"]["containers"][0]["resources"]["requests"]["cpu"]), (200, "250m"))
        st, out = self.srv.resize("q", requests={"cpu": "1.5x"})
        self.assertEqual((st, out["reason"]), (400, "BadRequest"))

    def test_dry_run_changes_nothing(self):
        pod = self.srv.create_pod("rz")
        st, out = self.srv.request("PATCH", "/api/v1/namespaces/default/pods/rz/resize?dryRun=All",
                                   {"spec": {"containers": [{"name": "app", "resources": {"requests": {"cpu": "110m"}}}]}},
                                   "application/strategic-merge-patch+json")
        self.assertEqual(st, 200)
        self.assertEqual(out["spec"]["containers"][0]["resources"]["requests"]["cpu"], "110m")
        self.assertEqual(self.srv.get_pod("rz")["metadata"]["resourceVersion"], pod["metadata"]["resourceVersion"])


class TestKubelet(ServerCase):
    def _status_res(self, name):
        return self.srv.get_pod(name)["status"]["containerStatuses"][0]

    def _conds(self, name):
        return {c["type"]: c for c in self.srv.get_pod(name)["status"].get("conditions") or []}

    def test_apply_resize(self):
        self.srv.kubelet(delay=0.3)
        rv = self.srv.create_pod("rz")["metadata"]["resourceVersion"]
        # a watch sees the resize pass through PodResizeInProgress and end with actual resources
        box = {}

        def watch():
            box["ev"] = [e for _, e in self.srv.watch("/api/v1/namespaces/default/pods", {
                "resourceVersion": rv, "timeoutSeconds": "3", "fieldSelector": "metadata.name=rz"})]

        th = threading.Thread(target=watch)
        th.start()
        self.assertEqual(self.srv.resize("rz", requests={"cpu": "150m"}, limits={"cpu": "300m"})[0], 200)
        ok = self.srv.wait_for(lambda: self._status_res("rz")["resources"]["limits"]["cpu"] == "300m")
        self.assertTrue(ok)
        cs = self._status_res("rz")
        self.assertEqual(cs["allocatedResources"]["cpu"], "150m")
        pod = self.srv.get_pod("rz")
        self.assertEqual(pod["status"]["observedGeneration"], pod["metadata"]["generation"])
        self.assertNotIn("PodResizeInProgress", self._conds("rz"))
        th.join(10)
        seen = [c["type"] for e in box["ev"] for c in e["object"]["status"].get("conditions") or []]
        self.assertIn("PodResizeInProgress", seen)
        # allocation.manager handlePodResourcesResize: admitted = allocatedResources and
        # PodResizeInProgress (observedGeneration = the resize's generation) first, while resources
        # (the runtime's actual values) still show the old ones until doPodResizeAction has run
        admitted = [e["object"] for e in box["ev"]
                    if (e["object"]["status"]["containerStatuses"][0].get("allocatedResources") or {}).get("cpu") == "150m"
                    and e["object"]["status"]["containerStatuses"][0]["resources"]["requests"]["cpu"] == "100m"]
        self.assertTrue(admitted, "no status with the resize admitted but not yet actuated")
        cond = [c for c in admitted[0]["status"]["conditions"] if c["type"] == "PodResizeInProgress"][0]
        self.assertEqual(cond["observedGeneration"], pod["metadata"]["generation"])
        self.assertNotIn("reason", cond)

    def test_deferred_infeasible_per_pod(self):
        self.srv.create_pod("a")
        self.srv.create_pod("b")
        self.srv.kubelet(pods={"default/a": "deferred", "b": "infeasible"})
        self.srv.resize("a", requests={"cpu": "150m"})
        self.srv.resize("b", requests={"cpu": "150m"})
        self.assertTrue(self.srv.wait_for(lambda: "PodResizePending" in self._conds("a") and "PodResizePending" in self._conds("b")))
        self.assertEqual(self._conds("a")["PodResizePending"]["reason"], "Deferred")
        self.assertEqual(self._conds("b")["PodResizePending"]["reason"], "Infeasible")
        # told to go ahead, the kubelet applies and clears the condition
        self.srv.kubelet(pods={"default/a": None})
        self.assertTrue(self.srv.wait_for(lambda: self._status_res("a")["resources"]["requests"]["cpu"] == "150m"))
        self.assertTrue(self.srv.wait_for(lambda: "PodResizePending" not in self._conds("a")))

    def test_old_version_uses_status_resize(self):
        self.srv.set_version("1.30")
        self.srv.create_pod("a")
        self.srv.kubelet(mode="infeasible")
        st, _ = self.srv.request("PATCH", "/api/v1/namespaces/default/pods/a",
                                 {"spec": {"containers": [{"name": "app", "resources": {"requests": {"cpu": "130m"}}}]}},
                                 "application/strategic-merge-patch+json")
        self.assertEqual(st, 200)
        self.assertTrue(self.srv.wait_for(lambda: self.srv.get_pod("a")["status"].get("resize") == "Infeasible"))

    def test_auto_start(self):
        self.srv.kubelet(auto_start=True)
        self.srv.create(self.srv.pod_manifest("auto"))
        self.assertTrue(self.srv.wait_for(lambda: self.srv.get_pod("auto")["status"].get("phase") == "Running"))
        self.assertIn("resources", self._status_res("auto"))


# The kubelet simulator against the real kubelet's rules. Every expected value below is worked out by
# hand from the Go function named in the test (kubernetes v1.36.2 / v1.33.13, opencontainers/cgroups,
# runc 1.1.5); the fake's own code is never used to compute an expectation.

MiB = 1 << 20


def ctr(name, req=None, lim=None, sidecar=False, resize_policy=None):
    res = {}
    if req:
        res["requests"] = req
    if lim:
        res["limits"] = lim
    c = {"name": name, "image": "registry.example/app:1", "resources": res}
    if sidecar:
        c["restartPolicy"] = "Always"
    if resize_policy:
        c["resizePolicy"] = resize_policy
    return c


class TestKubeletRules(unittest.TestCase):
    """The conversions themselves, as numbers."""

    def setUp(self):
        import kubelet_rules
        self.kr = kubelet_rules

    def test_shares_quota_and_their_minimums(self):
        kr = self.kr
        # cm.MilliCPUToShares: 0 -> MinShares 2; 1m -> 1*1024/1000 = 1 -> 2; 100m -> 102; 300 CPUs -> MaxShares
        self.assertEqual([kr.milli_cpu_to_shares(m) for m in (0, 1, 100, 1000, 300000)], [2, 2, 102, 1024, 262144])
        # cm.MilliCPUToQuota: 0 -> 0 (no quota); 5m -> 500 µs -> MinQuotaPeriod 1000; 250m -> 25000
        self.assertEqual([kr.milli_cpu_to_quota(m) for m in (0, 5, 250)], [0, 1000, 25000])
        # cm.SharesToMilliCPU / QuotaToMilliCPU, the kubelet reading the runtime back: ceil(102*1000/1024) = 100
        self.assertEqual((kr.shares_to_milli_cpu(102), kr.quota_to_milli_cpu(25000, 100000), kr.quota_to_milli_cpu(-1, 100000)), (100, 250, 0))

    def test_weight_formulas(self):
        kr = self.kr
        # cm.getCPUWeight (kubelet, pod cgroups) and runc 1.1.5's ConvertCPUSharesToCgroupV2Value:
        # 1 + ((s-2)*9999)/262142: 1024 -> 1 + 10218978/262142 = 39, 2048 -> 79, 2 -> 1, 262144 -> 10000
        for shares, want in ((2, 1), (1024, 39), (2048, 79), (262144, 10000)):
            self.assertEqual((kr.kubelet_cpu_weight(shares), kr.runtime_cpu_weight_old(shares)), (want, want), shares)
        # opencontainers/cgroups ConvertCPUSharesToCgroupV2Value (runc >= 1.3.2): the log curve through
        # (2, 1), (1024, 100), (262144, 10000); 2048 -> ceil(10^((121+1375)/612 - 7/34)) = 174
        self.assertEqual([kr.runtime_cpu_weight_new(s) for s in (2, 1024, 2048, 262144)], [1, 100, 174, 10000])
        # cm.cpuWeightToCPUShares: weight 39 reads back as ((38*262142)/9999)+2 = 998 shares
        self.assertEqual(kr.cpu_weight_to_shares(39), 998)

    def test_systemd_quota_rounding(self):
        # systemd addCPUQuota: 1500 µs/100 ms = 15000 µs/s, rounded up to 20000 -> quota 2000
        self.assertEqual(self.kr.systemd_cpu_quota(1500, 100000), 2000)
        self.assertEqual(self.kr.systemd_cpu_quota(25000, 100000), 25000)

    def test_request_sums_1_33_check_versus_pod_requests(self):
        pod = {"spec": {"containers": [ctr("app", req={"cpu": "800m"})],
                        "initContainers": [ctr("side", req={"cpu": "300m"}, sidecar=True)]}}
        # pkg/api/v1/resource GetResourceRequest (1.33's Infeasible check): init containers, the sidecar
        # too, only as a maximum -> max(800, 300) = 800
        self.assertEqual(self.kr.resource_request_1_33(pod, "cpu"), 800)
        # component-helpers PodRequests: the sidecar is summed -> 1100
        self.assertEqual(self.kr.pod_request_for_fit(pod), (1100, 0))


class KubeletCgroupCase(ServerCase):
    """Pods started by the kubelet simulator under a fake cgroup root (cgroupfs driver unless told)."""

    def setUp(self):
        super().setUp()
        self.root = tempfile.mkdtemp(prefix="fakecg-")
        self.addCleanup(shutil.rmtree, self.root, True)
        self.srv.kubelet(cgroup_root=self.root, cgroup_driver="cgroupfs", auto_start=True)
        self.srv.kubelet_writes(clear=True)

    def start(self, name, containers, **kw):
        self.srv.create(self.srv.pod_manifest(name, containers=containers, **kw))
        self.assertTrue(self.srv.wait_for(lambda: (self.srv.get_pod(name)["status"].get("containerStatuses"))),
                        "the kubelet did not start %s" % name)
        return self.srv.get_pod(name)

    def cgdir(self, name, container=None):
        pod = self.srv.get_pod(name)
        uid, qos = pod["metadata"]["uid"], pod["status"]["qosClass"]
        systemd = self.srv.kubelet()["cgroup_driver"] == "systemd"
        if systemd:
            u = uid.replace("-", "_")
            pdir = (os.path.join(self.root, "kubepods.slice", "kubepods-pod%s.slice" % u) if qos == "Guaranteed" else
                    os.path.join(self.root, "kubepods.slice", "kubepods-%s.slice" % qos.lower(), "kubepods-%s-pod%s.slice" % (qos.lower(), u)))
        else:
            pdir = (os.path.join(self.root, "kubepods", "pod" + uid) if qos == "Guaranteed" else
                    os.path.join(self.root, "kubepods", qos.lower(), "pod" + uid))
        if container is None:
            return pdir
        st = pod["status"]
        cs = [c for c in (st.get("containerStatuses") or []) + (st.get("initContainerStatuses") or []) if c["name"] == container][0]
        cid = cs["containerID"].split("://")[1]
        return os.path.join(pdir, "cri-containerd-%s.scope" % cid if systemd else cid)

    def cg(self, name, container, fname):
        try:
            with open(os.path.join(self.cgdir(name, container), fname)) as f:
                return f.read().strip()
        except OSError:
            return None

    def put(self, name, container, fname, text):
        """Someone other than the kubelet writes a cgroup file (or the kernel's memory.current)."""
        with open(os.path.join(self.cgdir(name, container), fname), "w") as f:
            f.write(text + "\n")

    def writes(self, name):
        return [(w["container"], w["file"], w["value"]) for w in self.srv.kubelet_writes() if w["pod"] == "default/" + name]

    def conds(self, name):
        return {c["type"]: c for c in self.srv.get_pod(name)["status"].get("conditions") or []}

    def cstatus(self, name, container="app"):
        return [c for c in self.srv.get_pod(name)["status"]["containerStatuses"] if c["name"] == container][0]

    def events(self, name, reason):
        items = self.srv.request("GET", "/api/v1/namespaces/default/events")[1]["items"]
        return [e for e in items if e["involvedObject"]["name"] == name and e["reason"] == reason]


class TestKubeletPodCgroup(KubeletCgroupCase):
    def test_pod_values_count_sidecars_init_containers_and_overhead(self):
        # cm.ResourceConfigForPod with resource.PodLimits / PodRequests (AggregateContainer*): app
        # containers and sidecars summed, each init container plus the sidecars before it as a max,
        # then the overhead.
        self.start("side", [ctr("app", {"cpu": "100m", "memory": "64Mi"}, {"cpu": "500m", "memory": "128Mi"})],
                   init_containers=[ctr("proxy", {"cpu": "50m", "memory": "32Mi"}, {"cpu": "200m", "memory": "256Mi"}, sidecar=True),
                                    ctr("migrate", {"cpu": "1", "memory": "512Mi"}, {"cpu": "1", "memory": "512Mi"})],
                   overhead={"cpu": "10m", "memory": "10Mi"})
        # memory: max(128 + 256, 512 + 256) + 10 = 778Mi
        self.assertTrue(self.srv.wait_for(lambda: self.cg("side", None, "memory.max") == str(778 * MiB)))
        # cpu limits: max(500 + 200, 1000 + 200) + 10 = 1210m -> quota 121000
        self.assertEqual(self.cg("side", None, "cpu.max"), "121000 100000")
        # cpu requests: max(100 + 50, 1000 + 50) + 10 = 1060m -> 1085 shares -> getCPUWeight 1 + 1083*9999/262142 = 42
        self.assertEqual(self.cg("side", None, "cpu.weight"), "42")
        # the containers' own cgroups (calculateLinuxResources, runc): 100m -> 102 shares -> weight 4
        self.assertEqual((self.cg("side", "app", "memory.max"), self.cg("side", "app", "cpu.max"), self.cg("side", "app", "cpu.weight")),
                         (str(128 * MiB), "50000 100000", "4"))
        # the sidecar runs in its own cgroup (50m -> 51 shares -> weight 2); the finished init container has none
        self.assertEqual((self.cg("side", "proxy", "memory.max"), self.cg("side", "proxy", "cpu.weight")), (str(256 * MiB), "2"))
        self.assertFalse(os.path.exists(self.cgdir("side", "migrate")))
        # a grow of the app's limit to 300Mi: 300 + 256 = 556 < 768, the pod value does not move
        self.srv.kubelet_writes(clear=True)
        self.assertEqual(self.srv.resize("side", limits={"memory": "300Mi"})[0], 200)
        self.assertTrue(self.srv.wait_for(lambda: self.cg("side", "app", "memory.max") == str(300 * MiB)))
        self.assertEqual(self.cg("side", None, "memory.max"), str(778 * MiB))
        self.assertNotIn((None, "memory.max", str(300 * MiB)), self.writes("side"))

    def test_pod_cpu_max_and_memory_max_need_a_limit_on_every_container(self):
        # ResourceConfigForPod: Burstable pods get cpu.max only if every container's ContainerFn saw a
        # CPU limit, memory.max only if every one saw a memory limit; otherwise the file keeps "max".
        self.start("nocpu", [ctr("app", {"cpu": "100m", "memory": "64Mi"}, {"cpu": "500m", "memory": "128Mi"})],
                   init_containers=[ctr("proxy", {"cpu": "50m", "memory": "32Mi"}, {"memory": "64Mi"}, sidecar=True)])
        self.start("nomem", [ctr("app", {"cpu": "100m", "memory": "64Mi"}, {"cpu": "500m", "memory": "128Mi"})],
                   init_containers=[ctr("proxy", {"cpu": "50m", "memory": "32Mi"}, {"cpu": "200m"}, sidecar=True)])
        self.assertTrue(self.srv.wait_for(lambda: self.cg("nomem", None, "cpu.max") == "70000 100000"))
        self.assertEqual(self.cg("nocpu", None, "cpu.max"), "max 100000")
        self.assertEqual(self.cg("nocpu", None, "memory.max"), str(192 * MiB))
        self.assertEqual(self.cg("nomem", None, "memory.max"), "max")
        # a CPU-limit resize of the app: the container's quota moves, the pod's stays "max"
        self.srv.kubelet_writes(clear=True)
        self.srv.resize("nocpu", limits={"cpu": "800m"})
        self.assertTrue(self.srv.wait_for(lambda: self.cg("nocpu", "app", "cpu.max") == "80000 100000"))
        self.assertEqual(self.cg("nocpu", None, "cpu.max"), "max 100000")
        self.assertFalse([w for w in self.writes("nocpu") if w[0] is None and w[1] == "cpu.max"])

    def test_runtime_weight_formula_old_and_new(self):
        # 1 CPU -> 1024 shares. The kubelet writes the pod's weight itself (getCPUWeight: 39); the
        # container's comes from the runtime: runc 1.1.5 (Debian 12) 39, runc >= 1.3.2 / crun >= 1.23 100.
        g = {"cpu": "1", "memory": "64Mi"}
        self.start("old", [ctr("app", g, g)])
        self.assertTrue(self.srv.wait_for(lambda: self.cg("old", "app", "cpu.weight") == "39"))
        self.assertEqual(self.cg("old", None, "cpu.weight"), "39")
        self.srv.kubelet(runtime_weight="new")
        self.start("new", [ctr("app", g, g)])
        self.assertTrue(self.srv.wait_for(lambda: self.cg("new", "app", "cpu.weight") == "100"))
        self.assertEqual(self.cg("new", None, "cpu.weight"), "39")
        # a resize to 2 CPUs (2048 shares): runtime 174 (new formula), pod 79
        self.srv.resize("new", requests={"cpu": "2"}, limits={"cpu": "2"})
        self.assertTrue(self.srv.wait_for(lambda: self.cg("new", "app", "cpu.weight") == "174"))
        self.assertEqual(self.cg("new", None, "cpu.weight"), "79")

    def test_cpu_cfs_quota_off_leaves_cpu_max_at_max(self):
        # cpuCFSQuota: false -> ResourceConfigForPod(enforceCPULimits=false) gives the pod quota -1
        # ("max 100000"), calculateLinuxResources sends no quota or period, so runc never writes the
        # container's cpu.max.
        self.srv.kubelet(cpu_cfs_quota=False)
        g = {"cpu": "500m", "memory": "128Mi"}
        self.start("nq", [ctr("app", g, g)])
        self.assertTrue(self.srv.wait_for(lambda: self.cg("nq", None, "cpu.max") == "max 100000"))
        self.assertEqual(self.cg("nq", "app", "cpu.max"), "max 100000")
        self.assertFalse([w for w in self.writes("nq") if w[0] == "app" and w[1] == "cpu.max"])
        self.srv.resize("nq", requests={"cpu": "800m"}, limits={"cpu": "800m"})
        # 800m -> 819 shares -> runc 1.1.5 weight 1 + 817*9999/262142 = 32
        self.assertTrue(self.srv.wait_for(lambda: self.cg("nq", "app", "cpu.weight") == "32"))
        self.assertTrue(self.srv.wait_for(lambda: "PodResizeInProgress" not in self.conds("nq")))
        self.assertEqual((self.cg("nq", None, "cpu.max"), self.cg("nq", "app", "cpu.max")), ("max 100000", "max 100000"))
        cs = self.cstatus("nq")
        self.assertEqual(cs["allocatedResources"]["cpu"], "800m")
        # convertContainerStatusResources: the runtime reports no CPU limit without a quota, so the
        # status keeps the previous value (preserveOldResourcesValue)
        self.assertEqual(cs["resources"]["limits"]["cpu"], "500m")
        self.assertEqual(cs["resources"]["requests"]["cpu"], "800m")

    def test_systemd_driver_rounds_the_pod_quota(self):
        # opencontainers/cgroups systemd addCPUQuota (the kubelet's pod slice): 15m -> 1500 µs ->
        # 15000 µs/s, rounded up to whole percent 20000 -> "2000 100000". runc 1.1.5 wrote the raw
        # quota into the container's scope; newer libraries round there too.
        self.srv.kubelet(cgroup_driver="systemd")
        g = {"cpu": "15m", "memory": "64Mi"}
        self.start("tiny", [ctr("app", g, g)])
        self.assertTrue(self.srv.wait_for(lambda: self.cg("tiny", None, "cpu.max") == "2000 100000"))
        self.assertTrue(self.cgdir("tiny").endswith(".slice"))
        self.assertEqual(self.cg("tiny", "app", "cpu.max"), "1500 100000")
        self.srv.kubelet(runtime_systemd_quota_roundup=True)
        self.start("tiny2", [ctr("app", g, g)])
        self.assertTrue(self.srv.wait_for(lambda: self.cg("tiny2", "app", "cpu.max") == "2000 100000"))

    def test_static_cpu_manager_exclusive_cpus(self):
        # DisableCPUQuotaWithExclusiveCPUs (on since 1.33): a Guaranteed container with an integer CPU
        # request gets exclusive CPUs and no quota; the pod then has enforceCPULimits=false. Its CPU
        # resize is Infeasible (podResizesAdmitHandler, 1.36 message).
        self.srv.kubelet(cpu_manager_policy="static")
        g = {"cpu": "2", "memory": "128Mi"}
        self.start("excl", [ctr("app", g, g)])
        self.assertTrue(self.srv.wait_for(lambda: self.cg("excl", "app", "cpu.max") == "max 100000"))
        self.assertEqual(self.cg("excl", None, "cpu.max"), "max 100000")
        self.srv.resize("excl", requests={"cpu": "3"}, limits={"cpu": "3"})
        self.assertTrue(self.srv.wait_for(lambda: self.conds("excl").get("PodResizePending", {}).get("reason") == "Infeasible"))
        self.assertEqual(self.conds("excl")["PodResizePending"]["message"],
                         'Resize is infeasible for Guaranteed Pods alongside CPU Manager policy "static"')


class TestKubeletResize(KubeletCgroupCase):
    def test_order_of_pod_and_container_writes(self):
        # doPodResizeAction resizeContainers: a net increase writes the pod cgroup before the
        # containers, a net decrease after them; within a resource, containers shrinking first.
        self.start("ord", [ctr("app", {"cpu": "100m", "memory": "64Mi"}, {"cpu": "500m", "memory": "128Mi"})])
        self.srv.kubelet_writes(clear=True)
        self.srv.resize("ord", limits={"memory": "256Mi"})
        self.assertTrue(self.srv.wait_for(lambda: self.cg("ord", "app", "memory.max") == str(256 * MiB)))
        w = self.writes("ord")
        self.assertLess(w.index((None, "memory.max", str(256 * MiB))), w.index(("app", "memory.max", str(256 * MiB))), w)
        self.srv.kubelet_writes(clear=True)
        self.srv.resize("ord", limits={"cpu": "300m"})
        self.assertTrue(self.srv.wait_for(lambda: self.cg("ord", None, "cpu.max") == "30000 100000"))
        w = self.writes("ord")
        self.assertLess(w.index(("app", "cpu.max", "30000 100000")), w.index((None, "cpu.max", "30000 100000")), w)
        # two containers trading 128Mi: the pod total is unchanged (no pod write), the shrinking one goes first
        self.start("two", [ctr("a", {"memory": "64Mi"}, {"memory": "256Mi"}), ctr("b", {"memory": "64Mi"}, {"memory": "128Mi"})])
        self.srv.kubelet_writes(clear=True)
        st, _ = self.srv.request("PATCH", "/api/v1/namespaces/default/pods/two/resize", {"spec": {"containers": [
            {"name": "a", "resources": {"limits": {"memory": "128Mi"}}}, {"name": "b", "resources": {"limits": {"memory": "256Mi"}}}]}},
            "application/strategic-merge-patch+json")
        self.assertEqual(st, 200)
        self.assertTrue(self.srv.wait_for(lambda: self.cg("two", "b", "memory.max") == str(256 * MiB)))
        w = [x for x in self.writes("two") if x[1] == "memory.max"]
        self.assertEqual(w, [("a", "memory.max", str(128 * MiB)), ("b", "memory.max", str(256 * MiB))])

    def test_deferred_counts_the_other_pods_allocated_requests(self):
        # canAdmitPod -> predicate admit handler -> noderesources.fitsRequest with the other pods'
        # PodRequests (UseStatusResources): "other" holds max(100m app, 700m init) + 50m overhead = 750m.
        self.srv.create_node("node-1", cpu="1", memory="2Gi")
        self.start("other", [ctr("app", {"cpu": "100m"})], init_containers=[ctr("migrate", {"cpu": "700m"})], overhead={"cpu": "50m"})
        self.start("big", [ctr("app", {"cpu": "100m", "memory": "128Mi"})])
        self.srv.resize("big", requests={"cpu": "300m"})
        self.assertTrue(self.srv.wait_for(lambda: self.conds("big").get("PodResizePending", {}).get("reason") == "Deferred"))
        c = self.conds("big")["PodResizePending"]
        self.assertEqual(c["message"], "Node didn't have enough resource: cpu, requested: 300, used: 750, capacity: 1000")
        self.assertEqual(c["observedGeneration"], self.srv.get_pod("big")["metadata"]["generation"])
        # nothing was admitted: allocation and the container's weight (100m -> 4) stay
        self.assertEqual(self.cstatus("big")["allocatedResources"]["cpu"], "100m")
        self.assertEqual(self.cg("big", "app", "cpu.weight"), "4")
        # 1.36 Event: "Pod resize <admit reason>: <resources>"
        ev = self.srv.wait_for(lambda: self.events("big", "ResizeDeferred"))
        self.assertTrue(ev[0]["message"].startswith('Pod resize OutOfcpu: {"containers":[{"name":"app","resources":{"requests":{"cpu":"300m"'), ev)
        self.assertEqual((ev[0]["type"], ev[0]["source"]["component"]), ("Warning", "kubelet"))
        # room is made: the deferred resize is admitted and actuated (300m -> 307 shares -> weight 12)
        self.srv.request("DELETE", "/api/v1/namespaces/default/pods/other?gracePeriodSeconds=0")
        self.assertTrue(self.srv.wait_for(lambda: self.cstatus("big")["resources"]["requests"]["cpu"] == "300m"))
        self.assertEqual(self.cg("big", "app", "cpu.weight"), "12")
        self.assertNotIn("PodResizePending", self.conds("big"))

    def test_beyond_allocatable_1_36_is_deferred(self):
        # 1.36 has no capacity check of its own: the predicate's message, reason Deferred
        self.srv.create_node("node-1", cpu="1", memory="2Gi")
        self.start("big", [ctr("app", {"cpu": "100m", "memory": "128Mi"})])
        self.srv.resize("big", requests={"cpu": "2"})
        self.assertTrue(self.srv.wait_for(lambda: "PodResizePending" in self.conds("big")))
        c = self.conds("big")["PodResizePending"]
        self.assertEqual((c["reason"], c["message"]), ("Deferred", "Node didn't have enough resource: cpu, requested: 2000, used: 0, capacity: 1000"))

    def test_memory_limit_below_usage_is_refused(self):
        # kuberuntime validateMemoryResizeAction (1.34+): the resize is admitted (allocated), but
        # actuation refuses a memory limit at or below memory.current: PodResizeInProgress, reason
        # Error; nothing is written. The container's message quotes the pod's usage, as in Go.
        self.start("shrink", [ctr("app", {"cpu": "100m", "memory": "64Mi"}, {"cpu": "500m", "memory": "256Mi"})])
        self.put("shrink", None, "memory.current", str(210 * MiB))
        self.put("shrink", "app", "memory.current", str(200 * MiB))
        self.srv.kubelet_writes(clear=True)
        self.srv.resize("shrink", limits={"memory": "128Mi"})
        self.assertTrue(self.srv.wait_for(lambda: self.conds("shrink").get("PodResizeInProgress", {}).get("reason") == "Error"))
        self.assertEqual(self.conds("shrink")["PodResizeInProgress"]["message"],
                         "cannot decrease memory limits: [attempting to set pod memory limit (134217728) below current usage (220200960), "
                         'attempting to set container "app" memory limit (134217728) below current usage (220200960)]')
        self.assertEqual((self.cg("shrink", None, "memory.max"), self.cg("shrink", "app", "memory.max")), (str(256 * MiB), str(256 * MiB)))
        self.assertEqual(self.writes("shrink"), [])
        self.assertEqual(self.cstatus("shrink")["resources"]["limits"]["memory"], "256Mi")
        self.assertTrue(self.srv.wait_for(lambda: self.events("shrink", "ResizeError")))
        # usage falls: the next sync actuates, container first (a decrease), then the pod
        self.put("shrink", None, "memory.current", str(100 * MiB))
        self.put("shrink", "app", "memory.current", str(100 * MiB))
        self.assertTrue(self.srv.wait_for(lambda: self.cg("shrink", None, "memory.max") == str(128 * MiB)))
        self.assertEqual(self.cg("shrink", "app", "memory.max"), str(128 * MiB))
        self.assertTrue(self.srv.wait_for(lambda: "PodResizeInProgress" not in self.conds("shrink")))
        self.assertEqual(self.cstatus("shrink")["resources"]["limits"]["memory"], "128Mi")

    def test_runtime_error_leaves_what_was_actuated(self):
        # doPodResizeAction: a memory grow writes the pod cgroup first; when UpdateContainerResources
        # then fails, the pod value stays raised, the container's does not move, and the condition
        # is PodResizeInProgress/Error with the runtime's message. allocatedResources moved already.
        self.start("err", [ctr("app", {"cpu": "100m", "memory": "64Mi"}, {"cpu": "500m", "memory": "128Mi"})])
        self.srv.kubelet(pods={"err": "error"}, error_message="rpc error: code = Unknown desc = boom")
        self.srv.resize("err", requests={"memory": "96Mi"}, limits={"memory": "256Mi"})
        self.assertTrue(self.srv.wait_for(lambda: self.conds("err").get("PodResizeInProgress", {}).get("reason") == "Error"))
        c = self.conds("err")["PodResizeInProgress"]
        self.assertEqual(c["message"], "rpc error: code = Unknown desc = boom")
        self.assertEqual(c["observedGeneration"], self.srv.get_pod("err")["metadata"]["generation"])
        self.assertEqual((self.cg("err", None, "memory.max"), self.cg("err", "app", "memory.max")), (str(256 * MiB), str(128 * MiB)))
        cs = self.cstatus("err")
        self.assertEqual((cs["allocatedResources"]["memory"], cs["resources"]["limits"]["memory"]), ("96Mi", "128Mi"))
        # the runtime recovers: the next sync finishes the job
        self.srv.kubelet(pods={"err": None})
        self.assertTrue(self.srv.wait_for(lambda: self.cg("err", "app", "memory.max") == str(256 * MiB)))
        self.assertTrue(self.srv.wait_for(lambda: "PodResizeInProgress" not in self.conds("err")))
        self.assertEqual(self.cstatus("err")["resources"]["limits"]["memory"], "256Mi")

    def test_foreign_writes_stay_until_the_kubelet_actuates_a_resize(self):
        # computePodResizeAction compares the allocation with the kubelet's actuated checkpoint, never
        # with the cgroup files, so a value written behind its back stays through its syncs. The next
        # actuation rewrites it: UpdateContainerResources hands containerd the whole resources and runc
        # writes all of them; the pod cgroup is compared with its files (GetPodCgroupConfig).
        self.start("tug", [ctr("app", {"cpu": "100m", "memory": "64Mi"}, {"cpu": "500m", "memory": "128Mi"})])
        self.put("tug", "app", "memory.max", "999999488")
        self.put("tug", None, "memory.max", "999999488")
        self.srv.kubelet_writes(clear=True)
        time.sleep(0.5)  # ten kubelet syncs
        self.assertEqual(self.writes("tug"), [])
        # a CPU-only resize: the container's memory.max goes back to the allocated 128Mi; the pod's
        # memory is not part of a CPU resize
        self.srv.resize("tug", limits={"cpu": "600m"})
        self.assertTrue(self.srv.wait_for(lambda: self.cg("tug", "app", "cpu.max") == "60000 100000"))
        self.assertEqual(self.cg("tug", "app", "memory.max"), str(128 * MiB))
        self.assertEqual(self.cg("tug", None, "memory.max"), "999999488")
        # a memory grow to 192Mi: the kubelet reads 999999488 in the pod file, so to it this is a
        # decrease: the container is written first, the pod after
        self.srv.kubelet_writes(clear=True)
        self.srv.resize("tug", limits={"memory": "192Mi"})
        self.assertTrue(self.srv.wait_for(lambda: self.cg("tug", None, "memory.max") == str(192 * MiB)))
        w = [x for x in self.writes("tug") if x[1] == "memory.max"]
        self.assertEqual(w, [("app", "memory.max", str(192 * MiB)), (None, "memory.max", str(192 * MiB))])


class TestKubelet133(KubeletCgroupCase):
    version = "1.33"

    def test_capacity_check_is_infeasible_and_counts_sidecars_as_init(self):
        # kubelet.go canResizePod (1.33-1.35): requests above allocatable by GetResourceRequest ->
        # Infeasible "Node didn't have enough capacity"; conditions carry no observedGeneration.
        self.srv.create_node("node-1", cpu="1", memory="2Gi")
        self.start("big", [ctr("app", {"cpu": "100m", "memory": "128Mi"})])
        self.srv.resize("big", requests={"cpu": "2"})
        self.assertTrue(self.srv.wait_for(lambda: "PodResizePending" in self.conds("big")))
        c = self.conds("big")["PodResizePending"]
        self.assertEqual((c["reason"], c["message"]), ("Infeasible", "Node didn't have enough capacity: cpu, requested: 2000, capacity: 1000"))
        self.assertNotIn("observedGeneration", c)
        self.assertEqual(self.events("big", "ResizeInfeasible"), [])  # no resize Events before 1.35
        # GetResourceRequest takes the sidecar as an init container (max(800, 300) = 800 <= 1000), so
        # not Infeasible; the predicate's PodRequests sums it (1100) next to big's 100m: Deferred
        self.start("sc", [ctr("app", {"cpu": "600m"})], init_containers=[ctr("proxy", {"cpu": "300m"}, sidecar=True)])
        self.srv.resize("sc", requests={"cpu": "800m"})
        self.assertTrue(self.srv.wait_for(lambda: "PodResizePending" in self.conds("sc")))
        c = self.conds("sc")["PodResizePending"]
        self.assertEqual((c["reason"], c["message"]), ("Deferred", "Node didn't have enough resource: cpu, requested: 1100, used: 100, capacity: 1000"))

    def test_memory_usage_check_aborts_and_restart_policy_still_restarts(self):
        # doPodResizeAction (1.33): with a pod memory limit, usage >= the new limit aborts the resize
        # ("aborting attempt ..."). SyncPod has already killed the RestartContainer container and
        # starts it again with the allocated limit, so the container runs under 128Mi while the pod
        # cgroup keeps 256Mi; the next sync sees allocated == actuated and clears the condition.
        self.start("rc", [ctr("app", {"cpu": "100m", "memory": "64Mi"}, {"cpu": "500m", "memory": "256Mi"},
                          resize_policy=[{"resourceName": "memory", "restartPolicy": "RestartContainer"}])])
        rv = self.srv.get_pod("rc")["metadata"]["resourceVersion"]
        self.put("rc", None, "memory.current", str(200 * MiB))
        box = {}

        def watch():
            box["ev"] = [e for _, e in self.srv.watch("/api/v1/namespaces/default/pods", {
                "resourceVersion": rv, "timeoutSeconds": "3", "fieldSelector": "metadata.name=rc"})]

        th = threading.Thread(target=watch)
        th.start()
        self.assertEqual(self.srv.resize("rc", limits={"memory": "128Mi"})[0], 200)
        th.join(10)
        errs = [c for e in box["ev"] for c in e["object"]["status"].get("conditions") or []
                if c["type"] == "PodResizeInProgress" and c.get("reason") == "Error"]
        self.assertTrue(errs, "no PodResizeInProgress/Error seen")
        self.assertEqual(errs[0]["message"], "aborting attempt to set pod memory limit less than current memory usage for pod rc")
        self.assertEqual(self.cstatus("rc")["restartCount"], 1)
        self.assertEqual((self.cg("rc", "app", "memory.max"), self.cg("rc", None, "memory.max")), (str(128 * MiB), str(256 * MiB)))
        self.assertNotIn("PodResizeInProgress", self.conds("rc"))


class TestKubeletControl(ServerCase):
    def test_settings_are_checked(self):
        st, body = self.srv.request("POST", "/_fake/kubelet", {"runtime_weight": "log"}, token=self.srv.admin_token)
        self.assertEqual(st, 400)
        self.assertIn("runtime_weight", body["error"])
        self.assertEqual(self.srv.kubelet(runtime_weight="new")["runtime_weight"], "new")



class TestWatch(ServerCase):
    def test_events_and_bookmarks(self):
        self.srv.control("POST", "watch", {"bookmark_interval": 0.3})
        st, lst = self.srv.request("GET", "/api/v1/pods", query={"fieldSelector": "spec.nodeName=node-1"})
        rv = lst["metadata"]["resourceVersion"]
        box = {}
        th = threading.Thread(target=lambda: box.setdefault("ev", [e for _, e in self.srv.watch(
            "/api/v1/pods", {"resourceVersion": rv, "allowWatchBookmarks": "true", "timeoutSeconds": "2",
                             "fieldSelector": "spec.nodeName=node-1"})]))
        th.start()
        time.sleep(0.2)
        self.srv.create_pod("w1", running=False)
        self.srv.create_pod("other", node="node-2", running=False)
        self.srv.request("PATCH", "/api/v1/namespaces/default/pods/w1", {"metadata": {"labels": {"x": "1"}}},
                         "application/merge-patch+json")
        self.srv.request("DELETE", "/api/v1/namespaces/default/pods/w1?gracePeriodSeconds=0")
        th.join(10)
        types = [e["type"] for e in box["ev"] if e["type"] != "BOOKMARK"]
        self.assertEqual(types, ["ADDED", "MODIFIED", "DELETED"])
        bms = [e["object"] for e in box["ev"] if e["type"] == "BOOKMARK"]
        self.assertTrue(bms)
        # 1.36 bookmarks carry only metadata.resourceVersion
        self.assertEqual(set(bms[-1]["metadata"]), {"resourceVersion"})
        self.assertEqual(int(bms[-1]["metadata"]["resourceVersion"]), int(self.srv.state()["resourceVersion"]))

    def test_list_pages_with_limit_and_continue(self):
        for i in range(5):
            self.srv.create_pod("p%d" % i, running=False)
        names, cont, rvs = [], None, set()
        while True:
            q = {"limit": "2"}
            if cont:
                q["continue"] = cont
            st, lst = self.srv.request("GET", "/api/v1/pods", query=q)
            self.assertEqual(st, 200)
            names += [i["metadata"]["name"] for i in lst["items"]]
            rvs.add(lst["metadata"]["resourceVersion"])
            cont = lst["metadata"].get("continue")
            if not cont:
                break
        self.assertEqual(names, ["p0", "p1", "p2", "p3", "p4"])
        self.assertEqual(len(rvs), 1)

    def test_410_after_compaction_and_bounded_history(self):
        rv = self.srv.state()["resourceVersion"]
        self.srv.create_pod("a", running=False)
        self.srv.compact()
        ev = [e for _, e in self.srv.watch("/api/v1/pods", {"resourceVersion": rv, "timeoutSeconds": "1"})]
        self.assertEqual(ev[0]["type"], "ERROR")
        self.assertEqual(ev[0]["object"]["code"], 410)
        self.assertEqual(ev[0]["object"]["reason"], "Expired")
        self.assertTrue(ev[0]["object"]["message"].startswith("too old resource version: %s (" % rv))
        self.srv.control("POST", "watch", {"history": 3})
        rv = self.srv.state()["resourceVersion"]
        # a watch from the current version is fine
        ev = [e for _, e in self.srv.watch("/api/v1/pods", {"resourceVersion": rv, "timeoutSeconds": "1"})]
        self.assertEqual(ev, [])
        for i in range(6):
            self.srv.request("PATCH", "/api/v1/namespaces/default/pods/a", {"metadata": {"labels": {"i": str(i)}}},
                             "application/merge-patch+json")
        ev = [e for _, e in self.srv.watch("/api/v1/pods", {"resourceVersion": rv, "timeoutSeconds": "1"})]
        self.assertEqual(ev[0]["object"]["code"], 410)

    def test_watch_drop_fault(self):
        self.srv.watch_drop(after=0.3, duration=5)
        t0 = time.time()
        ev = [e for _, e in self.srv.watch("/api/v1/pods", {"timeoutSeconds": "30"})]
        self.assertLess(time.time() - t0, 10)
        self.assertEqual(ev[-1]["type"], "CLOSED")
        self.srv.control("DELETE", "watch-drop")

    def test_watch_ends_when_client_goes(self):
        # many reconnecting clients must not leave watch threads behind on the server
        for _ in range(5):
            c = self.srv._conn(10)
            c.request("GET", "/api/v1/pods?watch=1&timeoutSeconds=300", headers={"Authorization": "Bearer " + self.srv.token})
            c.getresponse()
            c.close()
        self.assertTrue(self.srv.wait_for(lambda: self.srv.state()["watches"] == 0, timeout=5))

    def test_close_watches_now(self):
        box = {}
        th = threading.Thread(target=lambda: box.setdefault("ev", [e for _, e in self.srv.watch("/api/v1/pods", {"timeoutSeconds": "30"})]))
        th.start()
        self.assertTrue(self.srv.wait_for(lambda: self.srv.state()["watches"] == 1))
        self.srv.close_watches()
        th.join(10)
        self.assertFalse(th.is_alive())


class TestPatchesAndOwners(ServerCase):
    def test_owner_objects_merge_patch_annotations(self):
        tmpl = {"metadata": {"labels": {"app": "web"}}, "spec": {"containers": [{"name": "app", "image": "x"}]}}
        kinds = [("apps/v1", "ReplicaSet", "replicasets"), ("apps/v1", "StatefulSet", "statefulsets"),
                 ("apps/v1", "DaemonSet", "daemonsets"), ("apps/v1", "Deployment", "deployments"),
                 ("batch/v1", "Job", "jobs")]
        for av, kind, plural in kinds:
            obj = self.srv.create({"apiVersion": av, "kind": kind, "metadata": {"name": "web"},
                                   "spec": {"selector": {"matchLabels": {"app": "web"}}, "template": tmpl}})
            path = "/apis/%s/namespaces/default/%s/web" % (av, plural)
            st, out = self.srv.request("PATCH", path, {"metadata": {"annotations": {"snug.io/x": "1"}}}, "application/merge-patch+json")
            self.assertEqual(st, 200, kind)
            self.assertEqual(out["metadata"]["annotations"], {"snug.io/x": "1"})
            self.assertEqual(out["spec"]["template"], tmpl)
            self.assertEqual(out["metadata"]["generation"], obj["metadata"]["generation"])
            st, body = self.srv.request("GET", "/apis/%s/namespaces/default/%s/nope" % (av, plural))
            self.assertEqual(body["message"], '%s.%s "nope" not found' % (plural, av.split("/")[0]))

    def test_smp_merges_containers_by_name_and_json_patch(self):
        pod = self.srv.pod_manifest("two", containers=[
            {"name": "a", "image": "x", "resources": {"requests": {"cpu": "100m"}}},
            {"name": "b", "image": "x", "resources": {"requests": {"cpu": "100m"}}}])
        self.srv.create(pod)
        self.srv.set_running("two")
        st, out = self.srv.request("PATCH", "/api/v1/namespaces/default/pods/two/resize",
                                   {"spec": {"containers": [{"name": "b", "resources": {"requests": {"cpu": "200m"}}}]}},
                                   "application/strategic-merge-patch+json")
        self.assertEqual(st, 200, out)
        self.assertEqual([c["resources"]["requests"]["cpu"] for c in out["spec"]["containers"]], ["100m", "200m"])
        st, out = self.srv.request("PATCH", "/api/v1/namespaces/default/pods/two",
                                   [{"op": "add", "path": "/metadata/annotations", "value": {"k": "v"}}],
                                   "application/json-patch+json")
        self.assertEqual((st, out["metadata"]["annotations"]), (200, {"k": "v"}))
        st, out = self.srv.request("PATCH", "/api/v1/namespaces/default/pods/two", {"x": 1}, "text/plain")
        self.assertEqual(st, 415)

    def test_events(self):
        ev = {"apiVersion": "v1", "kind": "Event", "metadata": {"name": "rz.1", "namespace": "default"},
              "involvedObject": {"kind": "Pod", "namespace": "default", "name": "rz"}, "reason": "Resized",
              "message": "m", "type": "Normal", "count": 1}
        st, out = self.srv.request("POST", "/api/v1/namespaces/default/events", ev, token=AGENT_TOKEN)
        self.assertEqual(st, 201)
        self.assertEqual(out["reportingComponent"], "")
        st, out = self.srv.request("PATCH", "/api/v1/namespaces/default/events/rz.1", {"count": 2, "message": "m (x2)"},
                                   "application/strategic-merge-patch+json", token=AGENT_TOKEN)
        self.assertEqual((st, out["count"]), (200, 2))
        st, lst = self.srv.request("GET", "/api/v1/namespaces/default/events", query={"fieldSelector": "involvedObject.name=rz"})
        self.assertEqual([i["metadata"]["name"] for i in lst["items"]], ["rz.1"])
        st, _ = self.srv.request("POST", "/api/v1/namespaces/default/events", ev)
        self.assertEqual(st, 409)


class TestEviction(ServerCase):
    def test_pdb_blocks_then_allows_and_controller_recreates(self):
        self.srv.controller(enabled=True)
        self.srv.create({"apiVersion": "apps/v1", "kind": "ReplicaSet", "metadata": {"name": "web-rs"},
                         "spec": {"selector": {"matchLabels": {"app": "web"}},
                                  "template": {"metadata": {"labels": {"app": "web"}},
                                               "spec": {"containers": [{"name": "app", "image": "x", "resources": {"requests": {"cpu": "50m"}}}]}}}})
        rs = self.srv.request("GET", "/apis/apps/v1/namespaces/default/replicasets/web-rs")[1]
        owner = {"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "web-rs", "uid": rs["metadata"]["uid"], "controller": True}
        self.srv.create_pod("web-1", labels={"app": "web"}, owner=owner)
        self.srv.create_pdb("web-pdb", {"app": "web"}, disruptions_allowed=0)
        ev = {"apiVersion": "policy/v1", "kind": "Eviction", "metadata": {"name": "web-1", "namespace": "default"}}
        st, body = self.srv.request("POST", "/api/v1/namespaces/default/pods/web-1/eviction", ev)
        self.assertEqual(st, 429)
        self.assertEqual(body["details"]["causes"][0]["message"], "The disruption budget web-pdb needs 1 healthy pods and has 1 currently")
        self.srv.set_pdb_status("web-pdb", 1)
        st, body = self.srv.request("POST", "/api/v1/namespaces/default/pods/web-1/eviction", ev)
        self.assertEqual((st, body["status"]), (201, "Success"))
        pod = self.srv.get_pod("web-1")
        self.assertIn("deletionTimestamp", pod["metadata"])
        self.assertIn("DisruptionTarget", [c["type"] for c in pod["status"]["conditions"]])
        self.assertTrue(self.srv.wait_for(lambda: self.srv.get_pod("web-1") is None))

        def replacement():
            pods = [p for p in self.srv.state()["pods"] if p["metadata"]["name"].startswith("web-rs-")]
            return pods[0] if pods else None

        new = self.srv.wait_for(replacement)
        self.assertIsNotNone(new)
        self.assertNotEqual(new["metadata"]["uid"], pod["metadata"]["uid"])
        self.assertEqual(new["metadata"]["ownerReferences"][0]["name"], "web-rs")

    def test_statefulset_pod_comes_back_under_its_name(self):
        self.srv.controller(enabled=True)
        sts = self.srv.create({"apiVersion": "apps/v1", "kind": "StatefulSet", "metadata": {"name": "db"},
                               "spec": {"selector": {"matchLabels": {"app": "db"}},
                                        "template": {"metadata": {"labels": {"app": "db"}}, "spec": {"containers": [{"name": "app", "image": "x"}]}}}})
        old = self.srv.create_pod("db-0", labels={"app": "db"}, owner={"apiVersion": "apps/v1", "kind": "StatefulSet", "name": "db",
                                                                        "uid": sts["metadata"]["uid"], "controller": True})
        self.srv.request("DELETE", "/api/v1/namespaces/default/pods/db-0")
        new = self.srv.wait_for(lambda: (self.srv.get_pod("db-0") or {}).get("metadata", {}).get("uid") not in (None, old["metadata"]["uid"]))
        self.assertTrue(new)

    def test_two_pdbs_500_and_missing_pod_404(self):
        self.srv.create_pod("db-1", labels={"app": "db"})
        self.srv.create_pdb("p1", {"app": "db"})
        self.srv.create_pdb("p2", {"app": "db"})
        st, body = self.srv.evict("db-1")
        self.assertEqual((st, body["message"]), (500, "This pod has more than one PodDisruptionBudget, which the eviction subresource does not support."))
        st, body = self.srv.evict("nope")
        self.assertEqual((st, body["message"]), (404, 'pods "nope" not found'))
        st, body = self.srv.evict("db-1", uid="00000000-0000-0000-0000-000000000000")
        self.assertEqual((st, body["reason"]), (409, "Conflict"))

    def test_webhook_on_recreated_pod(self):
        certs = self.srv.certs
        patches = [{"op": "add", "path": "/metadata/annotations", "value": {"snug.io/from-hook": "yes"}}]
        seen = []

        class Hook(BaseHTTPRequestHandler):
            def do_POST(self):
                review = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                seen.append(review)
                import base64
                out = {"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview",
                       "response": {"uid": review["request"]["uid"], "allowed": True, "patchType": "JSONPatch",
                                    "patch": base64.b64encode(json.dumps(patches).encode()).decode()}}
                data = json.dumps(out).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *a):
                pass

        hook = HTTPServer(("127.0.0.1", 0), Hook)
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(certs["server.crt"], certs["server.key"])
        hook.socket = ctx.wrap_socket(hook.socket, server_side=True)
        th = threading.Thread(target=hook.serve_forever, daemon=True)
        th.start()
        try:
            url = "https://127.0.0.1:%d/mutate" % hook.server_address[1]
            self.srv.use_webhook(url, certs["ca.crt"], failure_policy="Fail")
            self.srv.create({"apiVersion": "apps/v1", "kind": "ReplicaSet", "metadata": {"name": "rs"},
                             "spec": {"selector": {"matchLabels": {"app": "h"}}, "template": {"metadata": {"labels": {"app": "h"}}, "spec": {"containers": [{"name": "app", "image": "x"}]}}}})
            uid = self.srv.request("GET", "/apis/apps/v1/namespaces/default/replicasets/rs")[1]["metadata"]["uid"]
            self.srv.create_pod("h-1", labels={"app": "h"}, owner={"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "rs", "uid": uid, "controller": True})
            self.srv.request("POST", "/api/v1/namespaces/default/pods/h-1/eviction",
                             {"apiVersion": "policy/v1", "kind": "Eviction", "metadata": {"name": "h-1", "namespace": "default"}})
            new = self.srv.wait_for(lambda: [p for p in self.srv.state()["pods"] if p["metadata"]["name"].startswith("rs-")])
            self.assertTrue(new)
            self.assertEqual(new[0]["metadata"]["annotations"], {"snug.io/from-hook": "yes"})
            self.assertEqual(seen[0]["request"]["operation"], "CREATE")
            self.assertEqual(seen[0]["request"]["object"]["metadata"]["ownerReferences"][0]["name"], "rs")
            # like a ReplicaSet controller: generateName, no name yet at admission time
            self.assertEqual(seen[0]["request"]["name"], "")
            self.assertEqual(seen[0]["request"]["object"]["metadata"]["generateName"], "rs-")
            self.assertEqual(seen[0]["request"]["object"]["status"], {})
            # an unreachable hook: Fail blocks the pod, Ignore lets it through
            for policy, expect in (("Fail", False), ("Ignore", True)):
                self.srv.controller(webhook={"url": "https://127.0.0.1:1/x", "ca_file": certs["ca.crt"], "failure_policy": policy})
                name = "h-" + policy
                self.srv.create_pod(name, labels={"app": "h"}, owner={"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "rs", "uid": uid, "controller": True})
                before = len([p for p in self.srv.state()["pods"] if p["metadata"]["name"].startswith("rs-")])
                self.srv.request("DELETE", "/api/v1/namespaces/default/pods/%s?gracePeriodSeconds=0" % name)
                time.sleep(0.5)
                after = self.srv.wait_for(lambda: len([p for p in self.srv.state()["pods"] if p["metadata"]["name"].startswith("rs-")]) > before, timeout=2)
                self.assertEqual(bool(after), expect, policy)
        finally:
            hook.shutdown()


class TestFaultsAndControl(ServerCase):
    def test_error_n_times(self):
        self.srv.fault(action="error", status=503, path=r"^/api/v1/pods$", method="GET", count=2)
        codes = [self.srv.request("GET", "/api/v1/pods")[0] for _ in range(3)]
        self.assertEqual(codes, [503, 503, 200])

    def test_drop_and_drop_mid(self):
        self.srv.fault(action="drop", path="/version", count=1)
        with self.assertRaises((ConnectionError, http.client.RemoteDisconnected, ssl.SSLError, OSError)):
            self.srv.request("GET", "/version")
        self.assertEqual(self.srv.request("GET", "/version")[0], 200)
        self.srv.fault(action="drop_mid", path="/api/v1$", count=1)
        with self.assertRaises((http.client.IncompleteRead, ConnectionError, ssl.SSLError, OSError)):
            self.srv.request("GET", "/api/v1")

    def test_delay(self):
        self.srv.fault(action="delay", delay=0.5, path="/version", count=1)
        t0 = time.time()
        self.assertEqual(self.srv.request("GET", "/version")[0], 200)
        self.assertGreaterEqual(time.time() - t0, 0.45)

    def test_touch_makes_a_conditional_write_conflict_once(self):
        # Another writer gets in between a read and a write made on it: the write meets a 409, once.
        pod = self.srv.create_pod("t", running=True)
        rv = pod["metadata"]["resourceVersion"]
        self.srv.fault(action="touch", path=r"/pods/t/resize$", count=1)
        body = {"metadata": {"resourceVersion": rv},
                "spec": {"containers": [{"name": "app", "resources": {"requests": {"cpu": "150m"}}}]}}
        path = "/api/v1/namespaces/default/pods/t/resize"
        st, reply = self.srv.request("PATCH", path, body, "application/strategic-merge-patch+json")
        self.assertEqual((st, reply["reason"]), (409, "Conflict"), reply)
        now = self.srv.get_pod("t")["metadata"]["resourceVersion"]
        self.assertGreater(int(now), int(rv))
        body["metadata"]["resourceVersion"] = now
        st, reply = self.srv.request("PATCH", path, body, "application/strategic-merge-patch+json")
        self.assertEqual(st, 200, reply)
        self.assertEqual(reply["spec"]["containers"][0]["resources"]["requests"]["cpu"], "150m")

    def test_request_log_and_state(self):
        self.srv.clear_requests()
        self.srv.create_pod("a")
        self.srv.resize("a", requests={"cpu": "150m"})
        log = self.srv.requests()
        last = log[-1]
        self.assertEqual((last["method"], last["path"], last["content_type"], last["status"]),
                         ("PATCH", "/api/v1/namespaces/default/pods/a/resize", "application/strategic-merge-patch+json", 200))
        self.assertEqual(last["body"]["spec"]["containers"][0]["resources"]["requests"]["cpu"], "150m")
        st = self.srv.state()
        self.assertEqual([p["metadata"]["name"] for p in st["pods"]], ["a"])
        self.srv.reset()
        self.assertEqual(self.srv.state()["pods"], [])

    def test_malformed_bodies_are_400_not_stored(self):
        self.srv.create_pod("a")
        for body, ct in (({"metadata": {"labels": 3}}, "application/merge-patch+json"),
                         ({"spec": {"containers": 3}}, "application/strategic-merge-patch+json"),
                         ([{"op": "add", "path": 3}], "application/json-patch+json"),
                         ("{not json", "application/merge-patch+json")):
            st, out = self.srv.request("PATCH", "/api/v1/namespaces/default/pods/a", body, ct)
            self.assertIn(st, (400, 422), (body, out))
            self.assertEqual(out["kind"], "Status")
        st, out = self.srv.request("DELETE", "/api/v1/namespaces/default/pods/a", {"gracePeriodSeconds": "x"})
        self.assertEqual(st, 400)
        # the pod is intact and lists still work
        self.assertEqual(self.srv.get_pod("a")["metadata"]["labels"], {"app": "a"})
        st, lst = self.srv.request("GET", "/api/v1/pods", query={"labelSelector": "app=a"})
        self.assertEqual([p["metadata"]["name"] for p in lst["items"]], ["a"])

    def test_control_needs_admin_token(self):
        st, _ = self.srv.request("GET", "/_fake/state")
        self.assertEqual(st, 401)


class TestRobustness(ServerCase):
    """Random well-formed HTTP with bodies of the wrong shape: every answer is a Status or an object,
    never a 5xx or a crashed handler, and the server keeps serving."""

    BODIES = [None, 1, "x", [], {}, [1], True, {"spec": None}, {"spec": {"containers": [1]}},
              {"spec": {"containers": [{"name": "app", "resources": {"requests": {"cpu": None}}}]}},
              {"spec": {"containers": [{"name": "app", "resources": {"limits": []}}]}},
              {"spec": {"tolerations": 3}}, {"metadata": None}, {"metadata": {"labels": 3}},
              {"metadata": {"ownerReferences": 3}}, {"status": 3}, {"status": {"conditions": [3]}},
              {"status": {"containerStatuses": [{"name": "app", "state": {"running": {}}, "resources": 3}]}},
              [{"op": "add"}], [{"op": "remove", "path": "/spec"}], [{"op": "add", "path": 3}], [3],
              {"deleteOptions": {"dryRun": "All"}}, {"deleteOptions": {"preconditions": {"uid": 3}}}]
    CTS = ["application/json", "application/strategic-merge-patch+json", "application/merge-patch+json",
           "application/json-patch+json", "application/apply-patch+yaml"]
    PATHS = ["/api/v1/namespaces/default/pods", "/api/v1/namespaces/default/pods/p", "/api/v1/namespaces/default/pods/p/resize",
             "/api/v1/namespaces/default/pods/p/status", "/api/v1/namespaces/default/pods/p/eviction",
             "/apis/apps/v1/namespaces/default/replicasets/rs", "/api/v1/namespaces/default/events",
             "/apis/policy/v1/namespaces/default/poddisruptionbudgets/pdb/status", "/api/v1/nodes/node-1/status"]
    QUERIES = ["", "?dryRun=All", "?gracePeriodSeconds=x", "?labelSelector=a%20in%20(", "?fieldSelector=foo=bar",
               "?limit=x", "?continue=zz", "?watch=1&resourceVersion=x"]

    def test_random_requests(self):
        import random
        rnd = random.Random(1234)
        with open(self.srv.log_path, "rb") as f:
            f.seek(0, 2)
            log_start = f.tell()
        for i in range(300):
            if i % 60 == 0:
                self.srv.reset()
                self.srv.create({"apiVersion": "apps/v1", "kind": "ReplicaSet", "metadata": {"name": "rs"}, "spec": {}})
                self.srv.create_pod("p")
                self.srv.create_node("node-1")
                self.srv.create_pdb("pdb", {"app": "p"}, disruptions_allowed=1)
            m = rnd.choice(["POST", "PUT", "PATCH", "DELETE", "GET"])
            path = rnd.choice(self.PATHS) + rnd.choice(self.QUERIES)
            st, out = self.srv.request(m, path, body=rnd.choice(self.BODIES), content_type=rnd.choice(self.CTS), timeout=10)
            self.assertLess(st, 500, "%s %s -> %s %s" % (m, path, st, out))
        self.assertEqual(self.srv.request("GET", "/version")[0], 200)
        with open(self.srv.log_path, "rb") as f:
            f.seek(log_start)
            self.assertNotIn(b"Traceback", f.read())


class TestProcess(unittest.TestCase):
    def test_cli_gen_certs_kubeconfig_state_file(self):
        d = tempfile.mkdtemp(prefix="fakecli-")
        try:
            cmd = [fakectl.PYTHON, fakectl.SERVER, "--port", "0", "--port-file", os.path.join(d, "port"),
                   "--gen-certs", os.path.join(d, "pki"), "--token", "t1", "--kubeconfig-out", os.path.join(d, "kc"),
                   "--state-file", os.path.join(d, "state.json"), "--version", "1.33"]
            p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            try:
                srv = fakectl.FakeApiServer(token="t1", admin_token=None, workdir=d)
                srv.certs = {"ca.crt": os.path.join(d, "pki", "ca.crt")}
                self.assertTrue(srv.wait_for(lambda: os.path.exists(os.path.join(d, "port"))))
                srv.port = int(open(os.path.join(d, "port")).read())
                st, v = srv.request("GET", "/version")
                self.assertEqual((st, v["gitVersion"]), (200, "v1.33.13"))
                with open(os.path.join(d, "kc")) as f:
                    self.assertIn("server: https://127.0.0.1:%d" % srv.port, f.read())
                srv.create_pod("keep", running=False)
                rv = srv.get_pod("keep")["metadata"]["resourceVersion"]
            finally:
                p.terminate()
                p.wait(10)
            port = srv.port
            cmd[cmd.index("--port") + 1] = str(port)
            os.unlink(os.path.join(d, "port"))
            p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            try:
                self.assertTrue(srv.wait_for(lambda: os.path.exists(os.path.join(d, "port"))))
                pod = srv.get_pod("keep")
                self.assertEqual(pod["metadata"]["resourceVersion"], rv)
                srv.request("PATCH", "/api/v1/namespaces/default/pods/keep", {"metadata": {"labels": {"a": "b"}}}, "application/merge-patch+json")
                self.assertGreater(int(srv.get_pod("keep")["metadata"]["resourceVersion"]), int(rv))
            finally:
                p.terminate()
                p.wait(10)
        finally:
            shutil.rmtree(d, ignore_errors=True)


class TestSidecarResize(ServerCase):
    """The resize subresource and init containers, as the real kube-apiserver answered (envtest, v1.36.2
    and v1.33.13, 2026-12-05): a native sidecar is resized under spec.initContainers on both; an ordinary
    init container is 422 "resources for non-sidecar init containers are immutable" on 1.33
    (ValidatePodResize) and, on 1.36 (InPlacePodVerticalScalingInitContainers, beta), 403 from the
    NodeDeclaredFeatures admission unless the node declares the feature; a sidecar named under
    spec.containers adds a container: 422 "containers may not be added or removed on resize"."""

    R = {"requests": {"cpu": "100m", "memory": "64Mi"}, "limits": {"cpu": "500m", "memory": "256Mi"}}

    def make(self, name="sc"):
        self.srv.create_node("node-1")
        inits = [dict(ctr("setup"), resources=copy.deepcopy(self.R)), dict(ctr("proxy", sidecar=True), resources=copy.deepcopy(self.R))]
        return self.srv.create_pod(name, init_containers=inits, requests=self.R["requests"], limits=self.R["limits"])

    def resize_init(self, name, container, res, key="initContainers"):
        return self.srv.request("PATCH", "/api/v1/namespaces/default/pods/%s/resize" % name,
                                {"spec": {key: [{"name": container, "resources": res}]}},
                                "application/strategic-merge-patch+json")

    def test_sidecar_resized_under_init_containers(self):
        for version in ("1.36", "1.33"):
            self.srv.reset()
            self.srv.set_version(version)
            self.make()
            st, pod = self.resize_init("sc", "proxy", {"requests": {"cpu": "150m"}})
            self.assertEqual(st, 200, (version, pod))
            self.assertEqual(pod["metadata"]["generation"], 2)
            inits = {c["name"]: c["resources"] for c in pod["spec"]["initContainers"]}
            self.assertEqual(inits["proxy"]["requests"], {"cpu": "150m", "memory": "64Mi"})
            self.assertEqual(inits["setup"], self.R)
            self.assertEqual(pod["spec"]["containers"][0]["resources"], self.R)

    def test_plain_init_container_refused(self):
        self.srv.set_version("1.33")
        self.make()
        st, body = self.resize_init("sc", "setup", {"requests": {"cpu": "150m"}})
        self.assertEqual((st, body["message"]), (422, 'Pod "sc" is invalid: spec: Forbidden: resources for non-sidecar '
                                                      'init containers are immutable'))
        self.srv.reset()
        self.srv.set_version("1.36")
        self.make()
        st, body = self.resize_init("sc", "setup", {"requests": {"cpu": "150m"}})
        self.assertEqual((st, body["reason"], body["message"]),
                         (403, "Forbidden", 'pods "sc" is forbidden: pod update requires features '
                                            'InPlacePodVerticalScalingInitContainers which are not available on node "node-1"'))
        self.assertEqual(self.srv.get_pod("sc")["metadata"]["generation"], 1)
        # a node that declares the feature (status.declaredFeatures) lets it through
        st, _ = self.srv.request("PATCH", "/api/v1/nodes/node-1/status",
                                 {"status": {"declaredFeatures": ["InPlacePodVerticalScalingInitContainers"]}},
                                 "application/strategic-merge-patch+json")
        self.assertEqual(st, 200)
        st, pod = self.resize_init("sc", "setup", {"requests": {"cpu": "150m"}})
        self.assertEqual(st, 200, pod)
        self.assertEqual(pod["spec"]["initContainers"][0]["resources"]["requests"]["cpu"], "150m")

    def test_sidecar_rules_and_wrong_list(self):
        self.srv.set_version("1.33")
        self.make()
        st, body = self.resize_init("sc", "proxy", {"limits": {"memory": "200Mi"}})
        self.assertEqual((st, body["message"]), (422, 'Pod "sc" is invalid: spec.initContainers[1].resources.limits[memory]: '
                                                      'Forbidden: memory limits cannot be decreased unless resizePolicy is '
                                                      'RestartContainer'))
        self.srv.set_version("1.36")
        st, _ = self.resize_init("sc", "proxy", {"limits": {"memory": "200Mi"}})
        self.assertEqual(st, 200)
        st, body = self.resize_init("sc", "proxy", {"requests": {"cpu": "160m"}}, key="containers")
        self.assertEqual(st, 422)
        self.assertIn("spec.containers: Forbidden: containers may not be added or removed on resize", body["message"])

    def test_kubelet_resizes_the_sidecar(self):
        self.srv.kubelet(auto_start=True)
        self.srv.create_node("node-1")
        inits = [dict(ctr("proxy", sidecar=True), resources=copy.deepcopy(self.R))]
        self.srv.create(self.srv.pod_manifest("sk", init_containers=inits))
        self.assertTrue(self.srv.wait_for(lambda: self.srv.get_pod("sk")["status"].get("initContainerStatuses")))
        st, _ = self.resize_init("sk", "proxy", {"limits": {"cpu": "800m"}})
        self.assertEqual(st, 200)

        def actual():
            cs = self.srv.get_pod("sk")["status"]["initContainerStatuses"][0]
            return cs.get("resources", {}).get("limits", {}).get("cpu")
        self.assertTrue(self.srv.wait_for(lambda: actual() == "800m"), self.srv.get_pod("sk")["status"])


# ---------------------------------------------------------------------------------------------


class TestHorizontalPodAutoscalers(ServerCase):
    """autoscaling/v2 HPAs as kube-apiserver 1.36.2 answered them (probed on an envtest control plane)."""

    BASE = "/apis/autoscaling/v2/namespaces/default/horizontalpodautoscalers"

    def hpa(self, name, **spec):
        return {"apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler", "metadata": {"name": name},
                "spec": spec}

    def test_defaults_on_create(self):
        ref = {"kind": "Deployment", "name": "web", "apiVersion": "apps/v1"}
        st, o = self.srv.request("POST", self.BASE, self.hpa("web", scaleTargetRef=ref, maxReplicas=3))
        self.assertEqual(st, 201, o)
        self.assertEqual(o["spec"]["minReplicas"], 1)
        self.assertEqual(o["spec"]["metrics"], [{"type": "Resource", "resource": {
            "name": "cpu", "target": {"type": "Utilization", "averageUtilization": 80}}}])
        self.assertNotIn("behavior", o["spec"])
        self.assertNotIn("generation", o["metadata"])
        self.assertEqual(o["status"], {"desiredReplicas": 0, "currentMetrics": None})
        st, o = self.srv.request("POST", self.BASE, self.hpa("b", scaleTargetRef=ref, maxReplicas=3, behavior={}))
        self.assertEqual(o["spec"]["behavior"]["scaleUp"]["policies"],
                         [{"type": "Pods", "value": 4, "periodSeconds": 15},
                          {"type": "Percent", "value": 100, "periodSeconds": 15}])
        self.assertEqual(o["spec"]["behavior"]["scaleDown"], {"selectPolicy": "Max", "policies": [
            {"type": "Percent", "value": 100, "periodSeconds": 15}]})
        st, lst = self.srv.request("GET", self.BASE + "?resourceVersion=0")
        self.assertEqual((st, lst["kind"], len(lst["items"])), (200, "HorizontalPodAutoscalerList", 2))

    def test_invalid_is_422_in_the_servers_order(self):
        st, o = self.srv.request("POST", self.BASE, self.hpa("b", scaleTargetRef={"kind": "Deployment", "name": "a"}))
        self.assertEqual(st, 422)
        self.assertEqual(o["message"], 'HorizontalPodAutoscaler.autoscaling "b" is invalid: [spec.maxReplicas: '
                         'Required value: must be set and greater than 0, spec.maxReplicas: Invalid value: 0: must be '
                         'greater than or equal to `minReplicas`, spec.scaleTargetRef.apiVersion: Invalid value: "": '
                         'apiVersion must specify API group]')
        self.assertEqual(o["details"]["kind"], "HorizontalPodAutoscaler")
        st, o = self.srv.request("POST", self.BASE, self.hpa(
            "c", scaleTargetRef={"kind": "Deployment", "name": "a"}, maxReplicas=3,
            metrics=[{"type": "Resource", "resource": {"name": "cpu", "target": {"type": "Utilization"}}}]))
        self.assertEqual(st, 422)
        self.assertEqual([(c["field"], c["reason"]) for c in o["details"]["causes"]],
                         [("spec.scaleTargetRef.apiVersion", "FieldValueInvalid"),
                          ("spec.metrics[0].resource.target.averageUtilization", "FieldValueRequired")])


def main():
    results = os.environ.get("SNUG_RESULTS")
    argv = [a for a in sys.argv[1:]]
    loader = unittest.TestLoader()
    if argv:
        suite = loader.loadTestsFromNames(argv, sys.modules[__name__])
    else:
        suite = loader.loadTestsFromModule(sys.modules[__name__])
    res = unittest.TextTestRunner(verbosity=int(os.environ.get("VERBOSE", "1")) + 1, stream=sys.stdout).run(suite)
    failed = len(res.failures) + len(res.errors) + len(res.unexpectedSuccesses)
    skipped = len(res.skipped)
    passed = res.testsRun - failed - skipped
    print("fake-apiserver %d %d %d" % (passed, failed, skipped))
    if results:
        os.makedirs(os.path.dirname(results), exist_ok=True)
        with open(results, "w") as f:
            f.write("fake-apiserver %d %d %d\n" % (passed, failed, skipped))
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
