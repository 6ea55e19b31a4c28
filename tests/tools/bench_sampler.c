/* bench-sampler: cost per container per tick of the io_uring batch, pread and open/read/close sampling. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "agent/util/cleanup.h"
#include "agent/util/log.h"
#include "agent/util/parse.h"
#include "agent/util/time.h"
#include "cgroup/layout.h"
#include "cgroup/sampler.h"
#include "cgroup/tree.h"

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: bench-sampler --root DIR [--ticks N] [--rounds R] [--files all|usage]\n\n"
		"Discovers every kubelet container under the cgroup tree DIR and measures the\n"
		"cost of one sampling tick per container with open/read/close each tick (the\n"
		"baseline), pread on kept fds, and one io_uring batch, in the same run: 3 warm-up\n"
		"ticks, then R rounds (default 7) of N ticks (default 20) per mode "
		"(open/read/close\n"
		"first and last); the median round is reported as:\n"
		"  BENCH name=sampler-<uring|pread>-<containers> value=<ns> unit=ns "
		"baseline=<orc ns> ratio=<baseline/value>\n"
		"--files usage reads only the per-tick usage files (no limit files).\n");
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* Runs one mode on its own sampler: warm-up, then `rounds` medians of `ticks` ticks; fills out[]. */
static int run_mode(struct cg_tree *t, enum cg_sampler_mode mode, unsigned files, char **paths,
		    size_t n, uint64_t ticks, uint64_t rounds, double *out)
{
	_cleanup_(cg_sampler_freep) struct cg_sampler *s = NULL;
	int r;

	r = cg_sampler_new(t, mode, files, &s);
	if (r < 0) {
		fprintf(stderr, "bench-sampler: %s mode unavailable: %s\n",
			cg_sampler_mode_to_string(mode), strerror(-r));
		return r;
	}
	for (size_t i = 0; i < n; i++) {
		r = cg_sampler_add(s, paths[i], NULL, NULL);
		if (r < 0) {
			fprintf(stderr, "bench-sampler: add %s: %s\n", paths[i], strerror(-r));
			return r;
		}
	}
	for (int w = 0; w < 3; w++)
		if (cg_sampler_tick(s) != (int)n) {
			fprintf(stderr, "bench-sampler: %s: not every container sampled\n",
				cg_sampler_mode_to_string(mode));
			return -EIO;
		}
	for (uint64_t k = 0; k < rounds; k++) {
		uint64_t t0 = now_nsec(CLOCK_MONOTONIC);

		for (uint64_t i = 0; i < ticks; i++)
			if (cg_sampler_tick(s) != (int)n) {
				fprintf(stderr, "bench-sampler: %s: tick failed\n",
					cg_sampler_mode_to_string(mode));
				return -EIO;
			}
		out[k] = (double)(now_nsec(CLOCK_MONOTONIC) - t0) / (double)(ticks * n);
	}
	qsort(out, rounds, sizeof(double), cmp_double);
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "root", required_argument, NULL, 'r' },
		{ "ticks", required_argument, NULL, 't' },
		{ "rounds", required_argument, NULL, 'R' },
		{ "files", required_argument, NULL, 'f' },
		{ "help", no_argument, NULL, 'h' },
		{},
	};
	_cleanup_(cg_tree_freep) struct cg_tree *t = NULL;
	_cleanup_(cg_layout_freep) struct cg_layout *l = NULL;
	const char *root = NULL;
	uint64_t ticks = 20, rounds = 7;
	unsigned files = CG_FILES_ALL;
	struct cg_pod *const *pods;
	size_t n_pods, n = 0;
	double *results[2] = {}, *orc = NULL, base;
	bool have[2] = {};
	char **paths = NULL;
	uint64_t old_lim = 0, new_lim = 0;
	int c, r, ret = 1;

	while ((c = getopt_long(argc, argv, "h", opts, NULL)) >= 0) {
		switch (c) {
		case 'r':
			root = optarg;
			break;
		case 't':
			if (safe_atou64(optarg, &ticks) < 0 || ticks == 0)
				return usage(stderr), 2;
			break;
		case 'R':
			if (safe_atou64(optarg, &rounds) < 0 || rounds == 0 || rounds > 1000)
				return usage(stderr), 2;
			break;
		case 'f':
			if (strcmp(optarg, "all") == 0)
				files = CG_FILES_ALL;
			else if (strcmp(optarg, "usage") == 0)
				files = CG_FILES_USAGE;
			else
				return usage(stderr), 2;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			return usage(stderr), 2;
		}
	}
	if (!root || optind != argc)
		return usage(stderr), 2;
	log_set_prefix(false);

	r = cg_tree_open(root, &t);
	if (r >= 0)
		r = cg_layout_new(t, &l);
	if (r >= 0)
		r = cg_layout_scan(l, NULL, NULL);
	if (r < 0) {
		fprintf(stderr, "bench-sampler: %s: %s\n", root, strerror(-r));
		return 1;
	}
	pods = cg_layout_pods(l, &n_pods);
	n = cg_layout_n_containers(l);
	if (n == 0) {
		fprintf(stderr, "bench-sampler: no containers found under %s\n", root);
		return 1;
	}
	paths = calloc(n, sizeof(char *));
	if (!paths)
		return 1;
	n = 0;
	for (size_t i = 0; i < n_pods; i++)
		for (size_t k = 0; k < pods[i]->n_containers; k++)
			paths[n++] = pods[i]->containers[k]->path;

	r = cg_raise_nofile(cg_sampler_fds_needed(files, n), &old_lim, &new_lim);
	if (r < 0)
		fprintf(stderr, "bench-sampler: cannot raise RLIMIT_NOFILE: %s\n", strerror(-r));
	else if (new_lim != old_lim)
		fprintf(stderr, "bench-sampler: raised RLIMIT_NOFILE from %llu to %llu\n",
			(unsigned long long)old_lim, (unsigned long long)new_lim);
	fprintf(stderr, "bench-sampler: %zu containers, %llu rounds of %llu ticks per mode\n", n,
		(unsigned long long)rounds, (unsigned long long)ticks);

	/* One mode at a time (three samplers at once could need 3x the fds); the baseline runs
	 * first and last, and both runs count, so a drift in machine speed shows up in it. */
	orc = calloc(2 * rounds, sizeof(double));
	if (!orc)
		goto out;
	if (run_mode(t, CG_SAMPLER_OPEN_READ_CLOSE, files, paths, n, ticks, rounds, orc) < 0)
		goto out;
	for (int m = 0; m < 2; m++) {
		results[m] = calloc(rounds, sizeof(double));
		if (!results[m])
			goto out;
		have[m] = run_mode(t, m == 0 ? CG_SAMPLER_URING : CG_SAMPLER_PREAD, files, paths, n,
				   ticks, rounds, results[m]) == 0;
	}
	if (run_mode(t, CG_SAMPLER_OPEN_READ_CLOSE, files, paths, n, ticks, rounds, orc + rounds) <
	    0)
		goto out;
	qsort(orc, 2 * rounds, sizeof(double), cmp_double);
	base = orc[rounds];
	fprintf(stderr, "bench-sampler: open/read/close median %.0f ns per container per tick\n",
		base);
	for (int m = 0; m < 2; m++) {
		double v;

		if (!have[m])
			continue;
		v = results[m][rounds / 2];
		printf("BENCH name=sampler-%s-%zu value=%.0f unit=ns baseline=%.0f ratio=%.2f\n",
		       m == 0 ? "uring" : "pread", n, v, base, base / v);
	}
	ret = have[1] ? 0 : 1;
out:
	free(orc);
	free(results[0]);
	free(results[1]);
	free(paths);
	return ret;
}
