#!/bin/bash
# `snug-agent run` on the systemd cgroup driver with systemd as PID 1: a throttled burner's CPU limit and a grower's memory limit raised through accepted resizes, set as unit properties over D-Bus (systemctl show and the cgroup files), still in place after `systemctl daemon-reload`.
# vm-init: systemd
# vm-timeout: 240
. "$(dirname "$0")/lib.sh"
need "$AGENT" "$WORKLOAD"
[[ $(</proc/1/comm) == systemd ]] ||
	skip "PID 1 is $(</proc/1/comm), not systemd: boot with SNUG_VM_INIT=systemd (make check-vm does)"
command -v python3 >/dev/null || skip "no python3"
command -v openssl >/dev/null || skip "no openssl for the fake API server's certificates"

# The agent reaches systemd through the D-Bus system bus; PID 1 takes its name there a moment after
# dbus.service is up.
for ((i = 0; i < 100; i++)); do
	[[ $(busctl call org.freedesktop.DBus /org/freedesktop/DBus org.freedesktop.DBus NameHasOwner \
		s org.freedesktop.systemd1 2>/dev/null) == "b true" ]] && break
	sleep 0.1
done
((i < 100)) || fail "systemd never took org.freedesktop.systemd1 on the system bus"

python3 "$VMDIR/agent_node.py" systemdtest ||
	fail "the agent's resize did not reach systemd's unit properties or did not survive daemon-reload (see above)"
ok "systemd driver: throttled -> CPUQuotaPerSecUSec/cpu.max raised; growing -> MemoryMax/memory.max raised; kept across daemon-reload"
