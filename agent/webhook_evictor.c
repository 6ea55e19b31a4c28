/* The webhook's controller loop: evicts the pods that carry snug.io/eviction-requested=true (asked by
 * their node's agent), through the kube client's label-selected pod watch and kube_evict(). */
#include "agent/webhook_evictor.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent/fallback.h"
#include "agent/kube/kube.h"
#include "agent/util/backoff.h"
#include "agent/util/log.h"
#include "agent/util/time.h"

/* One pod asking to be evicted. */
struct request {
	struct webhook_evictor *ev; /* NULL once the evictor is gone (the callback only frees) */
	char *uid, *namespace, *name;
	uint64_t due_usec; /* CLOCK_MONOTONIC */
	unsigned attempts, blocked;
	bool in_flight, cancelled;
	bool done; /* evicted, gone, refused or given up: nothing more until the pod goes */
	struct request *next;
};

struct webhook_evictor {
	sd_event *event;
	struct kube_client *kube;
	struct webhook_evictor_config cfg;
	sd_event_source *timer;
	struct request *requests;
	/* Exponential, capped, with equal jitter: two replicas blocked by the same PDB do not retry
	 * in step. */
	struct backoff backoff;
	struct webhook_eviction_stats stats;
};

static void request_free(struct request *q)
{
	if (!q)
		return;
	free(q->uid);
	free(q->namespace);
	free(q->name);
	free(q);
}

static struct request *find(struct webhook_evictor *ev, const char *uid)
{
	for (struct request *q = ev->requests; q; q = q->next)
		if (strcmp(q->uid, uid) == 0)
			return q;
	return NULL;
}

static void unlink_request(struct webhook_evictor *ev, struct request *q)
{
	for (struct request **p = &ev->requests; *p; p = &(*p)->next)
		if (*p == q) {
			*p = q->next;
			q->next = NULL;
			ev->stats.requests--;
			return;
		}
}

static uint64_t now_mono(struct webhook_evictor *ev)
{
	uint64_t t;

	if (sd_event_now(ev->event, CLOCK_MONOTONIC, &t) < 0)
		t = now_usec(CLOCK_MONOTONIC);
	return t;
}

static void schedule(struct webhook_evictor *ev)
{
	uint64_t next = UINT64_MAX, now = now_mono(ev);

	for (struct request *q = ev->requests; q; q = q->next)
		if (!q->in_flight && !q->done && q->due_usec < next)
			next = q->due_usec;
	if (next == UINT64_MAX) {
		sd_event_source_set_enabled(ev->timer, SD_EVENT_OFF);
		return;
	}
	sd_event_source_set_time(ev->timer, next < now ? now : next);
	sd_event_source_set_enabled(ev->timer, SD_EVENT_ONESHOT);
}

static void emit(struct webhook_evictor *ev, const struct request *q, const char *type,
		 const char *reason, const char *fmt, ...) __attribute__((format(printf, 5, 6)));
static void emit(struct webhook_evictor *ev, const struct request *q, const char *type,
		 const char *reason, const char *fmt, ...)
{
	const struct kube_object_ref ref = {
		.api_version = "v1",
		.kind = "Pod",
		.namespace = q->namespace,
		.name = q->name,
		.uid = q->uid,
	};
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	log_full_errno(strcmp(type, "Warning") == 0 ? LOG_WARNING : LOG_INFO, 0,
		       "evictor: pod %s/%s: %s: %s", q->namespace, q->name, reason, msg);
	(void)kube_event(ev->kube, &ref, type, reason, msg, NULL, NULL);
}

/* Whether the pod still asks: the watch's latest object carries the label, is the same pod (uid)
 * and is not terminating. */
static const struct kube_pod *still_asking(struct webhook_evictor *ev, const struct request *q)
{
	const struct kube_pod *pod = kube_client_pod(ev->kube, q->uid);
	const char *v;

	if (!pod || pod->deleting)
		return NULL;
	v = kube_pod_label(pod, FALLBACK_REQUEST_LABEL);
	return v && strcmp(v, "true") == 0 ? pod : NULL;
}

static void on_evict(const struct kube_result *r, void *userdata)
{
	struct request *q = userdata;
	struct webhook_evictor *ev = q->ev;
	uint64_t d;

	q->in_flight = false;
	if (ev && r->outcome == KUBE_OK)
		ev->stats.evicted++; /* it happened, even for a request forgotten meanwhile */
	if (!ev || q->cancelled) {
		request_free(q);
		return;
	}
	switch (r->outcome) {
	case KUBE_OK:
		q->done = true;
		emit(ev, q, "Normal", "SnugEvicted",
		     "evicted at the request of its node's snug-agent (in-place resize not "
		     "available); the replacement gets the workload's merged recommendation");
		break;
	case KUBE_NOT_FOUND:
	case KUBE_CONFLICT:
		/* Another replica of the webhook evicted it first (404), or the name is a new pod's
		 * now (409 on the uid precondition): nothing left to do. */
		q->done = true;
		ev->stats.gone++;
		log_info("evictor: pod %s/%s already gone (%ld)", q->namespace, q->name,
			 r->http_code);
		break;
	case KUBE_BLOCKED:
		ev->stats.blocked++;
		q->blocked++;
		d = backoff_jittered(&ev->backoff, q->blocked);
		q->due_usec = now_mono(ev) + d;
		emit(ev, q, "Warning", "SnugEvictionBlocked",
		     "eviction blocked (%s), retry %u in %" PRIu64 " s",
		     r->cause ? r->cause : (r->message ? r->message : "disruption budget"),
		     q->blocked, (uint64_t)((d + USEC_PER_SEC - 1) / USEC_PER_SEC));
		break;
	default:
		ev->stats.errors++;
		q->attempts++;
		if (q->attempts >= ev->cfg.max_attempts) {
			q->done = true;
			ev->stats.failed++;
			emit(ev, q, "Warning", "SnugEvictionFailed",
			     "gave up after %u attempts: %s%s%s", q->attempts,
			     kube_outcome_to_string(r->outcome), r->message ? ": " : "",
			     r->message ? r->message : "");
			break;
		}
		log_warning("evictor: pod %s/%s: eviction failed (%s%s%s), attempt %u of %u",
			    q->namespace, q->name, kube_outcome_to_string(r->outcome),
			    r->message ? ": " : "", r->message ? r->message : "", q->attempts,
			    ev->cfg.max_attempts);
		q->due_usec = now_mono(ev) + backoff_jittered(&ev->backoff, q->attempts);
		break;
	}
	schedule(ev);
}

/* One due request: re-checked against the watch's latest pod, then the eviction. */
static void start_evict(struct webhook_evictor *ev, struct request *q)
{
	const struct kube_pod *pod = still_asking(ev, q);
	int r;

	if (!pod) {
		ev->stats.stale++;
		log_info("evictor: pod %s/%s no longer asks to be evicted", q->namespace, q->name);
		q->done = true;
		return;
	}
	if (!pod->has_owner) {
		ev->stats.refused_bare++;
		q->done = true;
		emit(ev, q, "Warning", "SnugEvictionRefused",
		     "not evicted: the pod has no controller, it would not come back");
		return;
	}
	/* The uid precondition: the pod that asked, not a namesake created since. */
	r = kube_evict(ev->kube, q->namespace, q->name, q->uid, on_evict, q);
	if (r < 0) {
		struct kube_result res = { .outcome = KUBE_TRANSIENT, .error = r, .replicas = -1 };

		q->in_flight = true;
		on_evict(&res, q);
		return;
	}
	q->in_flight = true;
}

static int on_timer(sd_event_source *s, uint64_t usec, void *userdata)
{
	struct webhook_evictor *ev = userdata;
	uint64_t now = now_mono(ev);

	for (struct request *q = ev->requests; q; q = q->next)
		if (!q->in_flight && !q->done && q->due_usec <= now)
			start_evict(ev, q);
	schedule(ev);
	return 0;
}

static void forget(struct webhook_evictor *ev, const char *uid)
{
	struct request *q = find(ev, uid);

	if (!q)
		return;
	unlink_request(ev, q);
	if (q->in_flight)
		q->cancelled = true; /* its callback frees it */
	else
		request_free(q);
}

/* A pod of the watch (added or changed): a request to follow, or one withdrawn. */
static void on_pod(const struct kube_pod *old, const struct kube_pod *pod, void *userdata)
{
	struct webhook_evictor *ev = userdata;
	const char *v = kube_pod_label(pod, FALLBACK_REQUEST_LABEL);
	struct request *q;

	if (!v || strcmp(v, "true") != 0) {
		forget(ev, pod->uid);
		return;
	}
	if (find(ev, pod->uid) || pod->deleting)
		return;
	q = calloc(1, sizeof(*q));
	if (!q || !(q->uid = strdup(pod->uid)) || !(q->namespace = strdup(pod->namespace)) ||
	    !(q->name = strdup(pod->name))) {
		request_free(q);
		log_oom();
		return;
	}
	q->ev = ev;
	q->due_usec = now_mono(ev);
	q->next = ev->requests;
	ev->requests = q;
	ev->stats.requests++;
	log_info("evictor: pod %s/%s (node %s) asks to be evicted", pod->namespace, pod->name,
		 pod->node_name ? pod->node_name : "?");
	schedule(ev);
}

static void on_added(const struct kube_pod *pod, void *userdata)
{
	on_pod(NULL, pod, userdata);
}

static void on_deleted(const struct kube_pod *pod, void *userdata)
{
	forget(userdata, pod->uid);
}

static void on_invalid(const char *why, void *userdata)
{
	log_warning("evictor: a pod of the watch is malformed, skipped: %s", why);
}

static const struct kube_watch_ops watch_ops = {
	.added = on_added,
	.updated = on_pod,
	.deleted = on_deleted,
	.invalid = on_invalid,
};

int webhook_evictor_new(sd_event *event, struct kube_client *kube,
			const struct webhook_evictor_config *cfg, struct webhook_evictor **ret)
{
	struct webhook_evictor *ev;
	int r;

	if (!event || !kube || !ret)
		return -EINVAL;
	ev = calloc(1, sizeof(*ev));
	if (!ev)
		return -ENOMEM;
	ev->event = sd_event_ref(event);
	ev->kube = kube;
	if (cfg)
		ev->cfg = *cfg;
	ev->cfg.backoff_min_usec = ev->cfg.backoff_min_usec ?: 10 * USEC_PER_SEC;
	ev->cfg.backoff_max_usec = ev->cfg.backoff_max_usec ?: 300 * USEC_PER_SEC;
	ev->cfg.max_attempts = ev->cfg.max_attempts ?: 5;
	backoff_init(&ev->backoff, ev->cfg.backoff_min_usec, ev->cfg.backoff_max_usec,
		     now_nsec(CLOCK_MONOTONIC) ^ (uintptr_t)ev);
	r = sd_event_add_time(event, &ev->timer, CLOCK_MONOTONIC, 0, USEC_PER_MSEC, on_timer, ev);
	if (r < 0)
		goto fail;
	sd_event_source_set_enabled(ev->timer, SD_EVENT_OFF);
	r = kube_client_watch_pods(kube, &watch_ops, ev);
	if (r < 0)
		goto fail;
	*ret = ev;
	return 0;
fail:
	webhook_evictor_free(ev);
	return r;
}

struct webhook_evictor *webhook_evictor_free(struct webhook_evictor *ev)
{
	if (!ev)
		return NULL;
	while (ev->requests) {
		struct request *q = ev->requests;

		ev->requests = q->next;
		if (q->in_flight)
			q->ev = NULL; /* its callback frees it */
		else
			request_free(q);
	}
	sd_event_source_disable_unref(ev->timer);
	sd_event_unref(ev->event);
	free(ev);
	return NULL;
}

const struct webhook_eviction_stats *webhook_evictor_stats(const struct webhook_evictor *ev)
{
	return &ev->stats;
}
