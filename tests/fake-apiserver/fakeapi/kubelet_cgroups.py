"""The kubelet simulator's cgroup files: where a pod's and a container's cgroups are, the pod cgroup the
kubelet writes and the container cgroups runc writes. A mixin of the Kubelet."""

import os
import time

import kubelet_rules as kr

from .kubelet_pod import NEW_CGROUP_FILES, container_statuses, is_running, qos_class, resizable_containers


class KubeletCgroupsMixin:
    """Uses self.fake (its kubelet settings and write log) of the Kubelet."""

    def pod_dir(self, pod):
        kl = self.fake.kubelet
        root = kl.get("cgroup_root")
        if not root:
            return None
        qos = qos_class(pod)
        uid = pod["metadata"]["uid"]
        q = qos.lower()
        if kl.get("cgroup_driver", "systemd") == "systemd":
            u = uid.replace("-", "_")
            if qos == "Guaranteed":
                return os.path.join(root, "kubepods.slice", "kubepods-pod%s.slice" % u)
            return os.path.join(root, "kubepods.slice", "kubepods-%s.slice" % q, "kubepods-%s-pod%s.slice" % (q, u))
        if qos == "Guaranteed":
            return os.path.join(root, "kubepods", "pod" + uid)
        return os.path.join(root, "kubepods", q, "pod" + uid)

    def container_dir(self, pod, name):
        pdir = self.pod_dir(pod)
        if pdir is None:
            return None
        cid = ((container_statuses(pod).get(name) or {}).get("containerID") or "").split("://")[-1]
        if not cid:
            return None
        kl = self.fake.kubelet
        if kl.get("cgroup_driver", "systemd") == "systemd":
            return os.path.join(pdir, "%s-%s.scope" % (kl.get("runtime", "cri-containerd"), cid))
        return os.path.join(pdir, cid)

    def cg_dir(self, pod, container):
        return self.pod_dir(pod) if container is None else self.container_dir(pod, container)

    def write(self, pod, st, container, fname, text, writer):
        """One write of a cgroup file, in place (the kernel's files keep their inode), logged in order."""
        d = self.cg_dir(pod, container)
        st["cgroups"].setdefault(container, {})[fname] = text
        if d is not None:
            os.makedirs(d, exist_ok=True)
            path = os.path.join(d, fname)
            with open(path, "r+" if os.path.exists(path) else "w") as f:
                f.write(text + "\n")
                f.truncate()
        with self.fake.lock:
            self.fake.kubelet_writes.append({"mono": time.monotonic(), "pod": "%s/%s" % (st["ns"], st["name"]),
                                             "container": container, "file": fname, "value": text, "by": writer,
                                             "path": os.path.join(d, fname) if d else None})

    def read(self, pod, st, container, fname):
        """The file's text (the real kubelet reads the pod cgroup's files), else the last value written."""
        d = self.cg_dir(pod, container)
        if d is not None:
            try:
                with open(os.path.join(d, fname)) as f:
                    return f.read().strip()
            except OSError:
                pass
        return (st["cgroups"].get(container) or {}).get(fname)

    def new_cgroup(self, pod, st, container):
        """A fresh cgroup holds the kernel's defaults."""
        d = self.cg_dir(pod, container)
        for fname, text in NEW_CGROUP_FILES:
            if d is None or not os.path.exists(os.path.join(d, fname)):
                st["cgroups"].setdefault(container, {})[fname] = text
                if d is not None:
                    os.makedirs(d, exist_ok=True)
                    with open(os.path.join(d, fname), "w") as f:
                        f.write(text + "\n")

    def set_pod_cgroup(self, pod, st, cfg, memory=False, quota=False, shares=False):
        """cgroupCommon.Update on the pod cgroup with the chosen fields (libcontainer fs2 Set: memory,
        then cpu); the systemd driver rounds the quota to whole percent (systemd addCPUQuota)."""
        if memory and cfg.get("memory") is not None:
            self.write(pod, st, None, "memory.max", "max" if cfg["memory"] < 0 else str(cfg["memory"]), "kubelet")
        if shares:
            self.write(pod, st, None, "cpu.weight", str(kr.kubelet_cpu_weight(cfg["shares"])), "kubelet")
        if quota and cfg.get("quota") is not None:
            q = cfg["quota"]
            if self.fake.kubelet.get("cgroup_driver", "systemd") == "systemd":
                q = kr.systemd_cpu_quota(q, cfg["period"])
            self.write(pod, st, None, "cpu.max", kr.cpu_max_text(q, cfg["period"]), "kubelet")

    def runtime_apply(self, pod, st, name):
        """runc writing the container's cgroup from the resources containerd holds for it."""
        kl = self.fake.kubelet
        files = kr.runc_cgroup_files(st["runtime"][name], kl.get("runtime_weight", "old"),
                                     kl.get("cgroup_driver", "systemd") == "systemd", kl.get("runtime_systemd_quota_roundup", False))
        for fname, text in files:
            self.write(pod, st, name, fname, text, "runtime")

    def create_cgroups(self, apod, st):
        """podContainerManagerImpl.EnsureExists (pod cgroup from ResourceConfigForPod), then each
        running container as CreateContainer + runc create make it."""
        cfg = self.pod_config(apod)
        self.new_cgroup(apod, st, None)
        self.set_pod_cgroup(apod, st, cfg, memory=True, quota=True, shares=True)
        css = container_statuses(apod)
        for c in resizable_containers(apod):
            if not is_running(css.get(c["name"])):
                continue
            self.create_container_cgroup(apod, st, c)

    def create_container_cgroup(self, apod, st, c):
        st["runtime"][c["name"]] = kr.containerd_merge(None, self.container_lcr(apod, c))
        self.new_cgroup(apod, st, c["name"])
        self.runtime_apply(apod, st, c["name"])

    def memory_current(self, pod, container):
        d = self.cg_dir(pod, container)
        if d is None:
            return None
        try:
            with open(os.path.join(d, "memory.current")) as f:
                return int(f.read().strip())
        except (OSError, ValueError):
            return None
