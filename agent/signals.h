/* Signal math on the kernel's counters, per container: which limit an OOM kill came from. Pure: no
 * I/O, no clock; the agent reads the files and passes the numbers in. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

/* Which limit an OOM kill was enforcing. */
enum signals_oom_cause {
	SIGNALS_OOM_CONTAINER_LIMIT, /* the container's own memory.max: it needs a larger limit */
	SIGNALS_OOM_POD_LIMIT, /* the pod cgroup's memory.max (the sum, pod-level resources) */
	SIGNALS_OOM_NODE,      /* the whole node (global OOM) or a cgroup above the pod */
	_SIGNALS_OOM_CAUSE_MAX,
};

/* What the container's OOM classification remembers between kills. */
struct signals_oom_state {
	bool known;		 /* the counters below were read once */
	uint64_t container_oom;	 /* the container's memory.events `oom` at the last look */
	uint64_t pod_oom;	 /* the pod cgroup's memory.events `oom` at the last look */
	uint64_t last_kill_usec; /* CLOCK_MONOTONIC of the last kill classified, 0 = none */
	enum signals_oom_cause last_cause;
};

/* Kills this close after a classified one, with no new `oom` event, are the same OOM (a group
 * kill with memory.oom.group=1, which the kubelet sets on cgroup v2, takes every process). */
#define SIGNALS_OOM_SAME_EVENT_USEC (2 * 1000000ULL)

/* Sets the baseline: the `oom` counters of the container and pod cgroups when tracking starts. */
void signals_oom_init(struct signals_oom_state *s, uint64_t container_oom, uint64_t pod_oom);

/* What was read right after a kill: the `oom` counters, and how close the container itself
 * came to its own limit. */
struct signals_oom_reading {
	uint64_t container_oom;
	bool pod_oom_known; /* the pod's memory.events could be read */
	uint64_t pod_oom;
	uint64_t container_peak;  /* highest usage seen (memory.peak, the victim's RSS), bytes */
	uint64_t container_limit; /* the container's memory.max, 0 = none ("max") */
};

/*
 * Classifies a kill of one of the container's processes. The kernel counts a memcg's `oom` event
 * (mem_cgroup_oom → memcg_memory_event(MEMCG_OOM)) on the cgroup whose limit was hit and on its
 * ancestors, before it picks and kills the victim, and never on descendants; a global OOM counts
 * none. So the container's counter grew → its own limit; else the pod's grew → the pod's limit;
 * else the node. But the kubelet sets the pod's memory.max to the sum of its containers' limits
 * while the pod cgroup also holds the sandbox (pause) and the kernel memory of the container
 * cgroups themselves: a one-container pod reaching its limit hits the pod's first (seen on a real
 * 6.1 kernel). A kill at the pod's limit whose container came within SIGNALS_OOM_NEAR_LIMIT of
 * its own limit is therefore the container's. Updates the state.
 */
enum signals_oom_cause signals_oom_classify(struct signals_oom_state *s, uint64_t now_usec,
					    const struct signals_oom_reading *r);
#define SIGNALS_OOM_NEAR_LIMIT 0.90

const char *signals_oom_cause_to_string(enum signals_oom_cause c);
