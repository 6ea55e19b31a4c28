/* snug-agent run: the node agent's entry point; parses flags, builds the agent, runs its loop. */
#include <stdio.h>

#include "agent/agent.h"
#include "agent/commands.h"
#include "agent/config.h"
#include "agent/util/log.h"

int cmd_run(int argc, char **argv)
{
	struct agent_config config;
	struct agent *a = NULL;
	int r;

	agent_config_init(&config);
	r = agent_config_parse(argc, argv, &config);
	if (r != 0) {
		agent_config_done(&config);
		return r > 0 ? 0 : 2;
	}
	log_set_max_level(config.log_level);
	/* agent_new() takes the config over, also when it fails. */
	r = agent_new(&config, &a);
	if (r < 0) {
		log_error_errno(r, "snug-agent cannot start: %m");
		return 1;
	}
	r = agent_run(a);
	agent_free(a);
	return r < 0 ? 1 : 0;
}
