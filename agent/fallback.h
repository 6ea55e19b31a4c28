/* The eviction fallback engine, the node's side: for a pod that cannot be resized in place, write
 * this node's history entry of its workload and ask for the eviction with a label and an annotation
 * on the pod (its own node's: the policy allows exactly these), rate-limited per node, never a bare
 * or single-replica pod unless it opted in. The node agent asks, the cluster component evicts: the
 * webhook's controller (webhook_evictor.c) evicts PDB-aware, and the webhook gives the replacement
 * the workload's merged recommendation. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <systemd/sd-event.h>

#include "agent/kube/kube.h"

#define FALLBACK_ALLOW_SINGLE_ANNOTATION "snug.io/allow-single-replica-eviction"
/* The request: a label (selectable: the controller's watch) and an annotation, whose value is the
 * snug.io/recommendation format: {"at":<unix s>,"node":"...","reason":"...","containers":[...]}. */
#define FALLBACK_REQUEST_LABEL "snug.io/eviction-requested"
#define FALLBACK_REQUEST_ANNOTATION "snug.io/eviction-requested"

/* The end of a history write the engine waited for: result < 0 when it failed. */
typedef void (*fallback_flush_done_t)(int result, void *userdata);

struct fallback;

struct fallback_config {
	const char *node_name;	   /* recorded in the annotation ("node") and logs; required */
	unsigned max_evictions;	   /* per interval on this node (default 1) */
	uint64_t interval_usec;	   /* the rate-limit window (default 5 min) */
	uint64_t backoff_min_usec; /* first retry after a 429 or an error (default 10 s) */
	uint64_t backoff_max_usec; /* doubling stops here (default 5 min) */
	unsigned max_attempts;	   /* errors other than 429 before giving up (default 5) */
	bool dry_run; /* read (GET owner) but write nothing: no history, request, Event */
	/* Writes this node's history entry of the pod's workload now; NULL = nothing to write.
	 * Returns 1 when started (done runs later, once), 0 when there is nothing to write,
	 * -EOPNOTSUPP when history sharing is off (the pod is then refused: its replacement would
	 * not get the recommendation), another -errno when it cannot start (the request goes on). */
	int (*flush_history)(void *ctx, const char *pod_uid, fallback_flush_done_t done,
			     void *userdata);
	void *flush_ctx;
};

/* One container's target: millicores and bytes, RESOURCE_UNSET (-1) = not set / leave as is. */
struct fallback_container_rec {
	const char *name;
	struct resources res;
};

/* Counters for metrics; read any time. */
struct fallback_stats {
	uint64_t submitted;	 /* accepted by fallback_submit (new pods) */
	uint64_t updated;	 /* submit for a pod already queued: recommendation replaced */
	uint64_t refused_bare;	 /* no controller owner */
	uint64_t refused_single; /* single replica (or DaemonSet) without the opt-in annotation */
	uint64_t refused_kind;	 /* an owner kind the webhook does not know */
	uint64_t refused_no_history; /* history sharing off: the replacement would not get it */
	uint64_t flushed;	     /* this node's history entry written before a request */
	uint64_t flush_errors;	     /* that write failed (the request went on) */
	uint64_t requested;	     /* eviction request written on the pod */
	uint64_t gone;		     /* 404: the pod was already gone (done) */
	uint64_t errors;	     /* request writes that failed (each attempt) */
	uint64_t failed;	     /* gave up after max_attempts (or the owner is gone) */
	uint64_t rate_limited;	     /* times a request waited for the per-node budget */
	uint64_t dry_run;	     /* requests skipped by dry_run */
	uint64_t withdrawn;	     /* requests removed again (the pod left mode auto) */
	uint64_t queued;	     /* gauge: pods in the queue now (asked or not yet) */
};

/* The calls the engine makes; fallback_new() uses the kube client's. Tests substitute their own.
 * Each must complete later from the event loop (never inside the call), exactly once. */
struct fallback_ops {
	int (*get)(void *ctx, const struct kube_object_ref *obj, kube_done_t done, void *userdata);
	/* kube_patch_pod_metadata() */
	int (*patch_pod)(void *ctx, const char *namespace, const char *name,
			 const char *const *labels, size_t n_labels, const char *const *annotations,
			 size_t n_annotations, kube_done_t done, void *userdata);
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

/* Queues pod for an eviction request. recs: what this node recommends for its containers (told in
 * the request annotation and Events; the replacement gets the workload's merged history). allow_single_replica: the pod's
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
/* Drops a pod (deleted); a call in flight is ignored when it returns. */
void fallback_forget(struct fallback *fb, const char *pod_uid);
/* Every update of a watched pod: one that carries the eviction request but no longer wants it (its
 * mode is not auto any more) has the label and annotation removed, so snug-webhook does not evict it
 * (Event SnugEvictionWithdrawn). */
void fallback_pod_changed(struct fallback *fb, const struct kube_pod *pod, bool wants_eviction);
/* Whether the pod is queued, being worked on, or asked for (until fallback_forget). */
bool fallback_pending(const struct fallback *fb, const char *pod_uid);
/* Whether the eviction request is written on the pod (the engine's part is done). */
bool fallback_requested(const struct fallback *fb, const char *pod_uid);
const struct fallback_stats *fallback_stats(const struct fallback *fb);
/* The accuracy (us) of the timer that starts each step. For tests: a pod's first step is due at
 * once and must not get sd-event's 250 ms slack. */
int fallback_timer_accuracy(const struct fallback *fb, uint64_t *ret);
