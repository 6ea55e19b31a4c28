#!/usr/bin/python3
"""Tests of the fake API server: it must answer as the recorded real kube-apiserver 1.36/1.33 did
(transcript replay) and its test-only machinery (kubelet, controller, faults, tokens) must work."""

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
        self.srv.kubelet(mode="apply", delay=0.05, pods={}, auto_start=False, cgroup_root=None, delete_grace=0.2)
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

    def test_node_capacity_decides_infeasible_and_deferred(self):
        self.srv.create_node("node-1", cpu="1", memory="2Gi")
        self.srv.create_pod("big", requests={"cpu": "100m", "memory": "128Mi"}, limits=None)
        self.srv.create_pod("other", requests={"cpu": "700m", "memory": "128Mi"}, limits=None)
        self.srv.resize("big", requests={"cpu": "2"})
        self.assertTrue(self.srv.wait_for(lambda: self._conds("big").get("PodResizePending", {}).get("reason") == "Infeasible"))
        self.assertEqual(self._conds("big")["PodResizePending"]["message"],
                         "Node didn't have enough capacity: cpu, requested: 2000, capacity: 1000")
        self.srv.resize("big", requests={"cpu": "500m"})
        self.assertTrue(self.srv.wait_for(lambda: self._conds("big").get("PodResizePending", {}).get("reason") == "Deferred"))
        # room is made: the deferred resize goes through
        self.srv.request("DELETE", "/api/v1/namespaces/default/pods/other?gracePeriodSeconds=0")
        self.assertTrue(self.srv.wait_for(lambda: self._status_res("big")["resources"]["requests"]["cpu"] == "500m"))
        self.assertNotIn("PodResizePending", self._conds("big"))

    def test_old_version_uses_status_resize(self):
        self.srv.set_version("1.30")
        self.srv.create_pod("a")
        self.srv.kubelet(mode="infeasible")
        st, _ = self.srv.request("PATCH", "/api/v1/namespaces/default/pods/a",
                                 {"spec": {"containers": [{"name": "app", "resources": {"requests": {"cpu": "130m"}}}]}},
                                 "application/strategic-merge-patch+json")
        self.assertEqual(st, 200)
        self.assertTrue(self.srv.wait_for(lambda: self.srv.get_pod("a")["status"].get("resize") == "Infeasible"))

    def test_cgroup_files(self):
        root = tempfile.mkdtemp(prefix="fakecg-")
        try:
            self.srv.kubelet(cgroup_root=root)
            pod = self.srv.create_pod("rz")
            self.srv.resize("rz", requests={"cpu": "150m"}, limits={"cpu": "300m", "memory": "256Mi"})
            uid = pod["metadata"]["uid"].replace("-", "_")
            cid = pod["status"]["containerStatuses"][0]["containerID"].split("://")[1]
            d = os.path.join(root, "kubepods.slice", "kubepods-burstable.slice", "kubepods-burstable-pod%s.slice" % uid,
                             "cri-containerd-%s.scope" % cid)
            self.assertTrue(self.srv.wait_for(lambda: os.path.exists(os.path.join(d, "cpu.max"))))
            with open(os.path.join(d, "cpu.max")) as f:
                self.assertEqual(f.read(), "30000 100000\n")
            with open(os.path.join(d, "memory.max")) as f:
                self.assertEqual(f.read(), "%d\n" % (256 << 20))
        finally:
            shutil.rmtree(root, ignore_errors=True)

    def test_auto_start(self):
        self.srv.kubelet(auto_start=True)
        self.srv.create(self.srv.pod_manifest("auto"))
        self.assertTrue(self.srv.wait_for(lambda: self.srv.get_pod("auto")["status"].get("phase") == "Running"))
        self.assertIn("resources", self._status_res("auto"))


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


# ---------------------------------------------------------------------------------------------


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
