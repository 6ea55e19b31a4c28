/* snug-agent recommend: what snug (and VPA) would recommend from a recorded CSV history. */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "agent/commands.h"
#include "agent/recommender/replay.h"
#include "agent/util/cleanup.h"
#include "agent/util/parse.h"

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: snug-agent recommend --replay FILE.csv [--containers N] [--memory-request "
		"BYTES]\n"
		"\n"
		"Replays a recorded history through snug's recommender (the VPA model) and prints\n"
		"the recommendation as JSON:\n"
		"  {\"cpu\":{\"target\":C,\"lower\":C,\"upper\":C},\"memory\":{\"target\":B,...}}\n"
		"with C in cores (millicore precision) and B in bytes.\n"
		"\n"
		"FILE.csv rows: unix_seconds,cpu_cores,memory_bytes,oom (header line optional, oom "
		"0/1,\n"
		"rows in time order, '-' reads stdin). Rows are grouped into minutes (unix time // "
		"60);\n"
		"each minute's mean CPU, truncated to millicores, is one sample at the minute's "
		"start;\n"
		"every row is a memory sample; oom=1 records an OOM after the row's memory "
		"sample.\n"
		"\n"
		"Options:\n"
		"  --replay FILE           the history to replay\n"
		"  --containers N          containers in the pod; the minimums are split across "
		"them (1)\n"
		"  --memory-request BYTES  the memory request an OOM is measured against (0)\n"
		"  -h, --help              show this help\n"
		"\n"
		"VPA recommender flags (same names and defaults):\n");
	for (size_t i = 0; rec_tunable_info(i); i++)
		fprintf(f, "  --%s=VALUE\n        %s\n", rec_tunable_info(i)->name,
			rec_tunable_info(i)->help);
	fprintf(f, "\nExit status: 0 on success, 2 on bad usage or a bad row (named on stderr).\n");
}

#define TUNABLE_OPT 1000
#define MAX_TUNABLES 64

static void print_cores(int64_t millicores)
{
	int64_t whole = millicores / 1000, frac = millicores % 1000;

	if (frac == 0)
		printf("%" PRId64, whole);
	else if (frac % 100 == 0)
		printf("%" PRId64 ".%" PRId64, whole, frac / 100);
	else if (frac % 10 == 0)
		printf("%" PRId64 ".%02" PRId64, whole, frac / 10);
	else
		printf("%" PRId64 ".%03" PRId64, whole, frac);
}

int cmd_recommend(int argc, char **argv)
{
	struct option options[4 + MAX_TUNABLES + 1] = {
		{ "replay", required_argument, NULL, 'r' },
		{ "containers", required_argument, NULL, 'c' },
		{ "memory-request", required_argument, NULL, 'm' },
		{ "help", no_argument, NULL, 'h' },
	};
	struct rec_replay_options o = { .containers = 1 };
	_cleanup_fclose_ FILE *f = NULL;
	struct rec_recommendation rec;
	struct rec_tunables t;
	const char *path = NULL;
	char err[256] = "";
	unsigned line = 0;
	uint64_t u;
	int opt, r;

	rec_tunables_init_default(&t);
	for (size_t i = 0; rec_tunable_info(i) && i < MAX_TUNABLES; i++)
		options[4 + i] = (struct option){ rec_tunable_info(i)->name, required_argument,
						  NULL, TUNABLE_OPT + (int)i };
	optind = 0;
	while ((opt = getopt_long(argc, argv, "h", options, NULL)) >= 0) {
		if (opt >= TUNABLE_OPT) {
			const char *name = rec_tunable_info((size_t)(opt - TUNABLE_OPT))->name;

			if (rec_tunables_set(&t, name, optarg) < 0) {
				fprintf(stderr, "snug-agent recommend: bad --%s '%s'\n", name,
					optarg);
				return 2;
			}
			continue;
		}
		switch (opt) {
		case 'r':
			path = optarg;
			break;
		case 'c':
			if (safe_atou64(optarg, &u) < 0 || u < 1 || u > 1000) {
				fprintf(stderr, "snug-agent recommend: bad --containers '%s'\n",
					optarg);
				return 2;
			}
			o.containers = (int)u;
			break;
		case 'm':
			if (safe_atou64(optarg, &u) < 0 || u > (uint64_t)INT64_MAX) {
				fprintf(stderr,
					"snug-agent recommend: bad --memory-request '%s' (bytes)\n",
					optarg);
				return 2;
			}
			o.memory_request_bytes = (int64_t)u;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (!path || optind < argc) {
		usage(stderr);
		return 2;
	}
	if (strcmp(path, "-") == 0)
		f = fdopen(dup(0), "r");
	else
		f = fopen(path, "re");
	if (!f) {
		fprintf(stderr, "snug-agent recommend: cannot open %s: %m\n", path);
		return 2;
	}

	if (rec_tunables_validate(&t) < 0) {
		fprintf(stderr, "snug-agent recommend: inconsistent recommender flags\n");
		return 2;
	}
	r = rec_replay(f, &t, &o, &rec, &line, err, sizeof(err));
	if (r == -EINVAL && err[0]) {
		fprintf(stderr, "snug-agent recommend: %s:%u: %s\n", path, line, err);
		return 2;
	}
	if (r < 0) {
		errno = -r;
		fprintf(stderr, "snug-agent recommend: %s: %m\n", path);
		return 2;
	}

	printf("{\"cpu\":{\"target\":");
	print_cores(rec.target.cpu_millicores);
	printf(",\"lower\":");
	print_cores(rec.lower.cpu_millicores);
	printf(",\"upper\":");
	print_cores(rec.upper.cpu_millicores);
	printf("},\"memory\":{\"target\":%" PRId64 ",\"lower\":%" PRId64 ",\"upper\":%" PRId64
	       "}}\n",
	       rec.target.memory_bytes, rec.lower.memory_bytes, rec.upper.memory_bytes);
	return fflush(stdout) == 0 ? 0 : 1;
}
