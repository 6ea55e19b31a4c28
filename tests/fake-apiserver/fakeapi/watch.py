"""Watch streams: initial events, replay from the history, selector transitions, bookmarks, the 410 for a
too old resourceVersion, timeouts and injected drops. A mixin of the Handler."""

import json
import select
import ssl
import time
import uuid

from .common import dcopy
from .errors import ApiError, err_bad_request, status_body
from .kinds import RES_POD, to_external
from .selectors import fields_match, labels_match, parse_field_selector, parse_label_selector
from .store import Watcher


class WatchMixin:
    """Uses self.fake (its store, watch settings and watch_drop) and the Handler's abort_connection."""

    def client_gone(self):
        """True when the peer closed a watch connection (nothing else is sent on it while we stream)."""
        try:
            r, _, _ = select.select([self.connection], [], [], 0)
            if not r:
                return False
            self.connection.setblocking(False)
            try:
                data = self.connection.recv(1)
            finally:
                self.connection.setblocking(True)
            return data == b""
        except (ssl.SSLWantReadError, ssl.SSLWantWriteError, BlockingIOError):
            return False
        except (OSError, ValueError):
            return True

    def write_chunk(self, data):
        self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
        self.wfile.flush()

    def watch(self, res, ns, q, entry):
        """GET with watch=1: the parameters checked, a 200 with a chunked stream of JSON events, one a line."""
        fake = self.fake
        store = fake.store
        lsel = parse_label_selector(q.get("labelSelector", ""))
        fsel = parse_field_selector(q.get("fieldSelector", ""), res.kind)

        def match(o):
            return o is not None and (ns is None or o["metadata"].get("namespace") == ns) and labels_match(lsel, o["metadata"].get("labels")) and fields_match(fsel, o)

        bookmarks = q.get("allowWatchBookmarks") in ("1", "true", "True")
        try:
            timeout = float(q.get("timeoutSeconds") or fake.default_watch_timeout)
        except ValueError:
            raise err_bad_request("invalid timeoutSeconds")
        send_initial = q.get("sendInitialEvents") in ("true", "1")
        if send_initial and fake.minor < 34:
            raise ApiError(
                422,
                status_body(
                    422,
                    "Invalid",
                    'ListOptions.meta.k8s.io "" is invalid: sendInitialEvents: Forbidden: sendInitialEvents is forbidden for watch unless the WatchList feature gate is enabled',
                    {"group": "meta.k8s.io", "kind": "ListOptions", "causes": [{"reason": "FieldValueForbidden", "message": "Forbidden: sendInitialEvents is forbidden for watch unless the WatchList feature gate is enabled", "field": "sendInitialEvents"}]},
                ),
            )
        pending, last, error, w = self.watch_start(res, ns, q, match, bookmarks, send_initial)
        entry["status"] = 200
        entry["watch"] = True
        self.send_response(200)
        self.send_header("Audit-Id", str(uuid.uuid4()))
        self.send_header("Cache-Control", "no-cache, private")
        self.send_header("Content-Type", "application/json")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        start = time.monotonic()
        try:
            if error is not None:
                self.write_chunk(json.dumps({"type": "ERROR", "object": error}).encode() + b"\n")
                self.wfile.write(b"0\r\n\r\n")
                self.wfile.flush()
                return
            for t, o in pending:
                self.write_chunk(json.dumps({"type": t, "object": to_external(res, o)}).encode() + b"\n")
            self.watch_stream(res, match, last, w, entry, start, timeout, bookmarks)
        except (ConnectionError, BrokenPipeError, ssl.SSLError, OSError):
            self.close_connection = True
        finally:
            with store.lock:
                store.watchers.discard(w)

    def watch_start(self, res, ns, q, match, bookmarks, send_initial):
        """Under the store lock: the initial ADDED events (no resourceVersion, "0", or sendInitialEvents) or
        the resourceVersion to replay from (the in-stream 410 Status when it is older than the history),
        and the registered Watcher. Returns (pending events, last resourceVersion, error, watcher)."""
        store = self.fake.store
        rv_q = q.get("resourceVersion", "")
        pending = []
        error = None
        with store.lock:
            if rv_q in ("", "0") or send_initial:
                for o in store.items(res.key, ns):
                    if match(o):
                        pending.append(("ADDED", dcopy(o)))
                last = store.rv
                if send_initial and bookmarks:
                    pending.append(("BOOKMARK", self.bookmark_obj(res, last, initial_end=True)))
            else:
                try:
                    last = int(rv_q)
                except ValueError:
                    raise err_bad_request('resourceVersion: Invalid value: "%s": must be a valid resource version' % rv_q)
                if last < store.floor_for(res.key):
                    error = status_body(
                        410, "Expired", "too old resource version: %d (%d)" % (last, store.floor_for(res.key))
                    )
            w = Watcher()
            store.watchers.add(w)
        return pending, last, error, w

    def watch_stream(self, res, match, last, w, entry, start, timeout, bookmarks):
        """The events after `last` as they happen (an object leaving the selectors is DELETED, one entering
        them ADDED), bookmarks, until the timeout, an injected drop, the client leaving, a close from
        /_fake/close-watches or the server stopping."""
        fake = self.fake
        store = fake.store
        deadline = start + timeout

        def drop_due():
            # every watch open while the drop window lasts is cut `after` seconds after it started
            wd = fake.watch_drop
            if wd and time.time() < wd["until"]:
                return (start + wd["after"], wd.get("mode", "close"))
            return None

        next_bookmark = start + fake.bookmark_interval
        final_bookmark = deadline - 2 if timeout > 3 else None
        while True:
            now = time.monotonic()
            drop = drop_due()
            if drop and now >= drop[0]:
                if drop[1] == "end":
                    self.wfile.write(b"0\r\n\r\n")
                    self.wfile.flush()
                else:
                    self.abort_connection()
                entry["dropped"] = True
                return
            if self.client_gone():
                self.close_connection = True
                return
            if now >= deadline or w.abort or fake.stop_event.is_set():
                if w.abort and getattr(w, "hard", False):
                    self.abort_connection()
                    return
                break
            out = []
            with store.lock:
                if last < store.floor_for(res.key):
                    # the history we would need was dropped while this watch lagged
                    msg = "too old resource version: %d (%d)" % (last, store.floor_for(res.key))
                    out.append(("ERROR", status_body(410, "Expired", msg)))
                else:
                    for ev_rv, etype, key, o, old in store.history:
                        if ev_rv <= last or key != res.key:
                            continue
                        new_m = match(o)
                        old_m = match(old) if old is not None else False
                        if etype == "DELETED":
                            if old_m or new_m:
                                out.append(("DELETED", o))
                        elif new_m and old_m:
                            out.append(("MODIFIED", o))
                        elif new_m:
                            out.append(("ADDED", o))
                        elif old_m:
                            out.append(("DELETED", o))
                    last = store.rv
                if not out:
                    waits = [deadline - now, 0.5]
                    if bookmarks:
                        waits.append(next_bookmark - now)
                        if final_bookmark:
                            waits.append(final_bookmark - now)
                    if drop:
                        waits.append(drop[0] - now)
                    store.cond.wait(max(0.01, min(waits)))
            for t, o in out:
                self.write_chunk(json.dumps({"type": t, "object": to_external(res, o)}).encode() + b"\n")
                if t == "ERROR":
                    self.wfile.write(b"0\r\n\r\n")
                    self.wfile.flush()
                    return
            now = time.monotonic()
            if bookmarks and (now >= next_bookmark or (final_bookmark and now >= final_bookmark)):
                if final_bookmark and now >= final_bookmark:
                    final_bookmark = None
                next_bookmark = now + fake.bookmark_interval
                with store.lock:
                    brv = store.rv
                self.write_chunk(json.dumps({"type": "BOOKMARK", "object": self.bookmark_obj(res, brv)}).encode() + b"\n")
        self.wfile.write(b"0\r\n\r\n")
        self.wfile.flush()

    def bookmark_obj(self, res, rv, initial_end=False):
        # 1.35+ omits the zero creationTimestamp (omitzero); older servers print null
        md = {"resourceVersion": str(rv)} if self.fake.minor >= 35 else {"resourceVersion": str(rv), "creationTimestamp": None}
        if initial_end:
            md = {"resourceVersion": str(rv), "annotations": {"k8s.io/initial-events-end": "true"}}
        o = {"kind": res.kind, "apiVersion": res.api_version, "metadata": md}
        if res is RES_POD:
            o["spec"] = {"containers": None}
            o["status"] = {}
        return o
