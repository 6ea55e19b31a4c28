"""The fake Kubernetes API server (tests/fake-apiserver) for the harnesses: FakeApiServer from its
fakectl module (the one place a harness reaches into that folder), and queries of what the agent did
there: its resize PATCHes and the Events it wrote."""

import os
import sys

from snugtest import REPO

sys.path.insert(0, os.path.join(REPO, "tests", "fake-apiserver"))
from fakectl import FakeApiServer  # noqa: E402

__all__ = ["FakeApiServer", "resize_requests", "events"]


def resize_requests(srv, pod_name=None):
    """The PATCHes of pods/NAME/resize the server logged (of pod_name's only, when given), in order."""
    out = []
    for r in srv.requests():
        if r["method"] == "PATCH" and r["path"].endswith("/resize"):
            if pod_name is None or "/pods/%s/" % pod_name in r["path"]:
                out.append(r)
    return out


def events(srv, reason=None):
    """The Events the server holds (those with `reason`, when given)."""
    st, body = srv.request("GET", "/api/v1/events")
    items = body.get("items", []) if st == 200 else []
    return [e for e in items if reason is None or e.get("reason") == reason]
