#!/bin/bash
# Builds deploy/Containerfile with buildah from a Debian 12 base made by debootstrap (no registry),
# and checks the image runs `snug-agent --help` under podman. Writes "P F S" to $1.
# SNUG_IMAGE_BUILD_ROOTFS=1 makes the rootfs when it is not cached (minutes); otherwise a missing
# rootfs is a loud skip.
set -u
res=$1
cache=${SNUG_CACHE:-$HOME/.cache/snug}/image
tar=$cache/debian-bookworm-minbase.tar
base=localhost/snug-debian:bookworm
image=localhost/snug-agent:0.1.0
repo=$(cd "$(dirname "$0")/../.." && pwd)
# The mirror apt uses on this machine (deb822 or one-line sources).
mirror=$(awk '/^URIs:/{print $2; exit} /^deb /{print $2; exit}' /etc/apt/sources.list.d/debian.sources /etc/apt/sources.list 2>/dev/null)
mirror=${mirror:-http://deb.debian.org/debian}

skip() { echo "*** SKIPPED image: $* ***"; echo "0 0 1" > "$res"; exit 0; }
fail() { echo "FAIL image: $*"; echo "0 1 0" > "$res"; exit 1; }

for t in buildah podman; do command -v $t >/dev/null || skip "$t is not installed (Debian packages buildah podman)"; done
t0=$(date +%s)
if [ ! -f "$tar" ]; then
	[ "${SNUG_IMAGE_BUILD_ROOTFS:-0}" = 1 ] || skip "no cached rootfs $tar"
	command -v debootstrap >/dev/null || skip "debootstrap is not installed"
	mkdir -p "$cache"
	rm -rf "$cache/rootfs.tmp"
	echo "image: debootstrap --variant=minbase bookworm from $mirror (minutes)"
	debootstrap --variant=minbase bookworm "$cache/rootfs.tmp" "$mirror" > "$cache/debootstrap.log" 2>&1 ||
		fail "debootstrap failed, see $cache/debootstrap.log"
	tar -C "$cache/rootfs.tmp" --numeric-owner -cf "$tar.tmp" . && mv "$tar.tmp" "$tar" || fail "cannot pack the rootfs"
	rm -rf "$cache/rootfs.tmp"
fi
if ! podman image exists $base; then
	podman import --change 'CMD ["/bin/bash"]' "$tar" $base >/dev/null || fail "podman import of $tar failed"
fi
echo "image: base $base ready in $(( $(date +%s) - t0 )) s"
log=$cache/build.log
# chroot isolation and the host network: no user namespaces or CNI needed in a sandbox.
if ! buildah bud --isolation chroot --network host --layers --build-arg BASE=$base \
	-f "$repo/deploy/Containerfile" -t $image "$repo" > "$log" 2>&1; then
	tail -20 "$log"
	fail "buildah bud failed, full log in $log"
fi
echo "image: built $image in $(( $(date +%s) - t0 )) s ($(podman image inspect $image --format '{{.Size}}') bytes)"
out=$(podman run --rm --network none $image --help 2>&1) || { echo "$out"; fail "podman run $image --help failed"; }
echo "$out" | grep -q 'run' || { echo "$out"; fail "--help does not list the run command"; }
pkgs=$(podman run --rm --network none --entrypoint cat $image /usr/share/snug/runtime-packages | tr '\n' ' ')
echo "image: runtime packages from ldd: $pkgs"
echo "PASS image: podman run $image --help works ($(( $(date +%s) - t0 )) s)"
echo "1 0 0" > "$res"
