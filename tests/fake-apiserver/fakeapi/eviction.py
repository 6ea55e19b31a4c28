"""The eviction subresource: PodDisruptionBudget checks, the DisruptionTarget condition and the graceful
delete. A mixin of the Fake."""

from .common import dcopy, now_iso
from .decoding import check_delete_options
from .errors import ApiError, err_bad_request, err_not_found, status_body
from .kinds import RES_PDB, RES_POD
from .selectors import match_label_selector_obj


class EvictionMixin:
    """Uses self.store and self.lock of the Fake, mark_terminating (PodsMixin) and on_pod_gone
    (ControllerMixin)."""

    def evict(self, ns, name, body, q):
        if not isinstance(body, dict):
            raise err_bad_request("Eviction body must be an object")
        opts = check_delete_options(body.get("deleteOptions"))
        dry_run = "All" in (opts.get("dryRun") or []) or q.get("dryRun") == "All"
        with self.lock:
            pod = self.store.get(RES_POD.key, ns, name)
            if pod is None:
                raise err_not_found(RES_POD, name)
            pre = opts.get("preconditions") or {}
            if pre.get("uid") and pre["uid"] != pod["metadata"]["uid"]:
                raise ApiError(
                    409,
                    status_body(
                        409,
                        "Conflict",
                        'Operation cannot be fulfilled on Pod "%s": the UID in the precondition (%s) does not match the UID '
                        "in record (%s). The object might have been deleted and then recreated"
                        % (name, pre["uid"], pod["metadata"]["uid"]),
                        {"name": name, "kind": "Pod"},
                    ),
                )
            ok = status_body(201, None, None, status="Success")
            if pod["metadata"].get("deletionTimestamp"):
                return ok
            phase = (pod.get("status") or {}).get("phase")
            if phase not in ("Succeeded", "Failed", "Pending"):
                self.check_disruption_budget(ns, name, pod, dry_run)
            if dry_run:
                return ok
            # DisruptionTarget condition first, then the graceful delete
            p2 = dcopy(pod)
            conds = p2.setdefault("status", {}).setdefault("conditions", [])
            conds[:] = [c for c in conds if c.get("type") != "DisruptionTarget"]
            conds.append(
                {
                    "type": "DisruptionTarget",
                    "status": "True",
                    "lastProbeTime": None,
                    "lastTransitionTime": now_iso(),
                    "reason": "EvictionByEvictionAPI",
                    "message": "Eviction API: evicting",
                }
            )
            p2 = self.store.put(RES_POD.key, p2)
            grace = opts.get("gracePeriodSeconds")
            if grace is None:
                grace = p2["spec"].get("terminationGracePeriodSeconds", 30)
            if grace > 0 and p2["spec"].get("nodeName") and phase not in ("Succeeded", "Failed"):
                self.mark_terminating(p2, grace)
            else:
                gone = self.store.remove(RES_POD.key, ns, name)
                self.on_pod_gone(gone)
            return ok

    def check_disruption_budget(self, ns, name, pod, dry_run):
        """Under the lock: the one PDB whose selector matches the pod must allow a disruption (a 429 with
        the cause otherwise, a 500 for several PDBs); a real eviction takes one from its status."""
        pdbs = [
            p
            for p in self.store.items(RES_PDB.key, ns)
            if isinstance((p.get("spec") or {}).get("selector"), dict)
            and match_label_selector_obj(p["spec"]["selector"], pod["metadata"].get("labels"))
        ]
        if len(pdbs) > 1:
            raise ApiError(
                500,
                status_body(
                    500,
                    None,
                    "This pod has more than one PodDisruptionBudget, which the eviction subresource does not support.",
                ),
            )
        if pdbs:
            pdb = pdbs[0]
            st = pdb.get("status") or {}
            pname = pdb["metadata"]["name"]
            msg = "Cannot evict pod as it would violate the pod's disruption budget."
            if st.get("observedGeneration", 0) < pdb["metadata"].get("generation", 1):
                raise ApiError(
                    429,
                    status_body(
                        429,
                        "TooManyRequests",
                        msg,
                        {
                            "causes": [
                                {
                                    "reason": "DisruptionBudget",
                                    "message": "The disruption budget %s is still being processed by the server." % pname,
                                }
                            ],
                            "retryAfterSeconds": 10,
                        },
                    ),
                    {"Retry-After": "10"},
                )
            if st.get("disruptionsAllowed", 0) < 0:
                raise ApiError(403, status_body(403, "Forbidden", "pdb disruptions allowed is negative"))
            if st.get("disruptionsAllowed", 0) == 0:
                raise ApiError(
                    429,
                    status_body(
                        429,
                        "TooManyRequests",
                        msg,
                        {
                            "causes": [
                                {
                                    "reason": "DisruptionBudget",
                                    "message": "The disruption budget %s needs %d healthy pods and has %d currently"
                                    % (pname, st.get("desiredHealthy", 0), st.get("currentHealthy", 0)),
                                }
                            ]
                        },
                    ),
                )
            if not dry_run:
                npdb = dcopy(pdb)
                nst = npdb.setdefault("status", {})
                nst["disruptionsAllowed"] = nst.get("disruptionsAllowed", 0) - 1
                nst.setdefault("disruptedPods", {})[name] = now_iso()
                self.store.put(RES_PDB.key, npdb)
