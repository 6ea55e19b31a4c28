#!/bin/bash
# The guest is what the other tests assume: a pure cgroup v2 root with the controllers, bpffs, a writable /tmp.
. "$(dirname "$0")/lib.sh"

[[ $(stat -f -c %T "$CG") == cgroup2fs ]] || fail "$CG is not cgroup2"
for c in cpu memory io pids; do
	grep -qw "$c" "$CG/cgroup.subtree_control" || fail "controller $c not enabled at the root"
done
ok "cgroup2 root with cpu memory io pids"
grep -q ' /sys/fs/bpf bpf ' /proc/mounts || fail "no bpffs"
ok "bpffs mounted"
touch /tmp/x && rm /tmp/x || fail "/tmp is not writable"
[[ -e $SNUG_REPO/tests/vm/lib.sh ]] || fail "the repo is not visible at $SNUG_REPO"
ok "repo visible at $SNUG_REPO, /tmp writable"

pid=$(cg_spawn test.slice/leaf sleep 1000)
sleep 0.2
grep -qx "$pid" "$CG/test.slice/leaf/cgroup.procs" || fail "spawned process $pid is not in its leaf"
[[ -e $CG/test.slice/leaf/memory.max ]] || fail "leaf has no memory.max"
ok "process $pid runs in a leaf with memory files"
cg_destroy test.slice || fail "cannot remove test.slice"
ok "tree removed"
