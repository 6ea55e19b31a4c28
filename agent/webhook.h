/* The admission webhook of the eviction fallback: AdmissionReview parsing, the owner's
 * snug.io/recommendation annotation (format and parser), and the JSONPatch that gives a recreated
 * pod the recommended resources. Everything here is pure (no I/O) so it can be unit-tested and
 * fuzzed; the HTTPS server is webhook_server.c. */
#pragma once

#include "agent/util/resources.h"
#include "agent/util/qos.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#define WEBHOOK_ANNOTATION "snug.io/recommendation"
#define WEBHOOK_ERRBUF 256
#define WEBHOOK_MAX_BODY (3u * 1024 * 1024) /* the API server caps requests at 3 MiB */

/* ---- AdmissionReview ------------------------------------------------------------------------ */

struct webhook_owner {
	char *api_version, *kind, *name, *uid;
};

/* A parsed admission.k8s.io/v1 AdmissionReview request. */
struct webhook_request {
	char *uid;	 /* request.uid: must be echoed in the response */
	char *operation; /* CREATE, UPDATE, DELETE, CONNECT */
	char *namespace; /* request.namespace (the object's may be empty at CREATE) */
	char *name;	 /* request.name or the object's generateName, for logs; may be NULL */
	bool is_pod;	 /* request.kind is core/v1 Pod and no subresource */
	bool dry_run;
	cJSON *object; /* request.object, owned by root; NULL when absent */
	bool has_owner;
	struct webhook_owner owner; /* metadata.ownerReferences[controller=true] */
	cJSON *root;
};

/* Parses an AdmissionReview. -EINVAL with a message in errbuf (WEBHOOK_ERRBUF bytes, may be NULL)
 * when the envelope is unusable; when only the uid could be read, *ret_uid (may be NULL) gets a
 * copy so the caller can still answer "allowed". */
int webhook_request_parse(const char *buf, size_t len, struct webhook_request **ret, char **ret_uid,
			  char *errbuf);
struct webhook_request *webhook_request_free(struct webhook_request *r);

/* ---- the recommendation annotation ---------------------------------------------------------- */

struct webhook_rec_container {
	char *name;
	/* millicores and bytes, RESOURCE_UNSET when absent */
	int64_t cpu_request, cpu_limit, memory_request, memory_limit;
};

/* snug.io/recommendation on a ReplicaSet/StatefulSet/DaemonSet/Job (written by older agents; read for
 * upgrades), the value of the eviction request snug.io/eviction-requested on a pod, and the form the
 * merged history's recommendation takes inside the webhook:
 * {"at":<unix s>,"node":"...","reason":"...",
 *  "containers":[{"name":"app","requests":{"cpu":"250m","memory":"256Mi"},"limits":{...}}]} */
struct webhook_rec {
	int64_t at;
	char *node, *reason; /* may be NULL */
	struct webhook_rec_container *containers;
	size_t n_containers;
};

int webhook_rec_parse(const char *text, struct webhook_rec **ret, char *errbuf);
struct webhook_rec *webhook_rec_free(struct webhook_rec *r);
/* The annotation text for a recommendation (caller frees). */
int webhook_rec_format(const struct webhook_rec *rec, char **ret);
const struct webhook_rec_container *webhook_rec_container(const struct webhook_rec *r,
							  const char *name);

/* ---- the patch ------------------------------------------------------------------------------ */

/* Cluster-wide caps from the flags; RESOURCE_UNSET = none. */
struct webhook_caps {
	int64_t max_cpu, max_memory;
};

/* The QoS class the API server will give this pod spec (kubelet's rules, over all containers). */
int webhook_pod_qos(const cJSON *pod, enum qos_class *ret);

/* The JSONPatch (an array, possibly empty when nothing changes) setting each recommended
 * container's resources in `pod` (a Pod object): requests from the recommendation, capped; a limit
 * the recommendation names is taken as is (the request lowered to it if above), otherwise limits
 * keep their ratio to the requests; no limit stays none; limit == request follows (Guaranteed pods
 * keep requests == limits); BestEffort pods are left alone. -EINVAL on a pod whose containers or
 * resources do not parse, or that the recommendation would turn from Burstable to Guaranteed (the
 * caller admits it unchanged). */
int webhook_compute_patch(const cJSON *pod, const struct webhook_rec *rec,
			  const struct webhook_caps *caps, cJSON **ret_patch, char *errbuf);

/* The AdmissionReview response: allowed, with the patch (base64, JSONPatch) when non-empty.
 * uid may be NULL (a request we could not read: "" is echoed). */
int webhook_response(const char *uid, const cJSON *patch, char **ret);

/* ---- the server (webhook_server.c) ---------------------------------------------------------- */

enum webhook_result {
	WEBHOOK_RESULT_PATCHED,	    /* admitted with new resources */
	WEBHOOK_RESULT_UNCHANGED,   /* recommendation found, nothing to change */
	WEBHOOK_RESULT_SKIPPED,	    /* not a pod CREATE, no controller, no recommendation */
	WEBHOOK_RESULT_FAILED_OPEN, /* an error: admitted unchanged */
	_WEBHOOK_RESULT_MAX,
};
const char *webhook_result_to_string(enum webhook_result r);

/* The controller's evictions (webhook_evictor.c). */
struct webhook_eviction_stats {
	uint64_t evicted;      /* 201: the pod is terminating */
	uint64_t gone;	       /* 404 (another replica evicted it) or 409 (a namesake): done */
	uint64_t blocked;      /* 429 (a PDB said not now, or throttling), retried (each one) */
	uint64_t errors;       /* other failures, retried (each attempt) */
	uint64_t failed;       /* given up after max_attempts */
	uint64_t stale;	       /* the request was withdrawn or the pod went before the eviction */
	uint64_t refused_bare; /* a pod without a controller: it would not come back */
	uint64_t requests;     /* gauge: pods asking now */
};

struct webhook_stats {
	uint64_t requests[_WEBHOOK_RESULT_MAX];
	uint64_t bad_requests; /* not an AdmissionReview at all (also counted failed-open) */
	uint64_t owner_errors; /* the owner lookup failed */
	uint64_t bad_annotations;
	uint64_t tls_reloads, tls_reload_errors;
	struct webhook_eviction_stats evictions; /* filled in for /metrics from the controller */
};

/* What one review came to, offline: the request and the owner's annotation (NULL = none) →
 * response. Used by the server after the owner lookup, by the unit tests and the fuzzer. */
enum webhook_result webhook_decide(const struct webhook_request *req, const char *annotation,
				   const struct webhook_caps *caps, cJSON **ret_patch,
				   char *errbuf);
