#!/usr/bin/env bash
# Host side of `make check-vm` and `make bench-vm`: one boot runs every guest test (or benchmark) and the tally lands in build/results/vm.
#
# Usage: tests/vm/check.sh check|bench [NAME...]
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
out=${SNUG_OUT:-$repo/build}
mode=${1:-check}
shift || true
res=$out/vm/$mode
rm -rf "$res"
mkdir -p "$res" "$out/results"

"$here/run.sh" --timeout "${SNUG_VM_TIMEOUT:-600}" --results "$res" "$here/guest-run.sh" "$mode" "$@"
rc=$?

if ((rc == 77)); then
	[[ $mode == check ]] && echo "vm 0 0 1" >"$out/results/vm"
	exit 0
fi
pass=0 fail=0 skipped=0
if [[ -s $res/tests ]]; then
	pass=$(grep -c '^PASS' "$res/tests")
	fail=$(grep -c '^FAIL' "$res/tests")
	skipped=$(grep -c '^SKIP' "$res/tests")
fi
# A guest that died or timed out counts as one more failure even when some tests reported.
if ((rc != 0 && fail == 0)); then
	echo "vm: the guest run failed (status $rc)" >&2
	fail=$((fail + 1))
fi
echo "vm $mode: $pass passed, $fail failed, $skipped skipped"
[[ -s $res/tests ]] && grep -v '^PASS' "$res/tests" | sed 's/^/  /'
[[ $mode == check ]] && echo "vm $pass $fail $skipped" >"$out/results/vm"
((fail == 0))
