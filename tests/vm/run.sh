#!/usr/bin/env bash
# Boots Debian's stock kernel in qemu with a pure cgroup v2 tree, runs one script inside, returns its status.
#
# Usage: tests/vm/run.sh [--timeout SEC] [--results DIR] [--keep PATH]... SCRIPT [ARGS...]
#   SCRIPT   a path on the host; the host's / is the guest's / (read-only), so the same absolute path
#            works inside. Relative paths are taken from the current directory, which is also the
#            guest's working directory. Runs as root in the guest with /tmp, /run, /var/tmp on tmpfs,
#            cgroup2 on /sys/fs/cgroup (+cpu +memory +io +pids enabled at the root), bpffs, tracefs.
#   --timeout SEC  kill the VM after SEC seconds (default 300, or $SNUG_VM_TIMEOUT); status 124.
#   --results DIR  writable dir shared with the guest (same path inside, in $SNUG_VM_RESULTS);
#                  default: a temporary dir under build/vm, removed afterwards.
#   --keep PATH    another host path under /tmp the guest must still see (the repo and DIR are kept).
# Environment: SNUG_CACHE (kernel cache, default ~/.cache/snug), SNUG_VM_ACCEL=tcg|kvm to force the
# accelerator, SNUG_VM_MEM (MiB, default 1024), SNUG_VM_SMP (default 2), SNUG_VM_APPEND (more kernel
# command line, ending in a space), SNUG_VM_INIT=systemd to boot the host's systemd as the guest's
# PID 1 with SCRIPT as its only unit (see init). SNUG_VM_GUESTFWD="GUESTIP:PORT=127.0.0.1:HOSTPORT ..."
# gives the guest a network (default: none): qemu user networking with restrict=on, eth0 at
# 10.0.2.15/24 and lo up, where each GUESTIP:PORT reaches only the host's loopback port HOSTPORT (one
# forwarder process per connection, tests/vm/guestfwd.py); nothing else is reachable.
# SNUG_* variables are passed into the guest.
# SNUG_VM_BOOT_TIMEOUT (seconds, default 120): a guest that has not reached /init by then is killed
# (status 75): under TCG a boot very rarely hangs in the kernel (seen once: a soft lockup in the
# crypto self-tests); callers may boot again.
# Exit status: the script's, 124 on timeout, 77 when qemu or the kernel cannot be had (a skip),
# 75 when the boot hung before /init, 125 when the guest died without reporting a status.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
out=${SNUG_OUT:-$repo/build}
cache=${SNUG_CACHE:-$HOME/.cache/snug}
timeout_s=${SNUG_VM_TIMEOUT:-300}
results=
keep=()

usage() { sed -n '4,17s/^# \{0,1\}//p' "$0" >&2; exit 2; }
while (($#)); do
	case $1 in
	--timeout) timeout_s=$2; shift 2 ;;
	--results) results=$2; shift 2 ;;
	--keep) keep+=("$(realpath -m "$2")"); shift 2 ;;
	-h | --help) usage ;;
	--) shift; break ;;
	-*) echo "run.sh: unknown option $1" >&2; usage ;;
	*) break ;;
	esac
done
(($#)) || usage
script=$(realpath -m "$1")
shift
keep+=("$script")
[[ -e $script ]] || { echo "run.sh: no such script: $script" >&2; exit 2; }

skip() {
	echo "*** SKIPPED: $* ***" >&2
	exit 77
}

qemu=$(command -v qemu-system-x86_64 || true)
[[ -n $qemu ]] || skip "no qemu-system-x86_64 (run 'make deps')"
[[ -x /bin/busybox ]] || skip "no /bin/busybox (busybox-static; run 'make deps')"
command -v cpio >/dev/null || skip "no cpio (run 'make deps')"

init_args=
case ${SNUG_VM_INIT:-} in
'') ;;
systemd)
	[[ -x /lib/systemd/systemd ]] || skip "SNUG_VM_INIT=systemd: no /lib/systemd/systemd (package systemd)"
	[[ -x /usr/bin/dbus-daemon ]] || skip "SNUG_VM_INIT=systemd: no /usr/bin/dbus-daemon (package dbus)"
	init_args="snug.init=systemd systemd.unit=snug-vm.service "
	;;
*) echo "run.sh: SNUG_VM_INIT must be empty or systemd, not $SNUG_VM_INIT" >&2; exit 2 ;;
esac

# The opt-in network: qemu's user stack with restrict=on (no route out), plus one guestfwd rule per
# port. The chardev form (tcp:...) connects once at qemu's start and carries one connection; the cmd:
# form spawns the forwarder for every connection the guest opens (argv split on spaces, the
# connection as its stdin/stdout/stderr).
nic=(-nic none)
net_args=
if [[ -n ${SNUG_VM_GUESTFWD:-} ]]; then
	# The system python: a version-manager shim in PATH would add its own start to every connection.
	py=/usr/bin/python3
	[[ -x $py ]] || py=$(command -v python3) || skip "SNUG_VM_GUESTFWD: no python3 for the forwarder"
	netdev="user,id=n0,restrict=on"
	for rule in $SNUG_VM_GUESTFWD; do
		if [[ ! $rule =~ ^([0-9.]+):([0-9]+)=(127\.0\.0\.1|::1):([0-9]+)$ ]]; then
			echo "run.sh: SNUG_VM_GUESTFWD rule '$rule' is not GUESTIP:PORT=127.0.0.1:HOSTPORT" >&2
			exit 2
		fi
		netdev+=",guestfwd=tcp:${BASH_REMATCH[1]}:${BASH_REMATCH[2]}-cmd:$py $here/guestfwd.py ${BASH_REMATCH[3]} ${BASH_REMATCH[4]}"
	done
	nic=(-netdev "$netdev" -device virtio-net-pci,netdev=n0)
	net_args="snug.net=10.0.2.15/24 "
fi

kdir=$cache/vm
"$here/fetch-kernel.sh" "$kdir" >/dev/null || skip "cannot fetch the Debian kernel package"

# The initramfs: busybox, the virtio/9p modules and /init; rebuilt when any input is newer.
vmout=$out/vm
mkdir -p "$vmout"
initrd=$vmout/initramfs.cpio
inputs=("$here/init" /bin/busybox "$kdir/modules.order" "$kdir/vmlinuz")
stale=0
[[ -s $initrd ]] || stale=1
for f in "${inputs[@]}"; do [[ $f -nt $initrd ]] && stale=1; done
if ((stale)); then
	stage=$(mktemp -d "$vmout/initramfs.XXXXXX")
	mkdir -p "$stage/bin" "$stage/modules"
	cp /bin/busybox "$stage/bin/busybox"
	install -m 0755 "$here/init" "$stage/init"
	cp "$kdir"/modules/*.ko "$stage/modules/"
	cp "$kdir/modules.order" "$stage/modules.order"
	# Uncompressed: under TCG the kernel's decompressor would cost more than it saves.
	(cd "$stage" && find . | LC_ALL=C sort | cpio -o -H newc --quiet) >"$initrd.tmp.$$"
	mv "$initrd.tmp.$$" "$initrd"
	rm -rf "$stage"
fi

# Accelerator: KVM only where it really works. /dev/kvm from kvm_pvm (software nested virtualisation)
# hangs a stock kernel silently in its decompressor, so that case gets TCG.
accel=${SNUG_VM_ACCEL:-}
if [[ -z $accel ]]; then
	accel=tcg
	if [[ -w /dev/kvm && ! -e /sys/module/kvm_pvm ]] && grep -qwE 'vmx|svm' /proc/cpuinfo; then
		accel=kvm
	fi
fi
# qboot starts the kernel in a fraction of SeaBIOS's time, and prints nothing.
bios=()
[[ -e /usr/share/qemu/qboot.rom && -z ${SNUG_VM_SEABIOS:-} ]] && bios=(-bios /usr/share/qemu/qboot.rom)
cpu=()
[[ $accel == kvm && ! -e /sys/module/kvm_pvm ]] && cpu=(-cpu host)

# The shared results dir, and the guest command file.
tmp_results=0
if [[ -z $results ]]; then
	results=$(mktemp -d "$vmout/run.XXXXXX")
	tmp_results=1
else
	mkdir -p "$results"
	results=$(realpath "$results")
fi
case $results$repo$PWD in
*[[:space:]]*) echo "run.sh: paths with spaces are not supported ($results, $repo, $PWD)" >&2; exit 2 ;;
esac
rm -f "$results/status" "$results/booted" "$results/systemd-up" "$results/cmd" "$results/keep" \
	"$results/qemu.pid" "$results/boot-hung"
# Paths the guest must still see when they sit under a tmpfs dir: each once, and none below another
# (a kept dir keeps everything under it, the results mount included).
printf '%s\n' "$repo" "$results" "$PWD" "${keep[@]}" | LC_ALL=C sort -u |
	awk '{ for (i = 1; i <= n; i++) if (index($0 "/", k[i] "/") == 1) next; k[++n] = $0; print }' >"$results/keep"

rows=24 cols=80
if [[ -t 1 ]] && sz=$(stty size 2>/dev/null) && [[ $sz =~ ^([0-9]+)\ ([0-9]+)$ ]]; then
	rows=${BASH_REMATCH[1]} cols=${BASH_REMATCH[2]}
fi
{
	echo "# generated by tests/vm/run.sh: sourced by the guest's /init inside the host root"
	echo "export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin HOME=/tmp LC_ALL=C"
	printf 'export TERM=%q SNUG_VM_RESULTS=%q SNUG_VM_ACCEL=%q SNUG_REPO=%q LINES=%q COLUMNS=%q\n' \
		"${TERM:-vt100}" "$results" "$accel" "$repo" "$rows" "$cols"
	while IFS='=' read -r k _; do
		[[ $k == SNUG_VM_RESULTS || $k == SNUG_VM_ACCEL || $k == SNUG_REPO ]] && continue
		printf 'export %s=%q\n' "$k" "${!k}"
	done < <(env | grep -E '^SNUG_[A-Z0-9_]*=' || true)
	echo "stty rows $rows cols $cols 2>/dev/null"
	printf 'cd %q || exit 125\n' "$PWD"
	printf 'if [ -x %q ]; then exec' "$script"
	printf ' %q' "$script" "$@"
	printf '; else exec /bin/bash'
	printf ' %q' "$script" "$@"
	printf '; fi\n'
} >"$results/cmd"

kver=$(cat "$kdir/kernel-release")
# The plain ELF vmlinux boots through PVH without the decompressor; the bzImage is the fallback.
kernel=$kdir/vmlinuz
[[ -s $kdir/vmlinux ]] && kernel=$kdir/vmlinux
[[ -n ${SNUG_VM_KERNEL:-} ]] && kernel=$kdir/$SNUG_VM_KERNEL
echo "vm: booting Debian kernel $kver with ${accel^^} (timeout ${timeout_s}s): $script $*" >&2
start=$(date +%s.%N)
ttystate=
[[ -t 0 ]] && ttystate=$(stty -g 2>/dev/null || true)

# CI runs with stdin closed, where qemu's stdio console refuses to start: give it /dev/null then.
[[ -t 0 ]] || exec </dev/null

# The boot watchdog: qemu writes its pid; a guest that never wrote the booted file is killed.
pidfile=$results/qemu.pid
rm -f "$pidfile" "$results/boot-hung"
boot_timeout=${SNUG_VM_BOOT_TIMEOUT:-120}
(
	sleep "$boot_timeout"
	if [[ ! -e $results/booted && -s $pidfile ]]; then
		: >"$results/boot-hung"
		kill "$(<"$pidfile")" 2>/dev/null
	fi
) &
watchdog=$!

set +e
# --foreground keeps qemu in the terminal's process group so its console can read the keyboard.
timeout --foreground -k 5 "$timeout_s" "$qemu" -pidfile "$pidfile" -accel "$accel" "${cpu[@]}" "${bios[@]}" \
	-m "${SNUG_VM_MEM:-1024}" -smp "${SNUG_VM_SMP:-2}" -nographic -no-reboot "${nic[@]}" \
	-kernel "$kernel" -initrd "$initrd" \
	-append "console=ttyS0 cgroup_no_v1=all panic=-1 quiet $init_args$net_args${SNUG_VM_APPEND:-}snug.results=$results" \
	-fsdev local,id=hostroot,path=/,security_model=none,readonly=on,multidevs=remap \
	-device virtio-9p-pci,fsdev=hostroot,mount_tag=hostroot \
	-fsdev local,id=results,path="$results",security_model=none,multidevs=remap \
	-device virtio-9p-pci,fsdev=results,mount_tag=results
qrc=$?
kill "$watchdog" 2>/dev/null
wait "$watchdog" 2>/dev/null
set -e
end=$(date +%s.%N)
[[ -n $ttystate ]] && stty "$ttystate" 2>/dev/null

if [[ -e $results/boot-hung ]]; then
	echo "vm: the guest did not reach /init within ${boot_timeout}s (a hung boot): killed" >&2
	rc=75
elif [[ -s $results/status ]]; then
	rc=$(<"$results/status")
elif ((qrc == 124 || qrc == 137)); then
	echo "vm: TIMEOUT after ${timeout_s}s" >&2
	rc=124
else
	echo "vm: the guest stopped without reporting a status (qemu exit $qrc)" >&2
	rc=125
fi
boot=
if [[ -e $results/booted ]]; then
	bt=$(date -r "$results/booted" +%s.%N)
	boot=$(awk -v a="$start" -v b="$bt" 'BEGIN { printf "%.1f", b - a }')
fi
total=$(awk -v a="$start" -v b="$end" 'BEGIN { printf "%.1f", b - a }')
unit=
if [[ -n $init_args ]]; then
	# When systemd (PID 1) started the script's unit.
	unit="systemd-unit-after=?s "
	if [[ -e $results/systemd-up ]]; then
		bt=$(date -r "$results/systemd-up" +%s.%N)
		unit=$(awk -v a="$start" -v b="$bt" 'BEGIN { printf "systemd-unit-after=%.1fs ", b - a }')
	fi
fi
echo "vm: accel=${accel^^} /init-after=${boot:-?}s ${unit}total=${total}s status=$rc" >&2
((tmp_results)) && rm -rf "$results"
exit "$rc"
