# Starts and stops a real etcd + kube-apiserver on loopback for the envtest tier (sourced by run.sh).
# Needs: openssl, curl, python3 (for free ports). Sets CP_* variables for the test programs.

# Prints a free TCP port on 127.0.0.1.
cp_free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# cp_assets SHARED_DIR CACHE_DIR XZ_NAME VERSION → prints the dir holding kube-apiserver and etcd.
# Decompresses once per version into the cache; checks sha256 against the shared README every time
# a binary is created, and refuses a cached binary whose hash is wrong.
cp_assets() {
	local shared=$1 cache=$2 xzname=$3 version=$4
	local dir="$cache/envtest/$version"
	mkdir -p "$dir"
	local pair name src want have
	for pair in "kube-apiserver:$xzname" "etcd:etcd.xz"; do
		name=${pair%%:*}
		src="$shared/envtest/${pair#*:}"
		want=$(grep -sF "\`${pair#*:}\`" "$shared/envtest/README.md" | grep -oE '[0-9a-f]{64}' | head -1)
		if [ ! -x "$dir/$name" ]; then
			[ -f "$src" ] || return 1
			xz -dc "$src" > "$dir/$name.tmp" && chmod +x "$dir/$name.tmp" || return 1
			mv "$dir/$name.tmp" "$dir/$name"
		fi
		have=$(sha256sum "$dir/$name" | cut -d' ' -f1)
		if [ -n "$want" ] && [ "$have" != "$want" ]; then
			echo "envtest: $dir/$name has sha256 $have, README says $want" >&2
			rm -f "$dir/$name"
			return 1
		fi
	done
	echo "$dir"
}

# cp_kubectl SHARED_DIR CACHE_DIR → prints the path of the real kubectl (v1.36.2, with kustomize),
# decompressed once into the cache and checked against the sha256 the shared README gives for it.
cp_kubectl() {
	local shared=$1 cache=$2 name=kubectl-v1.36.2
	local dir="$cache/envtest" want have tmp
	mkdir -p "$dir"
	want=$(grep -sF "\`$name\` (unpacked)" "$shared/kubectl/README.md" | grep -oE '[0-9a-f]{64}' | head -1)
	[ -n "$want" ] || return 1
	if [ ! -x "$dir/$name" ]; then
		[ -f "$shared/kubectl/$name.xz" ] || return 1
		# a temporary file of its own: other worktrees may unpack into the same cache at once
		tmp=$(mktemp "$dir/$name.XXXXXX") || return 1
		xz -dc "$shared/kubectl/$name.xz" > "$tmp" && chmod +x "$tmp" || { rm -f "$tmp"; return 1; }
		mv "$tmp" "$dir/$name"
	fi
	have=$(sha256sum "$dir/$name" | cut -d' ' -f1)
	if [ "$have" != "$want" ]; then
		echo "envtest: $dir/$name has sha256 $have, README says $want" >&2
		rm -f "$dir/$name"
		return 1
	fi
	echo "$dir/$name"
}

# cp_start ASSETS_DIR WORK_DIR: starts etcd and kube-apiserver, waits for /readyz.
# CP_APISERVER_EXTRA_FLAGS (optional, split on spaces) is appended to kube-apiserver's command line,
# e.g. "--feature-gates=InPlacePodVerticalScaling=false" for a server without in-place resize.
# CP_SERVER_SANS (optional, e.g. "IP:10.0.2.100") adds names to the serving certificate (the node
# tier's guest reaches the server at another address); CP_AUTHORIZATION_MODE (default RBAC), e.g.
# "Node,RBAC" for a real kubelet's system:node:NAME identity.
cp_start() {
	local assets=$1 work=$2
	mkdir -p "$work/pki" "$work/etcd"
	local pki="$work/pki"
	openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=snug-envtest-ca" \
		-keyout "$pki/ca.key" -out "$pki/ca.crt" 2>/dev/null || return 1
	openssl req -newkey rsa:2048 -nodes -subj "/CN=kube-apiserver" \
		-keyout "$pki/server.key" -out "$pki/server.csr" 2>/dev/null || return 1
	printf 'subjectAltName=IP:127.0.0.1,DNS:localhost%s\nextendedKeyUsage=serverAuth\n' \
		"${CP_SERVER_SANS:+,$CP_SERVER_SANS}" > "$pki/ext"
	openssl x509 -req -in "$pki/server.csr" -CA "$pki/ca.crt" -CAkey "$pki/ca.key" \
		-CAcreateserial -days 2 -extfile "$pki/ext" -out "$pki/server.crt" 2>/dev/null || return 1
	# A client certificate for the same agent identity (CN = user, O = group), for the
	# kubeconfig path of the client.
	openssl req -newkey rsa:2048 -nodes \
		-subj "/O=system:serviceaccounts/CN=system:serviceaccount:snug-system:snug-agent" \
		-keyout "$pki/agent.key" -out "$pki/agent.csr" 2>/dev/null || return 1
	printf 'extendedKeyUsage=clientAuth\n' > "$pki/agent-ext"
	openssl x509 -req -in "$pki/agent.csr" -CA "$pki/ca.crt" -CAkey "$pki/ca.key" \
		-CAcreateserial -days 2 -extfile "$pki/agent-ext" -out "$pki/agent.crt" 2>/dev/null || return 1
	openssl genrsa -out "$pki/sa.key" 2048 2>/dev/null || return 1
	openssl rsa -in "$pki/sa.key" -pubout -out "$pki/sa.pub" 2>/dev/null || return 1

	CP_ADMIN_TOKEN=$(openssl rand -hex 16)
	CP_AGENT_TOKEN=$(openssl rand -hex 16)
	# The agent authenticates as the service account deploy/ binds, with its groups: only the
	# RBAC manifest gives it rights.
	CP_AGENT_USER="system:serviceaccount:snug-system:snug-agent"
	{
		echo "$CP_ADMIN_TOKEN,envtest-admin,uid-admin,\"system:masters\""
		echo "$CP_AGENT_TOKEN,$CP_AGENT_USER,uid-agent,\"system:serviceaccounts,system:serviceaccounts:snug-system\""
	} > "$pki/tokens.csv"

	local etcd_port peer_port api_port
	etcd_port=$(cp_free_port)
	peer_port=$(cp_free_port)
	api_port=$(cp_free_port)
	"$assets/etcd" --name default --data-dir "$work/etcd" \
		--listen-client-urls "http://127.0.0.1:$etcd_port" \
		--advertise-client-urls "http://127.0.0.1:$etcd_port" \
		--listen-peer-urls "http://127.0.0.1:$peer_port" \
		--initial-advertise-peer-urls "http://127.0.0.1:$peer_port" \
		--initial-cluster "default=http://127.0.0.1:$peer_port" \
		--unsafe-no-fsync > "$work/etcd.log" 2>&1 &
	CP_ETCD_PID=$!
	"$assets/kube-apiserver" --etcd-servers "http://127.0.0.1:$etcd_port" \
		--bind-address 127.0.0.1 --advertise-address 127.0.0.1 --secure-port "$api_port" \
		--tls-cert-file "$pki/server.crt" --tls-private-key-file "$pki/server.key" \
		--client-ca-file "$pki/ca.crt" \
		--service-account-key-file "$pki/sa.pub" \
		--service-account-signing-key-file "$pki/sa.key" \
		--service-account-issuer https://kubernetes.default.svc \
		--token-auth-file "$pki/tokens.csv" --authorization-mode "${CP_AUTHORIZATION_MODE:-RBAC}" \
		--service-cluster-ip-range 10.96.0.0/16 --endpoint-reconciler-type none \
		--cert-dir "$work/certs" ${CP_APISERVER_EXTRA_FLAGS:-} > "$work/apiserver.log" 2>&1 &
	CP_API_PID=$!
	CP_SERVER="https://127.0.0.1:$api_port"
	CP_ETCD_URL="http://127.0.0.1:$etcd_port"
	CP_CA="$pki/ca.crt"
	CP_WORK=$work
	local i
	for i in $(seq 1 240); do
		if [ "$(curl -s --cacert "$CP_CA" -H "Authorization: Bearer $CP_ADMIN_TOKEN" \
			"$CP_SERVER/readyz" 2>/dev/null)" = ok ]; then
			return 0
		fi
		kill -0 "$CP_API_PID" 2>/dev/null || break
		sleep 0.5
	done
	echo "envtest: kube-apiserver did not become ready; last log lines:" >&2
	tail -20 "$work/apiserver.log" >&2
	return 1
}

cp_stop() {
	[ -n "${CP_API_PID:-}" ] && kill "$CP_API_PID" 2>/dev/null && wait "$CP_API_PID" 2>/dev/null
	[ -n "${CP_ETCD_PID:-}" ] && kill "$CP_ETCD_PID" 2>/dev/null && wait "$CP_ETCD_PID" 2>/dev/null
	CP_API_PID=
	CP_ETCD_PID=
}

# cp_admin METHOD PATH [CONTENT_TYPE BODY_FILE]: prints the HTTP code, keeps the body in $CP_WORK/out.
cp_admin() {
	local args=(-s -o "$CP_WORK/out" -w '%{http_code}' --cacert "$CP_CA"
		-H "Authorization: Bearer $CP_ADMIN_TOKEN" -X "$1")
	[ $# -ge 4 ] && args+=(-H "Content-Type: $3" --data-binary "@$4")
	curl "${args[@]}" "$CP_SERVER$2"
}

# cp_apply FILE: creates every document of a multi-document YAML manifest (admin).
cp_apply() {
	local file=$1 n=0 doc kind ns path code
	rm -f "$CP_WORK"/doc-*.yaml
	awk -v dir="$CP_WORK" 'BEGIN{n=0; f=sprintf("%s/doc-%02d.yaml", dir, n)}
		/^---/{n++; f=sprintf("%s/doc-%02d.yaml", dir, n); next}
		{print > f}' "$file"
	for doc in "$CP_WORK"/doc-*.yaml; do
		kind=$(awk '/^kind:/{print $2; exit}' "$doc")
		[ -n "$kind" ] || continue
		ns=$(awk '/^metadata:/{m=1; next} m && /^  namespace:/{print $2; exit} /^[^ ]/{m=0}' "$doc")
		case $kind in
		Namespace) path=/api/v1/namespaces ;;
		ServiceAccount) path=/api/v1/namespaces/$ns/serviceaccounts ;;
		ClusterRole) path=/apis/rbac.authorization.k8s.io/v1/clusterroles ;;
		ClusterRoleBinding) path=/apis/rbac.authorization.k8s.io/v1/clusterrolebindings ;;
		Role) path=/apis/rbac.authorization.k8s.io/v1/namespaces/$ns/roles ;;
		RoleBinding) path=/apis/rbac.authorization.k8s.io/v1/namespaces/$ns/rolebindings ;;
		CustomResourceDefinition) path=/apis/apiextensions.k8s.io/v1/customresourcedefinitions ;;
		*) continue ;;
		esac
		code=$(cp_admin POST "$path" application/yaml "$doc")
		if [ "$code" != 201 ] && [ "$code" != 409 ]; then
			echo "envtest: applying $kind from $file: HTTP $code" >&2
			cat "$CP_WORK/out" >&2
			return 1
		fi
		n=$((n + 1))
	done
	echo "envtest: applied $n objects from $file"
}

# cp_kubeconfig FILE: a kubeconfig for the agent with inline CA and client certificate (no token).
cp_kubeconfig() {
	local pki=$CP_WORK/pki
	cat > "$1" <<EOK
apiVersion: v1
kind: Config
current-context: agent
clusters:
- name: envtest
  cluster:
    server: $CP_SERVER
    certificate-authority-data: $(base64 -w0 "$pki/ca.crt")
contexts:
- name: agent
  context: {cluster: envtest, user: agent, namespace: default}
users:
- name: agent
  user:
    client-certificate-data: $(base64 -w0 "$pki/agent.crt")
    client-key-data: $(base64 -w0 "$pki/agent.key")
EOK
}

# cp_admin_kubeconfig FILE: a kubeconfig for the admin (token), for the real kubectl.
cp_admin_kubeconfig() {
	cat > "$1" <<EOK
apiVersion: v1
kind: Config
current-context: admin
clusters:
- name: envtest
  cluster:
    server: $CP_SERVER
    certificate-authority-data: $(base64 -w0 "$CP_CA")
contexts:
- name: admin
  context: {cluster: envtest, user: admin}
users:
- name: admin
  user:
    token: $CP_ADMIN_TOKEN
EOK
}

# cp_install KUBECTL: `kubectl apply -k deploy/` as an operator would (the admin's kubeconfig, written
# to $CP_WORK/admin.kubeconfig): the base with its RBAC and admission policy. Prints kubectl's output.
cp_install() {
	cp_admin_kubeconfig "$CP_WORK/admin.kubeconfig"
	"$1" --kubeconfig "$CP_WORK/admin.kubeconfig" apply -k deploy/
}

# cp_agent_token KUBECTL NODE: prints a snug-agent token bound to a pod on NODE (created here in
# snug-system, standing for the agent's DaemonSet pod, never run), so that the token names the node
# as deploy/policy.yaml requires. The Node object need not exist.
cp_agent_token() {
	local kubectl=$1 node=$2 uid
	local k=("$kubectl" --kubeconfig "$CP_WORK/admin.kubeconfig" -n snug-system)
	"${k[@]}" apply -f - >/dev/null <<EOP || return 1
apiVersion: v1
kind: Pod
metadata:
  name: snug-agent-$node
  labels: {app.kubernetes.io/name: snug-agent-stand-in}
spec:
  nodeName: $node
  serviceAccountName: snug-agent
  automountServiceAccountToken: false
  containers:
    - name: agent
      image: localhost/snug-agent:0.1.0
EOP
	uid=$("${k[@]}" get pod "snug-agent-$node" -o 'jsonpath={.metadata.uid}') || return 1
	"${k[@]}" create token snug-agent --duration=2h --bound-object-kind Pod \
		--bound-object-name "snug-agent-$node" --bound-object-uid "$uid"
}

# cp_install_monitoring KUBECTL: where the Prometheus operator's CRDs exist (minimal ones of the same
# names, made here), an overlay of deploy/ with the component deploy/monitoring applies too. The
# overlay sits in $CP_WORK (kustomize refuses one inside its base's directory).
cp_install_monitoring() {
	local kubectl=$1 plural kind overlay=$CP_WORK/overlay rel
	local k=("$kubectl" --kubeconfig "$CP_WORK/admin.kubeconfig")
	for plural in podmonitors:PodMonitor prometheusrules:PrometheusRule; do
		kind=${plural#*:} plural=${plural%%:*}
		"${k[@]}" apply -f - >/dev/null <<EOC || return 1
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: $plural.monitoring.coreos.com}
spec:
  group: monitoring.coreos.com
  scope: Namespaced
  names: {plural: $plural, kind: $kind}
  versions:
    - name: v1
      served: true
      storage: true
      schema: {openAPIV3Schema: {type: object, x-kubernetes-preserve-unknown-fields: true}}
EOC
		"${k[@]}" wait --for condition=Established --timeout=30s "crd/$plural.monitoring.coreos.com" \
			>/dev/null || return 1
	done
	mkdir -p "$overlay"
	rel=$(realpath --relative-to="$overlay" deploy)
	printf 'resources:\n  - %s\ncomponents:\n  - %s/monitoring\n' "$rel" "$rel" > "$overlay/kustomization.yaml"
	"${k[@]}" apply -k "$overlay"
}
