/* Keeping, carrying and reporting each container's cooldowns (one per resource) and their budgets
 * of cooldown-bypassing grows. */
#include "agent/bypass_budget.h"

#include <stdio.h>
#include <string.h>

#include "agent/agent_metrics.h"
#include "agent/events.h"
#include "agent/last_resize.h"
#include "agent/util/log.h"

/* Drops the grows that left the window (a clock set back keeps them: decide counts them). */
static void prune(struct agent_cooldown *c, uint64_t window_usec, uint64_t now_usec)
{
	size_t kept = 0;

	for (size_t i = 0; i < c->n_bypass_grows; i++) {
		uint64_t t = c->bypass_grows_usec[i];

		if (t > now_usec || now_usec - t < window_usec)
			c->bypass_grows_usec[kept++] = t;
	}
	c->n_bypass_grows = kept;
}

static void record(struct agent *a, struct agent_cooldown *c, uint64_t now_usec)
{
	prune(c, a->config.decide.bypass_window_usec, now_usec);
	if (c->n_bypass_grows == LAST_RESIZE_MAX_GROWS) {
		memmove(c->bypass_grows_usec, c->bypass_grows_usec + 1,
			(LAST_RESIZE_MAX_GROWS - 1) * sizeof(uint64_t));
		c->n_bypass_grows--;
	}
	c->bypass_grows_usec[c->n_bypass_grows++] = now_usec;
}

void bypass_budget_record(struct agent *a, struct agent_container *c,
			  const struct decide_decision *d, uint64_t now_usec)
{
	if (d->cpu_bypassed_cooldown)
		record(a, &c->resize.cpu, now_usec);
	if (d->memory_bypassed_cooldown)
		record(a, &c->resize.memory, now_usec);
	/* The budget was not spent, or this grow could not have happened: a new spend comes. */
	if (d->bypass_cooldown)
		c->resize.bypass_budget_warned = false;
}

void bypass_budget_cooldown_start(struct agent_container *c, const struct decide_decision *d,
				  uint64_t now_usec)
{
	const struct resources *o = &d->old_res, *n = &d->new_res;
	bool cpu = n->cpu_request != o->cpu_request || n->cpu_limit != o->cpu_limit;
	bool memory = n->memory_request != o->memory_request || n->memory_limit != o->memory_limit;

	c->resize.last_usec = now_usec;
	/* A decision that names no change (none reaches here) holds both, to be safe. */
	if (cpu || !memory)
		c->resize.cpu.last_usec = now_usec;
	if (memory || !cpu)
		c->resize.memory.last_usec = now_usec;
}

void bypass_budget_report(struct agent *a, struct agent_pod *p, struct agent_container *c,
			  const struct decide_decision *d)
{
	char msg[DECIDE_REASON_MAX + 128];

	if (!d->bypass_budget_spent || c->resize.bypass_budget_warned)
		return;
	c->resize.bypass_budget_warned = true;
	snprintf(msg, sizeof(msg), "container %s: %s", c->name, d->reason);
	log_warning("%s/%s: budget of grows inside the cooldown spent: %s", p->namespace, p->name,
		    msg);
	agent_metrics_bypass_budget_spent(a->metrics);
	pod_event(a->kube, p, POD_EVENT_WARNING, "BypassBudgetSpent", msg);
}

static void restore(struct agent_cooldown *c, const struct last_resize_resource *r)
{
	c->last_usec = r->at_usec;
	memcpy(c->bypass_grows_usec, r->bypass_grows_usec, sizeof(c->bypass_grows_usec));
	c->n_bypass_grows = r->n_bypass_grows;
}

void bypass_budget_restore(struct agent_container *c, const struct last_resize *lr)
{
	c->resize.last_usec = lr->at_usec;
	restore(&c->resize.cpu, &lr->cpu);
	restore(&c->resize.memory, &lr->memory);
}

void bypass_budget_grows(const struct agent *a, const struct agent_pod *p, uint64_t now_usec,
			 struct last_resize_grows *ret)
{
	for (size_t i = 0; i < p->n_containers; i++) {
		struct agent_container *c = &p->containers[i];

		prune(&c->resize.cpu, a->config.decide.bypass_window_usec, now_usec);
		prune(&c->resize.memory, a->config.decide.bypass_window_usec, now_usec);
		ret[i] = (struct last_resize_grows){
			.container = c->name,
			.cpu = { c->resize.cpu.last_usec, c->resize.cpu.bypass_grows_usec,
				 c->resize.cpu.n_bypass_grows },
			.memory = { c->resize.memory.last_usec, c->resize.memory.bypass_grows_usec,
				    c->resize.memory.n_bypass_grows },
		};
	}
}
