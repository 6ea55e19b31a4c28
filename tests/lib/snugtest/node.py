"""The base of the harnesses' nodes. Each tier has its own Node (what plays the kubelet and the API
server differs: tests/README.md), and all of them are a kubelet-style cgroup tree plus the snug-agent
process managing it; what they share lives here: where a pod's cgroups are, and the agent's start,
stop, log and HTTP endpoints."""

import json
import os
import time

from snugtest import cgtree
from snugtest.agent import http_get, metric_sum


class Node:
    """A node named `name` whose cgroups are under cgroup_root, laid out by the kubelet's `driver`
    ("cgroupfs" or "systemd"); `agent` is the AgentProcess managing it, once started."""

    def __init__(self, cgroup_root, driver="cgroupfs", name="node-1"):
        self.cgroup_root = cgroup_root
        self.driver = driver
        self.name = name
        self.agent = None
        self.agent_port = None
        self.agent_log_path = None
        self.agent_http_timeout = 10

    # --- the kubelet's cgroups ------------------------------------------------------------------
    def pod_cgroup(self, pod):
        """The pod cgroup the kubelet made for `pod` (from its UID and QoS class)."""
        return cgtree.pod_cgroup(pod, self.driver, self.cgroup_root)

    def ctr_cgroup(self, pod, name):
        """The cgroup of container `name` of `pod`, None before the pod status gives its id."""
        cid = cgtree.container_id(pod, name)
        if not cid:
            return None
        return os.path.join(self.pod_cgroup(pod), cgtree.container_cgroup_name(cid, self.driver))

    # --- snug -----------------------------------------------------------------------------------
    def run_agent(self, agent):
        """Starts `agent` (an AgentProcess) as this node's agent; returns once it is ready."""
        self.agent = agent
        self.agent_port = agent.port
        self.agent_log_path = agent.log_path
        self.agent_http_timeout = agent.http_timeout
        return agent.start()

    def stop_agent(self):
        """SIGTERM; the agent's exit status, None when it was not running (an agent that had died
        already did not exit cleanly on SIGTERM)."""
        rc = self.agent.stop() if self.agent and self.agent.running() else None
        self.agent = None
        return rc

    def agent_log(self, tail=8000):
        """The end of the agent's log (also once it has stopped)."""
        if not self.agent_log_path:
            return ""
        try:
            with open(self.agent_log_path, "rb") as f:
                return f.read().decode("utf-8", "replace")[-tail:]
        except OSError:
            return ""

    def http(self, path):
        """(status, body) of GET path on the agent's listener; OSError when nothing answers."""
        return http_get(self.agent_port, path, self.agent_http_timeout)

    def metric(self, name, **labels):
        """The sum of the series of `name` whose labels include `labels`, None when there is none."""
        return metric_sum(self.http("/metrics")[1], name, **labels)

    def recommendations(self):
        """The containers of /recommendations ([] unless it answers 200)."""
        st, body = self.http("/recommendations")
        return json.loads(body).get("containers", []) if st == 200 else []

    def wait_tracked(self, n, timeout=60, interval=0.2):
        """Waits until the agent samples n containers (snug_tracked_containers); RuntimeError with its
        log when it does not within timeout seconds (a bound, not a timing check)."""
        deadline = time.time() + timeout
        while time.time() < deadline:
            if (self.metric("snug_tracked_containers") or 0) >= n:
                return
            time.sleep(interval)
        raise RuntimeError("snug-agent tracks fewer than %d containers:\n%s" % (n, self.agent_log()))
