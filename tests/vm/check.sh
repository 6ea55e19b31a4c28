#!/usr/bin/env bash
# Host side of `make check-vm` and `make bench-vm`: one boot runs every guest test (or benchmark) and the tally lands in build/results/vm.
#
# Usage: tests/vm/check.sh check|bench [NAME...]
# Scripts with a line "# vm-init: systemd" need systemd as the guest's PID 1: they run in a second
# boot of their own (SNUG_VM_INIT=systemd, see run.sh), counted in the same tally.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
out=${SNUG_OUT:-$repo/build}
mode=${1:-check}
shift || true
res=$out/vm/$mode
rm -rf "$res" "$res-systemd"
mkdir -p "$res" "$out/results"

# The scripts selected, as guest-run.sh selects them (a NAME matches every script containing it);
# a NAME matching nothing goes to the plain boot, where guest-run.sh reports it.
pattern=t_
[[ $mode == bench ]] && pattern=bench_
plain=() sysd=()
sel=()
if (($#)); then
	for n; do
		n=${n%.sh}
		if [[ $n == "$pattern"* && -e $here/$n.sh ]]; then
			sel+=("$here/$n.sh")
			continue
		fi
		n=${n#"$pattern"}
		found=0
		for f in "$here/${pattern}"*"$n"*.sh; do
			[[ -e $f ]] && sel+=("$f") && found=1
		done
		((found)) || plain+=("$n")
	done
else
	for f in "$here/${pattern}"*.sh; do [[ -e $f ]] && sel+=("$f"); done
fi
declare -A seen=()
for f in "${sel[@]}"; do
	[[ -n ${seen[$f]:-} ]] && continue
	seen[$f]=1
	if grep -q '^# vm-init: systemd$' "$f"; then
		sysd+=("$(basename "$f" .sh)")
	else
		plain+=("$(basename "$f" .sh)")
	fi
done

rc=0 src=0
if ((${#plain[@]})); then
	"$here/run.sh" --timeout "${SNUG_VM_TIMEOUT:-600}" --results "$res" "$here/guest-run.sh" "$mode" "${plain[@]}"
	rc=$?
	if ((rc == 77)); then
		[[ $mode == check ]] && echo "vm 0 0 1" >"$out/results/vm"
		exit 0
	fi
fi
if ((${#sysd[@]})); then
	echo "vm: a second boot with systemd as PID 1 for: ${sysd[*]}" >&2
	SNUG_VM_INIT=systemd "$here/run.sh" --timeout "${SNUG_VM_TIMEOUT:-600}" --results "$res-systemd" \
		"$here/guest-run.sh" "$mode" "${sysd[@]}"
	src=$?
fi

pass=0 fail=0 skipped=0
for f in "$res/tests" "$res-systemd/tests"; do
	[[ -s $f ]] || continue
	pass=$((pass + $(grep -c '^PASS' "$f")))
	fail=$((fail + $(grep -c '^FAIL' "$f")))
	skipped=$((skipped + $(grep -c '^SKIP' "$f")))
done
# A guest that died or timed out counts as one more failure even when some tests reported.
if ((rc != 0)) && ! grep -qs '^FAIL' "$res/tests"; then
	echo "vm: the guest run failed (status $rc)" >&2
	fail=$((fail + 1))
fi
if ((src == 77)); then
	echo "vm: *** SKIPPED the systemd boot (${sysd[*]}): run.sh could not boot with SNUG_VM_INIT=systemd (see above) ***" >&2
	skipped=$((skipped + 1))
elif ((src != 0)) && ! grep -qs '^FAIL' "$res-systemd/tests"; then
	echo "vm: the systemd guest run failed (status $src)" >&2
	fail=$((fail + 1))
fi
echo "vm $mode: $pass passed, $fail failed, $skipped skipped"
cat "$res/tests" "$res-systemd/tests" 2>/dev/null | grep -v '^PASS' | sed 's/^/  /'
[[ $mode == check ]] && echo "vm $pass $fail $skipped" >"$out/results/vm"
((fail == 0))
