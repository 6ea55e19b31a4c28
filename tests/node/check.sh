#!/usr/bin/env bash
# Host side of `make check-node`, `make demo` and `make bench-node`: per kubelet version, a real kube-apiserver + etcd on loopback, snug installed with `kubectl apply -k`, and one VM boot in which the real kubelet and containerd run the scenarios, the demo or the benchmark.
#
# Usage: tests/node/check.sh [check] [SCENARIO...] | demo | bench [value]   (the mode is passed to guest.sh;
# `bench value` runs only the value benchmark, tests/node/node_value.py)
# demo and bench run one version (1.36.2) and exit 77 when the node's parts cannot be had (make demo
# then falls back to the VM tier's demo).
# Environment: SNUG_OUT (build dir), SNUG_CACHE (~/.cache/snug), SHARED_DIR (../shared),
# SNUG_NODE_VERSIONS ("1.36.2 1.33.13 1.36.2/systemd": kubelet and kube-apiserver versions, one boot
# each; a /systemd suffix: the systemd cgroup driver in the systemd-as-PID-1 boot, running only the
# scenarios in SNUG_NODE_SYSTEMD_SCENARIOS, by default the grower and no-tug-of-war ones).
# The tally ("node passed failed skipped") goes to $SNUG_OUT/results/node in check mode.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
out=${SNUG_OUT:-$repo/build}
cache=${SNUG_CACHE:-$HOME/.cache/snug}
shared=${SHARED_DIR:-$repo/../shared}
mode=${1:-check}
shift || true
default_versions="1.36.2 1.33.13 1.36.2/systemd"
[[ $mode == check ]] || default_versions=1.36.2
versions=${SNUG_NODE_VERSIONS:-$default_versions}
# The guest's time limit: the demo is meant to fit in 3 minutes, the benchmark takes longer.
case $mode in
demo) default_timeout=360 ;;
bench) default_timeout=2700 ;;
*) default_timeout=900 ;;
esac
# The demo redraws its table in place on a terminal, and prints a log of changes elsewhere.
[[ $mode == demo && -t 1 ]] && export SNUG_DEMO_TTY=1
systemd_scenarios=${SNUG_NODE_SYSTEMD_SCENARIOS:-grower-saved kubelet-agrees-grower no-tug-of-war}
node_name=snug-node
# The address the guest dials for the API server; qemu forwards it to the host's loopback port.
guest_api=10.0.2.100:6443
mkdir -p "$out/results" "$out/node"
cd "$repo" || exit 1
. tests/envtest/controlplane.sh

t_all=$(date +%s.%N)
elapsed() { awk -v a="$1" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }'; }
result() { [[ $mode == check ]] && echo "node $1 $2 $3" >"$out/results/node"; }

"$here/fetch-runtime.sh" "$cache/node" "$shared" >"$out/node/versions.txt"
frc=$?
if ((frc != 0)); then
	# fetch-runtime.sh says why with a SKIPPED line (status 77); any other failure is one too.
	((frc == 77)) || echo "*** SKIPPED: node tier: tests/node/fetch-runtime.sh failed (status $frc) ***" >&2
	result 0 0 1
	[[ $mode == check ]] || exit 77
	exit 0
fi
sed 's/^/node: /' "$out/node/versions.txt"
echo "node: fetch-runtime $(elapsed "$t_all")s"

# node_kubeconfig FILE SERVER KEY VALUE [KEY VALUE]: a kubeconfig with the control plane's CA whose
# user has KEY: VALUE (token, client-certificate-data, client-key-data).
node_kubeconfig() {
	local f=$1 server=$2
	shift 2
	{
		cat <<EOK
apiVersion: v1
kind: Config
current-context: c
clusters:
- name: c
  cluster:
    server: $server
    certificate-authority-data: $(base64 -w0 "$CP_CA")
contexts:
- name: c
  context:
    cluster: c
    user: u
users:
- name: u
  user:
EOK
		while (($# >= 2)); do
			printf '    %s: %s\n' "$1" "$2"
			shift 2
		done
	} >"$f"
}

host_kubectl() { "$cache/node/kubectl-v1.36.2" --kubeconfig "$res/admin-host.kubeconfig" "$@"; }

# setup_cluster RES: what a cluster's installer and controllers would have left before the node joins.
setup_cluster() {
	local pki=$CP_WORK/pki ns
	# The kubelet's identity: a client certificate for system:node:NAME in system:nodes, what TLS
	# bootstrapping would have issued; the Node authorizer and NodeRestriction confine it to its node.
	openssl req -newkey rsa:2048 -nodes -subj "/O=system:nodes/CN=system:node:$node_name" \
		-keyout "$pki/node.key" -out "$pki/node.csr" 2>/dev/null &&
		printf 'extendedKeyUsage=clientAuth\n' >"$pki/node-ext" &&
		openssl x509 -req -in "$pki/node.csr" -CA "$pki/ca.crt" -CAkey "$pki/ca.key" -CAcreateserial \
			-days 2 -extfile "$pki/node-ext" -out "$pki/node.crt" 2>/dev/null || return 1
	cp "$CP_CA" "$res/ca.crt"
	printf '%s\n' "$CP_ADMIN_TOKEN" >"$res/admin.token"
	node_kubeconfig "$res/admin-host.kubeconfig" "$CP_SERVER" token "$CP_ADMIN_TOKEN"
	node_kubeconfig "$res/admin.kubeconfig" "https://$guest_api" token "$CP_ADMIN_TOKEN"
	node_kubeconfig "$res/node.kubeconfig" "https://$guest_api" \
		client-certificate-data "$(base64 -w0 "$pki/node.crt")" client-key-data "$(base64 -w0 "$pki/node.key")"
	# snug as an operator installs it: the kustomize base, which needs no CRD (the Prometheus
	# operator's objects are the optional component deploy/monitoring), with its admission policy.
	host_kubectl apply -k deploy >"$res/apply.txt" 2>&1 || { cat "$res/apply.txt" >&2; return 1; }
	sed 's/^/node: /' "$res/apply.txt"
	# No controller-manager runs: do the two controllers' jobs every pod depends on. The
	# serviceaccounts controller makes "default" in each namespace; the root-ca-cert-publisher puts
	# the cluster CA in kube-root-ca.crt, which every pod's projected token volume mounts. This
	# kube-apiserver is built from openshift/kubernetes, whose ServiceAccount admission also projects
	# the ConfigMap openshift-service-ca.crt (key service-ca.crt; OpenShift's service-ca operator
	# publishes it): without it no pod's volume mounts.
	for ns in default kube-system snug-system; do
		host_kubectl -n "$ns" get serviceaccount default >/dev/null 2>&1 ||
			host_kubectl -n "$ns" create serviceaccount default >/dev/null || return 1
		host_kubectl -n "$ns" create configmap kube-root-ca.crt --from-file=ca.crt="$CP_CA" >/dev/null || return 1
		host_kubectl -n "$ns" create configmap openshift-service-ca.crt --from-file=service-ca.crt="$CP_CA" \
			>/dev/null || return 1
	done
	# snug-agent's own identity, as its DaemonSet pod would have it: a ServiceAccount token bound to
	# a pod on this node, which names the node (user extra authentication.kubernetes.io/node-name,
	# even before the kubelet registers the Node: measured in tests/lib/snugtest/realapi.py); the
	# admission policy deploy/policy.yaml refuses the agent's writes without it. The pod stands for
	# the DaemonSet's (no controller makes that one): the locally imported pause image, host network.
	local token uid
	host_kubectl -n snug-system apply -f - >/dev/null <<EOP || return 1
apiVersion: v1
kind: Pod
metadata:
  name: snug-agent-$node_name
  labels: {app.kubernetes.io/name: snug-agent-stand-in}
spec:
  nodeName: $node_name
  serviceAccountName: snug-agent
  automountServiceAccountToken: false
  hostNetwork: true
  terminationGracePeriodSeconds: 1
  containers:
    - name: pause
      image: localhost/snug/pause:1
      imagePullPolicy: Never
EOP
	uid=$(host_kubectl -n snug-system get pod "snug-agent-$node_name" -o 'jsonpath={.metadata.uid}') || return 1
	token=$(host_kubectl -n snug-system create token snug-agent --duration=3h --bound-object-kind Pod \
		--bound-object-name "snug-agent-$node_name" --bound-object-uid "$uid") || return 1
	node_kubeconfig "$res/agent.kubeconfig" "https://$guest_api" token "$token"
}

# start_cluster: a new kube-apiserver + etcd for this run ($assets), set up as setup_cluster says.
start_cluster() {
	cpwork=$(mktemp -d /tmp/snug-node-cp.XXXXXX)
	CP_SERVER_SANS="IP:${guest_api%:*}" CP_AUTHORIZATION_MODE=Node,RBAC \
		CP_APISERVER_EXTRA_FLAGS="--enable-admission-plugins=NodeRestriction" cp_start "$assets" "$cpwork" ||
		{ echo "node $run: control plane did not start" >&2; cp_stop; rm -rf "$cpwork"; return 1; }
	echo "node $run: kube-apiserver at $CP_SERVER, guest sees https://$guest_api ($(elapsed "$t0")s)"
	if ! setup_cluster; then
		echo "node $run: cluster setup failed" >&2
		cp_stop
		rm -rf "$cpwork"
		return 1
	fi
	echo "node $run: cluster set up ($(elapsed "$t0")s)"
}

pass=0 fail=0 skipped=0
failed_runs=()
for run in $versions; do
	t0=$(date +%s.%N)
	v=${run%/*}
	driver=cgroupfs
	[[ $run == */systemd ]] && driver=systemd
	scenarios=("$@")
	[[ $driver == systemd && $# == 0 ]] && read -ra scenarios <<<"$systemd_scenarios"
	case $v in
	1.36.2) xzname=kube-apiserver.xz ;;
	1.33.13) xzname=kube-apiserver-1.33.xz ;;
	*) echo "node: unknown version $v" >&2; fail=$((fail + 1)); continue ;;
	esac
	if ! assets=$(cp_assets "$shared" "$cache" "$xzname" "$v"); then
		echo "*** SKIPPED: node tier $run: no kube-apiserver/etcd under $shared/envtest ***"
		skipped=$((skipped + 1))
		continue
	fi
	res=$out/node/$mode-${run//\//-}
	rm -rf "$res"
	mkdir -p "$res"
	{
		printf 'NODE_CACHE=%q\n' "$cache/node"
		printf 'NODE_KUBELET=%q\n' "$cache/node/kubelet-v$v"
		printf 'NODE_VERSION=%q\n' "$v"
		printf 'NODE_NAME=%q\n' "$node_name"
		printf 'NODE_IMAGES=%q\n' "$out/node/images"
		printf 'NODE_CGROUP_DRIVER=%q\n' "$driver"
		printf 'NODE_API=%q\n' "https://$guest_api"
	} >"$res/node.env"
	init=
	[[ $driver == systemd ]] && init=systemd
	# The systemd boot runs no other scenario beside the no-tug-of-war watch: a shorter one, with a
	# daemon-reload halfway through.
	quiet=${SNUG_NODE_QUIET_SECONDS:-120}
	[[ $driver == systemd ]] && quiet=${SNUG_NODE_SYSTEMD_QUIET_SECONDS:-60}
	for attempt in 1 2; do
		# Each boot gets a control plane of its own: a second boot must not meet the first one's pods.
		start_cluster || { fail=$((fail + 1)); continue 2; }
		port=${CP_SERVER##*:}
		# The console is kept (console.log) so that a failed run's last lines close this tier's output.
		SNUG_NODE_QUIET_SECONDS=$quiet SNUG_VM_INIT=$init SNUG_VM_MEM=${SNUG_VM_MEM:-3072} \
			SNUG_VM_GUESTFWD="$guest_api=127.0.0.1:$port" \
			"$repo/tests/vm/run.sh" --timeout "${SNUG_NODE_TIMEOUT:-$default_timeout}" --results "$res" \
			"$here/guest.sh" "$mode" "${scenarios[@]}" 2>&1 | tee "$res/console-$attempt.log"
		rc=${PIPESTATUS[0]}
		cp_stop
		rm -rf "$cpwork"
		# A boot that hung in the kernel before /init (run.sh's status 75) is tried once more; so is a
		# guest that went silent with no verdict at all (every wait in it is bounded, a hung group is
		# reported by name, so a timeout with no result line is the VM itself stalling under TCG).
		((attempt == 1)) || break
		if ((rc == 75)); then
			echo "node $run: booting again (the boot hung before /init)" >&2
		elif ((rc == 124)) && ! [[ -s $res/tests ]]; then
			echo "node $run: booting again on a new control plane (the guest went silent with no verdict;" \
				"its last lines are at the end of this output)" >&2
			failed_runs+=("$run (silent boot $attempt):$res/console-$attempt.log")
			[[ -s $res/phases ]] && echo "node $run: phases of the silent boot: $(tr '\n' ' ' <"$res/phases")"
		else
			break
		fi
	done
	if ((rc == 77)); then
		skipped=$((skipped + 1))
	else
		p=$(grep -c '^PASS' "$res/tests" 2>/dev/null)
		f=$(grep -c '^FAIL' "$res/tests" 2>/dev/null)
		s=$(grep -c '^SKIP' "$res/tests" 2>/dev/null)
		pass=$((pass + ${p:-0})) fail=$((fail + ${f:-0})) skipped=$((skipped + ${s:-0}))
		if ((rc != 0)) && [[ ${f:-0} == 0 ]]; then
			echo "node $run: the guest run failed (status $rc)" >&2
			fail=$((fail + 1))
		fi
		((rc != 0)) && failed_runs+=("$run:$res/console-$attempt.log")
	fi
	[[ -s $res/phases ]] && echo "node $run: phases: $(awk '{ printf "%s=%ss ", $1, $2 }' "$res/phases")"
	echo "node $run: $(elapsed "$t0")s in all; logs in $res/logs"
done
# show_failed_runs: what a failed run printed last, at the very end, where a CI excerpt shows it.
show_failed_runs() {
	local f
	for f in "${failed_runs[@]}"; do
		echo "--- node ${f%%:*}: the last lines of its console (${f#*:}):"
		grep -v -e '^\[ *[0-9.]*\] ' -e '^$' "${f#*:}" | tail -n 25
	done
}
if [[ $mode != check ]]; then
	show_failed_runs
	verdict=finished
	((fail)) && verdict=FAILED
	echo "node $mode: $verdict in $(elapsed "$t_all")s (wall time of this script)"
	((fail == 0 && skipped > 0)) && exit 77
	((fail == 0))
	exit
fi
echo "node $mode: $pass passed, $fail failed, $skipped skipped ($(elapsed "$t_all")s)"
for run in $versions; do
	f=$out/node/$mode-${run//\//-}/tests
	[[ -s $f ]] && sed "s|^|  $run |" "$f"
done
show_failed_runs
result "$pass" "$fail" "$skipped"
((fail == 0))
