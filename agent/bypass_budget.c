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

	for (size_t i = 0; i < c->n_bypass_grows; i++) {
		uint64_t t = c->bypass_grows_usec[i];

		if (t > now_usec || now_usec - t < window_usec)
			c->bypass_grows_usec[kept++] = t;
	}
	c->n_bypass_grows = kept;
}

void bypass_budget_record(struct agent *a, struct agent_container *c, uint64_t now_usec)
{
	prune(c, a->config.decide.bypass_window_usec, now_usec);
	if (c->n_bypass_grows == LAST_RESIZE_MAX_GROWS) {
		memmove(c->bypass_grows_usec, c->bypass_grows_usec + 1,
			(LAST_RESIZE_MAX_GROWS - 1) * sizeof(uint64_t));
		c->n_bypass_grows--;
	}
	c->bypass_grows_usec[c->n_bypass_grows++] = now_usec;
	/* The budget was not spent, or this grow could not have happened: a new spend comes. */
	c->bypass_budget_warned = false;
}

void bypass_budget_report(struct agent *a, struct agent_pod *p, struct agent_container *c,
			  const struct decide_decision *d)
{
	char msg[DECIDE_REASON_MAX + 128];

	if (!d->bypass_budget_spent || c->bypass_budget_warned)
		return;
	c->bypass_budget_warned = true;
	snprintf(msg, sizeof(msg), "container %s: %s", c->name, d->reason);
	log_warning("%s/%s: budget of grows inside the cooldown spent: %s", p->namespace, p->name,
		    msg);
	agent_metrics_bypass_budget_spent(a->metrics);
	pod_event(a->kube, p, POD_EVENT_WARNING, "BypassBudgetSpent", msg);
}

int bypass_budget_annotate(const struct agent *a, const struct agent_pod *p, cJSON *annotation,
			   uint64_t now_usec)
{
	for (size_t i = 0; i < p->n_containers; i++) {
		struct agent_container *c = &p->containers[i];
		int r;

		prune(c, a->config.decide.bypass_window_usec, now_usec);
		r = last_resize_add_bypass_grows(annotation, c->name, c->bypass_grows_usec,
						 c->n_bypass_grows);
		if (r < 0)
			return r;
	}
	return 0;
}
