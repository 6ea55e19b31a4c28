"""Envtest tier, least privilege: deploy/policy.yaml (applied with the rest of the kustomize base by
run.sh, real kubectl) enforced by a real kube-apiserver against the snug agent's real identity, a
service-account token bound to a pod on node-a. Each check is one thing node-a's agent must not do
(or must still do), and tells a denial by the policy from one by RBAC: the message names the policy.

WorkloadHistory (issue 16's shared history) is the base's own CRD (deploy/workloadhistory-crd.yaml) and
deploy/rbac.yaml grants the agent create/patch/delete on it, so the policy, not RBAC, is what refuses
node-b's entry. Evictions and owner writes are RBAC's refusals: the agent holds neither right any more
(it asks snug-webhook with the label snug.io/eviction-requested, which the policy confines)."""

import os
import sys
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))

from snugtest.harness import main, wait_for  # noqa: E402
from snugtest.realapi import AGENT_NS, AGENT_SA, NODE_NAME_EXTRA, Client, agent_token, make_node  # noqa: E402

SERVER = os.environ.get("SNUG_ENVTEST_SERVER")
NS = "snug-policy"
POLICY = "snug-agent-own-node"
MERGE = "application/merge-patch+json"
RES = {"requests": {"cpu": "100m", "memory": "128Mi"}, "limits": {"cpu": "200m", "memory": "256Mi"}}
HISTORIES = "/apis/snug.io/v1alpha1/namespaces/%s/workloadhistories" % NS

# One container's history in the CRD's shape (VPA's checkpoint form), empty.
EMPTY = {"totalWeight": 0, "numBuckets": 176, "bucketWeights": {}}
CONTAINER = {"name": "app", "totalSamplesCount": 0, "cpuHistogram": EMPTY, "memoryHistogram": EMPTY}


def pod(name, node, annotations=None):
    return {"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": name, "labels": {"app": name},
                         "annotations": dict({"team.example/owner": "web"}, **(annotations or {}))},
            "spec": {"nodeName": node, "automountServiceAccountToken": False,
                     "containers": [{"name": "app", "image": "registry.example/app:1", "resources": RES}]}}


def history(name, node):
    return {"apiVersion": "snug.io/v1alpha1", "kind": "WorkloadHistory",
            "metadata": {"name": name, "labels": {"snug.io/node": node}},
            "spec": {"nodeName": node, "workload": {"kind": "Deployment", "name": "web"}, "containers": []}}


class PolicyEnvtest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        server, ca = SERVER, os.environ["SNUG_ENVTEST_CA"]
        cls.admin = admin = Client(server, ca, os.environ["SNUG_ENVTEST_ADMIN_TOKEN"])
        for n in ("node-a", "node-b"):
            make_node(admin, n)
        admin.call("POST", "/api/v1/namespaces", {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NS}})
        admin.call("POST", "/api/v1/namespaces/%s/serviceaccounts" % NS,
                   {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "default"}})
        for name, node in (("on-a", "node-a"), ("on-b", "node-b")):
            admin.ok("POST", "/api/v1/namespaces/%s/pods" % NS, pod(name, node))
        # A kube-system DaemonSet: what a compromised node would most like to rewrite.
        admin.ok("POST", "/apis/apps/v1/namespaces/kube-system/daemonsets", {
            "apiVersion": "apps/v1", "kind": "DaemonSet", "metadata": {"name": "kube-proxy"},
            "spec": {"selector": {"matchLabels": {"k8s-app": "kube-proxy"}}, "template": {
                "metadata": {"labels": {"k8s-app": "kube-proxy"}},
                "spec": {"containers": [{"name": "kube-proxy", "image": "registry.k8s.io/kube-proxy:v1.36.2"}]}}}})
        established = wait_for(lambda: admin.call("GET", HISTORIES)[0] == 200, timeout=30)
        assert established, "the WorkloadHistory CRD (the base's) was never served"
        for name, node in (("web-node-a", "node-a"), ("web-node-b", "node-b")):
            admin.ok("POST", HISTORIES, history(name, node))
        cls.agent = Client(server, ca, agent_token(admin, "node-a"))
        # The policy and its binding take effect a moment after they are created (the server's
        # policy informer): wait until the agent is refused something only the policy refuses.
        cls.wait_policy_in_force()

    @classmethod
    def wait_policy_in_force(cls):
        # Dry-run requests (admission runs, nothing is stored) that two different rules refuse, so
        # that one broken rule fails its own check below, not this wait.
        probes = [("/api/v1/namespaces/%s/pods/on-b?dryRun=All" % NS, {"metadata": {"annotations": {"snug.io/p": "1"}}}),
                  ("/api/v1/namespaces/%s/pods/on-a?dryRun=All" % NS, {"metadata": {"labels": {"probe": "1"}}})]
        in_force = wait_for(lambda: any(cls.agent.call("PATCH", path, body, MERGE)[0] == 403 for path, body in probes),
                            timeout=60, interval=0.5)
        assert in_force, "the ValidatingAdmissionPolicy %s never took effect" % POLICY

    # ---- helpers -----------------------------------------------------------------------------

    def patch_pod(self, name, body, sub=""):
        return self.agent.call("PATCH", "/api/v1/namespaces/%s/pods/%s%s" % (NS, name, "/" + sub if sub else ""),
                               body, MERGE)

    def assertDeniedByPolicy(self, result, what):
        st, out = result
        self.assertEqual(st, 403, "%s was not refused: %d %s" % (what, st, out))
        self.assertIn("ValidatingAdmissionPolicy '%s'" % POLICY, out.get("message", ""),
                      "%s refused, but not by the policy: %s" % (what, out))

    def assertAllowed(self, result, what):
        st, out = result
        self.assertIn(st, (200, 201), "%s was refused: %d %s" % (what, st, out.get("message", out)))

    # ---- the identity --------------------------------------------------------------------------

    def test_agent_token_names_its_node(self):
        user = self.agent.whoami()
        self.assertEqual(user["username"], "system:serviceaccount:%s:%s" % (AGENT_NS, AGENT_SA))
        self.assertEqual(user["extra"][NODE_NAME_EXTRA], ["node-a"])

    def test_token_without_a_node_is_refused(self):
        # What `kubectl create token snug-agent` gives (no bound object): the same user, no node.
        tr = self.admin.ok("POST", "/api/v1/namespaces/%s/serviceaccounts/%s/token" % (AGENT_NS, AGENT_SA),
                           {"apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest",
                            "spec": {"expirationSeconds": 600}})
        unbound = Client(self.agent.server, os.environ["SNUG_ENVTEST_CA"], tr["status"]["token"])
        self.assertNotIn(NODE_NAME_EXTRA, unbound.whoami().get("extra", {}))
        st, out = unbound.call("PATCH", "/api/v1/namespaces/%s/pods/on-a" % NS,
                               {"metadata": {"annotations": {"snug.io/last-resize": "{}"}}}, MERGE)
        self.assertDeniedByPolicy((st, out), "an unbound token's annotation")
        self.assertIn("names no node", out["message"])

    # ---- denied ------------------------------------------------------------------------------

    def test_cannot_resize_a_pod_of_another_node(self):
        body = {"spec": {"containers": [{"name": "app", "resources": dict(RES, requests={"cpu": "150m",
                                                                                         "memory": "128Mi"})}]}}
        self.assertDeniedByPolicy(self.patch_pod("on-b", body, "resize"), "resize of node-b's pod")
        self.assertEqual(self.admin.ok("GET", "/api/v1/namespaces/%s/pods/on-b" % NS)["metadata"]["generation"], 1)

    def test_cannot_annotate_a_pod_of_another_node(self):
        self.assertDeniedByPolicy(self.patch_pod("on-b", {"metadata": {"annotations": {"snug.io/last-resize": "{}"}}}),
                                  "snug.io annotation of node-b's pod")

    def test_cannot_change_the_image_of_its_own_nodes_pod(self):
        body = {"spec": {"containers": [{"name": "app", "image": "registry.example/evil:1"}]}}
        st, out = self.agent.call("PATCH", "/api/v1/namespaces/%s/pods/on-a" % NS, body,
                                  "application/strategic-merge-patch+json")
        self.assertDeniedByPolicy((st, out), "image change of node-a's pod")

    def test_cannot_change_the_labels_of_its_own_nodes_pod(self):
        self.assertDeniedByPolicy(self.patch_pod("on-a", {"metadata": {"labels": {"app": "other"}}}),
                                  "label change of node-a's pod")

    def test_cannot_add_change_or_remove_another_annotation(self):
        for what, ann in (("added", {"team.example/new": "x"}), ("changed", {"team.example/owner": "db"}),
                          ("removed", {"team.example/owner": None})):
            self.assertDeniedByPolicy(self.patch_pod("on-a", {"metadata": {"annotations": ann}}),
                                      "a non-snug annotation %s on node-a's pod" % what)

    def test_cannot_patch_a_daemonset_template(self):
        path = "/apis/apps/v1/namespaces/kube-system/daemonsets/kube-proxy"
        body = {"spec": {"template": {"spec": {"containers": [{"name": "kube-proxy",
                                                               "image": "registry.example/evil:1"}]}}}}
        # RBAC's refusal now: the agent holds no owner write at all (the owner annotation is gone)
        self.assertDeniedByRbac(self.agent.call("PATCH", path, body, "application/strategic-merge-patch+json"),
                                "kube-system DaemonSet template")
        ds = self.admin.ok("GET", path)
        self.assertEqual(ds["spec"]["template"]["spec"]["containers"][0]["image"],
                         "registry.k8s.io/kube-proxy:v1.36.2")

    def test_cannot_write_another_nodes_workload_history(self):
        self.assertDeniedByPolicy(self.agent.call("POST", HISTORIES, history("db-node-b", "node-b")),
                                  "create of node-b's WorkloadHistory")
        self.assertDeniedByPolicy(self.agent.call("PATCH", HISTORIES + "/web-node-b",
                                                  {"spec": {"containers": [CONTAINER]}}, MERGE),
                                  "update of node-b's WorkloadHistory")
        self.assertDeniedByPolicy(self.agent.call("DELETE", HISTORIES + "/web-node-b"),
                                  "delete of node-b's WorkloadHistory")
        # nor move its own entry to another node
        self.assertDeniedByPolicy(self.agent.call("PATCH", HISTORIES + "/web-node-a",
                                                  {"spec": {"nodeName": "node-b"}}, MERGE),
                                  "moving node-a's WorkloadHistory to node-b")
        # nor pass its own entry off as node-b's to readers selecting by label
        forged = history("db-node-a", "node-a")
        forged["metadata"]["labels"]["snug.io/node"] = "node-b"
        self.assertDeniedByPolicy(self.agent.call("POST", HISTORIES, forged),
                                  "node-a's WorkloadHistory labelled snug.io/node=node-b")

    def assertDeniedByRbac(self, result, what):
        st, out = result
        self.assertEqual(st, 403, "%s was not refused: %d %s" % (what, st, out))
        self.assertNotIn("ValidatingAdmissionPolicy", out.get("message", ""), out)
        self.assertIn("cannot", out.get("message", ""), "%s refused, but not by RBAC: %s" % (what, out))

    def evict(self, name):
        return self.agent.call("POST", "/api/v1/namespaces/%s/pods/%s/eviction" % (NS, name), {
            "apiVersion": "policy/v1", "kind": "Eviction", "metadata": {"name": name, "namespace": NS}})

    def test_cannot_evict_any_pod(self):
        # The policy could not confine an eviction to the agent's node (it sees the Eviction, not the
        # pod): the agent holds no pods/eviction right at all, for node-b's pod nor its own.
        for name in ("on-b", "on-a"):
            self.assertDeniedByRbac(self.evict(name), "eviction of %s" % name)
            pod = self.admin.ok("GET", "/api/v1/namespaces/%s/pods/%s" % (NS, name))
            self.assertNotIn("deletionTimestamp", pod["metadata"])

    def test_cannot_write_an_owner(self):
        # not even the snug.io/recommendation annotation the eviction fallback used to record
        path = "/apis/apps/v1/namespaces/kube-system/daemonsets/kube-proxy"
        self.assertDeniedByRbac(self.agent.call("PATCH", path, {"metadata": {"annotations": {
            "snug.io/recommendation": "{}"}}}, MERGE), "the DaemonSet's snug.io/recommendation")

    def test_cannot_ask_to_evict_a_pod_of_another_node(self):
        self.assertDeniedByPolicy(self.patch_pod("on-b", {"metadata": {
            "labels": {"snug.io/eviction-requested": "true"},
            "annotations": {"snug.io/eviction-requested": "{}"}}}), "the eviction request on node-b's pod")
        self.assertDeniedByPolicy(self.patch_pod("on-b", {"metadata": {
            "labels": {"snug.io/eviction-requested": "true"}}}), "the eviction request label on node-b's pod")

    def test_cannot_set_another_label(self):
        for what, labels in (("another snug.io label", {"snug.io/managed": "true"}),
                             ("the request label with another value", {"snug.io/eviction-requested": "yes"}),
                             ("a label beside the request label", {"snug.io/eviction-requested": "true",
                                                                   "app": "other"}),
                             ("a removed label", {"app": None})):
            self.assertDeniedByPolicy(self.patch_pod("on-a", {"metadata": {"labels": labels}}),
                                      "%s on node-a's pod" % what)
        pod = self.admin.ok("GET", "/api/v1/namespaces/%s/pods/on-a" % NS)
        self.assertEqual(pod["metadata"]["labels"].get("app"), "on-a")

    # ---- allowed -----------------------------------------------------------------------------

    def test_can_ask_to_evict_its_own_nodes_pod(self):
        self.assertAllowed(self.patch_pod("on-a", {"metadata": {
            "labels": {"snug.io/eviction-requested": "true"},
            "annotations": {"snug.io/eviction-requested": '{"at":1,"node":"node-a","containers":[]}'}}}),
            "the eviction request on node-a's pod")
        pod = self.admin.ok("GET", "/api/v1/namespaces/%s/pods/on-a" % NS)
        self.assertEqual(pod["metadata"]["labels"]["snug.io/eviction-requested"], "true")
        self.assertAllowed(self.patch_pod("on-a", {"metadata": {
            "labels": {"snug.io/eviction-requested": None},
            "annotations": {"snug.io/eviction-requested": None}}}), "withdrawing it")

    def test_can_resize_its_own_nodes_pod(self):
        body = {"spec": {"containers": [{"name": "app", "resources": dict(RES, requests={"cpu": "150m",
                                                                                         "memory": "128Mi"})}]}}
        self.assertAllowed(self.patch_pod("on-a", body, "resize"), "resize of node-a's pod")

    def test_can_write_snug_annotations_of_its_own_nodes_pod(self):
        self.assertAllowed(self.patch_pod("on-a", {"metadata": {"annotations": {"snug.io/last-resize": "{}"}}}),
                           "snug.io annotation of node-a's pod")
        self.assertAllowed(self.patch_pod("on-a", {"metadata": {"annotations": {"snug.io/last-resize": None}}}),
                           "removing it again")

    def test_can_create_an_event(self):
        self.assertAllowed(self.agent.call("POST", "/api/v1/namespaces/%s/events" % NS, {
            "apiVersion": "v1", "kind": "Event", "metadata": {"generateName": "on-a."},
            "involvedObject": {"apiVersion": "v1", "kind": "Pod", "namespace": NS, "name": "on-a"},
            "reason": "Resized", "message": "cpu 100m to 150m", "type": "Normal",
            "source": {"component": "snug"}}), "an Event")

    def test_can_write_its_own_nodes_workload_history(self):
        self.assertAllowed(self.agent.call("POST", HISTORIES, history("db-node-a", "node-a")),
                           "create of node-a's WorkloadHistory")
        self.assertAllowed(self.agent.call("PATCH", HISTORIES + "/db-node-a",
                                           {"spec": {"containers": [CONTAINER]}}, MERGE),
                           "update of node-a's WorkloadHistory")
        self.assertAllowed(self.agent.call("DELETE", HISTORIES + "/db-node-a"), "delete of node-a's WorkloadHistory")

    # ---- API priority and fairness (deploy/flowcontrol.yaml) ----------------------------------

    def test_history_requests_have_a_priority_level_of_their_own(self):
        # The real API server classifies each request: the agent's and the webhook's history
        # requests go to snug-history, the agent's pod calls (a resize) stay where they were.
        fs = self.admin.ok("GET", "/apis/flowcontrol.apiserver.k8s.io/v1/flowschemas/snug-history")
        uid = fs["metadata"]["uid"]
        self.assertEqual(fs["spec"]["priorityLevelConfiguration"]["name"], "snug-history")
        tr = self.admin.ok("POST", "/api/v1/namespaces/%s/serviceaccounts/snug-webhook/token" % AGENT_NS,
                           {"apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest",
                            "spec": {"expirationSeconds": 600}})
        webhook = Client(self.agent.server, os.environ["SNUG_ENVTEST_CA"], tr["status"]["token"])
        # The server picks a new FlowSchema up within seconds of its creation.
        self.assertTrue(wait_for(lambda: self.agent.flow_schema_uid("GET", HISTORIES) == uid, timeout=30),
                        "the agent's history LIST is not in FlowSchema snug-history: %s"
                        % self.agent.flow_schema_uid("GET", HISTORIES))
        self.assertEqual(self.agent.flow_schema_uid("PATCH", HISTORIES + "/web-node-a",
                                                    {"spec": {"containers": [CONTAINER]}}, MERGE), uid,
                         "the agent's history PATCH")
        self.assertEqual(webhook.flow_schema_uid("GET", HISTORIES), uid, "the webhook's history LIST")
        other = self.agent.flow_schema_uid("PATCH", "/api/v1/namespaces/%s/pods/on-a/resize" % NS,
                                           {"spec": {"containers": [{"name": "app", "resources": RES}]}}, MERGE)
        self.assertIsNotNone(other, "the resize was not classified at all")
        self.assertNotEqual(other, uid, "the agent's resize is in the history's priority level")
        self.assertNotEqual(self.admin.flow_schema_uid("GET", HISTORIES), uid, "an admin's LIST")

    def test_other_users_are_not_confined(self):
        self.assertAllowed(self.admin.call("PATCH", "/api/v1/namespaces/%s/pods/on-b" % NS,
                                           {"metadata": {"labels": {"checked": "yes"}}}, MERGE),
                           "the admin's label change")


if __name__ == "__main__":
    if not SERVER:
        print("*** SKIPPED: policy envtest: run through tests/envtest/run.sh (no SNUG_ENVTEST_SERVER) ***")
        sys.exit(0)
    main("policy-envtest")
