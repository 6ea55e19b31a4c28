# Helpers sourced by the guest scripts of the VM tier (t_*.sh, bench_*.sh, demo.sh): cgroup trees, workloads, checks.
# shellcheck shell=bash

CG=${CG:-/sys/fs/cgroup}
SNUG_REPO=${SNUG_REPO:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
B=${SNUG_BUILD:-$SNUG_REPO/build}
AGENT=$B/snug-agent
CGCHECK=$B/tests/cgcheck
WORKLOAD=$B/tests/workload
BENCH_SAMPLER=$B/tests/bench-sampler
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

# cg_destroy REL: kills everything below REL and removes it, deepest first.
cg_destroy() {
	local top=$CG/$1 d
	[[ -d $top ]] || return 0
	[[ -e $top/cgroup.kill ]] && echo 1 >"$top/cgroup.kill" 2>/dev/null
	while read -r d; do
		local i
		for ((i = 0; i < 50; i++)); do
			rmdir "$d" 2>/dev/null && break
			[[ -e $d/cgroup.kill ]] && echo 1 >"$d/cgroup.kill" 2>/dev/null
			sleep 0.1
		done
	done < <(find "$top" -mindepth 0 -type d | awk '{ print length($0) "\t" $0 }' | sort -rn | cut -f2-)
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
fake_cid() { printf '%064x' "$1" | sed 's/^0\{8\}/c0ffee00/'; }
