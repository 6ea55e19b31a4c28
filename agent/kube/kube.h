/* The Kubernetes API client snug uses: auth, the pod model, list+watch of this node's pods, and
 * the calls that act (resize, evict, events, annotations, owner lookup), all driven by sd-event. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>
#include <systemd/sd-event.h>
#include "agent/util/resources.h"
#include "agent/util/qos.h"

/* ---- configuration (config.c) ------------------------------------------------------------- */

/* Where the API server is and how to authenticate to it. TLS verification is always on: there is
 * no field to turn it off, and a kubeconfig asking for insecure-skip-tls-verify is refused. */
struct kube_config {
	char *server;	  /* "https://host:port", no trailing slash */
	char *token;	  /* static bearer token (kubeconfig), or NULL */
	char *token_file; /* bearer token re-read whenever the file changes (service account) */
	char *ca_file;	  /* PEM bundle path, or NULL */
	char *ca_data;	  /* PEM bundle bytes, or NULL; with neither, the system bundle is used */
	size_t ca_data_len;
	char *cert_file, *key_file; /* client certificate (PEM paths) */
	char *cert_data, *key_data; /* client certificate (PEM bytes) */
	size_t cert_data_len, key_data_len;
	char *namespace; /* the context's (or the service account's) namespace, may be NULL */
};

#define KUBE_SA_DIR "/var/run/secrets/kubernetes.io/serviceaccount"

/* In-cluster: KUBERNETES_SERVICE_HOST/PORT, token and ca.crt from sa_dir (NULL = KUBE_SA_DIR).
 * -ENXIO when not running in a cluster (no env), -ENOENT when the token file is missing. */
int kube_config_in_cluster(const char *sa_dir, struct kube_config **ret);
/* A kubeconfig file: context (NULL = current-context) → cluster + user. Relative paths are taken
 * from the file's directory; *-data fields are base64. -EINVAL with a log line on bad content. */
int kube_config_from_kubeconfig(const char *path, const char *context, struct kube_config **ret);
/* The agent's order: explicit kubeconfig path, else in-cluster, else $KUBECONFIG, else ~/.kube/config. */
int kube_config_load(const char *kubeconfig, struct kube_config **ret);
struct kube_config *kube_config_free(struct kube_config *c);

/* ---- the pod model (pod.c) ------------------------------------------------------------------ */

#define KUBE_ERRBUF 256

enum kube_phase {
	KUBE_PHASE_UNKNOWN,
	KUBE_PHASE_PENDING,
	KUBE_PHASE_RUNNING,
	KUBE_PHASE_SUCCEEDED,
	KUBE_PHASE_FAILED,
};

enum kube_restart_policy {
	KUBE_RESIZE_NOT_REQUIRED, /* the default when resizePolicy does not name the resource */
	KUBE_RESIZE_RESTART_CONTAINER,
};

/* Where a resize stands, from the conditions (1.33+) or the legacy status.resize (≤ 1.32). */
enum kube_resize_status {
	KUBE_RESIZE_NONE,
	KUBE_RESIZE_PROPOSED,	 /* legacy status.resize=Proposed */
	KUBE_RESIZE_IN_PROGRESS, /* PodResizeInProgress (or legacy InProgress) */
	KUBE_RESIZE_ERROR,	 /* PodResizeInProgress reason Error */
	KUBE_RESIZE_DEFERRED,	 /* PodResizePending reason Deferred (fits the node, not now) */
	KUBE_RESIZE_INFEASIBLE,	 /* PodResizePending reason Infeasible (never retried by kubelet) */
};

/* An app container (spec.containers[]) or an init container (spec.initContainers[]). */
struct kube_container {
	char *name;
	struct resources spec; /* spec.{containers,initContainers}[].resources */
	enum kube_restart_policy cpu_policy, mem_policy;
	/* Init containers only: restartPolicy Always makes it a native sidecar, which runs beside
	 * the app containers and counts like one; an ordinary init container runs before them. */
	bool sidecar;

	/* status.containerStatuses[] (initContainerStatuses[] for init containers) for this name;
	 * has_status false until the kubelet reports. */
	bool has_status;
	char *container_id; /* without the "<runtime>://" prefix, validated, NULL when not started */
	char *runtime;	    /* "containerd", "cri-o", "docker", ... */
	bool ready, running;
	int32_t restart_count;
	bool has_allocated; /* status.containerStatuses[].allocatedResources (requests only) */
	struct resources allocated;
	bool has_actual; /* status.containerStatuses[].resources: what the kubelet applied */
	struct resources actual;
};

struct kube_kv {
	char *key, *value;
};

/* The controller owner reference (ownerReferences[controller=true]). */
struct kube_owner {
	char *api_version, *kind, *name, *uid;
};

struct kube_pod {
	char *uid, *namespace, *name, *resource_version, *node_name;
	int64_t generation;
	bool deleting; /* metadata.deletionTimestamp is set */
	struct kube_kv *labels, *annotations;
	size_t n_labels, n_annotations;
	bool has_owner;
	struct kube_owner owner;
	enum qos_class qos;
	enum kube_phase phase;
	struct kube_container *containers; /* spec.containers, in order */
	size_t n_containers;
	struct kube_container *init_containers; /* spec.initContainers, in order */
	size_t n_init_containers;
	/* spec.overhead (the RuntimeClass's): millicores and bytes, RESOURCE_UNSET when absent. */
	int64_t overhead_cpu, overhead_mem;
	/* spec.resources, pod-level resources (KEP-2837), when has_resources. When set, the
	 * kubelet sizes the pod cgroup from them instead of the containers' sums. */
	bool has_resources;
	struct resources resources;
	enum kube_resize_status resize;
	char *resize_message; /* the condition's message, NULL when none */
	/* The generation the kubelet had seen when it wrote the status (status.observedGeneration,
	 * 1.34+) and when it set the resize condition (its observedGeneration); 0 when not reported
	 * (1.33): then a condition cannot be told apart from one about an earlier resize. */
	int64_t observed_generation;
	int64_t resize_observed_generation;
};

/* Parses a Pod object. Missing required fields and wrong types fail with -EINVAL and a message
 * naming the field in errbuf (KUBE_ERRBUF bytes, may be NULL); unknown fields are ignored. */
int kube_pod_parse(const cJSON *obj, struct kube_pod **ret, char *errbuf);
int kube_pod_parse_json(const char *buf, size_t len, struct kube_pod **ret, char *errbuf);
struct kube_pod *kube_pod_free(struct kube_pod *p);
const char *kube_pod_annotation(const struct kube_pod *p, const char *key);
const char *kube_pod_label(const struct kube_pod *p, const char *key);
/* An app container or a native sidecar (an init container with restartPolicy Always: kc->sidecar)
 * by name; names are unique across both lists (the API server validates it). Ordinary init
 * containers are not looked up: snug never tracks nor resizes them. */
const struct kube_container *kube_pod_container(const struct kube_pod *p, const char *name);
const char *kube_resize_status_to_string(enum kube_resize_status s);

/* (node.c) Millicores and bytes a pod requests as the scheduler counts it (component-helpers
 * PodRequests with UseStatusResources, as NodeInfo does): app containers and native sidecars
 * summed, each at the largest of spec, allocated and actual requests (only actual and allocated
 * while the pod's resize is Infeasible); ordinary init containers as a max, each with the
 * sidecars started before it; pod-level requests instead of the containers' when set; plus
 * spec.overhead. Unset counts 0; the result saturates at INT64_MAX. */
int64_t kube_pod_requests(const struct kube_pod *p, bool cpu);

/* ---- the node (node.c) ---------------------------------------------------------------------- */

/* What snug reads of its own Node: status.allocatable, what the kubelet admits pods against. */
struct kube_node {
	char *name, *resource_version;
	char *uid; /* NULL when the object has none (the owner of this node's history entries) */
	int64_t cpu_allocatable;    /* millicores */
	int64_t memory_allocatable; /* bytes */
};

/* Parses a Node object; a missing or malformed field (status.allocatable cpu or memory
 * included: there is no fallback to capacity) fails with -EINVAL and the field in errbuf. */
int kube_node_parse(const cJSON *obj, struct kube_node *ret, char *errbuf);
void kube_node_done(struct kube_node *n);

/* ---- replies and their classification (status.c) ------------------------------------------- */

enum kube_outcome {
	KUBE_OK,	    /* accepted / granted / created */
	KUBE_REJECTED,	    /* 400/422: the server refused this change (message says why) */
	KUBE_CONFLICT,	    /* 409: stale resourceVersion or UID precondition */
	KUBE_NOT_SUPPORTED, /* in-place resize is not available on this server or node */
	KUBE_NOT_FOUND,	    /* 404: the object is gone */
	KUBE_FORBIDDEN,	    /* 403: RBAC (or a misconfigured PDB on eviction) */
	KUBE_BLOCKED,	    /* eviction: a PDB says not now (429), or more than one PDB (500) */
	KUBE_UNAUTHORIZED,  /* 401: token expired or wrong; the token file is re-read */
	KUBE_TRANSIENT,	    /* 5xx, 429 throttling, timeouts, connection or TLS errors */
	KUBE_SUPPRESSED,    /* not sent: rate-limited locally (events) */
	KUBE_BAD_REPLY,	    /* a 2xx whose body does not parse */
	_KUBE_OUTCOME_MAX,
};
const char *kube_outcome_to_string(enum kube_outcome o);

/* Which call a reply belongs to, for classification and for the per-call counters. */
enum kube_call {
	KUBE_CALL_DISCOVERY,
	KUBE_CALL_VERSION,
	KUBE_CALL_LIST,
	KUBE_CALL_WATCH,
	KUBE_CALL_RESIZE,
	KUBE_CALL_EVICT,
	KUBE_CALL_EVENT,
	KUBE_CALL_ANNOTATE,
	KUBE_CALL_GET,
	KUBE_CALL_LIST_HPA,
	KUBE_CALL_LIST_HISTORY,
	KUBE_CALL_PATCH_HISTORY,
	KUBE_CALL_CREATE_HISTORY,
	KUBE_CALL_DELETE_HISTORY,
	_KUBE_CALL_MAX,
};
const char *kube_call_to_string(enum kube_call c);

/* A `Status` body (or what we know of a failed exchange). Strings point into the result. */
struct kube_status {
	long code;	/* HTTP code, 0 when no reply came */
	char *reason;	/* Status.reason ("Invalid", "TooManyRequests", ...) or NULL */
	char *message;	/* Status.message, or the transport error text */
	char *cause;	/* details.causes[0].message (e.g. which PDB) or NULL */
	char *name;	/* details.name or NULL */
	bool is_status; /* the body was a Status object */
	bool failure;	/* Status.status == "Failure" */
};
/* Fills st from code + body (body may be NULL or not JSON: then only code is known). */
int kube_status_parse(long code, const char *body, size_t len, struct kube_status *st);
void kube_status_done(struct kube_status *st);
/* The outcome of a call from its HTTP code and Status; `name` is the object the call was about. */
enum kube_outcome kube_classify(enum kube_call call, const struct kube_status *st,
				const char *name);

/* ---- the client (client.c, watch.c, calls.c) ----------------------------------------------- */

struct kube_client;

struct kube_options {
	const char *node_name; /* the watch's spec.nodeName selector and the Event source host */
	/* The watch selects pods by this label selector too (the webhook's controller: pods asking
	 * to be evicted, on any node); the watch needs node_name, this, or both. */
	const char *pod_label_selector;
	const char *component;	       /* Event source and User-Agent, default "snug" */
	uint64_t request_timeout_usec; /* whole request, default 30 s */
	uint64_t connect_timeout_usec; /* default 10 s */
	unsigned
		watch_timeout_sec; /* server-side timeoutSeconds, default 300 (randomised up to 2×) */
	uint64_t backoff_min_usec; /* first retry delay, default 500 ms; doubles per failure */
	uint64_t backoff_max_usec; /* default 30 s */
	uint64_t
		event_interval_usec; /* one Event per object and reason per interval, default 60 s */
};

enum kube_resize_path {
	KUBE_PATH_UNKNOWN,     /* not discovered yet */
	KUBE_PATH_SUBRESOURCE, /* PATCH pods/NAME/resize (discovery lists pods/resize) */
	KUBE_PATH_SPEC_PATCH,  /* PATCH pods/NAME spec (1.27–1.31 with the alpha gate) */
	KUBE_PATH_NONE,	       /* in-place resize is not available */
};
const char *kube_resize_path_to_string(enum kube_resize_path p);

/* The result every call's completion callback gets; valid only during the callback. */
struct kube_result {
	enum kube_call call;
	enum kube_outcome outcome;
	long http_code;	     /* 0 when no reply came */
	int error;	     /* -errno for local and transport failures, else 0 */
	const char *reason;  /* Status.reason, may be NULL */
	const char *message; /* Status.message or transport error text, may be NULL */
	const char *cause;   /* first details.causes[].message, may be NULL (PDB name on 429) */
	const struct kube_pod *pod; /* resize: the pod the server returned, or NULL */
	const cJSON *object;	    /* get, list-hpa: the object the server returned, or NULL */
	int64_t replicas; /* get: spec.replicas (DaemonSet: status.desiredNumberScheduled), -1 */
};
typedef void (*kube_done_t)(const struct kube_result *r, void *userdata);

/* Callbacks of the pod watch. `old` and `pod` are owned by the cache and valid during the call. */
struct kube_watch_ops {
	void (*added)(const struct kube_pod *pod, void *userdata);
	void (*updated)(const struct kube_pod *old, const struct kube_pod *pod, void *userdata);
	void (*deleted)(const struct kube_pod *pod, void *userdata);
	/* After every successful list: the cache mirrors the server (readiness). */
	void (*synced)(void *userdata);
	/* After discovery found (or changed) the resize path. */
	void (*resize_path)(enum kube_resize_path path, void *userdata);
	/* A pod in a list or watch event was malformed and skipped; `why` names the object
	 * (namespace/name when readable) and the field. The library itself logs only at debug. */
	void (*invalid)(const char *why, void *userdata);
};

/* Counters for metrics; read any time. */
struct kube_http_count {
	enum kube_call call;
	long code; /* 0 = no reply (transport error) */
	uint64_t count;
};
struct kube_stats {
	uint64_t lists, watches, watch_restarts, relists_410, watch_events, bookmarks;
	uint64_t parse_errors, events_suppressed, token_reloads;
};

/* The config and options are copied; nothing is sent until a call or kube_client_watch_pods(). */
int kube_client_new(sd_event *event, const struct kube_config *cfg, const struct kube_options *opts,
		    struct kube_client **ret);
/* Aborts every request (no callbacks run) and frees the client. Not from inside a callback. */
struct kube_client *kube_client_free(struct kube_client *c);

/* Starts discovery → list → watch of pods with spec.nodeName = options.node_name and/or
 * options.pod_label_selector, forever. */
int kube_client_watch_pods(struct kube_client *c, const struct kube_watch_ops *ops, void *userdata);
enum kube_resize_path kube_client_resize_path(const struct kube_client *c);
bool kube_client_synced(const struct kube_client *c);
/* The pod cache: by uid, and by index for iteration (0..n-1, order unspecified). A pod that
 * this client's own resize or annotation patch returned replaces the cached one at once (with an
 * `updated` callback) and stays until the watch delivers that resourceVersion or a later one, so a
 * decision made in between sees its own last change and sends the current resourceVersion. */
const struct kube_pod *kube_client_pod(const struct kube_client *c, const char *uid);
size_t kube_client_n_pods(const struct kube_client *c);
const struct kube_pod *kube_client_pod_at(const struct kube_client *c, size_t i);

const struct kube_stats *kube_client_stats(const struct kube_client *c);
/* Per (call, HTTP code) counters; *ret points into the client. */
size_t kube_client_http_counts(const struct kube_client *c, const struct kube_http_count **ret);
/* Told of every finished request, before its callback: the call, the HTTP code (0 = no reply), the
 * time from its submission to the end of the reply (CLOCK_MONOTONIC, queueing in the loop included)
 * and the reply's size in bytes. For latency figures (tests/bench/bench_history.c); NULL stops it. */
typedef void (*kube_observer_t)(enum kube_call call, long code, uint64_t usec, size_t bytes,
				void *userdata);
void kube_client_set_observer(struct kube_client *c, kube_observer_t observer, void *userdata);

/* One container's new resources for a resize; RESOURCE_UNSET fields are left out of the patch. */
struct kube_resize_container {
	const char *name;
	struct resources res;
	/* A native sidecar: patched under spec.initContainers (the resize subresource takes them
	 * from 1.33, ValidatePodResize), not spec.containers. */
	bool sidecar;
};

/* Resize through the discovered path. resource_version (may be NULL) makes it conditional (409
 * when stale). The callback always runs later from the event loop, never inside this call. */
int kube_resize(struct kube_client *c, const char *namespace, const char *name,
		const char *resource_version, const struct kube_resize_container *containers,
		size_t n_containers, kube_done_t done, void *userdata);

/* POST pods/NAME/eviction (policy/v1). uid (may be NULL) is sent as a precondition. */
int kube_evict(struct kube_client *c, const char *namespace, const char *name, const char *uid,
	       kube_done_t done, void *userdata);

/* An object another call talks about (Event involvedObject, annotation target, owner lookup). */
struct kube_object_ref {
	const char *api_version; /* NULL: derived from kind */
	const char *kind;	 /* Pod, ReplicaSet, StatefulSet, DaemonSet, Job */
	const char *namespace, *name, *uid;
};

/* POST a core/v1 Event; type "Normal" or "Warning". Rate-limited per (uid or name, reason):
 * a suppressed event completes with KUBE_SUPPRESSED. done may be NULL. */
int kube_event(struct kube_client *c, const struct kube_object_ref *obj, const char *type,
	       const char *reason, const char *message, kube_done_t done, void *userdata);

/* Merge-patch metadata.annotations of a pod or owner: pairs key/value, value NULL deletes. */
int kube_annotate(struct kube_client *c, const struct kube_object_ref *obj, const char *const *kv,
		  size_t n_pairs, kube_done_t done, void *userdata);

/* Merge-patch a pod's metadata.labels and metadata.annotations in one request (pairs key/value,
 * value NULL deletes): the eviction request, whose label and annotation come and go together. */
int kube_patch_pod_metadata(struct kube_client *c, const char *namespace, const char *name,
			    const char *const *labels, size_t n_labels,
			    const char *const *annotations, size_t n_annotations, kube_done_t done,
			    void *userdata);

/* GET a pod or owner object; the result carries the object and its replica count. A pod read this
 * way that is newer than the cached one replaces it (with an `updated` callback) before `done` runs. */
int kube_get(struct kube_client *c, const struct kube_object_ref *obj, kube_done_t done,
	     void *userdata);

/* GET /api/v1/nodes/NAME (call KUBE_CALL_GET); the result's object is the Node, for
 * kube_node_parse(). */
int kube_get_node(struct kube_client *c, const char *name, kube_done_t done, void *userdata);

/* ---- HorizontalPodAutoscalers (hpa.c) ------------------------------------------------------ */

/* A request an HPA divides by: a Resource metric (every container's request of the resource) or a
 * ContainerResource metric (that container's) whose target is a Utilization, not an AverageValue
 * (the controller compares raw usage with an AverageValue: no request is read). */
struct kube_hpa_pin {
	bool cpu;	 /* else memory */
	char *container; /* ContainerResource: the container; NULL: Resource (the whole pod) */
};

/* One autoscaling/v2 HorizontalPodAutoscaler, as far as snug needs it. */
struct kube_hpa {
	char *name;
	char *target_api_version, *target_kind, *target_name; /* spec.scaleTargetRef */
	struct kube_hpa_pin *pins;
	size_t n_pins;
};

/* Parses a HorizontalPodAutoscalerList (autoscaling/v2). A malformed item is skipped, counted in
 * *ret_n_bad and named in errbuf (the last one); a reply that is no such list fails with -EINVAL. */
int kube_hpa_list_parse(const cJSON *list, struct kube_hpa **ret, size_t *ret_n, size_t *ret_n_bad,
			char *errbuf);
void kube_hpa_free_array(struct kube_hpa *hpas, size_t n);
/* Whether h scales the pod's controller owner: the owner itself (same group, kind and name), or
 * the Deployment of a ReplicaSet owner, known by the Deployment controller's naming rule: the
 * ReplicaSet is "<deployment>-<pod-template-hash>" and its pods carry that hash as a label. */
bool kube_hpa_targets_pod(const struct kube_hpa *h, const struct kube_pod *pod);
/* Whether h's utilization reads this container's CPU (cpu) or memory request. */
bool kube_hpa_pins(const struct kube_hpa *h, const char *container, bool cpu);

/* GET /apis/autoscaling/v2/namespaces/NS/horizontalpodautoscalers?resourceVersion=0 (list, from
 * the API server's watch cache; call KUBE_CALL_LIST_HPA); the result's object is the list, for
 * kube_hpa_list_parse(). */
int kube_list_hpas(struct kube_client *c, const char *namespace, kube_done_t done, void *userdata);

/* ---- WorkloadHistory entries (snug.io/v1alpha1, calls.c and history.c) ---------------------- */

#define KUBE_HISTORY_WORKLOAD_LABEL "snug.io/workload"
/* The entries one LIST reads: a workload on more nodes (a DaemonSet) is merged from this many. */
#define KUBE_HISTORY_LIST_LIMIT 100
#define KUBE_HISTORY_NODE_LABEL "snug.io/node"

/* A label value as the API server takes it: 1-63 of [A-Za-z0-9_.-], starting and ending with a
 * letter or digit. */
bool kube_label_value_valid(const char *s);
/* GET .../namespaces/NS/workloadhistories?labelSelector=snug.io/workload=KEY&limit=100 (call
 * KUBE_CALL_LIST_HISTORY); the result's object is the list, for kube_history_list_parse(). The
 * key must be a label value. */
int kube_list_histories(struct kube_client *c, const char *namespace, const char *workload_key,
			kube_done_t done, void *userdata);
/* JSON merge patch of an entry (body: the whole object as the writer wants it; arrays replace);
 * KUBE_NOT_FOUND when it does not exist yet: then kube_create_history() with the same body. */
int kube_patch_history(struct kube_client *c, const char *namespace, const char *name, char *body,
		       kube_done_t done, void *userdata);
int kube_create_history(struct kube_client *c, const char *namespace, char *body, kube_done_t done,
			void *userdata);
int kube_delete_history(struct kube_client *c, const char *namespace, const char *name,
			kube_done_t done, void *userdata);

/* One entry of a list, its strings and containers pointing into the list object. */
struct kube_history_entry {
	const char *name, *node_name;
	const char *workload_kind, *workload_name;
	const cJSON *containers; /* spec.containers: an array of objects with a "name" */
};
/* The entries of a WorkloadHistoryList; a malformed item is skipped and counted in *ret_n_bad
 * (errbuf says the last one's fault). -EINVAL when the list itself is malformed. */
int kube_history_list_parse(const cJSON *list, struct kube_history_entry **ret, size_t *ret_n,
			    size_t *ret_n_bad, char *errbuf);
