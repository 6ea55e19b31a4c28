/* The agent's side of the per-container budget of grows that bypass the cooldown: decide reads the
 * budget's state, this keeps it, carries it in snug.io/last-resize and reports a spent budget. */
#pragma once

#include <stdint.h>

#include <cjson/cJSON.h>

#include "agent/agent.h"
#include "agent/decide.h"

/* An accepted grow that acted inside the cooldown, at now_usec (CLOCK_REALTIME). */
void bypass_budget_record(struct agent *a, struct agent_container *c, uint64_t now_usec);
/* After a decision: a signal held back because the budget is spent gets a log line, a Warning
 * Event BypassBudgetSpent and snug_bypass_budget_spent_total, once per spend. */
void bypass_budget_report(struct agent *a, struct agent_pod *p, struct agent_container *c,
			  const struct decide_decision *d);
/* Adds the pod's containers' recent grows inside the cooldown to the snug.io/last-resize object
 * being written. -ENOMEM on failure. */
int bypass_budget_annotate(const struct agent *a, const struct agent_pod *p, cJSON *annotation,
			   uint64_t now_usec);
