"""The control API under /_fake/ and the fault injection it configures. A mixin of the Handler."""

import json
import re
import time
import uuid

from .common import dcopy, now_iso
from .errors import ApiError, status_body
from .kinds import RES_POD, res_for_object
from .kubelet_pod import KUBELET_CHOICES


class ControlMixin:
    """Uses self.fake and the Handler's send_json/abort_connection. Fault rules live in fake.faults (set
    through /_fake/faults); every request outside /_fake/ is matched against them before it is served."""

    # ---- fault injection
    def match_fault(self, method, path, query):
        """The first rule for this method and path (regex on path?query) that has hits left, counted."""
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

    def apply_fault(self, action, path, entry):
        """Does what a matching fault rule says before the request is served: wait, cut the connection,
        cut the reply in half, touch the pod, or answer with an error. True when the request is done."""
        if action.get("delay"):
            time.sleep(action["delay"])
        a = action["action"]
        if a == "drop":
            entry["status"] = "dropped"
            self.abort_connection()
            return True
        if a == "drop_mid":
            self._drop_mid = True
        if a == "touch":
            # Another writer (the kubelet's status write) gets in first: the pod the request
            # names is stored again under a new resourceVersion, then the request is served,
            # so one made on the pod as it was meets the 409 of its precondition.
            self.touch_pod(path)
        if a == "error":
            code = action.get("status", 500)
            reasons = {500: "InternalError", 502: "BadGateway", 503: "ServiceUnavailable", 504: "Timeout", 429: "TooManyRequests", 401: "Unauthorized", 403: "Forbidden", 409: "Conflict"}
            msg = action.get("message") or {500: "Internal error occurred: injected", 503: "the server is currently unable to handle the request"}.get(code, "injected error")
            hdr = {"Retry-After": str(action["retry_after"])} if action.get("retry_after") is not None else None
            entry["status"] = code
            self.send_json(code, status_body(code, reasons.get(code, "InternalError"), msg, action.get("details")), hdr)
            return True
        return False

    def touch_pod(self, path):
        m = re.match(r"^/api/v1/namespaces/([^/]+)/pods/([^/]+)", path)
        if not m:
            return
        store = self.fake.store
        with store.lock:
            pod = store.get(RES_POD.key, m.group(1), m.group(2))
            if pod is not None:
                store.put(RES_POD.key, dcopy(pod))

    # ---- control API
    def control(self, method, path, q, body):
        """A /_fake/ request: its JSON body, then the endpoint of CONTROL_ENDPOINTS for the path and method;
        anything else is a 404."""
        try:
            data = json.loads(body) if body else {}
        except ValueError as e:
            self.send_json(400, {"error": "bad json: %s" % e})
            return
        p = path[len("/_fake/"):].strip("/")
        endpoint = self.CONTROL_ENDPOINTS.get(p)
        if endpoint is None or (endpoint[0] is not None and method not in endpoint[0]):
            self.send_json(404, {"error": "no control endpoint %s %s" % (method, path)})
            return
        endpoint[1](self, method, q, data)

    def control_state(self, method, q, data):
        fake = self.fake
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

    def control_reset(self, method, q, data):
        fake = self.fake
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
        return self.send_json(200, {"ok": True})

    def control_requests(self, method, q, data):
        fake = self.fake
        with fake.lock:
            if method == "DELETE":
                fake.requests.clear()
                return self.send_json(200, {"ok": True})
            out = list(fake.requests)
            if q.get("clear") in ("1", "true"):
                fake.requests.clear()
        return self.send_json(200, {"requests": out})

    def control_faults(self, method, q, data):
        fake = self.fake
        with fake.lock:
            if method == "DELETE":
                fake.faults = []
                fake.watch_drop = None
                return self.send_json(200, {"ok": True})
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

    def control_watch_drop(self, method, q, data):
        fake = self.fake
        with fake.lock:
            if method == "DELETE" or not data:
                fake.watch_drop = None
            else:
                fake.watch_drop = {"after": float(data.get("after", 1.0)), "until": time.time() + float(data.get("duration", 60)), "mode": data.get("mode", "close")}
        return self.send_json(200, {"ok": True})

    def control_close_watches(self, method, q, data):
        fake = self.fake
        with fake.store.lock:
            for w in fake.store.watchers:
                w.abort = True
                w.hard = data.get("mode", "close") == "close"
            fake.store.cond.notify_all()
        return self.send_json(200, {"ok": True})

    def control_watch_settings(self, method, q, data):
        fake = self.fake
        with fake.lock:
            if "bookmark_interval" in data:
                fake.bookmark_interval = float(data["bookmark_interval"])
            if "default_timeout" in data:
                fake.default_watch_timeout = float(data["default_timeout"])
            if "history" in data:
                fake.store.history_size = int(data["history"])
        return self.send_json(200, {"ok": True})

    def control_compact(self, method, q, data):
        fake = self.fake
        fake.store.compact()
        return self.send_json(200, {"ok": True, "floor": fake.store.floor})

    def control_tokens(self, method, q, data):
        fake = self.fake
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
        return self.send_json(200, {"ok": True})

    def control_forbid(self, method, q, data):
        fake = self.fake
        with fake.lock:
            if method == "DELETE":
                fake.forbid = []
            else:
                fake.forbid.extend(data.get("rules") or [data])
        return self.send_json(200, {"ok": True})

    def control_version(self, method, q, data):
        fake = self.fake
        with fake.lock:
            if "version" in data:
                fake.version = str(data["version"])
            if "feature_gate" in data:
                fake.feature_gate = bool(data["feature_gate"])
        return self.send_json(200, {"ok": True, "version": fake.version, "resize_mode": fake.resize_mode})

    def control_kubelet_writes(self, method, q, data):
        fake = self.fake
        with fake.lock:
            out = list(fake.kubelet_writes)
            if method == "DELETE" or q.get("clear") in ("1", "true"):
                fake.kubelet_writes.clear()
        return self.send_json(200, {"writes": out})

    def control_kubelet(self, method, q, data):
        fake = self.fake
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

    def control_controller(self, method, q, data):
        fake = self.fake
        with fake.lock:
            if method in ("POST", "PUT"):
                for k, v in data.items():
                    if k == "log":
                        continue
                    fake.controller[k] = v
            return self.send_json(200, {"ok": True, "controller": fake.controller})

    def control_objects(self, method, q, data):
        fake = self.fake
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

    def control_save(self, method, q, data):
        fake = self.fake
        fake.save_state()
        return self.send_json(200, {"ok": True})

    # /_fake/PATH -> (the methods it answers, None for any; the method that serves it)
    CONTROL_ENDPOINTS = {
        "state": (("GET",), control_state),
        "reset": (("POST",), control_reset),
        "requests": (None, control_requests),
        "faults": (None, control_faults),
        "watch-drop": (None, control_watch_drop),
        "close-watches": (("POST",), control_close_watches),
        "watch": (None, control_watch_settings),
        "compact": (("POST",), control_compact),
        "tokens": (None, control_tokens),
        "forbid": (None, control_forbid),
        "version": (("POST", "PUT"), control_version),
        "kubelet/writes": (None, control_kubelet_writes),
        "kubelet": (None, control_kubelet),
        "controller": (None, control_controller),
        "objects": (("POST", "PUT"), control_objects),
        "save": (("POST",), control_save),
    }
