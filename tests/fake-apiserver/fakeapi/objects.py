"""The verbs on any object (create, get, list, update/patch, delete), with optimistic concurrency and
generations. A mixin of the Fake."""

import base64
import json
import uuid

from .common import dcopy, now_iso, rand_suffix
from .decoding import check_object_types
from .errors import (
    ApiError, FieldErr, err_already_exists, err_bad_request, err_conflict, err_invalid,
    err_not_found, err_unsupported_media, gr_name, res_details, status_body,
)
from .hpa_rules import hpa_defaults, hpa_validate
from .kinds import RES_EVENT, RES_EVENT2, RES_HPA, RES_NODE, RES_PDB, RES_POD, event_to_core, to_external, to_internal
from .patches import JsonPatchError, json_patch, merge_patch, strategic_merge
from .pod_rules import canonicalize_resource_lists, validate_quantities
from .selectors import fields_match, labels_match, parse_field_selector, parse_label_selector


class ObjectsMixin:
    """Uses self.store and self.lock of the Fake; pods go through the PodsMixin (prepare_pod_create,
    pod_update, delete_pod)."""

    def new_meta(self, res, obj, ns, defer_name=False):
        md = obj.setdefault("metadata", {})
        if not isinstance(md, dict):
            raise err_bad_request("metadata must be an object")
        if res.namespaced:
            if md.get("namespace") and ns and md["namespace"] != ns:
                raise ApiError(
                    400,
                    status_body(
                        400,
                        "BadRequest",
                        "the namespace of the provided object does not match the namespace sent on the request",
                    ),
                )
            md["namespace"] = ns or md.get("namespace") or "default"
        else:
            md.pop("namespace", None)
        if not md.get("name"):
            if md.get("generateName"):
                # pods keep an empty name through admission, like the real apiserver
                if not defer_name:
                    md["name"] = md["generateName"] + rand_suffix()
            else:
                raise err_invalid(
                    res.kind,
                    "",
                    [FieldErr("FieldValueRequired", "metadata.name", "name or generateName is required")],
                    group=res.group or None,
                )
        md["uid"] = str(uuid.uuid4())
        md.pop("resourceVersion", None)
        md["creationTimestamp"] = now_iso()
        for k in ("deletionTimestamp", "deletionGracePeriodSeconds", "managedFields", "selfLink"):
            md.pop(k, None)
        # HPAs: the registry's strategy sets no generation (seen on kube-apiserver 1.36.2)
        if res.resource not in ("events", "serviceaccounts", "configmaps", "namespaces", "nodes", "leases",
                                "horizontalpodautoscalers") and res.group != "rbac.authorization.k8s.io":
            # pods carry metadata.generation only from 1.33 on (KEP-5067)
            if res is not RES_POD or self.minor >= 33:
                md["generation"] = 1
        obj["apiVersion"] = res.api_version
        obj["kind"] = res.kind
        # the real server writes kind/apiVersion first, then metadata, spec, status
        ordered = {"kind": obj["kind"], "apiVersion": obj["apiVersion"], "metadata": obj["metadata"]}
        for k, v in obj.items():
            if k not in ordered:
                ordered[k] = v
        return ordered

    def create(self, res, ns, obj, dry_run=False, via_controller=False):
        if not isinstance(obj, dict):
            raise err_bad_request("Object 'Kind' is missing in '%s'" % json.dumps(obj))
        check_object_types(res.kind, obj)
        obj = self.new_meta(res, dcopy(obj), ns, defer_name=res is RES_POD)
        if res is RES_POD:
            obj = self.prepare_pod_create(obj, dry_run, via_controller)
        elif res is RES_EVENT:
            for k, v in (("eventTime", None), ("reportingComponent", ""), ("reportingInstance", "")):
                obj.setdefault(k, v)
        elif res is RES_EVENT2:
            if not obj.get("eventTime"):
                raise err_invalid(
                    "Event", obj["metadata"]["name"], [FieldErr("FieldValueRequired", "eventTime", "")], group=None
                )
            obj = event_to_core(obj)
            for k, v in (("reportingComponent", ""), ("reportingInstance", ""), ("source", {})):
                obj.setdefault(k, v)
        elif res is RES_NODE:
            canonicalize_resource_lists(obj)
        elif res is RES_PDB:
            obj["status"] = {"disruptionsAllowed": 0, "currentHealthy": 0, "desiredHealthy": 0, "expectedPods": 0}
        elif res is RES_HPA:
            hpa_validate(hpa_defaults(obj))
        with self.lock:
            md = obj["metadata"]
            if self.store.get(res.key, md.get("namespace"), md["name"]) is not None:
                raise err_already_exists(res, md["name"])
            if dry_run:
                return to_external(res, obj)
            return to_external(res, self.store.put(res.key, obj, "ADDED"))

    def get(self, res, ns, name):
        with self.lock:
            o = self.store.get(res.key, ns, name)
            if o is None:
                raise err_not_found(res, name)
            o = dcopy(o)
        return to_external(res, o)

    def list(self, res, ns, q):
        lsel = parse_label_selector(q.get("labelSelector", ""))
        fsel = parse_field_selector(q.get("fieldSelector", ""), res.kind)
        after = None
        rv = None
        if q.get("continue"):
            # pages are cut by (namespace, name); the token carries the first page's resourceVersion
            try:
                tok = json.loads(base64.urlsafe_b64decode(q["continue"].encode()))
                after, rv = tuple(tok["after"]), tok["rv"]
            except (ValueError, KeyError, TypeError):
                raise err_bad_request("continue key is not valid: illegal base64 data at input byte 0")
        try:
            limit = int(q.get("limit") or 0)
        except ValueError:
            raise err_bad_request("limit: Invalid value")
        with self.lock:
            matched = [
                o
                for o in self.store.items(res.key, ns)
                if labels_match(lsel, o["metadata"].get("labels")) and fields_match(fsel, o)
                and (after is None or (o["metadata"].get("namespace", ""), o["metadata"]["name"]) > after)
            ]
            rv = rv or str(self.store.rv)
            page = matched[:limit] if limit > 0 else matched
            items = [to_external(res, dcopy(o)) for o in page]
        md = {"resourceVersion": rv}
        if limit > 0 and len(matched) > limit:
            last = page[-1]["metadata"]
            md["continue"] = base64.urlsafe_b64encode(
                json.dumps({"rv": rv, "after": [last.get("namespace", ""), last["name"]]}).encode()
            ).decode()
            md["remainingItemCount"] = len(matched) - limit
        for o in items:
            o.pop("kind", None)
            o.pop("apiVersion", None)
        return {"kind": res.kind + "List", "apiVersion": res.api_version, "metadata": md, "items": items}

    def apply_patch(self, cur, ctype, body):
        ctype = (ctype or "").split(";")[0].strip()
        try:
            patch = json.loads(body.decode() if body else "null")
        except ValueError as e:
            if ctype == "application/apply-patch+yaml":
                raise err_bad_request("error decoding YAML: %s" % e)
            raise err_bad_request("error decoding patch: %s" % e)
        if ctype == "application/strategic-merge-patch+json":
            if not isinstance(patch, dict):
                raise err_bad_request("error decoding patch: json: cannot unmarshal into Go value of type map[string]interface {}")
            return strategic_merge(cur, patch), patch
        if ctype == "application/merge-patch+json":
            return merge_patch(cur, patch), patch
        if ctype == "application/json-patch+json":
            try:
                return json_patch(cur, patch), None
            except JsonPatchError as e:
                raise ApiError(422, status_body(422, "Invalid", str(e)))
        if ctype == "application/apply-patch+yaml":
            if not isinstance(patch, dict):
                raise err_bad_request("error decoding YAML: not an object")
            return strategic_merge(cur, patch), patch
        raise err_unsupported_media(ctype)

    def update(self, res, ns, name, sub, new, method, ctype, body, dry_run=False, q=None):
        """PUT (new = full object) and PATCH (ctype/body) of an object or its status."""
        with self.lock:
            cur = self.store.get(res.key, ns, name)
            if cur is None:
                raise err_not_found(res, name)
            cur = to_external(res, dcopy(cur))
            if method == "PATCH":
                new, _ = self.apply_patch(cur, ctype, body)
                if not isinstance(new, dict):
                    raise err_bad_request("patched object is not an object")
            else:
                if not isinstance(new, dict):
                    raise err_bad_request("body must be an object")
                nmd = new.get("metadata") or {}
                if nmd.get("name") and nmd.get("name") != name:
                    raise err_bad_request(
                        "the name of the object (%s) does not match the name on the URL (%s)" % (nmd.get("name"), name)
                    )
            # optimistic concurrency: a resourceVersion in the body (or left by the patch) must be current
            want = (new.get("metadata") or {}).get("resourceVersion") if isinstance(new.get("metadata"), dict) else None
            if want and want != cur["metadata"]["resourceVersion"]:
                raise err_conflict(res, name)
            check_object_types(res.kind, new)
            if res in (RES_POD, RES_NODE):
                validate_quantities(new)
                canonicalize_resource_lists(new)
            if res is RES_POD:
                out = self.pod_update(cur, new, sub, dry_run)
            else:
                out = self.generic_update(res, cur, new, sub)
            if out is None:
                return cur
            if dry_run:
                return out
            return to_external(res, self.store.put(res.key, to_internal(res, out)))

    def keep_immutable_meta(self, cur, new):
        md = dcopy(new.get("metadata") or {})
        cmd = cur["metadata"]
        for k in ("name", "namespace", "uid", "creationTimestamp", "generation", "deletionTimestamp", "deletionGracePeriodSeconds", "resourceVersion"):
            if k in cmd:
                md[k] = cmd[k]
            else:
                md.pop(k, None)
        md.pop("managedFields", None)
        return md

    def generic_update(self, res, cur, new, sub):
        if sub == "status":
            out = dcopy(cur)
            if "status" in new:
                out["status"] = dcopy(new["status"])
            return out
        out = dcopy(new)
        out["metadata"] = self.keep_immutable_meta(cur, new)
        out["kind"], out["apiVersion"] = cur["kind"], cur["apiVersion"]
        if "status" in cur and res.subs and "status" in res.subs:
            out["status"] = dcopy(cur["status"])
        if "generation" in cur["metadata"] and out.get("spec") != cur.get("spec"):
            out["metadata"]["generation"] = cur["metadata"]["generation"] + 1
        return out

    def delete(self, res, ns, name, opts, dry_run=False):
        with self.lock:
            cur = self.store.get(res.key, ns, name)
            if cur is None:
                raise err_not_found(res, name)
            pre = (opts or {}).get("preconditions") or {}
            if pre.get("uid") and pre["uid"] != cur["metadata"]["uid"]:
                raise ApiError(
                    409,
                    status_body(
                        409,
                        "Conflict",
                        'Operation cannot be fulfilled on %s "%s": Precondition failed: UID in precondition: %s, UID in object meta: %s'
                        % (gr_name(res), name, pre["uid"], cur["metadata"]["uid"]),
                        res_details(res, name),
                    ),
                )
            if pre.get("resourceVersion") and pre["resourceVersion"] != cur["metadata"]["resourceVersion"]:
                raise err_conflict(res, name)
            if res is RES_POD:
                return self.delete_pod(ns, name, cur, opts, dry_run)
            if dry_run:
                return status_body(200, None, None, dict(res_details(res, name), uid=cur["metadata"]["uid"]), status="Success")
            self.store.remove(res.key, ns, name)
            det = res_details(res, name)
            det["uid"] = cur["metadata"]["uid"]
            return status_body(200, None, None, det, status="Success")
