"""Kubelet-style cgroup trees. Where the kubelet puts a pod's and a container's cgroup (cgroupfs and
systemd drivers, containerd's names), for real trees (the VM and node tiers) and fake ones alike; and
FakeTree, the one writer of fake cgroup v2 trees: regular files holding the text the kernel writes,
fed by the harness, that the agent reads through --cgroup-root as it would /sys/fs/cgroup.

(The C unit tier has its own writer, tests/unit/cgroup_fake.c: the Check suites run in C.)"""

import os

from snugtest.units import MiB


def container_id(pod, name):
    """The runtime's id of container (or init container) `name` from the pod status, None before it
    has one."""
    st = pod.get("status", {})
    for cs in st.get("containerStatuses", []) + st.get("initContainerStatuses", []):
        if cs["name"] == name and cs.get("containerID"):
            return cs["containerID"].split("://", 1)[1]
    return None


def pod_cgroup(pod, driver="cgroupfs", root=""):
    """The pod cgroup the kubelet makes (pkg/kubelet/cm: GetPodContainerName under the QoS class's
    cgroup, Guaranteed pods directly under kubepods; CgroupName.ToSystemd for the systemd driver, a
    slice per level with the UID's '-' as '_'), under root ("" for a relative path)."""
    uid = pod["metadata"]["uid"]
    qos = pod["status"]["qosClass"]
    if driver == "systemd":
        u = uid.replace("-", "_")
        if qos == "Guaranteed":
            return os.path.join(root, "kubepods.slice", "kubepods-pod%s.slice" % u)
        q = qos.lower()
        return os.path.join(root, "kubepods.slice", "kubepods-%s.slice" % q, "kubepods-%s-pod%s.slice" % (q, u))
    if qos == "Guaranteed":
        return os.path.join(root, "kubepods", "pod" + uid)
    return os.path.join(root, "kubepods", qos.lower(), "pod" + uid)


def container_cgroup_name(cid, driver="cgroupfs"):
    """containerd's name for a container's cgroup in its pod's: a scope under the systemd driver."""
    return ("cri-containerd-%s.scope" % cid) if driver == "systemd" else cid


class FakeCgroup:
    """One container's (or pod's) cgroup directory with the files the kernel would have. Values are
    rewritten in place (same inode), as the kernel's files are, so kept fds see them."""

    def __init__(self, path):
        self.path = path
        os.makedirs(path, exist_ok=True)
        self.usage_usec = 0
        self.throttled_usec = 0
        self.nr_periods = 0
        self.nr_throttled = 0
        self.events = {"low": 0, "high": 0, "max": 0, "oom": 0, "oom_kill": 0, "oom_group_kill": 0}
        self.memory = 64 * MiB
        self.inactive_file = 0
        for name, text in (("cpu.max", "max 100000\n"), ("cpu.weight", "100\n"), ("memory.max", "max\n"),
                           ("memory.high", "max\n"), ("cpu.pressure", self._psi()),
                           ("memory.pressure", self._psi())):
            self.write(name, text)
        self.write_cpu()
        self.write_memory()
        self.write_events()

    @staticmethod
    def _psi():
        return ("some avg10=0.00 avg60=0.00 avg300=0.00 total=0\n"
                "full avg10=0.00 avg60=0.00 avg300=0.00 total=0\n")

    def write(self, name, text):
        with open(os.path.join(self.path, name), "r+" if os.path.exists(os.path.join(self.path, name)) else "w") as f:
            f.write(text)
            f.truncate()

    def read(self, name):
        with open(os.path.join(self.path, name)) as f:
            return f.read()

    def write_cpu(self):
        self.write("cpu.stat", "usage_usec %d\nuser_usec %d\nsystem_usec 0\nnr_periods %d\nnr_throttled %d\n"
                   "throttled_usec %d\nnr_bursts 0\nburst_usec 0\n" % (
                       self.usage_usec, self.usage_usec, self.nr_periods, self.nr_throttled,
                       self.throttled_usec))

    def write_memory(self):
        self.write("memory.current", "%d\n" % self.memory)
        self.write("memory.stat", "anon %d\nfile %d\nkernel_stack 16384\nshmem 0\nfile_mapped 0\nfile_dirty 0\n"
                   "file_writeback 0\ninactive_anon 0\nactive_anon %d\ninactive_file %d\nactive_file 0\n"
                   "unevictable 0\nslab_reclaimable 0\nslab_unreclaimable 0\npgfault 0\npgmajfault 0\n" % (
                       self.memory - self.inactive_file, self.inactive_file, self.memory - self.inactive_file,
                       self.inactive_file))

    def write_events(self):
        self.write("memory.events", "".join("%s %d\n" % (k, self.events[k]) for k in
                                            ("low", "high", "max", "oom", "oom_kill", "oom_group_kill")))

    def run(self, seconds, cores, throttled_fraction=0.0):
        """Accounts `seconds` of CPU use at `cores`, with that fraction of periods throttled."""
        self.usage_usec += int(seconds * cores * 1e6)
        periods = int(seconds * 10)
        self.nr_periods += periods
        if throttled_fraction:
            self.nr_throttled += int(periods * throttled_fraction)
            self.throttled_usec += int(seconds * 1e6 * throttled_fraction)
        self.write_cpu()

    def oom_kill(self):
        self.events["max"] += 5
        self.events["oom"] += 1
        self.events["oom_kill"] += 1
        self.write_events()


class FakeTree:
    """A kubelet-style tree (kubepods/<qos>/pod<uid>/<container id>, or the systemd driver's slices and
    scopes) of FakeCgroups, mirroring the pods the harness creates."""

    def __init__(self, root, driver="cgroupfs"):
        self.root = root
        self.driver = driver
        os.makedirs(root, exist_ok=True)
        self.pods = {}

    def pod_dir(self, pod):
        return pod_cgroup(pod, self.driver, self.root)

    def add_pod(self, pod):
        """Creates the pod's cgroup and one per container (names from the pod status: app containers,
        and init containers that have a container ID, as a kubelet in the middle of them would)."""
        pdir = self.pod_dir(pod)
        entry = {"pod": FakeCgroup(pdir), "containers": {}}
        st = pod["status"]
        for cs in st["containerStatuses"] + [c for c in st.get("initContainerStatuses") or [] if c.get("containerID")]:
            cid = cs["containerID"].split("://", 1)[1]
            entry["containers"][cs["name"]] = FakeCgroup(os.path.join(pdir, container_cgroup_name(cid, self.driver)))
        self.pods[pod["metadata"]["name"]] = entry
        return entry

    def container(self, pod_name, container="app"):
        return self.pods[pod_name]["containers"][container]

    def pod(self, pod_name):
        return self.pods[pod_name]["pod"]
