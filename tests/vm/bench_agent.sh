#!/bin/bash
# `snug-agent run` on a real kernel: OOM kill -> resize accepted -> memory.max written, one fresh pod per kill (vm-oom-to-resize; TCG-inflated).
. "$(dirname "$0")/lib.sh"
need "$AGENT" "$WORKLOAD"
command -v python3 >/dev/null || skip "no python3"
command -v openssl >/dev/null || skip "no openssl for the fake API server's certificates"
python3 "$VMDIR/agent_node.py" oombench "${SNUG_VM_OOM_KILLS:-10}" || fail "agent OOM benchmark failed (see above)"
ok "vm-oom-to-resize measured"
