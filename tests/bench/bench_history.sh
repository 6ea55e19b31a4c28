#!/usr/bin/env bash
# The shared workload history at scale (`make bench-history`): for each node count, a fresh real
# kube-apiserver 1.36.2 + etcd on loopback (tests/envtest/controlplane.sh), the WorkloadHistory CRD and
# the agent's RBAC, then bench_history (the agent's own history_sync for N simulated nodes, one
# process) and etcd's size before and after; prints BENCH lines. The first node count is the
# baseline of the later ones.
#   bench_history.sh BENCH_HISTORY [NODES...]    (default: 50 200)
# The 10-minute --history-interval is compressed to BENCH_HISTORY_SEC_PER_NODE (0.3) s per node:
# every node count offers the API server the same rate (30 containers × 2 requests / 0.3 s per
# node = 200 requests/s), so that the runs differ in the data (entries, LIST sizes), not in the load.
# BENCH_HISTORY_INTERVAL (s) fixes it instead; BENCH_HISTORY_MEASURE (1) intervals are measured after
# two of warm-up; BENCH_HISTORY_FRESH (20) fresh nodes; BENCH_HISTORY_ARGS more options.
set -u
prog=${1:?usage: bench_history.sh BENCH_HISTORY [NODES...]}
shift
counts=${*:-50 200}
shared=${SHARED_DIR:-../shared}
cache=${SNUG_CACHE:-$HOME/.cache/snug}
per_node=${BENCH_HISTORY_SEC_PER_NODE:-1}
measure=${BENCH_HISTORY_MEASURE:-0.5}
fresh=${BENCH_HISTORY_FRESH:-20}
cd "$(dirname "$0")/../.."
. tests/envtest/controlplane.sh

if ! assets=$(cp_assets "$shared" "$cache" kube-apiserver.xz 1.36.2); then
	echo "*** SKIPPED: bench-history: no kube-apiserver/etcd under $shared/envtest ***"
	exit 0
fi
work=
trap 'cp_stop; [ -n "$work" ] && rm -rf "$work"' EXIT
first= baseline=
prefix=/registry/snug.io/workloadhistories/
for n in $counts; do
	work=$(mktemp -d /tmp/snug-bench-history.XXXXXX)
	cp_start "$assets" "$work" || exit 1
	cp_apply "${BENCH_HISTORY_CRD:-deploy/workloadhistory-crd.yaml}" >/dev/null || exit 1
	cp_apply deploy/rbac.yaml >/dev/null || exit 1
	for i in $(seq 1 60); do
		[ "$(cp_admin GET /apis/snug.io/v1alpha1/workloadhistories)" = 200 ] && break
		sleep 0.5
	done
	for i in $(seq -w 0 19); do
		echo "{\"apiVersion\":\"v1\",\"kind\":\"Namespace\",\"metadata\":{\"name\":\"bench-$i\"}}" \
			> "$work/ns.json"
		cp_admin POST /api/v1/namespaces application/json "$work/ns.json" >/dev/null
	done
	# The client certificate of the agent's service account: RBAC as deployed decides.
	cp_kubeconfig "$work/kubeconfig"
	read -r db0 _ < <(python3 tests/bench/etcd_stats.py compact "$CP_ETCD_URL") || exit 1
	label=history-n$n
	interval=${BENCH_HISTORY_INTERVAL:-$(awk -v n="$n" -v p="$per_node" 'BEGIN{print n * p}')}
	args=(--kubeconfig "$work/kubeconfig" --nodes "$n" --interval "$interval" --measure "$measure"
		--fresh "$fresh" --label "$label" --apiserver-pid "$CP_API_PID" --etcd-pid "$CP_ETCD_PID")
	if [ -n "$first" ]; then
		printf '%s\n' "$baseline" > "$work/baseline"
		args+=(--baseline "$work/baseline")
	fi
	# shellcheck disable=SC2086
	"$prog" "${args[@]}" ${BENCH_HISTORY_ARGS:-} | tee "$work/bench.txt" || exit 1
	read -r db1 _ < <(python3 tests/bench/etcd_stats.py size "$CP_ETCD_URL") || exit 1
	read -r db2 _ < <(python3 tests/bench/etcd_stats.py compact "$CP_ETCD_URL") || exit 1
	read -r count per_key < <(python3 tests/bench/etcd_stats.py keys "$CP_ETCD_URL" "$prefix") || exit 1
	{
		echo "BENCH name=$label-entries value=$count unit=bytes"
		echo "BENCH name=$label-etcd-bytes-per-entry value=$per_key unit=bytes"
		echo "BENCH name=$label-etcd-db-growth value=$((db2 - db0)) unit=bytes"
		echo "BENCH name=$label-etcd-db-uncompacted value=$((db1 - db0)) unit=bytes"
	} | tee -a "$work/bench.txt"
	# One entry as the API server returns it, and how much of it is managedFields (cp_admin keeps
	# the reply in $CP_WORK/out).
	cp_admin GET "/apis/snug.io/v1alpha1/namespaces/bench-00/workloadhistories?limit=1" >/dev/null
	python3 -c 'import json, sys
o = json.load(open(sys.argv[1]))["items"][0]
print("history-scale %s: one entry as served: %d bytes, of which managedFields %d" % (sys.argv[2],
      len(json.dumps(o, separators=(",", ":"))),
      len(json.dumps(o["metadata"].get("managedFields", []), separators=(",", ":")))))' \
		"$CP_WORK/out" "$label"
	echo "history-scale $label: etcd db $db0 -> $db1 bytes before compaction, $db2 after; $count entries of $per_key bytes (key + value)"
	if [ -z "$first" ]; then
		first=$n
		baseline=$(sed -n "s/^BENCH name=$label-\([^ ]*\) value=\([^ ]*\) .*/\1 \2/p" "$work/bench.txt")
	fi
	cp_stop
	rm -rf "$work"
	work=
done
