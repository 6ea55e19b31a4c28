# Helpers of the oomwatch guest tests (t_oomwatch*.sh): kubelet-style containers, watchers, checks on their JSON lines.
# shellcheck shell=bash
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
need "$AGENT" "$WORKLOAD"
command -v python3 >/dev/null || skip "no python3 in the guest"

# Outputs land in the results dir shared with the host, for a look after a failure.
T=${SNUG_VM_RESULTS:-/tmp}/$(basename "$0" .sh)
rm -rf "$T" && mkdir -p "$T"
watchers=()
cleanup() {
	local p
	for p in "${watchers[@]}"; do kill "$p" 2>/dev/null; done
	wait 2>/dev/null
}
trap cleanup EXIT

# pod_dir N / ctr_rel N: a Burstable pod (systemd driver) with one containerd container.
pod_dir() {
	local uid
	uid=$(fake_uid "$1")
	echo "kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod${uid//-/_}.slice"
}
ctr_rel() { echo "$(pod_dir "$1")/cri-containerd-$(fake_cid "$1").scope"; }

# make_ctr N: the container cgroup with a 32 MiB limit (the grower is killed at once).
make_ctr() {
	local rel
	rel=$(ctr_rel "$1")
	cg_mkdir "$rel" || fail "cannot create $rel"
	echo 32M >"$CG/$rel/memory.max" || fail "cannot set memory.max of $rel"
}

# start_watcher NAME ARGS...: runs oomwatch in the background, output in $T/NAME.json; waits for its
# "start" line.
start_watcher() {
	local name=$1 i
	shift
	"$AGENT" oomwatch --cgroup-root "$CG" --rescan 1 "$@" >"$T/$name.json" 2>"$T/$name.err" &
	watchers+=("$!")
	for ((i = 0; i < 300; i++)); do
		grep -q '"kind":"start"' "$T/$name.json" 2>/dev/null && return 0
		kill -0 "${watchers[-1]}" 2>/dev/null || break
		sleep 0.1
	done
	cat "$T/$name.err" >&2
	fail "oomwatch $name did not start"
}

# check NAME EXPR DESCRIPTION [NAME EXPR DESCRIPTION]...: waits (up to 40 s) until every python
# expression holds on its watcher's records (start, kills, pressure). One python3 run polls them
# all: python starts slowly under TCG.
check() {
	if python3 - "$T" "$@" <<'EOF'; then
import json, sys, time
d, args = sys.argv[1], sys.argv[2:]
todo = [tuple(args[i:i + 3]) for i in range(0, len(args), 3)]
end = time.monotonic() + 40
while True:
    left = []
    for name, expr, what in todo:
        recs = [json.loads(l) for l in open(f"{d}/{name}.json") if l.strip()]
        env = dict(start=recs[0], kills=[r for r in recs if r.get("kind") == "oom_kill"],
                   pressure=[r for r in recs if r.get("kind") == "pressure"])
        if eval(expr, env):
            print(f"  ok: {name}: {what}", flush=True)
        else:
            left.append((name, expr, what))
    todo = left
    if not todo:
        sys.exit(0)
    if time.monotonic() > end:
        for name, expr, what in todo:
            print(f"FAIL: {name}: {what}\n  ({expr})", file=sys.stderr)
        sys.exit(1)
    time.sleep(0.2)
EOF
		return 0
	fi
	local n
	for n in "$T"/*.json; do
		echo "--- $n:" >&2
		cat "$n" "${n%.json}.err" >&2
	done
	exit 1
}

# kill_in N: runs the grower in container N (it is killed within a second); prints its pid.
kill_in() {
	cg_spawn "$(ctr_rel "$1")" "$WORKLOAD" grow --rate-mib 200
}

# armed_kill_in N: like kill_in, but the grower starts only when $T/go exists, so several of them
# are killed at the same moment.
armed_kill_in() {
	cg_spawn "$(ctr_rel "$1")" bash -c \
		"while [ ! -e $T/go ]; do sleep 0.05; done; exec $WORKLOAD grow --rate-mib 200"
}

