#!/bin/bash
# Runs inside the VM: every tests/vm/t_*.sh (check), bench_*.sh (bench) or the demo, one after another in one boot.
#
# Usage (in the guest): guest-run.sh check|bench [NAME...] | demo
# check writes one line per test ("PASS name", "FAIL name", "SKIP name") to $SNUG_VM_RESULTS/tests and
# exits 0 when nothing failed.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tests/vm/lib.sh
. "$here/lib.sh"

mode=${1:-check}
shift || true
results=${SNUG_VM_RESULTS:-/tmp}

case $mode in
demo)
	exec bash "$here/demo.sh" "$@"
	;;
check) pattern=t_ per_test_timeout=${SNUG_VM_TEST_TIMEOUT:-120} ;;
bench) pattern=bench_ per_test_timeout=${SNUG_VM_BENCH_TIMEOUT:-900} ;;
*)
	echo "usage: guest-run.sh check|bench [NAME...] | demo" >&2
	exit 2
	;;
esac

tests=()
if (($#)); then
	# A name selects every script whose name contains it ("top", "40_top"); a full name ("t_40_top",
	# "t_40_top.sh") that script only.
	for n; do
		n=${n%.sh}
		if [[ $n == "$pattern"* && -e $here/$n.sh ]]; then
			tests+=("$here/$n.sh")
			continue
		fi
		n=${n#"$pattern"}
		found=0
		for f in "$here/${pattern}"*"$n"*.sh; do
			[[ -e $f ]] && tests+=("$f") && found=1
		done
		((found)) || { echo "guest-run: no ${pattern}*$n*.sh" >&2; exit 1; }
	done
else
	mapfile -t tests < <(ls "$here/${pattern}"*.sh 2>/dev/null | LC_ALL=C sort)
fi

if ((${#tests[@]} == 0)); then
	echo "guest-run: no ${pattern}*.sh scripts found in $here" >&2
	exit 1
fi

: >"$results/tests"
failed=0
for t in "${tests[@]}"; do
	name=$(basename "$t" .sh)
	echo "=== RUN  $name"
	start=$(date +%s.%N)
	# A script may need longer than the default: "# vm-timeout: SEC" in its first lines.
	t_timeout=$per_test_timeout
	for ((i = 0; i < 5; i++)); do
		IFS= read -r line || break
		[[ $line =~ ^#\ vm-timeout:\ *([0-9]+)$ ]] && t_timeout=${BASH_REMATCH[1]} && break
	done <"$t"
	timeout -k 5 "$t_timeout" bash "$t"
	rc=$?
	secs=$(awk -v a="$start" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')
	case $rc in
	0) verdict=PASS ;;
	77) verdict=SKIP ;;
	124) verdict=FAIL && echo "  (timed out after ${t_timeout}s)" ;;
	*) verdict=FAIL ;;
	esac
	[[ $verdict == FAIL ]] && failed=$((failed + 1))
	echo "=== $verdict $name (${secs}s)"
	echo "$verdict $name" >>"$results/tests"
	# Each test starts from an empty tree. Under systemd (SNUG_VM_INIT=systemd) the tree is systemd's,
	# the runner's own unit included: tests stop their units themselves.
	if [[ $(</proc/1/comm) != systemd ]]; then
		cg_destroy_all || echo "warning: could not clean the cgroup tree after $name"
	fi
done
exit $((failed > 0))
