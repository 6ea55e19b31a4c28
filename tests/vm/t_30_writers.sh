#!/bin/bash
# The library's writers take effect in the kernel: cpu.max throttles, memory.max reclaims or OOM-kills, weight and high apply.
. "$(dirname "$0")/lib.sh"
need "$CGCHECK" "$WORKLOAD"

uid=$(fake_uid 30)
kube_pod cgroupfs Burstable "$uid"

# cpu.max: a burner under 10 ms per 100 ms is throttled in nearly every period.
kube_ctr cgroupfs containerd "$uid" "$(fake_cid 31)" "$WORKLOAD" burn
burn=$KCTR
"$CGCHECK" write "$CG" "$burn" cpu.max 10000 >/dev/null || fail "cgcheck write cpu.max failed"
[[ $(<"$CG/$burn/cpu.max") == "10000 100000" ]] || fail "cpu.max reads '$(<"$CG/$burn/cpu.max")'"
ok "cpu.max reads 10000 100000"
t0=$(cg_key "$CG/$burn/cpu.stat" nr_throttled)
sleep 2
t1=$(cg_key "$CG/$burn/cpu.stat" nr_throttled)
((t1 > t0)) || fail "nr_throttled did not grow under cpu.max ($t0 -> $t1)"
ok "nr_throttled grows under the written cpu.max ($t0 -> $t1)"
"$CGCHECK" write "$CG" "$burn" cpu.max max >/dev/null || fail "cgcheck write cpu.max max failed"
[[ $(<"$CG/$burn/cpu.max") == "max 100000" ]] || fail "cpu.max reads '$(<"$CG/$burn/cpu.max")' after max"
ok "cpu.max back to max 100000"

# cpu.weight reads back what was written.
"$CGCHECK" write "$CG" "$burn" cpu.weight 59 >/dev/null || fail "cgcheck write cpu.weight failed"
[[ $(<"$CG/$burn/cpu.weight") == 59 ]] || fail "cpu.weight reads $(<"$CG/$burn/cpu.weight")"
ok "cpu.weight 59"

# memory.max below the page cache a container holds: the kernel reclaims it, nobody dies.
big=/usr/bin/qemu-system-x86_64
kube_ctr cgroupfs containerd "$uid" "$(fake_cid 32)" bash -c "cat $big >/dev/null; exec $WORKLOAD idle"
cache=$KCTR
cachepid=$KPID
for ((i = 0; i < 100; i++)); do
	f=$(cg_key "$CG/$cache/memory.stat" file)
	((f >= 12 << 20)) && break
	sleep 0.2
done
before=$(<"$CG/$cache/memory.current")
((before >= 12 << 20)) || fail "page cache never reached 12 MiB (memory.current $before)"
"$CGCHECK" write "$CG" "$cache" memory.max $((4 << 20)) >/dev/null || fail "cgcheck write memory.max failed"
after=$(<"$CG/$cache/memory.current")
((after <= 4 << 20)) || fail "memory.current $after still above the written memory.max"
[[ $(cg_key "$CG/$cache/memory.events" oom_kill) == 0 ]] || fail "reclaimable cache led to an OOM kill"
alive "$cachepid" || fail "the cache holder died"
ok "memory.max 4 MiB reclaimed page cache: $((before >> 20)) MiB -> $((after >> 10)) KiB, no OOM"

# memory.high below a growing container's memory: the kernel counts high events and throttles it, no kill.
kube_ctr cgroupfs containerd "$uid" "$(fake_cid 33)" "$WORKLOAD" grow --rate-mib 16
anon=$KCTR
anonpid=$KPID
for ((i = 0; i < 100; i++)); do
	(($(<"$CG/$anon/memory.current") >= 16 << 20)) && break
	sleep 0.1
done
(($(<"$CG/$anon/memory.current") >= 16 << 20)) || fail "the grower never reached 16 MiB"
"$CGCHECK" write "$CG" "$anon" memory.high $((8 << 20)) >/dev/null || fail "cgcheck write memory.high failed"
[[ $(<"$CG/$anon/memory.high") == $((8 << 20)) ]] || fail "memory.high reads $(<"$CG/$anon/memory.high")"
for ((i = 0; i < 50; i++)); do
	h=$(cg_key "$CG/$anon/memory.events" high)
	((h > 0)) && break
	sleep 0.1
done
((h > 0)) || fail "no memory.high events while growing above an 8 MiB high"
alive "$anonpid" || fail "memory.high killed the grower"
ok "memory.high 8 MiB applies: high events $h, grower throttled, alive"

# memory.max below its anonymous memory with no swap: the OOM killer takes the grower.
"$CGCHECK" write "$CG" "$anon" memory.max $((8 << 20)) >/dev/null 2>&1
for ((i = 0; i < 50; i++)); do
	alive "$anonpid" || break
	sleep 0.1
done
k=$(cg_key "$CG/$anon/memory.events" oom_kill)
((k >= 1)) || fail "no oom_kill in memory.events after memory.max 8 MiB (events: $(tr '\n' ' ' <"$CG/$anon/memory.events"))"
alive "$anonpid" && fail "the grower survived memory.max below its anon memory"
ok "memory.max 8 MiB OOM-killed the grower (oom_kill $k)"
