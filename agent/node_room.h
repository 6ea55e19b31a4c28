/* This node's room for requests: its Node's status.allocatable, read at start and every
 * --node-refresh, minus the requests of the other pods bound here. */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <systemd/sd-event.h>

#include "agent/decide.h"

struct kube_client;
struct kube_pod;
struct agent_metrics;

struct node_room {
	struct kube_client *kube;      /* not owned */
	struct agent_metrics *metrics; /* not owned */
	const char *node_name;	       /* not owned */
	uint64_t refresh_usec;
	sd_event_source *timer;
	bool known, in_flight, failing;
	int64_t cpu_allocatable, memory_allocatable; /* millicores, bytes */
	char *uid; /* the Node's metadata.uid once read (owned): it owns the history entries */
};

/* Starts reading the Node at once, then every refresh_usec (sooner while it fails). */
int node_room_start(struct node_room *n, sd_event *event, struct kube_client *kube,
		    struct agent_metrics *metrics, const char *node_name, uint64_t refresh_usec);
void node_room_stop(struct node_room *n);

/* Allocatable minus the requests of every other pod bound here that has not terminated (the watch
 * caches them all, managed or not), as the scheduler counts them; -1 while the Node cannot be
 * read. The pod's own other containers are decide's to subtract. */
struct decide_node node_room_for(const struct node_room *n, const struct kube_pod *self);
