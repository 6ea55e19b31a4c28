# Guest side of the node tier (sourced): starts containerd and the real kubelet against the host's kube-apiserver, and stops them.
# shellcheck shell=bash
#
# Needs (from tests/node/check.sh through the shared results dir, $SNUG_VM_RESULTS):
#   node.env  NODE_CACHE (fetch-runtime.sh's cache), NODE_KUBELET (a kubelet binary), NODE_NAME,
#             NODE_IMAGES (the OCI tarballs), NODE_CGROUP_DRIVER (cgroupfs | systemd)
#   node.kubeconfig (system:node:NODE_NAME's client certificate), admin.kubeconfig, agent.kubeconfig
# Everything writable lives under $NODE_RUN (tmpfs): the 9p root is read-only.

NODE_RES=${SNUG_VM_RESULTS:?node lib: no SNUG_VM_RESULTS}
# shellcheck source=/dev/null
. "$NODE_RES/node.env"
NODE_RUN=${NODE_RUN:-/run/snug-node}
NODE_SOCK=$NODE_RUN/containerd/containerd.sock
NODE_LOGS=$NODE_RES/logs
export PATH=$NODE_CACHE/bin:$PATH

# node_elapsed SINCE: seconds since SINCE (a `date +%s.%N`), one decimal.
node_elapsed() { awk -v a="$1" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }'; }

# node_phase NAME SINCE: one timing line, collected by check.sh into the tier's timing table.
node_phase() {
	local s
	s=$(node_elapsed "$2")
	echo "node: phase $1 ${s}s"
	echo "$1 $s" >>"$NODE_RES/phases"
}

node_containerd_config() {
	local systemd_cgroup=false
	[[ $NODE_CGROUP_DRIVER == systemd ]] && systemd_cgroup=true
	mkdir -p "$NODE_RUN/containerd" "$NODE_RUN/cni/net.d"
	# containerd 2.x's own (version 3) format. Root and state on tmpfs; overlayfs snapshots there.
	# The sandbox image is the locally imported pause: nothing is ever pulled.
	cat >"$NODE_RUN/containerd/config.toml" <<EOT
version = 3
root = "$NODE_RUN/containerd/root"
state = "$NODE_RUN/containerd/state"
[grpc]
  address = "$NODE_SOCK"
[plugins.'io.containerd.cri.v1.images']
  snapshotter = "overlayfs"
  [plugins.'io.containerd.cri.v1.images'.pinned_images]
    sandbox = "localhost/snug/pause:1"
[plugins.'io.containerd.cri.v1.runtime']
  enable_selinux = false
  [plugins.'io.containerd.cri.v1.runtime'.containerd]
    default_runtime_name = "runc"
    [plugins.'io.containerd.cri.v1.runtime'.containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins.'io.containerd.cri.v1.runtime'.containerd.runtimes.runc.options]
        BinaryName = "$NODE_CACHE/bin/runc"
        SystemdCgroup = $systemd_cgroup
  [plugins.'io.containerd.cri.v1.runtime'.cni]
    bin_dirs = ["/usr/lib/cni"]
    conf_dir = "$NODE_RUN/cni/net.d"
EOT
	# Pods here use the host's network; a loopback-only CNI network (Debian's
	# containernetworking-plugins) is enough for the runtime to report NetworkReady, so the Node
	# turns Ready as on a cluster.
	cat >"$NODE_RUN/cni/net.d/10-snug-loopback.conflist" <<EOT
{"cniVersion": "1.0.0", "name": "snug-loopback", "plugins": [{"type": "loopback"}]}
EOT
}

# node_writable_var: /var/lib and /var/log become writable (overlays, their upper layers on tmpfs): the
# kubelet keeps sockets under /var/lib/kubelet and links under /var/log/containers whatever its
# --root-dir and podLogsDir say.
node_writable_var() {
	local d
	for d in /var/lib /var/log; do
		grep -q " $d overlay " /proc/mounts && continue
		mkdir -p "$NODE_RUN/overlay$d/upper" "$NODE_RUN/overlay$d/work"
		mount -t overlay overlay \
			-o "lowerdir=$d,upperdir=$NODE_RUN/overlay$d/upper,workdir=$NODE_RUN/overlay$d/work" "$d" || return 1
	done
}

# node_start_containerd: starts containerd, waits for its socket, imports the images.
node_start_containerd() {
	local t0 i
	t0=$(date +%s.%N)
	mkdir -p "$NODE_LOGS"
	node_writable_var || { echo "node: cannot make /var/lib and /var/log writable" >&2; return 1; }
	node_containerd_config
	containerd --config "$NODE_RUN/containerd/config.toml" >"$NODE_LOGS/containerd.log" 2>&1 &
	NODE_CONTAINERD_PID=$!
	for ((i = 0; i < 600; i++)); do
		[[ -S $NODE_SOCK ]] && timeout -k 5 10 ctr --address "$NODE_SOCK" version >/dev/null 2>&1 && break
		kill -0 "$NODE_CONTAINERD_PID" 2>/dev/null || {
			tail -30 "$NODE_LOGS/containerd.log" >&2
			return 1
		}
		sleep 0.2
	done
	((i < 600)) || { echo "node: containerd did not answer" >&2; return 1; }
	node_phase containerd-up "$t0"
	t0=$(date +%s.%N)
	local img
	for img in "$NODE_IMAGES"/pause.tar "$NODE_IMAGES"/workload.tar; do
		timeout -k 5 180 ctr --address "$NODE_SOCK" -n k8s.io images import --no-unpack=false "$img" >/dev/null ||
			{ echo "node: ctr images import $img failed or took over 180 s" >&2; return 1; }
	done
	node_phase images-imported "$t0"
}

node_kubelet_config() {
	mkdir -p "$NODE_RUN/kubelet" "$NODE_RUN/pod-logs"
	cat >"$NODE_RUN/kubelet/config.yaml" <<EOT
apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
cgroupDriver: $NODE_CGROUP_DRIVER
containerRuntimeEndpoint: unix://$NODE_SOCK
failSwapOn: false
cpuManagerPolicy: none
podLogsDir: $NODE_RUN/pod-logs
# Only the memory threshold: the disk ones would read tmpfs and the read-only 9p root.
evictionHard:
  memory.available: 100Mi
authentication:
  anonymous: {enabled: false}
  webhook: {enabled: false}
authorization:
  mode: AlwaysAllow
readOnlyPort: 0
resolvConf: ""
serializeImagePulls: false
# Status for the API sooner than the defaults; the node has a handful of pods.
nodeStatusUpdateFrequency: 5s
syncFrequency: 10s
failCgroupV1: true
EOT
}

# node_start_kubelet: starts the kubelet; returns once the Node is registered and Ready.
node_start_kubelet() {
	local t0 i
	t0=$(date +%s.%N)
	node_kubelet_config
	"$NODE_KUBELET" --config "$NODE_RUN/kubelet/config.yaml" --kubeconfig "$NODE_RES/node.kubeconfig" \
		--root-dir "$NODE_RUN/kubelet" --cert-dir "$NODE_RUN/kubelet/pki" \
		--hostname-override "$NODE_NAME" --node-ip 10.0.2.15 --v=2 \
		--volume-plugin-dir "$NODE_RUN/kubelet/volume-plugins" >"$NODE_LOGS/kubelet.log" 2>&1 &
	NODE_KUBELET_PID=$!
	for ((i = 0; i < 300; i++)); do
		if [[ $(node_kubectl get node "$NODE_NAME" -o 'jsonpath={.status.conditions[?(@.type=="Ready")].status}' 2>/dev/null) == True ]]; then
			node_phase kubelet-ready "$t0"
			return 0
		fi
		kill -0 "$NODE_KUBELET_PID" 2>/dev/null || break
		sleep 1
	done
	echo "node: the kubelet did not report the node Ready; its last lines:" >&2
	tail -40 "$NODE_LOGS/kubelet.log" >&2
	return 1
}

# Every call in the guest is bounded: a stuck one must fail the run with its name, not hang it until
# the VM's timeout.
node_kubectl() {
	timeout -k 5 30 "$NODE_CACHE/kubectl-v1.36.2" --request-timeout=20s \
		--kubeconfig "$NODE_RES/admin.kubeconfig" "$@"
}

# node_kill PID NAME: SIGTERM, up to 20 s for it to go, then SIGKILL.
node_kill() {
	local i
	kill "$1" 2>/dev/null || return 0
	for ((i = 0; i < 100; i++)); do
		kill -0 "$1" 2>/dev/null || break
		sleep 0.2
	done
	if kill -0 "$1" 2>/dev/null; then
		echo "node: $2 still running 20 s after SIGTERM: killed" >&2
		kill -9 "$1" 2>/dev/null
	fi
	wait "$1" 2>/dev/null
}

node_stop() {
	[[ -n ${NODE_KUBELET_PID:-} ]] && node_kill "$NODE_KUBELET_PID" kubelet
	[[ -n ${NODE_CONTAINERD_PID:-} ]] && node_kill "$NODE_CONTAINERD_PID" containerd
	NODE_KUBELET_PID= NODE_CONTAINERD_PID=
}
