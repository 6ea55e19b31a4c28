/* snug-agent top: placeholder until its issue lands; it says so and fails rather than pretending. */
#include <stdio.h>

#include "agent/commands.h"

int cmd_top(int argc, char **argv)
{
	fprintf(stderr, "snug-agent top: not built yet\n");
	return 2;
}
