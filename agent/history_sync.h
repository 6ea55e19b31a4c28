/* The workload history shared through the API: every --history-interval this node writes its own
 * history of each workload it runs to one WorkloadHistory entry, and reads the other nodes' entries
 * of that workload, which decisions then merge with its own (docs/shared-history.md). */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <systemd/sd-event.h>

#include "agent/shared_history.h"

struct agent;
struct agent_history;
struct kube_pod;

/* Someone waiting for a workload's entry to be written (the eviction fallback, before it asks). */
struct history_flush_waiter {
	void (*done)(int result, void *userdata);
	void *userdata;
	struct history_flush_waiter *next;
};

/* One workload (namespace, kind, name) with a history on this node. Never freed while the agent
 * runs (a request in flight holds it): a node sees few workloads, and one that leaves is kept,
 * marked gone, in case it comes back. */
struct history_workload {
	struct agent *agent;
	char *namespace, *api_version, *kind, *name;
	char key[SHARED_KEY_SIZE];
	bool answered; /* a LIST came back (answer or failure) at least once */
	bool listing, writing;
	bool list_failing, write_failing; /* said once until it works again */
	bool gone;	   /* its entry was deleted: no history here within the window */
	char *create_body; /* the body to POST when the PATCH finds no entry (owned) */
	struct history_flush_waiter *waiters; /* told when the write in flight ends */
	struct history_workload *next;
};

struct history_sync {
	uint64_t interval_usec; /* 0 = off: history stays node-local */
	sd_event_source *timer, *exit_timer;
	struct history_workload *workloads;
	unsigned next_workload; /* the timer syncs one workload a tick, round-robin */
	unsigned writes_in_flight;
	bool exiting;
	uint64_t lists, list_failures, writes, write_failures, deletes;
};

int history_sync_start(struct agent *a);
/* After the client is freed (it aborts requests without their callbacks). */
void history_sync_free(struct agent *a);
/* A container of this workload runs here: its workload is followed, and listed at once when new. */
void history_sync_track(struct agent *a, const struct agent_history *h, const struct kube_pod *pod);
/* Whether a decision for h can be made: sharing off, or the workload's first LIST answered (an
 * unreachable API counts as answered: the node's own history then). */
bool history_sync_known(struct agent *a, const struct agent_history *h);
/* (agent: the struct agent; the eviction fallback's flush_history hook) Writes this node's entry of
 * the workload of pod_uid's containers now (or waits for the write in
 * flight): 1 when done(result, userdata) will run once, later; 0 when the node has no history of
 * it to write; -EOPNOTSUPP when sharing is off; another -errno when the write cannot start. */
int history_sync_flush(void *agent, const char *pod_uid, void (*done)(int result, void *userdata),
		       void *userdata);
/* SIGTERM: writes what changed since the last interval, then exits the loop (at most a few seconds
 * later when the API does not answer: the checkpoints on disk keep it for the next start). */
int history_sync_exit(struct agent *a);
