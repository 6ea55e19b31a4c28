"""The pod registry: a pod's updates (the pod itself, status, the resize subresource) and the start of its
graceful delete. A mixin of the Fake."""

from .common import dcopy, now_iso
from .errors import FieldErr, err_invalid
from .kinds import RES_POD
from .pod_rules import (
    POD_UPDATE_FORBIDDEN, bump_generation, pod_qos, pod_spec_update_diff, pod_status_default,
    resources_changed, validate_pod_resize, validate_quantities,
)
from .versions import RESIZE_SPEC


class PodsMixin:
    """Uses self.store and self.resize_mode of the Fake."""

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
