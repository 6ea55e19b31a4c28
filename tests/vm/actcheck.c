/* actcheck: drives the agent's cgroup actuation (act_write_cgroups) from VM scripts, on the driver layout discovery reports. */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent/act_cgroups.h"
#include "agent/util/cleanup.h"
#include "agent/util/log.h"
#include "tests/vm/tool.h"
#include "agent/util/parse.h"
#include "cgroup/layout.h"
#include "cgroup/limits.h"
#include "cgroup/tree.h"

static void usage(FILE *f)
{
	fprintf(f,
		"Usage:\n"
		"  actcheck grow ROOT CONTAINER_ID [--pod-memory-max BYTES] [--memory-max BYTES]\n"
		"      [--pod-cpu-limit MILLI] [--cpu-limit MILLI]\n"
		"      [--pod-cpu-request MILLI] [--cpu-request MILLI]\n"
		"  Finds the container under the cgroup tree ROOT by layout discovery, as the\n"
		"  agent does, then writes the limits as the agent does after an accepted resize:\n"
		"  act_write_cgroups() through the backend of the pod's driver (systemd: unit\n"
		"  properties over D-Bus, each sent when the one before was answered; cgroupfs:\n"
		"  files), pod before container. cpu.weight from a request uses\n"
		"  kubelet's formula for the pod and the log one (crun's) for the container.\n"
		"  Prints the driver and the paths first.\n"
		"Environment: SNUG_LOG=debug shows the D-Bus errors.\n");
}

static int parse_u64_opt(const char *name, const char *s, int64_t *ret)
{
	uint64_t v;

	if (safe_atou64(s, &v) < 0 || v > INT64_MAX) {
		fprintf(stderr, "actcheck: bad --%s: %s\n", name, s);
		return -EINVAL;
	}
	*ret = (int64_t)v;
	return 0;
}

/* How the writes ended; the loop stops then. */
struct grow_result {
	sd_event *event;
	int r;
};

static void on_written(int r, void *userdata)
{
	struct grow_result *res = userdata;

	res->r = r;
	(void)sd_event_exit(res->event, 0);
}

enum { OPT_POD_MEM, OPT_MEM, OPT_POD_CPU, OPT_CPU, OPT_POD_REQ, OPT_REQ, N_OPTS };

static int cmd_grow(int argc, char **argv)
{
	static const struct option opts[] = {
		[OPT_POD_MEM] = { "pod-memory-max", required_argument, NULL, OPT_POD_MEM },
		[OPT_MEM] = { "memory-max", required_argument, NULL, OPT_MEM },
		[OPT_POD_CPU] = { "pod-cpu-limit", required_argument, NULL, OPT_POD_CPU },
		[OPT_CPU] = { "cpu-limit", required_argument, NULL, OPT_CPU },
		[OPT_POD_REQ] = { "pod-cpu-request", required_argument, NULL, OPT_POD_REQ },
		[OPT_REQ] = { "cpu-request", required_argument, NULL, OPT_REQ },
		[N_OPTS] = {},
	};
	/* The steps, in the growing order the agent's decisions use: per file, the pod before its
	 * container. */
	static const struct {
		enum decide_level level;
		enum decide_file file;
	} step_of[N_OPTS] = {
		[OPT_POD_MEM] = { DECIDE_LEVEL_POD, DECIDE_FILE_MEMORY_MAX },
		[OPT_MEM] = { DECIDE_LEVEL_CONTAINER, DECIDE_FILE_MEMORY_MAX },
		[OPT_POD_CPU] = { DECIDE_LEVEL_POD, DECIDE_FILE_CPU_MAX },
		[OPT_CPU] = { DECIDE_LEVEL_CONTAINER, DECIDE_FILE_CPU_MAX },
		[OPT_POD_REQ] = { DECIDE_LEVEL_POD, DECIDE_FILE_CPU_WEIGHT },
		[OPT_REQ] = { DECIDE_LEVEL_CONTAINER, DECIDE_FILE_CPU_WEIGHT },
	};
	int64_t value[N_OPTS] = { -1, -1, -1, -1, -1, -1 }; /* -1: not given */
	_cleanup_(cg_tree_freep) struct cg_tree *tree = NULL;
	_cleanup_(cg_layout_freep) struct cg_layout *layout = NULL;
	_cleanup_(sd_event_unrefp) sd_event *event = NULL;
	_cleanup_(cg_limits_freep) struct cg_limits *limits = NULL;
	struct grow_result res = { .r = -EINPROGRESS };
	struct decide_decision d = { .kind = DECIDE_RECOMMENDATION };
	struct act_cgroup_target t;
	struct cg_container *c;
	int o, r;

	while ((o = getopt_long(argc, argv, "", opts, NULL)) >= 0) {
		if (o >= N_OPTS)
			return 2;
		if (parse_u64_opt(opts[o].name, optarg, &value[o]) < 0)
			return 2;
	}
	if (argc - optind != 2) {
		usage(stderr);
		return 2;
	}

	r = cg_tree_open(argv[optind], &tree);
	if (r < 0)
		return log_error_errno(r, "Cannot open %s: %m", argv[optind]), 1;
	r = cg_layout_new(tree, &layout);
	if (r >= 0)
		r = cg_layout_scan(layout, NULL, NULL);
	if (r < 0)
		return log_error_errno(r, "Cannot discover the kubelet layout: %m"), 1;
	c = cg_layout_find_container(layout, argv[optind + 1]);
	if (!c) {
		fprintf(stderr, "actcheck: container %s not found under %s\n", argv[optind + 1],
			argv[optind]);
		return 1;
	}

	for (int i = 0; i < N_OPTS; i++)
		if (value[i] >= 0)
			d.steps[d.n_steps++] = (struct decide_step){ step_of[i].level,
								     step_of[i].file, 0, value[i] };

	/* The same target the agent builds in apply_cgroups(). */
	t = (struct act_cgroup_target){
		.backend = cg_limits_backend_of(c->pod->driver),
		.pod_path = c->pod->path,
		.container_path = c->path,
		.container_weight_formula = CG_WEIGHT_LOG,
	};
	printf("driver=%s pod=%s container=%s\n", cg_driver_to_string(c->pod->driver), t.pod_path,
	       t.container_path);
	fflush(stdout);
	r = sd_event_new(&event);
	if (r >= 0)
		r = cg_limits_new(tree, event, &limits);
	if (r < 0)
		return log_error_errno(r, "Cannot set up the limit writer: %m"), 1;
	res.event = event;
	r = act_write_cgroups(limits, &t, &d, on_written, &res);
	/* The systemd backend finishes from the loop, when systemd has answered every write. */
	if (r >= 0 && res.r == -EINPROGRESS)
		r = sd_event_loop(event);
	if (r >= 0)
		r = res.r;
	if (r < 0) {
		fprintf(stderr, "actcheck: act_write_cgroups: %s\n", strerror(-r));
		return 1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	int done = tool_start(argc, argv, usage);

	if (done >= 0)
		return done;
	if (strcmp(argv[1], "grow") == 0)
		return cmd_grow(argc - 1, argv + 1);
	usage(stderr);
	return 2;
}
