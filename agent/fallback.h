/* The eviction fallback engine: for a pod that cannot be resized in place, record the
 * recommendation on its controller (snug.io/recommendation) and evict it through the Eviction API,
 * PDB-aware (429 = retry with backoff), rate-limited per node, never a bare or single-replica pod
 * unless it opted in. The webhook then gives the replacement pod the recorded resources. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <systemd/sd-event.h>

#include "agent/kube/kube.h"

#define FALLBACK_ALLOW_SINGLE_ANNOTATION "snug.io/allow-single-replica-eviction"

struct fallback;

struct fallback_config {
	const char *node_name;	   /* recorded in the annotation ("node") and logs; required */
	unsigned max_evictions;	   /* per interval on this node (default 1) */
	uint64_t interval_usec;	   /* the rate-limit window (default 5 min) */
	uint64_t backoff_min_usec; /* first retry after a 429 or an error (default 10 s) */
	uint64_t backoff_max_usec; /* doubling stops here (default 5 min) */
	unsigned max_attempts;	   /* errors other than 429 before giving up (default 5) */
	bool dry_run; /* read (GET owner) but write nothing: no annotation, eviction, Event */
};

/* One container's target: millicores and bytes, RESOURCE_UNSET (-1) = not set / leave as is. */
struct fallback_container_rec {
	const char *name;
	struct resources res;
};

/* Counters for metrics; read any time. */
struct fallback_stats {
	uint64_t submitted;	  /* accepted by fallback_submit (new pods) */
	uint64_t updated;	  /* submit for a pod already queued: recommendation replaced */
	uint64_t refused_bare;	  /* no controller owner */
	uint64_t refused_single;  /* single replica (or DaemonSet) without the opt-in annotation */
	uint64_t refused_kind;	  /* an owner kind we do not know how to annotate */
	uint64_t annotated;	  /* recommendation written on the owner */
	uint64_t annotate_errors; /* that write failed (retried) */
	uint64_t evicted;	  /* eviction granted (201) */
	uint64_t gone;		  /* 404: the pod was already gone (done) */
	uint64_t blocked;	  /* 429/500 from PDBs: retried later (each one counted) */
	uint64_t errors;	  /* other eviction errors (each attempt) */
	uint64_t failed;	  /* gave up after max_attempts (or the owner is gone) */
	uint64_t rate_limited;	  /* times an eviction waited for the per-node budget */
	uint64_t dry_run;	  /* evictions skipped by dry_run */
	uint64_t queued;	  /* gauge: pods in the queue now */
};

/* The calls the engine makes; fallback_new() uses the kube client's. Tests substitute their own.
 * Each must complete later from the event loop (never inside the call), exactly once. */
struct fallback_ops {
	int (*get)(void *ctx, const struct kube_object_ref *obj, kube_done_t done, void *userdata);
	int (*annotate)(void *ctx, const struct kube_object_ref *obj, const char *const *kv,
			size_t n_pairs, kube_done_t done, void *userdata);
	int (*evict)(void *ctx, const char *namespace, const char *name, const char *uid,
		     kube_done_t done, void *userdata);
	/* May be NULL (no Events); done may be NULL. */
	int (*event)(void *ctx, const struct kube_object_ref *obj, const char *type,
		     const char *reason, const char *message, kube_done_t done, void *userdata);
};

/* The config is copied. kube must outlive the engine, or be freed first (then no callback runs). */
int fallback_new(sd_event *event, struct kube_client *kube, const struct fallback_config *cfg,
		 struct fallback **ret);
int fallback_new_with_ops(sd_event *event, const struct fallback_ops *ops, void *ops_ctx,
			  const struct fallback_config *cfg, struct fallback **ret);
/* Frees everything. Requests in flight keep a small record that their callback frees later; free
 * the kube client first (or exit) so no callback comes after. */
struct fallback *fallback_free(struct fallback *fb);

/* Queues pod for annotate + evict. recs: the containers to record (others are left out of the
 * annotation, so the webhook leaves them unchanged). allow_single_replica: the pod's
 * snug.io/allow-single-replica-eviction is "true" (the caller read it; the pod's annotation is
 * also honoured here). reason: why (for the annotation, Events and logs; may be NULL).
 * Returns 0 when queued, 1 when the pod was already queued (its recommendation and reason are
 * replaced, not queued twice), -EPERM for a bare pod (no controller) or an owner kind other than
 * ReplicaSet/StatefulSet/DaemonSet/Job (ret_why, if not NULL, points to a static reason), -EINVAL
 * on bad arguments (no containers, missing names), -ESTALE for a pod already terminating.
 * Single-replica workloads are refused later (after the owner GET) with an Event and
 * stats.refused_single: a DaemonSet pod counts as single-replica, since its node has no other. */
int fallback_submit(struct fallback *fb, const struct kube_pod *pod,
		    const struct fallback_container_rec *recs, size_t n, bool allow_single_replica,
		    const char *reason, const char **ret_why);
/* Drops a pod (deleted, or its mode changed); a request in flight is ignored when it returns. */
void fallback_forget(struct fallback *fb, const char *pod_uid);
/* Whether the pod is queued or being worked on. */
bool fallback_pending(const struct fallback *fb, const char *pod_uid);
const struct fallback_stats *fallback_stats(const struct fallback *fb);
/* The accuracy (us) of the timer that starts each step. For tests: a pod's first step is due at
 * once and must not get sd-event's 250 ms slack. */
int fallback_timer_accuracy(const struct fallback *fb, uint64_t *ret);
