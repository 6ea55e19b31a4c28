"""The control API under /_fake/ and the fault injection it configures. A mixin of the Handler."""

import json
import re
import time
import uuid

from .common import dcopy, now_iso
from .errors import ApiError
from .kinds import RES_POD, res_for_object
from .kubelet_pod import KUBELET_CHOICES


class ControlMixin:
    """Uses self.fake and the Handler's send_json/abort_connection. Fault rules live in fake.faults (set
    through /_fake/faults); every request outside /_fake/ is matched against them before it is served."""

    def touch_pod(self, path):
        m = re.match(r"^/api/v1/namespaces/([^/]+)/pods/([^/]+)", path)
        if not m:
            return
        store = self.fake.store
        with store.lock:
            pod = store.get(RES_POD.key, m.group(1), m.group(2))
            if pod is not None:
                store.put(RES_POD.key, dcopy(pod))

    def match_fault(self, method, path, query):
        fake = self.fake
        with fake.lock:
            for rule in list(fake.faults):
                if rule.get("method") and rule["method"].upper() != method:
                    continue
                target = path + ("?" + query if query else "")
                if rule.get("path") and not re.search(rule["path"], target):
                    continue
                if rule.get("count", -1) == 0:
                    continue
                if rule.get("count", -1) > 0:
                    rule["count"] -= 1
                rule["hits"] = rule.get("hits", 0) + 1
                if rule.get("count", -1) == 0 and not rule.get("keep"):
                    fake.faults.remove(rule)
                return dict(rule)
        return None

    def control(self, method, path, q, body):
        fake = self.fake
        try:
            data = json.loads(body) if body else {}
        except ValueError as e:
            self.send_json(400, {"error": "bad json: %s" % e})
            return
        p = path[len("/_fake/"):].strip("/")
        ok = {"ok": True}
        if p == "state" and method == "GET":
            with fake.lock:
                st = {
                    "resourceVersion": str(fake.store.rv),
                    "floor": fake.store.floor,
                    "version": fake.version,
                    "feature_gate": fake.feature_gate,
                    "resize_mode": fake.resize_mode,
                    "pods": [dcopy(o) for o in fake.store.items(RES_POD.key)],
                    "objects": {k: [dcopy(o) for o in fake.store.items(k)] for k in fake.store.objs},
                    "watches": len(fake.store.watchers),
                    "controller_log": list(fake.controller["log"]),
                    "kubelet": {k: v for k, v in fake.kubelet.items()},
                }
            return self.send_json(200, st)
        if p == "reset" and method == "POST":
            with fake.lock:
                fake.store.reset()
                fake.faults = []
                fake.watch_drop = None
                fake.requests.clear()
                fake.forbid = []
                fake.kubelet_seen = {}
                fake.kubelet_pods = {}
                fake.kubelet_writes.clear()
                fake.controller["log"] = []
            return self.send_json(200, ok)
        if p == "requests":
            with fake.lock:
                if method == "DELETE":
                    fake.requests.clear()
                    return self.send_json(200, ok)
                out = list(fake.requests)
                if q.get("clear") in ("1", "true"):
                    fake.requests.clear()
            return self.send_json(200, {"requests": out})
        if p == "faults":
            with fake.lock:
                if method == "DELETE":
                    fake.faults = []
                    fake.watch_drop = None
                    return self.send_json(200, ok)
                if method == "GET":
                    return self.send_json(200, {"faults": fake.faults, "watch_drop": fake.watch_drop})
                rules = data.get("rules") if "rules" in data else [data]
                ids = []
                for r in rules:
                    r = dict(r)
                    if r.get("action") not in ("error", "delay", "drop", "drop_mid", "touch"):
                        return self.send_json(400, {"error": "unknown action %r" % r.get("action")})
                    fake.fault_seq += 1
                    r["id"] = fake.fault_seq
                    r.setdefault("count", -1)
                    re.compile(r.get("path") or "")
                    fake.faults.append(r)
                    ids.append(r["id"])
            return self.send_json(200, {"ok": True, "ids": ids})
        if p == "watch-drop":
            with fake.lock:
                if method == "DELETE" or not data:
                    fake.watch_drop = None
                else:
                    fake.watch_drop = {"after": float(data.get("after", 1.0)), "until": time.time() + float(data.get("duration", 60)), "mode": data.get("mode", "close")}
            return self.send_json(200, ok)
        if p == "close-watches" and method == "POST":
            with fake.store.lock:
                for w in fake.store.watchers:
                    w.abort = True
                    w.hard = data.get("mode", "close") == "close"
                fake.store.cond.notify_all()
            return self.send_json(200, ok)
        if p == "watch":
            with fake.lock:
                if "bookmark_interval" in data:
                    fake.bookmark_interval = float(data["bookmark_interval"])
                if "default_timeout" in data:
                    fake.default_watch_timeout = float(data["default_timeout"])
                if "history" in data:
                    fake.store.history_size = int(data["history"])
            return self.send_json(200, ok)
        if p == "compact" and method == "POST":
            fake.store.compact()
            return self.send_json(200, {"ok": True, "floor": fake.store.floor})
        if p == "tokens":
            with fake.lock:
                if method == "GET":
                    return self.send_json(200, {"tokens": fake.tokens})
                for tok, spec in (data.get("set") or {}).items():
                    spec = dict(spec or {})
                    if "expires_in" in spec:
                        spec["expires"] = time.time() + float(spec.pop("expires_in"))
                    spec.setdefault("user", "admin")
                    fake.tokens[tok] = spec
                for tok in data.get("remove") or []:
                    fake.tokens.pop(tok, None)
                for tok in data.get("expire") or []:
                    if tok in fake.tokens:
                        fake.tokens[tok]["expires"] = time.time()
                if data.get("replace") is not None:
                    fake.tokens = {}
                    for tok, spec in data["replace"].items():
                        spec = dict(spec or {})
                        spec.setdefault("user", "admin")
                        fake.tokens[tok] = spec
            return self.send_json(200, ok)
        if p == "forbid":
            with fake.lock:
                if method == "DELETE":
                    fake.forbid = []
                else:
                    fake.forbid.extend(data.get("rules") or [data])
            return self.send_json(200, ok)
        if p == "version" and method in ("POST", "PUT"):
            with fake.lock:
                if "version" in data:
                    fake.version = str(data["version"])
                if "feature_gate" in data:
                    fake.feature_gate = bool(data["feature_gate"])
            return self.send_json(200, {"ok": True, "version": fake.version, "resize_mode": fake.resize_mode})
        if p == "kubelet/writes":
            with fake.lock:
                out = list(fake.kubelet_writes)
                if method == "DELETE" or q.get("clear") in ("1", "true"):
                    fake.kubelet_writes.clear()
            return self.send_json(200, {"writes": out})
        if p == "kubelet":
            with fake.lock:
                if method in ("POST", "PUT"):
                    for k, v in data.items():
                        if k == "pods":
                            for pk, pv in v.items():
                                if pv is None:
                                    fake.kubelet["pods"].pop(pk, None)
                                else:
                                    fake.kubelet["pods"][pk] = pv
                        elif k in KUBELET_CHOICES and v not in KUBELET_CHOICES[k]:
                            return self.send_json(400, {"error": "kubelet %s must be one of %s" % (k, ", ".join(map(str, KUBELET_CHOICES[k])))})
                        elif k in fake.kubelet:
                            fake.kubelet[k] = v
                        else:
                            return self.send_json(400, {"error": "unknown kubelet key %s" % k})
                return self.send_json(200, {"ok": True, "kubelet": fake.kubelet})
        if p == "controller":
            with fake.lock:
                if method in ("POST", "PUT"):
                    for k, v in data.items():
                        if k == "log":
                            continue
                        fake.controller[k] = v
                return self.send_json(200, {"ok": True, "controller": fake.controller})
        if p == "objects" and method in ("POST", "PUT"):
            # store an object as given (no validation, no defaulting) - seeds state for tests
            objs = data.get("items") if "items" in data else [data]
            out = []
            for o in objs:
                try:
                    r = res_for_object(o)
                except ApiError as e:
                    return self.send_json(400, e.body)
                o = dcopy(o)
                md = o.setdefault("metadata", {})
                if r.namespaced:
                    md.setdefault("namespace", "default")
                with fake.lock:
                    cur = fake.store.get(r.key, md.get("namespace", ""), md.get("name"))
                    md.setdefault("uid", cur["metadata"]["uid"] if cur else str(uuid.uuid4()))
                    md.setdefault("creationTimestamp", cur["metadata"]["creationTimestamp"] if cur else now_iso())
                    if r is RES_POD and "generation" not in md and fake.minor >= 33:
                        md["generation"] = cur["metadata"].get("generation", 1) if cur else 1
                    out.append(fake.store.put(r.key, o))
            return self.send_json(200, {"ok": True, "items": out})
        if p == "save" and method == "POST":
            fake.save_state()
            return self.send_json(200, ok)
        self.send_json(404, {"error": "no control endpoint %s %s" % (method, path)})
