/* The agent's words for what set a decision off and what became of it (enums, named once for logs,
 * /recommendations and metrics). */
#pragma once

/* What set a decision off. */
enum agent_trigger {
	AGENT_TRIGGER_PERIODIC,	       /* --decide-interval: the recommendation */
	AGENT_TRIGGER_OOM_KILL,	       /* a kill at the container's own limit */
	AGENT_TRIGGER_MEMORY_PRESSURE, /* memory.events max, or the working set near the limit */
	AGENT_TRIGGER_THROTTLE,	       /* sustained CPU throttling */
	AGENT_TRIGGER_CONFLICT,	       /* the pod read back after a 409 */
	AGENT_TRIGGER_STARTUP_BOOST, /* a boosted container starts, turns Ready, or its time is up */
};
const char *agent_trigger_to_string(enum agent_trigger t);

/* What became of a container's last decision (/recommendations' last_action.result). */
enum agent_result {
	AGENT_RESULT_NONE, /* nothing decided yet */
	AGENT_RESULT_ACCEPTED,
	AGENT_RESULT_CONFLICT,
	AGENT_RESULT_RETRYING,
	AGENT_RESULT_EVICTING,
	AGENT_RESULT_UNSUPPORTED,
	AGENT_RESULT_REJECTED,
	AGENT_RESULT_REPORT_ONLY,
	AGENT_RESULT_DRY_RUN,
	AGENT_RESULT_DEFERRED, /* the kubelet's answers to an accepted resize: */
	AGENT_RESULT_INFEASIBLE,
	AGENT_RESULT_ERROR,
	AGENT_RESULT_SUPERSEDED,
	AGENT_RESULT_UNCONFIRMED, /* no answer within --admission-timeout */
};
const char *agent_result_to_string(enum agent_result r);
