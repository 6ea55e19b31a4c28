#!/usr/bin/env bash
# Fetches the node tier's runtime (containerd from Debian sid, runc from Debian 12; never installed) and unpacks the shared kubelet and kubectl, all into a cache.
#
# Usage: tests/node/fetch-runtime.sh CACHE_DIR SHARED_DIR
# Leaves in CACHE_DIR (default ~/.cache/snug/node): bin/{containerd,containerd-shim-runc-v2,ctr,runc},
# kubelet-v1.36.2, kubelet-v1.33.13, kubectl-v1.36.2 and versions (what each binary says it is).
# Idempotent: a complete cache whose hashes match its sha256 list is reused without any download.
# Exit status 0, or 77 (with a "*** SKIPPED: ... ***" line) when something cannot be had.
set -euo pipefail

cache=${1:?usage: fetch-runtime.sh CACHE_DIR SHARED_DIR}
shared=${2:?usage: fetch-runtime.sh CACHE_DIR SHARED_DIR}
mkdir -p "$cache"
cache=$(cd "$cache" && pwd)

skip() {
	echo "*** SKIPPED: node tier: $* ***" >&2
	exit 77
}

# Several worktrees may run this at once: one fetch at a time, the others reuse its result.
exec 9>"$cache/.lock"
flock 9

# containerd 2.x answers the CRI RuntimeConfig call both kubelets use to pick their cgroup driver
# (Debian 12's 1.6 and trixie's 1.7 answer Unimplemented); sid's builds run on Debian 12's glibc.
# runc from trixie/sid needs glibc 2.38: Debian 12's runc 1.1 it is.
CONTAINERD_WANT='^containerd github.com/containerd/containerd/v2 2\.'
RUNC_WANT='^runc version 1\.1\.'

# The kubelets and kubectl: decompressed once, each checked against the sha256 its README gives for the
# unpacked binary (the row after the .xz row, as tests/envtest/controlplane.sh does for kube-apiserver).
unpack_shared() {
	local sub=$1 name=$2 want have
	local src=$shared/$sub/$name.xz
	# A missing README is a skip, said below, not a silent exit of set -e.
	want=$(awk -v n="\`$name\`" 'index($0, n " (unpacked)") { if (match($0, /[0-9a-f]{64}/)) print substr($0, RSTART, 64) }' \
		"$shared/$sub/README.md" 2>/dev/null | head -n1 || true)
	[[ -n $want ]] || want=$(grep -F "\`$name\`" "$shared/$sub/README.md" 2>/dev/null | grep -v '\.xz' |
		grep -oE '[0-9a-f]{64}' | head -n1 || true)
	[[ -n $want ]] || skip "no sha256 for $name in $shared/$sub/README.md"
	if [[ -x $cache/$name ]]; then
		have=$(sha256sum "$cache/$name" | cut -d' ' -f1)
		[[ $have == "$want" ]] && return 0
		echo "fetch-runtime: $cache/$name has sha256 $have, README says $want: unpacking again" >&2
	fi
	[[ -f $src ]] || skip "no $src"
	xz -dc "$src" >"$cache/$name.tmp"
	have=$(sha256sum "$cache/$name.tmp" | cut -d' ' -f1)
	if [[ $have != "$want" ]]; then
		rm -f "$cache/$name.tmp"
		skip "$src unpacks to sha256 $have, README says $want"
	fi
	chmod 0755 "$cache/$name.tmp"
	mv "$cache/$name.tmp" "$cache/$name"
}
unpack_shared kubelet kubelet-v1.36.2
unpack_shared kubelet kubelet-v1.33.13
unpack_shared kubectl kubectl-v1.36.2

# The runtime: reused when every binary still has the hash recorded when it was unpacked.
bins=(containerd containerd-shim-runc-v2 ctr runc)
if [[ -s $cache/bin/SHA256SUMS ]] && (cd "$cache/bin" && sha256sum --quiet -c SHA256SUMS) >/dev/null 2>&1 &&
	[[ -s $cache/versions ]]; then
	cat "$cache/versions"
	exit 0
fi

command -v apt-get >/dev/null || skip "no apt-get to download containerd and runc"
work=$cache/dl
rm -rf "$work"
mkdir -p "$work/apt/lists/partial" "$work/apt/cache/archives/partial" "$work/apt/sources.list.d" \
	"$work/apt/preferences.d" "$work/x"
# A private apt configuration for sid: its own sources, lists and cache, so the host's apt state (its
# sources, lists, pinning) is neither read for sid nor changed. The archive keys are the host's.
echo "deb http://deb.debian.org/debian sid main" >"$work/apt/sources.list"
sid=(-o "Dir::Etc::sourcelist=$work/apt/sources.list" -o "Dir::Etc::sourceparts=$work/apt/sources.list.d"
	-o "Dir::Etc::preferencesparts=$work/apt/preferences.d" -o "Dir::State::Lists=$work/apt/lists"
	-o "Dir::Cache=$work/apt/cache" -o Acquire::Languages=none -o APT::Sandbox::User=root -q)
echo "fetch-runtime: apt-get update (sid, private lists)" >&2
apt-get "${sid[@]}" update >&2 || skip "apt-get update of Debian sid failed"
# Exactly one package name each, never a glob. apt-get download checks each .deb against the
# signed index's SHA256.
(cd "$work" && apt-get "${sid[@]}" download containerd >&2) || skip "cannot download containerd from Debian sid"
# runc from the host's own (Debian 12) lists; a fresh machine may have none yet.
if ! (cd "$work" && apt-get -q -o APT::Sandbox::User=root download runc >&2); then
	apt-get update -qq >&2 || true
	(cd "$work" && apt-get -q -o APT::Sandbox::User=root download runc >&2) || skip "cannot download runc (Debian 12)"
fi
for deb in "$work"/*.deb; do dpkg-deb -x "$deb" "$work/x"; done

rm -rf "$cache/bin.tmp"
mkdir -p "$cache/bin.tmp"
for b in containerd containerd-shim-runc-v2 ctr; do
	cp "$work/x/usr/bin/$b" "$cache/bin.tmp/$b"
done
cp "$work/x/usr/sbin/runc" "$cache/bin.tmp/runc"
cv=$("$cache/bin.tmp/containerd" --version 2>&1) || skip "containerd does not run on this host: $cv"
rv=$("$cache/bin.tmp/runc" --version 2>&1 | head -n1) || skip "runc does not run on this host: $rv"
[[ $cv =~ $CONTAINERD_WANT ]] || skip "containerd from Debian sid is '$cv', not 2.x"
[[ $rv =~ $RUNC_WANT ]] || skip "runc from Debian 12 is '$rv', not 1.1.x"
(cd "$cache/bin.tmp" && sha256sum "${bins[@]}" >SHA256SUMS)
{
	echo "containerd: $cv ($(basename "$work"/containerd_*.deb))"
	echo "runc: $rv ($(basename "$work"/runc_*.deb))"
	for k in kubelet-v1.36.2 kubelet-v1.33.13; do
		echo "$k: $("$cache/$k" --version 2>&1 | head -n1)"
	done
	echo "kubectl-v1.36.2: $("$cache/kubectl-v1.36.2" version --client 2>&1 | head -n1)"
} >"$cache/versions.tmp"
rm -rf "$cache/bin"
mv "$cache/bin.tmp" "$cache/bin"
mv "$cache/versions.tmp" "$cache/versions"
rm -rf "$work"
cat "$cache/versions"
