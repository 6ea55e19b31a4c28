/* Writes this node's WorkloadHistory entries and reads the other nodes' (snug.io/v1alpha1). */
#include "agent/history_sync.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "agent/agent.h"
#include "agent/kube/kube.h"
#include "agent/util/log.h"
#include "agent/util/time.h"

/* SIGTERM waits this long for the last writes. */
#define EXIT_WAIT_USEC (5 * USEC_PER_SEC)
/* A workload's entry carries at most this many containers (the CRD's maxItems). */
#define MAX_CONTAINERS 64

static bool same_workload(const struct history_workload *w, const struct agent_history *h)
{
	return strcmp(w->namespace, h->id.namespace) == 0 &&
	       strcmp(w->kind, h->id.owner_kind) == 0 && strcmp(w->name, h->id.owner_name) == 0;
}

static struct history_workload *find(struct history_sync *s, const struct agent_history *h)
{
	for (struct history_workload *w = s->workloads; w; w = w->next)
		if (same_workload(w, h))
			return w;
	return NULL;
}

static void on_list(const struct kube_result *res, void *userdata);

static void list_now(struct history_workload *w)
{
	struct agent *a = w->agent;
	int r;

	if (w->listing || !a->kube)
		return;
	r = kube_list_histories(a->kube, w->namespace, w->key, on_list, w);
	if (r < 0) {
		log_debug_errno(r, "Cannot list the history of %s/%s %s: %m", w->namespace, w->kind,
				w->name);
		w->answered = true;
		return;
	}
	w->listing = true;
	a->shared.lists++;
}

/* The other nodes' entries of one container identity, merged; NULL when there are none. */
static struct rec_aggregate *remote_of(struct agent *a, const struct agent_history *h,
				       const struct kube_history_entry *e, size_t n)
{
	int64_t now = (int64_t)now_usec(CLOCK_REALTIME);
	struct rec_aggregate *remote = NULL;
	const cJSON *c;

	for (size_t i = 0; i < n; i++) {
		/* Our own entry is what h->aggregate was a while ago: never counted twice. */
		if (strcmp(e[i].node_name, a->config.node_name) == 0 ||
		    strcmp(e[i].workload_kind, h->id.owner_kind) != 0 ||
		    strcmp(e[i].workload_name, h->id.owner_name) != 0)
			continue;
		cJSON_ArrayForEach (c, e[i].containers) {
			const cJSON *name = cJSON_GetObjectItemCaseSensitive(c, "name");
			int r;

			if (!cJSON_IsString(name) ||
			    strcmp(name->valuestring, h->id.container) != 0)
				continue;
			r = shared_remote_add(&remote, c, &a->config.tunables, now);
			if (r < 0)
				log_debug_errno(r, "History entry %s/%s, container %s, skipped: %m",
						h->id.namespace, e[i].name, h->id.container);
		}
	}
	return remote;
}

/* The first answer decides the workload's containers again on the merged history: a new replica
 * gets the workload's target now, not at the next decide tick; a pending OOM kill or startup boost
 * keeps its own trigger. */
static void redecide_workload(struct agent *a, const struct history_workload *w)
{
	for (struct agent_pod *p = a->pods; p; p = p->next)
		for (size_t i = 0; i < p->n_containers; i++) {
			struct agent_container *c = &p->containers[i];
			enum agent_trigger trigger;

			if (!c->history || !same_workload(w, c->history) || c->resize.in_flight)
				continue;
			if (agent_container_waits(c, &trigger))
				a->redecide(a, c, trigger);
			else if (c->cg)
				a->redecide(a, c, AGENT_TRIGGER_PERIODIC);
		}
}

static void on_list(const struct kube_result *res, void *userdata)
{
	struct history_workload *w = userdata;
	struct agent *a = w->agent;
	struct kube_history_entry *entries = NULL;
	size_t n = 0, bad = 0;
	char err[KUBE_ERRBUF] = "";
	bool first = !w->answered;
	int r = -EIO;

	w->listing = false;
	w->answered = true;
	if (res->outcome == KUBE_OK)
		r = kube_history_list_parse(res->object, &entries, &n, &bad, err);
	if (r < 0) {
		a->shared.list_failures++;
		if (!w->list_failing)
			log_warning("Cannot read the shared history of %s/%s %s (%s: %s): deciding "
				    "on this node's history",
				    w->namespace, w->kind, w->name,
				    kube_outcome_to_string(res->outcome),
				    err[0]	   ? err
				    : res->message ? res->message
						   : "no message");
		w->list_failing = true;
		if (first)
			redecide_workload(a, w);
		return;
	}
	if (w->list_failing)
		log_info("Shared history of %s/%s %s readable again", w->namespace, w->kind,
			 w->name);
	w->list_failing = false;
	if (bad)
		log_debug("%zu malformed history entries of %s/%s %s skipped: %s", bad,
			  w->namespace, w->kind, w->name, err);
	for (struct agent_history *h = a->histories.histories; h; h = h->next)
		if (same_workload(w, h))
			history_set_remote(h, remote_of(a, h, entries, n));
	free(entries);
	if (first)
		redecide_workload(a, w);
}

/* Tells everyone waiting for w's write how it ended. */
static void wake_waiters(struct history_workload *w, int result)
{
	struct history_flush_waiter *q = w->waiters;

	w->waiters = NULL;
	while (q) {
		struct history_flush_waiter *next = q->next;

		q->done(result, q->userdata);
		free(q);
		q = next;
	}
}

static void write_done(struct history_workload *w, bool ok, const struct kube_result *res)
{
	struct agent *a = w->agent;

	w->writing = false;
	free(w->create_body);
	w->create_body = NULL;
	if (ok) {
		a->shared.writes++;
		if (w->write_failing)
			log_info("History entry of %s/%s %s written again", w->namespace, w->kind,
				 w->name);
		w->write_failing = false;
	} else {
		a->shared.write_failures++;
		/* Written again next interval: the checkpoints on disk hold it meanwhile. */
		for (struct agent_history *h = a->histories.histories; h; h = h->next)
			if (same_workload(w, h))
				h->shared_dirty = true;
		if (!w->write_failing)
			log_warning("Cannot write the history entry of %s/%s %s (%s: %s)",
				    w->namespace, w->kind, w->name,
				    kube_outcome_to_string(res->outcome),
				    res->message ? res->message : "no message");
		w->write_failing = true;
	}
	wake_waiters(w, ok ? 0 : -EIO);
	if (a->shared.writes_in_flight > 0)
		a->shared.writes_in_flight--;
	if (a->shared.exiting && a->shared.writes_in_flight == 0)
		(void)sd_event_exit(a->event, 0);
}

static void on_created(const struct kube_result *res, void *userdata)
{
	write_done(userdata, res->outcome == KUBE_OK, res);
}

static void on_patched(const struct kube_result *res, void *userdata)
{
	struct history_workload *w = userdata;
	char *body = w->create_body;

	/* No entry yet: create it with the same body (a create that races another of ours is a
	 * 409, tried again by the next interval's patch). */
	if (res->outcome == KUBE_NOT_FOUND && body) {
		w->create_body = NULL;
		if (kube_create_history(w->agent->kube, w->namespace, body, on_created, w) >= 0)
			return;
	}
	write_done(w, res->outcome == KUBE_OK, res);
}

static void write_entry(struct history_workload *w, int64_t now)
{
	struct agent *a = w->agent;
	struct shared_container cs[MAX_CONTAINERS];
	struct shared_entry e = {
		.namespace = w->namespace,
		.node_name = a->config.node_name,
		.node_uid = a->node_room.uid,
		.workload_api_version = w->api_version,
		.workload_kind = w->kind,
		.workload_name = w->name,
		.containers = cs,
		.now_usec = now,
	};
	char *body = NULL, name[SHARED_NAME_SIZE];
	int r;

	for (struct agent_history *h = a->histories.histories; h; h = h->next) {
		if (!same_workload(w, h) || e.n_containers >= MAX_CONTAINERS)
			continue;
		cs[e.n_containers++] = (struct shared_container){ h->id.container, h->aggregate };
		h->shared_dirty = false;
	}
	shared_entry_name(w->key, a->config.node_name, name);
	r = shared_entry_format(&e, &body);
	if (r >= 0 && !(w->create_body = strdup(body))) {
		free(body);
		r = -ENOMEM;
	}
	if (r >= 0)
		r = kube_patch_history(a->kube, w->namespace, name, body, on_patched, w);
	if (r < 0) {
		log_debug_errno(r, "Cannot send the history entry of %s/%s %s: %m", w->namespace,
				w->kind, w->name);
		free(w->create_body);
		w->create_body = NULL;
		for (struct agent_history *h = a->histories.histories; h; h = h->next)
			if (same_workload(w, h))
				h->shared_dirty = true;
		return;
	}
	w->writing = true;
	a->shared.writes_in_flight++;
}

static void on_deleted(const struct kube_result *res, void *userdata)
{
	struct history_workload *w = userdata;

	w->writing = false;
	if (res->outcome == KUBE_OK || res->outcome == KUBE_NOT_FOUND) {
		w->gone = true;
		w->agent->shared.deletes++;
	}
	wake_waiters(w, -ESTALE);
}

/* Whether a container of this workload runs here now. */
static bool runs_here(struct agent *a, const struct history_workload *w)
{
	for (struct agent_pod *p = a->pods; p; p = p->next)
		for (size_t i = 0; i < p->n_containers; i++)
			if (p->containers[i].history && same_workload(w, p->containers[i].history))
				return true;
	return false;
}

/* One interval of one workload: write what changed, or delete the entry once the node's history of
 * it has expired (no sample within the history window, 8 days: the local checkpoints go then too),
 * and read the other nodes' entries. */
static void sync_workload(struct history_workload *w, int64_t now)
{
	struct agent *a = w->agent;
	bool dirty = false, live = false;
	char name[SHARED_NAME_SIZE];

	if (w->gone || w->writing)
		return;
	for (struct agent_history *h = a->histories.histories; h; h = h->next) {
		if (!same_workload(w, h))
			continue;
		dirty |= h->shared_dirty;
		live |= !rec_aggregate_is_expired(h->aggregate, now);
	}
	if (!live && !runs_here(a, w)) {
		shared_entry_name(w->key, a->config.node_name, name);
		if (kube_delete_history(a->kube, w->namespace, name, on_deleted, w) >= 0)
			w->writing = true;
		return;
	}
	if (dirty)
		write_entry(w, now);
	if (runs_here(a, w))
		list_now(w);
}

static unsigned n_workloads(const struct agent *a)
{
	unsigned n = 0;

	for (const struct history_workload *w = a->shared.workloads; w; w = w->next)
		n++;
	return n;
}

/* One workload per tick, the ticks spread over the interval: a node's entries go out one by one,
 * not as one burst of a PATCH and a LIST per workload (docs/history-scale.md: the burst is what the
 * API server fell behind on, and every node's burst shares one priority-and-fairness flow). */
static uint64_t tick_usec(const struct agent *a)
{
	unsigned n = n_workloads(a);

	return a->shared.interval_usec / (n ? n : 1);
}

static int on_timer(sd_event_source *src, uint64_t usec, void *userdata)
{
	struct agent *a = userdata;
	struct history_workload *w = a->shared.workloads;
	unsigned n = n_workloads(a);

	if (n > 0) {
		a->shared.next_workload %= n;
		for (unsigned i = 0; i < a->shared.next_workload; i++)
			w = w->next;
		a->shared.next_workload++;
		sync_workload(w, (int64_t)now_usec(CLOCK_REALTIME));
	}
	return sd_event_source_set_time_relative(src, tick_usec(a));
}

static struct history_workload *workload_new(struct agent *a, const struct agent_history *h,
					     const char *api_version)
{
	struct history_workload *w = calloc(1, sizeof(*w));

	if (!w)
		return NULL;
	w->agent = a;
	w->namespace = strdup(h->id.namespace);
	w->kind = strdup(h->id.owner_kind);
	w->name = strdup(h->id.owner_name);
	w->api_version = api_version ? strdup(api_version) : NULL;
	if (!w->namespace || !w->kind || !w->name || (api_version && !w->api_version)) {
		free(w->namespace);
		free(w->kind);
		free(w->name);
		free(w->api_version);
		free(w);
		return NULL;
	}
	shared_workload_key(w->kind, w->name, w->key);
	w->next = a->shared.workloads;
	a->shared.workloads = w;
	return w;
}

int history_sync_start(struct agent *a)
{
	int r;

	a->shared.interval_usec = a->config.history_interval_usec;
	if (!a->shared.interval_usec || !a->kube)
		return 0;
	/* The histories loaded from checkpoints have entries to keep up (or to delete once they
	 * expire), whether or not their workloads run here now. */
	for (struct agent_history *h = a->histories.histories; h; h = h->next)
		if (!find(&a->shared, h) && !workload_new(a, h, NULL))
			return log_oom();
	/* 1 s of slack at most, less for the short intervals of tests. */
	r = sd_event_add_time_relative(a->event, &a->shared.timer, CLOCK_MONOTONIC, tick_usec(a),
				       a->shared.interval_usec / 64 < USEC_PER_SEC
					       ? a->shared.interval_usec / 64
					       : USEC_PER_SEC,
				       on_timer, a);
	if (r < 0)
		return log_error_errno(r, "Cannot add the history timer: %m");
	/* Re-armed by each run (a one-shot source would stay off after the first). */
	return sd_event_source_set_enabled(a->shared.timer, SD_EVENT_ON);
}

void history_sync_free(struct agent *a)
{
	a->shared.timer = sd_event_source_disable_unref(a->shared.timer);
	a->shared.exit_timer = sd_event_source_disable_unref(a->shared.exit_timer);
	while (a->shared.workloads) {
		struct history_workload *w = a->shared.workloads;

		a->shared.workloads = w->next;
		free(w->namespace);
		free(w->kind);
		free(w->name);
		free(w->api_version);
		free(w->create_body);
		wake_waiters(w, -ECANCELED);
		free(w);
	}
}

/* The apiVersion of the workload a pod's history belongs to (history_of()'s rule). */
static const char *api_version_of(const struct agent_history *h, const struct kube_pod *pod)
{
	if (!pod->has_owner || !pod->owner.kind)
		return "v1";
	if (strcmp(h->id.owner_kind, pod->owner.kind) != 0)
		return "apps/v1"; /* a ReplicaSet collapsed to its Deployment */
	return pod->owner.api_version;
}

void history_sync_track(struct agent *a, const struct agent_history *h, const struct kube_pod *pod)
{
	struct history_workload *w;

	if (!a->shared.interval_usec || !a->kube)
		return;
	w = find(&a->shared, h);
	if (!w) {
		w = workload_new(a, h, api_version_of(h, pod));
		if (!w) {
			log_oom();
			return;
		}
	} else if (!w->api_version && api_version_of(h, pod))
		w->api_version = strdup(api_version_of(h, pod));
	w->gone = false;
	if (!w->answered)
		list_now(w);
}

bool history_sync_known(struct agent *a, const struct agent_history *h)
{
	struct history_workload *w;

	if (!a->shared.interval_usec || !a->kube)
		return true;
	w = find(&a->shared, h);
	if (!w || w->answered)
		return true;
	list_now(w);
	return w->answered;
}

int history_sync_flush(void *agent, const char *pod_uid, void (*done)(int result, void *userdata),
		       void *userdata)
{
	struct agent *a = agent;
	struct agent_pod *p = agent_find_pod(a, pod_uid);
	struct history_workload *w = NULL;
	struct history_flush_waiter *q;

	if (!a->shared.interval_usec || !a->kube)
		return -EOPNOTSUPP;
	for (size_t i = 0; p && !w && i < p->n_containers; i++)
		if (p->containers[i].history)
			w = find(&a->shared, p->containers[i].history);
	if (!w)
		return 0;
	q = calloc(1, sizeof(*q));
	if (!q)
		return -ENOMEM;
	q->done = done;
	q->userdata = userdata;
	/* A write in flight carries the latest histogram but a few seconds: wait for it. */
	if (!w->writing) {
		w->gone = false;
		write_entry(w, (int64_t)now_usec(CLOCK_REALTIME));
		if (!w->writing) {
			free(q);
			return -EIO;
		}
	}
	q->next = w->waiters;
	w->waiters = q;
	return 1;
}

static int on_exit_timer(sd_event_source *src, uint64_t usec, void *userdata)
{
	struct agent *a = userdata;

	log_warning("%u history entries not written before exit (kept in the checkpoints)",
		    a->shared.writes_in_flight);
	return sd_event_exit(a->event, 0);
}

int history_sync_exit(struct agent *a)
{
	int64_t now = (int64_t)now_usec(CLOCK_REALTIME);
	int r;

	if (!a->shared.interval_usec || !a->kube || a->shared.exiting)
		return sd_event_exit(a->event, 0);
	a->shared.exiting = true;
	for (struct history_workload *w = a->shared.workloads; w; w = w->next) {
		bool dirty = false;

		for (struct agent_history *h = a->histories.histories; h; h = h->next)
			dirty |= same_workload(w, h) && h->shared_dirty;
		if (dirty && !w->gone && !w->writing)
			write_entry(w, now);
	}
	if (a->shared.writes_in_flight == 0)
		return sd_event_exit(a->event, 0);
	r = sd_event_add_time_relative(a->event, &a->shared.exit_timer, CLOCK_MONOTONIC,
				       EXIT_WAIT_USEC, USEC_PER_MSEC, on_exit_timer, a);
	return r < 0 ? sd_event_exit(a->event, 0) : 0;
}
