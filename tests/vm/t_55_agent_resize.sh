#!/bin/bash
# `snug-agent run` on a real kernel: an OOM-killed container gets a higher memory.max, a throttled burner a higher cpu.max, an idle over-provisioned one smaller limits, each through an accepted resize.
# vm-timeout: 240
. "$(dirname "$0")/lib.sh"
need "$AGENT" "$WORKLOAD"
command -v python3 >/dev/null || skip "no python3"
command -v openssl >/dev/null || skip "no openssl for the fake API server's certificates"
python3 "$VMDIR/agent_node.py" resizetest || fail "a resize did not happen or did not reach the cgroup files (see above)"
ok "OOM kill -> memory.max raised; throttling -> cpu.max raised; idle -> shrunk"
