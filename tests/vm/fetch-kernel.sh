#!/usr/bin/env bash
# Fetches Debian's stock kernel image package (never installed on the host) and keeps vmlinuz plus the virtio/9p modules the VM needs.
#
# Usage: tests/vm/fetch-kernel.sh CACHE_DIR
# Leaves CACHE_DIR/vmlinuz, CACHE_DIR/modules/*.ko (in load order, listed in CACHE_DIR/modules.order)
# and CACHE_DIR/kernel-release. Prints the cache dir on success. Reuses a complete cache.
set -euo pipefail

cache=${1:?usage: fetch-kernel.sh CACHE_DIR}
mkdir -p "$cache"
cache=$(cd "$cache" && pwd)

# The load order is fixed: each module's depends= list is checked below so a kernel update that adds a
# dependency fails loudly here instead of hanging the guest.
# virtio_net (with failover, net_failover) gives the node tier's opt-in network its eth0; overlay is
# containerd's default snapshotter. Loaded at every boot: a NIC-less guest just has no eth0.
want=(virtio_ring virtio virtio_pci_modern_dev virtio_pci_legacy_dev virtio_pci netfs fscache 9pnet 9pnet_virtio 9p
	failover net_failover virtio_net overlay)

# Several worktrees may boot at once: one fetch at a time, the others reuse its result.
exec 9>"$cache/.lock"
flock 9

complete=0
if [[ -s $cache/vmlinuz && -s $cache/modules.order && -s $cache/kernel-release ]]; then
	complete=1
	for m in "${want[@]}"; do
		# Built-in modules are not listed: a module file is only missing when it is not in the order.
		grep -qx "$m" "$cache/modules.order" || [[ -e $cache/builtin-$m ]] || complete=0
	done
fi
if ((complete)); then
	echo "$cache"
	exit 0
fi

pkg_of() { apt-cache depends linux-image-amd64 2>/dev/null | awk '/Depends: linux-image-[0-9]/ {print $2; exit}'; }
pkg=
# A cache from before a module was added to the list keeps its kernel: the same release's package.
[[ -s $cache/kernel-release ]] && pkg=linux-image-$(<"$cache/kernel-release") &&
	! apt-cache show "$pkg" >/dev/null 2>&1 && pkg=
[[ -n $pkg ]] || pkg=$(pkg_of || true)
if [[ -z $pkg ]]; then
	# A fresh machine may have empty package lists.
	apt-get update -qq >&2 || true
	pkg=$(pkg_of || true)
fi
if [[ -z $pkg ]]; then
	echo "fetch-kernel: cannot find the kernel image package linux-image-amd64 depends on" >&2
	exit 1
fi

work=$cache/dl
rm -rf "$work"
mkdir -p "$work"
# Exactly one package name, never a glob: a glob fetched dozens of kernels once.
echo "fetch-kernel: apt-get download $pkg" >&2
(cd "$work" && apt-get download -q "$pkg" >&2)
deb=$(ls "$work"/*.deb)
mkdir -p "$work/x"
dpkg-deb -x "$deb" "$work/x"

release=$(ls "$work/x/lib/modules" | head -n1)
[[ -n $release ]] || { echo "fetch-kernel: no /lib/modules in $deb" >&2; exit 1; }
mdir=$work/x/lib/modules/$release

rm -rf "$cache/modules"
mkdir -p "$cache/modules"
: > "$cache/modules.order.tmp"
loaded=" "
for m in "${want[@]}"; do
	f=$(find "$mdir" \( -name "$m.ko" -o -name "$m.ko.xz" -o -name "$m.ko.zst" \) | head -n1)
	if [[ -z $f ]]; then
		# Built into this kernel: nothing to load.
		echo "fetch-kernel: $m is not a module in $release (assumed built in)" >&2
		: >"$cache/builtin-$m"
		continue
	fi
	case $f in
	*.ko.xz) xz -dc "$f" > "$cache/modules/$m.ko" ;;
	*.ko.zst) zstd -qdc "$f" > "$cache/modules/$m.ko" ;;
	*) cp "$f" "$cache/modules/$m.ko" ;;
	esac
	deps=$(modinfo -F depends "$cache/modules/$m.ko" 2>/dev/null ||
		strings "$cache/modules/$m.ko" | sed -n 's/^depends=//p' | head -n1)
	for d in ${deps//,/ }; do
		d=${d//-/_}
		if [[ $loaded != *" $d "* ]]; then
			echo "fetch-kernel: $m depends on $d, which is not loaded before it" >&2
			exit 1
		fi
	done
	loaded+="${m//-/_} "
	echo "$m" >> "$cache/modules.order.tmp"
done

cp "$work/x/boot/vmlinuz-$release" "$cache/vmlinuz.tmp"
# The bzImage's embedded xz vmlinux is what BPF helpers decompress for BTF; keep config for reference.
cp "$work/x/boot/config-$release" "$cache/config" 2>/dev/null || true
# The bzImage wraps an xz-compressed ELF vmlinux. qemu boots that ELF directly through its PVH entry
# (CONFIG_PVH), skipping the decompressor: seconds under TCG. It also carries BTF for vmlinux.h.
off=$(LC_ALL=C grep -obUaP '\xfd7zXZ\x00' "$cache/vmlinuz.tmp" 2>/dev/null | head -n1 | cut -d: -f1 || true)
if [[ -z $off ]]; then
	off=$(python3 -c 'import sys; print(open(sys.argv[1], "rb").read().find(b"\xfd7zXZ\x00"))' "$cache/vmlinuz.tmp" 2>/dev/null || echo -1)
fi
rm -f "$cache/vmlinux"
if [[ $off -ge 0 ]] && (set +o pipefail; tail -c +$((off + 1)) "$cache/vmlinuz.tmp" | xz -dc --single-stream >"$cache/vmlinux.tmp" 2>/dev/null) &&
	[[ $(head -c 4 "$cache/vmlinux.tmp" | od -An -tx1 | tr -d ' ') == 7f454c46 ]]; then
	mv "$cache/vmlinux.tmp" "$cache/vmlinux"
else
	echo "fetch-kernel: could not extract vmlinux from the bzImage; booting the bzImage (slower)" >&2
	rm -f "$cache/vmlinux.tmp"
fi
mv "$cache/vmlinuz.tmp" "$cache/vmlinuz"
mv "$cache/modules.order.tmp" "$cache/modules.order"
echo "$release" > "$cache/kernel-release"

rm -rf "$work"
echo "$cache"
