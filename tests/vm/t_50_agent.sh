#!/bin/bash
# `snug-agent run` on a real kernel: a grower heading for its 64Mi limit survives under snug (in-place) while the same grower without snug is OOM-killed.
. "$(dirname "$0")/lib.sh"
need "$AGENT" "$WORKLOAD"
command -v python3 >/dev/null || skip "no python3"
command -v openssl >/dev/null || skip "no openssl for the fake API server's certificates"
python3 "$VMDIR/agent_node.py" oomtest || fail "the agent did not keep the grower alive (see above)"
ok "grower kept alive under snug, killed without it"
