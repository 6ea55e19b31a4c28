"""API tier, end to end: `snug-agent run` against the fake API server and a fake cgroup tree fed by the test.

Each test builds pods on the fake server (its kubelet simulator applies accepted resizes), mirrors them
as cgroup directories, feeds usage into the cgroup files, and checks what a user would see: the PATCH
the server got, the cgroup files the agent wrote, Events, /metrics and /recommendations."""

import json
import os
import sys
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "fake-apiserver"))

import agentctl  # noqa: E402
import fakectl  # noqa: E402
from agentctl import MiB  # noqa: E402

# Recommendations wait for an hour of history here, so only the signal under test acts; the
# recommendation test lowers it.
FAST = ["--sample-interval", "200ms", "--decide-interval", "500ms", "--min-history", "1h"]


def wait_for(fn, timeout=15, interval=0.1):
    deadline = time.time() + timeout
    while time.time() < deadline:
        v = fn()
        if v:
            return v
        time.sleep(interval)
    return fn()


def patch_body(req):
    body = req["body"]
    return body if isinstance(body, dict) else json.loads(body)


def container_patch(req, name="app"):
    for c in patch_body(req)["spec"]["containers"]:
        if c["name"] == name:
            return c["resources"]
    raise KeyError(name)


class AgentBase(unittest.TestCase):
    """A fake API server and cgroup tree per test; the agent started by the test."""
    version = "1.36"

    def setUp(self):
        self.dir, self._rm = agentctl.tmpdir("snug-agent-api-")
        self.srv = fakectl.FakeApiServer(version=self.version, workdir=os.path.join(self.dir, "srv"))
        os.makedirs(self.srv.dir, exist_ok=True)
        self.srv.start()
        self.tree = agentctl.FakeTree(os.path.join(self.dir, "cgroup"))
        self.srv.kubelet(mode="apply", delay=0.1)
        self.agent = None

    def tearDown(self):
        if self.agent:
            rc = self.agent.stop()
            self.assertEqual(rc, 0, "agent did not exit cleanly on SIGTERM:\n" + self.agent.log())
        self.srv.cleanup()
        self._rm()

    def start_agent(self, *args, state="state"):
        self.agent = agentctl.Agent(self.srv, self.tree.root, os.path.join(self.dir, state),
                                    args=FAST + list(args))
        self.agent.start()
        return self.agent

    def make_pod(self, name, annotations=None, requests=None, limits=None, **kw):
        pod = self.srv.create_pod(name, annotations=annotations, requests=requests, limits=limits, **kw)
        self.tree.add_pod(pod)
        return pod

    def wait_tracked(self, n):
        self.assertTrue(wait_for(lambda: (self.agent.metric("snug_tracked_containers") or 0) >= n),
                        "agent did not track %d containers:\n%s" % (n, self.agent.log()))

    def wait_resized(self, pod, n=1):
        got = wait_for(lambda: len([r for r in agentctl.resize_requests(self.srv, pod)
                                    if r["status"] == 200]) >= n)
        self.assertTrue(got, "no accepted resize of %s:\n%s" % (pod, self.agent.log()))
        return [r for r in agentctl.resize_requests(self.srv, pod) if r["status"] == 200]


class AgentTest(AgentBase):
    """A 1.36 server: in-place resize through the resize subresource."""

    # ---- opt-in ------------------------------------------------------------------------------

    def test_only_opted_in_pods_are_managed(self):
        self.make_pod("managed", annotations={"snug.io/mode": "auto"})
        self.make_pod("plain")
        self.start_agent()
        self.wait_tracked(1)
        recs = self.agent.recommendations()
        pods = {c["pod"] for c in recs["containers"]}
        self.assertEqual(pods, {"managed"})
        c = self.tree.container("plain")
        c.oom_kill()
        time.sleep(1.5)
        self.assertEqual(agentctl.resize_requests(self.srv, "plain"), [], "an opted-out pod was resized")

    # ---- OOM kill → memory grown in place ----------------------------------------------------

    def test_oom_kill_grows_memory_in_place_and_writes_cgroups(self):
        self.make_pod("grower", annotations={"snug.io/mode": "auto"},
                      requests={"cpu": "100m", "memory": "128Mi"}, limits={"cpu": "500m", "memory": "256Mi"})
        c = self.tree.container("grower")
        c.write("memory.max", "%d\n" % (256 * MiB))
        self.tree.pod("grower").write("memory.max", "%d\n" % (256 * MiB))
        c.memory = 200 * MiB
        c.write_memory()
        self.start_agent()
        self.wait_tracked(1)
        time.sleep(0.5)  # a sample of the 250 MiB working set
        c.oom_kill()
        req = self.wait_resized("grower")[0]
        res = container_patch(req)
        limit = fakectl.fake_apiserver.parse_quantity(res["limits"]["memory"])
        self.assertGreater(limit, 256 * MiB, "memory limit not raised: %s" % res)
        # VPA's OOM bump: at least +100 MiB over the 200 MiB peak.
        self.assertGreaterEqual(limit, 300 * MiB, self.agent.log())
        self.assertTrue(wait_for(lambda: c.read("memory.max").strip() == str(limit)),
                        "container memory.max not written: %s" % c.read("memory.max"))
        self.assertTrue(wait_for(lambda: self.tree.pod("grower").read("memory.max").strip() == str(limit)),
                        "pod memory.max not written")
        ann = wait_for(lambda: self.srv.get_pod("grower")["metadata"].get("annotations", {})
                       .get("snug.io/last-resize"))
        self.assertTrue(ann, "no snug.io/last-resize annotation:\n" + self.agent.log())
        ann = json.loads(ann)
        self.assertEqual(ann["container"], "app")
        self.assertIn("oom", ann["reason"].lower())
        self.assertTrue(wait_for(lambda: agentctl.events(self.srv, "Resized")))
        # One kill, one resize: later decisions inside the cooldown do not resize again.
        time.sleep(2)
        self.assertEqual(len(agentctl.resize_requests(self.srv, "grower")), 1)
        rec = [x for x in self.agent.recommendations()["containers"] if x["pod"] == "grower"][0]
        self.assertEqual(rec["last_action"]["result"], "accepted")

    def test_oom_kill_acted_on_between_samples(self):
        # The kill is acted on when memory.events changes, not at the next sampling tick (an hour away).
        # No sample of this container is ever taken: the OOM bump is from its request (200Mi + 100Mi).
        self.make_pod("burst", annotations={"snug.io/mode": "in-place"},
                      requests={"cpu": "100m", "memory": "200Mi"}, limits={"cpu": "500m", "memory": "256Mi"})
        c = self.tree.container("burst")
        c.write("memory.max", "%d\n" % (256 * MiB))
        self.start_agent("--sample-interval", "1h")
        self.wait_tracked(1)
        time.sleep(0.5)  # past the one sample taken at start
        c.oom_kill()
        res = container_patch(self.wait_resized("burst")[0])
        limit = fakectl.fake_apiserver.parse_quantity(res["limits"]["memory"])
        self.assertGreater(limit, 256 * MiB)
        self.assertTrue(wait_for(lambda: c.read("memory.max").strip() == str(limit)),
                        "container memory.max not written: %s" % c.read("memory.max"))

    def test_oom_kill_during_a_resize_in_flight_is_acted_on_after_it(self):
        # A pressure resize is slow to answer; the kill that lands meanwhile gets its own bump as soon
        # as that resize is done, not at the next periodic decision (an hour away).
        self.make_pod("spike", annotations={"snug.io/mode": "in-place"},
                      requests={"cpu": "100m", "memory": "128Mi"}, limits={"cpu": "500m", "memory": "256Mi"})
        c = self.tree.container("spike")
        c.write("memory.max", "%d\n" % (256 * MiB))
        self.srv.fault(action="delay", delay=2, path=r"/pods/spike/resize", count=1)
        self.start_agent("--decide-interval", "1h")
        self.wait_tracked(1)
        c.memory = 250 * MiB
        c.write_memory()
        self.assertTrue(wait_for(lambda: agentctl.resize_requests(self.srv, "spike")),
                        "no pressure resize:\n" + self.agent.log())
        c.oom_kill()
        done = self.wait_resized("spike", 2)
        first = fakectl.fake_apiserver.parse_quantity(container_patch(done[0])["limits"]["memory"])
        second = fakectl.fake_apiserver.parse_quantity(container_patch(done[1])["limits"]["memory"])
        self.assertGreater(second, first, self.agent.log())
        self.assertTrue(wait_for(lambda: c.read("memory.max").strip() == str(second)),
                        "container memory.max not written: %s" % c.read("memory.max"))

        def last():
            rec = [x for x in self.agent.recommendations()["containers"] if x["pod"] == "spike"][0]
            return rec.get("last_action") or {}
        wait_for(lambda: "oom-kill" in last().get("reason", ""))
        self.assertIn("oom-kill", last().get("reason", ""), self.agent.log())
        self.assertEqual(last().get("result"), "accepted")

    def test_memory_grown_before_the_oom_kill(self):
        self.make_pod("leaky", annotations={"snug.io/mode": "in-place"},
                      requests={"cpu": "100m", "memory": "128Mi"}, limits={"cpu": "500m", "memory": "256Mi"})
        c = self.tree.container("leaky")
        c.write("memory.max", "%d\n" % (256 * MiB))
        self.start_agent()
        self.wait_tracked(1)
        c.memory = 250 * MiB  # 97% of the limit, no kill yet
        c.write_memory()
        res = container_patch(self.wait_resized("leaky")[0])
        limit = fakectl.fake_apiserver.parse_quantity(res["limits"]["memory"])
        self.assertGreater(limit, 256 * MiB)
        self.assertTrue(wait_for(lambda: c.read("memory.max").strip() == str(limit)))
        self.assertEqual(c.events["oom_kill"], 0)
        rec = [x for x in self.agent.recommendations()["containers"] if x["pod"] == "leaky"][0]
        self.assertIn("pressure", rec["last_action"]["reason"])

    def test_guaranteed_pod_stays_guaranteed(self):
        self.make_pod("gpod", annotations={"snug.io/mode": "auto"},
                      requests={"cpu": "200m", "memory": "256Mi"}, limits={"cpu": "200m", "memory": "256Mi"})
        self.assertEqual(self.srv.get_pod("gpod")["status"]["qosClass"], "Guaranteed")
        c = self.tree.container("gpod")
        c.memory = 200 * MiB
        c.write_memory()
        self.start_agent()
        self.wait_tracked(1)
        time.sleep(0.5)
        c.oom_kill()
        res = container_patch(self.wait_resized("gpod")[0])
        self.assertEqual(res["requests"]["memory"], res["limits"]["memory"])
        self.assertEqual(self.srv.get_pod("gpod")["status"]["qosClass"], "Guaranteed")

    def test_cluster_cap_limits_the_bump(self):
        self.make_pod("capped", annotations={"snug.io/mode": "auto"},
                      requests={"cpu": "100m", "memory": "128Mi"}, limits={"cpu": "500m", "memory": "256Mi"})
        c = self.tree.container("capped")
        c.memory = 200 * MiB
        c.write_memory()
        self.start_agent("--max-memory", "300Mi")
        self.wait_tracked(1)
        time.sleep(0.5)
        c.oom_kill()
        res = container_patch(self.wait_resized("capped")[0])
        self.assertLessEqual(fakectl.fake_apiserver.parse_quantity(res["limits"]["memory"]), 300 * MiB)

    # ---- modes -------------------------------------------------------------------------------

    def test_recommend_mode_only_reports(self):
        self.make_pod("watched", annotations={"snug.io/mode": "recommend"},
                      requests={"cpu": "100m", "memory": "128Mi"}, limits={"cpu": "500m", "memory": "256Mi"})
        c = self.tree.container("watched")
        c.memory = 200 * MiB
        c.write_memory()
        self.start_agent()
        self.wait_tracked(1)
        time.sleep(0.5)
        c.oom_kill()
        self.assertTrue(wait_for(lambda: agentctl.events(self.srv, "Recommendation")),
                        "no Recommendation event:\n" + self.agent.log())
        self.assertEqual(agentctl.resize_requests(self.srv), [])
        self.assertEqual(c.read("memory.max").strip(), "max")

    def test_dry_run_changes_nothing(self):
        self.make_pod("dry", annotations={"snug.io/mode": "auto"},
                      requests={"cpu": "100m", "memory": "128Mi"}, limits={"cpu": "500m", "memory": "256Mi"})
        c = self.tree.container("dry")
        c.write("memory.max", "%d\n" % (256 * MiB))
        c.memory = 200 * MiB
        c.write_memory()
        self.start_agent("--dry-run")
        self.wait_tracked(1)
        time.sleep(0.5)
        c.oom_kill()
        self.assertTrue(wait_for(lambda: (self.agent.metric("snug_resizes_total", result="dry-run") or 0) >= 1),
                        "dry-run decision not counted:\n" + self.agent.log())
        self.assertEqual(agentctl.resize_requests(self.srv), [])
        self.assertEqual(c.read("memory.max").strip(), str(256 * MiB))

    def test_bad_annotation_is_reported_and_pod_left_alone(self):
        self.make_pod("typo", annotations={"snug.io/mode": "sometimes", "snug.io/max-memory": "lots"},
                      requests={"cpu": "100m", "memory": "128Mi"}, limits={"cpu": "500m", "memory": "256Mi"})
        self.start_agent()
        ev = wait_for(lambda: agentctl.events(self.srv, "InvalidAnnotation"))
        self.assertTrue(ev, "no InvalidAnnotation event:\n" + self.agent.log())
        self.assertIn("snug.io/mode", ev[0]["message"])
        self.assertEqual(ev[0]["involvedObject"]["name"], "typo")
        self.assertEqual(self.agent.metric("snug_bad_annotations_total", pod="typo"), 1)
        self.tree.container("typo").oom_kill()
        time.sleep(1.5)
        self.assertEqual(agentctl.resize_requests(self.srv), [])
        # Still alive and serving.
        self.assertEqual(self.agent.get("/healthz")[0], 200)

    def test_recommendation_shrinks_an_overprovisioned_container(self):
        self.make_pod("idle", annotations={"snug.io/mode": "auto"},
                      requests={"cpu": "100m", "memory": "1Gi"}, limits={"cpu": "500m", "memory": "2Gi"})
        c = self.tree.container("idle")
        c.memory = 40 * MiB
        c.write_memory()
        self.start_agent("--min-history", "0")
        self.wait_tracked(1)
        res = container_patch(self.wait_resized("idle")[0])
        req = fakectl.fake_apiserver.parse_quantity(res["requests"]["memory"])
        lim = fakectl.fake_apiserver.parse_quantity(res["limits"]["memory"])
        # VPA's floor is 250 MiB for a one-container pod; 40 MiB used + 15% is below it.
        self.assertEqual(req, 250 * MiB)
        # requests-and-limits: the limit keeps its 2:1 ratio to the request.
        self.assertEqual(lim, 500 * MiB)
        self.assertTrue(wait_for(lambda: c.read("memory.max").strip() == str(500 * MiB)),
                        "memory.max not lowered: " + c.read("memory.max"))
        rec = [x for x in self.agent.recommendations()["containers"] if x["pod"] == "idle"][0]
        self.assertEqual(rec["recommendation"]["target"]["memory_bytes"], 250 * MiB)
        self.assertIn("recommendation", rec["last_action"]["reason"])

    # ---- CPU throttling ----------------------------------------------------------------------

    def test_sustained_throttling_raises_cpu_limit(self):
        self.make_pod("burner", annotations={"snug.io/mode": "in-place"},
                      requests={"cpu": "100m", "memory": "128Mi"}, limits={"cpu": "200m", "memory": "256Mi"})
        c = self.tree.container("burner")
        c.write("cpu.max", "20000 100000\n")
        self.start_agent("--throttle-window", "2s")
        self.wait_tracked(1)

        def burn():
            c.run(0.2, 0.2, throttled_fraction=0.8)
            return [r for r in agentctl.resize_requests(self.srv, "burner") if r["status"] == 200]

        done = wait_for(burn, timeout=20, interval=0.2)
        self.assertTrue(done, "no CPU resize:\n" + self.agent.log())
        res = container_patch(done[0])
        limit = fakectl.fake_apiserver.parse_quantity(res["limits"]["cpu"])
        self.assertGreater(limit, 0.2)
        quota = int(limit * 100000 + 0.5)
        self.assertTrue(wait_for(lambda: c.read("cpu.max").split()[0] == str(quota)),
                        "cpu.max not raised: %s (want %d)" % (c.read("cpu.max"), quota))

    # ---- the API server misbehaves -----------------------------------------------------------

    def test_api_errors_then_back_one_resize(self):
        self.make_pod("flaky", annotations={"snug.io/mode": "auto"},
                      requests={"cpu": "100m", "memory": "128Mi"}, limits={"cpu": "500m", "memory": "256Mi"})
        c = self.tree.container("flaky")
        c.memory = 200 * MiB
        c.write_memory()
        self.srv.fault(action="error", status=503, path=r"/pods/flaky/resize", count=3)
        self.start_agent()
        self.wait_tracked(1)
        time.sleep(0.5)
        c.oom_kill()
        self.wait_resized("flaky")
        time.sleep(2)
        attempts = agentctl.resize_requests(self.srv, "flaky")
        self.assertEqual([r["status"] for r in attempts], [503, 503, 503, 200],
                         "decision lost or duplicated:\n" + self.agent.log())

    def test_infeasible_resize_is_reported(self):
        self.make_pod("huge", annotations={"snug.io/mode": "in-place"},
                      requests={"cpu": "100m", "memory": "128Mi"}, limits={"cpu": "500m", "memory": "256Mi"})
        self.srv.kubelet(mode="infeasible", infeasible_message="Node didn't have enough capacity")
        c = self.tree.container("huge")
        c.memory = 200 * MiB
        c.write_memory()
        self.start_agent()
        self.wait_tracked(1)
        time.sleep(0.5)
        c.oom_kill()
        self.wait_resized("huge")
        self.assertTrue(wait_for(lambda: (self.agent.metric("snug_resizes_total", result="infeasible") or 0) >= 1),
                        "Infeasible not seen:\n" + self.agent.log())
        ev = wait_for(lambda: agentctl.events(self.srv, "ResizeNotApplied"))
        self.assertIn("enough capacity", ev[0]["message"])

    # ---- restarts ----------------------------------------------------------------------------

    def test_restart_keeps_history_and_does_not_resize_again(self):
        self.make_pod("keeper", annotations={"snug.io/mode": "auto"},
                      requests={"cpu": "100m", "memory": "128Mi"}, limits={"cpu": "500m", "memory": "256Mi"})
        c = self.tree.container("keeper")
        c.memory = 200 * MiB
        c.write_memory()
        self.start_agent()
        self.wait_tracked(1)
        time.sleep(0.5)
        c.oom_kill()
        self.wait_resized("keeper")
        self.assertEqual(self.agent.stop(), 0)
        files = [f for f in os.listdir(os.path.join(self.dir, "state")) if f.endswith(".json")]
        self.assertEqual(len(files), 1, "no checkpoint saved at shutdown")
        with open(os.path.join(self.dir, "state", files[0])) as f:
            cp = json.load(f)
        self.assertIn("keeper", json.dumps(cp))
        self.start_agent()
        self.wait_tracked(1)
        time.sleep(2.5)
        self.assertIn("Loaded 1 checkpoints", self.agent.log())
        self.assertEqual(len(agentctl.resize_requests(self.srv, "keeper")), 1, "resized again after restart")

    # ---- the endpoint ------------------------------------------------------------------------

    def test_metrics_pass_promtool(self):
        self.make_pod("m1", annotations={"snug.io/mode": "auto"})
        self.start_agent()
        self.wait_tracked(1)
        import shutil
        import subprocess
        promtool = shutil.which("promtool")
        if not promtool:
            print("*** SKIPPED: promtool not installed (make deps) ***")
            return
        p = subprocess.run([promtool, "check", "metrics"], input=self.agent.metrics().encode(),
                           capture_output=True)
        self.assertEqual(p.returncode, 0, p.stdout.decode() + p.stderr.decode())
        for name in ("snug_tracked_containers", "snug_build_info", "snug_oom_source"):
            self.assertIsNotNone(self.agent.metric(name), name + " missing")


class NoInPlaceResizeTest(AgentBase):
    """A server without in-place resize (1.26): mode auto falls back to eviction, in-place only reports."""
    version = "1.26"

    def make_rs(self, name, replicas):
        rs = self.srv.create({"apiVersion": "apps/v1", "kind": "ReplicaSet",
                              "metadata": {"name": name, "namespace": "default"},
                              "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": name}},
                                       "template": {"metadata": {"labels": {"app": name}},
                                                    "spec": {"containers": [{"name": "app", "image": "x"}]}}}})
        return {"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": name, "uid": rs["metadata"]["uid"],
                "controller": True}

    def oom(self, pod):
        c = self.tree.container(pod)
        c.memory = 200 * MiB
        c.write_memory()
        time.sleep(0.5)
        c.oom_kill()

    def evictions(self):
        return [r for r in self.srv.requests() if r["method"] == "POST" and r["path"].endswith("/eviction")]

    def test_auto_mode_annotates_owner_and_evicts(self):
        owner = self.make_rs("web", 3)
        self.make_pod("web-1", annotations={"snug.io/mode": "auto"}, owner=owner, labels={"app": "web"},
                      requests={"cpu": "100m", "memory": "128Mi"}, limits={"cpu": "500m", "memory": "256Mi"})
        self.start_agent()
        self.wait_tracked(1)
        self.oom("web-1")
        ev = wait_for(lambda: [r for r in self.evictions() if r["status"] == 201], timeout=20)
        self.assertTrue(ev, "no eviction:\n" + self.agent.log())
        # No PATCH can work on 1.26: the client knows from discovery and does not send one.
        self.assertEqual([r for r in agentctl.resize_requests(self.srv) if r["status"] == 200], [])
        self.assertTrue(agentctl.events(self.srv, "ResizeNotSupported"))
        st, rs = self.srv.request("GET", "/apis/apps/v1/namespaces/default/replicasets/web")
        rec = json.loads(rs["metadata"]["annotations"]["snug.io/recommendation"])
        text = json.dumps(rec)
        self.assertIn("app", text)
        self.assertIn("node-1", text)
        self.assertTrue(wait_for(lambda: (self.agent.metric("snug_evictions_total", result="evicted") or 0) >= 1))

    def test_bare_pod_is_never_evicted(self):
        self.make_pod("bare", annotations={"snug.io/mode": "auto"},
                      requests={"cpu": "100m", "memory": "128Mi"}, limits={"cpu": "500m", "memory": "256Mi"})
        self.start_agent()
        self.wait_tracked(1)
        self.oom("bare")
        self.assertTrue(wait_for(lambda: agentctl.events(self.srv, "ResizeNotSupported")),
                        "no ResizeNotSupported event:\n" + self.agent.log())
        time.sleep(1)
        self.assertEqual(self.evictions(), [])

    def test_in_place_mode_never_evicts(self):
        owner = self.make_rs("db", 3)
        self.make_pod("db-1", annotations={"snug.io/mode": "in-place"}, owner=owner, labels={"app": "db"},
                      requests={"cpu": "100m", "memory": "128Mi"}, limits={"cpu": "500m", "memory": "256Mi"})
        self.start_agent()
        self.wait_tracked(1)
        self.oom("db-1")
        self.assertTrue(wait_for(lambda: agentctl.events(self.srv, "ResizeNotSupported")))
        time.sleep(1)
        self.assertEqual(self.evictions(), [])


if __name__ == "__main__":
    runner = unittest.TextTestRunner(verbosity=2)
    prog = unittest.main(exit=False, testRunner=runner)
    r = prog.result
    failed = len(r.failures) + len(r.errors)
    skipped = len(r.skipped)
    passed = r.testsRun - failed - skipped
    out = os.environ.get("SNUG_RESULTS")
    if out:
        with open(out, "w") as f:
            f.write("agent-api %d %d %d\n" % (passed, failed, skipped))
    print("%d passed, %d failed, %d skipped" % (passed, failed, skipped))
    sys.exit(1 if failed else 0)
