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
		"Discovers every kubelet container under the cgroup tree DIR and measures the "
		"cost\n"
		"of one sampling tick per container, in the same run, with: open/read/close of\n"
		"every file each tick (the baseline, what most agents do), pread on fds kept "
		"open,\n"
		"and one io_uring batch of those preads. Each mode gets its own sampler and a\n"
		"warm-up tick; then the modes take turns for R rounds (default 5) of N ticks each\n"
		"(default: as many as fit in ~100 ms, at least 1). The median round is printed as\n"
		"  BENCH name=sampler-<uring|pread>-<containers> value=<ns> unit=ns "
		"baseline=<open/read/close ns> ratio=<baseline/value>\n"
		"--files usage reads only the 7 per-tick usage files (default: all 11, limits "
		"too).\n"
		"RLIMIT_NOFILE is raised as far as allowed (11 fds per container, two samplers).\n"
		"Exit status 0 when the BENCH lines were printed, 1 otherwise.\n");
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static int tick_all(struct cg_sampler *s, size_t n, enum cg_sampler_mode mode)
{
	int r = cg_sampler_tick(s);

	if (r == (int)n)
		return 0;
	fprintf(stderr, "bench-sampler: %s: %d of %zu containers sampled\n",
		cg_sampler_mode_to_string(mode), r, n);
	return r < 0 ? r : -EIO;
}

struct run {
	enum cg_sampler_mode mode;
	struct cg_sampler *s;
	uint64_t ticks;
	double *out; /* wall ns per container per tick, per round */
	double *cpu; /* CPU ns (all threads: io-wq workers too) per container per tick */
	bool ok;
};

/* Sets up one mode's sampler on every container and a warm-up tick that also sizes its rounds
 * (ticks == 0: as many ticks as fit in ~100 ms, at least 1). */
static int run_setup(struct run *m, struct cg_tree *t, unsigned files, char **paths, size_t n,
		     uint64_t ticks, uint64_t rounds)
{
	uint64_t t0, one;
	int r;

	m->out = calloc(rounds, sizeof(double));
	m->cpu = calloc(rounds, sizeof(double));
	if (!m->out || !m->cpu)
		return -ENOMEM;
	r = cg_sampler_new(t, m->mode, files, &m->s);
	if (r < 0) {
		fprintf(stderr, "bench-sampler: %s mode unavailable: %s\n",
			cg_sampler_mode_to_string(m->mode), strerror(-r));
		return r;
	}
	for (size_t i = 0; i < n; i++) {
		r = cg_sampler_add(m->s, paths[i], NULL, NULL);
		if (r < 0) {
			fprintf(stderr, "bench-sampler: %s: add %s: %s\n",
				cg_sampler_mode_to_string(m->mode), paths[i], strerror(-r));
			return r;
		}
	}
	t0 = now_nsec(CLOCK_MONOTONIC);
	r = tick_all(m->s, n, m->mode);
	if (r < 0)
		return r;
	one = now_nsec(CLOCK_MONOTONIC) - t0;
	m->ticks = ticks;
	if (m->ticks == 0) {
		m->ticks = one > 0 ? 100000000ULL / one : 50;
		m->ticks = m->ticks < 1 ? 1 : m->ticks > 50 ? 50 : m->ticks;
	}
	/* Fast modes get a longer warm-up (caches, io-wq workers) for free. */
	for (uint64_t w = 0; w < m->ticks && one < 50000000ULL; w++)
		if ((r = tick_all(m->s, n, m->mode)) < 0)
			return r;
	m->ok = true;
	return 0;
}

static int run_round(struct run *m, size_t n, uint64_t k)
{
	uint64_t t0 = now_nsec(CLOCK_MONOTONIC), c0 = now_nsec(CLOCK_PROCESS_CPUTIME_ID);
	int r;

	for (uint64_t i = 0; i < m->ticks; i++)
		if ((r = tick_all(m->s, n, m->mode)) < 0)
			return r;
	m->out[k] = (double)(now_nsec(CLOCK_MONOTONIC) - t0) / (double)(m->ticks * n);
	m->cpu[k] = (double)(now_nsec(CLOCK_PROCESS_CPUTIME_ID) - c0) / (double)(m->ticks * n);
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
	struct run runs[3] = {
		{ .mode = CG_SAMPLER_OPEN_READ_CLOSE },
		{ .mode = CG_SAMPLER_URING },
		{ .mode = CG_SAMPLER_PREAD },
	};
	const char *root = NULL;
	uint64_t ticks = 0, rounds = 5, old_lim = 0, new_lim = 0;
	unsigned files = CG_FILES_ALL;
	struct cg_pod *const *pods;
	size_t n_pods, n = 0;
	char **paths = NULL;
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

	/* Two samplers keep fds open at once (open/read/close keeps none). */
	r = cg_raise_nofile(2 * cg_sampler_fds_needed(files, n), &old_lim, &new_lim);
	if (r < 0)
		fprintf(stderr, "bench-sampler: cannot raise RLIMIT_NOFILE: %s\n", strerror(-r));
	else if (new_lim != old_lim)
		fprintf(stderr, "bench-sampler: raised RLIMIT_NOFILE from %llu to %llu\n",
			(unsigned long long)old_lim, (unsigned long long)new_lim);
	fprintf(stderr, "bench-sampler: %zu containers under %s, %llu rounds\n", n, root,
		(unsigned long long)rounds);

	for (size_t m = 0; m < ELEMENTSOF(runs); m++)
		if (run_setup(&runs[m], t, files, paths, n, ticks, rounds) < 0 && m == 0)
			goto out;
	/* Modes take turns round by round, so a machine that slows down (other VMs, TCG) slows
	 * them all alike. */
	for (uint64_t k = 0; k < rounds; k++)
		for (size_t m = 0; m < ELEMENTSOF(runs); m++)
			if (runs[m].ok && run_round(&runs[m], n, k) < 0)
				runs[m].ok = false;
	if (!runs[0].ok)
		goto out;
	for (size_t m = 0; m < ELEMENTSOF(runs); m++) {
		if (!runs[m].ok)
			continue;
		qsort(runs[m].out, rounds, sizeof(double), cmp_double);
		qsort(runs[m].cpu, rounds, sizeof(double), cmp_double);
		fprintf(stderr,
			"bench-sampler: %-5s %llu ticks per round, rounds %.0f..%.0f ns, "
			"median %.0f ns wall, %.0f ns CPU per container per tick\n",
			cg_sampler_mode_to_string(runs[m].mode), (unsigned long long)runs[m].ticks,
			runs[m].out[0], runs[m].out[rounds - 1], runs[m].out[rounds / 2],
			runs[m].cpu[rounds / 2]);
	}
	for (size_t m = 1; m < ELEMENTSOF(runs); m++) {
		double base = runs[0].out[rounds / 2], v;

		if (!runs[m].ok)
			continue;
		v = runs[m].out[rounds / 2];
		printf("BENCH name=sampler-%s-%zu value=%.0f unit=ns baseline=%.0f ratio=%.2f\n",
		       cg_sampler_mode_to_string(runs[m].mode), n, v, base, base / v);
		/* CPU time counts the io-wq worker threads io_uring hands kernfs reads to, which
		 * wall time on an idle second CPU would hide. */
		base = runs[0].cpu[rounds / 2];
		v = runs[m].cpu[rounds / 2];
		printf("BENCH name=sampler-%s-cpu-%zu value=%.0f unit=ns baseline=%.0f "
		       "ratio=%.2f\n",
		       cg_sampler_mode_to_string(runs[m].mode), n, v, base, base / v);
		ret = 0;
	}
out:
	for (size_t m = 0; m < ELEMENTSOF(runs); m++) {
		cg_sampler_free(runs[m].s);
		free(runs[m].out);
		free(runs[m].cpu);
	}
	free(paths);
	return ret;
}
