#!/bin/bash
# `snug-agent run` on a real kernel: a recommendation's memory shrink is held while the container stalls for memory (PSI; memory.high squeezes an over-provisioned reader), and made once the stall is gone.
# vm-timeout: 240
. "$(dirname "$0")/lib.sh"
need "$AGENT" "$WORKLOAD"
command -v python3 >/dev/null || skip "no python3"
command -v openssl >/dev/null || skip "no openssl for the fake API server's certificates"
[[ -e /sys/fs/cgroup/memory.pressure ]] || skip "no memory.pressure: the kernel has PSI off (psi=0 or CONFIG_PSI unset)"
python3 "$VMDIR/psi_node.py" hold || fail "the shrink was not held during the memory stall, or not made after it (see above)"
ok "memory stall (PSI) -> recommendation's shrink held; stall gone -> shrink made"
