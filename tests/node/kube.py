"""A small Kubernetes API client for the node tier's guest-side driver (python3 standard library only):
one kept-alive HTTPS connection, JSON in and out, as the admin or another bearer token."""

import http.client
import json
import ssl
import time
import urllib.parse


class ApiError(Exception):
    def __init__(self, code, body):
        super().__init__("HTTP %s: %s" % (code, body[:400]))
        self.code = code
        self.body = body


class Kube:
    def __init__(self, server, ca_file, token):
        u = urllib.parse.urlsplit(server)
        self.host, self.port = u.hostname, u.port or 443
        self.ctx = ssl.create_default_context(cafile=ca_file)
        self.token = token
        self.conn = None

    def _connect(self):
        self.conn = http.client.HTTPSConnection(self.host, self.port, context=self.ctx, timeout=30)

    def request(self, method, path, body=None, content_type="application/json"):
        """(status, parsed JSON or None). Retries once on a dropped kept-alive connection."""
        data = None if body is None else (body if isinstance(body, bytes) else json.dumps(body).encode())
        headers = {"Authorization": "Bearer " + self.token, "Accept": "application/json"}
        if data is not None:
            headers["Content-Type"] = content_type
        for attempt in (0, 1):
            if self.conn is None:
                self._connect()
            try:
                self.conn.request(method, path, body=data, headers=headers)
                r = self.conn.getresponse()
                raw = r.read()
                break
            except (http.client.HTTPException, OSError):
                self.conn.close()
                self.conn = None
                if attempt:
                    raise
        try:
            obj = json.loads(raw) if raw else None
        except ValueError:
            obj = {"raw": raw.decode("utf-8", "replace")}
        return r.status, obj

    def call(self, method, path, body=None, content_type="application/json", ok=(200, 201)):
        st, obj = self.request(method, path, body, content_type)
        if st not in ok:
            raise ApiError(st, json.dumps(obj))
        return obj

    def get(self, path):
        return self.call("GET", path)

    def pod(self, ns, name):
        st, obj = self.request("GET", "/api/v1/namespaces/%s/pods/%s" % (ns, name))
        return obj if st == 200 else None

    def create_pod(self, pod):
        ns = pod["metadata"].get("namespace", "default")
        return self.call("POST", "/api/v1/namespaces/%s/pods" % ns, pod)

    def delete_pod(self, ns, name, grace=0):
        self.request("DELETE", "/api/v1/namespaces/%s/pods/%s?gracePeriodSeconds=%d" % (ns, name, grace))

    def resize(self, ns, name, containers):
        """PATCH pods/NAME/resize (strategic merge): containers = [{"name", "resources"}]."""
        return self.call("PATCH", "/api/v1/namespaces/%s/pods/%s/resize" % (ns, name),
                         {"spec": {"containers": containers}}, "application/strategic-merge-patch+json")

    def wait(self, what, fn, timeout, interval=0.5):
        """Polls fn() until it returns something true; returns it, or raises TimeoutError naming what."""
        deadline = time.time() + timeout
        last = None
        while time.time() < deadline:
            last = fn()
            if last:
                return last
            time.sleep(interval)
        raise TimeoutError("timed out after %ss waiting for %s" % (timeout, what))
