/* What an OOM kill or memory pressure in a managed container means: which limit the kill
 * enforced (memcg `oom` counters), into the history, and the decision it triggers. */
#include "agent/oom_kill.h"

#include <errno.h>
#include <stdio.h>

#include "agent/agent_metrics.h"
#include "agent/events.h"
#include "agent/kube/kube.h"
#include "agent/util/cleanup.h"
#include "agent/util/log.h"
#include "agent/util/time.h"
#include "cgroup/files.h"
#include "cgroup/tree.h"

/* memory.events of a cgroup (relative to the tree); -errno when it cannot be read. */
static int read_memcg_events(struct agent *a, const char *path, struct cg_memory_events *ret)
{
	_cleanup_close_ int fd = cg_tree_open_dir(a->tree, path);

	if (fd < 0)
		return fd;
	return cg_read_memory_events_at(fd, ret);
}

/* memory.events `oom` of a cgroup; -errno when it cannot be read. */
static int read_memcg_oom(struct agent *a, const char *path, uint64_t *ret)
{
	struct cg_memory_events e;
	int r = read_memcg_events(a, path, &e);

	if (r < 0)
		return r;
	*ret = e.oom;
	return 0;
}

void oom_kill_baseline(struct agent *a, struct agent_container *c, bool is_new)
{
	uint64_t container_oom = 0, pod_oom = 0;
	struct cg_memory_events own;

	(void)read_memcg_oom(a, c->cg->pod->path, &pod_oom);
	/* A new cgroup's events all happened since it appeared: its kills are counted. */
	if (is_new)
		signals_oom_new_cgroup(&c->signals.oom, pod_oom,
				       read_memcg_events(a, c->cg->path, &own) >= 0 &&
					       own.oom_kill > 0);
	else {
		(void)read_memcg_oom(a, c->cg->path, &container_oom);
		signals_oom_init(&c->signals.oom, container_oom, pod_oom);
	}
}

/* Which limit a kill in the container was enforcing, from the memcg `oom` counters read now (the
 * kernel counts them before it kills). */
static enum signals_oom_cause oom_cause(struct agent *a, struct agent_container *c,
					const struct oomwatch_record *rec)
{
	struct signals_oom_reading r = { 0 };
	enum signals_oom_cause cause;
	_cleanup_close_ int fd = -EBADF;
	uint64_t v;

	if (!c->cg)
		return SIGNALS_OOM_CONTAINER_LIMIT; /* nothing to tell by: as before */
	if (rec->source == OOMWATCH_SOURCE_MEMORY_EVENTS)
		r.container_oom = rec->counters.oom;
	else if (read_memcg_oom(a, c->cg->path, &r.container_oom) < 0)
		return SIGNALS_OOM_CONTAINER_LIMIT;
	r.pod_oom_known = read_memcg_oom(a, c->cg->pod->path, &r.pod_oom) >= 0;
	/* How close the container came to its own limit: memory.peak (5.19+), the victim's RSS,
	 * the last sample, whichever is highest. */
	fd = cg_tree_open_dir(a->tree, c->cg->path);
	if (fd >= 0 && cg_read_u64_or_max_at(fd, "memory.max", &v) >= 0 && v != CG_UNLIMITED)
		r.container_limit = v;
	if (fd >= 0 && cg_read_u64_at(fd, "memory.peak", &v) >= 0)
		r.container_peak = v;
	v = (rec->anon_rss_kb + rec->file_rss_kb + rec->shmem_rss_kb) * 1024;
	if (v > r.container_peak)
		r.container_peak = v;
	if (c->signals.working_set > r.container_peak)
		r.container_peak = c->signals.working_set;
	/* A kill just after snug raised the limit may have been at the old one (a spike faster than
	 * the write, seen on the real node): judge how close it came against the smaller. */
	if (c->resize.have_last_decision &&
	    (c->resize.kubelet_wait != AGENT_KUBELET_IDLE ||
	     now_usec(CLOCK_REALTIME) < c->resize.last_usec + SIGNALS_OOM_SAME_EVENT_USEC)) {
		int64_t old = c->resize.last_decision.old_res.memory_limit;

		if (old > 0 && (r.container_limit == 0 || (uint64_t)old < r.container_limit))
			r.container_limit = (uint64_t)old;
	}
	cause = signals_oom_classify(&c->signals.oom, now_usec(CLOCK_MONOTONIC), &r);
	agent_metrics_oom_cause(a->metrics, signals_oom_cause_to_string(cause));
	return cause;
}

/* A kill at the container's own limit: into the history, and a bigger limit at once. */
static void oom_at_container_limit(struct agent *a, struct agent_container *c,
				   const struct oomwatch_record *rec)
{
	struct agent_pod *p = c->pod;
	const struct kube_pod *pod = a->kube ? kube_client_pod(a->kube, p->uid) : NULL;
	const struct kube_container *kc = pod ? kube_pod_container(pod, c->name) : NULL;
	int64_t request = kc && kc->spec.memory_request > 0 ? kc->spec.memory_request : 0;
	int r;

	log_info("OOM kill in %s/%s container %s (%s%s%s)", p->namespace, p->name, c->name,
		 oomwatch_source_to_string(rec->source), rec->comm[0] ? ", " : "", rec->comm);
	r = rec_container_record_oom(&c->rec, (int64_t)now_usec(CLOCK_REALTIME), request);
	if (r < 0)
		log_debug_errno(r, "OOM not recorded in the history: %m");
	else
		c->history->dirty = c->history->shared_dirty = true;
	c->oom_pending = true;
	c->oom_bumped_memory = rec_container_max_memory_peak(&c->rec);
	if (!c->oom_seen_usec)
		c->oom_seen_usec = rec->kernel_ns ? rec->kernel_ns / NSEC_PER_USEC
						  : rec->seen_ns / NSEC_PER_USEC;
	agent_decide_container(a, c, AGENT_TRIGGER_OOM_KILL);
}

/* A kill the pod's or the node's limit forced: the container's own limit was not too small, so
 * neither its limit nor its history learns from it. */
static void oom_elsewhere(struct agent *a, struct agent_container *c,
			  const struct oomwatch_record *rec, enum signals_oom_cause cause)
{
	struct agent_pod *p = c->pod;
	char msg[256];

	snprintf(msg, sizeof(msg),
		 "OOM kill in container %s enforced the %s, not the container's own memory limit: "
		 "no resize",
		 c->name, cause == SIGNALS_OOM_POD_LIMIT ? "pod's memory limit" : "node's memory");
	log_info("%s/%s: %s (%s%s%s)", p->namespace, p->name, msg,
		 oomwatch_source_to_string(rec->source), rec->comm[0] ? ", " : "", rec->comm);
	pod_event(a->kube, p, POD_EVENT_WARNING, "OOMKillNotContainerLimit", msg);
}

void oom_kill_on_record(const struct oomwatch_record *rec, void *userdata)
{
	struct agent *a = userdata;
	struct agent_container *c = rec->container;

	if (rec->kind == OOMWATCH_KILL)
		agent_metrics_oom_kill(a->metrics, oomwatch_source_to_string(rec->source),
				       rec->kills);
	if (!c)
		return;
	if (rec->kind == OOMWATCH_KILL) {
		enum signals_oom_cause cause = oom_cause(a, c, rec);

		if (cause == SIGNALS_OOM_CONTAINER_LIMIT)
			oom_at_container_limit(a, c, rec);
		else
			oom_elsewhere(a, c, rec, cause);
	} else if (rec->max_delta > 0) {
		c->signals.memory_max_grew = true;
		/* A kill in the same read has its own record: the OOM bump decides, not pressure. */
		if (rec->oom_delta == 0 && rec->counters.oom_kill == c->oom_kills_seen)
			agent_decide_container(a, c, AGENT_TRIGGER_MEMORY_PRESSURE);
	}
	if (rec->kind == OOMWATCH_KILL || rec->oom_delta > 0)
		c->oom_kills_seen = rec->counters.oom_kill;
}
