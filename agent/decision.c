/* One container's decision: the pod as the API (or, after a refusal, the kubelet) has it, the
 * recommendation, the signals and the node's room into decide(), and what comes out to actuation. */
#include "agent/agent.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent/actuate.h"
#include "agent/agent_metrics.h"
#include "agent/bypass_budget.h"
#include "agent/events.h"
#include "agent/kube/kube.h"
#include "agent/pod_model.h"
#include "agent/util/log.h"
#include "agent/util/time.h"

/* What the node's kernel and the kubelet told us of the container, for decide. */
static struct decide_signals signals_of(const struct agent *a, const struct agent_container *c)
{
	const struct signals_state *s = &c->signals;

	return (struct decide_signals){
		.oom_kill = c->oom_pending,
		.oom_bumped_memory = c->oom_pending ? c->oom_bumped_memory : -1,
		.memory_max_grew = s->memory_max_grew,
		.memory_usage = s->memory_current ? (int64_t)s->memory_current : -1,
		.memory_working_set = c->entry ? signals_projected_working_set(
							 s, a->config.pressure_lookahead_usec)
					       : -1,
		.memory_working_set_now = c->entry ? (int64_t)s->working_set : -1,
		.memory_cgroup_limit = s->memory_max && s->memory_max != CG_UNLIMITED
					       ? (int64_t)s->memory_max
					       : -1,
		.cpu_throttle_ratio = signals_throttle_ratio(s),
		.cpu_throttle_window_usec = s->throttle_window_usec,
		.memory_stall_some = s->memory_some.share,
		.memory_stall_full = s->memory_full.share,
		.cpu_stall_some = s->cpu_some.share,
		/* The memory window stands for all three: they are fed by the same samples. */
		.stall_window_usec = s->memory_some.span_usec,
		.memory_psi_known = s->psi_memory,
		.memory_over_request = s->over_request.share,
		.memory_over_request_window_usec = s->over_request.span_usec,
	};
}

/* The recommendation's bounds, once the history is long enough to act on (recommendations from a
 * few minutes of data swing; VPA's own updater waits for history too). Before that they are
 * reported but steer nothing, not even the other resource of a signal-driven resize. */
static void estimates_of(const struct agent *a, const struct agent_container *c, int64_t now_usec,
			 struct decide_input *in)
{
	const struct rec_recommendation *r = &c->recommendation;

	in->cpu = (struct decide_estimate){ -1, -1, -1 };
	in->memory = (struct decide_estimate){ -1, -1, -1 };
	if (!history_long_enough(c->history, a->config.min_history_usec, now_usec))
		return;
	if (!rec_decaying_histogram_is_empty(&history_view(c->history)->cpu))
		in->cpu =
			(struct decide_estimate){ r->target.cpu_millicores, r->lower.cpu_millicores,
						  r->upper.cpu_millicores };
	if (!rec_decaying_histogram_is_empty(&history_view(c->history)->memory))
		in->memory =
			(struct decide_estimate){ r->target.memory_bytes, r->lower.memory_bytes,
						  r->upper.memory_bytes };
}

/* The pod as decide sees it: the spec, or — when the kubelet deferred (or cannot fit) it, or our
 * last resize was put back because the kubelet never admitted it — what the kubelet actuated, with
 * no node room for larger requests, so that an OOM kill grows the limit alone, which the kubelet can
 * admit. */
static int pod_view(struct agent *a, const struct agent_container *c, const struct kube_pod *pod,
		    size_t index, struct pod_model *ret_model, struct decide_node *ret_node)
{
	bool deferred = pod->resize == KUBE_RESIZE_DEFERRED ||
			pod->resize == KUBE_RESIZE_INFEASIBLE || c->resize.spec_not_admitted;
	int r = pod_model_build(pod, deferred ? POD_MODEL_ACTUAL : POD_MODEL_SPEC, ret_model);

	if (r < 0)
		return r;
	/* No status resources reported: what snug put back is what the kernel holds. */
	if (c->resize.spec_not_admitted && c->resize.have_last_decision) {
		const struct kube_container *kc = kube_pod_container(pod, c->name);

		if (kc && !kc->has_actual) {
			if (index < pod->n_containers)
				ret_model->containers[index].res = c->resize.last_decision.old_res;
			else
				ret_model->init_containers[index - pod->n_containers].res =
					c->resize.last_decision.old_res;
		}
	}
	*ret_node = node_room_for(&a->node_room, pod);
	if (deferred)
		ret_node->cpu_free_millis = ret_node->memory_free_bytes = 0;
	return 0;
}

/* The startup boost's step for this decision, from where the container's boost stands. */
static struct decide_boost boost_of(const struct agent_pod *p, const struct agent_container *c)
{
	switch (c->boost.state) {
	case AGENT_BOOST_WANTED:
		return (struct decide_boost){
			.phase = DECIDE_BOOST_APPLY,
			.factor = p->pol.boost_factor > 1 ? p->pol.boost_factor : 0,
			.add_millis = p->pol.boost_factor > 1 ? 0 : p->pol.boost_add_millis,
		};
	case AGENT_BOOST_ACTIVE:
		return (struct decide_boost){ .phase = DECIDE_BOOST_HOLD };
	case AGENT_BOOST_RETURN_DUE:
		return (struct decide_boost){
			.phase = DECIDE_BOOST_RETURN,
			.original_cpu_request = c->boost.original_cpu_request,
			.original_cpu_limit = c->boost.original_cpu_limit,
		};
	case AGENT_BOOST_NONE:
	case AGENT_BOOST_DONE:
		break;
	}
	return (struct decide_boost){ .phase = DECIDE_BOOST_NONE };
}

static int on_boost_deadline(sd_event_source *s, uint64_t usec, void *userdata)
{
	struct agent_container *c = userdata;
	struct agent_pod *p = c->pod;

	c->boost.deadline = sd_event_source_disable_unref(c->boost.deadline);
	if (c->boost.state != AGENT_BOOST_ACTIVE)
		return 0;
	log_info("%s/%s %s: startup boost time is up", p->namespace, p->name, c->name);
	c->boost.state = AGENT_BOOST_RETURN_DUE;
	agent_decide_container(p->agent, c, AGENT_TRIGGER_STARTUP_BOOST);
	return 0;
}

/* The boost's time bound: until ≤ POL_BOOST_MAX_USEC (parse_boost_until() refuses more). */
static uint64_t boost_until_usec(const struct agent_pod *p)
{
	return p->pol.boost_until_usec ? p->pol.boost_until_usec : POL_BOOST_MAX_USEC;
}

/* The boost held, given `elapsed` ago: its time bound armed for what is left of it. */
static void boost_hold(struct agent *a, struct agent_container *c, uint64_t elapsed)
{
	struct agent_pod *p = c->pod;
	int r;

	c->boost.state = AGENT_BOOST_ACTIVE;
	c->boost.applied_usec = now_usec(CLOCK_MONOTONIC) - elapsed;
	c->boost.applied_realtime_usec = now_usec(CLOCK_REALTIME) - elapsed;
	r = sd_event_add_time_relative(a->event, &c->boost.deadline, CLOCK_MONOTONIC,
				       boost_until_usec(p) - elapsed, 0, on_boost_deadline, c);
	if (r < 0)
		log_warning_errno(r,
				  "%s/%s %s: no startup boost timer (%m): the boost ends when the "
				  "container is Ready",
				  p->namespace, p->name, c->name);
}

/* What the boost's decision did to its state: applied (the time bound armed), not possible (done,
 * said once), nothing left to give back (done). */
static void boost_decided(struct agent *a, struct agent_container *c,
			  const struct decide_decision *d)
{
	struct agent_pod *p = c->pod;

	if (c->boost.state == AGENT_BOOST_WANTED && d->kind != DECIDE_STARTUP_BOOST) {
		log_info("%s/%s %s: no startup boost: %s", p->namespace, p->name, c->name,
			 d->reason);
		c->boost.state = AGENT_BOOST_DONE;
	} else if (c->boost.state == AGENT_BOOST_WANTED) {
		c->boost.original_cpu_request = d->old_res.cpu_request;
		c->boost.original_cpu_limit = d->old_res.cpu_limit;
		boost_hold(a, c, 0);
	} else if (c->boost.state == AGENT_BOOST_RETURN_DUE && d->kind != DECIDE_STARTUP_BOOST_OVER)
		c->boost.state = AGENT_BOOST_DONE;
}

void agent_boost_restore(struct agent *a, struct agent_container *c,
			 const struct last_resize_boost *b)
{
	struct agent_pod *p = c->pod;
	uint64_t now = now_usec(CLOCK_REALTIME);
	uint64_t elapsed = now > b->at_usec ? now - b->at_usec : 0;

	if (b->at_usec == 0 || elapsed > POL_BOOST_MAX_USEC)
		return;
	c->boost.original_cpu_request = b->cpu_request;
	c->boost.original_cpu_limit = b->cpu_limit;
	if (elapsed >= boost_until_usec(p)) {
		c->boost.state = AGENT_BOOST_RETURN_DUE;
		c->boost.applied_usec = now_usec(CLOCK_MONOTONIC) - elapsed;
		c->boost.applied_realtime_usec = b->at_usec;
	} else
		boost_hold(a, c, elapsed);
	log_info("%s/%s %s: startup boost given %.0f s ago (%s): held until %s", p->namespace,
		 p->name, c->name, (double)elapsed / USEC_PER_SEC, LAST_RESIZE_ANNOTATION,
		 c->boost.state == AGENT_BOOST_RETURN_DUE
			 ? "now"
			 : "the container is Ready or its time is up");
}

void agent_boost_follow(struct agent *a, struct agent_container *c, const struct kube_container *kc)
{
	struct agent_pod *p = c->pod;

	if (!kc)
		return;
	if (c->boost.state == AGENT_BOOST_WANTED && !c->resize.in_flight) {
		agent_decide_container(a, c, AGENT_TRIGGER_STARTUP_BOOST);
		return;
	}
	if (c->boost.state == AGENT_BOOST_ACTIVE && kc->ready &&
	    (p->pol.boost_until_ready || !p->pol.boost_until_usec)) {
		log_info("%s/%s %s: Ready %.1f s after its startup boost", p->namespace, p->name,
			 c->name,
			 (double)(now_usec(CLOCK_MONOTONIC) - c->boost.applied_usec) /
				 USEC_PER_SEC);
		c->boost.state = AGENT_BOOST_RETURN_DUE;
	}
	if (c->boost.state != AGENT_BOOST_RETURN_DUE)
		return;
	/* Given back once the spec says so (a resize lost to an API error is sent again). */
	if (kc->spec.cpu_limit == c->boost.original_cpu_limit &&
	    kc->spec.cpu_request == c->boost.original_cpu_request) {
		c->boost.state = AGENT_BOOST_DONE;
		c->boost.deadline = sd_event_source_disable_unref(c->boost.deadline);
		return;
	}
	agent_decide_container(a, c, AGENT_TRIGGER_STARTUP_BOOST);
}

static bool same_name(const char *a, const char *b)
{
	return a == b || (a && b && strcmp(a, b) == 0);
}

static void set_name(char **dst, const char *v)
{
	if (same_name(*dst, v))
		return;
	free(*dst);
	*dst = v ? strdup(v) : NULL;
	if (v && !*dst)
		log_oom();
}

/* Keeps which HPAs hold this container's requests (for /recommendations) and says so once per
 * pod, in the log and with an Event, whenever that changes. */
static void note_hpa(struct agent *a, struct agent_pod *p, struct agent_container *c,
		     const char *cpu, const char *memory)
{
	char key[512], msg[768];

	set_name(&c->hpa_cpu, cpu);
	set_name(&c->hpa_memory, memory);
	if (!cpu && !memory)
		return;
	if (cpu && memory && strcmp(cpu, memory) == 0)
		snprintf(key, sizeof(key),
			 "HorizontalPodAutoscaler %s scales on cpu and memory "
			 "utilization",
			 cpu);
	else if (cpu && memory)
		snprintf(key, sizeof(key),
			 "HorizontalPodAutoscalers %s and %s scale on cpu and "
			 "memory utilization",
			 cpu, memory);
	else
		snprintf(key, sizeof(key), "HorizontalPodAutoscaler %s scales on %s utilization",
			 cpu ? cpu : memory, cpu ? "cpu" : "memory");
	if (p->hpa_reported && strcmp(p->hpa_reported, key) == 0)
		return;
	free(p->hpa_reported);
	p->hpa_reported = strdup(key);
	snprintf(msg, sizeof(msg),
		 "%s, which divides usage by the request: snug keeps the %s request%s of "
		 "container %s and only raises limits (OOM kills, memory pressure, CPU "
		 "throttling)",
		 key,
		 cpu && memory ? "cpu and memory"
		 : cpu	       ? "cpu"
			       : "memory",
		 cpu && memory ? "s" : "", c->name);
	log_info("Pod %s/%s: %s", p->namespace, p->name, msg);
	pod_event(a->kube, p, POD_EVENT_NORMAL, "RequestKeptForHPA", msg);
}

/* The pod's container of that name as decide numbers them (app containers first, then the init
 * containers: a native sidecar's index); NULL for a plain init container or an unknown name. */
static const struct kube_container *decided_container(const struct kube_pod *pod, const char *name,
						      size_t *index)
{
	for (size_t i = 0; i < pod->n_containers + pod->n_init_containers; i++) {
		const struct kube_container *kc =
			i < pod->n_containers ? &pod->containers[i]
					      : &pod->init_containers[i - pod->n_containers];

		if (strcmp(kc->name, name) == 0 && (i < pod->n_containers || kc->sidecar)) {
			*index = i;
			return kc;
		}
	}
	return NULL;
}

void agent_decide_container(struct agent *a, struct agent_container *c, enum agent_trigger trigger)
{
	const struct kube_container *kc;
	const char *hpa_cpu, *hpa_memory;
	struct agent_pod *p = c->pod;
	const struct kube_pod *pod;
	struct pod_model model;
	struct pol_container pc;
	struct decide_input in;
	struct decide_decision d;
	struct decide_node node;
	size_t index = SIZE_MAX;
	int r;

	/* One resize at a time: sent, or written and not yet admitted by the kubelet. A
	 * recommendation also waits until the kubelet actuated the last one: a second resize would
	 * supersede it, and the kernel would get the kubelet's old limits back meanwhile (the demo's
	 * grower, OOM-killed at its old pod limit when a CPU recommendation overtook its memory
	 * grow, once the cooldown became per resource). A signal (OOM kill, pressure) does not. */
	if (c->resize.in_flight || c->resize.kubelet_wait == AGENT_KUBELET_ADMISSION || !a->kube ||
	    (trigger == AGENT_TRIGGER_PERIODIC && c->resize.kubelet_wait != AGENT_KUBELET_IDLE))
		return;
	pod = kube_client_pod(a->kube, p->uid);
	if (!pod || pod->n_containers == 0)
		return;
	pol_container(&p->pol, c->name, &pc);
	if (pc.mode == POL_MODE_OFF)
		return;
	/* VPA divides its minimum among the containers it tracks in the pod: here the app containers
	 * and the native sidecars. */
	/* The workload's merged history comes with one LIST of the other nodes' entries when the
	 * workload appeared here; until it answers, this node's own history decides (an OOM kill
	 * or memory pressure never waits for the API), and its answer decides the workload's
	 * containers again (history_sync.c), so a new replica gets the merged target then. */
	(void)history_sync_known(a, c->history);
	r = rec_recommend(history_view(c->history), (int)p->n_containers, &c->recommendation);
	/* Whether an HPA divides by a request is known before anything is decided: one LIST of
	 * the namespace when the pod appeared (its answer decides a waiting OOM kill at once). */
	if (!hpa_cache_known(a, p->namespace)) {
		hpa_cache_refresh(a, p->namespace);
		log_debug("%s/%s %s: waits for the namespace's HorizontalPodAutoscalers",
			  p->namespace, p->name, c->name);
		return;
	}
	hpa_cache_refresh(a, p->namespace);
	hpa_cache_pins(a, pod, c->name, &hpa_cpu, &hpa_memory);
	note_hpa(a, p, c, pc.resources & POL_RESOURCE_CPU ? hpa_cpu : NULL,
		 pc.resources & POL_RESOURCE_MEMORY ? hpa_memory : NULL);
	r = rec_recommend(history_view(c->history), (int)pod->n_containers, &c->recommendation);
	if (r < 0)
		return;
	c->have_recommendation = true;
	agent_metrics_recommendation(a->metrics, c);
	kc = decided_container(pod, c->name, &index);
	if (!kc)
		return;
	/* The working set is measured against the request the spec has now (a resize, ours or
	 * anyone's, starts that measure over). */
	signals_set_memory_request(&c->signals, kc->spec.memory_request >= 0
							? kc->spec.memory_request
							: kc->spec.memory_limit);
	r = pod_view(a, c, pod, index, &model, &node);
	if (r < 0) {
		log_warning_errno(r, "No decision for %s/%s container %s: %m", p->namespace,
				  p->name, c->name);
		return;
	}

	in = (struct decide_input){
		.policy = &pc,
		.pod = model.pod,
		.index = index,
		.signals = signals_of(a, c),
		.node = node,
		.cpu_cooldown = { c->resize.cpu.last_usec, c->resize.cpu.bypass_grows_usec,
				  c->resize.cpu.n_bypass_grows },
		.memory_cooldown = { c->resize.memory.last_usec, c->resize.memory.bypass_grows_usec,
				     c->resize.memory.n_bypass_grows },
		.now_usec = now_usec(CLOCK_REALTIME),
		.config = &a->config.decide,
		.keep_memory_limit = a->keep_memory_limit,
		.boost = boost_of(p, c),
		.hpa = { .cpu = c->hpa_cpu, .memory = c->hpa_memory },
	};
	estimates_of(a, c, (int64_t)in.now_usec, &in);
	r = decide_container(&in, &d);
	pod_model_done(&model);
	c->signals.memory_max_grew = false;
	if (r < 0) {
		log_warning_errno(r, "No decision for %s/%s container %s: %m", p->namespace,
				  p->name, c->name);
		return;
	}
	bypass_budget_report(a, p, c, &d);
	if (in.boost.phase == DECIDE_BOOST_APPLY || in.boost.phase == DECIDE_BOOST_RETURN)
		boost_decided(a, c, &d);
	if (d.kind == DECIDE_NONE) {
		log_debug("%s/%s %s (%s): %s", p->namespace, p->name, c->name,
			  agent_trigger_to_string(trigger), d.reason);
		if (c->oom_pending && trigger == AGENT_TRIGGER_OOM_KILL)
			log_info("OOM kill in %s/%s %s, no resize: %s", p->namespace, p->name,
				 c->name, d.reason);
		/* A kill held back by the spent budget waits for the cooldown, not for the next. */
		if (!d.bypass_budget_spent)
			c->oom_pending = false;
		return;
	}
	act_apply(a, p, c, pod, &d);
}
