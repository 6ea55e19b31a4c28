#!/usr/bin/env bash
# Envtest tier driver: for kube-apiserver 1.36 and 1.33, start etcd + kube-apiserver on loopback,
# install snug with the real kubectl (`kubectl apply -k deploy/`: RBAC, admission policy, all of the
# base; then, with minimal Prometheus-operator CRDs, an overlay adding deploy/monitoring), prove the policy's denials one by one (tests/envtest/policy_envtest.py, result line
# policy-envtest), and run the kube client's scenarios as the snug-agent service account holding a
# token bound to a pod on node-1; with SNUG_AGENT set, also `snug-agent run` end to end
# (tests/envtest/agent_envtest.py, each agent with a token of its node) against the same control
# plane, counted on its own result line (agent-envtest).
set -u
prog=$1
agent=${SNUG_AGENT:-}
bench_history=${SNUG_BENCH_HISTORY:-}
out=${SNUG_OUT:-build}
shared=${SHARED_DIR:-../shared}
cache=${SNUG_CACHE:-$HOME/.cache/snug}
mkdir -p "$out/results"
cd "$(dirname "$0")/../.."
. tests/envtest/controlplane.sh

pass=0 fail=0 skip=0
apass=0 afail=0 askip=0
ppass=0 pfail=0 pskip=0
start_all=$(date +%s)
trap 'cp_stop' EXIT
if ! kubectl=$(cp_kubectl "$shared" "$cache"); then
	echo "*** SKIPPED: envtest: no kubectl under $shared/kubectl ***"
	echo "envtest 0 0 2" > "$out/results/envtest"
	exit 0
fi
for spec in "kube-apiserver.xz 1.36.2 136" "kube-apiserver-1.33.xz 1.33.13 133"; do
	set -- $spec
	xzname=$1 version=$2 num=$3
	t0=$(date +%s)
	if ! assets=$(cp_assets "$shared" "$cache" "$xzname" "$version"); then
		echo "*** SKIPPED: envtest kube-apiserver $version: no binaries under $shared/envtest ***"
		skip=$((skip + 1))
		[ -n "$agent" ] && askip=$((askip + 1))
		pskip=$((pskip + 1))
		continue
	fi
	work=$(mktemp -d /tmp/snug-envtest.XXXXXX)
	if ! cp_start "$assets" "$work"; then
		echo "envtest $version: control plane did not start" >&2
		fail=$((fail + 1))
		cp_stop
		continue
	fi
	echo "envtest $version: kube-apiserver at $CP_SERVER (ready in $(($(date +%s) - t0)) s)"
	# One check: the base applies as written, on a cluster without the Prometheus operator.
	if ! cp_install "$kubectl" > "$work/install.txt" 2>&1; then
		echo "FAIL envtest $version: kubectl apply -k deploy/ exited non-zero:" >&2
		cat "$work/install.txt" >&2
		fail=$((fail + 1))
		cp_stop
		continue
	fi
	echo "PASS envtest $version: kubectl apply -k deploy/: $(grep -c . "$work/install.txt") objects created"
	pass=$((pass + 1))
	# And one: with the operator's CRDs there, the monitoring component applies on top.
	if cp_install_monitoring "$kubectl" > "$work/monitoring.txt" 2>&1 &&
		grep -q "podmonitor.monitoring.coreos.com/snug-agent created" "$work/monitoring.txt" &&
		grep -q "prometheusrule.monitoring.coreos.com/snug-agent created" "$work/monitoring.txt"; then
		echo "PASS envtest $version: kubectl apply -k of an overlay with deploy/monitoring: PodMonitor and PrometheusRule created"
		pass=$((pass + 1))
	else
		echo "FAIL envtest $version: the monitoring component did not apply:" >&2
		cat "$work/monitoring.txt" >&2
		fail=$((fail + 1))
	fi
	rm -f "$work/policy-result"
	SNUG_ENVTEST_SERVER=$CP_SERVER SNUG_ENVTEST_CA=$CP_CA SNUG_ENVTEST_ADMIN_TOKEN=$CP_ADMIN_TOKEN \
		SNUG_RESULTS=$work/policy-result PYTHONDONTWRITEBYTECODE=1 \
		/usr/bin/python3 tests/envtest/policy_envtest.py
	if [ -f "$work/policy-result" ]; then
		read -r _ p f s < "$work/policy-result"
		ppass=$((ppass + p)) pfail=$((pfail + f)) pskip=$((pskip + s))
	else
		echo "envtest $version: the policy suite died" >&2
		pfail=$((pfail + 1))
	fi
	# The client runs as the agent on node-1 would: a token bound to a pod there; its evictions as
	# snug-webhook (the base's deploy/webhook-rbac.yaml).
	if ! cp_agent_token "$kubectl" node-1 > "$work/agent-token" ||
		! "$kubectl" --kubeconfig "$CP_WORK/admin.kubeconfig" -n snug-system create token snug-webhook \
			--duration=2h > "$work/webhook-token"; then
		echo "envtest $version: no bound token for node-1" >&2
		fail=$((fail + 1))
		cp_stop
		continue
	fi
	cp_kubeconfig "$work/kubeconfig"
	rm -f "$work/result"
	SNUG_ENVTEST_SERVER=$CP_SERVER SNUG_ENVTEST_CA=$CP_CA \
		SNUG_ENVTEST_ADMIN_TOKEN=$CP_ADMIN_TOKEN \
		SNUG_ENVTEST_AGENT_TOKEN_FILE=$work/agent-token SNUG_ENVTEST_VERSION=$num \
		SNUG_ENVTEST_WEBHOOK_TOKEN_FILE=$work/webhook-token \
		SNUG_ENVTEST_KUBECONFIG=$work/kubeconfig \
		SNUG_RESULTS=$work/result "$prog"
	if [ -f "$work/result" ]; then
		read -r p f < "$work/result"
		pass=$((pass + p)) fail=$((fail + f))
	else
		echo "envtest $version: the test program died" >&2
		fail=$((fail + 1))
	fi
	# The scale benchmark's program (tests/bench/bench_history.c, `make bench-history`) runs here
	# in small: 3 simulated nodes and a fresh one, 2-second interval, as the admin (the policy
	# binds the agent's account only). Its figures are not judged; that it writes, lists and gives
	# the fresh node every workload's merged recommendation, without an error, is.
	if [ -n "$bench_history" ] && [ "$num" = 136 ]; then
		echo '{"apiVersion":"v1","kind":"Namespace","metadata":{"name":"bench-00"}}' > "$work/ns.json"
		cp_admin POST /api/v1/namespaces application/json "$work/ns.json" >/dev/null
		"$bench_history" --kubeconfig "$work/admin.kubeconfig" --nodes 3 --containers 4 \
			--daemonsets 1 --replicas 2 --namespaces 1 --fresh 1 --interval 2 --sequential 5 \
			--label smoke > "$work/bench.txt" 2>&1
		rc=$?
		if [ "$rc" = 0 ] && grep -q '^BENCH name=smoke-patch-p50 value=' "$work/bench.txt" &&
			grep -q '^BENCH name=smoke-list-bytes value=' "$work/bench.txt" &&
			grep -q '^BENCH name=smoke-errors value=0 unit=pct' "$work/bench.txt" &&
			grep -q '^BENCH name=smoke-fresh-merged value=100 unit=pct' "$work/bench.txt" &&
			grep -q '^BENCH name=smoke-sequential-list-mean value=' "$work/bench.txt"; then
			echo "PASS envtest $version: bench_history with 3 nodes and a fresh one: BENCH lines, no error, the fresh node merged"
			pass=$((pass + 1))
		else
			echo "FAIL envtest $version: bench_history (exit $rc):" >&2
			cat "$work/bench.txt" >&2
			fail=$((fail + 1))
		fi
	fi
	if [ -n "$agent" ]; then
		t1=$(date +%s)
		rm -f "$work/agent-result"
		SNUG_AGENT=$agent SNUG_ENVTEST_SERVER=$CP_SERVER SNUG_ENVTEST_CA=$CP_CA \
			SNUG_ENVTEST_ADMIN_TOKEN=$CP_ADMIN_TOKEN SNUG_ENVTEST_VERSION=$num \
			SNUG_ENVTEST_KUBECONFIG=$work/kubeconfig SNUG_RESULTS=$work/agent-result \
			SNUG_ENVTEST_WORK=$work \
			PYTHONDONTWRITEBYTECODE=1 /usr/bin/python3 tests/envtest/agent_envtest.py
		if [ -f "$work/agent-result" ]; then
			read -r _ p f s < "$work/agent-result"
			apass=$((apass + p)) afail=$((afail + f)) askip=$((askip + s))
		else
			echo "envtest $version: the agent suite died" >&2
			afail=$((afail + 1))
		fi
		echo "envtest $version: agent suite $(($(date +%s) - t1)) s"
	fi
	cp_stop
	if [ "$fail" -gt 0 ] || [ "$afail" -gt 0 ] || [ "$pfail" -gt 0 ]; then
		echo "envtest $version: logs kept in $work"
	else
		rm -rf "$work"
	fi
	echo "envtest $version: $(($(date +%s) - t0)) s"
done
echo "envtest $pass $fail $skip" > "$out/results/envtest"
echo "envtest: $pass passed, $fail failed, $skip skipped in $(($(date +%s) - start_all)) s"
echo "policy-envtest $ppass $pfail $pskip" > "$out/results/policy-envtest"
echo "policy-envtest: $ppass passed, $pfail failed, $pskip skipped"
if [ -n "$agent" ]; then
	echo "agent-envtest $apass $afail $askip" > "$out/results/agent-envtest"
	echo "agent-envtest: $apass passed, $afail failed, $askip skipped"
fi
[ "$fail" -eq 0 ] && [ "$afail" -eq 0 ] && [ "$pfail" -eq 0 ]
