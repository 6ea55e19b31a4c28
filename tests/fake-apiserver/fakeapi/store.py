"""The object store: every object under its storage key, the global resourceVersion counter and the
bounded event history that watches replay."""

import collections
import threading

from .common import dcopy


META_ORDER = ["name", "generateName", "namespace", "selfLink", "uid", "resourceVersion", "generation", "creationTimestamp",
              "deletionTimestamp", "deletionGracePeriodSeconds", "labels", "annotations", "ownerReferences", "finalizers"]


def order_meta(md):
    """Metadata keys in the order the apiserver writes them (easier to read in dumps)."""
    out = {k: md[k] for k in META_ORDER if k in md}
    for k, v in md.items():
        if k not in out:
            out[k] = v
    return out


class Watcher:
    def __init__(self):
        self.closed = False
        self.abort = False


class Store:
    """All objects, the global resourceVersion counter and a bounded event history for watches."""

    def __init__(self, history_size=1000, start_rv=100):
        self.lock = threading.RLock()
        self.cond = threading.Condition(self.lock)
        self.rv = start_rv
        self.floor = start_rv  # compaction: nothing older than this can be replayed, any resource
        self.key_floor = {}  # per resource: the newest event dropped from the bounded history
        self.objs = {}  # key -> {(ns, name): obj}
        self.history = collections.deque()
        self.history_size = history_size
        self.watchers = set()

    def next_rv(self):
        self.rv += 1
        return self.rv

    def get(self, key, ns, name):
        return self.objs.get(key, {}).get((ns or "", name))

    def items(self, key, ns=None):
        out = []
        for (ons, _), o in sorted(self.objs.get(key, {}).items()):
            if ns is None or ons == ns:
                out.append(o)
        return out

    def _record(self, etype, key, obj, old):
        self.history.append((int(obj["metadata"]["resourceVersion"]), etype, key, dcopy(obj), old))
        while len(self.history) > self.history_size:
            ev = self.history.popleft()
            self.key_floor[ev[2]] = ev[0]
        self.cond.notify_all()

    def put(self, key, obj, etype=None):
        """Store obj under a fresh resourceVersion; returns the stored object (a copy)."""
        with self.lock:
            md = obj["metadata"]
            k = (md.get("namespace", ""), md["name"])
            old = self.objs.get(key, {}).get(k)
            md["resourceVersion"] = str(self.next_rv())
            obj["metadata"] = order_meta(md)
            stored = dcopy(obj)
            self.objs.setdefault(key, {})[k] = stored
            self._record(etype or ("MODIFIED" if old else "ADDED"), key, stored, old)
            return dcopy(stored)

    def remove(self, key, ns, name):
        with self.lock:
            old = self.objs.get(key, {}).pop((ns or "", name), None)
            if old is None:
                return None
            gone = dcopy(old)
            gone["metadata"]["resourceVersion"] = str(self.next_rv())
            self._record("DELETED", key, gone, old)
            return gone

    def floor_for(self, key):
        """Oldest resourceVersion a watch of this resource can start from (like a per-type watch cache)."""
        return max(self.floor, self.key_floor.get(key, 0))

    def compact(self):
        with self.lock:
            self.history.clear()
            self.floor = self.rv
            self.key_floor = {}
            self.cond.notify_all()

    def reset(self):
        with self.lock:
            self.objs = {}
            self.history.clear()
            self.floor = self.rv
            self.key_floor = {}
            for w in self.watchers:
                w.abort = True
            self.cond.notify_all()
