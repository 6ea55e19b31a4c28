"""The patch types of a PATCH request: strategic merge, JSON merge (RFC 7386) and JSON patch (RFC 6902)."""

from .common import dcopy

SMP_MERGE_KEYS = {
    "containers": "name",
    "initContainers": "name",
    "ephemeralContainers": "name",
    "containerStatuses": "name",
    "initContainerStatuses": "name",
    "ephemeralContainerStatuses": "name",
    "conditions": "type",
    "env": "name",
    "volumes": "name",
    "volumeMounts": "mountPath",
    "ports": "containerPort",
    "ownerReferences": "uid",
    "podIPs": "ip",
    "hostIPs": "ip",
    "imagePullSecrets": "name",
    "readinessGates": "conditionType",
}


def _strip_directives(v):
    if isinstance(v, dict):
        return {k: _strip_directives(x) for k, x in v.items() if not k.startswith("$")}
    if isinstance(v, list):
        return [_strip_directives(x) for x in v]
    return v


def strategic_merge(orig, patch):
    """Strategic merge patch for the core/apps types: lists named in SMP_MERGE_KEYS merge by key,
    every other list is replaced; null deletes; $patch replace/delete; other $ directives ignored."""
    if not isinstance(patch, dict):
        return dcopy(patch)
    if not isinstance(orig, dict):
        orig = {}
    if patch.get("$patch") == "replace":
        return _strip_directives(patch)
    result = dcopy(orig)
    for k, v in patch.items():
        if k.startswith("$"):
            continue
        if v is None:
            result.pop(k, None)
        elif isinstance(v, dict):
            if v.get("$patch") == "delete":
                result.pop(k, None)
            else:
                result[k] = strategic_merge(result.get(k), v)
        elif isinstance(v, list) and k in SMP_MERGE_KEYS and isinstance(result.get(k), list):
            result[k] = _merge_list(result[k], v, SMP_MERGE_KEYS[k])
        else:
            result[k] = _strip_directives(v)
    retain = patch.get("$retainKeys")
    if isinstance(retain, list):
        for k in list(result.keys()):
            if k not in retain and k not in patch:
                del result[k]
    return result


def _merge_list(orig, patch, key):
    if any(isinstance(i, dict) and i.get("$patch") == "replace" for i in patch):
        return [_strip_directives(i) for i in patch if not (isinstance(i, dict) and i.get("$patch") == "replace")]
    out = dcopy(orig)
    for item in patch:
        if not isinstance(item, dict) or key not in item:
            out.append(_strip_directives(item))
            continue
        idx = next((i for i, o in enumerate(out) if isinstance(o, dict) and o.get(key) == item[key]), None)
        if item.get("$patch") == "delete":
            if idx is not None:
                del out[idx]
        elif idx is not None:
            out[idx] = strategic_merge(out[idx], item)
        else:
            out.append(strategic_merge({}, item))
    return out


def merge_patch(orig, patch):
    """RFC 7386 JSON merge patch."""
    if not isinstance(patch, dict):
        return dcopy(patch)
    result = dcopy(orig) if isinstance(orig, dict) else {}
    for k, v in patch.items():
        if v is None:
            result.pop(k, None)
        else:
            result[k] = merge_patch(result.get(k), v)
    return result


class JsonPatchError(Exception):
    pass


def _ptr_parts(path):
    if path == "":
        return []
    if not path.startswith("/"):
        raise JsonPatchError('add operation does not apply: doc is missing path: "%s"' % path)
    return [p.replace("~1", "/").replace("~0", "~") for p in path[1:].split("/")]


def _ptr_parent(doc, parts, op, path):
    cur = doc
    for p in parts[:-1]:
        if isinstance(cur, dict) and p in cur:
            cur = cur[p]
        elif isinstance(cur, list) and p.isdigit() and int(p) < len(cur):
            cur = cur[int(p)]
        else:
            raise JsonPatchError('%s operation does not apply: doc is missing path: "%s"' % (op, path))
    return cur


def json_patch(doc, ops):
    """RFC 6902 JSON patch."""
    if not isinstance(ops, list):
        raise JsonPatchError("json: cannot unmarshal object into Go value of type jsonpatch.Patch")
    doc = dcopy(doc)
    for op in ops:
        if not isinstance(op, dict):
            raise JsonPatchError("invalid JSON patch operation")
        if not isinstance(op.get("path", ""), str) or not isinstance(op.get("from", ""), str):
            raise JsonPatchError("json: cannot unmarshal number into Go value of type string")
        kind = op.get("op")
        path = op.get("path", "")

        def get(p):
            parts = _ptr_parts(p)
            if not parts:
                return doc
            parent = _ptr_parent(doc, parts, kind, p)
            last = parts[-1]
            if isinstance(parent, dict) and last in parent:
                return parent[last]
            if isinstance(parent, list) and last.isdigit() and int(last) < len(parent):
                return parent[int(last)]
            raise JsonPatchError('%s operation does not apply: doc is missing path: "%s"' % (kind, p))

        def remove(p):
            parts = _ptr_parts(p)
            parent = _ptr_parent(doc, parts, kind, p)
            last = parts[-1]
            if isinstance(parent, dict) and last in parent:
                return parent.pop(last)
            if isinstance(parent, list) and last.isdigit() and int(last) < len(parent):
                return parent.pop(int(last))
            raise JsonPatchError('%s operation does not apply: doc is missing path: "%s"' % (kind, p))

        def add(p, value):
            nonlocal doc
            parts = _ptr_parts(p)
            if not parts:
                doc = value
                return
            parent = _ptr_parent(doc, parts, kind, p)
            last = parts[-1]
            if isinstance(parent, dict):
                parent[last] = value
            elif isinstance(parent, list):
                if last == "-":
                    parent.append(value)
                elif last.isdigit() and int(last) <= len(parent):
                    parent.insert(int(last), value)
                else:
                    raise JsonPatchError('%s operation does not apply: doc is missing path: "%s"' % (kind, p))
            else:
                raise JsonPatchError('%s operation does not apply: doc is missing path: "%s"' % (kind, p))

        if kind == "add":
            add(path, dcopy(op.get("value")))
        elif kind == "remove":
            remove(path)
        elif kind == "replace":
            get(path)
            remove(path) if _ptr_parts(path) else None
            add(path, dcopy(op.get("value")))
        elif kind == "move":
            v = remove(op.get("from", ""))
            add(path, v)
        elif kind == "copy":
            add(path, dcopy(get(op.get("from", ""))))
        elif kind == "test":
            if get(path) != op.get("value"):
                raise JsonPatchError("testing value %s failed: test failed" % path)
        else:
            raise JsonPatchError("Unexpected kind: %s" % kind)
    return doc
