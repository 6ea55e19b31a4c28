"""Drive the fake API server from Python tests: start/stop it, make objects, inject faults.

    with fakectl.FakeApiServer(version="1.36") as srv:
        srv.create_pod("web-1", node="node-1", running=True)
        srv.fault(action="error", status=503, path=r"/pods/web-1/resize", count=2)
        status, body = srv.request("GET", "/api/v1/pods")
"""

import http.client
import json
import os
import shutil
import signal
import ssl
import subprocess
import sys
import tempfile
import time
import urllib.parse

HERE = os.path.dirname(os.path.abspath(__file__))
SERVER = os.path.join(HERE, "fake_apiserver.py")
PYTHON = "/usr/bin/python3" if os.path.exists("/usr/bin/python3") else sys.executable

sys.path.insert(0, HERE)
import fake_apiserver  # noqa: E402  (make_certs, parse_quantity for tests)

make_certs = fake_apiserver.make_certs


class FakeApiServer:
    """One fake apiserver process on a random loopback port with a throwaway CA."""

    def __init__(self, version="1.36", token="test-token", user="admin", admin_token="fake-admin", extra_tokens=None,
                 feature_gate_off=False, workdir=None, port=0, state_file=None, extra_args=(), certs=None):
        self.version = version
        self.token = token
        self.user = user
        self.admin_token = admin_token
        self.extra_tokens = extra_tokens or {}
        self.feature_gate_off = feature_gate_off
        self._own_dir = workdir is None
        self.dir = workdir or tempfile.mkdtemp(prefix="fakeapi-")
        self.port = port
        self.state_file = state_file
        self.extra_args = list(extra_args)
        self.certs = certs
        self.proc = None

    # ---- life cycle
    def start(self, timeout=20):
        if self.certs is None:
            self.certs = make_certs(os.path.join(self.dir, "pki"))
        port_file = os.path.join(self.dir, "port")
        if os.path.exists(port_file):
            os.unlink(port_file)
        cmd = [PYTHON, SERVER, "--port", str(self.port), "--port-file", port_file, "--cert", self.certs["server.crt"],
               "--key", self.certs["server.key"], "--client-ca", self.certs["ca.crt"], "--version", self.version,
               "--admin-token", self.admin_token, "--token", "%s:%s" % (self.token, self.user)]
        for t, u in self.extra_tokens.items():
            cmd += ["--token", "%s:%s" % (t, u)]
        if self.feature_gate_off:
            cmd.append("--feature-gate-off")
        if self.state_file:
            cmd += ["--state-file", self.state_file]
        cmd += self.extra_args
        self.log_path = os.path.join(self.dir, "server.log")
        self._log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(cmd, stdout=self._log, stderr=subprocess.STDOUT)
        deadline = time.time() + timeout
        while time.time() < deadline:
            if os.path.exists(port_file):
                with open(port_file) as f:
                    self.port = int(f.read().strip())
                return self
            if self.proc.poll() is not None:
                raise RuntimeError("fake apiserver exited: %s" % self.log())
            time.sleep(0.05)
        raise RuntimeError("fake apiserver did not start: %s" % self.log())

    def stop(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None
        if getattr(self, "_log", None):
            self._log.close()
            self._log = None

    def restart(self):
        """Stop and start again on the same port (state kept only with state_file)."""
        self.stop()
        self.start()
        return self

    def cleanup(self):
        self.stop()
        if self._own_dir:
            shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.cleanup()

    def log(self):
        try:
            with open(self.log_path, "rb") as f:
                return f.read().decode("utf-8", "replace")[-4000:]
        except OSError:
            return ""

    @property
    def url(self):
        return "https://127.0.0.1:%d" % self.port

    @property
    def ca_file(self):
        return self.certs["ca.crt"]

    def kubeconfig(self, path=None, token=None, client_cert=False):
        """Write a kubeconfig for this server: bearer token, or (client_cert=True) the client
        certificate made with the CA (user = its CN, snug-agent)."""
        path = path or os.path.join(self.dir, "kubeconfig")
        if client_cert:
            fake_apiserver.write_kubeconfig(path, self.port, self.ca_file, None,
                                            cert=self.certs["client.crt"], key=self.certs["client.key"])
        else:
            fake_apiserver.write_kubeconfig(path, self.port, self.ca_file, token or self.token)
        return path

    # ---- raw HTTP
    def _conn(self, timeout=30):
        ctx = ssl.create_default_context(cafile=self.ca_file)
        return http.client.HTTPSConnection("127.0.0.1", self.port, context=ctx, timeout=timeout)

    def request(self, method, path, body=None, content_type=None, token=None, query=None, timeout=30, raw=False):
        """Returns (status, parsed JSON body or text). token=False sends no Authorization."""
        if query:
            path = path + ("&" if "?" in path else "?") + urllib.parse.urlencode(query)
        headers = {"Accept": "application/json"}
        tok = self.token if token is None else token
        if tok:
            headers["Authorization"] = "Bearer " + tok
        data = None
        if body is not None:
            data = body if isinstance(body, (bytes, str)) else json.dumps(body)
            if isinstance(data, str):
                data = data.encode()
            headers["Content-Type"] = content_type or "application/json"
        c = self._conn(timeout)
        try:
            c.request(method, path, body=data, headers=headers)
            r = c.getresponse()
            text = r.read()
            self.last_headers = dict(r.getheaders())
            if raw:
                return r.status, text
            try:
                return r.status, json.loads(text)
            except ValueError:
                return r.status, text.decode("utf-8", "replace")
        finally:
            c.close()

    def watch(self, path, query=None, token=None, timeout=30):
        """Yield (t, event dict) for each JSON line of a watch until the stream ends."""
        q = dict(query or {})
        q.setdefault("watch", "1")
        path = path + "?" + urllib.parse.urlencode(q)
        c = self._conn(timeout)
        headers = {"Authorization": "Bearer " + (token or self.token)}
        c.request("GET", path, headers=headers)
        r = c.getresponse()
        t0 = time.time()
        if r.status != 200:
            body = r.read()
            c.close()
            yield time.time() - t0, {"type": "HTTP", "status": r.status, "object": json.loads(body or b"null")}
            return
        # parse the chunked body by hand so an abrupt close (no final 0-chunk) is visible as CLOSED
        fp = r.fp
        buf = b""
        try:
            while True:
                size_line = fp.readline()
                if not size_line:
                    yield time.time() - t0, {"type": "CLOSED"}
                    return
                n = int(size_line.split(b";")[0].strip() or b"0", 16)
                if n == 0:
                    fp.readline()
                    return
                data = fp.read(n)
                fp.readline()
                if len(data) < n:
                    yield time.time() - t0, {"type": "CLOSED"}
                    return
                buf += data
                while b"\n" in buf:
                    line, buf = buf.split(b"\n", 1)
                    if line.strip():
                        yield time.time() - t0, json.loads(line)
        except (ConnectionError, ssl.SSLError, OSError):
            yield time.time() - t0, {"type": "CLOSED"}
        finally:
            c.close()

    # ---- control API
    def control(self, method, what, body=None, query=None):
        st, out = self.request(method, "/_fake/" + what, body=body, token=self.admin_token, query=query)
        if st != 200:
            raise RuntimeError("control %s %s -> %s %s" % (method, what, st, out))
        return out

    def state(self):
        return self.control("GET", "state")

    def reset(self):
        return self.control("POST", "reset")

    def requests(self, clear=False):
        return self.control("GET", "requests", query={"clear": "1"} if clear else None)["requests"]

    def clear_requests(self):
        return self.control("DELETE", "requests")

    def fault(self, **rule):
        """action=error|delay|drop|drop_mid|touch, path=regex, method=, status=, count=, delay=, message="""
        return self.control("POST", "faults", rule)["ids"]

    def clear_faults(self):
        return self.control("DELETE", "faults")

    def watch_drop(self, after=1.0, duration=60.0, mode="close"):
        return self.control("POST", "watch-drop", {"after": after, "duration": duration, "mode": mode})

    def close_watches(self, mode="close"):
        return self.control("POST", "close-watches", {"mode": mode})

    def compact(self):
        return self.control("POST", "compact")

    def set_version(self, version=None, feature_gate=None):
        body = {}
        if version is not None:
            body["version"] = version
        if feature_gate is not None:
            body["feature_gate"] = feature_gate
        return self.control("POST", "version", body)

    def kubelet(self, **cfg):
        return self.control("POST", "kubelet", cfg)["kubelet"]

    def kubelet_writes(self, clear=False):
        """The cgroup file writes of the kubelet simulator (and its runtime), oldest first."""
        return self.control("GET", "kubelet/writes", query={"clear": "1"} if clear else None)["writes"]

    def controller(self, **cfg):
        return self.control("POST", "controller", cfg)["controller"]

    def tokens(self, set=None, remove=None, expire=None, replace=None):  # noqa: A002
        body = {}
        if set is not None:
            body["set"] = set
        if remove is not None:
            body["remove"] = remove
        if expire is not None:
            body["expire"] = expire
        if replace is not None:
            body["replace"] = replace
        return self.control("POST", "tokens", body)

    def forbid(self, user=None, verb=None, resource=None):
        return self.control("POST", "forbid", {"user": user, "verb": verb, "resource": resource})

    def seed(self, *objs):
        return self.control("POST", "objects", {"items": list(objs)})["items"]

    # ---- objects
    def pod_manifest(self, name, ns="default", node="node-1", containers=None, labels=None, annotations=None,
                     owner=None, requests=None, limits=None, resize_policy=None, init_containers=None, overhead=None,
                     pod_resources=None):
        if containers is None:
            res = {}
            if requests is not None or limits is None:
                res["requests"] = requests if requests is not None else {"cpu": "100m", "memory": "128Mi"}
            if limits is not None or requests is None:
                res["limits"] = limits if limits is not None else {"cpu": "200m", "memory": "256Mi"}
            c = {"name": "app", "image": "registry.example/app:1", "resources": res}
            if resize_policy is not None:
                c["resizePolicy"] = resize_policy
            containers = [c]
        md = {"name": name, "namespace": ns, "labels": labels or {"app": name}}
        if annotations:
            md["annotations"] = annotations
        if owner:
            md["ownerReferences"] = [owner]
        spec = {"containers": containers}
        if init_containers:
            spec["initContainers"] = init_containers
        if overhead:
            spec["overhead"] = overhead
        if pod_resources:
            spec["resources"] = pod_resources
        if node:
            spec["nodeName"] = node
        return {"apiVersion": "v1", "kind": "Pod", "metadata": md, "spec": spec}

    def create(self, obj, ns=None):
        r = fake_apiserver.res_for_object(obj)
        ns = ns or obj.get("metadata", {}).get("namespace") or "default"
        base = "/api/v1" if not r.group else "/apis/%s/%s" % (r.group, r.version)
        path = "%s/namespaces/%s/%s" % (base, ns, r.resource) if r.namespaced else "%s/%s" % (base, r.resource)
        st, out = self.request("POST", path, obj)
        if st != 201:
            raise RuntimeError("create %s -> %s %s" % (path, st, out))
        return out

    def create_pod(self, name, ns="default", running=True, status_resources=True, **kw):
        pod = self.create(self.pod_manifest(name, ns=ns, **kw))
        if running:
            pod = self.set_running(name, ns, status_resources=status_resources)
        return pod

    def set_running(self, name, ns="default", status_resources=True, phase="Running"):
        st, pod = self.request("GET", "/api/v1/namespaces/%s/pods/%s" % (ns, name))
        t = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        css = []
        for i, c in enumerate(pod["spec"]["containers"]):
            cs = {"name": c["name"], "ready": True, "started": True, "restartCount": 0, "image": c.get("image", ""),
                  "imageID": c.get("image", "") + "@sha256:" + "0" * 64,
                  "containerID": "containerd://%064x" % (abs(hash((pod["metadata"]["uid"], i))) + 1),
                  "state": {"running": {"startedAt": t}} if phase == "Running" else {"terminated": {"exitCode": 0}}}
            if status_resources:
                cs["resources"] = c.get("resources") or {}
                cs["allocatedResources"] = (c.get("resources") or {}).get("requests") or {}
            css.append(cs)
        inits = []
        for i, c in enumerate(pod["spec"].get("initContainers") or []):
            sidecar = c.get("restartPolicy") == "Always"
            cid = "containerd://%064x" % (abs(hash((pod["metadata"]["uid"], "init", i))) + 1)
            cs = {"name": c["name"], "ready": True, "restartCount": 0, "image": c.get("image", ""),
                  "imageID": c.get("image", "") + "@sha256:" + "0" * 64, "containerID": cid,
                  "state": {"running": {"startedAt": t}} if sidecar and phase == "Running" else
                  {"terminated": {"exitCode": 0, "reason": "Completed", "containerID": cid}}}
            if sidecar:
                cs["started"] = phase == "Running"
            if status_resources:
                cs["resources"] = c.get("resources") or {}
                cs["allocatedResources"] = (c.get("resources") or {}).get("requests") or {}
            inits.append(cs)
        status = {"status": {"phase": phase, "hostIP": "192.0.2.10", "podIP": "198.51.100.7", "startTime": t,
                             "conditions": [{"type": x, "status": "True", "lastTransitionTime": t}
                                            for x in ("Ready", "ContainersReady", "PodScheduled")],
                             "containerStatuses": css}}
        if inits:
            status["status"]["initContainerStatuses"] = inits
        st, out = self.request("PATCH", "/api/v1/namespaces/%s/pods/%s/status" % (ns, name), status,
                               "application/strategic-merge-patch+json")
        if st != 200:
            raise RuntimeError("status patch -> %s %s" % (st, out))
        return out

    def create_node(self, name="node-1", cpu="4", memory="8Gi", pods="110"):
        """A Ready Node with capacity = allocatable; the kubelet simulator then refuses resizes that do
        not fit (Infeasible) or not fit now (Deferred)."""
        self.create({"apiVersion": "v1", "kind": "Node", "metadata": {"name": name, "labels": {"kubernetes.io/hostname": name}}})
        res = {"cpu": cpu, "memory": memory, "pods": pods}
        st, out = self.request("PATCH", "/api/v1/nodes/%s/status" % name,
                               {"status": {"capacity": res, "allocatable": res,
                                           "conditions": [{"type": "Ready", "status": "True"}]}},
                               "application/strategic-merge-patch+json")
        if st != 200:
            raise RuntimeError("node status -> %s %s" % (st, out))
        return out

    def get_pod(self, name, ns="default"):
        st, out = self.request("GET", "/api/v1/namespaces/%s/pods/%s" % (ns, name))
        return out if st == 200 else None

    def resize(self, name, container="app", requests=None, limits=None, ns="default", patch_type="strategic"):
        res = {}
        if requests:
            res["requests"] = requests
        if limits:
            res["limits"] = limits
        body = {"spec": {"containers": [{"name": container, "resources": res}]}}
        return self.request("PATCH", "/api/v1/namespaces/%s/pods/%s/resize" % (ns, name), body,
                            "application/strategic-merge-patch+json")

    def evict(self, name, ns="default", dry_run=False, grace=None, uid=None, api_version="policy/v1"):
        """POST pods/NAME/eviction -> (status, Status body)."""
        body = {"apiVersion": api_version, "kind": "Eviction", "metadata": {"name": name, "namespace": ns}}
        opts = {}
        if dry_run:
            opts["dryRun"] = ["All"]
        if grace is not None:
            opts["gracePeriodSeconds"] = grace
        if uid is not None:
            opts["preconditions"] = {"uid": uid}
        if opts:
            body["deleteOptions"] = opts
        return self.request("POST", "/api/v1/namespaces/%s/pods/%s/eviction" % (ns, name), body)

    def use_webhook(self, url, ca_file, failure_policy="Ignore", only_controller=True, name="snug.webhook", timeout=10):
        """Turn the controller on and send the pods it recreates (or, only_controller=False, every pod
        create) through a mutating admission webhook."""
        return self.controller(enabled=True, webhook={"url": url, "ca_file": ca_file, "failure_policy": failure_policy,
                                                      "only_controller": only_controller, "name": name, "timeout": timeout})

    def create_pdb(self, name, selector, ns="default", min_available=1, disruptions_allowed=None,
                   desired_healthy=1, current_healthy=1):
        pdb = self.create({"apiVersion": "policy/v1", "kind": "PodDisruptionBudget",
                           "metadata": {"name": name, "namespace": ns},
                           "spec": {"minAvailable": min_available, "selector": {"matchLabels": selector}}})
        if disruptions_allowed is not None:
            pdb = self.set_pdb_status(name, disruptions_allowed, ns, desired_healthy, current_healthy)
        return pdb

    def set_pdb_status(self, name, disruptions_allowed, ns="default", desired_healthy=1, current_healthy=1):
        st, pdb = self.request("GET", "/apis/policy/v1/namespaces/%s/poddisruptionbudgets/%s" % (ns, name))
        pdb["status"] = {"observedGeneration": pdb["metadata"].get("generation", 1),
                         "disruptionsAllowed": disruptions_allowed, "currentHealthy": current_healthy,
                         "desiredHealthy": desired_healthy, "expectedPods": current_healthy}
        st, out = self.request("PUT", "/apis/policy/v1/namespaces/%s/poddisruptionbudgets/%s/status" % (ns, name), pdb)
        if st != 200:
            raise RuntimeError("pdb status -> %s %s" % (st, out))
        return out

    def wait_for(self, fn, timeout=10, interval=0.05):
        deadline = time.time() + timeout
        while time.time() < deadline:
            v = fn()
            if v:
                return v
            time.sleep(interval)
        return fn()
