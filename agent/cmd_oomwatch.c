/* snug-agent oomwatch: placeholder until its issue lands; it says so and fails rather than pretending. */
#include <stdio.h>

#include "agent/commands.h"

int cmd_oomwatch(int argc, char **argv)
{
	fprintf(stderr, "snug-agent oomwatch: not built yet\n");
	return 2;
}
