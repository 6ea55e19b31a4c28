/* snug-agent recommend: placeholder until its issue lands; it says so and fails rather than pretending. */
#include <stdio.h>

#include "agent/commands.h"

int cmd_recommend(int argc, char **argv)
{
	fprintf(stderr, "snug-agent recommend: not built yet\n");
	return 2;
}
