/* Signal math on the kernel's counters, per container: which limit an OOM kill came from. Pure: no
 * I/O, no clock; the agent reads the files and passes the numbers in. */
#include "agent/signals.h"

void signals_oom_init(struct signals_oom_state *s, uint64_t container_oom, uint64_t pod_oom)
{
	*s = (struct signals_oom_state){
		.known = true,
		.container_oom = container_oom,
		.pod_oom = pod_oom,
	};
}

enum signals_oom_cause signals_oom_classify(struct signals_oom_state *s, uint64_t now_usec,
					    const struct signals_oom_reading *r)
{
	enum signals_oom_cause cause;
	/* A counter that went down belongs to a recreated cgroup: count from zero. */
	bool container_grew =
		s->known ? r->container_oom != s->container_oom : r->container_oom > 0;
	bool pod_grew = r->pod_oom_known && (s->known ? r->pod_oom != s->pod_oom : r->pod_oom > 0);
	bool near_own_limit =
		r->container_limit > 0 &&
		(double)r->container_peak >= SIGNALS_OOM_NEAR_LIMIT * (double)r->container_limit;

	if (container_grew || (pod_grew && near_own_limit))
		cause = SIGNALS_OOM_CONTAINER_LIMIT;
	else if (pod_grew)
		cause = SIGNALS_OOM_POD_LIMIT;
	else if (s->last_kill_usec && now_usec >= s->last_kill_usec &&
		 now_usec - s->last_kill_usec < SIGNALS_OOM_SAME_EVENT_USEC)
		cause = s->last_cause;
	else
		cause = SIGNALS_OOM_NODE;
	s->known = true;
	s->container_oom = r->container_oom;
	if (r->pod_oom_known)
		s->pod_oom = r->pod_oom;
	s->last_kill_usec = now_usec;
	s->last_cause = cause;
	return cause;
}

const char *signals_oom_cause_to_string(enum signals_oom_cause c)
{
	switch (c) {
	case SIGNALS_OOM_CONTAINER_LIMIT:
		return "container-limit";
	case SIGNALS_OOM_POD_LIMIT:
		return "pod-limit";
	case SIGNALS_OOM_NODE:
		return "node";
	case _SIGNALS_OOM_CAUSE_MAX:
		break;
	}
	return "invalid";
}
