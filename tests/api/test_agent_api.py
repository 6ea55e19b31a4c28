"""API tier, end to end: `snug-agent run` against the fake API server and a fake cgroup tree fed by the test.

Each test builds pods on the fake server (its kubelet simulator applies accepted resizes), mirrors them
as cgroup directories, feeds usage into the cgroup files, and checks what a user would see: the PATCH
the server got, the cgroup files the agent wrote, Events, /metrics and /recommendations."""

import json
import math
import os
import re
import sys
import threading
import time
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))

from snugtest.agent import FAST, Agent  # noqa: E402
from snugtest.cgtree import FakeCgroup, FakeTree  # noqa: E402
from snugtest.fakeserver import FakeApiServer, events, resize_requests  # noqa: E402
from snugtest.harness import main, tmpdir, wait_for  # noqa: E402
from snugtest.units import MiB, quantity  # noqa: E402


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
        self.dir, self._rm = tmpdir("snug-agent-api-")
        self.srv = FakeApiServer(version=self.version, workdir=os.path.join(self.dir, "srv"))
        os.makedirs(self.srv.dir, exist_ok=True)
        self.srv.start()
        self.tree = FakeTree(os.path.join(self.dir, "cgroup"))
        self.srv.kubelet(mode="apply", delay=0.1)
        self.agent = None

    def tearDown(self):
        if self.agent:
            rc = self.agent.stop()
            self.assertEqual(rc, 0, "agent did not exit cleanly on SIGTERM:\n" + self.agent.log())
        self.srv.cleanup()
        self._rm()

    def start_agent(self, *args, state="state"):
        self.agent = Agent(self.srv, self.tree.root, os.path.join(self.dir, state), args=FAST + list(args))
        self.agent.start()
        return self.agent

    def make_pod(self, name, annotations=None, requests=None, limits=None, memory_max=None, working_set=None, **kw):
        """The pod on the server and in the tree; memory_max (container's memory.max) and working_set
        in bytes when given."""
        pod = self.srv.create_pod(name, annotations=annotations, requests=requests, limits=limits, **kw)
        self.tree.add_pod(pod)
        c = self.tree.container(name)
        if memory_max is not None:
            c.write("memory.max", "%d\n" % memory_max)
        if working_set is not None:
            c.memory = working_set
            c.write_memory()
        return pod

    BURSTABLE = {"requests": {"cpu": "100m", "memory": "128Mi"}, "limits": {"cpu": "500m", "memory": "256Mi"}}

    def oom_pod(self, name, mode="auto", working_set=200 * MiB, **kw):
        """The usual OOM subject: a pod opted in with `mode`, Burstable 100m/128Mi -> 500m/256Mi unless
        requests/limits are given, its cgroup holding `working_set` bytes. Returns its fake cgroup."""
        if "requests" not in kw and "limits" not in kw:
            kw.update(self.BURSTABLE)
        self.make_pod(name, annotations={"snug.io/mode": mode}, working_set=working_set, **kw)
        return self.tree.container(name)

    def start_then_oom_kill(self, c, *agent_args):
        """The agent started (with agent_args) and tracking the container; once it has sampled the
        working set (every 200 ms here), the container is OOM-killed."""
        self.start_agent(*agent_args)
        self.wait_tracked(1)
        time.sleep(0.5)
        c.oom_kill()

    def wait_tracked(self, n):
        self.assertTrue(wait_for(lambda: (self.agent.metric("snug_tracked_containers") or 0) >= n),
                        "agent did not track %d containers:\n%s" % (n, self.agent.log()))

    def wait_resized(self, pod, n=1):
        got = wait_for(lambda: len([r for r in resize_requests(self.srv, pod)
                                    if r["status"] == 200]) >= n)
        self.assertTrue(got, "no accepted resize of %s:\n%s" % (pod, self.agent.log()))
        return [r for r in resize_requests(self.srv, pod) if r["status"] == 200]


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
        self.assertEqual(resize_requests(self.srv, "plain"), [], "an opted-out pod was resized")

    # ---- OOM kill → memory grown in place ----------------------------------------------------

    def test_oom_kill_grows_memory_in_place_and_writes_cgroups(self):
        c = self.oom_pod("grower", memory_max=256 * MiB)
        self.tree.pod("grower").write("memory.max", "%d\n" % (256 * MiB))
        self.start_then_oom_kill(c)
        req = self.wait_resized("grower")[0]
        res = container_patch(req)
        limit = quantity(res["limits"]["memory"])
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
        self.assertTrue(wait_for(lambda: events(self.srv, "Resized")))
        # One kill, one resize: later decisions inside the cooldown do not resize again.
        time.sleep(2)
        self.assertEqual(len(resize_requests(self.srv, "grower")), 1)
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
        limit = quantity(res["limits"]["memory"])
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
        self.assertTrue(wait_for(lambda: resize_requests(self.srv, "spike")),
                        "no pressure resize:\n" + self.agent.log())
        c.oom_kill()
        done = self.wait_resized("spike", 2)
        first = quantity(container_patch(done[0])["limits"]["memory"])
        second = quantity(container_patch(done[1])["limits"]["memory"])
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
        limit = quantity(res["limits"]["memory"])
        self.assertGreater(limit, 256 * MiB)
        self.assertTrue(wait_for(lambda: c.read("memory.max").strip() == str(limit)))
        self.assertEqual(c.events["oom_kill"], 0)
        rec = [x for x in self.agent.recommendations()["containers"] if x["pod"] == "leaky"][0]
        self.assertIn("pressure", rec["last_action"]["reason"])

    def test_pressure_grows_memory_once_until_the_next_sample(self):
        # Samples far apart, decisions often: the decisions between the resize and the next
        # sample must judge against the limit just set, not the stale memory.max and growth.
        self.make_pod("jumpy", annotations={"snug.io/mode": "in-place"},
                      requests={"cpu": "100m", "memory": "128Mi"}, limits={"cpu": "500m", "memory": "256Mi"},
                      memory_max=256 * MiB, working_set=100 * MiB)
        self.agent = Agent(self.srv, self.tree.root, os.path.join(self.dir, "state"),
                           args=["--sample-interval", "2s", "--decide-interval", "100ms", "--min-history", "1h"])
        self.agent.start()
        self.wait_tracked(1)
        c = self.tree.container("jumpy")
        c.memory = 250 * MiB
        c.write_memory()
        self.wait_resized("jumpy")
        time.sleep(1.5)  # many decisions, at most one more sample
        self.assertEqual(len(resize_requests(self.srv, "jumpy")), 1,
                         "memory grown again on stale signals:\n" + self.agent.log())

    def test_guaranteed_pod_stays_guaranteed(self):
        c = self.oom_pod("gpod", requests={"cpu": "200m", "memory": "256Mi"},
                         limits={"cpu": "200m", "memory": "256Mi"})
        self.assertEqual(self.srv.get_pod("gpod")["status"]["qosClass"], "Guaranteed")
        self.start_then_oom_kill(c)
        res = container_patch(self.wait_resized("gpod")[0])
        self.assertEqual(res["requests"]["memory"], res["limits"]["memory"])
        self.assertEqual(self.srv.get_pod("gpod")["status"]["qosClass"], "Guaranteed")

    def test_cluster_cap_limits_the_bump(self):
        self.start_then_oom_kill(self.oom_pod("capped"), "--max-memory", "300Mi")
        res = container_patch(self.wait_resized("capped")[0])
        self.assertLessEqual(quantity(res["limits"]["memory"]), 300 * MiB)

    # ---- the node's free allocatable ---------------------------------------------------------

    def test_oom_bump_held_to_the_nodes_free_allocatable(self):
        self.srv.create_node("node-1", cpu="4", memory="1Gi")
        # Not managed by snug, but its 750Mi are taken on the node: 274Mi are left.
        self.srv.create_pod("neighbour", requests={"cpu": "100m", "memory": "750Mi"},
                            limits={"cpu": "100m", "memory": "750Mi"})
        # Guaranteed: the memory request follows the limit up, so the node's room bounds both.
        c = self.oom_pod("tight", requests={"cpu": "200m", "memory": "256Mi"},
                         limits={"cpu": "200m", "memory": "256Mi"})
        self.start_agent("--node-refresh", "1s")
        self.wait_tracked(1)
        self.assertTrue(wait_for(lambda: self.agent.metric("snug_node_allocatable_memory_bytes") == 1024 * MiB),
                        "node allocatable not read:\n" + self.agent.log())
        time.sleep(0.5)
        c.oom_kill()
        res = container_patch(self.wait_resized("tight")[0])
        # The OOM bump alone would be well above (+100Mi over the peak, at least).
        self.assertEqual(quantity(res["requests"]["memory"]), 274 * MiB, res)
        self.assertEqual(quantity(res["limits"]["memory"]), 274 * MiB, res)
        rec = [x for x in self.agent.recommendations()["containers"] if x["pod"] == "tight"][0]
        self.assertIn("node has only 274Mi memory left", rec["last_action"]["reason"])
        # The kubelet found it fits (a bigger bump would have stayed Deferred).
        self.assertTrue(wait_for(lambda: self.srv.get_pod("tight")["status"]["containerStatuses"][0]
                                 .get("resources", {}).get("limits", {}).get("memory") == "274Mi"))
        # Kept fresh: the kubelet restarted with less reserved.
        st, out = self.srv.request("PATCH", "/api/v1/nodes/node-1/status",
                                   {"status": {"allocatable": {"memory": "2Gi"}}},
                                   "application/strategic-merge-patch+json")
        self.assertEqual(st, 200, out)
        self.assertTrue(wait_for(lambda: self.agent.metric("snug_node_allocatable_memory_bytes") == 2048 * MiB),
                        "node allocatable not re-read:\n" + self.agent.log())

    def test_deferred_oom_grow_retried_as_a_limit_only_resize(self):
        # The agent cannot read its Node (a 503), so it asks for VPA's bumped request; the kubelet
        # (the fake, with the kubelet's own node-fit rule) defers it: 900Mi of the node's 1Gi are
        # taken. What snug wrote is put back (the kernel holds 128Mi again), and the kill is
        # decided again on the kubelet's values with no room: the limit alone grows (a Burstable
        # limit needs no node room), which the kubelet admits, and memory.max ends at that limit.
        self.srv.create_node("node-1", cpu="4", memory="1Gi")
        self.srv.fault(action="error", status=503, method="GET", path=r"/api/v1/nodes/node-1$", count=-1)
        self.srv.create_pod("neighbour", requests={"cpu": "100m", "memory": "900Mi"},
                            limits={"cpu": "100m", "memory": "900Mi"})
        c = self.oom_pod("leaky", mode="in-place", working_set=100 * MiB, memory_max=128 * MiB,
                         requests={"cpu": "100m", "memory": "64Mi"}, limits={"cpu": "500m", "memory": "128Mi"})
        self.tree.pod("leaky").write("memory.max", "%d\n" % (128 * MiB))
        self.start_then_oom_kill(c)
        first, second = self.wait_resized("leaky", n=2)[:2]
        q = quantity
        # VPA's answer to the kill: the peak sampled (100Mi, above the 64Mi request) + 100Mi as the
        # request, the limit kept at twice it.
        self.assertEqual(q(container_patch(first)["requests"]["memory"]), 200 * MiB, first)
        self.assertEqual(q(container_patch(first)["limits"]["memory"]), 400 * MiB, first)
        # Deferred: the request goes back where the kubelet has it (64Mi); the limit stays at the
        # 400Mi the spec already holds, so the patch names the request alone.
        self.assertEqual(container_patch(second), {"requests": {"memory": "64Mi"}}, second)
        self.assertTrue(wait_for(lambda: (self.agent.metric("snug_resizes_total", result="deferred") or 0) >= 1),
                        self.agent.log())
        self.assertTrue(wait_for(lambda: self.srv.get_pod("leaky")["status"]["containerStatuses"][0]
                                 .get("resources", {}).get("limits", {}).get("memory") == "400Mi"),
                        "the kubelet did not actuate the limit-only resize:\n" + self.agent.log())
        self.assertIn("the cgroups hold the kubelet's limits again", self.agent.log())
        self.assertIn("the limit alone grows", self.agent.log())
        self.assertEqual(int(c.read("memory.max")), 400 * MiB, self.agent.log())
        self.assertEqual(int(self.tree.pod("leaky").read("memory.max")), 400 * MiB, self.agent.log())

    def test_unreadable_node_leaves_grows_unclamped(self):
        # No Node object: the GET is a 404, so nothing is known about the node's room.
        self.srv.create_pod("neighbour", requests={"cpu": "100m", "memory": "750Mi"},
                            limits={"cpu": "100m", "memory": "750Mi"})
        c = self.oom_pod("loose", requests={"cpu": "200m", "memory": "256Mi"},
                         limits={"cpu": "200m", "memory": "256Mi"})
        self.start_agent()
        self.wait_tracked(1)
        self.assertTrue(wait_for(lambda: (self.agent.metric("snug_node_read_errors_total",
                                                            reason="not-found") or 0) >= 1),
                        "failed node read not counted:\n" + self.agent.log())
        self.assertIn("Cannot read node node-1", self.agent.log())
        self.assertIsNone(self.agent.metric("snug_node_allocatable_memory_bytes"))
        time.sleep(0.5)
        c.oom_kill()
        res = container_patch(self.wait_resized("loose")[0])
        self.assertGreaterEqual(quantity(res["limits"]["memory"]), 300 * MiB)

    # ---- modes -------------------------------------------------------------------------------

    def test_recommend_mode_only_reports(self):
        c = self.oom_pod("watched", mode="recommend")
        self.start_then_oom_kill(c)
        self.assertTrue(wait_for(lambda: events(self.srv, "Recommendation")),
                        "no Recommendation event:\n" + self.agent.log())
        self.assertEqual(resize_requests(self.srv), [])
        self.assertEqual(c.read("memory.max").strip(), "max")

    def test_dry_run_changes_nothing(self):
        c = self.oom_pod("dry", memory_max=256 * MiB)
        self.start_then_oom_kill(c, "--dry-run")
        self.assertTrue(wait_for(lambda: (self.agent.metric("snug_resizes_total", result="dry-run") or 0) >= 1),
                        "dry-run decision not counted:\n" + self.agent.log())
        self.assertEqual(resize_requests(self.srv), [])
        self.assertEqual(c.read("memory.max").strip(), str(256 * MiB))

    def test_bad_annotation_is_reported_and_pod_left_alone(self):
        self.make_pod("typo", annotations={"snug.io/mode": "sometimes", "snug.io/max-memory": "lots"},
                      requests={"cpu": "100m", "memory": "128Mi"}, limits={"cpu": "500m", "memory": "256Mi"})
        self.start_agent()
        ev = wait_for(lambda: events(self.srv, "InvalidAnnotation"))
        self.assertTrue(ev, "no InvalidAnnotation event:\n" + self.agent.log())
        self.assertIn("snug.io/mode", ev[0]["message"])
        self.assertEqual(ev[0]["involvedObject"]["name"], "typo")
        self.assertEqual(self.agent.metric("snug_bad_annotations_total", pod="typo"), 1)
        self.tree.container("typo").oom_kill()
        time.sleep(1.5)
        self.assertEqual(resize_requests(self.srv), [])
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
        req = quantity(res["requests"]["memory"])
        lim = quantity(res["limits"]["memory"])
        # VPA's floor is 250 MiB for a one-container pod; 40 MiB used + 15% is below it.
        self.assertEqual(req, 250 * MiB)
        # requests-and-limits: the limit keeps its 2:1 ratio to the request.
        self.assertEqual(lim, 500 * MiB)
        self.assertTrue(wait_for(lambda: c.read("memory.max").strip() == str(500 * MiB)),
                        "memory.max not lowered: " + c.read("memory.max"))
        rec = [x for x in self.agent.recommendations()["containers"] if x["pod"] == "idle"][0]
        self.assertEqual(rec["recommendation"]["target"]["memory_bytes"], 250 * MiB)
        self.assertIn("recommendation", rec["last_action"]["reason"])

    def test_empty_cgroup_first_does_not_hide_later_memory_peaks(self):
        # The agent often reads a container's cgroup before its process runs. VPA's model keeps a
        # 0 first peak for its whole 24 h interval, so that reading must not enter the history.
        self.make_pod("late", annotations={"snug.io/mode": "recommend"},
                      requests={"cpu": "100m", "memory": "512Mi"}, limits={"cpu": "500m", "memory": "1Gi"})
        c = self.tree.container("late")
        c.memory = 0
        c.write_memory()
        self.start_agent()
        self.wait_tracked(1)
        time.sleep(0.6)  # readings of the empty cgroup
        c.memory = 400 * MiB
        c.write_memory()

        def target():
            rec = [x for x in self.agent.recommendations()["containers"] if x["pod"] == "late"][0]
            return ((rec.get("recommendation") or {}).get("target") or {}).get("memory_bytes", 0)

        # 400 MiB + VPA's 15 % margin; with the 0 peak kept it would stay at the 250 MiB floor.
        self.assertTrue(wait_for(lambda: target() >= 400 * MiB, timeout=20),
                        "memory target %s ignores the 400 MiB working set:\n%s" % (target(), self.agent.log()))

    def test_min_history_is_observed_time_not_whole_cpu_minutes(self):
        # CPU samples are one per wall-clock minute, so their span reaches a few seconds only
        # after two minute boundaries (60-120 s); --min-history 3s must mean seconds of readings.
        self.make_pod("idle", annotations={"snug.io/mode": "auto"},
                      requests={"cpu": "100m", "memory": "1Gi"}, limits={"cpu": "500m", "memory": "2Gi"})
        c = self.tree.container("idle")
        c.memory = 40 * MiB
        c.write_memory()
        self.start_agent("--min-history", "3s")
        self.wait_tracked(1)
        got = wait_for(lambda: [r for r in resize_requests(self.srv, "idle") if r["status"] == 200],
                       timeout=40)
        self.assertTrue(got, "no recommendation-driven resize after --min-history 3s:\n" + self.agent.log())
        res = container_patch(got[0])
        self.assertEqual(quantity(res["requests"]["memory"]), 250 * MiB)
        rec = [x for x in self.agent.recommendations()["containers"] if x["pod"] == "idle"][0]
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
            return [r for r in resize_requests(self.srv, "burner") if r["status"] == 200]

        done = wait_for(burn, timeout=20, interval=0.2)
        self.assertTrue(done, "no CPU resize:\n" + self.agent.log())
        res = container_patch(done[0])
        limit = quantity(res["limits"]["cpu"])
        self.assertGreater(limit, 0.2)
        quota = int(limit * 100000 + 0.5)
        self.assertTrue(wait_for(lambda: c.read("cpu.max").split()[0] == str(quota)),
                        "cpu.max not raised: %s (want %d)" % (c.read("cpu.max"), quota))

    def throttle_until_resized(self, name, c):
        def burn():
            c.run(0.2, 0.2, throttled_fraction=0.8)
            return [r for r in resize_requests(self.srv, name) if r["status"] == 200]

        done = wait_for(burn, timeout=20, interval=0.2)
        self.assertTrue(done, "no CPU resize of %s:\n%s" % (name, self.agent.log()))
        return done

    def test_cpu_quota_left_alone_where_the_kubelet_keeps_none(self):
        # cpuCFSQuota: false (or exclusive CPUs): the kubelet leaves cpu.max at "max" though the
        # spec has a CPU limit. A resize of that limit writes no quota either.
        self.make_pod("noquota", annotations={"snug.io/mode": "in-place"},
                      requests={"cpu": "100m", "memory": "128Mi"}, limits={"cpu": "200m", "memory": "256Mi"})
        c, pod = self.tree.container("noquota"), self.tree.pod("noquota")
        c.write("cpu.max", "max 100000\n")
        pod.write("cpu.max", "max 100000\n")
        self.start_agent("--throttle-window", "1s")
        self.wait_tracked(1)
        self.throttle_until_resized("noquota", c)
        self.assertTrue(wait_for(lambda: "cpu.max left alone" in self.agent.log()), self.agent.log())
        self.assertEqual(c.read("cpu.max"), "max 100000\n")
        self.assertEqual(pod.read("cpu.max"), "max 100000\n")

    def test_container_weight_formula_learnt_once_per_node(self):
        # Guaranteed pods: a CPU limit raise moves the request too, so the container's cpu.weight
        # changes. Until a container shows which formula this node's runtime uses, snug writes
        # no container weight (the runtime does when the kubelet actuates); once one shows it
        # (runc 1.1.5's linear formula: 200m = 204 shares -> weight 8, the log one would be 29),
        # every container gets that formula: 300m = 307 shares -> 12 (the log formula: 40).
        g = {"requests": {"cpu": "200m", "memory": "128Mi"}, "limits": {"cpu": "200m", "memory": "128Mi"}}
        self.make_pod("unknown", annotations={"snug.io/mode": "in-place"}, **g)
        self.make_pod("teacher", annotations={"snug.io/mode": "in-place"}, **g)
        self.make_pod("pupil", annotations={"snug.io/mode": "in-place"}, **g)
        unknown, teacher, pupil = (self.tree.container(n) for n in ("unknown", "teacher", "pupil"))
        teacher.write("cpu.weight", "8\n")
        self.start_agent("--throttle-window", "1s")
        self.wait_tracked(3)
        self.throttle_until_resized("unknown", unknown)
        time.sleep(0.5)
        # 100 (the fake's default) fits neither formula for 200m: unknown, left as it is.
        self.assertEqual(unknown.read("cpu.weight"), "100\n",
                         "container weight written before the node's formula was known")
        self.throttle_until_resized("teacher", teacher)
        self.assertTrue(wait_for(lambda: teacher.read("cpu.weight").strip() == "12"), teacher.read("cpu.weight"))
        self.throttle_until_resized("pupil", pupil)
        self.assertTrue(wait_for(lambda: pupil.read("cpu.weight").strip() == "12"), self.agent.log())

    def test_throttled_twice_second_resize_waits_for_the_kubelet(self):
        # The first resize's limits go into the cgroups before the kubelet admits them; until it
        # does, no second resize stacks more on top. The kubelet here takes 3 s to admit (then as
        # long again to actuate); without the wait the second resize would follow ~1 s after the
        # first (one throttle window). The second builds on the first's 300m.
        self.srv.kubelet(mode="apply", delay=3.0)
        self.make_pod("burner", annotations={"snug.io/mode": "in-place"},
                      requests={"cpu": "100m", "memory": "128Mi"}, limits={"cpu": "200m", "memory": "256Mi"})
        c = self.tree.container("burner")
        c.write("cpu.max", "20000 100000\n")
        self.start_agent("--throttle-window", "1s")
        self.wait_tracked(1)

        def burn():
            c.run(0.2, 0.2, throttled_fraction=0.8)
            return len([r for r in resize_requests(self.srv, "burner") if r["status"] == 200]) >= 2

        self.assertTrue(wait_for(burn, timeout=25, interval=0.2), "no second resize:\n" + self.agent.log())
        first, second = [r for r in resize_requests(self.srv, "burner") if r["status"] == 200][:2]
        limits = [quantity(container_patch(r)["limits"]["cpu"]) for r in (first, second)]
        self.assertAlmostEqual(limits[0], 0.3)
        self.assertAlmostEqual(limits[1], 0.45, msg="second resize not based on the first's 300m")
        self.assertGreaterEqual(second["mono"] - first["mono"], 2.9,
                                "second resize sent before the kubelet admitted the first:\n" + self.agent.log())
        rec = [x for x in self.agent.recommendations()["containers"] if x["pod"] == "burner"][0]
        self.assertEqual(rec["last_action"]["result"], "accepted")

    def test_recommendation_waits_until_the_kubelet_actuated_a_signal_resize(self):
        # Throttling raises the CPU limit; the recommendation (ready 3 s in: --min-history) wants
        # the idle container's memory down. The kubelet takes 3 s to admit the raise and 3 s more
        # to actuate it. A second resize before the actuation would supersede the first while the
        # kernel still has the kubelet's old limits (make demo's grower was OOM-killed again at
        # its old pod limit that way): the recommendation waits for the actuation (~6 s after the
        # raise), not only for the admission (~3 s), and leaves the raised CPU limit alone.
        self.srv.kubelet(mode="apply", delay=3.0)
        self.make_pod("idle", annotations={"snug.io/mode": "in-place"},
                      requests={"cpu": "100m", "memory": "1Gi"}, limits={"cpu": "200m", "memory": "2Gi"},
                      working_set=40 * MiB)
        c = self.tree.container("idle")
        c.write("cpu.max", "20000 100000\n")
        self.start_agent("--throttle-window", "1s", "--min-history", "3s")
        self.wait_tracked(1)

        def accepted():
            return [r for r in resize_requests(self.srv, "idle") if r["status"] == 200]

        def burn():
            c.run(0.2, 0.2, throttled_fraction=0.8)
            return accepted()

        self.assertTrue(wait_for(burn, timeout=10, interval=0.2), "throttling not resized:\n" + self.agent.log())
        self.assertTrue(wait_for(lambda: len(accepted()) >= 2, timeout=30),
                        "no recommendation after the raise:\n" + self.agent.log())
        first, second = accepted()[:2]
        raised = quantity(container_patch(first)["limits"]["cpu"])
        self.assertGreater(raised, 0.2, "first resize is not the throttling raise: %s" % patch_body(first))
        self.assertEqual(quantity(container_patch(second)["requests"]["memory"]), 250 * MiB,
                         "second resize is not the memory recommendation: %s" % patch_body(second))
        self.assertGreaterEqual(second["mono"] - first["mono"], 5.5,
                                "recommendation sent %.1f s after the raise, before the kubelet actuated it:\n%s"
                                % (second["mono"] - first["mono"], self.agent.log()))
        spec = self.srv.get_pod("idle")["spec"]["containers"][0]["resources"]
        self.assertEqual(quantity(spec["limits"]["cpu"]), raised, "the recommendation undid the raise")

    def test_node_oom_kill_is_not_a_small_limit(self):
        # A kill the kernel made for the node (a global OOM counts `oom_kill` in the victim's
        # cgroup but no `oom` event: no memcg limit was hit) says nothing about the container's
        # limit: no resize, a Warning Event saying why, and the cause counted.
        c = self.oom_pod("bystander", mode="in-place")
        self.start_agent()
        self.wait_tracked(1)
        time.sleep(0.5)
        c.events["oom_kill"] += 1
        c.write_events()
        self.assertTrue(wait_for(lambda: (self.agent.metric("snug_oom_kill_causes_total", cause="node") or 0) >= 1),
                        "kill not classified as the node's:\n" + self.agent.log())
        ev = wait_for(lambda: events(self.srv, "OOMKillNotContainerLimit"))
        self.assertTrue(ev, "no OOMKillNotContainerLimit Event:\n" + self.agent.log())
        self.assertIn("node", ev[0]["message"])
        time.sleep(1)
        self.assertEqual(resize_requests(self.srv, "bystander"), [], self.agent.log())
        # The same container then hits its own limit: that one is resized.
        c.oom_kill()
        self.wait_resized("bystander")
        self.assertEqual(self.agent.metric("snug_oom_kill_causes_total", cause="container-limit"), 1)

    def test_api_only_leaves_the_cgroups_to_the_kubelet(self):
        # --api-only: the resize goes through the API, no cgroup file is written by snug.
        c = self.oom_pod("apionly", mode="in-place", memory_max=256 * MiB)
        self.start_then_oom_kill(c, "--api-only")
        self.wait_resized("apionly")
        time.sleep(0.5)
        self.assertEqual(int(c.read("memory.max")), 256 * MiB, self.agent.log())

    def test_restarted_container_is_not_a_leak(self):
        # A restart puts the container in a new cgroup that starts near its old usage at once. That
        # jump from the old cgroup's last reading is not growth: read as a rate it would project a
        # leak and grow the limit for a container sitting flat (the real node tier saw 132Mi ->
        # 187Mi for a container flat at 96 MiB after its restart).
        self.srv.kubelet(mode="off")
        self.make_pod("restarter", annotations={"snug.io/mode": "in-place"}, working_set=20 * MiB,
                      requests={"cpu": "100m", "memory": "128Mi"}, limits={"cpu": "500m", "memory": "256Mi"})
        self.start_agent()
        self.wait_tracked(1)
        time.sleep(1)
        new_id = "%064x" % 0xabcdef
        st, out = self.srv.request("PATCH", "/api/v1/namespaces/default/pods/restarter/status",
                                   {"status": {"containerStatuses": [{"name": "app", "restartCount": 1,
                                                                       "containerID": "containerd://" + new_id}]}},
                                   "application/strategic-merge-patch+json")
        self.assertEqual(st, 200, out)
        c = FakeCgroup(os.path.join(os.path.dirname(self.tree.container("restarter").path), new_id))
        c.memory = 230 * MiB  # 90 % of the limit: under the 95 % that is pressure as measured
        c.write_memory()
        c.write("memory.max", "%d\n" % (256 * MiB))
        self.assertTrue(wait_for(lambda: new_id in json.dumps(self.agent.recommendations())), self.agent.log())
        time.sleep(2)
        self.assertEqual(resize_requests(self.srv, "restarter"), [], self.agent.log())

    def test_reads_only_what_it_uses(self):
        # Each tick reads cpu.stat, memory.current, memory.stat, memory.max and the PSI files (kept
        # open), and nothing the daemon does not use: memory.peak is read at an OOM kill only.
        c = self.oom_pod("reader", mode="in-place")
        self.start_agent()
        self.wait_tracked(1)
        time.sleep(0.5)
        fd_dir = "/proc/%d/fd" % self.agent.proc.pid
        opened = set()
        for fd in os.listdir(fd_dir):
            try:
                target = os.readlink(os.path.join(fd_dir, fd))
            except OSError:
                continue
            if target.startswith(c.path + "/"):
                opened.add(os.path.basename(target))
        self.assertTrue({"cpu.stat", "memory.current", "memory.stat", "memory.max", "cpu.pressure",
                         "memory.pressure"} <= opened, opened)
        self.assertFalse(opened & {"memory.peak", "memory.events"}, opened)

    # ---- pressure stall (PSI) -----------------------------------------------------------------

    def stall(self, c, seconds, share, step=0.2):
        """Plays memory.pressure for `seconds`: `share` of each step's wall time stalled (some and
        full alike, one task), the totals growing as the kernel's do."""
        total = getattr(c, "psi_total", 0)
        end = time.time() + seconds
        while time.time() < end:
            total += int(step * share * 1e6)
            c.write("memory.pressure", "some avg10=%.2f avg60=0.00 avg300=0.00 total=%d\n"
                    "full avg10=%.2f avg60=0.00 avg300=0.00 total=%d\n" % (share * 100, total, share * 100, total))
            time.sleep(step)
        c.psi_total = total

    def test_memory_stall_at_the_limit_raises_it(self):
        # A page-cache thrasher: usage at its 256Mi limit, working set 50 MiB, 40 % of the time
        # stalled on memory. The stall alone raises the limit, and the reason gives the figures.
        c = self.oom_pod("thrash", mode="in-place", working_set=250 * MiB)
        c.inactive_file = 200 * MiB
        c.write_memory()
        self.start_agent("--psi-window", "2s")
        self.wait_tracked(1)
        self.stall(c, 4, 0.4)
        res = container_patch(self.wait_resized("thrash")[0])
        self.assertGreater(quantity(res["limits"]["memory"]), 256 * MiB)
        note = wait_for(lambda: json.loads(self.srv.get_pod("thrash")["metadata"].get("annotations", {})
                                           .get("snug.io/last-resize", "null")))
        m = re.match(r"memory-pressure: memory stall \(PSI\) some ([0-9.]+)%, full ([0-9.]+)% over \d+s while usage "
                     r"250Mi of 256Mi", (note or {}).get("reason", ""))
        self.assertTrue(m, note)
        self.assertTrue(30 <= float(m.group(1)) <= 45, note)

    def test_memory_stall_far_below_the_limit_is_left_alone(self):
        # The same stall with usage at 100 MiB of 256Mi is the node's reclaim: no resize.
        c = self.oom_pod("quiet", mode="in-place", working_set=100 * MiB)
        c.inactive_file = 50 * MiB
        c.write_memory()
        self.start_agent("--psi-window", "2s")
        self.wait_tracked(1)
        self.stall(c, 4, 0.4)
        self.assertEqual(resize_requests(self.srv, "quiet"), [], self.agent.log())

    def test_memory_shrink_held_while_the_container_stalls(self):
        # Over-provisioned (1Gi request, 40 MiB used): the recommendation shrinks it, but not while
        # the window shows memory stall; once the stall is a window behind, it does.
        self.make_pod("held", annotations={"snug.io/mode": "auto"},
                      requests={"cpu": "100m", "memory": "1Gi"}, limits={"cpu": "500m", "memory": "2Gi"})
        c = self.tree.container("held")
        c.memory = 40 * MiB
        c.write_memory()
        # The stall runs from before the agent starts, so no decision ever sees a quiet window.
        staller = threading.Thread(target=self.stall, args=(c, 4, 0.01), daemon=True)
        staller.start()
        time.sleep(0.5)
        self.start_agent("--min-history", "0", "--psi-window", "2s", "--log-level", "debug")
        self.wait_tracked(1)
        staller.join()

        def memory_resizes():
            return [container_patch(r) for r in resize_requests(self.srv, "held")
                    if r["status"] == 200 and "memory" in container_patch(r).get("requests", {})]
        # (CPU may shrink meanwhile: the stall holds memory only.)
        self.assertEqual(memory_resizes(), [], self.agent.log())
        self.assertIn("shrink held, memory stall (PSI) some", self.agent.log())
        res = wait_for(memory_resizes)  # once the stall is a window behind
        self.assertTrue(res, "memory never shrunk after the stall:\n" + self.agent.log())
        self.assertLess(quantity(res[0]["requests"]["memory"]), 1024 * MiB)

    # ---- startup CPU boost ---------------------------------------------------------------------

    def start_boosted(self, name, **ann):
        """A pod created Pending (no container yet) with a startup boost; the agent started; the
        boost's resize awaited. Returns that resize's resources."""
        ann = dict({"snug.io/mode": "in-place"}, **ann)
        self.srv.create_pod(name, running=False, annotations=ann, requests={"cpu": "100m", "memory": "64Mi"},
                            limits={"cpu": "200m", "memory": "128Mi"})
        self.start_agent()
        return container_patch(self.wait_resized(name)[0])

    def run_container(self, name):
        """The kubelet starts the container (Running and Ready), with its cgroups."""
        pod = self.srv.set_running(name)
        self.tree.add_pod(pod)
        c = self.tree.container(name)
        res = pod["spec"]["containers"][0]["resources"]
        for d in (c, self.tree.pod(name)):
            d.write("cpu.max", "%d 100000\n" % (quantity(res["limits"]["cpu"]) * 100000))
        return c

    def test_startup_boost_until_ready(self):
        # 4x the CPU limit from before the container starts (a pending pod's resize is taken by the
        # API server, and the kubelet starts the container with it), the request too (no node
        # known: no room to hold it); back to 200m/100m once Ready.
        res = self.start_boosted("starter", **{"snug.io/startup-cpu-boost": "4x"})
        self.assertEqual(res, {"limits": {"cpu": "800m"}, "requests": {"cpu": "400m"}})
        self.run_container("starter")
        back = self.wait_resized("starter", 2)[1]
        # (Ready came with the container here, before the agent tracked its cgroup: the kubelet
        # writes cpu.max then; the real node tier shows snug writing it back itself.)
        self.assertEqual(container_patch(back), {"limits": {"cpu": "200m"}, "requests": {"cpu": "100m"}})
        note = json.loads(self.srv.get_pod("starter")["metadata"]["annotations"]["snug.io/last-resize"])
        self.assertEqual(note["kind"], "startup-boost-over")
        self.assertTrue(note["reason"].startswith("startup-boost over: cpu limit 800m -> 200m"), note)
        time.sleep(1)
        self.assertEqual(len([r for r in resize_requests(self.srv, "starter") if r["status"] == 200]), 2,
                         "resized again after the boost:\n" + self.agent.log())

    def test_startup_boost_after_a_conflict(self):
        # The kubelet writes a starting pod's status often: the boost's resize meets a 409 (the pod
        # stored again since the agent read it). The boost is sent again on the pod read back, not
        # taken as given (before, the container started unboosted and the agent waited for its
        # Ready to give back a boost it never had).
        self.srv.fault(action="touch", path=r"/pods/touched/resize$", count=1)
        res = self.start_boosted("touched", **{"snug.io/startup-cpu-boost": "4x"})
        self.assertEqual(res, {"limits": {"cpu": "800m"}, "requests": {"cpu": "400m"}})
        self.assertEqual([r["status"] for r in resize_requests(self.srv, "touched")], [409, 200])

    def test_startup_boost_for_a_time(self):
        # "+1" for 2 s, Ready or not: the return comes from the timer.
        res = self.start_boosted("timed", **{"snug.io/startup-cpu-boost": "+1",
                                             "snug.io/startup-cpu-boost-until": "2s"})
        self.assertEqual(res["limits"], {"cpu": "1200m"})
        t0 = time.time()
        self.run_container("timed")  # Ready at once: not what this boost waits for
        time.sleep(1)
        self.assertEqual(len([r for r in resize_requests(self.srv, "timed") if r["status"] == 200]), 1)
        back = self.wait_resized("timed", 2)[1]
        self.assertGreaterEqual(time.time() - t0, 1.0)
        self.assertEqual(container_patch(back)["limits"], {"cpu": "200m"})

    def test_startup_boost_survives_an_agent_restart(self):
        # The agent restarts between the boost and the container's start (a DaemonSet rollout
        # while an image is pulled): the restarted agent neither boosts the boosted values again
        # (4x of 800m) nor forgets what to give back. The boost and the values before it are in
        # snug.io/last-resize; once Ready the container gets 200m/100m back.
        res = self.start_boosted("restarted", **{"snug.io/startup-cpu-boost": "4x"})
        self.assertEqual(res, {"limits": {"cpu": "800m"}, "requests": {"cpu": "400m"}})

        def note():
            return json.loads(self.srv.get_pod("restarted")["metadata"]["annotations"]["snug.io/last-resize"])

        self.assertTrue(wait_for(lambda: "snug.io/last-resize" in self.srv.get_pod("restarted")["metadata"]
                                 .get("annotations", {})), self.agent.log())
        boost = note()["cooldowns"]["app"]["boost"]
        self.assertEqual((boost["cpu_request"], boost["cpu_limit"]), (100, 200))
        self.assertEqual(self.agent.stop(), 0)
        self.start_agent()
        time.sleep(1.5)
        self.assertEqual(len([r for r in resize_requests(self.srv, "restarted") if r["status"] == 200]), 1,
                         "boosted again after the restart:\n" + self.agent.log())
        self.run_container("restarted")
        back = self.wait_resized("restarted", 2)[1]
        self.assertEqual(container_patch(back), {"limits": {"cpu": "200m"}, "requests": {"cpu": "100m"}},
                         self.agent.log())
        self.assertIn("restarted app: startup boost given", self.agent.log())
        self.assertTrue(wait_for(lambda: note()["kind"] == "startup-boost-over"), self.agent.log())
        self.assertNotIn("boost", note()["cooldowns"]["app"], "the boost given back is still held")

    def test_startup_boost_not_for_a_running_container(self):
        # Running before the agent saw it (an agent restart): no boost.
        self.make_pod("old", annotations={"snug.io/mode": "in-place", "snug.io/startup-cpu-boost": "2x"},
                      requests={"cpu": "100m", "memory": "64Mi"}, limits={"cpu": "200m", "memory": "128Mi"})
        self.start_agent()
        self.wait_tracked(1)
        time.sleep(1)
        self.assertEqual(resize_requests(self.srv, "old"), [], self.agent.log())

    def test_kubelet_silent_limits_put_back(self):
        # A kubelet that never answers (down, or not watching): after --admission-timeout the
        # limits snug wrote are put back to what the kubelet actuated, and a Warning says so.
        self.srv.kubelet(mode="off")
        c = self.oom_pod("silent", mode="in-place", memory_max=256 * MiB)
        self.start_then_oom_kill(c, "--admission-timeout", "2s")
        self.wait_resized("silent")
        self.assertTrue(wait_for(lambda: int(c.read("memory.max")) > 256 * MiB),
                        "memory.max not raised at once:\n" + self.agent.log())
        self.assertTrue(wait_for(lambda: int(c.read("memory.max")) == 256 * MiB, timeout=10),
                        "memory.max not put back:\n" + self.agent.log())
        self.assertTrue(wait_for(lambda: events(self.srv, "ResizeNotAdmitted")),
                        "no ResizeNotAdmitted Event:\n" + self.agent.log())
        self.assertTrue(wait_for(lambda: (self.agent.metric("snug_resizes_total", result="reverted") or 0) >= 1))

    # ---- the API server misbehaves -----------------------------------------------------------

    def test_api_errors_then_back_one_resize(self):
        c = self.oom_pod("flaky")
        self.srv.fault(action="error", status=503, path=r"/pods/flaky/resize", count=3)
        self.start_then_oom_kill(c)
        self.wait_resized("flaky")
        time.sleep(2)
        attempts = resize_requests(self.srv, "flaky")
        self.assertEqual([r["status"] for r in attempts], [503, 503, 503, 200],
                         "decision lost or duplicated:\n" + self.agent.log())

    def conflicting_pressure_resize(self, name, touches):
        """A memory-pressure resize of `name` whose first `touches` attempts meet another writer: the
        fake server rewrites the pod (a kubelet status write) just before the resize is served, so the
        resize, made with the resourceVersion the agent read, gets a 409. Samples are 12 s apart and
        periodic decisions an hour: a retry within a few seconds of the 409 is the same decision's.
        Returns the resize statuses seen in the 8 s after the first one."""
        self.make_pod(name, annotations={"snug.io/mode": "in-place"}, memory_max=256 * MiB,
                      working_set=250 * MiB, **self.BURSTABLE)
        self.srv.fault(action="touch", path=r"/pods/%s/resize$" % name, count=touches)
        self.start_agent("--sample-interval", "12s", "--decide-interval", "1h")
        self.wait_tracked(1)
        self.assertTrue(wait_for(lambda: resize_requests(self.srv, name), timeout=40),
                        "no pressure resize:\n" + self.agent.log())
        statuses = lambda: [r["status"] for r in resize_requests(self.srv, name)]  # noqa: E731
        wait_for(lambda: len(statuses()) > touches, timeout=8)
        return statuses()

    def last_action(self, name):
        rec = [x for x in self.agent.recommendations()["containers"] if x["pod"] == name][0]
        return rec.get("last_action") or {}

    def test_conflict_with_another_writer_is_resized_in_the_same_decision(self):
        # The 409 is followed at once by a read of the pod and the resize made on it, not left to
        # the next sample; the precondition is kept (the retry carries the newer resourceVersion).
        self.assertEqual(self.conflicting_pressure_resize("busy", 1), [409, 200], self.agent.log())
        first, second = resize_requests(self.srv, "busy")
        rv = lambda r: int(patch_body(r)["metadata"]["resourceVersion"])  # noqa: E731
        self.assertGreater(rv(second), rv(first))
        self.assertGreater(quantity(container_patch(second)["limits"]["memory"]),
                           256 * MiB)
        self.assertTrue(wait_for(lambda: self.last_action("busy").get("result") == "accepted"),
                        "last action: %s\n%s" % (self.last_action("busy"), self.agent.log()))
        self.assertIn("pressure", self.last_action("busy")["reason"])

    def test_second_conflict_is_left_to_the_next_decision(self):
        # Read back once, not in a loop: a second 409 is recorded and waits for the next sample.
        self.assertEqual(self.conflicting_pressure_resize("contested", 2), [409, 409], self.agent.log())
        self.assertEqual(self.last_action("contested").get("result"), "conflict")

    def test_last_resize_annotation_shows_the_newest_of_two_close_resizes(self):
        # Two OOM resizes in a row; the first one's snug.io/last-resize write is slow to arrive. The
        # annotation (the cooldown a restarted agent keeps) must end up describing the second.
        c = self.oom_pod("twice", mode="in-place")
        self.srv.fault(action="delay", delay=3, method="PATCH", path=r"/pods/twice$", count=1)
        self.start_then_oom_kill(c)
        self.wait_resized("twice")
        c.oom_kill()
        second = self.wait_resized("twice", 2)[1]
        limit = container_patch(second)["limits"]["memory"]

        def annotation_patches():
            return [r for r in self.srv.requests()
                    if r["method"] == "PATCH" and r["path"].endswith("/pods/twice") and r["status"] == 200]
        self.assertTrue(wait_for(lambda: len(annotation_patches()) >= 2, timeout=20),
                        "annotation writes missing:\n" + self.agent.log())
        time.sleep(0.5)  # any write still on its way lands
        ann = json.loads(self.srv.get_pod("twice")["metadata"]["annotations"]["snug.io/last-resize"])
        self.assertEqual(ann["reason"], self.last_action("twice")["reason"], self.agent.log())
        self.assertIn(str(quantity(limit) // MiB), ann["reason"])

    def annotation_patches(self, name):
        return [r for r in self.srv.requests() if r["method"] == "PATCH" and r["path"].endswith("/pods/" + name)]

    def test_last_resize_annotation_is_retried_after_a_transient_failure(self):
        # The first snug.io/last-resize write meets a 503: it is sent again (after a second), so the
        # cooldown still outlives an agent restart.
        c = self.oom_pod("flaky", mode="in-place")
        self.srv.fault(action="error", status=503, method="PATCH", path=r"/pods/flaky$", count=1)
        self.start_then_oom_kill(c)
        self.wait_resized("flaky")
        self.assertTrue(wait_for(lambda: [r for r in self.annotation_patches("flaky") if r["status"] == 200],
                                 timeout=15), "annotation not written after the 503:\n" + self.agent.log())
        self.assertEqual([r["status"] for r in self.annotation_patches("flaky")], [503, 200])
        ann = json.loads(self.srv.get_pod("flaky")["metadata"]["annotations"]["snug.io/last-resize"])
        self.assertEqual(ann["container"], "app")
        self.assertEqual(ann["reason"], self.last_action("flaky")["reason"], self.agent.log())

    def test_last_resize_annotation_is_not_retried_when_forbidden(self):
        c = self.oom_pod("denied", mode="in-place")
        self.srv.fault(action="error", status=403, method="PATCH", path=r"/pods/denied$", count=1)
        self.start_then_oom_kill(c)
        self.wait_resized("denied")
        self.assertTrue(wait_for(lambda: self.annotation_patches("denied")), self.agent.log())
        time.sleep(2.5)  # a retry would come after 1 s
        self.assertEqual([r["status"] for r in self.annotation_patches("denied")], [403], self.agent.log())

    def test_infeasible_resize_is_reported(self):
        c = self.oom_pod("huge", mode="in-place")
        self.srv.kubelet(mode="infeasible", infeasible_message="Node didn't have enough capacity")
        self.start_then_oom_kill(c)
        self.wait_resized("huge")
        self.assertTrue(wait_for(lambda: (self.agent.metric("snug_resizes_total", result="infeasible") or 0) >= 1),
                        "Infeasible not seen:\n" + self.agent.log())
        ev = wait_for(lambda: events(self.srv, "ResizeNotApplied"))
        self.assertIn("enough capacity", ev[0]["message"])
        # The limit snug wrote before the kubelet answered is put back: the kernel holds what
        # the kubelet actuated (the spec's 256Mi), not the refused value.
        self.assertTrue(wait_for(lambda: c.read("memory.max").strip() == str(256 * MiB)),
                        "memory.max not put back: %s\n%s" % (c.read("memory.max"), self.agent.log()))

    def test_error_resize_keeps_the_admitted_values(self):
        # PodResizeInProgress/Error: the kubelet allocated the new values (admitted them) and failed
        # to actuate them; it retries, and a container that stopped meanwhile starts again with them.
        # The values snug wrote stay: putting 256Mi back would leave the pod below what the kubelet
        # starts the next container with (the real node tier found that crash loop).
        c = self.oom_pod("erring", mode="in-place")
        self.srv.kubelet(mode="error", error_message="cannot update a stopped container")
        self.start_then_oom_kill(c)
        self.wait_resized("erring")
        self.assertTrue(wait_for(lambda: (self.agent.metric("snug_resizes_total", result="error") or 0) >= 1),
                        "Error not seen:\n" + self.agent.log())
        ev = wait_for(lambda: events(self.srv, "ResizeNotApplied"))
        self.assertIn("stopped container", ev[0]["message"])
        self.assertIn("keep the admitted values", ev[0]["message"])
        time.sleep(1)
        self.assertGreater(int(c.read("memory.max")), 256 * MiB,
                           "memory.max put back after an Error:\n" + self.agent.log())
        self.assertFalse(self.agent.metric("snug_resizes_total", result="reverted"), self.agent.log())

    def test_stop_while_requests_are_held_frees_them(self):
        # SIGTERM while the server holds a resize, a snug.io/last-resize write and the pod read that
        # follows a 409, and while another pod's last-resize write waits to be retried: the agent exits
        # 0, and (under `make SANITIZE=1 check-agent-api`) LeakSanitizer finds none of those contexts
        # left behind.
        pods = {n: self.oom_pod(n, mode="in-place") for n in ("held-resize", "held-note", "held-read", "failing")}
        self.srv.fault(action="error", status=503, method="PATCH", path=r"/pods/failing$", count=10)
        self.srv.fault(action="delay", delay=30, method="PATCH", path=r"/pods/held-resize/resize$", count=1)
        self.srv.fault(action="delay", delay=30, method="PATCH", path=r"/pods/held-note$", count=1)
        self.srv.fault(action="touch", path=r"/pods/held-read/resize$", count=1)
        self.srv.fault(action="delay", delay=30, method="GET", path=r"/pods/held-read$", count=1)
        self.start_agent()
        self.wait_tracked(4)
        time.sleep(0.5)
        for c in pods.values():
            c.oom_kill()
        self.wait_resized("held-note")
        self.assertTrue(wait_for(lambda: self.annotation_patches("failing")), self.agent.log())
        self.assertTrue(wait_for(lambda: [r for r in resize_requests(self.srv, "held-read")
                                          if r["status"] == 409]), "no 409:\n" + self.agent.log())
        self.assertTrue(wait_for(lambda: "Resizing default/held-resize" in self.agent.log()), self.agent.log())
        time.sleep(1)  # the annotation write and the read after the 409 are on their way
        log_path = self.agent.log_path
        self.assertEqual(self.agent.stop(), 0, self.agent.log())
        self.agent = None
        with open(log_path, "rb") as f:
            out = f.read().decode("utf-8", "replace")
        self.assertNotIn("LeakSanitizer", out)
        self.assertNotIn("AddressSanitizer", out)

    # ---- restarts ----------------------------------------------------------------------------

    def test_restart_keeps_history_and_does_not_resize_again(self):
        self.start_then_oom_kill(self.oom_pod("keeper"))
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
        self.assertEqual(len(resize_requests(self.srv, "keeper")), 1, "resized again after restart")

    def test_bypass_budget_spent_warns_once_and_survives_a_restart(self):
        # Issue 13, defect 3: a leak that always reaches its limit was followed without end, each
        # grow bypassing the cooldown. With --bypass-budget 2: the first grow (no cooldown yet) and
        # two inside the cooldown; then kills wait for the cooldown, with one Warning Event and one
        # count per spend. The budget's state rides in snug.io/last-resize across a restart.
        c = self.oom_pod("leaker", mode="in-place", memory_max=256 * MiB)

        def accepted():
            return len([r for r in resize_requests(self.srv, "leaker") if r["status"] == 200])

        def last_resize():
            ann = self.srv.get_pod("leaker")["metadata"].get("annotations", {}).get("snug.io/last-resize")
            return json.loads(ann) if ann else {}

        self.start_then_oom_kill(c, "--bypass-budget", "2")
        self.wait_resized("leaker", 1)
        for n in (2, 3):
            time.sleep(0.5)
            c.oom_kill()
            self.wait_resized("leaker", n)
        self.assertTrue(wait_for(lambda: len(last_resize().get("bypass_grows", {}).get("app", [])) == 2),
                        "budget state not in the annotation: %s\n%s" % (last_resize(), self.agent.log()))
        time.sleep(0.5)
        c.oom_kill()
        self.assertTrue(wait_for(lambda: events(self.srv, "BypassBudgetSpent")),
                        "no BypassBudgetSpent Event:\n" + self.agent.log())
        self.assertTrue(wait_for(lambda: self.agent.metric("snug_bypass_budget_spent_total") == 1))
        ev = events(self.srv, "BypassBudgetSpent")[0]
        self.assertEqual(ev["type"], "Warning")
        self.assertIn("waits for the cooldown", ev["message"])
        time.sleep(1.5)  # periodic decisions hold the kill; another kill is held too
        c.oom_kill()
        time.sleep(1.5)
        self.assertEqual(accepted(), 3, "grew past the budget:\n" + self.agent.log())
        self.assertEqual(self.agent.metric("snug_bypass_budget_spent_total"), 1, "reported twice")

        self.assertEqual(self.agent.stop(), 0)
        self.start_agent("--bypass-budget", "2")
        self.wait_tracked(1)
        time.sleep(0.5)
        c.oom_kill()
        self.assertTrue(wait_for(lambda: self.agent.metric("snug_bypass_budget_spent_total") == 1),
                        "budget not restored after the restart:\n" + self.agent.log())
        time.sleep(1)
        self.assertEqual(accepted(), 3, "the restart gave the budget back:\n" + self.agent.log())

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


class V133Test(AgentBase):
    """A 1.33 server refuses lowering a memory limit (resizePolicy NotRequired); 1.34+ allows it."""
    version = "1.33"

    def test_shrink_keeps_the_memory_limit_after_the_refusal(self):
        self.make_pod("idle", annotations={"snug.io/mode": "auto"}, requests={"cpu": "100m", "memory": "1Gi"},
                      limits={"cpu": "500m", "memory": "2Gi"}, memory_max=2048 * MiB, working_set=40 * MiB)
        c = self.tree.container("idle")
        self.start_agent("--min-history", "0")
        self.wait_tracked(1)
        res = container_patch(self.wait_resized("idle")[0])
        self.assertEqual(quantity(res["requests"]["memory"]), 250 * MiB)
        self.assertNotIn("memory", res.get("limits", {}), "the memory limit was lowered again")
        # One refusal taught it; no cooldown was waited, no Warning left behind.
        self.assertEqual([r["status"] for r in resize_requests(self.srv, "idle")][:2], [422, 200])
        self.assertEqual(events(self.srv, "ResizeRejected"), [])
        self.assertEqual(c.read("memory.max").strip(), str(2048 * MiB))
        self.assertEqual(self.srv.get_pod("idle")["spec"]["containers"][0]["resources"]["limits"]["memory"], "2Gi")


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

    def evictions(self):
        return [r for r in self.srv.requests() if r["method"] == "POST" and r["path"].endswith("/eviction")]

    def requests_of(self, pred):
        return [r for r in self.srv.requests() if pred(r)]

    def test_auto_mode_writes_history_then_asks_for_the_eviction(self):
        # The agent does not evict (no grant): it writes its node's WorkloadHistory entry of the
        # workload, then the label and annotation snug.io/eviction-requested on its own pod; no owner
        # is written. snug-webhook evicts (test_webhook_api.py).
        owner = self.make_rs("web", 3)
        self.start_then_oom_kill(self.oom_pod("web-1", owner=owner, labels={"app": "web"}))
        asked = wait_for(lambda: (self.srv.get_pod("web-1")["metadata"].get("labels") or {})
                         .get("snug.io/eviction-requested"), timeout=20)
        self.assertEqual(asked, "true", "no eviction request:\n" + self.agent.log())
        pod = self.srv.get_pod("web-1")
        req = json.loads(pod["metadata"]["annotations"]["snug.io/eviction-requested"])
        self.assertEqual(req["node"], "node-1")
        self.assertEqual(req["containers"][0]["name"], "app")
        self.assertGreater(quantity(req["containers"][0]["limits"]["memory"]), 256 * MiB)
        # No PATCH can work on 1.26: the client knows from discovery and does not send one.
        self.assertEqual([r for r in resize_requests(self.srv) if r["status"] == 200], [])
        self.assertTrue(events(self.srv, "ResizeNotSupported"))
        self.assertTrue(wait_for(lambda: events(self.srv, "SnugEvictionRequested")))
        # this node's history entry of ReplicaSet web was written before the request
        log = self.srv.requests()
        hist = [i for i, r in enumerate(log) if r["method"] in ("PATCH", "POST") and "/workloadhistories" in r["path"]
                and r["status"] in (200, 201)]
        ask = [i for i, r in enumerate(log) if r["method"] == "PATCH" and r["path"].endswith("/pods/web-1")
               and "eviction-requested" in json.dumps(r.get("body") or "")]
        self.assertTrue(hist, "no WorkloadHistory write: %s" % [(r["method"], r["path"], r["status"]) for r in log])
        self.assertTrue(ask, "the request PATCH is not in the log")
        self.assertLess(hist[0], ask[0], "the history entry was written after the request")
        st, entries = self.srv.request("GET", "/apis/snug.io/v1alpha1/namespaces/default/workloadhistories")
        mine = [e for e in entries["items"] if e["spec"]["nodeName"] == "node-1"
                and e["spec"]["workload"]["name"] == "web"]
        self.assertTrue(mine and mine[0]["spec"]["containers"][0]["name"] == "app", entries)
        self.assertTrue(wait_for(lambda: (self.agent.metric("snug_evictions_total", result="requested") or 0) >= 1))
        # and the agent itself never evicts nor writes an owner
        time.sleep(1)
        self.assertEqual(self.evictions(), [])
        self.assertEqual(self.requests_of(lambda r: r["method"] != "GET" and "/replicasets" in r["path"]
                                          and (r.get("user_agent") or "").startswith("snug")), [])
        self.assertEqual(self.srv.get_pod("web-1")["metadata"].get("deletionTimestamp"), None)
        st, rs = self.srv.request("GET", "/apis/apps/v1/namespaces/default/replicasets/web")
        self.assertNotIn("snug.io/recommendation", rs["metadata"].get("annotations") or {})

    def test_bare_pod_is_never_evicted(self):
        self.start_then_oom_kill(self.oom_pod("bare"))
        self.assertTrue(wait_for(lambda: events(self.srv, "ResizeNotSupported")),
                        "no ResizeNotSupported event:\n" + self.agent.log())
        time.sleep(1)
        self.assertEqual(self.evictions(), [])
        self.assertNotIn("snug.io/eviction-requested", self.srv.get_pod("bare")["metadata"].get("labels") or {})

    def test_in_place_mode_never_evicts(self):
        owner = self.make_rs("db", 3)
        self.start_then_oom_kill(self.oom_pod("db-1", mode="in-place", owner=owner, labels={"app": "db"}))
        self.assertTrue(wait_for(lambda: events(self.srv, "ResizeNotSupported")))
        time.sleep(1)
        self.assertEqual(self.evictions(), [])
        self.assertNotIn("snug.io/eviction-requested", self.srv.get_pod("db-1")["metadata"].get("labels") or {})


class SidecarTest(AgentBase):
    """Native sidecars (init containers with restartPolicy Always, issue 15): tracked, resized in place
    under spec.initContainers like app containers; an ordinary init container never."""

    def sidecar_pod(self, name, annotations=None):
        """app 100m/128Mi -> 500m/256Mi, then init containers `setup` (ordinary, finished) and `proxy`
        (a sidecar, same resources); every container's cgroup at 256Mi with a 200Mi working set, the
        pod's at the kubelet's value max(app + proxy, setup) = 512Mi."""
        res = dict(self.BURSTABLE)
        inits = [{"name": "setup", "image": "registry.example/setup:1", "resources": res},
                 {"name": "proxy", "image": "registry.example/proxy:1", "restartPolicy": "Always", "resources": res}]
        self.make_pod(name, annotations=annotations or {"snug.io/mode": "auto"}, init_containers=inits, **res)
        for cname in ("app", "setup", "proxy"):
            c = self.tree.container(name, cname)
            c.write("memory.max", "%d\n" % (256 * MiB))
            c.memory = 200 * MiB
            c.write_memory()
        self.tree.pod(name).write("memory.max", "%d\n" % (512 * MiB))

    def patched(self, req, key):
        return {c["name"]: c["resources"] for c in patch_body(req)["spec"].get(key) or []}

    def test_sidecar_oom_resized_under_init_containers_plain_init_never(self):
        self.sidecar_pod("mesh")
        self.start_agent()
        self.wait_tracked(2)
        time.sleep(0.5)
        recs = {x["container"]: x for x in self.agent.recommendations()["containers"] if x["pod"] == "mesh"}
        self.assertEqual(set(recs), {"app", "proxy"}, "the ordinary init container is not tracked")
        self.assertTrue(recs["proxy"]["sidecar"] and not recs["app"]["sidecar"])
        self.assertTrue(recs["proxy"]["tracked"])
        # A kill in the finished init container's cgroup changes nothing; one in the sidecar's grows it.
        self.tree.container("mesh", "setup").oom_kill()
        time.sleep(1)
        self.assertEqual(resize_requests(self.srv, "mesh"), [], self.agent.log())
        proxy = self.tree.container("mesh", "proxy")
        proxy.oom_kill()
        req = self.wait_resized("mesh")[0]
        self.assertNotIn("containers", patch_body(req)["spec"], "the sidecar was patched as an app container")
        res = self.patched(req, "initContainers")
        self.assertEqual(set(res), {"proxy"})
        limit = quantity(res["proxy"]["limits"]["memory"])
        self.assertGreaterEqual(limit, 300 * MiB, self.agent.log())  # VPA's bump over the 200Mi peak
        pod = self.srv.get_pod("mesh")
        spec = {c["name"]: c["resources"] for c in pod["spec"]["initContainers"]}
        self.assertEqual(quantity(spec["proxy"]["limits"]["memory"]), limit)
        self.assertEqual(spec["setup"], self.BURSTABLE)
        self.assertEqual(pod["spec"]["containers"][0]["resources"], self.BURSTABLE)
        # The kernel: the sidecar's cgroup and the pod's, the kubelet's sum app + proxy.
        self.assertTrue(wait_for(lambda: proxy.read("memory.max").strip() == str(limit)),
                        "sidecar memory.max not written: %s" % proxy.read("memory.max"))
        self.assertEqual(self.tree.pod("mesh").read("memory.max").strip(), str(256 * MiB + limit))
        self.assertEqual(self.tree.container("mesh", "setup").read("memory.max").strip(), str(256 * MiB))
        ann = json.loads(wait_for(lambda: self.srv.get_pod("mesh")["metadata"].get("annotations", {})
                                  .get("snug.io/last-resize")))
        self.assertEqual(ann["container"], "proxy")
        # The kubelet simulator admitted and actuated it: no revert, no warning.
        self.assertTrue(wait_for(lambda: [x for x in self.agent.recommendations()["containers"]
                                          if x["container"] == "proxy"][0]["last_action"]["result"] == "accepted"))
        self.assertEqual(events(self.srv, "ResizeNotApplied"), [])

    def test_containers_annotation_can_name_the_sidecar(self):
        self.sidecar_pod("named", annotations={"snug.io/mode": "auto", "snug.io/containers": "proxy"})
        self.start_agent()
        self.wait_tracked(2)
        time.sleep(0.5)
        self.tree.container("named", "app").oom_kill()
        time.sleep(1)
        self.assertEqual(resize_requests(self.srv, "named"), [], "app is not in snug.io/containers")
        self.tree.container("named", "proxy").oom_kill()
        req = self.wait_resized("named")[0]
        self.assertEqual(set(self.patched(req, "initContainers")), {"proxy"})
        self.assertEqual(self.patched(req, "containers"), {})

class AgentHpaTest(AgentBase):
    """A 1.36 server with HorizontalPodAutoscalers: a request an HPA divides by is never changed; the
    limit still grows, and the pod is told once."""

    def make_hpa(self, name, target_kind, target_name, metrics):
        return self.srv.create({"apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler",
                                "metadata": {"name": name},
                                "spec": {"scaleTargetRef": {"apiVersion": "apps/v1", "kind": target_kind,
                                                            "name": target_name},
                                         "maxReplicas": 5, "metrics": metrics}})

    @staticmethod
    def utilization(resource, container=None):
        if container:
            return {"type": "ContainerResource", "containerResource": {
                "name": resource, "container": container,
                "target": {"type": "Utilization", "averageUtilization": 60}}}
        return {"type": "Resource", "resource": {"name": resource,
                                                 "target": {"type": "Utilization", "averageUtilization": 60}}}

    def deployment_pod(self, name, deployment, pod_hash="7c9d8f6b5d", **kw):
        """A pod of Deployment `deployment`: owned by its ReplicaSet <deployment>-<hash>, labelled with
        the hash, as the Deployment controller makes them."""
        owner = {"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "%s-%s" % (deployment, pod_hash),
                 "uid": "5b0e9a52-8c1e-4d8e-9d6a-%012d" % len(name), "controller": True}
        return self.make_pod(name, owner=owner, labels={"app": deployment, "pod-template-hash": pod_hash}, **kw)

    def test_cpu_utilization_hpa_keeps_the_cpu_request_and_raises_the_limit(self):
        self.make_hpa("web", "Deployment", "web", [self.utilization("cpu")])
        # request = limit on CPU: without the HPA the request would follow the raised limit
        self.deployment_pod("web-1", "web", annotations={"snug.io/mode": "in-place"},
                            requests={"cpu": "200m", "memory": "128Mi"}, limits={"cpu": "200m", "memory": "256Mi"})
        c = self.tree.container("web-1")
        c.write("cpu.max", "20000 100000\n")
        self.start_agent("--throttle-window", "1s")
        self.wait_tracked(1)

        def burn():
            c.run(0.2, 0.2, throttled_fraction=0.8)
            return [r for r in resize_requests(self.srv, "web-1") if r["status"] == 200]

        done = wait_for(burn, timeout=20, interval=0.2)
        self.assertTrue(done, "no CPU resize:\n" + self.agent.log())
        res = container_patch(done[0])
        self.assertGreater(quantity(res["limits"]["cpu"]), 0.2)
        st, pod = self.srv.request("GET", "/api/v1/namespaces/default/pods/web-1")
        app = pod["spec"]["containers"][0]["resources"]
        self.assertEqual(app["requests"]["cpu"], "200m", self.agent.log())
        ev = wait_for(lambda: events(self.srv, "RequestKeptForHPA"))
        self.assertTrue(ev, "no RequestKeptForHPA Event:\n" + self.agent.log())
        self.assertIn("HorizontalPodAutoscaler web scales on cpu utilization", ev[0]["message"])
        self.assertEqual(ev[0]["involvedObject"]["name"], "web-1")
        rec = [x for x in self.agent.recommendations()["containers"] if x["pod"] == "web-1"][0]
        self.assertEqual(rec["requests_kept_for_hpa"], {"cpu": "web"})
        # One LIST of the namespace's HPAs, from the watch cache; never a watch.
        lists = [r for r in self.srv.requests() if r["method"] == "GET" and "/horizontalpodautoscalers" in r["path"]]
        self.assertEqual(len(lists), 1, lists)
        self.assertEqual(lists[0]["status"], 200)
        self.assertNotIn("watch", json.dumps(lists[0].get("query") or {}))

    def test_memory_utilization_hpa_keeps_the_memory_request_on_an_oom_kill(self):
        # On the StatefulSet itself, on the container by name (ContainerResource); another HPA in the
        # namespace on CPU AverageValue reads no request and holds nothing.
        self.make_hpa("db", "StatefulSet", "db", [self.utilization("memory", container="app")])
        self.make_hpa("other", "StatefulSet", "db", [{"type": "Resource", "resource": {
            "name": "cpu", "target": {"type": "AverageValue", "averageValue": "300m"}}}])
        owner = {"apiVersion": "apps/v1", "kind": "StatefulSet", "name": "db",
                 "uid": "5b0e9a52-8c1e-4d8e-9d6a-000000000001", "controller": True}
        self.start_then_oom_kill(self.oom_pod("db-0", mode="in-place", owner=owner, labels={"app": "db"}))
        done = self.wait_resized("db-0")
        res = container_patch(done[0])
        self.assertGreater(quantity(res["limits"]["memory"]), 256 * MiB)
        self.assertNotIn("memory", res.get("requests") or {}, res)
        st, pod = self.srv.request("GET", "/api/v1/namespaces/default/pods/db-0")
        self.assertEqual(pod["spec"]["containers"][0]["resources"]["requests"]["memory"], "128Mi")
        self.assertTrue(wait_for(lambda: events(self.srv, "RequestKeptForHPA")),
                        "no RequestKeptForHPA Event:\n" + self.agent.log())
        rec = [x for x in self.agent.recommendations()["containers"] if x["pod"] == "db-0"][0]
        self.assertEqual(rec["requests_kept_for_hpa"], {"memory": "db"})

    def test_without_a_matching_hpa_requests_move_as_before(self):
        # An HPA on another Deployment whose name starts alike holds nothing of this one.
        self.make_hpa("web", "Deployment", "web", [self.utilization("memory")])
        self.deployment_pod("webshop-1", "webshop", annotations={"snug.io/mode": "in-place"}, working_set=200 * MiB,
                            requests={"cpu": "100m", "memory": "128Mi"}, limits={"cpu": "500m", "memory": "256Mi"})
        self.start_then_oom_kill(self.tree.container("webshop-1"))
        res = container_patch(self.wait_resized("webshop-1")[0])
        self.assertGreater(quantity(res["requests"]["memory"]), 128 * MiB)
        self.assertEqual(events(self.srv, "RequestKeptForHPA"), [])
        rec = [x for x in self.agent.recommendations()["containers"] if x["pod"] == "webshop-1"][0]
        self.assertNotIn("requests_kept_for_hpa", rec)


class SharedHistoryTest(AgentBase):
    """The workload history shared through WorkloadHistory entries (snug.io/v1alpha1): a node writes
    its own entry of each workload and decides on the merge of every node's (docs/shared-history.md)."""

    HIST = "/apis/snug.io/v1alpha1/namespaces/default/workloadhistories"
    CPU_FIRST, MEM_FIRST, RATIO = 0.01, 1e7, 1.05

    @staticmethod
    def workload_key(kind, name):
        h = 0xcbf29ce484222325
        for b in ("%s/%s" % (kind, name)).encode():
            h = ((h ^ b) * 0x100000001b3) & 0xFFFFFFFFFFFFFFFF
        return "%016x" % h

    @classmethod
    def bucket(cls, v, first):
        return int(math.floor(math.log(v * (cls.RATIO - 1) / first + 1) / math.log(cls.RATIO)))

    @classmethod
    def bucket_end(cls, b, first):
        return first * (cls.RATIO ** (b + 1) - 1) / (cls.RATIO - 1)

    def entry(self, node, cpu_cores, memory_bytes, kind="Deployment", name="web"):
        """Another node's entry as that node's agent writes it: two days of history, one CPU and one
        memory bucket (VPA's checkpoint form: the largest bucket 10000, the total weight apart)."""
        now = time.time()
        day = 86400
        iso = lambda t: time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t))  # noqa: E731
        ref = iso(now - now % day)
        hist = lambda b, w: {"referenceTimestamp": ref, "totalWeight": w, "numBuckets": 176,  # noqa: E731
                             "bucketWeights": {str(b): 10000}}
        key = self.workload_key(kind, name)
        return {"apiVersion": "snug.io/v1alpha1", "kind": "WorkloadHistory",
                "metadata": {"name": "%s.%s" % (key, node), "namespace": "default",
                             "labels": {"snug.io/workload": key, "snug.io/node": node}},
                "spec": {"nodeName": node, "workload": {"apiVersion": "apps/v1", "kind": kind, "name": name},
                         "containers": [{"name": "app", "firstSampleStart": iso(now - 2 * day),
                                         "lastSampleStart": iso(now - 600), "totalSamplesCount": 2880,
                                         "cpuHistogram": hist(self.bucket(cpu_cores, self.CPU_FIRST), 288.0),
                                         "memoryHistogram": hist(self.bucket(memory_bytes, self.MEM_FIRST), 20.0)}]}}

    def replica(self, name, tree=None, node="node-1", mode="auto", working_set=100 * MiB):
        rs = "web-6d4cf56db6"
        pod = self.srv.create_pod(name, node=node, annotations={"snug.io/mode": mode},
                                  labels={"app": "web", "pod-template-hash": "6d4cf56db6"},
                                  owner={"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": rs,
                                         "uid": "5c0ffee0-0000-4000-8000-00000000abcd", "controller": True},
                                  requests={"cpu": "100m", "memory": "128Mi"},
                                  limits={"cpu": "200m", "memory": "256Mi"})
        tree = tree or self.tree
        tree.add_pod(pod)
        c = tree.container(name)
        c.memory = working_set
        c.write_memory()
        return c

    def entries(self):
        st, body = self.srv.request("GET", self.HIST)
        return body.get("items", []) if st == 200 else []

    def test_oom_kill_does_not_wait_for_the_history_list(self):
        # A LIST that hangs (20 s here) must not hold the OOM reaction: every decision of a new
        # workload once waited for its first LIST. (The CI failure on kubelet 1.33 that was first
        # blamed on this was oomwatch losing the kills of containers that die before they are
        # tracked, test_oomwatch_bpf.c; this wait was a defect all the same.)
        self.srv.fault(action="delay", delay=20, path=r"/workloadhistories", method="GET", count=5)
        c = self.oom_pod("stuck", mode="in-place", memory_max=256 * MiB)
        self.start_then_oom_kill(c, "--history-interval", "1s")
        t0 = time.time()
        req = self.wait_resized("stuck")[0]
        self.assertLess(time.time() - t0, 10, self.agent.log())
        self.assertGreater(quantity(container_patch(req)["limits"]["memory"]), 256 * MiB)

    def test_new_replica_starts_from_the_merged_history(self):
        # node-9 ran web for two days at 2 cores and 1 GiB; a stale entry under this node's own name
        # (8 cores) is this node's past and never counted twice. The replica on this node resizes on
        # its first decision to the merged target, though --min-history is 1h and it has seconds.
        for e in (self.entry("node-9", 2.0, 1 << 30), self.entry("node-1", 8.0, 4 << 30)):
            self.srv.create(e)
        self.replica("web-6d4cf56db6-abcde")
        self.start_agent("--history-interval", "1s")
        got = self.wait_resized("web-6d4cf56db6-abcde")[0]
        res = container_patch(got)
        # VPA's estimator: the P90 bucket's end as an int64 amount, plus 15% of it truncated.
        margin = lambda v: v + int(v * 0.15)  # noqa: E731
        want_cpu = margin(int(self.bucket_end(self.bucket(2.0, self.CPU_FIRST), self.CPU_FIRST) * 1000))
        want_mem = margin(int(self.bucket_end(self.bucket(1 << 30, self.MEM_FIRST), self.MEM_FIRST)))
        self.assertEqual(round(quantity(res["requests"]["cpu"]) * 1000), want_cpu, self.agent.log())
        self.assertAlmostEqual(quantity(res["requests"]["memory"]), want_mem, delta=want_mem * 0.001)
        # And this node's own entry: created (the PATCH found none), labelled, owned by nothing
        # here (the fake has no Node), its container's history in it.
        key = self.workload_key("Deployment", "web")

        def own():
            e = [x for x in self.entries() if x["metadata"]["name"] == "%s.node-1" % key]
            return e and e[0]["spec"].get("updateTime") and e[0]
        e = wait_for(own, timeout=10)
        self.assertTrue(e, "no entry written:\n" + self.agent.log())
        self.assertEqual(e["metadata"]["labels"], {"app.kubernetes.io/managed-by": "snug",
                                                   "snug.io/workload": key, "snug.io/node": "node-1"})
        self.assertEqual(e["spec"]["nodeName"], "node-1")
        self.assertEqual(e["spec"]["workload"], {"apiVersion": "apps/v1", "kind": "Deployment", "name": "web"})
        self.assertEqual([c["name"] for c in e["spec"]["containers"]], ["app"])
        # The other node's entry is left as it was.
        other = [x for x in self.entries() if x["spec"]["nodeName"] == "node-9"][0]
        self.assertEqual(other["spec"]["containers"][0]["totalSamplesCount"], 2880)
        lists = [r for r in self.srv.requests() if r["method"] == "GET" and r["path"] == self.HIST
                 and "snug-agent" in (r.get("user_agent") or "")]
        one = lambda v: v[0] if isinstance(v, list) else v  # noqa: E731
        self.assertTrue(lists and all(one(r["query"].get("labelSelector")) == "snug.io/workload=" + key and
                                      one(r["query"].get("limit")) == "100" for r in lists), lists[:1])

    def test_two_nodes_converge_on_one_recommendation(self):
        # Replicas of web on node-1 (300 MiB) and node-2 (900 MiB), recommend mode: each node's
        # target starts from its own peak and both end on the merge of the two.
        tree2 = FakeTree(os.path.join(self.dir, "cgroup2"))
        self.replica("web-6d4cf56db6-aaaaa", mode="recommend", working_set=300 * MiB)
        self.replica("web-6d4cf56db6-bbbbb", tree=tree2, node="node-2", mode="recommend", working_set=900 * MiB)
        self.start_agent("--history-interval", "1s")
        agent2 = Agent(self.srv, tree2.root, os.path.join(self.dir, "state2"), node="node-2",
                       args=FAST + ["--history-interval", "1s"])
        agent2.start()
        try:
            def targets():
                out = []
                for ag, pod in ((self.agent, "web-6d4cf56db6-aaaaa"), (agent2, "web-6d4cf56db6-bbbbb")):
                    c = [x for x in ag.recommendations()["containers"] if x["pod"] == pod]
                    out.append(c and c[0].get("recommendation", {}).get("target", {}).get("memory_bytes"))
                return out
            want = (lambda b: b + int(b * 0.15))(int(self.bucket_end(self.bucket(900 * MiB, self.MEM_FIRST),
                                                                     self.MEM_FIRST)))
            same = wait_for(lambda: targets()[0] and targets()[0] == targets()[1] and targets(), timeout=20)
            self.assertTrue(same, "targets %s differ:\n%s\n%s" % (targets(), self.agent.log(), agent2.log()))
            self.assertAlmostEqual(same[0], want, delta=want * 0.001)
            self.assertEqual(sorted(x["spec"]["nodeName"] for x in self.entries()), ["node-1", "node-2"])
        finally:
            self.assertEqual(agent2.stop(), 0)

    def test_entries_spread_over_the_interval(self):
        # docs/history-scale.md: a node that sends a PATCH and a LIST for every workload at once
        # is the burst the real API server fell behind on at 200 nodes. Three workloads here, a
        # 6 s interval: their entries go out about 2 s apart, each within the interval.
        for i, name in enumerate(("api", "db", "cache")):
            pod = self.srv.create_pod(
                "%s-6d4cf56db6-abcd%d" % (name, i), annotations={"snug.io/mode": "recommend"},
                labels={"app": name, "pod-template-hash": "6d4cf56db6"}, owner={"apiVersion": "apps/v1", "kind": "ReplicaSet",
                                             "name": "%s-6d4cf56db6" % name,
                                             "uid": "5c0ffee0-0000-4000-8000-00000000abc%d" % i,
                                             "controller": True},
                requests={"cpu": "100m", "memory": "128Mi"}, limits={"cpu": "200m", "memory": "256Mi"})
            self.tree.add_pod(pod)
            c = self.tree.container(pod["metadata"]["name"])
            c.memory = 100 * MiB
            c.write_memory()
        self.srv.clear_requests()
        self.start_agent("--history-interval", "6s")
        keys = {self.workload_key("Deployment", n): n for n in ("api", "db", "cache")}

        def first_writes():
            firsts = {}
            for r in self.srv.requests():
                if r["method"] != "PATCH" or not r["path"].startswith(self.HIST + "/"):
                    continue
                key = r["path"].rsplit("/", 1)[1].split(".")[0]
                firsts.setdefault(key, r["mono"])
            return len(firsts) == 3 and firsts
        firsts = wait_for(first_writes, timeout=20)
        self.assertTrue(firsts, "not every workload's entry was written:\n" + self.agent.log())
        self.assertEqual(sorted(firsts), sorted(keys))
        times = sorted(firsts.values())
        # One tick per workload, 2 s apart: the first to the last write is about 4 s, never a burst.
        self.assertGreater(times[-1] - times[0], 2.5, "entries written in a burst: %s" % firsts)
        self.assertGreater(min(b - a for a, b in zip(times, times[1:])), 1.0, firsts)


if __name__ == "__main__":
    main("agent-api")
