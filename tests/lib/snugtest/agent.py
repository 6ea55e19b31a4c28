"""snug-agent as a child process of a harness: started with a command line, ready once /readyz answers
200, stopped with SIGTERM; its log, /metrics and /recommendations. Agent is `snug-agent run` on a fake
cgroup tree against an API server (the fake one, or a real one in the envtest tier)."""

import http.client
import json
import os
import signal
import socket
import subprocess
import time

from snugtest import REPO

AGENT = os.environ.get("SNUG_AGENT", os.path.join(REPO, "build", "snug-agent"))
# Recommendations wait for an hour of history, so only the signal under test acts; tests that want
# recommendations lower it.
FAST = ["--sample-interval", "200ms", "--decide-interval", "500ms", "--min-history", "1h"]


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def agent_command(binary, node, kubeconfig, cgroup_root, state_dir, port):
    """The start of every harness's `snug-agent run` command line; the caller appends its flags."""
    return [binary, "run", "--node-name", node, "--kubeconfig", kubeconfig, "--cgroup-root", cgroup_root,
            "--state-dir", state_dir, "--listen", "127.0.0.1:%d" % port]


def http_get(port, path, timeout=5):
    """(status, body) of GET http://127.0.0.1:port/path; OSError when nothing answers."""
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        c.request("GET", path)
        r = c.getresponse()
        return r.status, r.read().decode()
    finally:
        c.close()


def metric_sum(text, name, **labels):
    """The sum of the samples of `name` in a Prometheus text exposition whose labels include `labels`;
    None when there is none."""
    total = None
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        key, _, value = line.rpartition(" ")
        mname, _, lab = key.partition("{")
        if mname != name:
            continue
        if all(('%s="%s"' % (k, v)) in lab for k, v in labels.items()):
            total = (total or 0) + float(value)
    return total


class AgentProcess:
    """`cmd` (a snug-agent listening on 127.0.0.1:port), its output appended to log_path. The timeouts
    are bounds for a slow machine (the VM runs under TCG), not timing checks."""

    def __init__(self, cmd, port, log_path, ready_timeout=20, ready_poll=0.05, stop_timeout=15, http_timeout=5):
        self.cmd = list(cmd)
        self.port = port
        self.log_path = log_path
        self.ready_timeout = ready_timeout
        self.ready_poll = ready_poll
        self.stop_timeout = stop_timeout
        self.http_timeout = http_timeout
        self.proc = None
        self._log = None

    def start(self, wait_ready=True):
        """Starts the process; with wait_ready, returns once /readyz answers 200 (RuntimeError, with the
        log, when it exits or is not ready in time)."""
        self._log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(self.cmd, stdout=self._log, stderr=subprocess.STDOUT)
        if not wait_ready:
            return self
        deadline = time.time() + self.ready_timeout
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("snug-agent exited %s:\n%s" % (self.proc.returncode, self.log()))
            try:
                if self.get("/readyz")[0] == 200:
                    return self
            except OSError:
                pass
            time.sleep(self.ready_poll)
        raise RuntimeError("snug-agent not ready after %g s:\n%s" % (self.ready_timeout, self.log()))

    @property
    def pid(self):
        return self.proc.pid

    def running(self):
        return self.proc is not None and self.proc.poll() is None

    def stop(self):
        """SIGTERM, then SIGKILL after stop_timeout; the exit status (the earlier one when it had exited
        already, None when it was never started)."""
        rc = None
        if self.running():
            self.proc.send_signal(signal.SIGTERM)
            try:
                rc = self.proc.wait(self.stop_timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                rc = self.proc.wait()
        elif self.proc:
            rc = self.proc.returncode
        self.proc = None
        if self._log:
            self._log.close()
            self._log = None
        return rc

    def log(self, tail=8000):
        try:
            with open(self.log_path, "rb") as f:
                return f.read().decode("utf-8", "replace")[-tail:]
        except OSError:
            return ""

    def get(self, path):
        return http_get(self.port, path, self.http_timeout)

    def metrics(self):
        st, body = self.get("/metrics")
        if st != 200:
            raise RuntimeError("/metrics -> %d" % st)
        return body

    def metric(self, name, **labels):
        """Sum of the samples of `name` whose labels include `labels`."""
        return metric_sum(self.metrics(), name, **labels)

    def recommendations(self):
        st, body = self.get("/recommendations")
        if st != 200:
            raise RuntimeError("/recommendations -> %d" % st)
        return json.loads(body)


class Agent(AgentProcess):
    """`snug-agent run` against an API server and a fake tree (no BPF); stopped with SIGTERM. `srv` is
    the fake API server, or the path of a kubeconfig for a real one."""

    def __init__(self, srv, tree_root, state_dir, node="node-1", args=(), log_path=None, log_level="debug"):
        self.srv = srv
        port = free_port()
        kubeconfig = srv if isinstance(srv, str) else srv.kubeconfig()
        cmd = agent_command(AGENT, node, kubeconfig, tree_root, state_dir, port) + [
            "--no-bpf", "--log-level", log_level] + list(args)
        super().__init__(cmd, port, log_path or state_dir + ".log")
