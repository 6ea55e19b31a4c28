/* actcheck: drives the agent's cgroup actuation (act_write_cgroups) from VM scripts, on the driver layout discovery reports. */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent/actuate.h"
#include "agent/util/cleanup.h"
#include "agent/util/log.h"
#include "agent/util/parse.h"
#include "cgroup/layout.h"
#include "cgroup/tree.h"

static void usage(FILE *f)
{
	fprintf(f,
		"Usage:\n"
		"  actcheck grow ROOT CONTAINER_ID [--pod-memory-max BYTES] [--memory-max BYTES]\n"
		"                [--pod-cpu-limit MILLI] [--cpu-limit MILLI]\n"
		"      Finds the container under the cgroup tree ROOT as the agent does (layout\n"
		"      discovery), then writes the limits exactly as the agent does after an "
		"accepted\n"
		"      resize: act_write_cgroups() with the pod's driver (systemd: unit properties "
		"over\n"
		"      D-Bus; cgroupfs: files), growing order (pod first). Prints the driver and "
		"units.\n"
		"Environment: SNUG_LOG=debug shows the D-Bus errors.\n");
}

static int parse_u64_opt(const char *name, const char *s, int64_t *ret)
{
	uint64_t v;

	if (safe_atou64(s, &v) < 0 || v > INT64_MAX) {
		fprintf(stderr, "actcheck: bad %s: %s\n", name, s);
		return -EINVAL;
	}
	*ret = (int64_t)v;
	return 0;
}

static int cmd_grow(int argc, char **argv)
{
	static const struct option opts[] = { { "pod-memory-max", required_argument, NULL, 'P' },
					      { "memory-max", required_argument, NULL, 'm' },
					      { "pod-cpu-limit", required_argument, NULL, 'Q' },
					      { "cpu-limit", required_argument, NULL, 'c' },
					      {} };
	/* -1: not given. */
	int64_t pod_mem = -1, mem = -1, pod_cpu = -1, cpu = -1;
	_cleanup_(cg_tree_freep) struct cg_tree *tree = NULL;
	_cleanup_(cg_layout_freep) struct cg_layout *layout = NULL;
	struct decide_decision d = { .kind = DECIDE_RECOMMENDATION };
	struct act_cgroup_target t;
	struct cg_container *c;
	int o, r, i = 0;

	while ((o = getopt_long(argc, argv, "", opts, &i)) >= 0) {
		int64_t *dst = o == 'P' ? &pod_mem : o == 'm' ? &mem : o == 'Q' ? &pod_cpu : &cpu;

		if (o == '?' || o == ':')
			return 2;
		if (parse_u64_opt(opts[i].name, optarg, dst) < 0)
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

	/* The growing order the agent's decisions use: per file, the pod before its container. */
	if (pod_mem >= 0)
		d.steps[d.n_steps++] = (struct decide_step){ DECIDE_LEVEL_POD,
							     DECIDE_FILE_MEMORY_MAX, 0, pod_mem };
	if (mem >= 0)
		d.steps[d.n_steps++] = (struct decide_step){ DECIDE_LEVEL_CONTAINER,
							     DECIDE_FILE_MEMORY_MAX, 0, mem };
	if (pod_cpu >= 0)
		d.steps[d.n_steps++] =
			(struct decide_step){ DECIDE_LEVEL_POD, DECIDE_FILE_CPU_MAX, 0, pod_cpu };
	if (cpu >= 0)
		d.steps[d.n_steps++] =
			(struct decide_step){ DECIDE_LEVEL_CONTAINER, DECIDE_FILE_CPU_MAX, 0, cpu };

	/* The same target the agent builds in apply_cgroups(). */
	t = (struct act_cgroup_target){
		.tree = tree,
		.driver = c->pod->driver,
		.pod_path = c->pod->path,
		.container_path = c->path,
		.container_weight_formula = CG_WEIGHT_LOG,
	};
	printf("driver=%s pod=%s container=%s\n", cg_driver_to_string(t.driver), t.pod_path,
	       t.container_path);
	r = act_write_cgroups(&t, &d);
	if (r < 0) {
		fprintf(stderr, "actcheck: act_write_cgroups: %s\n", strerror(-r));
		return 1;
	}
	return 0;
}

int main(int argc, char **argv)
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
	if (strcmp(argv[1], "grow") == 0)
		return cmd_grow(argc - 1, argv + 1);
	usage(stderr);
	return 2;
}
