#!/usr/bin/python3
"""Entry point of the fake Kubernetes API server (HTTPS, bearer tokens) that answers pods, resize, eviction,
events and owner objects the way a real kube-apiserver 1.26-1.36 does, with fault injection for tests.

Standard library only. The code is the fakeapi/ package beside this file; README.md maps its modules and
describes the command line and the /_fake/ control API.
"""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
# Kept importable from here for the tests that use them (fakectl and the api, vm and bench tiers).
from fakeapi.certs import make_certs, write_kubeconfig  # noqa: E402,F401
from fakeapi.kinds import res_for_object  # noqa: E402,F401
from fakeapi.main import main  # noqa: E402
from quantity import parse_quantity  # noqa: E402,F401

if __name__ == "__main__":
    main()
