/* The worked vectors of spec/recommender.md (taken from VPA's own test suite), one test each. */
#include "tests/unit/unit.h"

#include <errno.h>
#include <math.h>
#include <stdint.h>

#include "agent/recommender/histogram.h"
#include "agent/recommender/recommender.h"

#define HOUR REC_USEC_PER_HOUR
#define START (1234567890LL * REC_USEC_PER_SEC)
#define EPS 1e-9

struct hist {
	struct rec_histogram_options o;
	double w[512];
	struct rec_histogram h;
	struct rec_decaying_histogram d;
};

static void linear(struct hist *x, double max, double size, double eps)
{
	ck_assert_int_eq(rec_histogram_options_linear(max, size, eps, &x->o), 0);
	ck_assert_int_le(x->o.num_buckets, 512);
	rec_histogram_init(&x->h, &x->o, x->w);
}

static void linear_decaying(struct hist *x, double max, double size, double eps, int64_t hl)
{
	ck_assert_int_eq(rec_histogram_options_linear(max, size, eps, &x->o), 0);
	rec_decaying_histogram_init(&x->d, &x->o, x->w, hl);
}

/* Vector 1: samples (i, w=i), i = 1..4 on a linear [0, 10] histogram with unit buckets. */
START_TEST(test_v1_percentiles)
{
	static const struct {
		double p, want;
	} cases[] = { { 0, 2 },	  { 0.1, 2 }, { 0.2, 3 }, { 0.3, 3 }, { 0.4, 4 }, { 0.5, 4 },
		      { 0.6, 4 }, { 0.7, 5 }, { 0.8, 5 }, { 0.9, 5 }, { 1.0, 5 } };
	struct hist x;

	linear(&x, 10, 1, 1e-15);
	ck_assert_int_eq(x.o.num_buckets, 11);
	for (int i = 1; i <= 4; i++)
		rec_histogram_add_sample(&x.h, i, i);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		ck_assert_double_eq_tol(rec_histogram_percentile(&x.h, cases[i].p), cases[i].want,
					EPS);
}
END_TEST

/* Vector 2: percentiles outside [0, 1] stop at the min and max buckets. */
START_TEST(test_v2_out_of_range_percentiles)
{
	struct hist x;

	linear(&x, 1.0, 0.1, 1e-15);
	rec_histogram_add_sample(&x.h, 0.1, 0.1);
	rec_histogram_add_sample(&x.h, 0.2, 0.2);
	ck_assert_double_eq_tol(rec_histogram_percentile(&x.h, -0.1), 0.2, EPS);
	ck_assert_double_eq_tol(rec_histogram_percentile(&x.h, 1.1), 0.3, EPS);
	rec_histogram_add_sample(&x.h, 0.0, 0.1);
	rec_histogram_add_sample(&x.h, 1.0, 0.2);
	ck_assert_double_eq_tol(rec_histogram_percentile(&x.h, -0.1), 0.1, EPS);
	ck_assert_double_eq_tol(rec_histogram_percentile(&x.h, 1.1), 1.0, EPS);
}
END_TEST

/* Vector 3: an empty histogram answers 0 whatever the percentile. */
START_TEST(test_v3_empty)
{
	static const double ps[] = { -0.5, 0, 0.5, 1, 1.5 };
	struct hist x;

	linear(&x, 10, 1, 1e-15);
	ck_assert(rec_histogram_is_empty(&x.h));
	for (size_t i = 0; i < 5; i++)
		ck_assert_double_eq(rec_histogram_percentile(&x.h, ps[i]), 0.0);
	rec_histogram_add_sample(&x.h, 3, 1);
	ck_assert(!rec_histogram_is_empty(&x.h));
}
END_TEST

/* Vector 4: newer samples weigh more (half-life 1 h). */
START_TEST(test_v4_decay)
{
	static const struct {
		double p, want;
	} cases[] = { { 0.00, 2 }, { 0.02, 2 }, { 0.03, 3 }, { 0.10, 3 },
		      { 0.11, 4 }, { 0.34, 4 }, { 0.35, 5 }, { 1.00, 5 } };
	struct hist x;

	linear_decaying(&x, 10, 1, 1e-15, HOUR);
	for (int i = 1; i <= 4; i++)
		rec_decaying_histogram_add_sample(&x.d, i, i, START + (i - 1) * HOUR);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		ck_assert_double_eq_tol(rec_decaying_histogram_percentile(&x.d, cases[i].p),
					cases[i].want, EPS);
}
END_TEST

/* Vector 5: 20 half-lives make a weight-1 sample outweigh... nearly all of a weight-1000 one. */
START_TEST(test_v5_decay_long_gap)
{
	struct hist x;

	linear_decaying(&x, 10, 1, 1e-15, HOUR);
	rec_decaying_histogram_add_sample(&x.d, 2, 1000, START);
	rec_decaying_histogram_add_sample(&x.d, 1, 1, START + 20 * HOUR);
	ck_assert_double_eq_tol(rec_decaying_histogram_percentile(&x.d, 0.999), 2, EPS);
	ck_assert_double_eq_tol(rec_decaying_histogram_percentile(&x.d, 1.0), 3, EPS);
}
END_TEST

/* Vector 6: past 100 half-lives the reference time shifts and old weight vanishes. */
START_TEST(test_v6_reference_shift)
{
	struct hist x;

	linear_decaying(&x, 10, 1, 1e-15, HOUR);
	rec_decaying_histogram_add_sample(&x.d, 2, 1, START);
	rec_decaying_histogram_add_sample(&x.d, 1, 1, START + 101 * HOUR);
	ck_assert_double_eq_tol(rec_decaying_histogram_percentile(&x.d, 1.0), 2, EPS);
	ck_assert(isfinite(x.d.h.total_weight));
	/* The reference is a whole number of half-lives (since Go's zero time). */
	ck_assert_int_eq((x.d.reference_usec - REC_TIME_ZERO) % HOUR, 0);
}
END_TEST

/* Vector 7: exponential bucket layout. */
START_TEST(test_v7_exponential_layout)
{
	static const double starts[] = { 0, 40, 100, 190, 325, 527.5 };
	struct rec_histogram_options o;

	ck_assert_int_eq(rec_histogram_options_exponential(500, 40, 1.5, 0.001, &o), 0);
	ck_assert_int_eq(o.num_buckets, 6);
	for (int i = 0; i < 6; i++)
		ck_assert_double_eq_tol(rec_histogram_options_bucket_start(&o, i), starts[i], 1e-9);
	ck_assert_int_eq(rec_histogram_options_find_bucket(&o, -1), 0);
	ck_assert_int_eq(rec_histogram_options_find_bucket(&o, 39.99), 0);
	ck_assert_int_eq(rec_histogram_options_find_bucket(&o, 40), 1);
	ck_assert_int_eq(rec_histogram_options_find_bucket(&o, 100), 2);
	ck_assert_int_eq(rec_histogram_options_find_bucket(&o, 900), 5);
	ck_assert_int_eq(rec_histogram_options_exponential(500, 40, 1.0, 0.001, &o), -EINVAL);
}
END_TEST

/* Vector 8: linear layout with a bucket size that does not divide the maximum. */
START_TEST(test_v8_linear_layout)
{
	struct rec_histogram_options o;

	ck_assert_int_eq(rec_histogram_options_linear(5.0, 0.3, 1e-15, &o), 0);
	ck_assert_int_eq(o.num_buckets, 18);
	ck_assert_double_eq_tol(rec_histogram_options_bucket_start(&o, 17), 5.1, 1e-9);
	ck_assert_int_eq(rec_histogram_options_find_bucket(&o, 1.3), 4);
	ck_assert_int_eq(rec_histogram_options_find_bucket(&o, 100), 17);
	ck_assert_int_eq(rec_histogram_options_linear(0, 0.3, 1e-15, &o), -EINVAL);
}
END_TEST

/* Vector 9: checkpoint scaling to 10000 and loading back. */
START_TEST(test_v9_checkpoint)
{
	struct hist x, y;
	uint32_t stored[512];
	struct rec_histogram_checkpoint cp = { .bucket_weights = stored };

	linear(&x, 10, 1, 1e-15);
	cp.num_buckets = x.o.num_buckets;
	rec_histogram_add_sample(&x.h, 1, 1);
	rec_histogram_add_sample(&x.h, 2, 10000);
	rec_histogram_add_sample(&x.h, 3, 50);
	ck_assert_int_eq(rec_histogram_save(&x.h, &cp), 0);
	ck_assert_double_eq_tol(cp.total_weight, 10051, EPS);
	ck_assert_uint_eq(stored[0], 0);
	ck_assert_uint_eq(stored[1], 1);
	ck_assert_uint_eq(stored[2], 10000);
	ck_assert_uint_eq(stored[3], 50);
	ck_assert_uint_eq(stored[4], 0);

	linear(&x, 10, 1, 1e-15);
	rec_histogram_add_sample(&x.h, 1, 1);
	rec_histogram_add_sample(&x.h, 2, 100000);
	ck_assert_int_eq(rec_histogram_save(&x.h, &cp), 0);
	ck_assert_double_eq_tol(cp.total_weight, 100001, EPS);
	ck_assert_uint_eq(stored[1], 0);
	ck_assert_uint_eq(stored[2], 10000);

	linear(&y, 10, 1, 1e-15);
	for (int i = 0; i < cp.num_buckets; i++)
		stored[i] = 0;
	stored[0] = 1;
	stored[1] = 2;
	cp.total_weight = 6;
	ck_assert_int_eq(rec_histogram_load(&y.h, &cp), 0);
	ck_assert_double_eq_tol(y.w[0], 2.0, EPS);
	ck_assert_double_eq_tol(y.w[1], 4.0, EPS);
	ck_assert_double_eq_tol(y.h.total_weight, 6.0, EPS);
	ck_assert_int_eq(y.h.min_bucket, 0);
	ck_assert_int_eq(y.h.max_bucket, 1);
	cp.total_weight = -1;
	ck_assert_int_eq(rec_histogram_load(&y.h, &cp), -EINVAL);
}
END_TEST

/* Vector 10: confidence from sample count vs lifespan, the multiplier and the margin. */
START_TEST(test_v10_confidence)
{
	struct rec_tunables t;
	struct rec_aggregate *a;

	rec_tunables_init_default(&t);
	ck_assert_int_eq(rec_aggregate_new(&t, START, &a), 0);
	for (int i = 0; i < 9; i++)
		rec_aggregate_add_cpu_sample(a, START + i * 120 * REC_USEC_PER_SEC, 1000);
	ck_assert_double_eq_tol(rec_aggregate_confidence(a, 24 * HOUR), 0.00625, 1e-15);
	ck_assert_int_eq(rec_apply_confidence(3140, 0.1, 2.0, 0.00625), 907460);
	ck_assert_int_eq(rec_apply_margin(3140, 0.1), 3454);
	/* The feel of the multipliers: upper x2 at a day, x1.14 at a week, lower x0.6 at 5 min. */
	ck_assert_int_eq(rec_apply_confidence(1000000, 1.0, 1.0, 1.0), 2000000);
	ck_assert_int_eq(rec_apply_confidence(1000000, 1.0, 1.0, 7.0), 1142857);
	ck_assert_int_eq(rec_apply_confidence(1000000, 0.001, -2.0, 5.0 / 1440), 602793);
	/* No history: upper unbounded, lower 0. */
	ck_assert_int_eq(rec_apply_confidence(1000, 1.0, 1.0, 0.0), REC_MAX_RESOURCE_AMOUNT);
	ck_assert_int_eq(rec_apply_confidence(1000, 0.001, -2.0, 0.0), 0);
	rec_aggregate_free(a);
}
END_TEST

/* Vector 11: the real CPU and memory layouts. */
START_TEST(test_v11_real_options)
{
	struct rec_tunables t;
	struct rec_aggregate *a;

	rec_tunables_init_default(&t);
	ck_assert_int_eq(t.cpu_histogram.num_buckets, 176);
	ck_assert_int_eq(t.memory_histogram.num_buckets, 176);
	ck_assert_int_eq(rec_aggregate_new(&t, START, &a), 0);
	for (int i = 1; i <= 3; i++) {
		rec_histogram_add_sample(&a->cpu.h, i, 1);
		rec_histogram_add_sample(&a->memory.h, i * 1e9, 1);
	}
	ck_assert_double_eq_tol(rec_histogram_percentile(&a->cpu.h, 0.2), 1.0162813885540918,
				1e-15);
	ck_assert_int_eq(rec_amount_from_float(rec_histogram_percentile(&a->cpu.h, 0.2) * 1000),
			 1016);
	ck_assert_int_eq(rec_amount_from_float(rec_histogram_percentile(&a->memory.h, 0.5)),
			 2093479957LL);
	rec_aggregate_free(a);
}
END_TEST

/* The minimums are split across the containers of a pod, VPA's truncation included. */
START_TEST(test_min_resources_split)
{
	struct rec_tunables t;
	struct rec_aggregate *a;
	struct rec_recommendation rec;

	rec_tunables_init_default(&t);
	ck_assert_int_eq(rec_aggregate_new(&t, START, &a), 0);
	ck_assert_int_eq(rec_recommend(a, 1, &rec), 0);
	ck_assert_int_eq(rec.target.cpu_millicores, 25);
	ck_assert_int_eq(rec.target.memory_bytes, 262144000);
	ck_assert_int_eq(rec.lower.cpu_millicores, 25);
	ck_assert_int_eq(rec.upper.memory_bytes, 262144000);
	ck_assert_int_eq(rec_recommend(a, 3, &rec), 0);
	ck_assert_int_eq(rec.target.cpu_millicores, 8);
	ck_assert_int_eq(rec.target.memory_bytes, 87381333);
	ck_assert_int_eq(rec_recommend(a, 0, &rec), -EINVAL);
	rec_aggregate_free(a);
}
END_TEST

/* Beyond the vectors: subtraction clamps at epsilon, merge adds buckets and aligns references. */
START_TEST(test_subtract_and_merge)
{
	struct hist x, y;

	linear(&x, 10, 1, 1e-3);
	rec_histogram_add_sample(&x.h, 2, 1.0);
	rec_histogram_add_sample(&x.h, 5, 1.0);
	/* Leaving less than epsilon empties the bucket and moves min/max. */
	rec_histogram_subtract_sample(&x.h, 5, 0.9995);
	ck_assert_double_eq(x.w[5], 0.0);
	ck_assert_int_eq(x.h.max_bucket, 2);
	ck_assert_double_eq_tol(x.h.total_weight, 1.0, 1e-12);
	rec_histogram_subtract_sample(&x.h, 2, 5.0);
	ck_assert(rec_histogram_is_empty(&x.h));

	linear(&x, 10, 1, 1e-15);
	linear(&y, 10, 1, 1e-15);
	rec_histogram_add_sample(&x.h, 1, 1);
	rec_histogram_add_sample(&y.h, 7, 3);
	ck_assert_int_eq(rec_histogram_merge(&x.h, &y.h), 0);
	ck_assert_double_eq_tol(rec_histogram_percentile(&x.h, 0.25), 2, EPS);
	ck_assert_double_eq_tol(rec_histogram_percentile(&x.h, 0.5), 8, EPS);

	/* Decaying: the older histogram is shifted to the younger reference before adding. */
	linear_decaying(&x, 10, 1, 1e-15, HOUR);
	linear_decaying(&y, 10, 1, 1e-15, HOUR);
	rec_decaying_histogram_add_sample(&x.d, 1, 1, START);
	rec_decaying_histogram_add_sample(&y.d, 7, 1, START + 200 * HOUR);
	ck_assert_int_eq(rec_decaying_histogram_merge(&x.d, &y.d), 0);
	ck_assert_int_eq(x.d.reference_usec, y.d.reference_usec);
	ck_assert_double_eq_tol(rec_decaying_histogram_percentile(&x.d, 0.0), 8, EPS);
	y.d.half_life_usec = 2 * HOUR;
	ck_assert_int_eq(rec_decaying_histogram_merge(&x.d, &y.d), -EINVAL);
}
END_TEST

Suite *rec_vectors_suite(void)
{
	Suite *s = suite_create("rec_vectors");
	TCase *tc = tcase_create("spec");

	tcase_add_test(tc, test_v1_percentiles);
	tcase_add_test(tc, test_v2_out_of_range_percentiles);
	tcase_add_test(tc, test_v3_empty);
	tcase_add_test(tc, test_v4_decay);
	tcase_add_test(tc, test_v5_decay_long_gap);
	tcase_add_test(tc, test_v6_reference_shift);
	tcase_add_test(tc, test_v7_exponential_layout);
	tcase_add_test(tc, test_v8_linear_layout);
	tcase_add_test(tc, test_v9_checkpoint);
	tcase_add_test(tc, test_v10_confidence);
	tcase_add_test(tc, test_v11_real_options);
	tcase_add_test(tc, test_min_resources_split);
	tcase_add_test(tc, test_subtract_and_merge);
	suite_add_tcase(s, tc);
	return s;
}
