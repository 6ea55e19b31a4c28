/* Keeping, carrying and reporting each container's budget of cooldown-bypassing grows. */
#include "agent/bypass_budget.h"

#include <stdio.h>
#include <string.h>

#include "agent/agent_metrics.h"
#include "agent/events.h"
#include "agent/last_resize.h"
#include "agent/util/log.h"

/* Drops the grows that left the window (a clock set back keeps them: decide counts them). */
static void prune(struct agent_container *c, uint64_t window_usec, uint64_t now_usec)
{
	size_t kept = 0;

	for (size_t i = 0; i < c->resize.n_bypass_grows; i++) {
		uint64_t t = c->resize.bypass_grows_usec[i];

		if (t > now_usec || now_usec - t < window_usec)
			c->resize.bypass_grows_usec[kept++] = t;
	}
	c->resize.n_bypass_grows = kept;
}

void bypass_budget_record(struct agent *a, struct agent_container *c, uint64_t now_usec)
{
	prune(c, a->config.decide.bypass_window_usec, now_usec);
	if (c->resize.n_bypass_grows == LAST_RESIZE_MAX_GROWS) {
		memmove(c->resize.bypass_grows_usec, c->resize.bypass_grows_usec + 1,
			(LAST_RESIZE_MAX_GROWS - 1) * sizeof(uint64_t));
		c->resize.n_bypass_grows--;
	}
	c->resize.bypass_grows_usec[c->resize.n_bypass_grows++] = now_usec;
	/* The budget was not spent, or this grow could not have happened: a new spend comes. */
	c->resize.bypass_budget_warned = false;
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

void bypass_budget_grows(const struct agent *a, const struct agent_pod *p, uint64_t now_usec,
			 struct last_resize_grows *ret)
{
	for (size_t i = 0; i < p->n_containers; i++) {
		struct agent_container *c = &p->containers[i];

		prune(c, a->config.decide.bypass_window_usec, now_usec);
		ret[i] = (struct last_resize_grows){ c->name, c->resize.bypass_grows_usec,
						     c->resize.n_bypass_grows };
	}
}
