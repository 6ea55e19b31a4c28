#!/bin/bash
# `snug-agent top --once --json` shows live load as it happens and agrees with the cgroup files on every container.
. "$(dirname "$0")/lib.sh"
need "$AGENT" "$WORKLOAD"
"$AGENT" top --help >/dev/null 2>&1 || skip "snug-agent top is not built yet"
R=$SNUG_VM_RESULTS

EXPECT=$R/t_40.expect
: >"$EXPECT"
kube_pod systemd Burstable "$(fake_uid 40)"
kube_ctr systemd containerd "$(fake_uid 40)" "$(fake_cid 41)" "$WORKLOAD" burn
burner=$(fake_cid 41)
echo "20000 100000" >"$CG/$KCTR/cpu.max"
echo $((64 << 20)) >"$CG/$KCTR/memory.max"
kube_ctr systemd containerd "$(fake_uid 40)" "$(fake_cid 42)"
kube_pod systemd Guaranteed "$(fake_uid 43)"
kube_ctr systemd cri-o "$(fake_uid 43)" "$(fake_cid 44)" "$WORKLOAD" grow --rate-mib 32
oomed=$KCTR
echo $((16 << 20)) >"$CG/$oomed/memory.max"
kube_pod cgroupfs BestEffort "$(fake_uid 45)"
kube_ctr cgroupfs containerd "$(fake_uid 45)" "$(fake_cid 46)"

# The grower dies at its 16 MiB limit; its cgroup stays, with oom_kill 1.
for ((i = 0; i < 100; i++)); do
	[[ $(cg_key "$CG/$oomed/memory.events" oom_kill) -ge 1 ]] && break
	sleep 0.1
done
[[ $(cg_key "$CG/$oomed/memory.events" oom_kill) -ge 1 ]] || fail "the grower was not OOM-killed"

"$AGENT" top --once --json --interval 1 --cgroup-root "$CG" >"$R/t_40.live.json" || fail "top --once --json failed"
python3 "$VMDIR/vmcheck.py" top-live "$R/t_40.live.json" "$burner" 0.2 || fail "top does not show the live load"

# Frozen, nothing moves: top must equal the files exactly.
echo 1 >"$CG/kubepods.slice/cgroup.freeze"
echo 1 >"$CG/kubepods/cgroup.freeze"
for ((i = 0; i < 50; i++)); do
	grep -qx 'frozen 1' "$CG/kubepods.slice/cgroup.events" && grep -qx 'frozen 1' "$CG/kubepods/cgroup.events" && break
	sleep 0.1
done
"$AGENT" top --once --json --interval 0.2 --cgroup-root "$CG" >"$R/t_40.frozen.json" || fail "top --once --json failed"
python3 "$VMDIR/vmcheck.py" top "$R/t_40.frozen.json" "$CG" "$EXPECT" || fail "top disagrees with the files"
# The text view prints a row per container too.
"$AGENT" top --once --interval 0.2 --cgroup-root "$CG" >"$R/t_40.table" || fail "top --once failed"
n=$(grep -c 'c0ffee' "$R/t_40.table")
((n == 4)) || fail "top --once shows $n of the 4 containers: $(<"$R/t_40.table")"
grep -q "${burner:0:12}" "$R/t_40.table" || fail "top --once does not show the burner"
ok "top --once prints a row for each of the 4 containers"
echo 0 >"$CG/kubepods.slice/cgroup.freeze"
echo 0 >"$CG/kubepods/cgroup.freeze"
