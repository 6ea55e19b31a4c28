#!/bin/bash
# The sampler's numbers move with real load, and io_uring, pread and open/read/close read exactly what the files say.
. "$(dirname "$0")/lib.sh"
need "$CGCHECK" "$WORKLOAD"
R=$SNUG_VM_RESULTS

# khugepaged collapses a frozen process's pages into a fresh 2 MiB page, charging the cgroup while
# nothing runs; that would move memory.peak between the sampler's read and the files' read.
echo never >/sys/kernel/mm/transparent_hugepage/enabled 2>/dev/null || true

uid=$(fake_uid 20)
kube_pod systemd Burstable "$uid"
pod=$KPOD
kube_ctr systemd containerd "$uid" "$(fake_cid 21)" "$WORKLOAD" burn
burn=$KCTR
echo "50000 100000" >"$CG/$burn/cpu.max"
kube_ctr systemd containerd "$uid" "$(fake_cid 22)" "$WORKLOAD" grow --rate-mib 16 --max-mib 24
grow=$KCTR
kube_ctr systemd containerd "$uid" "$(fake_cid 23)"

# Usage grows tick by tick while the burner runs.
"$CGCHECK" sample "$CG" --mode uring --ticks 3 --interval-ms 1000 >"$R/t_20.load.jsonl" ||
	fail "cgcheck sample --mode uring failed"
python3 "$VMDIR/vmcheck.py" grows "$R/t_20.load.jsonl" "$burn" usage_usec || fail "usage does not grow"

# Let the grower reach its 24 MiB, then freeze the pod: every counter stands still, so the three read
# paths and the files must agree exactly.
for ((i = 0; i < 100; i++)); do
	(($(<"$CG/$grow/memory.current") >= 24 << 20)) && break
	sleep 0.1
done
(($(<"$CG/$grow/memory.current") >= 24 << 20)) || fail "the grower never reached 24 MiB"
ok "grower holds $(($(<"$CG/$grow/memory.current") >> 20)) MiB"
echo 1 >"$CG/$pod/cgroup.freeze"
for ((i = 0; i < 50; i++)); do
	grep -qx 'frozen 1' "$CG/$pod/cgroup.events" && break
	sleep 0.1
done
grep -qx 'frozen 1' "$CG/$pod/cgroup.events" || fail "pod did not freeze"
# The CFS bandwidth timer may still count a period or two after the freeze (nr_periods 29 → 30 was
# seen between two reads): wait until every cpu.stat under the pod stands still.
prev=
for ((i = 0; i < 30; i++)); do
	now=$(cat "$CG/$pod"/*/cpu.stat)
	[[ $now == "$prev" ]] && break
	prev=$now
	sleep 0.2
done
for m in uring pread orc; do
	"$CGCHECK" sample "$CG" --mode $m >"$R/t_20.$m.jsonl" || fail "cgcheck sample --mode $m failed"
done
python3 - "$VMDIR" "$R" "$CG" <<'PY' || fail "read paths or files disagree"
import sys
sys.path.insert(0, sys.argv[1])
import vmcheck as v
r, cg = sys.argv[2], sys.argv[3]
v.cmd_same(r + "/t_20.uring.jsonl", r + "/t_20.pread.jsonl", r + "/t_20.orc.jsonl")
v.cmd_files(r + "/t_20.uring.jsonl", cg)
sys.exit(1 if v.failures else 0)
PY
echo 0 >"$CG/$pod/cgroup.freeze"
