#!/bin/bash
# Victim resolution on the classic tracepoint: current task, the SIGKILL's target (signal_generate), /proc; tp_btf alongside.
. "$(dirname "$0")/oomwatch_lib.sh"

make_ctr 1
start_watcher bpf
start_watcher tp --bpf-program tp
start_watcher tpproc --bpf-program tp-proc
check bpf 'start["source"] == "bpf" and start["program"] == "tp_btf"' "tp_btf/mark_victim attaches" \
	tp 'start["source"] == "bpf" and start["program"] == "tp"' \
	"the classic tp/oom/mark_victim (+ signal_generate helper) attaches" \
	tpproc 'start["source"] == "bpf" and start["program"] == "tp-proc"' \
	"the classic tp/oom/mark_victim alone attaches"

# The grower triggers its own OOM: the victim is the current task.
pid=$(kill_in 1)
ino=$(stat -c %i "$CG/$(ctr_rel 1)")
check tp "len(kills) == 1 and kills[0]['pid'] == $pid and kills[0]['cgroup_id'] == $ino and \
kills[0]['via'] == 'current' and kills[0]['comm'] == 'workload' and kills[0]['anon_rss_kb'] > 16000" \
	"classic tp: victim = current task, cgroup id $ino, Debian's rss fields" \
	tpproc "len(kills) == 1 and kills[0]['pid'] == $pid and kills[0]['cgroup_id'] == $ino and \
kills[0]['via'] == 'current'" "tp-proc: victim = current task, cgroup id $ino"

# A victim that is not the allocating task: a ~30 MiB holder and a slow grower share a 32 MiB
# container; the grower's allocation triggers the OOM, the killer picks the bigger holder. tp_btf
# still reads the victim's task; the classic tp sees current != victim and takes the cgroup of the
# SIGKILL's target; tp-proc reads /proc/<pid>/cgroup, which can lose the race with the victim's
# exit: then its record has no cgroup, and memory.events reports the kill as missed by BPF.
make_ctr 6
holder=$(cg_spawn "$(ctr_rel 6)" "$WORKLOAD" grow --rate-mib 100 --max-mib 24)
sleep 1.5
cg_spawn "$(ctr_rel 6)" "$WORKLOAD" grow --rate-mib 4 >/dev/null
ino6=$(stat -c %i "$CG/$(ctr_rel 6)")
cid6=$(fake_cid 6)
check bpf "len(kills) >= 2 and kills[1]['pid'] == $holder and kills[1]['cgroup_id'] == $ino6 and \
kills[1]['via'] == 'task'" "victim $holder (not the allocating task) read from the tracepoint's task" \
	tp "len(kills) >= 2 and kills[1]['pid'] == $holder and kills[1]['cgroup_id'] == $ino6 and \
kills[1]['via'] == 'signal' and kills[1]['comm'] == 'workload'" \
	"classic tp: victim $holder is not current: cgroup $ino6 from the SIGKILL's target" \
	tpproc "any(k.get('pid') == $holder and k['via'] == 'proc' for k in kills) and \
(any(k.get('pid') == $holder and k['cgroup_id'] == $ino6 for k in kills) or \
any(k.get('missed_by_bpf') and k['container_id'] == '$cid6' for k in kills))" \
	"tp-proc: victim $holder via /proc, or its kill reported from memory.events"
exit 0
