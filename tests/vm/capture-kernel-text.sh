#!/bin/bash
# Guest script: builds a small kubelet-style tree with live load and copies every readable cgroup file of it, so unit tests parse real kernel text.
#
# Run from the host: tests/vm/run.sh --results DIR tests/vm/capture-kernel-text.sh
# Leaves DIR/tree/... (the copied files, same layout as /sys/fs/cgroup) and DIR/README.
set -uo pipefail
. "$(dirname "$0")/lib.sh"
need "$WORKLOAD"

out=$SNUG_VM_RESULTS/tree
rm -rf "$out"
mkdir -p "$out"

uid_b=$(fake_uid 1)
uid_g=$(fake_uid 2)
cid_burn=$(fake_cid 11)
cid_idle=$(fake_cid 12)
cid_oom=$(fake_cid 21)
bur=kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod${uid_b//-/_}.slice
gua=kubepods.slice/kubepods-pod${uid_g//-/_}.slice

# Burstable pod: a CPU burner under a tight cpu.max (so cpu.stat shows throttling) and an idle container.
cg_mkdir "$bur/cri-containerd-$cid_burn.scope"
cg_mkdir "$bur/cri-containerd-$cid_idle.scope"
echo 39 >"$CG/$bur/cpu.weight"
echo "20000 100000" >"$CG/$bur/cri-containerd-$cid_burn.scope/cpu.max"
echo 100 >"$CG/$bur/cri-containerd-$cid_burn.scope/cpu.weight"
echo $((256 << 20)) >"$CG/$bur/cri-containerd-$cid_burn.scope/memory.max"
echo $((200 << 20)) >"$CG/$bur/cri-containerd-$cid_burn.scope/memory.high"
cg_spawn "$bur/cri-containerd-$cid_burn.scope" "$WORKLOAD" burn >/dev/null
cg_spawn "$bur/cri-containerd-$cid_idle.scope" "$WORKLOAD" idle >/dev/null

# Guaranteed pod: a grower that hits its memory.max and is OOM-killed (memory.events oom_kill 1).
cg_mkdir "$gua/cri-containerd-$cid_oom.scope"
echo "50000 100000" >"$CG/$gua/cpu.max"
echo $((48 << 20)) >"$CG/$gua/memory.max"
echo "50000 100000" >"$CG/$gua/cri-containerd-$cid_oom.scope/cpu.max"
echo $((32 << 20)) >"$CG/$gua/cri-containerd-$cid_oom.scope/memory.max"
cg_spawn "$gua/cri-containerd-$cid_oom.scope" "$WORKLOAD" grow --rate-mib 64 >/dev/null

# Let the burner be throttled for a few periods and the grower die; PSI needs some stall too.
sleep 4
dd if=/dev/zero of=/tmp/io bs=1M count=16 oflag=direct status=none 2>/dev/null || true

# Builtins only: under TCG every exec costs a tenth of a second or more.
copy_text() {
	local line=
	{ while IFS= read -r line || [[ -n $line ]]; do printf "%s\n" "$line"; done <"$1" >"$2"; } ||
		rm -f "$2"
}

n=0
while read -r d; do
	rel=${d#"$CG"}
	mkdir -p "$out/$rel"
	for f in "$d"/*; do
		[[ -f $f && -r $f ]] || continue
		# Write-only files fail to read: skip them.
		case ${f##*/} in cgroup.kill | memory.reclaim) continue ;; esac
		copy_text "$f" "$out/$rel/${f##*/}"
		n=$((n + 1))
	done
done < <(find "$CG/kubepods.slice" -type d)
# The root's own files differ (no cpu.max, memory.max at the root): keep the few that exist there.
mkdir -p "$out/root"
for f in cgroup.controllers cgroup.subtree_control cpu.stat memory.stat cpu.pressure memory.pressure io.pressure; do
	[[ -r $CG/$f ]] && copy_text "$CG/$f" "$out/root/$f"
done
cat >"$SNUG_VM_RESULTS/README" <<EOT
Real cgroup v2 file text captured in the VM tier (tests/vm/capture-kernel-text.sh) on Debian's
kernel $(uname -r), cgroup_no_v1=all, under qemu TCG.

tree/ mirrors /sys/fs/cgroup below kubepods.slice (systemd driver, containerd names):
  $bur/
    cri-containerd-$cid_burn.scope  workload burn, cpu.max "20000 100000" (throttled), memory.max 256M, memory.high 200M
    cri-containerd-$cid_idle.scope  workload idle
  $gua/   cpu.max "50000 100000", memory.max 48M
    cri-containerd-$cid_oom.scope   workload grow, memory.max 32M: OOM-killed (memory.events oom_kill 1), now empty
tree/root/ holds the few files the root cgroup has.
Write-only files (cgroup.kill, memory.reclaim) are absent. cgroup.procs/threads hold the guest's PIDs.
EOT
echo "captured $n files"
