"""Calls to a real kube-apiserver (the envtest tier's) with a bearer token, and the snug agent's
identity as its DaemonSet pod would hold it: a service-account token bound to a pod on a node, so
that the API server puts the node in the token's user extra (what deploy/policy.yaml checks)."""

import base64
import json
import os
import ssl
import urllib.error
import urllib.request

AGENT_NS, AGENT_SA = "snug-system", "snug-agent"
NODE_NAME_EXTRA = "authentication.kubernetes.io/node-name"


class Client:
    """One identity (a bearer token) against the server."""

    def __init__(self, server, ca, token):
        self.server = server
        self.ctx = ssl.create_default_context(cafile=ca)
        self.token = token

    def _send(self, method, path, body, ctype, read):
        """read(status, headers, body bytes) of the reply; an error status is returned, not raised."""
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(self.server + path, data=data, method=method,
                                     headers={"Authorization": "Bearer " + self.token, "Content-Type": ctype})
        try:
            with urllib.request.urlopen(req, context=self.ctx, timeout=30) as r:
                return read(r.status, r.headers, r.read())
        except urllib.error.HTTPError as e:
            return read(e.code, e.headers, e.read())

    def call(self, method, path, body=None, ctype="application/json"):
        """(HTTP status, decoded reply); an error status is returned, not raised."""
        return self._send(method, path, body, ctype, lambda st, _, out: (st, json.loads(out or b"{}")))

    def flow_schema_uid(self, method, path, body=None, ctype="application/json"):
        """The UID of the FlowSchema that API priority and fairness put the request in (the reply's
        X-Kubernetes-PF-FlowSchema-UID header), or None."""
        return self._send(method, path, body, ctype, lambda _, h, __: h.get("X-Kubernetes-PF-FlowSchema-UID"))

    def ok(self, method, path, body=None, ctype="application/json"):
        st, out = self.call(method, path, body, ctype)
        if st not in (200, 201):
            raise RuntimeError("%s %s -> %d %s" % (method, path, st, json.dumps(out)[:600]))
        return out

    def whoami(self):
        """The user the server authenticates this token as (SelfSubjectReview, GA in 1.28)."""
        return self.ok("POST", "/apis/authentication.k8s.io/v1/selfsubjectreviews",
                       {"apiVersion": "authentication.k8s.io/v1", "kind": "SelfSubjectReview"})["status"]["userInfo"]


def make_node(admin, name):
    """A Node object with a Ready status and room for pods (no kubelet runs); 409 is fine."""
    st, out = admin.call("POST", "/api/v1/nodes", {"apiVersion": "v1", "kind": "Node", "metadata": {"name": name}})
    if st not in (201, 409):
        raise RuntimeError("node %s -> %d %s" % (name, st, out))
    res = {"cpu": "4", "memory": "8Gi", "pods": "110"}
    admin.ok("PATCH", "/api/v1/nodes/%s/status" % name,
             {"status": {"capacity": res, "allocatable": res, "conditions": [{"type": "Ready", "status": "True"}]}},
             "application/strategic-merge-patch+json")


def agent_token(admin, node, seconds=3600):
    """A token of the snug-agent service account bound to a pod standing for its DaemonSet pod on
    `node` (created here, bound to the node, never run: no controller-manager or kubelet), as the
    kubelet would project it into that pod. Measured on 1.36.2 and 1.33.13: the server names the
    node (user extra node-name) even when no Node object exists yet, only node-uid is then left out."""
    name = "snug-agent-" + node
    path = "/api/v1/namespaces/%s/pods" % AGENT_NS
    st, pod = admin.call("POST", path, {
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": name, "labels": {"app.kubernetes.io/name": "snug-agent-stand-in"}},
        "spec": {"nodeName": node, "serviceAccountName": AGENT_SA, "automountServiceAccountToken": False,
                 "containers": [{"name": "agent", "image": "localhost/snug-agent:0.1.0"}]}})
    if st == 409:
        pod = admin.ok("GET", "%s/%s" % (path, name))
    elif st != 201:
        raise RuntimeError("pod %s -> %d %s" % (name, st, pod))
    tr = admin.ok("POST", "/api/v1/namespaces/%s/serviceaccounts/%s/token" % (AGENT_NS, AGENT_SA), {
        "apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest",
        "spec": {"expirationSeconds": seconds,
                 "boundObjectRef": {"apiVersion": "v1", "kind": "Pod", "name": name,
                                    "uid": pod["metadata"]["uid"]}}})
    return tr["status"]["token"]


def token_kubeconfig(path, server, ca, token):
    """A kubeconfig for the agent with inline CA data and a bearer token."""
    with open(ca, "rb") as f:
        ca_data = base64.b64encode(f.read()).decode()
    with open(path, "w") as f:
        f.write("apiVersion: v1\nkind: Config\ncurrent-context: agent\n"
                "clusters:\n- name: envtest\n  cluster:\n    server: %s\n    certificate-authority-data: %s\n"
                "contexts:\n- name: agent\n  context: {cluster: envtest, user: agent, namespace: default}\n"
                "users:\n- name: agent\n  user:\n    token: %s\n" % (server, ca_data, token))
    os.chmod(path, 0o600)
    return path
