/* The recommender's histories, one per container identity, with their checkpoints. */
#include "agent/history.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent/agent_metrics.h"
#include "agent/kube/kube.h"
#include "agent/recommender/merge.h"
#include "agent/util/log.h"
#include "agent/util/time.h"

static void history_free(struct agent_history *h)
{
	if (!h)
		return;
	free((char *)h->id.namespace);
	free((char *)h->id.owner_kind);
	free((char *)h->id.owner_name);
	free((char *)h->id.container);
	rec_aggregate_free(h->aggregate);
	rec_aggregate_free(h->remote);
	rec_aggregate_free(h->view);
	free(h);
}

static bool identity_eq(const struct rec_identity *a, const struct rec_identity *b)
{
	return strcmp(a->namespace, b->namespace) == 0 &&
	       strcmp(a->owner_kind, b->owner_kind) == 0 &&
	       strcmp(a->owner_name, b->owner_name) == 0 && strcmp(a->container, b->container) == 0;
}

static struct agent_history *history_find(struct history_store *s, const struct rec_identity *id)
{
	for (struct agent_history *h = s->histories; h; h = h->next)
		if (identity_eq(&h->id, id))
			return h;
	return NULL;
}

/* Takes ownership of aggregate (may be NULL: a new one is created). */
static int history_add(struct history_store *s, const struct rec_identity *id,
		       struct rec_aggregate *aggregate, struct agent_history **ret)
{
	struct agent_history *h = calloc(1, sizeof(*h));
	int r;

	if (!h) {
		rec_aggregate_free(aggregate);
		return -ENOMEM;
	}
	h->id.namespace = strdup(id->namespace);
	h->id.owner_kind = strdup(id->owner_kind);
	h->id.owner_name = strdup(id->owner_name);
	h->id.container = strdup(id->container);
	h->aggregate = aggregate;
	if (!h->id.namespace || !h->id.owner_kind || !h->id.owner_name || !h->id.container) {
		history_free(h);
		return -ENOMEM;
	}
	if (!h->aggregate) {
		r = rec_aggregate_new(s->tunables, (int64_t)now_usec(CLOCK_REALTIME),
				      &h->aggregate);
		if (r < 0) {
			history_free(h);
			return r;
		}
	}
	h->next = s->histories;
	s->histories = h;
	*ret = h;
	return 0;
}

static int checkpoint_loaded(const struct rec_identity *id, struct rec_aggregate *aggregate,
			     void *userdata)
{
	struct history_store *s = userdata;
	struct agent_history *h;

	if (history_find(s, id)) {
		rec_aggregate_free(aggregate);
		return 0;
	}
	return history_add(s, id, aggregate, &h);
}

static void checkpoint_failed(const char *file_name, int error, void *userdata)
{
	struct history_store *s = userdata;

	log_warning_errno(error, "Skipping checkpoint %s (kept on disk, not loaded): %m",
			  file_name);
	agent_metrics_checkpoint_error(s->metrics);
}

int history_store_open(struct history_store *s, const char *dir,
		       const struct rec_tunables *tunables, struct agent_metrics *metrics)
{
	int r;

	*s = (struct history_store){ .tunables = tunables, .metrics = metrics };
	r = rec_store_open(dir, &s->store);
	if (r < 0)
		return log_error_errno(r, "Cannot open the state dir %s: %m", dir);
	r = rec_checkpoint_load_all(s->store, tunables, (int64_t)now_usec(CLOCK_REALTIME),
				    checkpoint_loaded, checkpoint_failed, s);
	if (r < 0)
		log_warning_errno(r, "Cannot read checkpoints in %s, starting without history: %m",
				  dir);
	else
		log_info("Loaded %d checkpoints from %s", r, dir);
	return r < 0 ? 0 : r;
}

void history_store_close(struct history_store *s)
{
	while (s->histories) {
		struct agent_history *h = s->histories;

		s->histories = h->next;
		history_free(h);
	}
	if (s->store)
		rec_store_free(s->store);
	s->store = NULL;
}

int history_of(struct history_store *s, const struct kube_pod *pod, const char *container,
	       struct agent_history **ret)
{
	const char *kind = "Pod", *name = pod->name;
	char kind_buf[64], name_buf[256];
	struct rec_identity id;
	struct agent_history *h;

	if (pod->has_owner && pod->owner.kind && pod->owner.name) {
		const char *hash = kube_pod_label(pod, "pod-template-hash");
		size_t nl = strlen(pod->owner.name), hl = hash ? strlen(hash) : 0;

		kind = pod->owner.kind;
		name = pod->owner.name;
		if (strcmp(kind, "ReplicaSet") == 0 && hash && hl > 0 && nl > hl + 1 &&
		    pod->owner.name[nl - hl - 1] == '-' &&
		    strcmp(pod->owner.name + nl - hl, hash) == 0 &&
		    nl - hl - 1 < sizeof(name_buf)) {
			memcpy(name_buf, pod->owner.name, nl - hl - 1);
			name_buf[nl - hl - 1] = '\0';
			name = name_buf;
			kind = "Deployment";
		}
	}
	snprintf(kind_buf, sizeof(kind_buf), "%s", kind);
	if (name != name_buf)
		snprintf(name_buf, sizeof(name_buf), "%s", name);
	id = (struct rec_identity){ .namespace = pod->namespace,
				    .owner_kind = kind_buf,
				    .owner_name = name_buf,
				    .container = container };
	h = history_find(s, &id);
	if (h) {
		*ret = h;
		return 0;
	}
	return history_add(s, &id, NULL, ret);
}

int history_save(struct history_store *s)
{
	struct rec_checkpoint_batch *batch = NULL;
	int64_t now = (int64_t)now_usec(CLOCK_REALTIME);
	int r, n = 0;

	if (!s->store)
		return 0;
	r = rec_checkpoint_batch_new(s->store, &batch);
	if (r < 0)
		return log_error_errno(r, "Cannot start saving checkpoints: %m");
	for (struct agent_history *h = s->histories; h; h = h->next) {
		if (!h->dirty)
			continue;
		r = rec_checkpoint_batch_add(batch, &h->id, h->aggregate, now);
		if (r < 0) {
			log_warning_errno(r, "Cannot write checkpoint of %s/%s/%s/%s: %m",
					  h->id.namespace, h->id.owner_kind, h->id.owner_name,
					  h->id.container);
			continue;
		}
		n++;
	}
	r = rec_checkpoint_batch_commit(batch);
	rec_checkpoint_batch_free(batch);
	if (r < 0)
		return log_error_errno(r, "Saving checkpoints failed: %m");
	for (struct agent_history *h = s->histories; h; h = h->next)
		h->dirty = false;
	log_debug("Saved %d checkpoints", n);
	r = rec_checkpoint_gc(s->store, now, rec_tunables_history_window_usec(s->tunables));
	if (r > 0)
		log_info("Removed %d checkpoints older than the history window", r);
	return n;
}

const struct rec_aggregate *history_view(struct agent_history *h)
{
	if (!h->remote)
		return h->aggregate;
	if (!h->view &&
	    rec_aggregate_new(h->aggregate->tunables, h->aggregate->creation_usec, &h->view) < 0)
		return h->aggregate;
	/* Same tunables on both sides (the remote was parsed with them): cannot fail. */
	if (rec_aggregate_merged(h->aggregate, &h->remote, 1, h->view) < 0)
		return h->aggregate;
	return h->view;
}

void history_set_remote(struct agent_history *h, struct rec_aggregate *remote)
{
	rec_aggregate_free(h->remote);
	h->remote = remote;
}

/* Merged with the other nodes' history: a new replica whose workload ran elsewhere long enough
 * acts on its first decision. */
bool history_long_enough(struct agent_history *h, uint64_t min_usec, int64_t now_usec)
{
	const struct rec_aggregate *g = history_view(h);
	int64_t first = h->first_reading_usec;

	if (min_usec == 0)
		return true;
	if (g->total_samples > 0 &&
	    (uint64_t)(g->last_sample_usec - g->first_sample_usec) >= min_usec)
		return true;
	return first > 0 && now_usec > first && (uint64_t)(now_usec - first) >= min_usec;
}
