"""Parse the recorded real kube-apiserver transcripts (NN-name.txt: request + response) and replay
them against the fake API server, comparing status codes, Status bodies and the key object fields."""

import copy
import json
import os
import re
import urllib.parse

UUID_RE = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
TIME_RE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$")
WATCH_LINE_RE = re.compile(r"^\[t\+\s*([0-9.]+)s\]\s*(\{.*\})\s*$")


class Transcript:
    def __init__(self, path):
        self.path = path
        self.file = os.path.basename(path)
        self.num = int(self.file.split("-", 1)[0])
        self.name = ""
        self.comment = ""
        self.as_user = "admin"
        self.method = None
        self.target = None
        self.req_headers = {}
        self.req_body = None
        self.status = None
        self.resp_headers = {}
        self.resp_body = None
        self.events = None
        self._parse()

    def _parse(self):
        with open(self.path, encoding="utf-8") as f:
            lines = f.read().split("\n")
        req_body, resp_body = [], []
        section = None
        for line in lines:
            if line.startswith("### ") and self.name == "":
                self.name = line[4:].strip()
            elif line.startswith("# as:"):
                self.as_user = line[5:].strip()
            elif line.startswith("# ") and section is None:
                self.comment = (self.comment + " " + line[2:]).strip()
            elif line.startswith(">>> "):
                section = "req"
                l = line[4:]
                if self.method is None:
                    self.method, self.target = l.split(" ")[0], l.split(" ")[1]
                elif ":" in l:
                    k, v = l.split(":", 1)
                    self.req_headers[k.strip().lower()] = v.strip()
            elif line.startswith("<<< "):
                section = "resp"
                l = line[4:]
                if self.status is None:
                    self.status = int(l.split(" ")[1])
                elif ":" in l:
                    k, v = l.split(":", 1)
                    self.resp_headers[k.strip().lower()] = v.strip()
            elif section == "req":
                req_body.append(line)
            elif section == "resp":
                resp_body.append(line)
        rb = "\n".join(req_body).strip()
        self.req_body = rb or None
        text = "\n".join(resp_body).strip()
        if text.startswith("[t+"):
            self.events = []
            for l in text.split("\n"):
                m = WATCH_LINE_RE.match(l.strip())
                if m:
                    self.events.append((float(m.group(1)), json.loads(m.group(2))))
        elif text:
            try:
                self.resp_body = json.loads(text)
            except ValueError:
                self.resp_body = text

    @property
    def path_only(self):
        return urllib.parse.urlsplit(self.target).path

    @property
    def query(self):
        return urllib.parse.parse_qs(urllib.parse.urlsplit(self.target).query, keep_blank_values=True)

    @property
    def is_watch(self):
        return self.query.get("watch", [""])[0] in ("1", "true")


def load_dir(d):
    out = []
    for f in sorted(os.listdir(d)):
        if re.match(r"^\d+-.*\.txt$", f):
            out.append(Transcript(os.path.join(d, f)))
    out.sort(key=lambda t: t.num)
    return out


# ---------------------------------------------------------------------------------------------
# normalisation and the fields compared


TOO_OLD_RE = re.compile(r"(too old resource version: \d+) \(\d+\)")


def norm_text(s):
    if not isinstance(s, str):
        return s
    # the number in brackets is the oldest version the server still has: it depends on the history
    return TOO_OLD_RE.sub(r"\1 (N)", UUID_RE.sub("<uid>", s))


def norm_times(o):
    if isinstance(o, dict):
        return {k: norm_times(v) for k, v in o.items()}
    if isinstance(o, list):
        return [norm_times(v) for v in o]
    if isinstance(o, str) and TIME_RE.match(o):
        return "<time>"
    return o


def first_line(s):
    return s.split("\n", 1)[0] if isinstance(s, str) else s


def status_view(b):
    """The parts of a Status a client acts on."""
    det = b.get("details")
    v = {
        "kind": b.get("kind"),
        "status": b.get("status"),
        "reason": b.get("reason"),
        # the 'pod updates may not change' message ends in a Go diff of internal types: compare its first line
        "message": first_line(norm_text(b.get("message"))),
        "code": b.get("code"),
    }
    if det is not None:
        v["details"] = {
            "name": det.get("name"),
            "group": det.get("group"),
            "kind": det.get("kind"),
            "retryAfterSeconds": det.get("retryAfterSeconds"),
            "causes": [
                {"reason": c.get("reason"), "field": c.get("field"), "message": first_line(norm_text(c.get("message")))}
                for c in det.get("causes") or []
            ],
        }
    return v


def meta_view(md):
    return {
        "name": md.get("name"),
        "namespace": md.get("namespace"),
        "generation": md.get("generation"),
        "labels": md.get("labels"),
        "annotations": md.get("annotations"),
        "ownerReferences": md.get("ownerReferences"),
        "deleting": "deletionTimestamp" in md,
        "deletionGracePeriodSeconds": md.get("deletionGracePeriodSeconds"),
    }


def obj_view(o):
    if not isinstance(o, dict):
        return o
    kind = o.get("kind")
    if kind == "Status":
        return status_view(o)
    v = {"kind": kind, "apiVersion": o.get("apiVersion")}
    if kind and kind.endswith("List"):
        v["items"] = [(i.get("metadata") or {}).get("name") for i in o.get("items") or []]
        return v
    if kind in ("APIResourceList",):
        v["groupVersion"] = o.get("groupVersion")
        v["pods"] = sorted(r["name"] for r in o.get("resources") or [] if r["name"].startswith("pods"))
        v["pod_entries"] = sorted(
            (json.dumps(r, sort_keys=True) for r in o.get("resources") or [] if r["name"].startswith("pods/")),
        )
        return v
    if "major" in o:
        return {k: o.get(k) for k in ("major", "minor", "gitVersion")}
    md = o.get("metadata") or {}
    v["metadata"] = meta_view(md)
    if kind == "Pod":
        v["spec"] = norm_times(o.get("spec"))
        st = norm_times(copy.deepcopy(o.get("status") or {}))
        v["status"] = st
    elif kind == "PodDisruptionBudget":
        st = o.get("status") or {}
        v["spec"] = o.get("spec")
        v["status"] = {
            "disruptionsAllowed": st.get("disruptionsAllowed"),
            "disruptedPods": sorted((st.get("disruptedPods") or {}).keys()),
            "observedGeneration": st.get("observedGeneration"),
        }
    elif kind == "Event":
        for k in ("reason", "message", "type", "count", "involvedObject", "eventTime", "reportingComponent",
                  "reportingInstance", "note", "action", "regarding", "reportingController", "source"):
            if k in o:
                v[k] = norm_times(o[k])
    elif kind in ("Node", "ServiceAccount", "ClusterRole", "ClusterRoleBinding"):
        pass
    else:
        v["spec"] = o.get("spec")
    return v


def diff_views(want, got, path=""):
    """List of human-readable differences between two views."""
    out = []
    if isinstance(want, dict) and isinstance(got, dict):
        for k in sorted(set(want) | set(got)):
            out += diff_views(want.get(k), got.get(k), path + "." + k)
    elif isinstance(want, list) and isinstance(got, list) and len(want) == len(got):
        for i, (a, b) in enumerate(zip(want, got)):
            out += diff_views(a, b, "%s[%d]" % (path, i))
    elif want != got:
        out.append("%s: real=%s fake=%s" % (path or ".", json.dumps(want)[:300], json.dumps(got)[:300]))
    return out


# ---------------------------------------------------------------------------------------------
# replay


FORBID_RE = re.compile(r'User "([^"]+)" cannot (\w+) resource "([^"]+)"')

# What the fake does differently from a real server on purpose (the test reports these as skipped).
KNOWN_DIFFERENCES = {
    ("1.36", "watch-rv-too-old"): "1.36 replays old events from its watch cache; the fake answers 410 as 1.33 "
    "does (the client must handle that case)",
}


class Replayer:
    def __init__(self, srv, version, agent_token):
        self.srv = srv
        self.version = version
        self.agent_token = agent_token
        self.rv_map = {}
        self.uid_map = {}

    def token_for(self, t):
        return self.agent_token if t.as_user == "node-agent" else self.srv.token

    def learn(self, want, got):
        if not isinstance(want, dict) or not isinstance(got, dict):
            return
        wm, gm = want.get("metadata") or {}, got.get("metadata") or {}
        if wm.get("resourceVersion") and gm.get("resourceVersion"):
            self.rv_map[wm["resourceVersion"]] = gm["resourceVersion"]
        if wm.get("uid") and gm.get("uid"):
            self.uid_map[wm["uid"]] = gm["uid"]

    def map_body(self, text):
        if text is None:
            return None
        try:
            body = json.loads(text)
        except ValueError:
            return text
        if isinstance(body, dict) and isinstance(body.get("metadata"), dict):
            md = body["metadata"]
            if md.get("resourceVersion") in self.rv_map:
                md["resourceVersion"] = self.rv_map[md["resourceVersion"]]
            if md.get("uid") in self.uid_map:
                md["uid"] = self.uid_map[md["uid"]]
        return json.dumps(body)

    def map_target(self, t, overrides=None):
        u = urllib.parse.urlsplit(t.target)
        q = urllib.parse.parse_qsl(u.query, keep_blank_values=True)
        out = []
        for k, v in q:
            if k == "resourceVersion" and v in self.rv_map:
                v = self.rv_map[v]
            if overrides and k in overrides:
                v = overrides[k]
            out.append((k, v))
        return u.path + ("?" + urllib.parse.urlencode(out) if out else "")

    def send(self, t, target=None):
        body = self.map_body(t.req_body)
        return self.srv.request(
            t.method, target or self.map_target(t), body=body, content_type=t.req_headers.get("content-type"),
            token=self.token_for(t),
        )

    def run_watch(self, t, overrides=None):
        target = self.map_target(t, overrides)
        path, _, query = target.partition("?")
        q = dict(urllib.parse.parse_qsl(query, keep_blank_values=True))
        events = []
        for _, ev in self.srv.watch(path, q, token=self.token_for(t), timeout=60):
            events.append(ev)
        return events

    def compare_watch(self, t, events):
        diffs = []
        if len(events) == 1 and events[0].get("type") == "HTTP":
            return self.compare_plain(t, events[0]["status"], events[0]["object"])
        want_types = [e["type"] for _, e in t.events]
        got_types = [e["type"] for e in events]
        # bookmarks come on a timer: compare the data events exactly and that bookmarks come after them
        w_data = [x for x in want_types if x != "BOOKMARK"]
        g_data = [x for x in got_types if x != "BOOKMARK"]
        if w_data != g_data:
            diffs.append("event types: real=%s fake=%s" % (want_types, got_types))
        if ("BOOKMARK" in want_types) != ("BOOKMARK" in got_types):
            diffs.append("bookmarks: real=%s fake=%s" % (want_types, got_types))
        wd = [e for _, e in t.events if e["type"] != "BOOKMARK"]
        gd = [e for e in events if e["type"] != "BOOKMARK"]
        for a, b in zip(wd, gd):
            diffs += diff_views(obj_view(a["object"]), obj_view(b["object"]), "." + a["type"])
        wb = [e["object"] for _, e in t.events if e["type"] == "BOOKMARK"]
        gb = [e["object"] for e in events if e["type"] == "BOOKMARK"]
        if wb and gb:
            a, b = copy.deepcopy(wb[0]), copy.deepcopy(gb[0])
            a["metadata"].pop("resourceVersion", None)
            b["metadata"].pop("resourceVersion", None)
            if a != b:
                diffs.append("bookmark shape: real=%s fake=%s" % (json.dumps(a), json.dumps(b)))
        return diffs

    def compare_plain(self, t, status, body):
        diffs = []
        if status != t.status:
            diffs.append("status code: real=%s fake=%s (%s)" % (t.status, status, json.dumps(body)[:400]))
            return diffs
        if t.status == 429 and "retry-after" in t.resp_headers:
            got = self.srv.last_headers.get("Retry-After")
            if got != t.resp_headers["retry-after"]:
                diffs.append("Retry-After: real=%s fake=%s" % (t.resp_headers["retry-after"], got))
        diffs += diff_views(obj_view(t.resp_body), obj_view(body))
        self.learn(t.resp_body, body)
        return diffs
