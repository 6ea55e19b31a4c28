"""The mutating admission webhook: an AdmissionReview POSTed for a pod create, its JSONPatch applied, its
failure policy honoured. A mixin of the Fake."""

import base64
import json
import ssl
import urllib.request
import uuid

from .errors import ApiError, status_body
from .patches import json_patch


class AdmissionMixin:
    """Uses self.controller (the webhook settings and the log) of the Fake."""

    def call_webhook(self, pod, via_controller):
        wh = self.controller.get("webhook") or {}
        if not wh.get("url"):
            return pod
        if wh.get("only_controller", True) and not via_controller:
            return pod
        req_uid = str(uuid.uuid4())
        review = {
            "apiVersion": "admission.k8s.io/v1",
            "kind": "AdmissionReview",
            "request": {
                "uid": req_uid,
                "kind": {"group": "", "version": "v1", "kind": "Pod"},
                "resource": {"group": "", "version": "v1", "resource": "pods"},
                "requestKind": {"group": "", "version": "v1", "kind": "Pod"},
                "requestResource": {"group": "", "version": "v1", "resource": "pods"},
                "name": pod["metadata"].get("name", ""),
                "namespace": pod["metadata"].get("namespace"),
                "operation": "CREATE",
                "userInfo": {"username": "system:serviceaccount:kube-system:replicaset-controller", "groups": ["system:serviceaccounts", "system:authenticated"]},
                # mutating admission runs before the registry fills in status (phase, qosClass)
                "object": dict(pod, status={}),
                "oldObject": None,
                "dryRun": False,
                "options": {"kind": "CreateOptions", "apiVersion": "meta.k8s.io/v1"},
            },
        }
        fail_open = wh.get("failure_policy", "Ignore") == "Ignore"
        name = wh.get("name", "snug.webhook")
        try:
            ctx = ssl.create_default_context(cafile=wh.get("ca_file")) if wh.get("url", "").startswith("https") else None
            r = urllib.request.Request(wh["url"], data=json.dumps(review).encode(), headers={"Content-Type": "application/json"}, method="POST")
            with urllib.request.urlopen(r, timeout=wh.get("timeout", 10), context=ctx) as resp:
                out = json.loads(resp.read())
            response = out["response"]
            self.controller["log"].append({"webhook": name, "allowed": response.get("allowed"), "pod": pod["metadata"].get("name") or pod["metadata"].get("generateName")})
            if not response.get("allowed"):
                st = response.get("status") or {}
                code = st.get("code") or 400
                raise ApiError(code, status_body(code, st.get("reason") or "BadRequest", 'admission webhook "%s" denied the request: %s' % (name, st.get("message", ""))))
            if response.get("patch"):
                if response.get("patchType", "JSONPatch") != "JSONPatch":
                    raise ValueError("unsupported patchType")
                ops = json.loads(base64.b64decode(response["patch"]))
                st = pod.get("status")
                pod = json_patch(dict(pod, status={}), ops)
                pod["status"] = st
            return pod
        except ApiError:
            raise
        except Exception as e:  # noqa: BLE001 - any failure reaching the hook
            self.controller["log"].append({"webhook": name, "error": str(e), "pod": pod["metadata"].get("name") or pod["metadata"].get("generateName")})
            if fail_open:
                return pod
            raise ApiError(500, status_body(500, "InternalError", 'Internal error occurred: failed calling webhook "%s": %s' % (name, e), {"causes": [{"message": 'failed calling webhook "%s": %s' % (name, e)}]}))
