/* The recommender's histories, one per container identity (namespace/owner/container): found or
 * made for a pod's container, loaded from and saved to the checkpoints in --state-dir. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "agent/recommender/checkpoint.h"
#include "agent/recommender/recommender.h"

struct kube_pod;
struct agent_metrics;

/* The history of one container identity: every instance of that container, across restarts and
 * recreated pods, feeds the same aggregate. */
struct agent_history {
	struct rec_identity id; /* strings owned here */
	struct rec_aggregate *aggregate;
	bool dirty; /* changed since the last checkpoint */
	/* CLOCK_REALTIME of the first reading this agent fed into it, 0 = none yet: the aggregate's
	 * own span counts only whole CPU minutes, so a fresh agent would wait 1–2 minutes longer than
	 * --min-history says. */
	int64_t first_reading_usec;
	/* The other nodes' history of this container identity, read from their WorkloadHistory
	 * entries and merged (NULL until one was read), and the view decisions use: the aggregate
	 * merged with it (history_view()). The aggregate itself stays this node's own: it is what
	 * the node shares. */
	struct rec_aggregate *remote;
	struct rec_aggregate *view;
	bool shared_dirty; /* changed since this node's entry was last written */
	struct agent_history *next;
};

struct history_store {
	const struct rec_tunables *tunables; /* not owned */
	struct agent_metrics *metrics;	     /* not owned; checkpoint errors are counted there */
	struct rec_store *store;	     /* the checkpoint directory */
	struct agent_history *histories;
};

/* Opens dir and loads every checkpoint in it (a corrupt one is logged, counted and left on
 * disk). Returns the number loaded, or -errno when the directory cannot be used. */
int history_store_open(struct history_store *s, const char *dir,
		       const struct rec_tunables *tunables, struct agent_metrics *metrics);
void history_store_close(struct history_store *s);

/* The history of a pod's container: its controller's (a ReplicaSet collapsed to its Deployment
 * when it carries the pod-template-hash suffix, so a rollout keeps the history), or the pod's own.
 * Made when new. -ENOMEM. */
int history_of(struct history_store *s, const struct kube_pod *pod, const char *container,
	       struct agent_history **ret);

/* Writes the histories changed since the last save (tmp + fsync + rename) and removes checkpoints
 * older than the history window. Returns how many were written, or -errno. */
int history_save(struct history_store *s);

/* What recommendations are made from: this node's history merged with the other nodes' (VPA's
 * MergeContainerState), or this node's alone when none was read. */
const struct rec_aggregate *history_view(struct agent_history *h);
/* Replaces the other nodes' history (taken over; NULL = none). */
void history_set_remote(struct agent_history *h, struct rec_aggregate *remote);

/* Long enough to act on: the aggregate spans min_usec (whole CPU minutes, restored from a
 * checkpoint too), or this agent has been reading it that long. */
bool history_long_enough(struct agent_history *h, uint64_t min_usec, int64_t now_usec);
