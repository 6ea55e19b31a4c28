/* snug-agent run: placeholder until its issue lands; it says so and fails rather than pretending. */
#include <stdio.h>

#include "agent/commands.h"

int cmd_run(int argc, char **argv)
{
	fprintf(stderr, "snug-agent run: not built yet\n");
	return 2;
}
