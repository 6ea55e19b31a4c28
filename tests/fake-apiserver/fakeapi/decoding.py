"""The apiserver's decoding step: a body with fields of the wrong JSON type is a 400 and is never stored;
DeleteOptions are checked the same way."""

from .errors import err_bad_request


def _type_err(kind, field, want, got):
    names = {dict: "object", list: "array", str: "string", int: "number", float: "number", bool: "bool"}
    return err_bad_request(
        '%s in version "v1" cannot be handled as a %s: json: cannot unmarshal %s into Go struct field %s of type %s'
        % (kind, kind, names.get(type(got), "null"), field, want)
    )


def check_object_types(kind, obj):
    """The decoding step of the real apiserver: fields of the wrong JSON type are a 400, never stored."""
    if not isinstance(obj, dict):
        raise _type_err(kind, kind, "object", obj)
    md = obj.get("metadata")
    if md is not None and not isinstance(md, dict):
        raise _type_err(kind, "%s.metadata" % kind, "v1.ObjectMeta", md)
    md = md or {}
    for f in ("name", "generateName", "namespace", "resourceVersion", "uid"):
        if md.get(f) is not None and not isinstance(md[f], str):
            raise _type_err(kind, "ObjectMeta.metadata.%s" % f, "string", md[f])
    for f in ("labels", "annotations"):
        v = md.get(f)
        if v is not None and (not isinstance(v, dict) or not all(isinstance(x, str) for x in v.values())):
            raise _type_err(kind, "ObjectMeta.metadata.%s" % f, "map[string]string", v)
    refs = md.get("ownerReferences")
    if refs is not None and (not isinstance(refs, list) or not all(isinstance(r, dict) for r in refs)):
        raise _type_err(kind, "ObjectMeta.metadata.ownerReferences", "[]v1.OwnerReference", refs)
    for f in ("spec", "status"):
        if obj.get(f) is not None and not isinstance(obj[f], dict):
            raise _type_err(kind, "%s.%s" % (kind, f), "object", obj[f])
    if kind == "Pod":
        spec = obj.get("spec") or {}
        if spec.get("nodeName") is not None and not isinstance(spec["nodeName"], str):
            raise _type_err(kind, "PodSpec.spec.nodeName", "string", spec["nodeName"])
        tol = spec.get("tolerations")
        if tol is not None and (not isinstance(tol, list) or not all(isinstance(t, dict) for t in tol)):
            raise _type_err(kind, "PodSpec.spec.tolerations", "[]v1.Toleration", tol)
        for key in ("initContainers", "containers"):
            cs = spec.get(key)
            if cs is None:
                continue
            if not isinstance(cs, list):
                raise _type_err(kind, "PodSpec.spec.%s" % key, "[]v1.Container", cs)
            for c in cs:
                if not isinstance(c, dict):
                    raise _type_err(kind, "PodSpec.spec.%s" % key, "v1.Container", c)
                if c.get("name") is not None and not isinstance(c["name"], str):
                    raise _type_err(kind, "Container.spec.%s.name" % key, "string", c["name"])
                res = c.get("resources")
                if res is not None and not isinstance(res, dict):
                    raise _type_err(kind, "Container.spec.%s.resources" % key, "v1.ResourceRequirements", res)
                for which in ("requests", "limits"):
                    rl = (res or {}).get(which)
                    if rl is not None and not isinstance(rl, dict):
                        raise _type_err(kind, "ResourceRequirements.spec.%s.resources.%s" % (key, which), "v1.ResourceList", rl)
                rp = c.get("resizePolicy")
                if rp is not None and (not isinstance(rp, list) or not all(isinstance(p, dict) for p in rp)):
                    raise _type_err(kind, "Container.spec.%s.resizePolicy" % key, "[]v1.ContainerResizePolicy", rp)
        st = obj.get("status") or {}
        for f in ("conditions", "containerStatuses", "initContainerStatuses"):
            v = st.get(f)
            if v is not None and (not isinstance(v, list) or not all(isinstance(x, dict) for x in v)):
                raise _type_err(kind, "PodStatus.status.%s" % f, "[]object", v)
        for cs in st.get("containerStatuses") or []:
            for f in ("state", "lastState", "resources", "allocatedResources"):
                if cs.get(f) is not None and not isinstance(cs[f], dict):
                    raise _type_err(kind, "ContainerStatus.status.containerStatuses.%s" % f, "object", cs[f])
        for f in ("phase", "podIP", "hostIP", "qosClass"):
            if st.get(f) is not None and not isinstance(st[f], str):
                raise _type_err(kind, "PodStatus.status.%s" % f, "string", st[f])
    if kind == "PodDisruptionBudget":
        st = obj.get("status") or {}
        for f in ("observedGeneration", "disruptionsAllowed", "currentHealthy", "desiredHealthy", "expectedPods"):
            if st.get(f) is not None and (isinstance(st[f], bool) or not isinstance(st[f], int)):
                raise _type_err(kind, "PodDisruptionBudgetStatus.status.%s" % f, "int32", st[f])
        sel = (obj.get("spec") or {}).get("selector")
        if sel is not None and not isinstance(sel, dict):
            raise _type_err(kind, "PodDisruptionBudgetSpec.spec.selector", "v1.LabelSelector", sel)


def check_delete_options(opts):
    """DeleteOptions from a body, type-checked the way the apiserver's decoder would."""
    if opts is None:
        return {}
    if not isinstance(opts, dict):
        raise err_bad_request("json: cannot unmarshal %s into Go value of type v1.DeleteOptions" % type(opts).__name__)
    g = opts.get("gracePeriodSeconds")
    if g is not None and (isinstance(g, bool) or not isinstance(g, int)):
        raise err_bad_request("json: cannot unmarshal into Go struct field DeleteOptions.gracePeriodSeconds of type int64")
    pre = opts.get("preconditions")
    if pre is not None and not isinstance(pre, dict):
        raise err_bad_request("json: cannot unmarshal into Go struct field DeleteOptions.preconditions")
    dr = opts.get("dryRun")
    if dr is not None and (not isinstance(dr, list) or not all(isinstance(x, str) for x in dr)):
        raise err_bad_request("json: cannot unmarshal into Go struct field DeleteOptions.dryRun of type []string")
    return dict(opts)
