/* The resize decision for one container: policy + pod spec + recommendation + signals → what to
 * change, why, and in which order the cgroup files must be written. Pure: no I/O, no clock. */
#include "agent/decide.h"
#include "agent/decide-internal.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent/recommender/recommender.h"
#include "agent/util/quantity.h"
#include "agent/util/time.h"

#define MIB (INT64_C(1) << 20)

void decide_config_default(struct decide_config *ret)
{
	*ret = (struct decide_config){
		.min_change = 0.10,
		.cooldown_usec = 5 * 60 * USEC_PER_SEC,
		.throttle_ratio = 0.10,
		.throttle_heavy_ratio = 0.25,
		.throttle_window_usec = 60 * USEC_PER_SEC,
		.throttle_grow = 1.5,
		.pressure_near = 0.90,
		.pressure_grow = 1.25,
		.pressure_working_set = 0.95,
		.psi_memory_some = 0.10,
		.psi_cpu_some = 0.20,
		.psi_window_usec = 30 * USEC_PER_SEC,
		.memory_margin_bytes = 32 * MIB,
		.memory_margin_fraction = 0.10,
		.memory_round_bytes = MIB,
		.oom_min_bump_bytes = (int64_t)REC_OOM_MIN_BUMP_UP_BYTES,
		.oom_bump_ratio = REC_OOM_BUMP_UP_RATIO,
		/* Five grows at once let a container sized far too small catch up (five OOM
		 * bumps take 64Mi/128Mi to 564Mi/1128Mi, five pressure grows ×3); more within an
		 * hour is a leak rather than a sizing error, and a leak is then followed once per
		 * cooldown, up to the node's allocatable. */
		.bypass_budget = 5,
		.bypass_window_usec = 3600 * USEC_PER_SEC,
		.vpa_like_interval_usec = 60 * USEC_PER_SEC,
		/* Above the request more than half the time: the request is below the median of
		 * the working set, which is below VPA's own lower bound for memory (the 50th
		 * percentile of the peaks). Over a minute, as throttling must last. */
		.over_request_share = 0.5,
		.over_request_window_usec = 60 * USEC_PER_SEC,
	};
}

const char *decide_kind_to_string(enum decide_kind k)
{
	switch (k) {
	case DECIDE_NONE:
		return "none";
	case DECIDE_OOM:
		return "oom";
	case DECIDE_PRESSURE:
		return "pressure";
	case DECIDE_THROTTLE:
		return "throttle";
	case DECIDE_STARTUP_BOOST:
		return "startup-boost";
	case DECIDE_STARTUP_BOOST_OVER:
		return "startup-boost-over";
	case DECIDE_RECOMMENDATION:
		return "recommendation";
	}
	return "invalid";
}

const char *decide_file_to_string(enum decide_file f)
{
	switch (f) {
	case DECIDE_FILE_MEMORY_MAX:
		return "memory.max";
	case DECIDE_FILE_CPU_MAX:
		return "cpu.max";
	case DECIDE_FILE_CPU_WEIGHT:
		return "cpu.weight";
	}
	return "invalid";
}

static bool is_grow(int64_t old, int64_t new)
{
	/* -1 is "max", above everything. */
	if (old == new)
		return false;
	if (new < 0)
		return true;
	if (old < 0)
		return false;
	return new > old;
}

static void add_step(struct decide_decision *d, enum decide_level level, enum decide_file file,
		     int64_t old, int64_t value)
{
	if (old == value || d->n_steps >= DECIDE_MAX_STEPS)
		return;
	d->steps[d->n_steps++] = (struct decide_step){
		.level = level, .file = file, .old_value = old, .value = value
	};
}

/* kubelet's order, per resource (memory, then CPU) and per file: a growing pod value is written
 * before the container's, a shrinking one after, so the pod cgroup never holds less than the sum
 * of its children. */
static void plan_steps(const struct decide_input *in, struct decide_decision *d)
{
	struct decide_pod_cgroup o, n;
	const struct resources *a = &d->old_res, *b = &d->new_res;

	/* The input was validated: these cannot fail. */
	(void)decide_pod_cgroup(&in->pod, in->index, &d->old_res, &o);
	(void)decide_pod_cgroup(&in->pod, in->index, &d->new_res, &n);
	if (is_grow(o.memory_max_bytes, n.memory_max_bytes))
		add_step(d, DECIDE_LEVEL_POD, DECIDE_FILE_MEMORY_MAX, o.memory_max_bytes,
			 n.memory_max_bytes);
	add_step(d, DECIDE_LEVEL_CONTAINER, DECIDE_FILE_MEMORY_MAX, a->memory_limit,
		 b->memory_limit);
	if (!is_grow(o.memory_max_bytes, n.memory_max_bytes))
		add_step(d, DECIDE_LEVEL_POD, DECIDE_FILE_MEMORY_MAX, o.memory_max_bytes,
			 n.memory_max_bytes);

	if (is_grow(o.cpu_max_millis, n.cpu_max_millis))
		add_step(d, DECIDE_LEVEL_POD, DECIDE_FILE_CPU_MAX, o.cpu_max_millis,
			 n.cpu_max_millis);
	if (n.cpu_weight_millis > o.cpu_weight_millis)
		add_step(d, DECIDE_LEVEL_POD, DECIDE_FILE_CPU_WEIGHT, o.cpu_weight_millis,
			 n.cpu_weight_millis);
	add_step(d, DECIDE_LEVEL_CONTAINER, DECIDE_FILE_CPU_MAX, a->cpu_limit, b->cpu_limit);
	add_step(d, DECIDE_LEVEL_CONTAINER, DECIDE_FILE_CPU_WEIGHT, decide_max64(a->cpu_request, 0),
		 decide_max64(b->cpu_request, 0));
	if (!is_grow(o.cpu_max_millis, n.cpu_max_millis))
		add_step(d, DECIDE_LEVEL_POD, DECIDE_FILE_CPU_MAX, o.cpu_max_millis,
			 n.cpu_max_millis);
	if (n.cpu_weight_millis < o.cpu_weight_millis)
		add_step(d, DECIDE_LEVEL_POD, DECIDE_FILE_CPU_WEIGHT, o.cpu_weight_millis,
			 n.cpu_weight_millis);
}

static bool valid_estimate(const struct decide_estimate *e)
{
	return decide_valid_value(e->target) && decide_valid_value(e->lower) &&
	       decide_valid_value(e->upper);
}

/* A share of wall time: 0..1 (NaN fails too). */
static bool valid_share(double v)
{
	return v >= 0 && v <= 1;
}

static bool valid_config(const struct decide_config *c)
{
	/* NaN fails every comparison below, so it is refused too. */
	return c->min_change >= 0 && c->throttle_ratio >= 0 && c->throttle_heavy_ratio >= 0 &&
	       c->throttle_grow >= 1 && c->throttle_grow <= 100 && c->pressure_near >= 0 &&
	       c->pressure_grow >= 1 && c->pressure_grow <= 100 && c->pressure_working_set >= 0 &&
	       c->memory_margin_bytes >= 0 && c->memory_margin_bytes <= DECIDE_VALUE_MAX &&
	       c->memory_margin_fraction >= 0 && c->memory_margin_fraction <= 100 &&
	       c->memory_round_bytes >= 1 && c->memory_round_bytes <= DECIDE_VALUE_MAX &&
	       c->oom_min_bump_bytes >= 0 && c->oom_min_bump_bytes <= DECIDE_VALUE_MAX &&
	       c->oom_bump_ratio >= 1 && c->oom_bump_ratio <= 100 && c->bypass_window_usec > 0 &&
	       valid_share(c->psi_memory_some) && valid_share(c->psi_cpu_some) &&
	       valid_share(c->over_request_share);
}

static void finish_none(struct decide_decision *d, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static void finish_none(struct decide_decision *d, const char *fmt, ...)
{
	va_list ap;

	d->kind = DECIDE_NONE;
	d->new_res = d->old_res;
	d->n_steps = 0;
	d->needs_restart = d->shrinks_memory_limit = d->bypass_cooldown = false;
	d->cpu_bypassed_cooldown = d->memory_bypassed_cooldown = false;
	va_start(ap, fmt);
	vsnprintf(d->reason, sizeof(d->reason), fmt, ap);
	va_end(ap);
}

/* A Burstable pod whose change happens to make every request equal its limit would become
 * Guaranteed, which the API refuses: keep the changed request one unit under its limit. */
static bool keep_burstable(const struct decide_input *in, struct decide_decision *d,
			   const struct decide_config *cfg, struct text *why)
{
	struct resources *r = &d->new_res;
	const struct resources *o = &d->old_res;
	int64_t unit = cfg->memory_round_bytes < MIB ? cfg->memory_round_bytes : MIB;

	if ((r->memory_request != o->memory_request || r->memory_limit != o->memory_limit) &&
	    r->memory_request == r->memory_limit && r->memory_limit > unit) {
		r->memory_request -= unit;
		decide_text_add(
			why, " (memory request kept under the limit so the pod stays Burstable)");
	} else if ((r->cpu_request != o->cpu_request || r->cpu_limit != o->cpu_limit) &&
		   r->cpu_request == r->cpu_limit && r->cpu_limit > 1) {
		r->cpu_request -= 1;
		decide_text_add(
			why, " (cpu request kept 1m under the limit so the pod stays Burstable)");
	}
	return decide_qos_with(&in->pod, in->index, r) == QOS_BURSTABLE;
}

/* How many of a resource's grows inside its cooldown fall in the budget's window; one stamped in
 * the future (a clock set back) counts. */
static unsigned recent_bypass_grows(const struct decide_cooldown *c, uint64_t now_usec,
				    const struct decide_config *cfg)
{
	unsigned n = 0;

	for (size_t i = 0; i < c->n_bypass_grows; i++) {
		uint64_t t = c->bypass_grows_usec[i];

		if (t > now_usec || now_usec - t < cfg->bypass_window_usec)
			n++;
	}
	return n;
}

/* Sets p's cooldown (in_cooldown, the time left, the budget) from its resource's own state. */
static void plan_cooldown(struct plan *p, const struct decide_cooldown *c, uint64_t now_usec,
			  uint64_t cooldown, const struct decide_config *cfg)
{
	uint64_t last = c->last_resize_usec;

	p->in_cooldown = last != 0 && (now_usec < last || now_usec - last < cooldown);
	p->cooldown_left_usec = 0;
	if (p->in_cooldown)
		p->cooldown_left_usec = cooldown - (now_usec > last ? now_usec - last : 0);
	p->budget_spent = recent_bypass_grows(c, now_usec, cfg) >= cfg->bypass_budget;
}

static bool valid_boost(const struct decide_boost *b)
{
	switch (b->phase) {
	case DECIDE_BOOST_NONE:
	case DECIDE_BOOST_HOLD:
		return true;
	case DECIDE_BOOST_APPLY:
		return (b->factor > 1 && b->factor <= 100 && b->add_millis == 0) ||
		       (b->factor == 0 && b->add_millis > 0 && decide_valid_value(b->add_millis));
	case DECIDE_BOOST_RETURN:
		return decide_valid_value(b->original_cpu_request) &&
		       decide_valid_value(b->original_cpu_limit);
	}
	return false;
}

static bool valid_input(const struct decide_input *in)
{
	return in->policy && decide_valid_pod(&in->pod) &&
	       decide_index_valid(&in->pod, in->index) &&
	       (in->cpu_cooldown.n_bypass_grows == 0 || in->cpu_cooldown.bypass_grows_usec) &&
	       (in->memory_cooldown.n_bypass_grows == 0 || in->memory_cooldown.bypass_grows_usec) &&
	       valid_estimate(&in->cpu) && valid_estimate(&in->memory) &&
	       decide_valid_value(in->signals.oom_bumped_memory) &&
	       decide_valid_value(in->signals.memory_usage) &&
	       decide_valid_value(in->signals.memory_cgroup_limit) &&
	       decide_valid_value(in->signals.memory_working_set) &&
	       in->signals.cpu_throttle_ratio >= 0 && in->signals.cpu_throttle_ratio <= 1e6 &&
	       valid_share(in->signals.memory_stall_some) &&
	       valid_share(in->signals.memory_stall_full) &&
	       valid_share(in->signals.cpu_stall_some) &&
	       valid_share(in->signals.memory_over_request) && valid_boost(&in->boost) &&
	       decide_valid_value(in->node.cpu_free_millis) &&
	       decide_valid_value(in->node.memory_free_bytes) &&
	       decide_valid_value(in->node.memory_allocatable_bytes);
}

/* Why the container is never resized, or NULL when it may be. */
static const char *never_resized(const struct decide_input *in)
{
	const struct pol_container *pc = in->policy;

	if (pc->mode == POL_MODE_OFF || (unsigned)pc->mode >= _POL_MODE_MAX)
		return "not managed (snug.io/mode off, invalid annotations, or not in "
		       "snug.io/containers)";
	if (in->pod.qos == QOS_BEST_EFFORT)
		return "BestEffort pod: never resized (its QoS class cannot change)";
	if (in->pod.qos == QOS_GUARANTEED && pc->controlled == POL_CONTROLLED_REQUESTS)
		return "Guaranteed pod with controlled-values=requests: requests cannot change "
		       "without the limits (the QoS class would change)";
	return NULL;
}

/* Each resource's plan, by the strongest signal that acts: memory an OOM kill, else pressure
 * (memory.max hit, the working set near the limit, or a memory stall), else the recommendation;
 * CPU sustained throttling (or throttling with a CPU stall), else the recommendation. With
 * snug.io/updater=vpa-like no signal acts: the recommendation alone, once per interval (an OOM kill
 * reaches it through the recommender's bumped memory peak, as in VPA). */
static void plan_resources(const struct decide_input *in, const struct decide_config *cfg,
			   const struct resources *cur, struct plan *mem, struct plan *cpu)
{
	const struct pol_container *pc = in->policy;
	bool vpa_like = pc->updater == POL_UPDATER_VPA_LIKE;
	uint64_t cooldown = vpa_like ? cfg->vpa_like_interval_usec : cfg->cooldown_usec;
	bool done = false;

	decide_plan_init(mem, false, in, cfg, cur);
	decide_plan_init(cpu, true, in, cfg, cur);
	/* Each resource its own cooldown and budget: a CPU raise on throttling says nothing about
	 * the memory the recommendation wants, and holds none of it (nor the other way round). */
	plan_cooldown(mem, &in->memory_cooldown, in->now_usec, cooldown, cfg);
	plan_cooldown(cpu, &in->cpu_cooldown, in->now_usec, cooldown, cfg);

	if ((pc->resources & POL_RESOURCE_MEMORY) && vpa_like) {
		if (in->signals.oom_kill || decide_pressure_seen(mem, &in->signals))
			decide_plan_skip(mem,
					 "memory signal ignored: snug.io/updater=vpa-like acts on "
					 "the recommendation only");
		decide_plan_recommendation(mem, &in->memory);
	} else if (pc->resources & POL_RESOURCE_MEMORY) {
		if (in->signals.oom_kill) {
			done = decide_plan_oom(mem, &in->signals);
			mem->bypass = done;
		} else if (decide_pressure_seen(mem, &in->signals))
			done = decide_plan_pressure(mem, &in->signals);
		if (!done)
			decide_plan_recommendation(mem, &in->memory);
	} else if (in->signals.oom_kill || decide_pressure_seen(mem, &in->signals))
		decide_plan_skip(mem,
				 "memory signal ignored: snug.io/resources leaves memory alone");

	if (in->boost.phase != DECIDE_BOOST_NONE) {
		/* The boost owns CPU while it lasts: no throttling raise or recommendation
		 * steps on it (the return would undo them). */
		if (in->boost.phase != DECIDE_BOOST_HOLD)
			decide_plan_boost(cpu, &in->boost);
		else
			decide_plan_skip(cpu, "cpu: startup boost in progress");
	} else if (pc->resources & POL_RESOURCE_CPU) {
		done = false;
		if (vpa_like && cpu->lim >= 0 && decide_cpu_starved(cfg, &in->signals))
			decide_plan_skip(cpu,
					 "cpu throttling ignored: snug.io/updater=vpa-like acts on "
					 "the recommendation only");
		else if (cpu->lim >= 0 && decide_cpu_starved(cfg, &in->signals))
			done = decide_plan_throttle(cpu, &in->signals);
		if (!done)
			decide_plan_recommendation(cpu, &in->cpu);
	}
}

/* The two plans into one change and one reason; memory-limit shrinks the API server refuses
 * (keep_memory_limit) keep the limit. */
static void combine(const struct decide_input *in, const struct plan *mem, const struct plan *cpu,
		    struct decide_decision *d, struct text *reason)
{
	bool keep_note = false;

	/* A plan that did not act changes nothing, whatever a rule that gave up left in it (with
	 * each resource's own cooldown the other one may act alone). */
	d->new_res.memory_request = mem->kind != DECIDE_NONE ? mem->new_req : mem->req;
	d->new_res.memory_limit = mem->kind != DECIDE_NONE ? mem->new_lim : mem->lim;
	d->new_res.cpu_request = cpu->kind != DECIDE_NONE ? cpu->new_req : cpu->req;
	d->new_res.cpu_limit = cpu->kind != DECIDE_NONE ? cpu->new_lim : cpu->lim;
	if (in->keep_memory_limit && d->old_res.memory_limit >= 0 &&
	    d->new_res.memory_limit < d->old_res.memory_limit &&
	    decide_target(&in->pod, in->index).memory_restart != DECIDE_RESTART_CONTAINER) {
		/* A Guaranteed pod's request must follow its limit, so its memory stays. */
		d->new_res.memory_limit = d->old_res.memory_limit;
		if (in->pod.qos == QOS_GUARANTEED)
			d->new_res.memory_request = d->old_res.memory_request;
		keep_note = true;
	}
	/* The strongest reason names the decision: a kill beats pressure beats throttling. */
	d->kind = mem->kind != DECIDE_NONE && (cpu->kind == DECIDE_NONE || mem->kind < cpu->kind)
			  ? mem->kind
			  : cpu->kind;
	/* Only a grow that its resource's running cooldown would have held spends that budget. */
	d->memory_bypassed_cooldown = mem->kind != DECIDE_NONE && mem->bypass && mem->in_cooldown;
	d->cpu_bypassed_cooldown = cpu->kind != DECIDE_NONE && cpu->bypass && cpu->in_cooldown;
	d->bypass_cooldown = d->memory_bypassed_cooldown || d->cpu_bypassed_cooldown;
	if (mem->kind != DECIDE_NONE)
		decide_text_add(reason, "%s", mem->change.buf);
	if (cpu->kind != DECIDE_NONE) {
		const char *c = cpu->change.buf;

		/* "recommendation: memory …; cpu …" reads better than the prefix twice. */
		if (mem->kind == DECIDE_RECOMMENDATION && cpu->kind == DECIDE_RECOMMENDATION)
			c += cpu->change_prefix_len;
		decide_text_add(reason, "%s%s", mem->kind != DECIDE_NONE ? "; " : "", c);
	}
	/* A signal that could not act still matters to whoever reads the Event. */
	if (mem->kind == DECIDE_NONE && in->signals.oom_kill && mem->skip.len)
		decide_text_add(reason, "; %s", mem->skip.buf);
	if (keep_note)
		decide_text_add(reason, "; memory limit kept (the API server refuses lowering it "
					"without resizePolicy RestartContainer)");
}

/* Whether the changed resources restart the container, and shrink its memory limit. */
static void mark_restart(const struct decide_input *in, struct decide_decision *d,
			 struct text *reason)
{
	const struct decide_container c = decide_target(&in->pod, in->index);
	const struct resources *o = &d->old_res, *n = &d->new_res;

	if ((n->cpu_request != o->cpu_request || n->cpu_limit != o->cpu_limit) &&
	    c.cpu_restart == DECIDE_RESTART_CONTAINER)
		d->needs_restart = true;
	if ((n->memory_request != o->memory_request || n->memory_limit != o->memory_limit) &&
	    c.memory_restart == DECIDE_RESTART_CONTAINER)
		d->needs_restart = true;
	d->shrinks_memory_limit = o->memory_limit >= 0 && n->memory_limit < o->memory_limit;
	if (d->needs_restart)
		decide_text_add(reason, "; restarts the container (resizePolicy RestartContainer)");
}

int decide_container(const struct decide_input *in, struct decide_decision *ret)
{
	struct decide_config defaults;
	const struct decide_config *cfg = in ? in->config : NULL;
	struct decide_decision d = { 0 };
	struct text reason = { d.reason, sizeof(d.reason), 0 };
	char wanted[DECIDE_REASON_MAX];
	enum qos_class before, after;
	struct plan mem, cpu;
	const char *never;

	if (!in || !ret || !valid_input(in))
		return -EINVAL;
	if (!cfg) {
		decide_config_default(&defaults);
		cfg = &defaults;
	}
	if (!valid_config(cfg))
		return -EINVAL;

	d.index = in->index;
	d.old_res = decide_normalize(decide_target(&in->pod, in->index).res);
	d.new_res = d.old_res;
	d.report_only = in->policy->mode == POL_MODE_RECOMMEND;
	never = never_resized(in);
	if (never) {
		finish_none(&d, "%s", never);
		goto done;
	}

	plan_resources(in, cfg, &d.old_res, &mem, &cpu);
	d.bypass_budget_spent = mem.held_by_budget || cpu.held_by_budget;
	if (mem.kind == DECIDE_NONE && cpu.kind == DECIDE_NONE) {
		finish_none(&d, "%s%s%s", mem.skip.buf, mem.skip.len && cpu.skip.len ? "; " : "",
			    cpu.skip.buf);
		if (!mem.skip.len && !cpu.skip.len)
			finish_none(&d, "nothing to do");
		goto done;
	}
	combine(in, &mem, &cpu, &d, &reason);

	before = decide_qos_with(&in->pod, SIZE_MAX, NULL);
	after = decide_qos_with(&in->pod, in->index, &d.new_res);
	if (after != before && !(before == QOS_BURSTABLE && keep_burstable(in, &d, cfg, &reason))) {
		memcpy(wanted, d.reason, sizeof(wanted));
		finish_none(&d, "refused: the change would make the pod %s (it is %s): %s",
			    qos_class_to_string(after), qos_class_to_string(before), wanted);
		goto done;
	}
	if (memcmp(&d.new_res, &d.old_res, sizeof(d.old_res)) == 0) {
		memcpy(wanted, d.reason, sizeof(wanted));
		finish_none(&d, "unchanged: %s", wanted);
		goto done;
	}
	mark_restart(in, &d, &reason);
	plan_steps(in, &d);
done:
	*ret = d;
	return 0;
}
