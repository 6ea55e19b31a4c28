#!/bin/bash
# `snug-agent run` on a real kernel: a page-cache thrasher (a file 1.5x its memory limit, read over and over) gets its limit raised for its memory stall (PSI) alone: no OOM kill, a working set far below the limit.
# vm-timeout: 240
. "$(dirname "$0")/lib.sh"
need "$AGENT" "$WORKLOAD"
command -v python3 >/dev/null || skip "no python3"
command -v openssl >/dev/null || skip "no openssl for the fake API server's certificates"
[[ -e /sys/fs/cgroup/memory.pressure ]] || skip "no memory.pressure: the kernel has PSI off (psi=0 or CONFIG_PSI unset)"
python3 "$VMDIR/psi_node.py" raise || fail "the thrasher's memory stall did not raise its limit (see above)"
ok "memory stall (PSI) -> memory.max raised; no OOM kill, working set below the limit"
