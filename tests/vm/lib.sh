# Helpers sourced by the guest scripts of the VM tier (t_*.sh, bench_*.sh, demo.sh): cgroup trees, workloads, checks.
# shellcheck shell=bash

CG=${CG:-/sys/fs/cgroup}
SNUG_REPO=${SNUG_REPO:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
B=${SNUG_BUILD:-$SNUG_REPO/build}
AGENT=$B/snug-agent
CGCHECK=$B/tests/cgcheck
ACTCHECK=$B/tests/actcheck
WORKLOAD=$B/tests/workload
BENCH_SAMPLER=$B/tests/bench-sampler
VMDIR=$SNUG_REPO/tests/vm
CONTROLLERS="+cpu +memory +io +pids"

# Prints a failure and stops the test (the runner counts it).
fail() {
	echo "FAIL: $*" >&2
	exit 1
}

# Skips the test with a reason (exit status 77, as automake does).
skip() {
	echo "SKIP: $*" >&2
	exit 77
}

ok() { echo "  ok: $*"; }

need() {
	local f
	for f; do
		[[ -x $f ]] || skip "$f is not built"
	done
}

# cg_mkdir REL: creates $CG/REL and every missing level, enabling the controllers in each parent so
# the leaf gets cpu.*, memory.*, io.* and pids.* files. A leaf must not get processes AND children.
cg_mkdir() {
	local rel=$1 cur=$CG part
	local IFS=/
	for part in $rel; do
		[[ -n $part ]] || continue
		if [[ $(<"$cur/cgroup.subtree_control") != *memory* ]]; then
			echo "$CONTROLLERS" >"$cur/cgroup.subtree_control" || return 1
		fi
		cur=$cur/$part
		[[ -d $cur ]] || mkdir "$cur" || return 1
	done
}

# cg_spawn REL CMD...: starts CMD in the leaf cgroup REL (created if needed) in the background and
# prints its pid. The process moves itself before exec, so no instant is spent in the parent.
cg_spawn() {
	local rel=$1
	shift
	cg_mkdir "$rel" || return 1
	(
		echo "$BASHPID" >"$CG/$rel/cgroup.procs" || exit 1
		exec "$@" </dev/null >/dev/null 2>&1
	) &
	local pid=$!
	# No "Killed" job report when the kernel or a test kills it.
	disown "$pid" 2>/dev/null
	echo "$pid"
}

# cg_wait_empty REL: waits up to ~5 s for a cgroup to have no processes.
cg_wait_empty() {
	local i
	for ((i = 0; i < 50; i++)); do
		[[ -z $(<"$CG/$1/cgroup.procs") ]] && return 0
		sleep 0.1
	done
	return 1
}

# cg_destroy REL: kills everything below REL and removes it, deepest first, in a couple of execs
# (cgroup.kill reaches the whole subtree; rmdir gets every dir at once).
cg_destroy() {
	local top=$CG/$1 i
	[[ -d $top ]] || return 0
	[[ -e $top/cgroup.kill ]] && echo 1 >"$top/cgroup.kill" 2>/dev/null
	for ((i = 0; i < 50; i++)); do
		grep -qx 'populated 0' "$top/cgroup.events" 2>/dev/null && break
		sleep 0.1
	done
	find "$top" -depth -type d -exec rmdir {} + 2>/dev/null
	[[ ! -d $top ]]
}

# cg_destroy_all: removes every cgroup a test made (the guest starts with an empty tree).
cg_destroy_all() {
	local d
	for d in "$CG"/*/; do
		[[ -d $d ]] && cg_destroy "$(basename "$d")"
	done
	return 0
}

# cg_key FILE KEY: prints the value of KEY in a flat-keyed file (cpu.stat, memory.events, memory.stat).
cg_key() {
	awk -v k="$2" '$1 == k { print $2; found = 1 } END { exit !found }' "$1"
}

# cg_psi_total FILE some|full: prints the total= field of a PSI line.
cg_psi_total() {
	awk -v k="$2" '$1 == k { for (i = 2; i <= NF; i++) if ($i ~ /^total=/) { sub(/^total=/, "", $i); print $i } }' "$1"
}

# A pod UID and container ID that look like kubelet's, derived from a seed so tests can predict them.
fake_uid() { printf '%08x-%04x-4%03x-8%03x-%012x' "$1" "$1" "$1" "$1" "$1"; }
fake_cid() { printf '%06xc0ffee%052x' "$1" 0; }

# kube_pod_path DRIVER QOS UID: the pod cgroup kubelet would make (QOS: Guaranteed|Burstable|BestEffort).
kube_pod_path() {
	local drv=$1 qos=$2 uid=$3 u=${3//-/_}
	case $drv:$qos in
	systemd:Guaranteed) echo "kubepods.slice/kubepods-pod$u.slice" ;;
	systemd:Burstable) echo "kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod$u.slice" ;;
	systemd:BestEffort) echo "kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod$u.slice" ;;
	cgroupfs:Guaranteed) echo "kubepods/pod$uid" ;;
	cgroupfs:Burstable) echo "kubepods/burstable/pod$uid" ;;
	cgroupfs:BestEffort) echo "kubepods/besteffort/pod$uid" ;;
	*) return 1 ;;
	esac
}

# kube_ctr_name DRIVER RUNTIME ID: the container cgroup's name (RUNTIME: containerd|cri-o|docker).
kube_ctr_name() {
	case $1:$2 in
	systemd:containerd) echo "cri-containerd-$3.scope" ;;
	systemd:cri-o) echo "crio-$3.scope" ;;
	systemd:docker) echo "docker-$3.scope" ;;
	cgroupfs:containerd) echo "$3" ;;
	cgroupfs:cri-o) echo "crio-$3" ;;
	*) return 1 ;;
	esac
}

# kube_pod DRIVER QOS UID: creates the pod cgroup, records it in $EXPECT (when set), sets KPOD.
kube_pod() {
	KPOD=$(kube_pod_path "$@") || return 1
	cg_mkdir "$KPOD" || return 1
	[[ -n ${EXPECT:-} ]] && echo "pod $3 $2 $1 $KPOD" >>"$EXPECT"
	return 0
}

# kube_ctr DRIVER RUNTIME UID ID [CMD...]: creates a container cgroup under $KPOD, starts CMD in it
# (default: workload idle), records it in $EXPECT, sets KCTR (its path) and KPID.
kube_ctr() {
	local drv=$1 rt=$2 uid=$3 id=$4
	shift 4
	KCTR=$KPOD/$(kube_ctr_name "$drv" "$rt" "$id") || return 1
	(($#)) || set -- "$WORKLOAD" idle
	KPID=$(cg_spawn "$KCTR" "$@") || return 1
	[[ -n ${EXPECT:-} ]] && echo "ctr $uid $id $rt $KCTR" >>"$EXPECT"
	return 0
}

# alive PID: the process exists and is not a zombie waiting to be reaped.
alive() {
	local st
	[[ -r /proc/$1/stat ]] || return 1
	read -r st </proc/"$1"/stat 2>/dev/null || return 1
	st=${st##*) }
	[[ ${st%% *} != Z ]]
}

# kube_bulk_tree ROOT N [PER_POD]: N container cgroups (containerd, systemd driver) in pods of PER_POD
# (default 4) below the cgroup ROOT (relative to $CG), Burstable and BestEffort alternating, made
# with two mkdir execs and no subshells: under TCG each fork or exec costs tens of milliseconds.
kube_bulk_tree() {
	local root=$1 n=$2 per=${3:-4} i p u d pods=() ctrs=()
	local top=$CG/$root/kubepods.slice
	cg_mkdir "$root/kubepods.slice/kubepods-burstable.slice" || return 1
	cg_mkdir "$root/kubepods.slice/kubepods-besteffort.slice" || return 1
	for d in "$top" "$top/kubepods-burstable.slice" "$top/kubepods-besteffort.slice"; do
		echo "$CONTROLLERS" >"$d/cgroup.subtree_control" || return 1
	done
	for ((i = 0; i < n; i++)); do
		p=$((i / per + 1000))
		printf -v u '%08x_%04x_4%03x_8%03x_%012x' $p $p $p $p $p
		if ((p % 2)); then
			d=$top/kubepods-besteffort.slice/kubepods-besteffort-pod$u.slice
		else
			d=$top/kubepods-burstable.slice/kubepods-burstable-pod$u.slice
		fi
		((i % per == 0)) && pods+=("$d")
		printf -v u 'cri-containerd-%06xc0ffee%052x.scope' $((i + 1000)) 0
		ctrs+=("$d/$u")
	done
	mkdir "${pods[@]}" || return 1
	for d in "${pods[@]}"; do
		echo "$CONTROLLERS" >"$d/cgroup.subtree_control" || return 1
	done
	mkdir "${ctrs[@]}" || return 1
	BULK_CTRS=("${ctrs[@]}")
}
