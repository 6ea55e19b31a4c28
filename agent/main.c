/* snug-agent: one binary, one subcommand per job; this only dispatches. */
#include <stdio.h>
#include <string.h>

#include "agent/commands.h"
#include "agent/util/cleanup.h"

#ifndef SNUG_VERSION
#define SNUG_VERSION "0.1.0"
#endif

static const struct {
	const char *name;
	int (*run)(int argc, char **argv);
	const char *summary;
} commands[] = {
	{ "run", cmd_run, "the node agent: watch opted-in pods, recommend, resize in place" },
	{ "top", cmd_top, "live per-pod/container view of this node's cgroups (no API server)" },
	{ "oomwatch", cmd_oomwatch, "print OOM kills and memory pressure as JSON lines" },
	{ "recommend", cmd_recommend, "what snug would recommend from a recorded history" },
	{ "webhook", cmd_webhook, "admission webhook applying recommendations to recreated pods" },
};

static void usage(FILE *f)
{
	fprintf(f, "Usage: snug-agent COMMAND [OPTIONS]\n\n"
		   "snug resizes Kubernetes containers in place from what the kernel sees on the "
		   "node.\n\n"
		   "Commands:\n");
	for (size_t i = 0; i < ELEMENTSOF(commands); i++)
		fprintf(f, "  %-10s %s\n", commands[i].name, commands[i].summary);
	fprintf(f, "\nRun 'snug-agent COMMAND --help' for the options of one command.\n"
		   "  --version  print the version\n");
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		usage(stderr);
		return 2;
	}
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
	    strcmp(argv[1], "help") == 0) {
		usage(stdout);
		return 0;
	}
	if (strcmp(argv[1], "--version") == 0) {
		printf("snug-agent %s\n", SNUG_VERSION);
		return 0;
	}
	for (size_t i = 0; i < ELEMENTSOF(commands); i++)
		if (strcmp(argv[1], commands[i].name) == 0)
			return commands[i].run(argc - 1, argv + 1);
	fprintf(stderr, "snug-agent: unknown command '%s'\n\n", argv[1]);
	usage(stderr);
	return 2;
}
