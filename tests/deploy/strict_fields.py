"""Unknown-field check (what `kubeconform -strict` adds to schema validation): walks an object
against the TypeScript declarations that the npm package kubernetes-models ships for every
Kubernetes type (*.d.ts: one interface per type, its properties and their types) and names every
field the type does not have. Maps (`{ [key: string]: … }`) and scalar types are leaves."""

import os
import re

IMPORT_RE = re.compile(r'^import \{ (\w+) \} from "([^"]+)";', re.M)
PROP_RE = re.compile(r'^    "([^"]+)"\??: (.+?);?$', re.M)


class Types:
    def __init__(self, node_modules):
        self.nm = node_modules
        self.cache = {}

    def resolve(self, base_file, spec):
        if spec.startswith("."):
            p = os.path.normpath(os.path.join(os.path.dirname(base_file), spec))
        else:
            p = os.path.join(self.nm, spec)
        p = re.sub(r"\.js$", "", p)
        return p + ".d.ts"

    def props(self, path):
        """{field: (kind, dts path or None)} of the first interface in a .d.ts file."""
        if path in self.cache:
            return self.cache[path]
        text = open(path).read()
        imports = {name: self.resolve(path, spec) for name, spec in IMPORT_RE.findall(text)}
        m = re.search(r"^export interface \w+[^{]*\{\n(.*?)^\}", text, re.M | re.S)
        out = {}
        if m:
            for name, typ in PROP_RE.findall(m.group(1)):
                typ = typ.strip().rstrip(";")
                arr = re.fullmatch(r"Array<(\w+)>", typ)
                if arr and arr.group(1) in imports:
                    out[name] = ("array", imports[arr.group(1)])
                elif typ in imports:
                    out[name] = ("object", imports[typ])
                else:
                    out[name] = ("leaf", None)
        self.cache[path] = out
        return out

    def unknown(self, obj, path, where=""):
        errs = []
        if not isinstance(obj, dict) or not os.path.exists(path):
            return errs
        props = self.props(path)
        if not props:
            return errs
        for k, v in obj.items():
            if k not in props:
                errs.append("%s.%s: unknown field" % (where, k))
                continue
            kind, sub = props[k]
            if kind == "object":
                errs += self.unknown(v, sub, "%s.%s" % (where, k))
            elif kind == "array" and isinstance(v, list):
                for i, item in enumerate(v):
                    errs += self.unknown(item, sub, "%s.%s[%d]" % (where, k, i))
        return errs


def check(node_modules, doc):
    """Unknown fields of one object, or None when there is no declaration for its kind."""
    av = doc["apiVersion"]
    group, version = av.split("/") if "/" in av else ("", av)
    if group == "monitoring.coreos.com":
        pkg = "@kubernetes-models/prometheus-operator/" + group
    else:
        pkg = "kubernetes-models" + ("/" + group if group else "")
    path = os.path.join(node_modules, pkg, version, doc["kind"] + ".d.ts")
    if not os.path.exists(path):
        return None
    return Types(node_modules).unknown(doc, path, doc["kind"])
