/* The agent's side of each container's cooldowns and budgets of grows that bypass them, one of each
 * per resource: decide reads their state, this keeps it, carries it in snug.io/last-resize and
 * reports a spent budget. */
#pragma once

#include <stdint.h>

#include "agent/agent.h"
#include "agent/decide.h"
#include "agent/last_resize.h"

/* An accepted decision d that grew inside a resource's cooldown, at now_usec (CLOCK_REALTIME):
 * counted in that resource's budget. */
void bypass_budget_record(struct agent *a, struct agent_container *c,
			  const struct decide_decision *d, uint64_t now_usec);
/* Decision d was resized (or reported, or refused) at now_usec: the cooldown of each resource it
 * changes starts, and only theirs. */
void bypass_budget_cooldown_start(struct agent_container *c, const struct decide_decision *d,
				  uint64_t now_usec);
/* After a decision: a signal held back because the budget is spent gets a log line, a Warning
 * Event BypassBudgetSpent and snug_bypass_budget_spent_total, once per spend. */
void bypass_budget_report(struct agent *a, struct agent_pod *p, struct agent_container *c,
			  const struct decide_decision *d);
/* What snug.io/last-resize said of the container's cooldowns, read back after a restart. */
void bypass_budget_restore(struct agent_container *c, const struct last_resize *lr);
/* The pod's containers' cooldowns and recent grows inside them (those past the window dropped),
 * one entry per container in ret (p->n_containers of them), for snug.io/last-resize. */
void bypass_budget_grows(const struct agent *a, const struct agent_pod *p, uint64_t now_usec,
			 struct last_resize_grows *ret);
