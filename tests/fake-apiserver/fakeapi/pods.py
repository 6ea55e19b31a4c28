"""The pod registry: a pod's create, its updates (the pod itself, status, the resize subresource) and its
graceful delete. A mixin of the Fake."""

from .common import dcopy, now_iso, rand_suffix
from .errors import ApiError, FieldErr, err_invalid, status_body
from .kinds import RES_NODE, RES_POD
from .pod_rules import (
    POD_UPDATE_FORBIDDEN, bump_generation, canonicalize_resource_lists, init_resources_changed, pod_default, pod_qos,
    pod_spec_update_diff, pod_status_default, resources_changed, validate_pod_resize,
    validate_quantities,
)
from .versions import RESIZE_SPEC

# What a 1.36 node declares when its kubelet resizes ordinary init containers.
NODE_FEATURE_INIT_RESIZE = "InPlacePodVerticalScalingInitContainers"


class PodsMixin:
    """Uses self.store, self.controller and self.resize_mode of the Fake, call_webhook (AdmissionMixin)
    and on_pod_gone (ControllerMixin)."""

    def prepare_pod_create(self, obj, dry_run, via_controller):
        """A new pod (its metadata already made) as the registry stores it: validated, defaulted, its
        QoS class computed, through the admission webhook, named last (generateName)."""
        validate_quantities(obj)
        if not (obj.get("spec") or {}).get("containers"):
            raise err_invalid(
                "Pod", obj["metadata"].get("name", ""), [FieldErr("FieldValueRequired", "spec.containers", "")]
            )
        pod_default(obj)
        canonicalize_resource_lists(obj)
        st = obj.get("status") if isinstance(obj.get("status"), dict) else {}
        obj["status"] = {"phase": st.get("phase", "Pending"), "qosClass": pod_qos(obj)}
        if self.controller.get("webhook") and not dry_run:
            obj = self.call_webhook(obj, via_controller)
            validate_quantities(obj)
            canonicalize_resource_lists(obj)
            obj["status"]["qosClass"] = pod_qos(obj)
        md = obj["metadata"]
        if not md.get("name"):
            md["name"] = md["generateName"] + rand_suffix()
        return obj

    def pod_update(self, cur, new, sub, dry_run):
        name = cur["metadata"]["name"]
        if sub == "status":
            out = dcopy(cur)
            st = new.get("status")
            out["status"] = pod_status_default(dcopy(st) if isinstance(st, dict) else {})
            out["status"]["qosClass"] = (cur.get("status") or {}).get("qosClass") or pod_qos(cur)
            return out
        if sub == "resize":
            # dropNonResizeUpdates (pkg/registry/core/pod/strategy.go): only the containers' and init
            # containers' resources and resizePolicy are taken from the request; a list whose length
            # or names changed is kept as sent, for ValidatePodResize to refuse.
            out = dcopy(cur)
            new_spec = new.get("spec") if isinstance(new.get("spec"), dict) else {}
            for key in ("containers", "initContainers"):
                sent = [c for c in (new_spec.get(key) or []) if isinstance(c, dict)]
                mine = out["spec"].get(key) or []
                if len(sent) != len(mine) or any(a.get("name") != b.get("name") for a, b in zip(sent, mine)):
                    out["spec"][key] = dcopy(sent)
                    continue
                for c, n in zip(mine, sent):
                    r = n.get("resources")
                    c["resources"] = dcopy(r) if isinstance(r, dict) else {}
                    if "resizePolicy" in n:
                        c["resizePolicy"] = dcopy(n["resizePolicy"])
                    else:
                        c.pop("resizePolicy", None)
            if not out["spec"].get("initContainers") and "initContainers" not in cur["spec"]:
                out["spec"].pop("initContainers", None)
            validate_quantities(out)
            validate_pod_resize(cur, out, self.minor)
            if self.minor >= 36 and init_resources_changed(cur, out):
                self.admit_node_declared_features(cur)
            if out["spec"] != cur["spec"] or dry_run:
                # the transcripts show the bumped generation even on a dry-run reply
                if out["spec"] != cur["spec"]:
                    bump_generation(cur, out)
            if out["spec"] == cur["spec"]:
                return out if dry_run else None
            return out
        # the pod itself: metadata and a few spec fields
        out = dcopy(cur)
        out["metadata"] = self.keep_immutable_meta(cur, new)
        if not isinstance(new.get("spec"), dict):
            new_spec = cur["spec"]
        else:
            new_spec = new["spec"]
        validate_quantities({"spec": new_spec})
        allow_res = self.resize_mode == RESIZE_SPEC
        diff = pod_spec_update_diff(cur["spec"], new_spec, allow_res)
        if diff is not None:
            msg = POD_UPDATE_FORBIDDEN + "\n" + diff
            raise err_invalid("Pod", name, [FieldErr("FieldValueForbidden", "spec", msg)])
        out["spec"] = dcopy(new_spec)
        if allow_res and resources_changed(cur["spec"], new_spec):
            tmp = dcopy(cur)
            tmp["spec"] = dcopy(new_spec)
            validate_pod_resize(cur, tmp, self.minor)
            out.setdefault("status", {})["resize"] = "Proposed"
        if out["spec"] != cur["spec"]:
            bump_generation(cur, out)
        if out == cur:
            return None
        return out

    def admit_node_declared_features(self, pod):
        """The NodeDeclaredFeatures validating admission (plugin/pkg/admission/nodedeclaredfeatures,
        1.36 beta, on): resizing an ordinary init container (InPlacePodVerticalScalingInitContainers)
        needs a node that declares the feature in status.declaredFeatures, else 403."""
        node_name = (pod.get("spec") or {}).get("nodeName")
        if not node_name:
            return
        name = pod["metadata"]["name"]
        node = self.store.get(RES_NODE.key, "", node_name)
        if node is None:
            why = 'node "%s" not found' % node_name
        elif NODE_FEATURE_INIT_RESIZE in ((node.get("status") or {}).get("declaredFeatures") or []):
            return
        else:
            why = 'pod update requires features %s which are not available on node "%s"' % (
                NODE_FEATURE_INIT_RESIZE,
                node_name,
            )
        raise ApiError(
            403,
            status_body(403, "Forbidden", 'pods "%s" is forbidden: %s' % (name, why), {"name": name, "kind": "pods"}),
        )

    def mark_terminating(self, cur, grace):
        out = dcopy(cur)
        out["metadata"]["deletionTimestamp"] = now_iso(grace)
        out["metadata"]["deletionGracePeriodSeconds"] = grace
        bump_generation(cur, out)
        return self.store.put(RES_POD.key, out)

    def delete_pod(self, ns, name, cur, opts, dry_run):
        """DELETE of a pod: a pod on a node that has not finished gets a deletionTimestamp and stays for its
        grace period (the kubelet removes it); otherwise it is gone at once."""
        grace = (opts or {}).get("gracePeriodSeconds")
        if grace is None:
            grace = cur["spec"].get("terminationGracePeriodSeconds", 30)
        if dry_run:
            return dcopy(cur)
        if cur["metadata"].get("deletionTimestamp"):
            return dcopy(cur)
        if grace > 0 and cur["spec"].get("nodeName") and (cur.get("status") or {}).get("phase") not in ("Succeeded", "Failed"):
            return self.mark_terminating(cur, grace)
        gone = self.store.remove(RES_POD.key, ns, name)
        self.on_pod_gone(gone)
        return gone
