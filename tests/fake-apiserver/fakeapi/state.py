"""The Fake: all the server's state (everything the control API can change), with the API's verbs mixed in
from one module per concern."""

import collections
import json
import os
import threading

from .admission import AdmissionMixin
from .auth import AuthMixin
from .controller import ControllerMixin
from .eviction import EvictionMixin
from .objects import ObjectsMixin
from .pods import PodsMixin
from .store import Store
from .versions import VersionMixin


class Fake(VersionMixin, AuthMixin, ObjectsMixin, PodsMixin, EvictionMixin, ControllerMixin, AdmissionMixin):
    """The state below; the verbs come from the mixins: versions (minor, resize_mode, version_body), auth
    (authenticate, is_admin, check_forbidden), objects (create, get, list, update, delete), pods
    (prepare_pod_create, pod_update, delete_pod, mark_terminating), eviction (evict), controller
    (on_pod_gone), admission (call_webhook)."""

    def __init__(self, args):
        self.args = args
        self.store = Store(history_size=args.history)
        self.lock = self.store.lock
        self.tokens = {}  # token -> {"user":..., "expires": epoch or None}
        self.admin_token = args.admin_token
        self.version = args.version
        self.feature_gate = not args.feature_gate_off
        self.faults = []
        self.fault_seq = 0
        self.watch_drop = None  # {"after": s, "until": epoch, "mode": "close"|"end"}
        self.bookmark_interval = args.bookmark_interval
        self.default_watch_timeout = 1800
        self.requests = collections.deque(maxlen=args.request_log)
        self.forbid = []  # {"user","verb","resource"}
        self.kubelet = {
            "mode": "apply",
            "delay": 0.2,
            "pods": {},
            "auto_start": False,
            "cgroup_root": None,
            "cgroup_driver": "systemd",
            "runtime": "cri-containerd",
            "delete_grace": 0.5,
            "infeasible_message": None,
            "error_message": None,
            "nodes": None,
            "cpu_cfs_quota": True,
            "runtime_weight": "old",
            "runtime_systemd_quota_roundup": False,
            "cpu_manager_policy": "none",
            "pod_level_resources": None,
        }
        self.kubelet_seen = {}  # uid + "/del" -> when the kubelet first saw the pod terminating
        self.kubelet_pods = {}  # uid -> the kubelet's state of a running pod (allocation, actuation)
        self.kubelet_writes = collections.deque(maxlen=5000)  # cgroup file writes, in order
        self.controller = {"enabled": False, "webhook": None, "log": []}
        self.port = None
        self.state_file = args.state_file
        self.stop_event = threading.Event()

    # ---- persistence
    def save_state(self):
        if not self.state_file:
            return
        with self.lock:
            data = {"rv": self.store.rv, "objs": [[k, list(ns_name), o] for k, d in self.store.objs.items() for ns_name, o in d.items()]}
        tmp = self.state_file + ".tmp"
        with open(tmp, "w") as f:
            json.dump(data, f)
        os.replace(tmp, self.state_file)

    def load_state(self):
        if not self.state_file or not os.path.exists(self.state_file):
            return
        with open(self.state_file) as f:
            data = json.load(f)
        with self.lock:
            self.store.rv = max(self.store.rv, int(data.get("rv", 0)))
            self.store.floor = self.store.rv
            for k, ns_name, o in data.get("objs", []):
                self.store.objs.setdefault(k, {})[tuple(ns_name)] = o
