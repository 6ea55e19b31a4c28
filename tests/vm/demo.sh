#!/bin/bash
# Guest side of `make demo-vm` (the fallback of `make demo`): builds a small kubelet-style node with live workloads and shows `snug-agent top` on it.
#
# Layout, so later pieces can join without editing this file:
#   1. demo_tree below makes three pods (DEMO_* variables name their cgroups);
#   2. every tests/vm/demo.d/*.sh is sourced in order: each may start background helpers (say,
#      oomwatch or `snug-agent run`) and call demo_note "text" to add a line to the banner, or set
#      DEMO_VIEW to replace the command the screen shows;
#   3. the banner is printed, the memory grower starts, then DEMO_VIEW runs for DEMO_SECONDS
#      (default 30) and the demo ends.
set -uo pipefail
. "$(dirname "$0")/lib.sh"

DEMO_SECONDS=${SNUG_DEMO_SECONDS:-30}
DEMO_NOTES=()
demo_note() { DEMO_NOTES+=("$*"); }

[[ -x $AGENT && -x $WORKLOAD ]] || {
	echo "demo: build first (make all)" >&2
	exit 1
}

# Memorable ids: top shows the first 8 characters of a pod UID and 12 of a container ID.
DEMO_UID_WEB=cafe0001-0000-4000-8000-000000000001
DEMO_UID_CACHE=feed0002-0000-4000-8000-000000000002
DEMO_UID_BATCH=b0a70003-0000-4000-8000-000000000003
DEMO_CID_WEB=cafe0000a11c$(printf '%052x' 1)
DEMO_CID_CACHE=feed0000a11c$(printf '%052x' 2)
DEMO_CID_BATCH=b0a70000a11c$(printf '%052x' 3)

demo_tree() {
	# "web": Burstable, requests 100m, limited to 200m of CPU, but its code wants a whole core.
	kube_pod systemd Burstable "$DEMO_UID_WEB"
	echo 4 >"$CG/$KPOD/cpu.weight"
	kube_ctr systemd containerd "$DEMO_UID_WEB" "$DEMO_CID_WEB" "$WORKLOAD" burn
	DEMO_WEB=$KCTR
	echo "20000 100000" >"$CG/$KCTR/cpu.max"
	echo 4 >"$CG/$KCTR/cpu.weight"
	echo $((128 << 20)) >"$CG/$KCTR/memory.max"

	# "cache": Guaranteed, 64 MiB limit, grows 8 MiB/s until the kernel OOM-kills it; a restart
	# loop plays the kubelet (restartPolicy: Always), so the OOM count climbs.
	# 500m requested = limit: shares 512, weight 20 (the kubelet's formula).
	kube_pod systemd Guaranteed "$DEMO_UID_CACHE"
	echo $((64 << 20)) >"$CG/$KPOD/memory.max"
	echo "50000 100000" >"$CG/$KPOD/cpu.max"
	echo 20 >"$CG/$KPOD/cpu.weight"
	DEMO_CACHE=$KPOD/$(kube_ctr_name systemd containerd "$DEMO_CID_CACHE")
	cg_mkdir "$DEMO_CACHE"
	echo $((64 << 20)) >"$CG/$DEMO_CACHE/memory.max"
	echo "50000 100000" >"$CG/$DEMO_CACHE/cpu.max"
	echo 20 >"$CG/$DEMO_CACHE/cpu.weight"

	# "batch": BestEffort (cgroupfs driver, as some nodes run), sleeping.
	kube_pod cgroupfs BestEffort "$DEMO_UID_BATCH"
	echo 1 >"$CG/$KPOD/cpu.weight"
	kube_ctr cgroupfs containerd "$DEMO_UID_BATCH" "$DEMO_CID_BATCH"
	echo 1 >"$CG/$KCTR/cpu.weight"
	DEMO_BATCH=$KCTR
}

# The grower starts when the screen does, so its first OOM happens in view.
demo_start_cache() {
	(
		while :; do
			pid=$(cg_spawn "$DEMO_CACHE" "$WORKLOAD" grow --rate-mib 8)
			while alive "$pid"; do sleep 0.5; done
			sleep 2
		done
	) &
	DEMO_CACHE_LOOP=$!
}

demo_banner() {
	local n
	printf '\033[2J\033[H'
	cat <<EOT
================================================================================
 snug demo: a throwaway VM (real Linux $(uname -r), cgroup v2) laid out like a
 Kubernetes node. No cluster: the pods below are cgroups with live processes in
 them, named exactly as the kubelet and containerd would name them.

   pod cafe0001 "web"    Burstable   burns CPU but is capped at 0.2 cores
                                     -> CPU stays ~0.20, THR% (time throttled) high
   pod feed0002 "cache"  Guaranteed  grows 8 MiB/s toward its 64 MiB limit
                                     -> MEM WORKSET climbs, OOM count goes up, restarts
   pod b0a70003 "batch"  BestEffort  sleeps -> near zero everywhere
EOT
	for n in "${DEMO_NOTES[@]}"; do
		echo "   $n"
	done
	cat <<EOT

 Next: 'snug-agent top' reads this straight from /sys/fs/cgroup every second,
 for ${DEMO_SECONDS} s; then the VM powers off by itself.
================================================================================
EOT
}

# The kernel's OOM report would scroll the table away; the OOM column tells the story.
echo 1 >/proc/sys/kernel/printk
demo_tree
DEMO_VIEW=("$AGENT" top --interval 1)
for f in "$VMDIR"/demo.d/*.sh; do
	[[ -e $f ]] || continue
	# shellcheck source=/dev/null
	. "$f"
done
demo_banner
sleep "${SNUG_DEMO_PAUSE:-6}"
demo_start_cache
timeout -s INT "$DEMO_SECONDS" "${DEMO_VIEW[@]}"
kill "$DEMO_CACHE_LOOP" 2>/dev/null
echo
echo "demo: done. The same view on a real node: sudo build/snug-agent top"
exit 0
