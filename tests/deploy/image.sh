#!/bin/bash
# Builds deploy/Containerfile with buildah from a Debian 12 base made by debootstrap (no registry),
# and checks the image runs `snug-agent --help` (buildah chroot; podman run on a pure cgroup v2 host).
# Writes "P F S" to $1.
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
if ! buildah bud --isolation chroot --network host --layers --force-rm --build-arg BASE=$base \
	-f "$repo/deploy/Containerfile" -t $image "$repo" > "$log" 2>&1; then
	tail -20 "$log"
	fail "buildah bud failed, full log in $log"
fi
echo "image: built $image in $(( $(date +%s) - t0 )) s ($(podman image inspect $image --format '{{.Size}}') bytes)"
# The image's own root filesystem runs the binary: buildah's chroot isolation runs a process in
# it without creating containers' cgroups.
ctr=$(buildah from --pull-never $image) || fail "buildah from $image failed"
out=$(buildah run --isolation chroot "$ctr" -- /usr/bin/snug-agent --help 2>&1)
rc=$?
out_run=$(buildah run --isolation chroot "$ctr" -- /usr/bin/snug-agent run --help 2>&1)
pkgs=$(buildah run --isolation chroot "$ctr" -- cat /usr/share/snug/runtime-packages | tr '\n' ' ')
buildah rm "$ctr" >/dev/null
[ $rc = 0 ] || { echo "$out"; fail "snug-agent --help in the image's rootfs failed"; }
echo "$out" | grep -q '^Usage: snug-agent' || { echo "$out"; fail "--help printed no usage"; }
echo "$out_run" | grep -q -- '--node-name' || { echo "$out_run"; fail "run --help printed no options"; }
echo "image: runtime packages (from ldd in the build stage): $pkgs"
echo "PASS image: built, and snug-agent --help runs in its rootfs ($(( $(date +%s) - t0 )) s)"
# podman run makes cgroups for the container and for conmon. This machine's /sys/fs/cgroup may
# be a hybrid v1 tree that must not be touched (crun refuses hybrid mode anyway): run it only on
# a pure cgroup v2 host.
if [ "$(stat -fc %T /sys/fs/cgroup)" != cgroup2fs ]; then
	echo "*** SKIPPED image: podman run: /sys/fs/cgroup is not a pure cgroup v2 mount here (crun refuses hybrid trees, and podman would create cgroups in it); the image ran under buildah's chroot isolation instead ***"
	echo "1 0 1" > "$res"
	exit 0
fi
out=$(podman run --rm --network none --ulimit nofile=1024:1024 --ulimit nproc=1024:1024 $image --help 2>&1) ||
	{ echo "$out"; fail "podman run $image --help failed"; }
echo "$out" | grep -q '^Usage: snug-agent' || { echo "$out"; fail "podman run: --help printed no usage"; }
echo "PASS image: podman run $image --help"
echo "2 0 0" > "$res"
