"""snugtest: the helpers the Python harnesses of every tier share, under one import root (tests/lib).

A harness script starts with

    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))

and imports what it needs from here:

    harness     wait_for(), tmpdir(), main(tier): a unittest run that writes the tier's result line
    units       MiB, quantity(): a Kubernetes quantity as an exact number
    agent       AgentProcess: a `snug-agent` child process, its /metrics and /recommendations;
                Agent: `snug-agent run` on a fake cgroup tree
    cgtree      where the kubelet puts pod and container cgroups (both drivers); FakeCgroup and
                FakeTree, the one writer of fake cgroup v2 trees
    inotify     LimitWrites (the order of cgroup limit-file writes), FileWatch (when a file is next
                written)
    fakeserver  the fake API server of tests/fake-apiserver, and queries of its request log
    node        Node: the base of the tiers' nodes (a kubelet-style cgroup tree and the agent
                managing it)
"""

import os

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
