/* snug-agent webhook: placeholder until its issue lands; it says so and fails rather than pretending. */
#include <stdio.h>

#include "agent/commands.h"

int cmd_webhook(int argc, char **argv)
{
	fprintf(stderr, "snug-agent webhook: not built yet\n");
	return 2;
}
