#!/bin/bash
# The systemd cgroup driver against a real systemd (PID 1 of this boot): `systemctl daemon-reload` undoes a raw write to a scope's cgroup files but keeps the limits snug's actuation set as unit properties over D-Bus.
# vm-init: systemd
# vm-timeout: 240
# (check.sh gives the tests carrying "vm-init: systemd" a boot of their own, with SNUG_VM_INIT=systemd.)
. "$(dirname "$0")/lib.sh"
need "$ACTCHECK" "$WORKLOAD"
[[ $(</proc/1/comm) == systemd ]] ||
	skip "PID 1 is $(</proc/1/comm), not systemd: boot with SNUG_VM_INIT=systemd (make check-vm does)"
export SYSTEMD_COLORS=0 SYSTEMD_PAGER=

# snug's driver reaches systemd through the D-Bus system bus, as on a node; PID 1 takes its name there
# a moment after dbus.service is up.
for ((i = 0; i < 100; i++)); do
	[[ $(busctl call org.freedesktop.DBus /org/freedesktop/DBus org.freedesktop.DBus NameHasOwner \
		s org.freedesktop.systemd1 2>/dev/null) == "b true" ]] && break
	sleep 0.1
done
((i < 100)) || fail "systemd never took org.freedesktop.systemd1 on the system bus"

cleanup() { systemctl stop kubepods.slice >/dev/null 2>&1; }
trap cleanup EXIT

# wait_for DESC CMD...: polls CMD until it succeeds (a bound for a stuck systemd, not a timing check:
# up to ~30 s, TCG on a busy machine is slow).
wait_for() {
	local desc=$1 i
	shift
	for ((i = 0; i < 300; i++)); do
		"$@" && return 0
		sleep 0.1
	done
	fail "$desc"
}
cg_is() { [[ $(<"$CG/$1") == "$2" ]]; }
has_procs() { [[ -n $(<"$CG/$1/cgroup.procs") ]]; }
# props UNIT: systemd's own record of the unit's limits, into P[MemoryMax] etc. (one exec: TCG).
declare -A P
props() {
	local k v
	P=()
	while IFS='=' read -r k v; do
		P[$k]=$v
	done < <(systemctl show -p MemoryMax -p CPUQuotaPerSecUSec -p CPUQuotaPeriodUSec -p CPUWeight "$1")
}

# The kubelet's slices, created as it creates them: transient units through StartTransientUnit.
uid=$(fake_uid 60)
pod=$(kube_pod_path systemd Burstable "$uid")
podunit=${pod##*/}
transient_slice() {
	local name=$1
	shift
	busctl call org.freedesktop.systemd1 /org/freedesktop/systemd1 \
		org.freedesktop.systemd1.Manager StartTransientUnit 'ssa(sv)a(sa(sv))' \
		"$name" replace $(($# / 3)) "$@" 0 >/dev/null || fail "StartTransientUnit $name"
	wait_for "$name never became active" systemctl -q is-active "$name"
}
transient_slice kubepods.slice Description s "kubepods"
transient_slice kubepods-burstable.slice Description s "kubepods burstable"
transient_slice "$podunit" Description s "pod $uid" MemoryMax t 268435456 \
	CPUQuotaPerSecUSec t 400000 CPUQuotaPeriodUSec t 100000 CPUWeight t 12
[[ -d $CG/$pod ]] || fail "systemd did not put $podunit at $pod"

# Two containers as the runtime makes them: scopes holding a live process, 128Mi and 200m each.
# A is the one snug resizes; B only shows that each daemon-reload did re-apply systemd's values.
scope_of() { kube_ctr_name systemd containerd "$(fake_cid "$1")"; }
start_scope() {
	systemd-run --scope --quiet --unit="$1" --slice="$podunit" -p MemoryMax=134217728 \
		-p CPUQuota=20% -p CPUQuotaPeriodSec=100ms "$WORKLOAD" idle </dev/null >/dev/null 2>&1 &
	disown $!
	wait_for "$1 never became active" systemctl -q is-active "$1"
	wait_for "$1 has no process" has_procs "$pod/$1"
}
A=$(scope_of 60)
B=$(scope_of 61)
start_scope "$A"
start_scope "$B"
a=$pod/$A
b=$pod/$B
cg_is "$a/memory.max" 134217728 || fail "$A memory.max is $(<"$CG/$a/memory.max"), not systemd's 134217728"
cg_is "$a/cpu.max" "20000 100000" || fail "$A cpu.max is $(<"$CG/$a/cpu.max"), not systemd's 20000 100000"
cg_is "$a/cpu.weight" 100 || fail "$A cpu.weight is $(<"$CG/$a/cpu.weight"), not systemd's default 100"
ok "systemd made $pod/{$A,$B}: memory.max 134217728, cpu.max 20000 100000, cpu.weight 100"

# (a) A raw write, what the cgroupfs driver does: the kernel takes it, systemd undoes it on reload.
echo 201326592 >"$CG/$a/memory.max" || fail "raw write of memory.max"
echo "30000 100000" >"$CG/$a/cpu.max" || fail "raw write of cpu.max"
cg_is "$a/memory.max" 201326592 && cg_is "$a/cpu.max" "30000 100000" ||
	fail "the kernel did not take the raw write"
systemctl daemon-reload || fail "daemon-reload"
wait_for "systemd kept the raw write to $A across daemon-reload ($(<"$CG/$a/memory.max"), $(<"$CG/$a/cpu.max")): the premise of the systemd driver is gone" \
	eval 'cg_is "$a/memory.max" 134217728 && cg_is "$a/cpu.max" "20000 100000"'
ok "raw write: memory.max 134217728 -> 201326592 -> daemon-reload -> $(<"$CG/$a/memory.max");" \
	"cpu.max 20000 100000 -> 30000 100000 -> daemon-reload -> $(<"$CG/$a/cpu.max")"

# (b) snug's actuation, found by its layout discovery as the agent finds it: pod 512Mi, limit 600m,
# request 600m, then container A 384Mi, 300m, 300m, written as unit properties through systemd.
# cpu.weight: kubelet's formula gives the pod 24, the runtime's log formula container A 40.
out=$(SNUG_LOG=debug "$ACTCHECK" grow "$CG" "$(fake_cid 60)" --pod-memory-max 536870912 \
	--memory-max 402653184 --pod-cpu-limit 600 --cpu-limit 300 --pod-cpu-request 600 \
	--cpu-request 300 2>&1) ||
	fail "snug's actuation failed: $out"
echo "  actcheck: $out"
[[ $out == "driver=systemd pod=$pod container=$a"* ]] ||
	fail "snug did not take $a for a systemd-driver container: $out"
check_snug() {
	local when=$1
	cg_is "$a/memory.max" 402653184 || fail "$when: $A memory.max is $(<"$CG/$a/memory.max"), not snug's 402653184"
	cg_is "$a/cpu.max" "30000 100000" || fail "$when: $A cpu.max is $(<"$CG/$a/cpu.max"), not snug's 30000 100000"
	cg_is "$pod/memory.max" 536870912 || fail "$when: pod memory.max is $(<"$CG/$pod/memory.max"), not snug's 536870912"
	cg_is "$pod/cpu.max" "60000 100000" || fail "$when: pod cpu.max is $(<"$CG/$pod/cpu.max"), not snug's 60000 100000"
	cg_is "$a/cpu.weight" 40 || fail "$when: $A cpu.weight is $(<"$CG/$a/cpu.weight"), not snug's 40"
	cg_is "$pod/cpu.weight" 24 || fail "$when: pod cpu.weight is $(<"$CG/$pod/cpu.weight"), not snug's 24"
	# systemd's own record of the units: a raw write would leave these at the old values.
	props "$A"
	[[ ${P[MemoryMax]}/${P[CPUQuotaPerSecUSec]}/${P[CPUQuotaPeriodUSec]}/${P[CPUWeight]} == 402653184/300ms/100ms/40 ]] ||
		fail "$when: systemd's MemoryMax/CPUQuotaPerSecUSec/CPUQuotaPeriodUSec/CPUWeight of $A: ${P[MemoryMax]}/${P[CPUQuotaPerSecUSec]}/${P[CPUQuotaPeriodUSec]}/${P[CPUWeight]}, not snug's 402653184/300ms/100ms/40"
	props "$podunit"
	[[ ${P[MemoryMax]}/${P[CPUQuotaPerSecUSec]}/${P[CPUQuotaPeriodUSec]}/${P[CPUWeight]} == 536870912/600ms/100ms/24 ]] ||
		fail "$when: systemd's MemoryMax/CPUQuotaPerSecUSec/CPUQuotaPeriodUSec/CPUWeight of $podunit: ${P[MemoryMax]}/${P[CPUQuotaPerSecUSec]}/${P[CPUQuotaPeriodUSec]}/${P[CPUWeight]}, not snug's 536870912/600ms/100ms/24"
}
check_snug "after snug's write"
# B gets a raw write at the same time: once systemd has undone it, this reload's re-apply has happened.
echo 201326592 >"$CG/$b/memory.max" || fail "raw write of $B memory.max"
systemctl daemon-reload || fail "daemon-reload"
wait_for "systemd kept the raw write to $B across the second daemon-reload" cg_is "$b/memory.max" 134217728
check_snug "after daemon-reload"
props "$A"
ok "snug: memory.max 134217728 -> 402653184 -> daemon-reload -> $(<"$CG/$a/memory.max");" \
	"cpu.max 20000 100000 -> 30000 100000 -> daemon-reload -> $(<"$CG/$a/cpu.max");" \
	"cpu.weight 100 -> 40 -> daemon-reload -> $(<"$CG/$a/cpu.weight");" \
	"systemctl show: MemoryMax=${P[MemoryMax]} CPUQuotaPerSecUSec=${P[CPUQuotaPerSecUSec]} CPUWeight=${P[CPUWeight]}"
ok "pod $podunit: memory.max $(<"$CG/$pod/memory.max"), cpu.max $(<"$CG/$pod/cpu.max"), cpu.weight $(<"$CG/$pod/cpu.weight") after daemon-reload"
