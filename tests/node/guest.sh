#!/bin/bash
# Guest side of the node tier: brings up containerd and the real kubelet, then runs the scenarios (check), the demo or the benchmark.
#
# Usage (in the guest, from tests/node/check.sh): guest.sh check|demo|bench|probe [SCENARIO...]
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tests/node/lib.sh
. "$here/lib.sh"
mode=${1:-check}
shift || true
: >"$NODE_RES/tests"
: >"$NODE_RES/phases"
trap node_stop EXIT

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
node_kubectl get nodes -o wide

case $mode in
probe)
	python3 "$here/probe.py"
	;;
*)
	PYTHONDONTWRITEBYTECODE=1 python3 "$here/node_scenarios.py" "$mode" "$@"
	;;
esac
