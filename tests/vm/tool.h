/* The common start of the VM tier's small test tools: log level from $SNUG_LOG, usage and --help. */
#pragma once

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent/util/log.h"

/* Returns the exit status when the tool is done already (no command: 2, --help: 0), or -1 to go on
 * with argv[1] as the command. */
static inline int tool_start(int argc, char **argv, void (*usage)(FILE *))
{
	const char *lvl = getenv("SNUG_LOG");

	log_set_prefix(false);
	if (lvl && log_level_from_string(lvl) >= 0)
		log_set_max_level(log_level_from_string(lvl));
	if (argc < 2) {
		usage(stderr);
		return 2;
	}
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
		usage(stdout);
		return 0;
	}
	return -1;
}
