"""The owner controllers (ReplicaSet, StatefulSet, DaemonSet): a pod finally deleted comes back from its
owner's template. A mixin of the Fake."""

import threading
import time

from .common import dcopy
from .errors import ApiError
from .kinds import RES_DS, RES_POD, RES_RS, RES_STS


class ControllerMixin:
    """Uses self.store and self.controller (settings and log) of the Fake, and create (ObjectsMixin)."""

    def on_pod_gone(self, pod):
        if pod is None or not self.controller.get("enabled"):
            return
        refs = pod["metadata"].get("ownerReferences")
        refs = [r for r in refs if isinstance(r, dict) and r.get("controller")] if isinstance(refs, list) else []
        owners = {"ReplicaSet": RES_RS, "StatefulSet": RES_STS, "DaemonSet": RES_DS}
        if not refs or refs[0].get("kind") not in owners:
            return
        ref = refs[0]
        ns = pod["metadata"]["namespace"]
        owner = self.store.get(owners[ref["kind"]].key, ns, ref.get("name"))
        if owner is None:
            self.controller["log"].append({"pod": pod["metadata"]["name"], "error": "%s %s not found" % (ref["kind"], ref.get("name"))})
            return
        tmpl = dcopy(((owner.get("spec") or {}).get("template")) or {})
        spec = dcopy(tmpl.get("spec") or pod["spec"])
        spec["nodeName"] = self.controller.get("node") or pod["spec"].get("nodeName")
        md = dcopy(tmpl.get("metadata") or {})
        md["labels"] = md.get("labels") or dcopy(pod["metadata"].get("labels") or {})
        # a StatefulSet brings its pod back under the same name; the others make a new one
        md.pop("name", None)
        if ref["kind"] == "StatefulSet":
            md["name"] = pod["metadata"]["name"]
        else:
            md["generateName"] = "%s-" % ref.get("name")
        md["ownerReferences"] = [dcopy(ref)]
        newpod = {"apiVersion": "v1", "kind": "Pod", "metadata": md, "spec": spec}
        threading.Thread(target=self._controller_create, args=(ns, newpod, pod["metadata"]["name"]), daemon=True).start()

    def _controller_create(self, ns, newpod, oldname):
        delay = self.controller.get("delay", 0.1)
        time.sleep(delay)
        try:
            created = self.create(RES_POD, ns, newpod, via_controller=True)
            self.controller["log"].append({"replaced": oldname, "pod": created["metadata"]["name"], "uid": created["metadata"]["uid"]})
        except ApiError as e:
            self.controller["log"].append({"replaced": oldname, "error": e.body.get("message")})
