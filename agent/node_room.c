/* This node's room for requests: its Node's allocatable, re-read periodically, minus the requests
 * of the other pods bound here. */
#include "agent/node_room.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent/agent_metrics.h"
#include "agent/kube/kube.h"
#include "agent/util/cleanup.h"
#include "agent/util/log.h"
#include "agent/util/quantity.h"
#include "agent/util/time.h"

/* A failed read is retried this soon (or at the refresh, if sooner): until then grows are
 * unclamped. */
#define NODE_RETRY_USEC (5 * USEC_PER_SEC)

static void node_schedule(struct node_room *n)
{
	uint64_t delay =
		n->failing && n->refresh_usec > NODE_RETRY_USEC ? NODE_RETRY_USEC : n->refresh_usec;
	int r = sd_event_source_set_time_relative(n->timer, delay);

	if (r >= 0)
		r = sd_event_source_set_enabled(n->timer, SD_EVENT_ONESHOT);
	if (r < 0)
		log_warning_errno(r, "Cannot schedule the next read of node %s: %m", n->node_name);
}

/* A node that is gone (forget) has nothing to offer; any other failure keeps the last good read:
 * allocatable only changes when the kubelet restarts with other reservations. reason labels the
 * metric. */
static void node_failed(struct node_room *n, const char *reason, bool forget, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static void node_failed(struct node_room *n, const char *reason, bool forget, const char *fmt, ...)
{
	char why[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	agent_metrics_node_read_error(n->metrics, reason);
	if (forget && n->known) {
		n->known = false;
		agent_metrics_node_allocatable(n->metrics, false, 0, 0);
	}
	if (!n->failing)
		log_warning("Cannot read node %s (%s): %s; %s", n->node_name, reason, why,
			    n->known ? "keeping its last allocatable"
				     : "grows are not held to the node's free allocatable");
	else
		log_debug("Still cannot read node %s (%s): %s", n->node_name, reason, why);
	n->failing = true;
}

static void on_node(const struct kube_result *res, void *userdata)
{
	struct node_room *n = userdata;
	char err[KUBE_ERRBUF] = "", cpu[32], mem[32];
	struct kube_node node;
	int r;

	n->in_flight = false;
	if (res->outcome != KUBE_OK)
		node_failed(n, kube_outcome_to_string(res->outcome), res->outcome == KUBE_NOT_FOUND,
			    "%s", res->message ? res->message : "no message");
	else if ((r = kube_node_parse(res->object, &node, err)) < 0)
		node_failed(n, r == -ENOMEM ? "no-memory" : "invalid", r != -ENOMEM, "%s",
			    r == -ENOMEM ? "out of memory" : err);
	else {
		if (!n->known || n->failing || node.cpu_allocatable != n->cpu_allocatable ||
		    node.memory_allocatable != n->memory_allocatable) {
			(void)quantity_format_cpu(node.cpu_allocatable, cpu, sizeof(cpu));
			(void)quantity_format_bytes(node.memory_allocatable, mem, sizeof(mem));
			log_info("Node %s allocatable: cpu %s, memory %s", node.name, cpu, mem);
		}
		n->known = true;
		n->failing = false;
		if (node.uid && (!n->uid || strcmp(n->uid, node.uid) != 0)) {
			free(n->uid);
			n->uid = TAKE_PTR(node.uid);
		}
		n->cpu_allocatable = node.cpu_allocatable;
		n->memory_allocatable = node.memory_allocatable;
		agent_metrics_node_allocatable(n->metrics, true, node.cpu_allocatable,
					       node.memory_allocatable);
		kube_node_done(&node);
	}
	node_schedule(n);
}

/* A periodic GET rather than a watch: allocatable changes only when the kubelet restarts, while
 * the Node object itself changes every few seconds (heartbeat conditions, images), which a watch
 * would stream in full; a GET needs only `get` on nodes. */
static int on_node_timer(sd_event_source *s, uint64_t usec, void *userdata)
{
	struct node_room *n = userdata;
	int r;

	if (n->in_flight)
		return 0;
	r = kube_get_node(n->kube, n->node_name, on_node, n);
	if (r < 0) {
		node_failed(n, "local", false, "cannot send the request: %s", strerror(-r));
		node_schedule(n);
		return 0;
	}
	n->in_flight = true;
	return 0;
}

int node_room_start(struct node_room *n, sd_event *event, struct kube_client *kube,
		    struct agent_metrics *metrics, const char *node_name, uint64_t refresh_usec)
{
	int r;

	*n = (struct node_room){ .kube = kube,
				 .metrics = metrics,
				 .node_name = node_name,
				 .refresh_usec = refresh_usec };
	r = sd_event_add_time_relative(event, &n->timer, CLOCK_MONOTONIC, 0, USEC_PER_MSEC,
				       on_node_timer, n);
	if (r < 0)
		return log_error_errno(r, "Cannot add a timer: %m");
	return sd_event_source_set_enabled(n->timer, SD_EVENT_ONESHOT);
}

void node_room_stop(struct node_room *n)
{
	n->timer = sd_event_source_disable_unref(n->timer);
	free(n->uid);
	n->uid = NULL;
}

struct decide_node node_room_for(const struct node_room *n, const struct kube_pod *self)
{
	int64_t cpu = 0, memory = 0;

	if (!n->known)
		return (struct decide_node){ .cpu_free_millis = -1,
					     .memory_free_bytes = -1,
					     .memory_allocatable_bytes = -1 };
	for (size_t i = 0; i < kube_client_n_pods(n->kube); i++) {
		const struct kube_pod *p = kube_client_pod_at(n->kube, i);

		if (strcmp(p->uid, self->uid) == 0 || p->phase == KUBE_PHASE_SUCCEEDED ||
		    p->phase == KUBE_PHASE_FAILED)
			continue;
		if (__builtin_add_overflow(cpu, kube_pod_requests(p, true), &cpu))
			cpu = INT64_MAX;
		if (__builtin_add_overflow(memory, kube_pod_requests(p, false), &memory))
			memory = INT64_MAX;
	}
	/* Overcommitted (requests above allocatable: a shrunk node, static pods): no room. */
	return (struct decide_node){
		.cpu_free_millis = n->cpu_allocatable > cpu ? n->cpu_allocatable - cpu : 0,
		.memory_free_bytes =
			n->memory_allocatable > memory ? n->memory_allocatable - memory : 0,
		.memory_allocatable_bytes = n->memory_allocatable,
	};
}
