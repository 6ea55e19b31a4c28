#!/bin/bash
# Real OOM kills in kubelet-style container cgroups, seen by `snug-agent oomwatch` through BPF (tp_btf) and memory.events (--no-bpf).
. "$(dirname "$0")/oomwatch_lib.sh"

make_ctr 1
start_watcher bpf
start_watcher fallback --no-bpf
check bpf 'start["source"] == "bpf" and start["program"] == "tp_btf"' \
	"BPF loads on Debian 6.1 with tp_btf (the tracepoint passes the victim task)" \
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
	fallback "$sim and sum(k['kills'] for k in kills) == 5" \
	"the same 4 kills from memory.events"
# Nothing reported twice: memory.events agreed with BPF on every kill (after the grace period).
sleep 1.5
check bpf "len(kills) == 5 and all(not k.get('missed_by_bpf') for k in kills)" \
	"memory.events found no kill BPF missed"

exit 0
