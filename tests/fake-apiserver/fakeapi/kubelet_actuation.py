"""The kubelet simulator's actuation of an admitted resize (doPodResizeAction) and of RestartContainer. A
mixin of the Kubelet."""

import os
import shutil
import uuid

import kubelet_rules as kr

from .common import dcopy, now_iso
from .kubelet_pod import (
    DEFAULT_ERROR_MESSAGE, container_statuses, is_running, requirements, resizable_containers,
    resource_summary,
)


class KubeletActuationMixin:
    """Uses self.fake, the per-pod state st, and the Kubelet's pod_config/container_lcr, the cgroup
    files (KubeletCgroupsMixin) and the status writes (KubeletStatusMixin)."""

    def actuate(self, pod, st, mode):
        ok, message = self.do_pod_resize_action(pod, st, mode)
        gen = pod["metadata"].get("generation", 0)
        if ok:
            self.complete(pod, st)
            return
        old = st["in_progress"]
        t = now_iso()
        if old is not None and old["reason"] == "Error" and old["message"] == message:
            return
        st["in_progress"] = {"reason": "Error", "message": message, "gen": old["gen"] if old else gen, "probe": t,
                             "since": old["since"] if old is not None and old["reason"] == "Error" else t}
        self.publish(pod, st, resources=True)
        if self.fake.minor >= 35:
            self.event(pod, "Warning", "ResizeError", "Pod resize error: " + resource_summary(self.allocated_pod(pod, st), st["in_progress"]["gen"], message))

    def complete(self, pod, st):
        """Allocated == actuated: ClearPodResizeInProgressCondition (and, from 1.35, a ResizeCompleted
        Event), with the containers' resources as the runtime now reports them."""
        done = st["in_progress"]
        st["in_progress"] = None
        self.publish(pod, st, resources=True)
        if self.fake.minor >= 35 and done is not None:
            self.event(pod, "Normal", "ResizeCompleted", "Pod resize completed: " + resource_summary(self.allocated_pod(pod, st), done["gen"]))

    def read_pod_config(self, pod, st):
        """GetPodCgroupConfig for memory and cpu: the pod cgroup's files (quota -1 and memory -1 for
        "max"), or ValueError with the kubelet's message."""
        name = pod["metadata"]["name"]
        fmt = name if self.fake.minor <= 33 else '"%s/%s"' % (st["ns"], name)
        mem = self.read(pod, st, None, "memory.max")
        try:
            memory = -1 if mem == "max" else int(mem)
        except (TypeError, ValueError):
            raise ValueError("unable to get pod cgroup memory config for pod %s" % fmt)
        try:
            q, p = self.read(pod, st, None, "cpu.max").split()
            quota = -1 if q == "max" else int(q)
            period = int(p)
            shares = kr.cpu_weight_to_shares(int(self.read(pod, st, None, "cpu.weight")))
        except (AttributeError, TypeError, ValueError):
            raise ValueError("unable to get pod cgroup cpu config for pod %s" % fmt)
        return {"memory": memory, "quota": quota, "period": period, "shares": shares}

    def do_pod_resize_action(self, pod, st, mode):
        """computePodResizeAction for each running resizable container, then doPodResizeAction: per
        resource (memory first, then cpu) a net increase writes the pod cgroup before the containers,
        a net decrease after them; containers shrinking go before containers growing. Returns
        (True, "") or (False, the kubelet's error message)."""
        apod = self.allocated_pod(pod, st)
        css = container_statuses(pod)
        cfg = self.pod_config(apod)
        pod_req = apod["spec"].get("resources") or {}
        updates = {"memory": [], "cpu": []}
        restarts = []
        for c in resizable_containers(apod):
            if not is_running(css.get(c["name"])):
                continue
            want = kr.container_resources_from_requirements(requirements(c), pod_req, self.pod_level_resize())
            cur = dict(st["actuated"].get(c["name"]) or {"memory_limit": 0, "memory_request": 0, "cpu_limit": 0, "cpu_request": 0})
            if want == cur:
                continue
            policy = {p.get("resourceName"): p.get("restartPolicy") for p in c.get("resizePolicy") or []}

            def resize(rname, key):
                if want[key] == cur[key]:
                    return False, False
                return True, policy.get(rname) == "RestartContainer"

            flags = {k: resize(r, k) for r, k in (("memory", "memory_limit"), ("memory", "memory_request"), ("cpu", "cpu_limit"), ("cpu", "cpu_request"))}
            if any(restart for _, restart in flags.values()):
                restarts.append(c)
                continue
            info = {"container": c, "want": want, "cur": cur}
            for rname, lim, req in (("memory", "memory_limit", "memory_request"), ("cpu", "cpu_limit", "cpu_request")):
                key = lim if flags[lim][0] else (req if flags[req][0] else None)
                if key is None:
                    continue
                if want[key] > cur[key]:
                    updates[rname].append(info)
                else:
                    updates[rname].insert(0, info)
        # SyncPod kills the containers whose resizePolicy says RestartContainer before the resize
        # (step 3) and starts them with the allocated resources after it (step 9), whatever the
        # resize's outcome.
        ok, message = self.resize_branches(pod, st, mode, apod, cfg, updates, restarts)
        for c in restarts:
            self.restart_container(pod, st, apod, c)
        return ok, message

    def resize_branches(self, pod, st, mode, apod, cfg, updates, restarts):
        minor = self.fake.minor
        try:
            current = self.read_pod_config(pod, st)
        except ValueError as e:
            return False, str(e)
        mem_branch = bool(updates["memory"]) or bool(restarts)
        cpu_branch = bool(updates["cpu"]) or bool(restarts)
        if minor >= 34 and mem_branch:
            err = self.validate_memory_resize(pod, st, current, cfg, updates["memory"])
            if err:
                return False, err

        def update_containers(rname):
            """updatePodContainerResources: UpdateContainerResources with this resource's desired values
            and the other resource's current ones; containerd merges them into the stored spec and runc
            writes the whole of it."""
            for info in updates[rname]:
                c, want, cur = info["container"], info["want"], info["cur"]
                if mode == "error":
                    return self.fake.kubelet.get("error_message") or DEFAULT_ERROR_MESSAGE
                m = want if rname == "memory" else cur
                p = want if rname == "cpu" else cur
                copy_c = dcopy(c)
                copy_c["resources"] = {
                    "limits": {"cpu": "%dm" % p["cpu_limit"], "memory": str(m["memory_limit"])},
                    "requests": {"cpu": "%dm" % p["cpu_request"], "memory": str(m["memory_request"])},
                }
                st["runtime"][c["name"]] = kr.containerd_merge(st["runtime"].get(c["name"]), self.container_lcr(apod, copy_c))
                self.runtime_apply(pod, st, c["name"])
                if rname == "memory":
                    cur["memory_limit"], cur["memory_request"] = want["memory_limit"], want["memory_request"]
                else:
                    cur["cpu_limit"], cur["cpu_request"] = want["cpu_limit"], want["cpu_request"]
                st["actuated"][c["name"]] = dict(cur)
            return None

        def resize_containers(rname, cur_lim, new_lim, cur_req, new_req):
            if new_lim > cur_lim:
                self.set_pod_cgroup(pod, st, cfg, memory=rname == "memory", quota=rname == "cpu")
            if new_req > cur_req:
                self.set_pod_cgroup(pod, st, cfg, shares=rname == "cpu")
            if updates[rname]:
                err = update_containers(rname)
                if err:
                    return err
            if new_req < cur_req:
                self.set_pod_cgroup(pod, st, cfg, shares=rname == "cpu")
            if new_lim < cur_lim:
                self.set_pod_cgroup(pod, st, cfg, memory=rname == "memory", quota=rname == "cpu")
            return None

        if mem_branch:
            if cfg["memory"] is not None and minor <= 33:
                usage = self.memory_current(pod, None)
                if usage is not None and usage >= cfg["memory"]:
                    return False, "aborting attempt to set pod memory limit less than current memory usage for pod %s" % pod["metadata"]["name"]
            if cfg["memory"] is None:
                cfg["memory"] = current["memory"]
            err = resize_containers("memory", current["memory"], cfg["memory"], 0, 0)
            if err:
                return False, err
        if cpu_branch:
            if cfg["quota"] is None:
                cfg["quota"], cfg["period"] = current["quota"], current["period"]
            err = resize_containers("cpu", current["quota"], cfg["quota"], current["shares"], cfg["shares"])
            if err:
                return False, err
        return True, ""

    def validate_memory_resize(self, pod, st, current, cfg, mem_updates):
        """validateMemoryResizeAction (1.34+): refuse to set a pod or container memory limit at or
        below its current usage (memory.current); the container message quotes the pod's usage, as
        the Go code does."""
        pod_decreasing = cfg["memory"] is not None and cfg["memory"] < current["memory"]
        decreasing = {}
        for info in mem_updates:
            want, cur = info["want"], info["cur"]
            if want["memory_limit"] != 0 and (cur["memory_limit"] == 0 or want["memory_limit"] < cur["memory_limit"]):
                decreasing[info["container"]["name"]] = want["memory_limit"]
        if not pod_decreasing and not decreasing:
            return None
        pod_usage = self.memory_current(pod, None) or 0
        errs = []
        if pod_decreasing and pod_usage >= cfg["memory"]:
            errs.append("attempting to set pod memory limit (%d) below current usage (%d)" % (cfg["memory"], pod_usage))
        for name, limit in decreasing.items():
            if (self.memory_current(pod, name) or 0) >= limit:
                errs.append('attempting to set container "%s" memory limit (%d) below current usage (%d)' % (name, limit, pod_usage))
        if not errs:
            return None
        return "cannot decrease memory limits: " + (errs[0] if len(errs) == 1 else "[%s]" % ", ".join(errs))

    def restart_container(self, pod, st, apod, c):
        """resizePolicy RestartContainer: the container is killed and started again with the allocated
        resources (a new container, a new cgroup)."""
        name = c["name"]
        new_id = "containerd://" + uuid.uuid4().hex + uuid.uuid4().hex
        old_dir = self.container_dir(pod, name)

        def fn(s):
            for key in ("initContainerStatuses", "containerStatuses"):
                for cs in s.get(key) or []:
                    if cs.get("name") == name:
                        cs["restartCount"] = cs.get("restartCount", 0) + 1
                        cs["lastState"] = {"terminated": {"exitCode": 0, "reason": "Completed", "startedAt": ((cs.get("state") or {}).get("running") or {}).get("startedAt"),
                                                          "finishedAt": now_iso(), "containerID": cs.get("containerID")}}
                        cs["containerID"] = new_id
                        cs["state"] = {"running": {"startedAt": now_iso()}}

        self.update_status(pod, fn)
        for cs in list((pod.get("status") or {}).get("containerStatuses") or []) + list((pod.get("status") or {}).get("initContainerStatuses") or []):
            if cs.get("name") == name:
                cs["containerID"] = new_id
        if old_dir and os.path.isdir(old_dir):
            shutil.rmtree(old_dir, ignore_errors=True)
        st["cgroups"].pop(name, None)
        self.create_container_cgroup(self.with_status_of(pod, apod), st, c)
        st["actuated"][name] = kr.container_resources_from_requirements(requirements(c), (apod["spec"].get("resources") or {}), self.pod_level_resize())

    def with_status_of(self, pod, apod):
        out = dcopy(apod)
        out["status"] = dcopy(pod.get("status") or {})
        return out
