#!/bin/bash
# Discovery finds exactly the pods and containers a kubelet would have made, on both drivers, with the kernel's inode ids.
. "$(dirname "$0")/lib.sh"
need "$CGCHECK" "$WORKLOAD"

EXPECT=$SNUG_VM_RESULTS/t_10.expect
: >"$EXPECT"
# systemd driver: the three QoS classes, containerd (app + pause sandbox), CRI-O (its conmon scope
# is not a container), docker.
kube_pod systemd Guaranteed "$(fake_uid 1)"
kube_ctr systemd containerd "$(fake_uid 1)" "$(fake_cid 101)"
kube_ctr systemd containerd "$(fake_uid 1)" "$(fake_cid 102)"
kube_pod systemd Burstable "$(fake_uid 2)"
kube_ctr systemd cri-o "$(fake_uid 2)" "$(fake_cid 201)"
cg_spawn "$KPOD/crio-conmon-$(fake_cid 201).scope" "$WORKLOAD" idle >/dev/null
kube_pod systemd BestEffort "$(fake_uid 3)"
kube_ctr systemd docker "$(fake_uid 3)" "$(fake_cid 301)"
# cgroupfs driver: the same classes, containerd and CRI-O names.
kube_pod cgroupfs Guaranteed "$(fake_uid 4)"
kube_ctr cgroupfs containerd "$(fake_uid 4)" "$(fake_cid 401)"
kube_pod cgroupfs Burstable "$(fake_uid 5)"
kube_ctr cgroupfs cri-o "$(fake_uid 5)" "$(fake_cid 501)"
kube_ctr cgroupfs cri-o "$(fake_uid 5)" "$(fake_cid 502)"
kube_pod cgroupfs BestEffort "$(fake_uid 6)"
kube_ctr cgroupfs containerd "$(fake_uid 6)" "$(fake_cid 601)"
# Things that are not pods: system services, a stray dir in kubepods.
cg_spawn system.slice/containerd.service "$WORKLOAD" idle >/dev/null
cg_mkdir kubepods.slice/not-a-pod
cg_mkdir kubepods/burstable/podnot-a-uid

"$CGCHECK" discover "$CG" >"$SNUG_VM_RESULTS/t_10.discover.json" || fail "cgcheck discover failed"
cp "$EXPECT" "$EXPECT.1"

# A pod that goes away is gone from the next scan; one that appears is found.
cg_destroy "$(kube_pod_path systemd BestEffort "$(fake_uid 3)")"
grep -v -e "$(fake_uid 3)" "$EXPECT" >"$EXPECT.2"
EXPECT=$EXPECT.2
kube_pod cgroupfs BestEffort "$(fake_uid 7)"
kube_ctr cgroupfs containerd "$(fake_uid 7)" "$(fake_cid 701)"
"$CGCHECK" discover "$CG" >"$SNUG_VM_RESULTS/t_10.discover2.json" || fail "cgcheck discover failed"

# One python for both scans (each start costs seconds under TCG).
python3 - "$VMDIR" "$SNUG_VM_RESULTS" "$CG" <<'PY' || fail "discovery differs from what was made"
import sys
sys.path.insert(0, sys.argv[1])
import vmcheck as v
r, cg = sys.argv[2], sys.argv[3]
print("first scan:")
v.cmd_discover(r + "/t_10.expect.1", r + "/t_10.discover.json", cg)
print("after one pod went and another came:")
v.cmd_discover(r + "/t_10.expect.2", r + "/t_10.discover2.json", cg)
sys.exit(1 if v.failures else 0)
PY
