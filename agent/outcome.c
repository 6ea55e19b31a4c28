/* The agent's words for what set a decision off and what became of it. */
#include "agent/outcome.h"

#include "agent/util/cleanup.h"

const char *agent_trigger_to_string(enum agent_trigger t)
{
	switch (t) {
	case AGENT_TRIGGER_PERIODIC:
		return "periodic";
	case AGENT_TRIGGER_OOM_KILL:
		return "oom-kill";
	case AGENT_TRIGGER_MEMORY_PRESSURE:
		return "memory-pressure";
	case AGENT_TRIGGER_THROTTLE:
		return "throttle";
	case AGENT_TRIGGER_CONFLICT:
		return "conflict";
	case AGENT_TRIGGER_STARTUP_BOOST:
		return "startup-boost";
	}
	return "invalid";
}

const char *agent_result_to_string(enum agent_result r)
{
	static const char *const names[] = {
		[AGENT_RESULT_NONE] = "none",
		[AGENT_RESULT_ACCEPTED] = "accepted",
		[AGENT_RESULT_CONFLICT] = "conflict",
		[AGENT_RESULT_RETRYING] = "retrying",
		[AGENT_RESULT_EVICTING] = "evicting",
		[AGENT_RESULT_UNSUPPORTED] = "unsupported",
		[AGENT_RESULT_REJECTED] = "rejected",
		[AGENT_RESULT_REPORT_ONLY] = "report-only",
		[AGENT_RESULT_DRY_RUN] = "dry-run",
		[AGENT_RESULT_DEFERRED] = "deferred",
		[AGENT_RESULT_INFEASIBLE] = "infeasible",
		[AGENT_RESULT_ERROR] = "error",
		[AGENT_RESULT_SUPERSEDED] = "superseded",
		[AGENT_RESULT_UNCONFIRMED] = "unconfirmed",
	};

	return (unsigned)r < ELEMENTSOF(names) && names[r] ? names[r] : "invalid";
}
