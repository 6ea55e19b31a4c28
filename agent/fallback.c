/* The eviction fallback engine, the node's side: a queue of pods, each going GET owner (replica
 * count) → write this node's history entry of the workload → ask for the eviction (label and
 * annotation on the pod), one sd-event timer for retries and the per-node eviction budget. The
 * webhook's controller evicts (webhook_evictor.c). All calls are asynchronous. */
#include "agent/fallback.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent/util/backoff.h"
#include "agent/util/cleanup.h"
#include "agent/util/log.h"
#include "agent/util/quantity.h"
#include "agent/util/time.h"
#include "agent/webhook.h"

enum step {
	STEP_GET,     /* read the owner: does it exist, how many replicas */
	STEP_FLUSH,   /* write this node's history entry of the workload (the webhook merges it) */
	STEP_REQUEST, /* label and annotate the pod: the webhook's controller evicts it */
	STEP_REQUESTED, /* asked: nothing more until the pod goes */
};

struct entry {
	struct fallback *fb; /* NULL once the engine is gone (a callback then only frees) */
	char *uid, *namespace, *name;
	char *owner_api_version, *owner_kind, *owner_name, *owner_uid;
	struct webhook_rec rec; /* what goes in the request annotation (rec.at set when written) */
	bool allow_single;
	enum step step;
	uint64_t due_usec; /* CLOCK_MONOTONIC */
	bool in_flight, cancelled, waiting_for_budget;
	int slot; /* index in fb->window of the eviction budget taken, -1 = none */
	unsigned attempts, blocked;
	struct entry *next;
};

struct budget_slot {
	bool used;
	uint64_t at_usec;
};

struct fallback {
	sd_event *event;
	struct fallback_ops ops;
	void *ops_ctx;
	char *node_name;
	struct fallback_config cfg;
	sd_event_source *timer;
	struct entry *head, **tail;
	struct budget_slot *window; /* cfg.max_evictions slots */
	/* Exponential, capped, with equal jitter, so agents on many nodes blocked by the same PDB do
	 * not retry in step. */
	struct backoff backoff;
	struct fallback_stats stats;
};

/* ---- the kube client as ops ----------------------------------------------------------------- */

static int kube_ops_get(void *ctx, const struct kube_object_ref *obj, kube_done_t done, void *ud)
{
	return kube_get(ctx, obj, done, ud);
}
static int kube_ops_patch_pod(void *ctx, const char *ns, const char *name,
			      const char *const *labels, size_t n_labels,
			      const char *const *annotations, size_t n_annotations,
			      kube_done_t done, void *ud)
{
	return kube_patch_pod_metadata(ctx, ns, name, labels, n_labels, annotations, n_annotations,
				       done, ud);
}
static int kube_ops_event(void *ctx, const struct kube_object_ref *obj, const char *type,
			  const char *reason, const char *message, kube_done_t done, void *ud)
{
	return kube_event(ctx, obj, type, reason, message, done, ud);
}
static const struct fallback_ops kube_ops = {
	.get = kube_ops_get,
	.patch_pod = kube_ops_patch_pod,
	.event = kube_ops_event,
};

/* ---- entries -------------------------------------------------------------------------------- */

static void rec_clear(struct webhook_rec *rec)
{
	for (size_t i = 0; i < rec->n_containers; i++)
		free(rec->containers[i].name);
	free(rec->containers);
	free(rec->reason);
	rec->containers = NULL;
	rec->n_containers = 0;
	rec->reason = NULL;
}

static void entry_free(struct entry *e)
{
	if (!e)
		return;
	free(e->uid);
	free(e->namespace);
	free(e->name);
	free(e->owner_api_version);
	free(e->owner_kind);
	free(e->owner_name);
	free(e->owner_uid);
	rec_clear(&e->rec);
	free(e->rec.node);
	free(e);
}

static int rec_set(struct webhook_rec *rec, const struct fallback_container_rec *recs, size_t n,
		   const char *reason)
{
	struct webhook_rec r = { 0 };

	r.containers = calloc(n, sizeof(*r.containers));
	if (!r.containers)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		struct webhook_rec_container *c = &r.containers[i];
		c->name = strdup(recs[i].name);
		if (!c->name) {
			rec_clear(&r);
			return -ENOMEM;
		}
		r.n_containers++;
		c->cpu_request = recs[i].res.cpu_request;
		c->cpu_limit = recs[i].res.cpu_limit;
		c->memory_request = recs[i].res.memory_request;
		c->memory_limit = recs[i].res.memory_limit;
	}
	if (reason && !(r.reason = strdup(reason))) {
		rec_clear(&r);
		return -ENOMEM;
	}
	rec_clear(rec);
	rec->containers = r.containers;
	rec->n_containers = r.n_containers;
	rec->reason = r.reason;
	return 0;
}

static struct entry *find(const struct fallback *fb, const char *uid)
{
	for (struct entry *e = fb->head; e; e = e->next)
		if (strcmp(e->uid, uid) == 0)
			return e;
	return NULL;
}

static void unlink_entry(struct fallback *fb, struct entry *e)
{
	for (struct entry **p = &fb->head; *p; p = &(*p)->next)
		if (*p == e) {
			*p = e->next;
			if (fb->tail == &e->next)
				fb->tail = p;
			e->next = NULL;
			fb->stats.queued--;
			return;
		}
}

/* ---- budget, backoff, timer ----------------------------------------------------------------- */

static int budget_take(struct fallback *fb, uint64_t now)
{
	for (unsigned i = 0; i < fb->cfg.max_evictions; i++) {
		struct budget_slot *s = &fb->window[i];
		if (!s->used || s->at_usec + fb->cfg.interval_usec <= now) {
			s->used = true;
			s->at_usec = now;
			return (int)i;
		}
	}
	return -1;
}

/* An eviction that did not happen gives its budget back. */
static void budget_release(struct fallback *fb, struct entry *e)
{
	if (e->slot >= 0 && fb)
		fb->window[e->slot].used = false;
	e->slot = -1;
}

static uint64_t budget_next_free(const struct fallback *fb)
{
	uint64_t t = UINT64_MAX;
	for (unsigned i = 0; i < fb->cfg.max_evictions; i++) {
		const struct budget_slot *s = &fb->window[i];
		if (!s->used)
			return 0;
		if (s->at_usec + fb->cfg.interval_usec < t)
			t = s->at_usec + fb->cfg.interval_usec;
	}
	return t;
}

static uint64_t now_mono(struct fallback *fb)
{
	uint64_t t;
	if (sd_event_now(fb->event, CLOCK_MONOTONIC, &t) < 0)
		t = now_usec(CLOCK_MONOTONIC);
	return t;
}

static void schedule(struct fallback *fb)
{
	uint64_t next = UINT64_MAX, now = now_mono(fb);

	for (struct entry *e = fb->head; e; e = e->next) {
		uint64_t t = e->due_usec;
		if (e->in_flight)
			continue;
		if (e->step == STEP_REQUESTED)
			continue;
		if (e->step == STEP_REQUEST && e->waiting_for_budget && !fb->cfg.dry_run) {
			uint64_t b = budget_next_free(fb);
			if (b > t)
				t = b;
		}
		if (t < next)
			next = t;
	}
	if (next == UINT64_MAX) {
		sd_event_source_set_enabled(fb->timer, SD_EVENT_OFF);
		return;
	}
	if (next < now)
		next = now;
	sd_event_source_set_time(fb->timer, next);
	sd_event_source_set_enabled(fb->timer, SD_EVENT_ONESHOT);
}

/* ---- events and logs ------------------------------------------------------------------------ */

static void pod_ref(const struct entry *e, struct kube_object_ref *ref)
{
	*ref = (struct kube_object_ref){
		.api_version = "v1",
		.kind = "Pod",
		.namespace = e->namespace,
		.name = e->name,
		.uid = e->uid,
	};
}

static void emit(struct fallback *fb, const struct kube_object_ref *ref, const char *type,
		 const char *reason, const char *fmt, ...) __attribute__((format(printf, 5, 6)));
static void emit(struct fallback *fb, const struct kube_object_ref *ref, const char *type,
		 const char *reason, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	log_full_errno(strcmp(type, "Warning") == 0 ? LOG_WARNING : LOG_INFO, 0, "%s %s/%s: %s: %s",
		       ref->kind, ref->namespace, ref->name, reason, msg);
	if (fb->cfg.dry_run || !fb->ops.event)
		return;
	(void)fb->ops.event(fb->ops_ctx, ref, type, reason, msg, NULL, NULL);
}

/* "app cpu 300m memory 200Mi" for Events and logs. */
static void describe(const struct entry *e, char *buf, size_t size)
{
	size_t off = 0;

	buf[0] = 0;
	for (size_t i = 0; i < e->rec.n_containers && off < size; i++) {
		const struct webhook_rec_container *c = &e->rec.containers[i];
		char cpu[32] = "-", mem[32] = "-";
		int n;

		if (c->cpu_request != RESOURCE_UNSET)
			(void)quantity_format_cpu(c->cpu_request, cpu, sizeof(cpu));
		if (c->memory_request != RESOURCE_UNSET)
			(void)quantity_format_bytes(c->memory_request, mem, sizeof(mem));
		n = snprintf(buf + off, size - off, "%s%s cpu=%s memory=%s", i ? ", " : "", c->name,
			     cpu, mem);
		if (n < 0)
			break;
		off += (size_t)n;
	}
}

/* ---- the steps ------------------------------------------------------------------------------ */

static void finish(struct fallback *fb, struct entry *e)
{
	unlink_entry(fb, e);
	entry_free(e);
}

/* An error other than a PDB block: retry later, or give up after max_attempts. */
static void attempt_failed(struct fallback *fb, struct entry *e, const char *what,
			   const struct kube_result *r)
{
	struct kube_object_ref ref;

	e->attempts++;
	pod_ref(e, &ref);
	if (e->attempts >= fb->cfg.max_attempts) {
		fb->stats.failed++;
		emit(fb, &ref, "Warning", "SnugEvictionFailed",
		     "gave up after %u attempts: %s: %s%s%s", e->attempts, what,
		     kube_outcome_to_string(r->outcome), r->message ? ": " : "",
		     r->message ? r->message : "");
		finish(fb, e);
		return;
	}
	log_warning("fallback: pod %s/%s: %s failed (%s%s%s), attempt %u of %u", e->namespace,
		    e->name, what, kube_outcome_to_string(r->outcome), r->message ? ": " : "",
		    r->message ? r->message : "", e->attempts, fb->cfg.max_attempts);
	e->due_usec = now_mono(fb) + backoff_jittered(&fb->backoff, e->attempts);
}

/* Common callback prologue: the entry may have been forgotten or the engine freed meanwhile. */
static struct fallback *callback_enter(struct entry *e)
{
	struct fallback *fb = e->fb;

	e->in_flight = false;
	if (!fb || e->cancelled) {
		budget_release(fb, e);
		entry_free(e);
		return NULL;
	}
	return fb;
}

static void on_request(const struct kube_result *r, void *userdata)
{
	struct entry *e = userdata;
	struct fallback *fb = e->fb;
	struct kube_object_ref ref;
	char what[384];

	if (r->outcome == KUBE_OK)
		e->slot = -1; /* the budget stays spent: the webhook's controller evicts now */
	if (!(fb = callback_enter(e)))
		return;
	pod_ref(e, &ref);
	switch (r->outcome) {
	case KUBE_OK:
		fb->stats.requested++;
		e->step = STEP_REQUESTED;
		describe(e, what, sizeof(what));
		emit(fb, &ref, "Normal", "SnugEvictionRequested",
		     "asked snug-webhook to evict this pod (" FALLBACK_REQUEST_LABEL
		     "); its replacement gets the workload's merged recommendation, here %s (%s)",
		     what, e->rec.reason ? e->rec.reason : "in-place resize unavailable");
		break;
	case KUBE_NOT_FOUND:
		budget_release(fb, e);
		fb->stats.gone++;
		log_info("fallback: pod %s/%s already gone", e->namespace, e->name);
		finish(fb, e);
		break;
	default:
		budget_release(fb, e);
		fb->stats.errors++;
		attempt_failed(fb, e, "the eviction request", r);
		break;
	}
	schedule(fb);
}

/* The request: the label the webhook's controller selects on and the annotation saying when, from
 * which node, why and what the node recommended (the format of snug.io/recommendation). */
static void start_request(struct fallback *fb, struct entry *e)
{
	_cleanup_free_ char *text = NULL;
	const char *labels[2] = { FALLBACK_REQUEST_LABEL, "true" };
	const char *annotations[2] = { FALLBACK_REQUEST_ANNOTATION, NULL };
	int r;

	e->rec.at = (int64_t)(now_usec(CLOCK_REALTIME) / USEC_PER_SEC);
	r = webhook_rec_format(&e->rec, &text);
	if (r >= 0) {
		annotations[1] = text;
		r = fb->ops.patch_pod(fb->ops_ctx, e->namespace, e->name, labels, 1, annotations, 1,
				      on_request, e);
	}
	if (r < 0) {
		struct kube_result res = { .outcome = KUBE_TRANSIENT, .error = r, .replicas = -1 };
		budget_release(fb, e);
		fb->stats.errors++;
		attempt_failed(fb, e, "the eviction request", &res);
		return;
	}
	e->in_flight = true;
}

/* This node's history entry of the workload was written (or could not be): ask now. A failed write
 * does not hold the request back: the entry of the last interval is in the API already. */
static void on_flushed(int result, void *userdata)
{
	struct entry *e = userdata;
	struct fallback *fb = callback_enter(e);

	if (!fb)
		return;
	if (result < 0) {
		fb->stats.flush_errors++;
		log_warning(
			"fallback: pod %s/%s: this node's history entry not written (%s), asking "
			"for the eviction anyway",
			e->namespace, e->name, strerror(-result));
	} else
		fb->stats.flushed++;
	e->step = STEP_REQUEST;
	e->due_usec = now_mono(fb);
	schedule(fb);
}

/* True when the request can go now; false while the write is in flight or when the entry is gone
 * (freed: the caller must not touch it). */
static bool start_flush(struct fallback *fb, struct entry *e)
{
	struct kube_object_ref ref;
	int r = 0;

	if (fb->cfg.flush_history)
		r = fb->cfg.flush_history(fb->cfg.flush_ctx, e->uid, on_flushed, e);
	if (r == -EOPNOTSUPP) {
		/* No shared history: the replacement would come back with its template's
		 * resources, a disruption for nothing. */
		fb->stats.refused_no_history++;
		pod_ref(e, &ref);
		emit(fb, &ref, "Warning", "SnugEvictionRefused",
		     "not evicted: the shared workload history is off (--history-interval 0), so "
		     "the replacement would not get the recommendation");
		finish(fb, e);
		return false;
	}
	if (r > 0) {
		e->in_flight = true;
		return false;
	}
	if (r < 0) {
		fb->stats.flush_errors++;
		log_warning("fallback: pod %s/%s: this node's history entry not written (%s), "
			    "asking for the eviction anyway",
			    e->namespace, e->name, strerror(-r));
	}
	e->step = STEP_REQUEST;
	e->due_usec = now_mono(fb);
	return true;
}

static void on_get(const struct kube_result *r, void *userdata)
{
	struct entry *e = userdata;
	struct fallback *fb = callback_enter(e);
	struct kube_object_ref ref;
	const cJSON *uid;
	bool single;

	if (!fb)
		return;
	pod_ref(e, &ref);
	if (r->outcome == KUBE_NOT_FOUND) {
		fb->stats.failed++;
		emit(fb, &ref, "Warning", "SnugEvictionFailed", "%s %s is gone", e->owner_kind,
		     e->owner_name);
		finish(fb, e);
		goto out;
	}
	if (r->outcome != KUBE_OK || !r->object) {
		attempt_failed(fb, e, "reading the owner", r);
		goto out;
	}
	uid = cJSON_GetObjectItemCaseSensitive(
		cJSON_GetObjectItemCaseSensitive(r->object, "metadata"), "uid");
	if (e->owner_uid && cJSON_IsString(uid) && strcmp(uid->valuestring, e->owner_uid) != 0) {
		fb->stats.failed++;
		emit(fb, &ref, "Warning", "SnugEvictionFailed",
		     "%s %s was replaced by another object of that name", e->owner_kind,
		     e->owner_name);
		finish(fb, e);
		goto out;
	}
	/* A DaemonSet runs one pod per node: evicting it leaves this node without one until the
	 * replacement starts, like a single-replica workload. Unknown counts are treated alike. */
	single = strcmp(e->owner_kind, "DaemonSet") == 0 || r->replicas <= 1;
	if (single && !e->allow_single) {
		fb->stats.refused_single++;
		emit(fb, &ref, "Warning", "SnugEvictionRefused",
		     "%s %s has %s; not evicted without " FALLBACK_ALLOW_SINGLE_ANNOTATION
		     "=\"true\"",
		     e->owner_kind, e->owner_name,
		     strcmp(e->owner_kind, "DaemonSet") == 0 ? "one pod per node"
							     : "a single replica");
		finish(fb, e);
		goto out;
	}
	e->step = STEP_FLUSH;
	e->attempts = 0;
	e->due_usec = now_mono(fb);
out:
	schedule(fb);
}

static void start_get(struct fallback *fb, struct entry *e)
{
	const struct kube_object_ref ref = {
		.api_version = e->owner_api_version,
		.kind = e->owner_kind,
		.namespace = e->namespace,
		.name = e->owner_name,
		.uid = e->owner_uid,
	};
	int r;

	r = fb->ops.get(fb->ops_ctx, &ref, on_get, e);
	if (r < 0) {
		struct kube_result res = { .outcome = KUBE_TRANSIENT, .error = r, .replicas = -1 };
		attempt_failed(fb, e, "reading the owner", &res);
		return;
	}
	e->in_flight = true;
}

static int on_timer(sd_event_source *s, uint64_t usec, void *userdata)
{
	struct fallback *fb = userdata;
	uint64_t now = now_mono(fb);
	struct entry *e, *next;

	for (e = fb->head; e; e = next) {
		next = e->next;
		if (e->in_flight || e->due_usec > now)
			continue;
		if (e->step == STEP_REQUESTED)
			continue;
		if (e->step == STEP_GET) {
			start_get(fb, e);
			continue;
		}
		if (e->step == STEP_FLUSH && !fb->cfg.dry_run && !start_flush(fb, e))
			continue;
		if (e->step != STEP_REQUEST && !fb->cfg.dry_run)
			continue;
		if (fb->cfg.dry_run) {
			char what[384];
			describe(e, what, sizeof(what));
			fb->stats.dry_run++;
			log_info("fallback: dry run: would ask for the eviction of pod %s/%s (%s)",
				 e->namespace, e->name, what);
			finish(fb, e);
			continue;
		}
		e->slot = budget_take(fb, now);
		if (e->slot < 0) {
			if (!e->waiting_for_budget) {
				fb->stats.rate_limited++;
				log_info("fallback: pod %s/%s waits: %u eviction(s) per %" PRIu64
					 " s on this node already used",
					 e->namespace, e->name, fb->cfg.max_evictions,
					 (uint64_t)(fb->cfg.interval_usec / USEC_PER_SEC));
			}
			e->waiting_for_budget = true;
			continue;
		}
		e->waiting_for_budget = false;
		start_request(fb, e);
	}
	schedule(fb);
	return 0;
}

/* ---- public --------------------------------------------------------------------------------- */

int fallback_new_with_ops(sd_event *event, const struct fallback_ops *ops, void *ops_ctx,
			  const struct fallback_config *cfg, struct fallback **ret)
{
	struct fallback *fb;
	int r;

	if (!event || !ops || !ops->get || !ops->patch_pod || !cfg || !cfg->node_name)
		return -EINVAL;
	fb = calloc(1, sizeof(*fb));
	if (!fb)
		return -ENOMEM;
	fb->event = sd_event_ref(event);
	fb->ops = *ops;
	fb->ops_ctx = ops_ctx;
	fb->cfg = *cfg;
	fb->cfg.max_evictions = cfg->max_evictions ?: 1;
	fb->cfg.interval_usec = cfg->interval_usec ?: 300 * USEC_PER_SEC;
	fb->cfg.backoff_min_usec = cfg->backoff_min_usec ?: 10 * USEC_PER_SEC;
	fb->cfg.backoff_max_usec = cfg->backoff_max_usec ?: 300 * USEC_PER_SEC;
	fb->cfg.max_attempts = cfg->max_attempts ?: 5;
	fb->tail = &fb->head;
	backoff_init(&fb->backoff, fb->cfg.backoff_min_usec, fb->cfg.backoff_max_usec,
		     now_nsec(CLOCK_MONOTONIC) ^ (uintptr_t)fb);
	fb->node_name = strdup(cfg->node_name);
	fb->cfg.node_name = fb->node_name;
	fb->window = calloc(fb->cfg.max_evictions, sizeof(*fb->window));
	r = -ENOMEM;
	if (!fb->node_name || !fb->window)
		goto fail;
	/* Accuracy 1 ms, not sd-event's default (0 = 250 ms): a submitted pod's first step is due at
	 * once (an OOM kill in mode auto waits for it); the later steps are minutes apart, and a
	 * one-shot timer wakes once whatever its slack. */
	r = sd_event_add_time(event, &fb->timer, CLOCK_MONOTONIC, 0, USEC_PER_MSEC, on_timer, fb);
	if (r < 0)
		goto fail;
	sd_event_source_set_enabled(fb->timer, SD_EVENT_OFF);
	*ret = fb;
	return 0;
fail:
	fallback_free(fb);
	return r;
}

int fallback_new(sd_event *event, struct kube_client *kube, const struct fallback_config *cfg,
		 struct fallback **ret)
{
	if (!kube)
		return -EINVAL;
	return fallback_new_with_ops(event, &kube_ops, kube, cfg, ret);
}

int fallback_timer_accuracy(const struct fallback *fb, uint64_t *ret)
{
	return sd_event_source_get_time_accuracy(fb->timer, ret);
}

struct fallback *fallback_free(struct fallback *fb)
{
	struct entry *e, *next;

	if (!fb)
		return NULL;
	for (e = fb->head; e; e = next) {
		next = e->next;
		if (e->in_flight) {
			e->fb = NULL; /* its callback frees it */
			e->slot = -1;
		} else
			entry_free(e);
	}
	sd_event_source_disable_unref(fb->timer);
	sd_event_unref(fb->event);
	free(fb->window);
	free(fb->node_name);
	free(fb);
	return NULL;
}

static bool owner_kind_supported(const char *kind)
{
	return strcmp(kind, "ReplicaSet") == 0 || strcmp(kind, "StatefulSet") == 0 ||
	       strcmp(kind, "DaemonSet") == 0 || strcmp(kind, "Job") == 0;
}

int fallback_submit(struct fallback *fb, const struct kube_pod *pod,
		    const struct fallback_container_rec *recs, size_t n, bool allow_single_replica,
		    const char *reason, const char **ret_why)
{
	struct entry *e;
	const char *a;
	int r;

	if (!fb || !pod || !pod->uid || !pod->namespace || !pod->name || !recs || n == 0)
		return -EINVAL;
	for (size_t i = 0; i < n; i++)
		if (!recs[i].name || !*recs[i].name)
			return -EINVAL;
	if (pod->deleting) {
		if (ret_why)
			*ret_why = "the pod is already terminating";
		return -ESTALE;
	}
	if (!pod->has_owner || !pod->owner.kind || !pod->owner.name) {
		fb->stats.refused_bare++;
		if (ret_why)
			*ret_why = "the pod has no controller: a bare pod would not come back";
		return -EPERM;
	}
	if (!owner_kind_supported(pod->owner.kind)) {
		fb->stats.refused_kind++;
		if (ret_why)
			*ret_why =
				"the pod's controller is not a ReplicaSet, StatefulSet, DaemonSet "
				"or Job";
		return -EPERM;
	}
	a = kube_pod_annotation(pod, FALLBACK_ALLOW_SINGLE_ANNOTATION);
	if (a && strcmp(a, "true") == 0)
		allow_single_replica = true;

	e = find(fb, pod->uid);
	if (e) {
		/* Already on its way: the newest recommendation is the one to tell (an eviction
		 * already asked for stays asked for). */
		r = rec_set(&e->rec, recs, n, reason);
		if (r < 0)
			return r;
		e->allow_single = allow_single_replica;
		fb->stats.updated++;
		return 1;
	}
	e = calloc(1, sizeof(*e));
	if (!e)
		return -ENOMEM;
	e->fb = fb;
	e->slot = -1;
	e->allow_single = allow_single_replica;
	e->step = STEP_GET;
	e->due_usec = now_mono(fb);
	r = -ENOMEM;
	if (!(e->uid = strdup(pod->uid)) || !(e->namespace = strdup(pod->namespace)) ||
	    !(e->name = strdup(pod->name)) || !(e->owner_kind = strdup(pod->owner.kind)) ||
	    !(e->owner_name = strdup(pod->owner.name)) ||
	    (pod->owner.api_version && !(e->owner_api_version = strdup(pod->owner.api_version))) ||
	    (pod->owner.uid && !(e->owner_uid = strdup(pod->owner.uid))) ||
	    !(e->rec.node = strdup(fb->node_name)))
		goto fail;
	r = rec_set(&e->rec, recs, n, reason);
	if (r < 0)
		goto fail;
	*fb->tail = e;
	fb->tail = &e->next;
	fb->stats.queued++;
	fb->stats.submitted++;
	log_info("fallback: pod %s/%s queued for an eviction request (%s %s): %s", e->namespace,
		 e->name, e->owner_kind, e->owner_name,
		 reason ? reason : "in-place resize unavailable");
	schedule(fb);
	return 0;
fail:
	entry_free(e);
	return r;
}

void fallback_forget(struct fallback *fb, const char *pod_uid)
{
	struct entry *e = fb && pod_uid ? find(fb, pod_uid) : NULL;

	if (!e)
		return;
	unlink_entry(fb, e);
	if (e->in_flight)
		e->cancelled = true; /* its callback frees it */
	else {
		budget_release(fb, e);
		entry_free(e);
	}
	schedule(fb);
}

void fallback_pod_changed(struct fallback *fb, const struct kube_pod *pod, bool wants_eviction)
{
	const char *labels[2] = { FALLBACK_REQUEST_LABEL, NULL };
	const char *annotations[2] = { FALLBACK_REQUEST_ANNOTATION, NULL };
	const char *v = kube_pod_label(pod, FALLBACK_REQUEST_LABEL);
	struct kube_object_ref ref = {
		.api_version = "v1",
		.kind = "Pod",
		.namespace = pod->namespace,
		.name = pod->name,
		.uid = pod->uid,
	};

	if (wants_eviction || !v || pod->deleting)
		return;
	fallback_forget(fb, pod->uid);
	if (fb->cfg.dry_run)
		return;
	/* The answer needs no handling: a failure leaves the label, and the next update of the pod
	 * withdraws again. */
	if (fb->ops.patch_pod(fb->ops_ctx, pod->namespace, pod->name, labels, 1, annotations, 1,
			      NULL, NULL) < 0)
		return;
	fb->stats.withdrawn++;
	emit(fb, &ref, "Normal", "SnugEvictionWithdrawn",
	     "the eviction request is withdrawn: the pod is no longer in mode auto");
}

bool fallback_pending(const struct fallback *fb, const char *pod_uid)
{
	return fb && pod_uid && find(fb, pod_uid);
}

bool fallback_requested(const struct fallback *fb, const char *pod_uid)
{
	const struct entry *e = fb && pod_uid ? find(fb, pod_uid) : NULL;

	return e && e->step == STEP_REQUESTED;
}

const struct fallback_stats *fallback_stats(const struct fallback *fb)
{
	return &fb->stats;
}
