#!/bin/bash
# OOM-kill delivery latency in the VM: BPF ring buffer vs memory.events inotify, the same kills seen by both (oom-bench).
. "$(dirname "$0")/lib.sh"
OOM_BENCH=$B/tests/oom-bench
need "$OOM_BENCH"

rel=kubepods.slice/kubepods-burstable.slice/kubepods-burstable-podbe0c0000_0000_4000_8000_000000000001.slice/cri-containerd-$(fake_cid 4242).scope
cg_mkdir "$rel" || fail "cannot create $rel"
echo 16M >"$CG/$rel/memory.max" || fail "cannot set memory.max"
"$OOM_BENCH" --cgroup "$CG/$rel" --kills "${SNUG_OOM_BENCH_KILLS:-25}" --alloc-mib 128
rc=$?
((rc == 77)) && skip "oom-bench: BPF not available"
((rc == 0)) || fail "oom-bench failed ($rc)"
