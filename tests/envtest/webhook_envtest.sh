#!/usr/bin/env bash
# Envtest tier of the eviction fallback: `snug-agent run` (as the snug-agent service account,
# deploy/rbac.yaml, with a token bound to a pod on node-1 and confined by deploy/policy.yaml) against a
# real kube-apiserver (tests/envtest's control plane) that cannot resize the pod in place — 1.33 with
# InPlacePodVerticalScaling=false, 1.36 with a pod whose node has no resize support — writes its
# WorkloadHistory entry and asks for the eviction (label snug.io/eviction-requested on its pod);
# `snug-agent webhook` (as the snug-webhook service account, deploy/webhook-rbac.yaml) evicts it past a
# real PodDisruptionBudget, and the real API server calls the same webhook over HTTPS on loopback
# (MutatingWebhookConfiguration with a url + caBundle) when the test creates the replacement pod.
# Usage: envtest.sh AGENT RESULTS_FILE
set -u
agent=$1 results=$2
shared=${SHARED_DIR:-../shared}
cache=${SNUG_CACHE:-$HOME/.cache/snug}
cd "$(dirname "$0")/../.."
. tests/envtest/controlplane.sh

pass=0 fail=0 skip=0
start_all=$(date +%s)
trap 'cp_stop' EXIT
if ! kubectl=$(cp_kubectl "$shared" "$cache"); then
	echo "*** SKIPPED: fallback envtest: no kubectl under $shared/kubectl ***"
	echo "webhook-envtest 0 0 2" > "$results"
	exit 0
fi
for spec in "kube-apiserver.xz 1.36.2 no-node-support" \
	"kube-apiserver-1.33.xz 1.33.13 no-gate --feature-gates=InPlacePodVerticalScaling=false"; do
	set -- $spec
	xzname=$1 version=$2 case=$3
	shift 3
	t0=$(date +%s)
	if ! assets=$(cp_assets "$shared" "$cache" "$xzname" "$version"); then
		echo "*** SKIPPED: fallback envtest $version: no kube-apiserver binaries under $shared/envtest ***"
		skip=$((skip + 1))
		continue
	fi
	work=$(mktemp -d /tmp/snug-fallback-envtest.XXXXXX)
	if ! CP_APISERVER_EXTRA_FLAGS="$*" cp_start "$assets" "$work" ||
		! cp_apply deploy/rbac.yaml || ! cp_apply deploy/workloadhistory-crd.yaml ||
		! cp_apply deploy/webhook-rbac.yaml; then
		echo "fallback envtest $version: control plane did not start" >&2
		fail=$((fail + 1))
		cp_stop
		continue
	fi
	cp_kubeconfig "$work/kubeconfig"
	# The policy, the agent's token bound to a pod on node-1 and the webhook's token (its service
	# account is cluster-level: no node). The test applies its own MutatingWebhookConfiguration (a
	# url on loopback), so not the whole base.
	cp_admin_kubeconfig "$work/admin.kubeconfig"
	if ! "$kubectl" --kubeconfig "$work/admin.kubeconfig" apply -f deploy/policy.yaml >/dev/null ||
		! cp_agent_token "$kubectl" node-1 > "$work/agent-token" ||
		! "$kubectl" --kubeconfig "$work/admin.kubeconfig" -n snug-system create token snug-webhook \
			--duration=2h > "$work/webhook-token"; then
		echo "fallback envtest $version: no policy or no bound token" >&2
		fail=$((fail + 1))
		cp_stop
		continue
	fi
	echo "fallback envtest $version ($case${*:+, $*}): kube-apiserver at $CP_SERVER"
	if SNUG_AGENT=$agent SNUG_ENVTEST_SERVER=$CP_SERVER \
		SNUG_ENVTEST_CA=$CP_CA SNUG_ENVTEST_CA_KEY=$work/pki/ca.key \
		SNUG_ENVTEST_ADMIN_TOKEN=$CP_ADMIN_TOKEN SNUG_ENVTEST_KUBECONFIG=$work/kubeconfig \
		SNUG_ENVTEST_AGENT_TOKEN_FILE=$work/agent-token SNUG_ENVTEST_WEBHOOK_TOKEN_FILE=$work/webhook-token \
		SNUG_ENVTEST_WORK=$work SNUG_ENVTEST_VERSION=$version SNUG_ENVTEST_CASE=$case \
		PYTHONDONTWRITEBYTECODE=1 /usr/bin/python3 tests/envtest/webhook_envtest.py; then
		pass=$((pass + 1))
		rm -rf "$work"
	else
		fail=$((fail + 1))
		echo "fallback envtest $version: FAILED, logs kept in $work" >&2
	fi
	cp_stop
	echo "fallback envtest $version: $(($(date +%s) - t0)) s"
done
echo "webhook-envtest $pass $fail $skip" > "$results"
echo "webhook-envtest: $pass passed, $fail failed, $skip skipped in $(($(date +%s) - start_all)) s"
[ "$fail" -eq 0 ]
