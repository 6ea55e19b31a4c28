#!/usr/bin/env bash
# Envtest tier of the eviction fallback: for kube-apiserver 1.36 and 1.33 (tests/envtest's control
# plane), the engine driver evicts as the snug-agent service account (deploy/rbac.yaml) against a real
# PodDisruptionBudget, and the real API server calls `snug-agent webhook` over HTTPS on loopback
# (MutatingWebhookConfiguration with a url + caBundle) when the test creates the replacement pod.
# Usage: envtest.sh AGENT DRIVER RESULTS_FILE
set -u
agent=$1 driver=$2 results=$3
shared=${SHARED_DIR:-../shared}
cache=${SNUG_CACHE:-$HOME/.cache/snug}
cd "$(dirname "$0")/../.."
. tests/envtest/controlplane.sh

pass=0 fail=0 skip=0
trap 'cp_stop' EXIT
for spec in "kube-apiserver.xz 1.36.2" "kube-apiserver-1.33.xz 1.33.13"; do
	set -- $spec
	xzname=$1 version=$2
	if ! assets=$(cp_assets "$shared" "$cache" "$xzname" "$version"); then
		echo "*** SKIPPED: webhook envtest $version: no kube-apiserver binaries under $shared/envtest ***"
		skip=$((skip + 1))
		continue
	fi
	work=$(mktemp -d /tmp/snug-webhook-envtest.XXXXXX)
	if ! cp_start "$assets" "$work" || ! cp_apply deploy/rbac.yaml; then
		echo "webhook envtest $version: control plane did not start" >&2
		fail=$((fail + 1))
		cp_stop
		continue
	fi
	cp_kubeconfig "$work/kubeconfig"
	echo "webhook envtest $version: kube-apiserver at $CP_SERVER"
	if SNUG_AGENT=$agent SNUG_FALLBACK_DRIVER=$driver SNUG_ENVTEST_SERVER=$CP_SERVER \
		SNUG_ENVTEST_CA=$CP_CA SNUG_ENVTEST_CA_KEY=$work/pki/ca.key \
		SNUG_ENVTEST_ADMIN_TOKEN=$CP_ADMIN_TOKEN SNUG_ENVTEST_KUBECONFIG=$work/kubeconfig \
		SNUG_ENVTEST_WORK=$work SNUG_ENVTEST_VERSION=$version \
		/usr/bin/python3 tests/webhook/envtest_webhook.py; then
		pass=$((pass + 1))
		rm -rf "$work"
	else
		fail=$((fail + 1))
		echo "webhook envtest $version: FAILED, logs kept in $work" >&2
	fi
	cp_stop
done
echo "webhook-envtest $pass $fail $skip" > "$results"
echo "webhook-envtest: $pass passed, $fail failed, $skip skipped"
[ "$fail" -eq 0 ]
