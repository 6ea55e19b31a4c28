#!/bin/bash
# Real OOM kills in kubelet-style container cgroups, seen by `snug-agent oomwatch` through BPF (tp_btf and classic tp) and memory.events.
. "$(dirname "$0")/lib.sh"
need "$AGENT" "$WORKLOAD"
command -v python3 >/dev/null || skip "no python3 in the guest"

# Outputs land in the results dir shared with the host, for a look after a failure.
T=${SNUG_VM_RESULTS:-/tmp}/oomwatch
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
	for n in bpf tp fallback; do
		echo "--- $n output:" >&2
		cat "$T/$n.json" "$T/$n.err" >&2
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

make_ctr 1
start_watcher bpf
start_watcher tp --bpf-program tp
start_watcher fallback --no-bpf
check bpf 'start["source"] == "bpf" and start["via"] == "task"' \
	"BPF loads on Debian 6.1 with tp_btf (the tracepoint passes the victim task)" \
	tp 'start["source"] == "bpf" and start["via"] == "current"' \
	"the classic tp/oom/mark_victim attaches too" \
	fallback 'start["source"] == "memory.events" and start["tracked"] == 1' \
	"--no-bpf watches memory.events of the discovered container"

# One kill: BPF gives the pid, comm and the cgroup id (= the container dir's inode).
pid=$(kill_in 1)
ino=$(stat -c %i "$CG/$(ctr_rel 1)")
cid=$(fake_cid 1)
uid=$(fake_uid 1)
check bpf "len(kills) == 1 and kills[0]['pid'] == $pid and kills[0]['tgid'] == $pid and \
kills[0]['cgroup_id'] == $ino and kills[0]['comm'] == 'workload' and \
kills[0]['container_id'] == '$cid' and kills[0]['pod_uid'] == '$uid' and \
kills[0]['via'] == 'task' and kills[0]['anon_rss_kb'] > 16000 and kills[0]['latency_us'] >= 0" \
	"kill of pid $pid delivered with cgroup id $ino, comm, rss and the container" \
	tp "len(kills) == 1 and kills[0]['pid'] == $pid and kills[0]['cgroup_id'] == $ino and \
kills[0]['via'] == 'current' and kills[0]['comm'] == 'workload' and kills[0]['anon_rss_kb'] > 16000" \
	"classic tp: victim = current task, cgroup id $ino, Debian's rss fields" \
	fallback "len(kills) == 1 and kills[0]['source'] == 'memory.events' and \
kills[0]['cgroup_id'] == $ino and kills[0]['container_id'] == '$cid' and kills[0]['kills'] == 1" \
	"the same kill delivered from memory.events" \
	fallback "any(p['cgroup_id'] == $ino and p['max_delta'] > 0 for p in pressure)" \
	"memory.events max growth reported as pressure"

# Several simultaneous kills in different pods (created after the watchers started: discovery
# must pick them up), all delivered by every path.
for n in 2 3 4 5; do make_ctr "$n"; done
sleep 2 # one rescan period: the new containers are tracked
pids=()
for n in 2 3 4 5; do pids+=("$(armed_kill_in "$n")"); done
sleep 0.5
touch "$T/go"
want=""
for n in 2 3 4 5; do want+="'$(fake_cid "$n")',"; done
sim="sorted(k.get('container_id') for k in kills[1:]) == sorted([$want])"
check bpf "$sim and sorted(k['pid'] for k in kills[1:]) == sorted([${pids[*]/%/,}])" \
	"4 simultaneous kills in 4 pods, each with its own pid and container" \
	tp "$sim and sorted(k['pid'] for k in kills[1:]) == sorted([${pids[*]/%/,}])" \
	"classic tp: the same 4 kills" \
	fallback "$sim and sum(k['kills'] for k in kills) == 5" \
	"the same 4 kills from memory.events"
# Nothing reported twice: memory.events agreed with BPF on every kill (after the grace period).
sleep 1.5
check bpf "len(kills) == 5 and all(not k.get('missed_by_bpf') for k in kills)" \
	"memory.events found no kill BPF missed" \
	tp "len(kills) == 5 and all(not k.get('missed_by_bpf') for k in kills)" \
	"classic tp: no kill missed"
exit 0
