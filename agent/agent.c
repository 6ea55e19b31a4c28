/* The agent's context and loop: pods from the API joined with cgroups, sampled, learned from, decided on. */
#include "agent/agent.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <systemd/sd-daemon.h>

#include "agent/actuate.h"
#include "agent/agent_metrics.h"
#include "agent/bypass_budget.h"
#include "agent/events.h"
#include "agent/fallback.h"
#include "agent/kube/kube.h"
#include "agent/node_room.h"
#include "agent/oom_kill.h"
#include "agent/last_resize.h"
#include "agent/util/cleanup.h"
#include "agent/util/log.h"
#include "agent/util/time.h"
#include "bpf/oomwatch_api.h"
#include "cgroup/limits.h"

/* What the daemon reads every tick, and nothing more: CPU use and throttling (cpu.stat), the
 * working set (memory.current − memory.stat's inactive_file), the limit it is judged against and
 * the pressure stall (memory.pressure, cpu.pressure). memory.events is watched by oomwatch
 * (inotify), memory.peak read at an OOM kill; the rest is `top`'s. */
#define AGENT_SAMPLED_FILES                                                                        \
	(CG_FILE_BIT(CG_FILE_CPU_STAT) | CG_FILE_BIT(CG_FILE_MEMORY_CURRENT) |                     \
	 CG_FILE_BIT(CG_FILE_MEMORY_STAT) | CG_FILE_BIT(CG_FILE_MEMORY_MAX) |                      \
	 CG_FILE_BIT(CG_FILE_MEMORY_PRESSURE) | CG_FILE_BIT(CG_FILE_CPU_PRESSURE))

static uint64_t realtime_usec(void)
{
	return now_usec(CLOCK_REALTIME);
}

/* ---- pods and containers ------------------------------------------------------------------ */

static void container_detach_cgroup(struct agent *a, struct agent_container *c)
{
	if (c->entry) {
		cg_sampler_remove(a->sampler, c->entry);
		c->entry = NULL;
	}
	if (c->oom_tracked_inode && a->oomwatch)
		(void)oomwatch_untrack(a->oomwatch, c->oom_tracked_inode);
	c->oom_tracked_inode = 0;
	if (c->cg && c->cg->userdata == c)
		c->cg->userdata = NULL;
	c->cg = NULL;
	/* A restarted container is a new cgroup starting from nothing: its first readings are not
	 * growth (read as a rate they would look like a leak and grow the limit for nothing), and
	 * throttling seen in the old one says nothing about the new. */
	signals_restart(&c->signals);
}

/* Starts sampling and OOM-watching the container's cgroup; new says it appeared while we run. */
static void container_attach_cgroup(struct agent *a, struct agent_container *c,
				    struct cg_container *cg, bool is_new)
{
	int r;

	if (c->cg == cg)
		return;
	container_detach_cgroup(a, c);
	c->cg = cg;
	cg->userdata = c;
	r = cg_sampler_add(a->sampler, cg->path, c, &c->entry);
	if (r < 0) {
		log_warning_errno(r, "Cannot sample %s/%s container %s (%s): %m", c->pod->namespace,
				  c->pod->name, c->name, cg->path);
		c->entry = NULL;
	}
	oom_kill_baseline(a, c, is_new);
	if (a->oomwatch) {
		r = oomwatch_track(a->oomwatch, cg->inode, cg_tree_fd(a->tree), cg->path,
				   is_new ? OOMWATCH_TRACK_NEW : 0, c);
		if (r < 0)
			log_warning_errno(r, "Cannot watch OOM kills of %s: %m", cg->path);
		else
			c->oom_tracked_inode = cg->inode;
	}
	log_debug("Tracking %s/%s container %s at %s", c->pod->namespace, c->pod->name, c->name,
		  cg->path);
}

/* Joins a pod's containers with the cgroups discovery found, by pod UID and container ID. */
static void pod_join_cgroups(struct agent *a, struct agent_pod *p, bool is_new)
{
	if (!a->layout)
		return;
	for (size_t i = 0; i < p->n_containers; i++) {
		struct agent_container *c = &p->containers[i];
		struct cg_container *cg = NULL;

		if (c->container_id)
			cg = cg_layout_find_container(a->layout, c->container_id);
		if (cg && strcmp(cg->pod->uid, p->uid) != 0)
			cg = NULL;
		if (cg)
			container_attach_cgroup(a, c, cg, is_new);
		else if (c->cg)
			container_detach_cgroup(a, c);
	}
}

static void container_done(struct agent *a, struct agent_container *c)
{
	c->resize.admission_timer = sd_event_source_disable_unref(c->resize.admission_timer);
	c->boost.deadline = sd_event_source_disable_unref(c->boost.deadline);
	container_detach_cgroup(a, c);
	agent_metrics_container_gone(a->metrics, c);
	free(c->name);
	free(c->container_id);
	free(c->hpa_cpu);
	free(c->hpa_memory);
}

static void pod_free(struct agent *a, struct agent_pod *p)
{
	for (size_t i = 0; i < p->n_containers; i++)
		container_done(a, &p->containers[i]);
	agent_metrics_pod_gone(a->metrics, p->namespace, p->name);
	free(p->containers);
	pol_done(&p->pol);
	free(p->annotation_pending);
	free(p->hpa_reported);
	free(p->uid);
	free(p->namespace);
	free(p->name);
	free(p);
}

static void pod_unlink(struct agent *a, struct agent_pod *p)
{
	for (struct agent_pod **pp = &a->pods; *pp; pp = &(*pp)->next)
		if (*pp == p) {
			*pp = p->next;
			return;
		}
}

/* What snug wrote on the pod in snug.io/last-resize for this container, so a restarted agent keeps
 * honouring the cooldown and the budget of grows inside it, and gives back a startup boost it
 * holds. A value that cannot be trusted (a far-future `at` would hold the pod in its cooldown for
 * ever) is ignored with a log line. True when the annotation names a boost (given back or not). */
static bool container_restore_last_resize(struct agent *a, const struct kube_pod *pod,
					  struct agent_container *c)
{
	struct last_resize lr;
	char problem[256];

	if (last_resize_parse(kube_pod_annotation(pod, LAST_RESIZE_ANNOTATION), c->name,
			      realtime_usec(), &lr, problem, sizeof(problem)) > 0)
		log_warning("Pod %s/%s: %s partly ignored for container %s: %s", pod->namespace,
			    pod->name, LAST_RESIZE_ANNOTATION, c->name, problem);
	bypass_budget_restore(c, &lr);
	agent_boost_restore(a, c, &lr.boost);
	return lr.boost.at_usec != 0;
}

static int pod_policy(struct agent *a, const struct kube_pod *pod, struct pol *ret)
{
	struct pol_annotation *ann =
		calloc(pod->n_annotations ? pod->n_annotations : 1, sizeof(*ann));
	int r;

	if (!ann)
		return -ENOMEM;
	for (size_t i = 0; i < pod->n_annotations; i++)
		ann[i] = (struct pol_annotation){ pod->annotations[i].key,
						  pod->annotations[i].value };
	r = pol_parse(ann, pod->n_annotations, &a->config.policy, ret);
	free(ann);
	return r;
}

/* Reports bad annotations once per pod: a log line, an Event on the pod, a metric. */
static void pod_report_policy_issues(struct agent *a, struct agent_pod *p,
				     const struct kube_pod *pod)
{
	char text[1024];

	if (p->pol.n_errors == 0) {
		if (p->bad_annotations)
			agent_metrics_bad_annotations(a->metrics, p->namespace, p->name, false);
		p->bad_annotations = false;
		return;
	}
	if (p->bad_annotations)
		return;
	p->bad_annotations = true;
	pol_issues_format(&p->pol, true, text, sizeof(text));
	log_warning("Pod %s/%s: %s", p->namespace, p->name, text);
	agent_metrics_bad_annotations(a->metrics, p->namespace, p->name, true);
	pod_event(a->kube, p, POD_EVENT_WARNING, "InvalidAnnotation", text);
}

/* A new tracked container of p, with its history and its last resize. */
static void pod_add_container(struct agent *a, struct agent_pod *p, const struct kube_pod *pod,
			      const struct kube_container *kc)
{
	struct agent_container *c = &p->containers[p->n_containers];
	struct agent_history *h;

	if (history_of(&a->histories, pod, kc->name, &h) < 0) {
		log_oom();
		return;
	}
	c->pod = p;
	c->name = strdup(kc->name);
	if (!c->name) {
		log_oom();
		return;
	}
	c->sidecar = kc->sidecar;
	c->history = h;
	history_sync_track(a, h, pod);
	rec_container_init(&c->rec, h->aggregate);
	/* A startup boost is for a start snug sees: not for a container that was running before
	 * (an agent restart), nor a second time for one an agent before this one boosted. */
	if (!container_restore_last_resize(a, pod, c) && pol_has_boost(&p->pol) &&
	    pol_selects_container(&p->pol, c->name) &&
	    (p->pol.mode == POL_MODE_IN_PLACE || p->pol.mode == POL_MODE_AUTO) && !kc->container_id)
		c->boost.state = AGENT_BOOST_WANTED;
	p->n_containers++;
}

/* Brings the agent's view of one pod up to date with the API's. */
static void pod_sync(struct agent *a, const struct kube_pod *pod)
{
	struct agent_pod *p = agent_find_pod(a, pod->uid);
	struct pol pol;
	bool managed;
	int r;

	r = pod_policy(a, pod, &pol);
	if (r < 0) {
		log_error_errno(r, "Cannot evaluate annotations of %s/%s: %m", pod->namespace,
				pod->name);
		return;
	}
	managed = (pol.mode != POL_MODE_OFF || pol.n_errors > 0) && !pod->deleting &&
		  (pod->phase == KUBE_PHASE_RUNNING || pod->phase == KUBE_PHASE_PENDING);
	if (a->fallback)
		fallback_pod_changed(a->fallback, pod, managed && pol.mode == POL_MODE_AUTO);
	if (!managed) {
		pol_done(&pol);
		if (p) {
			log_info("Pod %s/%s is no longer managed", p->namespace, p->name);
			pod_unlink(a, p);
			pod_free(a, p);
		}
		return;
	}

	if (!p) {
		p = calloc(1, sizeof(*p));
		if (!p) {
			pol_done(&pol);
			log_oom();
			return;
		}
		p->agent = a;
		p->uid = strdup(pod->uid);
		p->namespace = strdup(pod->namespace);
		p->name = strdup(pod->name);
		p->containers = calloc(pod->n_containers + pod->n_init_containers + 1,
				       sizeof(*p->containers));
		if (!p->uid || !p->namespace || !p->name || !p->containers) {
			pol_done(&pol);
			pod_free(a, p);
			log_oom();
			return;
		}
		p->next = a->pods;
		a->pods = p;
		log_info("Managing pod %s/%s (mode %s)", p->namespace, p->name,
			 pol_mode_to_string(pol.mode));
	} else
		pol_done(&p->pol);
	p->pol = pol;
	pod_report_policy_issues(a, p, pod);
	/* Known before the first decision needs them (a LIST per namespace and --hpa-refresh). */
	hpa_cache_refresh(a, p->namespace);

	/* Containers of a pod spec never change; the first sync creates them: the app containers
	 * and the native sidecars, which run beside them for the pod's life. */
	if (p->n_containers == 0)
		for (size_t i = 0; i < pod->n_containers + pod->n_init_containers; i++) {
			const struct kube_container *kc =
				i < pod->n_containers
					? &pod->containers[i]
					: &pod->init_containers[i - pod->n_containers];

			if (i >= pod->n_containers && !kc->sidecar)
				continue;
			pod_add_container(a, p, pod, kc);
		}
	for (size_t i = 0; i < p->n_containers; i++) {
		struct agent_container *c = &p->containers[i];
		const struct kube_container *kc = kube_pod_container(pod, c->name);
		const char *id = kc && kc->container_id ? kc->container_id : NULL;

		if ((id == NULL) != (c->container_id == NULL) ||
		    (id && strcmp(id, c->container_id) != 0)) {
			/* Restarted: a new cgroup. The history stays (it is the identity's). */
			free(c->container_id);
			c->container_id = id ? strdup(id) : NULL;
			container_detach_cgroup(a, c);
		}
	}
	pod_join_cgroups(a, p, a->ready);
	act_pod_status(a, p, pod);
	for (size_t i = 0; i < p->n_containers; i++)
		if (p->containers[i].boost.state != AGENT_BOOST_NONE &&
		    p->containers[i].boost.state != AGENT_BOOST_DONE)
			agent_boost_follow(a, &p->containers[i],
					   kube_pod_container(pod, p->containers[i].name));
	/* An OOM kill that came while a resize was in flight (or whose resize met a conflict) waits
	 * for the pod as it is now: this update is it, so decide at once. */
	for (size_t i = 0; i < p->n_containers; i++) {
		struct agent_container *c = &p->containers[i];

		if (c->oom_pending && !c->resize.in_flight && c->cg)
			agent_decide_container(a, c, AGENT_TRIGGER_OOM_KILL);
	}
}

static void on_pod_added(const struct kube_pod *pod, void *userdata)
{
	pod_sync(userdata, pod);
}

static void on_pod_updated(const struct kube_pod *old, const struct kube_pod *pod, void *userdata)
{
	pod_sync(userdata, pod);
}

static void on_pod_deleted(const struct kube_pod *pod, void *userdata)
{
	struct agent *a = userdata;
	struct agent_pod *p = agent_find_pod(a, pod->uid);

	if (!p)
		return;
	log_info("Pod %s/%s deleted", p->namespace, p->name);
	if (a->fallback)
		fallback_forget(a->fallback, p->uid);
	pod_unlink(a, p);
	pod_free(a, p);
}

static void on_pods_synced(void *userdata)
{
	struct agent *a = userdata;

	if (a->ready)
		return;
	a->ready = true;
	log_info("Pods of node %s synced; ready", a->config.node_name);
	(void)sd_notify(false, "READY=1\nSTATUS=Watching pods, sampling cgroups");
}

static void on_resize_path(enum kube_resize_path path, void *userdata)
{
	struct agent *a = userdata;

	log_info("In-place resize path: %s", kube_resize_path_to_string(path));
	agent_metrics_resize_path(a->metrics, kube_resize_path_to_string(path));
}

static const struct kube_watch_ops watch_ops = {
	.added = on_pod_added,
	.updated = on_pod_updated,
	.deleted = on_pod_deleted,
	.synced = on_pods_synced,
	.resize_path = on_resize_path,
};

/* ---- cgroup discovery ----------------------------------------------------------------------- */

static void on_layout(enum cg_layout_event ev, struct cg_pod *cgp, struct cg_container *cgc,
		      void *userdata)
{
	struct agent *a = userdata;
	struct agent_pod *p;

	switch (ev) {
	case CG_LAYOUT_CONTAINER_APPEARED:
		p = agent_find_pod(a, cgp->uid);
		if (p)
			pod_join_cgroups(a, p, true);
		break;
	case CG_LAYOUT_CONTAINER_VANISHED:
		if (cgc->userdata)
			container_detach_cgroup(a, cgc->userdata);
		break;
	case CG_LAYOUT_POD_APPEARED:
	case CG_LAYOUT_POD_VANISHED:
		break;
	}
}

static void rescan(struct agent *a)
{
	int r = cg_layout_scan(a->layout, on_layout, a);

	if (r < 0)
		log_warning_errno(r, "Scanning the cgroup tree failed: %m");
	agent_metrics_tracked(a->metrics, cg_sampler_n_entries(a->sampler));
}

static int on_layout_io(sd_event_source *s, int fd, uint32_t revents, void *userdata)
{
	struct agent *a = userdata;

	if (cg_layout_watch_drain(a->layout) > 0)
		rescan(a);
	return 0;
}

static int on_rescan_timer(sd_event_source *s, uint64_t usec, void *userdata)
{
	struct agent *a = userdata;

	rescan(a);
	return sd_event_source_set_time_relative(s, a->config.rescan_interval_usec);
}

/* ---- sampling ------------------------------------------------------------------------------ */

/* One sample of the container into its signals and its history. */
static void container_feed(struct agent *a, struct agent_container *c, const struct cg_sample *s,
			   int64_t wall_usec)
{
	struct signals_reading r = {
		.ts_usec = s->timestamp_usec,
		.have_memory_current = s->present & CG_FILE_BIT(CG_FILE_MEMORY_CURRENT),
		.have_working_set = s->present & CG_FILE_BIT(CG_FILE_MEMORY_STAT),
		.have_memory_max = s->present & CG_FILE_BIT(CG_FILE_MEMORY_MAX),
		.have_cpu = s->present & CG_FILE_BIT(CG_FILE_CPU_STAT),
		.memory_current = s->memory_current,
		.working_set = s->memory_working_set,
		.memory_max = s->memory_max,
		.cpu_usage_usec = s->cpu.usage_usec,
		.cpu_throttled_usec = s->cpu.throttled_usec,
		.have_memory_psi = s->present & CG_FILE_BIT(CG_FILE_MEMORY_PRESSURE),
		.have_memory_psi_full = (s->present & CG_FILE_BIT(CG_FILE_MEMORY_PRESSURE)) &&
					s->memory_pressure.has_full,
		.have_cpu_psi = s->present & CG_FILE_BIT(CG_FILE_CPU_PRESSURE),
		.memory_some_usec = s->memory_pressure.some.total_usec,
		.memory_full_usec = s->memory_pressure.full.total_usec,
		.cpu_some_usec = s->cpu_pressure.some.total_usec,
	};
	const struct signals_windows windows = {
		.throttle_usec = a->config.decide.throttle_window_usec,
		.stall_usec = a->config.decide.psi_window_usec,
		.over_request_usec = a->config.decide.over_request_window_usec,
	};
	bool cpu_rate;

	if (!c->history->first_reading_usec)
		c->history->first_reading_usec = wall_usec;
	cpu_rate = signals_feed(&c->signals, &r, &windows);
	/* An empty cgroup (before the first exec, after a kill) has no working set to learn from,
	 * and VPA's model keeps a 0 peak for the rest of its 24 h interval: no later peak, not even
	 * an OOM bump, would count. */
	if (r.have_memory_current && r.have_working_set && r.working_set > 0 &&
	    rec_container_add_memory_reading(&c->rec, wall_usec, (int64_t)r.working_set) > 0)
		c->history->dirty = c->history->shared_dirty = true;
	if (cpu_rate && rec_container_add_cpu_reading(&c->rec, wall_usec, c->signals.cpu_cores) > 0)
		c->history->dirty = c->history->shared_dirty = true;
}

static int on_sample_timer(sd_event_source *s, uint64_t usec, void *userdata)
{
	struct agent *a = userdata;
	uint64_t t0 = now_usec(CLOCK_MONOTONIC);
	int64_t wall = (int64_t)realtime_usec();
	int r;

	a->last_tick_usec = t0;
	(void)sd_event_source_set_time(s, usec + a->config.sample_interval_usec);

	r = cg_sampler_tick(a->sampler);
	if (r < 0) {
		log_warning_errno(r, "Sampling tick failed: %m");
		return 0;
	}
	for (size_t i = 0; i < cg_sampler_n_entries(a->sampler); i++) {
		struct cg_sampler_entry *e = cg_sampler_entry_at(a->sampler, i);
		const struct cg_sample *sample = cg_sampler_entry_sample(e);
		struct agent_container *c = cg_sampler_entry_userdata(e);

		if (sample->error)
			continue; /* vanished: the next rescan detaches it */
		container_feed(a, c, sample, wall);
		if (signals_throttled(&c->signals, a->config.decide.throttle_window_usec,
				      a->config.decide.throttle_ratio))
			agent_decide_container(a, c, AGENT_TRIGGER_THROTTLE);
		else if (signals_memory_near_limit(&c->signals, a->config.pressure_lookahead_usec,
						   a->config.decide.pressure_working_set) ||
			 signals_memory_stalled(&c->signals, a->config.decide.psi_window_usec,
						a->config.decide.psi_memory_some,
						a->config.decide.pressure_near))
			/* Checked every sample, not every --decide-interval: a leak does not wait. */
			agent_decide_container(a, c, AGENT_TRIGGER_MEMORY_PRESSURE);
	}
	agent_metrics_sample_duration(a->metrics, now_usec(CLOCK_MONOTONIC) - t0);
	return 0;
}

/* ---- decisions ------------------------------------------------------------------------------- */

static int on_decide_timer(sd_event_source *s, uint64_t usec, void *userdata)
{
	struct agent *a = userdata;

	for (struct agent_pod *p = a->pods; p; p = p->next)
		for (size_t i = 0; i < p->n_containers; i++)
			if (p->containers[i].cg)
				agent_decide_container(a, &p->containers[i],
						       AGENT_TRIGGER_PERIODIC);
	return sd_event_source_set_time_relative(s, a->config.decide_interval_usec);
}

static int on_checkpoint_timer(sd_event_source *s, uint64_t usec, void *userdata)
{
	struct agent *a = userdata;

	(void)history_save(&a->histories);
	return sd_event_source_set_time_relative(s, a->config.checkpoint_interval_usec);
}

static int on_signal(sd_event_source *s, const struct signalfd_siginfo *si, void *userdata)
{
	struct agent *a = userdata;

	log_info("Received %s, saving history and exiting", strsignal((int)si->ssi_signo));
	(void)sd_notify(false, "STOPPING=1");
	return history_sync_exit(a);
}

/* ---- life cycle ---------------------------------------------------------------------------- */

/* accuracy_usec is explicit: sd-event's default (0) means 250 ms of slack. */
static int add_timer(struct agent *a, sd_event_source **ret, uint64_t first_usec,
		     uint64_t accuracy_usec, sd_event_time_handler_t cb)
{
	int r = sd_event_add_time_relative(a->event, ret, CLOCK_MONOTONIC, first_usec,
					   accuracy_usec, cb, a);
	if (r < 0)
		return log_error_errno(r, "Cannot add a timer: %m");
	return 0;
}

static int setup_cgroups(struct agent *a)
{
	uint64_t old_limit, new_limit;
	int r;

	r = cg_tree_open(a->config.cgroup_root, &a->tree);
	if (r < 0)
		return log_error_errno(r, "Cannot open the cgroup tree at %s: %m",
				       a->config.cgroup_root);
	r = cg_layout_new(a->tree, &a->layout);
	if (r < 0)
		return log_error_errno(r, "Cannot set up cgroup discovery: %m");
	r = cg_limits_new(a->tree, a->event, &a->limits);
	if (r < 0)
		return log_error_errno(r, "Cannot set up the cgroup limit writer: %m");
	r = cg_sampler_new(a->tree, a->config.sampler_mode, AGENT_SAMPLED_FILES, &a->sampler);
	if (r < 0)
		return log_error_errno(r, "Cannot set up the cgroup sampler: %m");
	log_info("Sampling cgroups under %s every %.3gs with %s", a->config.cgroup_root,
		 (double)a->config.sample_interval_usec / 1e6,
		 cg_sampler_mode_to_string(cg_sampler_mode(a->sampler)));
	r = cg_raise_nofile(cg_sampler_fds_needed(AGENT_SAMPLED_FILES, 1000), &old_limit,
			    &new_limit);
	if (r >= 0 && new_limit != old_limit)
		log_info("Raised RLIMIT_NOFILE from %" PRIu64 " to %" PRIu64
			 " for the sampler's kept fds",
			 old_limit, new_limit);
	r = cg_layout_watch_fd(a->layout);
	if (r >= 0) {
		r = sd_event_add_io(a->event, &a->layout_io, r, EPOLLIN, on_layout_io, a);
		if (r < 0)
			log_warning_errno(r, "No inotify wakeups for cgroup changes: %m");
	}
	return 0;
}

int agent_new(struct agent_config *config, struct agent **ret)
{
	struct agent *a = calloc(1, sizeof(*a));
	struct oomwatch_config owc = { 0 };
	struct kube_config *kcfg = NULL;
	struct kube_options kopts = { 0 };
	sigset_t mask;
	int r;

	if (!a) {
		agent_config_done(config);
		return log_oom();
	}
	a->config = *config;
	*config = (struct agent_config){ 0 };
	a->redecide = agent_decide_container;

	r = sd_event_default(&a->event);
	if (r < 0)
		goto fail;
	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	if ((r = sd_event_add_signal(a->event, &a->sigterm, SIGTERM, on_signal, a)) < 0 ||
	    (r = sd_event_add_signal(a->event, &a->sigint, SIGINT, on_signal, a)) < 0)
		goto fail;
	(void)sd_event_set_watchdog(a->event, true);

	r = agent_metrics_new(a, &a->metrics);
	if (r < 0)
		goto fail;

	r = history_store_open(&a->histories, a->config.state_dir, &a->config.tunables, a->metrics);
	if (r < 0)
		goto fail;

	r = setup_cgroups(a);
	if (r < 0)
		goto fail;

	owc.no_bpf = a->config.no_bpf;
	owc.cgroup_root = a->config.cgroup_root;
	r = oomwatch_new(a->event, &owc, oom_kill_on_record, a, &a->oomwatch);
	if (r < 0)
		log_warning_errno(r, "No OOM watching at all: %m");
	else {
		oomwatch_log_source(a->oomwatch);
		agent_metrics_oom_source(a->metrics,
					 oomwatch_source_to_string(oomwatch_source(a->oomwatch)));
	}

	r = kube_config_load(a->config.kubeconfig, &kcfg);
	if (r < 0) {
		log_error_errno(r, "No way to reach the API server (kubeconfig or in-cluster): %m");
		goto fail;
	}
	kopts.node_name = a->config.node_name;
	kopts.component = "snug-agent";
	r = kube_client_new(a->event, kcfg, &kopts, &a->kube);
	kube_config_free(kcfg);
	if (r < 0) {
		log_error_errno(r, "Cannot create the API client: %m");
		goto fail;
	}
	if (a->config.max_evictions > 0) {
		struct fallback_config fbc = {
			.node_name = a->config.node_name,
			.max_evictions = a->config.max_evictions,
			.interval_usec = a->config.eviction_interval_usec,
			.dry_run = a->config.dry_run,
			.flush_history = history_sync_flush,
			.flush_ctx = a,
		};

		r = fallback_new(a->event, a->kube, &fbc, &a->fallback);
		if (r < 0) {
			log_error_errno(r, "Cannot set up the eviction fallback: %m");
			goto fail;
		}
	}
	r = kube_client_watch_pods(a->kube, &watch_ops, a);
	if (r < 0) {
		log_error_errno(r, "Cannot watch pods: %m");
		goto fail;
	}

	r = agent_metrics_listen(a->metrics, a->config.listen);
	if (r < 0)
		goto fail;

	/* 1 ms where a signal or the start waits for the timer: samples (pressure and throttling are
	 * judged on each), decisions, the first rescan (finds the containers) and node read (bounds
	 * grows). The sampler wakes every second anyway, so coarser slack on these would save no
	 * wakeups. Checkpoints are minutes apart and nothing waits for them: 1 s slack lets them
	 * share a wakeup with a sample. */
	if ((r = add_timer(a, &a->sample_timer, 0, USEC_PER_MSEC, on_sample_timer)) < 0 ||
	    (r = add_timer(a, &a->decide_timer, a->config.decide_interval_usec, USEC_PER_MSEC,
			   on_decide_timer)) < 0 ||
	    (r = add_timer(a, &a->checkpoint_timer, a->config.checkpoint_interval_usec,
			   USEC_PER_SEC, on_checkpoint_timer)) < 0 ||
	    (r = add_timer(a, &a->rescan_timer, 0, USEC_PER_MSEC, on_rescan_timer)) < 0 ||
	    (r = node_room_start(&a->node_room, a->event, a->kube, a->metrics, a->config.node_name,
				 a->config.node_refresh_usec)) < 0 ||
	    (r = history_sync_start(a)) < 0)
		goto fail;
	a->hpas.refresh_usec = a->config.hpa_refresh_usec;
	(void)sd_event_source_set_enabled(a->sample_timer, SD_EVENT_ON);
	(void)sd_event_source_set_enabled(a->decide_timer, SD_EVENT_ON);
	(void)sd_event_source_set_enabled(a->checkpoint_timer, SD_EVENT_ON);
	(void)sd_event_source_set_enabled(a->rescan_timer, SD_EVENT_ON);

	*ret = a;
	return 0;
fail:
	agent_free(a);
	return r < 0 ? r : -EIO;
}

struct agent *agent_free(struct agent *a)
{
	if (!a)
		return NULL;
	while (a->pods) {
		struct agent_pod *p = a->pods;
		a->pods = p->next;
		pod_free(a, p);
	}
	agent_metrics_free(a->metrics);
	fallback_free(a->fallback);
	kube_client_free(a->kube);
	/* After the client: a LIST in flight holds its namespace's entry. */
	hpa_cache_free_all(&a->hpas);
	history_sync_free(a);
	act_free_inflight(a);
	oomwatch_free(a->oomwatch);
	sd_event_source_unref(a->sample_timer);
	sd_event_source_unref(a->decide_timer);
	sd_event_source_unref(a->checkpoint_timer);
	sd_event_source_unref(a->rescan_timer);
	node_room_stop(&a->node_room);
	sd_event_source_unref(a->layout_io);
	sd_event_source_unref(a->sigterm);
	sd_event_source_unref(a->sigint);
	cg_limits_free(a->limits);
	cg_sampler_free(a->sampler);
	cg_layout_free(a->layout);
	cg_tree_free(a->tree);
	history_store_close(&a->histories);
	sd_event_unref(a->event);
	agent_config_done(&a->config);
	free(a);
	return NULL;
}

int agent_run(struct agent *a)
{
	int r = sd_event_loop(a->event);

	if (r < 0)
		log_error_errno(r, "Event loop failed: %m");
	(void)history_save(&a->histories);
	return r;
}
