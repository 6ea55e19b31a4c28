"""The pod registry: a pod's create, its updates (the pod itself, status, the resize subresource) and its
graceful delete. A mixin of the Fake."""

from .common import dcopy, now_iso, rand_suffix
from .errors import FieldErr, err_invalid
from .kinds import RES_POD
from .pod_rules import (
    POD_UPDATE_FORBIDDEN, bump_generation, canonicalize_resource_lists, pod_default, pod_qos,
    pod_spec_update_diff, pod_status_default, resources_changed, validate_pod_resize,
    validate_quantities,
)
from .versions import RESIZE_SPEC


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
            # dropNonResizeUpdates: only containers' resources and resizePolicy are taken from the request
            out = dcopy(cur)
            newc = {c.get("name"): c for c in ((new.get("spec") or {}).get("containers") or []) if isinstance(c, dict)}
            for c in out["spec"].get("containers") or []:
                n = newc.get(c.get("name"))
                if n is None:
                    continue
                r = n.get("resources")
                c["resources"] = dcopy(r) if isinstance(r, dict) else {}
                if "resizePolicy" in n:
                    c["resizePolicy"] = dcopy(n["resizePolicy"])
                else:
                    c.pop("resizePolicy", None)
            validate_quantities(out)
            validate_pod_resize(cur, out, self.minor)
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
