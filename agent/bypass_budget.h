/* The agent's side of the per-container budget of grows that bypass the cooldown: decide reads the
 * budget's state, this keeps it, carries it in snug.io/last-resize and reports a spent budget. */
#pragma once

#include <stdint.h>

#include "agent/agent.h"
#include "agent/decide.h"
#include "agent/last_resize.h"

/* An accepted grow that acted inside the cooldown, at now_usec (CLOCK_REALTIME). */
void bypass_budget_record(struct agent *a, struct agent_container *c, uint64_t now_usec);
/* After a decision: a signal held back because the budget is spent gets a log line, a Warning
 * Event BypassBudgetSpent and snug_bypass_budget_spent_total, once per spend. */
void bypass_budget_report(struct agent *a, struct agent_pod *p, struct agent_container *c,
			  const struct decide_decision *d);
/* The pod's containers' recent grows inside the cooldown (those past the window dropped), one
 * entry per container in ret (p->n_containers of them), for snug.io/last-resize. */
void bypass_budget_grows(const struct agent *a, const struct agent_pod *p, uint64_t now_usec,
			 struct last_resize_grows *ret);
