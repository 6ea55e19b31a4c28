/* Recommender benchmarks: cost of feeding a sample and of a recommendation, state size, checkpoint saves. */
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "agent/recommender/checkpoint.h"
#include "agent/recommender/recommender.h"
#include "agent/shared_history.h"
#include "agent/util/time.h"

#define SEC REC_USEC_PER_SEC
#define MIN (60 * SEC)
#define DAY (24 * REC_USEC_PER_HOUR)
#define MiB (1024LL * 1024)
#define T0 (1700000040LL * SEC)
#define RUNS 5

static volatile int64_t sink;

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static double median(double *v, int n)
{
	qsort(v, (size_t)n, sizeof(*v), cmp_double);
	return v[n / 2];
}

/* A week of minute samples: every bucket range a busy container would touch. */
static struct rec_aggregate *filled(const struct rec_tunables *t, unsigned seed)
{
	struct rec_aggregate *a;
	struct rec_container c;

	if (rec_aggregate_new(t, T0, &a) < 0)
		exit(1);
	rec_container_init(&c, a);
	for (int64_t u = 0; u < 7 * DAY; u += MIN) {
		seed = seed * 1103515245 + 12345;
		rec_container_add_cpu_sample(&c, T0 + u, (seed >> 8) % 4000);
		rec_container_add_memory_sample(&c, T0 + u, (int64_t)((seed >> 4) % 2048) * MiB);
	}
	return a;
}

static int rm_entry(const char *p, const struct stat *st, int flag, struct FTW *f)
{
	return remove(p);
}

int main(int argc, char **argv)
{
	struct rec_tunables t;
	struct rec_aggregate *a;
	struct rec_container c;
	struct rec_recommendation rec;
	double v[RUNS];
	const int n_feed = 2000000, n_rec = 200000, n_ckpt = 1000;
	unsigned seed = 1;

	rec_tunables_init_default(&t);

	/* The agent's per-second work for one container: one CPU reading (averaged into its minute,
	 * a histogram add every 60th call) and one working-set reading (peak bookkeeping). */
	for (int r = 0; r < RUNS; r++) {
		uint64_t start;

		a = filled(&t, 1);
		rec_container_init(&c, a);
		start = now_nsec(CLOCK_MONOTONIC);
		for (int i = 0; i < n_feed; i++) {
			int64_t ts = T0 + 8 * DAY + (int64_t)i * SEC;

			seed = seed * 1103515245 + 12345;
			rec_container_add_cpu_reading(&c, ts, (double)((seed >> 8) % 4000) / 1000);
			rec_container_add_memory_reading(&c, ts,
							 (int64_t)((seed >> 4) % 2048) * MiB);
		}
		v[r] = (double)(now_nsec(CLOCK_MONOTONIC) - start) / n_feed;
		sink += a->total_samples;
		rec_aggregate_free(a);
	}
	printf("BENCH name=rec_sample_update_per_second value=%.1f unit=ns\n", median(v, RUNS));

	/* One histogram sample (the per-minute CPU add, decay factor included). */
	for (int r = 0; r < RUNS; r++) {
		uint64_t start;

		a = filled(&t, 2);
		rec_container_init(&c, a);
		start = now_nsec(CLOCK_MONOTONIC);
		for (int i = 0; i < n_feed; i++) {
			seed = seed * 1103515245 + 12345;
			rec_container_add_cpu_sample(&c, T0 + 8 * DAY + (int64_t)i * MIN,
						     (seed >> 8) % 4000);
		}
		v[r] = (double)(now_nsec(CLOCK_MONOTONIC) - start) / n_feed;
		rec_aggregate_free(a);
	}
	printf("BENCH name=rec_histogram_sample_add value=%.1f unit=ns\n", median(v, RUNS));

	/* One recommendation (six percentiles over a week of history). */
	a = filled(&t, 3);
	for (int r = 0; r < RUNS; r++) {
		uint64_t start = now_nsec(CLOCK_MONOTONIC);

		for (int i = 0; i < n_rec; i++) {
			rec_recommend(a, 1 + (i & 1), &rec);
			sink += rec.target.cpu_millicores;
		}
		v[r] = (double)(now_nsec(CLOCK_MONOTONIC) - start) / n_rec;
	}
	printf("BENCH name=rec_recommendation value=%.1f unit=ns\n", median(v, RUNS));

	/* Everything a tracked container costs: the aggregate (struct + both dense histograms) and the
	 * per-instance feed state. */
	printf("BENCH name=rec_state_bytes_per_container value=%zu unit=bytes\n",
	       sizeof(struct rec_aggregate) +
		       sizeof(double) * (size_t)(t.cpu_histogram.num_buckets +
						 t.memory_histogram.num_buckets) +
		       sizeof(struct rec_container));

	/* One WorkloadHistory entry (what a node writes per workload every --history-interval), as
	 * sent: one busy container (a week of minute samples), three of them, and the bound: both
	 * histograms with all 176 buckets non-empty. */
	{
		struct rec_aggregate *full;
		struct shared_container cs[3] = { { "app", a }, { "sidecar", a }, { "proxy", a } };
		struct shared_entry e = { .namespace = "production-payments",
					  .node_name = "ip-10-0-133-27.eu-west-1.compute.internal",
					  .node_uid = "3f1c9a2e-5b7d-4e8f-9a10-2b3c4d5e6f70",
					  .workload_api_version = "apps/v1",
					  .workload_kind = "Deployment",
					  .workload_name = "checkout-api",
					  .containers = cs,
					  .n_containers = 1,
					  .now_usec = T0 + 7 * DAY };
		char *text;

		if (rec_aggregate_new(&t, T0, &full) < 0)
			return 1;
		for (int b = 0; b < t.cpu_histogram.num_buckets; b++) {
			rec_decaying_histogram_add_sample(
				&full->cpu, rec_histogram_options_bucket_start(&t.cpu_histogram, b),
				1.0 + b, T0);
			rec_decaying_histogram_add_sample(
				&full->memory,
				rec_histogram_options_bucket_start(&t.memory_histogram, b), 1.0 + b,
				T0);
		}
		if (shared_entry_format(&e, &text) == 0) {
			printf("BENCH name=history_entry_bytes_1_container value=%zu unit=bytes\n",
			       strlen(text));
			free(text);
		}
		e.n_containers = 3;
		if (shared_entry_format(&e, &text) == 0) {
			printf("BENCH name=history_entry_bytes_3_containers value=%zu unit=bytes\n",
			       strlen(text));
			free(text);
		}
		cs[0].aggregate = full;
		e.n_containers = 1;
		if (shared_entry_format(&e, &text) == 0) {
			printf("BENCH name=history_entry_bytes_all_buckets value=%zu unit=bytes\n",
			       strlen(text));
			free(text);
		}
		rec_aggregate_free(full);
	}

	/* Saving 1000 containers' checkpoints (atomic: write, fsync, rename, fsync dir each). */
	{
		char tmpl[] = "/tmp/snug-bench-rec-XXXXXX", *dir = argc > 1 ? NULL : mkdtemp(tmpl);
		char sub[512];
		struct rec_store *s;
		char name[32];
		struct rec_identity id = { "bench", "Deployment", name, "app" };
		char *text;
		double single_ms, batch_ms;

		if (argc > 1) {
			snprintf(sub, sizeof(sub), "%s/snug-bench-rec-%d", argv[1], (int)getpid());
			dir = sub;
		}
		if (!dir || rec_store_open(dir, &s) < 0) {
			fprintf(stderr, "bench_recommender: cannot use a state dir\n");
			return 1;
		}
		if (rec_checkpoint_format(&id, a, T0, &text) == 0) {
			printf("BENCH name=rec_checkpoint_file_bytes value=%zu unit=bytes\n",
			       strlen(text));
			free(text);
		}
		/* Baseline: one atomic save at a time (two fsyncs each). */
		{
			uint64_t start = now_nsec(CLOCK_MONOTONIC);

			for (int i = 0; i < n_ckpt; i++) {
				snprintf(name, sizeof(name), "web-%d", i);
				if (rec_checkpoint_save(s, &id, a, T0) < 0) {
					fprintf(stderr, "bench_recommender: save failed\n");
					return 1;
				}
			}
			single_ms = (double)(now_nsec(CLOCK_MONOTONIC) - start) / 1e6;
		}
		/* What the agent's save timer uses: one batch, one filesystem sync. */
		for (int r = 0; r < RUNS; r++) {
			uint64_t start = now_nsec(CLOCK_MONOTONIC);
			struct rec_checkpoint_batch *b;

			if (rec_checkpoint_batch_new(s, &b) < 0)
				return 1;
			for (int i = 0; i < n_ckpt; i++) {
				snprintf(name, sizeof(name), "web-%d", i);
				if (rec_checkpoint_batch_add(b, &id, a, T0) < 0)
					return 1;
			}
			if (rec_checkpoint_batch_commit(b) != n_ckpt) {
				fprintf(stderr, "bench_recommender: batch commit failed\n");
				return 1;
			}
			rec_checkpoint_batch_free(b);
			v[r] = (double)(now_nsec(CLOCK_MONOTONIC) - start) / 1e6;
		}
		batch_ms = median(v, RUNS);
		printf("BENCH name=rec_checkpoint_save_1000_single value=%.1f unit=ms\n",
		       single_ms);
		printf("BENCH name=rec_checkpoint_save_1000 value=%.1f unit=ms baseline=%.1f "
		       "ratio=%.2f\n",
		       batch_ms, single_ms, single_ms / batch_ms);
		rec_store_free(s);
		nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	}
	rec_aggregate_free(a);
	return 0;
}
