"""The live half of the deploy tier: `snug-agent run` (through tests/lib/snugtest) against the
fake API server and a fake cgroup tree, driven through what the dashboard shows (a managed pod with
usage, an OOM kill and the resize it causes, a pod with a bad annotation), on a server with the
resize subresource (1.36) and one where resources change by spec patch (1.30). Returns the metric
families seen on /metrics and the agent's requests from the server's log (/_fake/requests)."""

import os
import time

from snugtest.agent import Agent
from snugtest.cgtree import FakeTree
from snugtest.fakeserver import FakeApiServer
from snugtest.harness import wait_for
from snugtest.units import MiB


def families(text):
    fams = set()
    for line in text.splitlines():
        if line.startswith("# TYPE "):
            fams.add(line.split()[2])
        elif line and not line.startswith("#"):
            fams.add(line.split("{")[0].split(" ")[0])
    return fams


def scenario(repo, version, workdir):
    srv = FakeApiServer(version=version, workdir=os.path.join(workdir, "srv-" + version))
    os.makedirs(srv.dir, exist_ok=True)
    srv.start()
    agent = None
    try:
        tree = FakeTree(os.path.join(workdir, "cgroup-" + version))
        srv.kubelet(mode="apply", delay=0.1)
        pod = srv.create_pod("grower", annotations={"snug.io/mode": "auto"},
                             requests={"cpu": "100m", "memory": "128Mi"},
                             limits={"cpu": "500m", "memory": "256Mi"})
        tree.add_pod(pod)
        bad = srv.create_pod("typo", annotations={"snug.io/mode": "sometimes"},
                             requests={"cpu": "100m", "memory": "64Mi"})
        tree.add_pod(bad)
        c = tree.container("grower")
        c.write("memory.max", "%d\n" % (256 * MiB))
        c.memory = 250 * MiB
        c.write_memory()
        agent = Agent(srv, tree.root, os.path.join(workdir, "state-" + version),
                      args=["--sample-interval", "200ms", "--decide-interval", "500ms", "--min-history", "0"])
        agent.start()
        wait_for(lambda: (agent.metric("snug_tracked_containers") or 0) >= 1, 20)
        for _ in range(5):
            c.run(0.2, 0.3)
            time.sleep(0.2)
        c.oom_kill()
        wait_for(lambda: agent.metric("snug_resizes_total") and agent.metric("snug_oom_to_resize_seconds_count"), 20)
        wait_for(lambda: agent.metric("snug_recommendation_cpu_cores"), 20)
        text = agent.metrics()
        reqs = [r for r in srv.requests() if (r.get("user_agent") or "").startswith("snug")]
        return families(text), reqs, text
    finally:
        if agent:
            agent.stop()
        srv.cleanup()


def fallback_scenario(repo, driver, workdir):
    """The eviction fallback's node side (agent/fallback.c) through its driver: a ReplicaSet's pod
    asked for (label and annotation on it), nothing evicted; returns the client's requests."""
    import json
    import subprocess
    srv = FakeApiServer(version="1.36", workdir=os.path.join(workdir, "srv-fallback"))
    os.makedirs(srv.dir, exist_ok=True)
    srv.start()
    try:
        rs = srv.create({"apiVersion": "apps/v1", "kind": "ReplicaSet",
                         "metadata": {"name": "web", "namespace": "default"},
                         "spec": {"replicas": 3, "selector": {"matchLabels": {"app": "web"}},
                                  "template": {"metadata": {"labels": {"app": "web"}},
                                               "spec": {"containers": [{"name": "app", "image": "app:1"}]}}}})
        owner = {"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "web",
                 "uid": rs["metadata"]["uid"], "controller": True}
        srv.create_pod("web-a", labels={"app": "web"}, owner=owner,
                       requests={"cpu": "100m", "memory": "128Mi"})
        out = subprocess.run([driver, "--kubeconfig", srv.kubeconfig(), "--node", "node-1",
                              "--rec", "app:300m:200Mi", "--pod", "default/web-a",
                              "--backoff-min-ms", "200", "--backoff-max-ms", "400", "--run-ms", "4000"],
                             capture_output=True, text=True, timeout=60)
        st = json.loads(out.stdout)
        assert st.get("requested") == 1, "fallback driver: %s %s" % (out.stdout, out.stderr[-2000:])
        labels = srv.get_pod("web-a")["metadata"].get("labels", {})
        assert labels.get("snug.io/eviction-requested") == "true", "no eviction request: %s" % labels
        return [r for r in srv.requests() if (r.get("user_agent") or "").startswith("snug")]
    finally:
        srv.cleanup()


def run(repo, workdir):
    import shutil
    shutil.rmtree(workdir, ignore_errors=True)
    os.makedirs(workdir)
    fams, reqs, texts = set(), [], []
    for version in ("1.36", "1.30"):
        f, r, text = scenario(repo, version, workdir)
        fams |= f
        reqs += r
        texts.append(text)
        with open(os.path.join(workdir, "metrics-%s.txt" % version), "w") as out:
            out.write(text)
    assert reqs, "the fake API server logged no request from the agent"
    driver = os.path.join(repo, "build/tests/fallback-driver")
    fb = 0
    if os.path.exists(driver):
        r = fallback_scenario(repo, driver, workdir)
        fb = len(r)
        reqs += r
    shutil.rmtree(workdir, ignore_errors=True)
    return {"families": fams, "requests": reqs, "texts": texts,
            "summary": "%d metric families, %d agent requests (1.36 + 1.30), %d from the eviction "
                       "fallback" % (len(fams), len(reqs) - fb, fb) if fb else
                       "%d metric families, %d agent requests (1.36 + 1.30); NO fallback-driver built, "
                       "eviction calls not exercised" % (len(fams), len(reqs))}
