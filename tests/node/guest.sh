#!/bin/bash
# Guest side of the node tier: brings up containerd and the real kubelet, then runs the scenarios (check), the demo (demo) or the benchmark (bench).
#
# Usage (in the guest, from tests/node/check.sh): guest.sh check [SCENARIO...] | demo | bench
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tests/node/lib.sh
. "$here/lib.sh"
mode=${1:-check}
shift || true
: >"$NODE_RES/tests"
: >"$NODE_RES/phases"
# The kernel's OOM reports stay in dmesg (saved with the logs), off the console.
dmesg -n 1 2>/dev/null
trap 'dmesg >"$NODE_LOGS/dmesg.txt" 2>/dev/null; node_stop' EXIT

t0=$(date +%s.%N)
if ! node_start_containerd; then
	echo "FAIL node-up" >>"$NODE_RES/tests"
	exit 1
fi
if ! node_start_kubelet; then
	echo "FAIL node-up" >>"$NODE_RES/tests"
	exit 1
fi
node_phase node-up "$t0"

case $mode in
check) PYTHONDONTWRITEBYTECODE=1 python3 "$here/node_scenarios.py" check "$@" ;;
demo) PYTHONDONTWRITEBYTECODE=1 python3 "$here/node_demo.py" ;;
bench) PYTHONDONTWRITEBYTECODE=1 python3 "$here/node_bench.py" "$@" ;;
*)
	echo "guest.sh: unknown mode $mode (check, demo, bench)" >&2
	exit 2
	;;
esac
