/* Unit tests of the per-container model: minute averaging, memory peaks per interval, OOM bumps, quirks. */
#include "tests/unit/unit.h"

#include <errno.h>
#include <math.h>
#include <stdint.h>

#include "agent/recommender/recommender.h"

#define SEC REC_USEC_PER_SEC
#define MIN (60 * SEC)
#define HOUR REC_USEC_PER_HOUR
#define DAY (24 * HOUR)
#define MiB (1024LL * 1024)
/* A minute boundary, so minute arithmetic in the tests stays readable. */
#define T0 (1700000040LL * SEC)

static struct rec_tunables tun;

static struct rec_aggregate *new_aggregate(void)
{
	struct rec_aggregate *a;

	rec_tunables_init_default(&tun);
	ck_assert_int_eq(rec_tunables_validate(&tun), 0);
	ck_assert_int_eq(rec_aggregate_new(&tun, T0, &a), 0);
	return a;
}

/* Weight in the memory histogram bucket that holds `bytes`. */
static double mem_weight(const struct rec_aggregate *a, int64_t bytes)
{
	return a->memory.h
		.weights[rec_histogram_options_find_bucket(a->memory.h.options, (double)bytes)];
}

START_TEST(test_cpu_minute_mean)
{
	struct rec_aggregate *a = new_aggregate();
	struct rec_container c;

	rec_container_init(&c, a);
	/* Minute 0: 0.5 and 1.0 cores → 0.75; minute 1: 0.0015 and 0.0016 → 1 m (truncated). */
	ck_assert_int_eq(rec_container_add_cpu_reading(&c, T0 + 1 * SEC, 0.5), 0);
	ck_assert_int_eq(rec_container_add_cpu_reading(&c, T0 + 59 * SEC, 1.0), 0);
	ck_assert_int_eq(a->total_samples, 0);
	ck_assert_int_eq(rec_container_add_cpu_reading(&c, T0 + MIN, 0.0015), 1);
	ck_assert_int_eq(a->total_samples, 1);
	ck_assert_int_eq(a->first_sample_usec, T0);
	ck_assert_int_eq(rec_container_add_cpu_reading(&c, T0 + MIN + 30 * SEC, 0.0016), 0);
	ck_assert_int_eq(rec_container_flush_cpu(&c), 1);
	ck_assert_int_eq(a->total_samples, 2);
	ck_assert_int_eq(a->last_sample_usec, T0 + MIN);
	ck_assert_int_eq(rec_container_flush_cpu(&c), 0);
	/* 0.75 cores sits in the bucket ending at 0.752988; 0.001 in bucket 0. */
	ck_assert_double_eq_tol(rec_decaying_histogram_percentile(&a->cpu, 1.0), 0.752988, 1e-6);
	ck_assert_double_eq_tol(rec_decaying_histogram_percentile(&a->cpu, 0.0), 0.01, 1e-12);
	ck_assert_int_eq(rec_container_add_cpu_reading(&c, T0, -1), -EINVAL);
	ck_assert_int_eq(rec_container_add_cpu_reading(&c, T0, NAN), -EINVAL);
	rec_aggregate_free(a);
}
END_TEST

START_TEST(test_cpu_out_of_order_dropped)
{
	struct rec_aggregate *a = new_aggregate();
	struct rec_container c;

	rec_container_init(&c, a);
	ck_assert_int_eq(rec_container_add_cpu_sample(&c, T0 + MIN, 500), 1);
	ck_assert_int_eq(rec_container_add_cpu_sample(&c, T0 + MIN, 700), 0);
	ck_assert_int_eq(rec_container_add_cpu_sample(&c, T0, 700), 0);
	ck_assert_int_eq(rec_container_add_cpu_sample(&c, T0 + 2 * MIN, -1), 0);
	ck_assert_int_eq(a->total_samples, 1);
	/* Readings arriving for an older minute close the current one and are then dropped. */
	ck_assert_int_eq(rec_container_add_cpu_reading(&c, T0 + 3 * MIN, 1.0), 0);
	ck_assert_int_eq(rec_container_add_cpu_reading(&c, T0 + 2 * MIN, 1.0), 1);
	ck_assert_int_eq(rec_container_flush_cpu(&c), 0);
	ck_assert_int_eq(a->total_samples, 2);
	rec_aggregate_free(a);
}
END_TEST

START_TEST(test_memory_peak_per_interval)
{
	struct rec_aggregate *a = new_aggregate();
	struct rec_container c;

	rec_container_init(&c, a);
	ck_assert_int_eq(rec_container_add_memory_reading(&c, T0, 100 * MiB), 1);
	ck_assert_int_eq(c.window_end_usec, T0 + DAY);
	ck_assert_int_eq(rec_container_add_memory_reading(&c, T0 + HOUR, 300 * MiB), 1);
	ck_assert_int_eq(rec_container_add_memory_reading(&c, T0 + 2 * HOUR, 200 * MiB), 1);
	/* One peak per interval: the 100 MiB entry was replaced by 300 MiB. */
	ck_assert_double_eq(mem_weight(a, 100 * MiB), 0.0);
	ck_assert_double_eq_tol(mem_weight(a, 300 * MiB), a->memory.h.total_weight, 1e-9);
	ck_assert_double_eq(mem_weight(a, 200 * MiB), 0.0);
	ck_assert_int_eq(c.memory_peak, 300 * MiB);
	/* The next interval gets its own peak, weighted twice as much a day later. */
	ck_assert_int_eq(rec_container_add_memory_reading(&c, T0 + DAY + HOUR, 150 * MiB), 1);
	ck_assert_int_eq(c.window_end_usec, T0 + 2 * DAY);
	ck_assert_double_eq_tol(mem_weight(a, 150 * MiB) / mem_weight(a, 300 * MiB), 2.0, 1e-9);
	/* Out-of-order usage is discarded. */
	ck_assert_int_eq(rec_container_add_memory_reading(&c, T0 + DAY, 900 * MiB), 0);
	ck_assert_double_eq(mem_weight(a, 900 * MiB), 0.0);
	/* A gap of several intervals jumps the window in whole intervals. */
	ck_assert_int_eq(rec_container_add_memory_reading(&c, T0 + 5 * DAY + 7, 10 * MiB), 1);
	ck_assert_int_eq(c.window_end_usec, T0 + 6 * DAY);
	/* Memory does not count as a sample for confidence. */
	ck_assert_int_eq(a->total_samples, 0);
	rec_aggregate_free(a);
}
END_TEST

/* VPA quirk: an interval opened with a zero peak never takes a higher one. */
START_TEST(test_memory_zero_peak_quirk)
{
	struct rec_aggregate *a = new_aggregate();
	struct rec_container c;

	rec_container_init(&c, a);
	ck_assert_int_eq(rec_container_add_memory_reading(&c, T0, 0), 1);
	ck_assert_int_eq(rec_container_add_memory_reading(&c, T0 + HOUR, 500 * MiB), 1);
	ck_assert_double_eq(mem_weight(a, 500 * MiB), 0.0);
	ck_assert_int_eq(c.memory_peak, 0);
	rec_aggregate_free(a);
}
END_TEST

START_TEST(test_oom_bump)
{
	struct rec_aggregate *a = new_aggregate();
	struct rec_container c;
	int64_t want;

	rec_container_init(&c, a);
	ck_assert_int_eq(rec_container_add_memory_reading(&c, T0, 900 * MiB), 1);
	/* used = max(request 1 GiB, peak 900 MiB); needed = max(used + 100 MiB, 1.2 used). */
	ck_assert_int_eq(rec_container_record_oom(&c, T0 + HOUR, 1024 * MiB), 0);
	want = (int64_t)(1024.0 * MiB * 1.2);
	ck_assert_int_eq(c.oom_peak, want);
	ck_assert_int_eq(a->last_oom_usec, T0 + HOUR);
	ck_assert_int_eq(a->last_oom_memory_bytes, want);
	ck_assert_double_eq_tol(mem_weight(a, want), a->memory.h.total_weight, 1e-9);
	ck_assert_double_eq(mem_weight(a, 900 * MiB), 0.0);
	/* Repeated OOMs bump from the usage peak, not from the previous bump. */
	ck_assert_int_eq(rec_container_record_oom(&c, T0 + 2 * HOUR, 0), 0);
	ck_assert_int_eq(c.oom_peak, want);
	/* Small containers get at least the minimum bump. */
	rec_container_init(&c, a);
	ck_assert_int_eq(rec_container_add_memory_reading(&c, T0 + 3 * DAY, 10 * MiB), 1);
	ck_assert_int_eq(rec_container_record_oom(&c, T0 + 3 * DAY + 1, 0), 0);
	ck_assert_int_eq(c.oom_peak, 110 * MiB);
	/* An OOM older than the interval before the current one is dropped. */
	ck_assert_int_eq(rec_container_record_oom(&c, T0 + DAY, 0), -ESTALE);
	rec_aggregate_free(a);
}
END_TEST

START_TEST(test_recommend_steady)
{
	struct rec_aggregate *a = new_aggregate();
	struct rec_recommendation rec;
	struct rec_container c;

	rec_container_init(&c, a);
	/* A week of 1 sample/minute at 2 cores and 1 GiB. */
	for (int64_t t = 0; t < 7 * DAY; t += MIN) {
		ck_assert_int_ge(rec_container_add_cpu_sample(&c, T0 + t, 2000), 1);
		ck_assert_int_ge(rec_container_add_memory_sample(&c, T0 + t, 1024 * MiB), 0);
	}
	ck_assert_int_eq(rec_recommend(a, 1, &rec), 0);
	/* 2 cores → end of its bucket (2.0934) + 15 %. */
	ck_assert_int_ge(rec.target.cpu_millicores, 2300);
	ck_assert_int_le(rec.target.cpu_millicores, 2410);
	ck_assert_int_le(rec.lower.cpu_millicores, rec.target.cpu_millicores);
	ck_assert_int_ge(rec.lower.cpu_millicores, rec.target.cpu_millicores * 999 / 1000);
	ck_assert_int_gt(rec.upper.cpu_millicores, rec.target.cpu_millicores);
	/* Upper ≈ x (1 + 1/7) after a week. */
	ck_assert_int_le(rec.upper.cpu_millicores, rec.target.cpu_millicores * 1143 / 1000 + 1);
	ck_assert_int_ge(rec.target.memory_bytes, 1024 * MiB * 115 / 100);
	ck_assert_int_le(rec.target.memory_bytes, 1024 * MiB * 121 / 100);
	ck_assert(!rec_aggregate_is_expired(a, T0 + 7 * DAY));
	ck_assert(rec_aggregate_is_expired(a, T0 + 15 * DAY));
	rec_aggregate_free(a);
}
END_TEST

START_TEST(test_merge)
{
	struct rec_aggregate *a = new_aggregate(), *b;
	struct rec_container ca, cb;

	ck_assert_int_eq(rec_aggregate_new(&tun, T0, &b), 0);
	rec_container_init(&ca, a);
	rec_container_init(&cb, b);
	ck_assert_int_eq(rec_container_add_cpu_sample(&ca, T0 + MIN, 100), 1);
	ck_assert_int_eq(rec_container_add_cpu_sample(&cb, T0, 4000), 1);
	ck_assert_int_eq(rec_container_add_cpu_sample(&cb, T0 + 200 * DAY, 4000), 1);
	ck_assert_int_eq(rec_aggregate_merge(a, b), 0);
	ck_assert_int_eq(a->total_samples, 3);
	ck_assert_int_eq(a->first_sample_usec, T0);
	ck_assert_int_eq(a->last_sample_usec, T0 + 200 * DAY);
	/* The old samples decayed to nothing next to the one 200 days newer. */
	ck_assert_double_eq_tol(rec_decaying_histogram_percentile(&a->cpu, 0.0), 4.124, 0.01);
	rec_aggregate_free(a);
	rec_aggregate_free(b);
}
END_TEST

START_TEST(test_tunables_validate)
{
	struct rec_tunables t;

	rec_tunables_init_default(&t);
	ck_assert_int_eq(rec_tunables_validate(&t), 0);
	ck_assert_int_eq(rec_tunables_history_window_usec(&t), 8 * DAY);
	t.target_cpu_percentile = 1.5;
	ck_assert_int_eq(rec_tunables_validate(&t), -EINVAL);
	rec_tunables_init_default(&t);
	t.cpu_histogram_decay_half_life_usec = 0;
	ck_assert_int_eq(rec_tunables_validate(&t), -EINVAL);
	rec_tunables_init_default(&t);
	t.oom_bump_up_ratio = NAN;
	ck_assert_int_eq(rec_tunables_validate(&t), -EINVAL);
}
END_TEST

START_TEST(test_tunables_by_flag_name)
{
	struct rec_tunables t;
	int64_t us;
	size_t n = 0;

	rec_tunables_init_default(&t);
	for (; rec_tunable_info(n); n++)
		ck_assert_ptr_nonnull(rec_tunable_info(n)->help);
	ck_assert_int_eq(n, 17);
	ck_assert_int_eq(rec_tunables_set(&t, "cpu-histogram-decay-half-life", "1h30m"), 0);
	ck_assert_int_eq(t.cpu_histogram_decay_half_life_usec, 90 * MIN);
	ck_assert_int_eq(rec_tunables_set(&t, "memory-aggregation-interval-count", "4"), 0);
	ck_assert_int_eq(rec_tunables_history_window_usec(&t), 4 * DAY);
	ck_assert_int_eq(rec_tunables_set(&t, "target-cpu-percentile", "0.95"), 0);
	ck_assert_double_eq(t.target_cpu_percentile, 0.95);
	ck_assert_int_eq(rec_tunables_set(&t, "oom-bump-up-ratio", "1.5"), 0);
	ck_assert_double_eq(t.oom_bump_up_ratio, 1.5);
	ck_assert_int_eq(rec_tunables_validate(&t), 0);
	ck_assert_int_eq(rec_tunables_set(&t, "target-cpu-percentile", "1.1"), -EINVAL);
	ck_assert_int_eq(rec_tunables_set(&t, "confidence-interval-cpu", "0"), -EINVAL);
	ck_assert_int_eq(rec_tunables_set(&t, "confidence-interval-cpu", "5x"), -EINVAL);
	ck_assert_int_eq(rec_tunables_set(&t, "no-such-flag", "1"), -ENOENT);
	ck_assert_double_eq(t.target_cpu_percentile, 0.95);
	ck_assert_int_eq(rec_parse_duration("24h", &us), 0);
	ck_assert_int_eq(us, DAY);
	ck_assert_int_eq(rec_parse_duration("1.5s250ms", &us), 0);
	ck_assert_int_eq(us, 1750000);
	ck_assert_int_eq(rec_parse_duration("2m", &us), 0);
	ck_assert_int_eq(us, 2 * MIN);
	ck_assert_int_eq(rec_parse_duration("-1h", &us), -EINVAL);
	ck_assert_int_eq(rec_parse_duration("h", &us), -EINVAL);
	ck_assert_int_eq(rec_parse_duration("", &us), -EINVAL);
}
END_TEST

Suite *rec_model_suite(void)
{
	Suite *s = suite_create("rec_model");
	TCase *tc = tcase_create("model");

	tcase_add_test(tc, test_cpu_minute_mean);
	tcase_add_test(tc, test_cpu_out_of_order_dropped);
	tcase_add_test(tc, test_memory_peak_per_interval);
	tcase_add_test(tc, test_memory_zero_peak_quirk);
	tcase_add_test(tc, test_oom_bump);
	tcase_add_test(tc, test_recommend_steady);
	tcase_add_test(tc, test_merge);
	tcase_add_test(tc, test_tunables_validate);
	tcase_add_test(tc, test_tunables_by_flag_name);
	suite_add_tcase(s, tc);
	return s;
}
