/* The cross-node merge of a workload container's history against VPA's numbers: the worked vectors of
 * spec/recommender.md split over two nodes give what one histogram holding every sample gives. */
#include "tests/unit/unit.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <math.h>
#include <stdint.h>

#include "agent/recommender/checkpoint.h"
#include "agent/recommender/merge.h"
#include "agent/recommender/recommender.h"

#define HOUR REC_USEC_PER_HOUR
#define START (1234567890LL * REC_USEC_PER_SEC)
#define EPS 1e-9

/* VPA's linear test layout (max 10, unit buckets, epsilon 1e-15) for CPU, half-life 1 h. */
static void linear_tunables(struct rec_tunables *t)
{
	rec_tunables_init_default(t);
	ck_assert_int_eq(rec_histogram_options_linear(10, 1, 1e-15, &t->cpu_histogram), 0);
	t->cpu_histogram_decay_half_life_usec = HOUR;
}

static struct rec_aggregate *agg(const struct rec_tunables *t)
{
	struct rec_aggregate *a = NULL;

	ck_assert_int_eq(rec_aggregate_new(t, START, &a), 0);
	return a;
}

/* Vector 5 over two nodes: (2, w1000) at start on one, (1, w1) 20 h later on the other. The older
 * reference is shifted by round(20 h / 1 h) half-lives: bucket 2 keeps 1000 x 2^-20 of bucket 1's
 * scale, so P(0.999) = 2 and P(1.0) = 3 as in VPA's single histogram; in either order. */
START_TEST(test_merge_vector5_across_nodes)
{
	struct rec_tunables t;
	struct rec_aggregate *a, *b, *view;

	linear_tunables(&t);
	for (int order = 0; order < 2; order++) {
		a = agg(&t);
		b = agg(&t);
		view = agg(&t);
		rec_decaying_histogram_add_sample(&a->cpu, 2, 1000, START);
		rec_decaying_histogram_add_sample(&b->cpu, 1, 1, START + 20 * HOUR);
		ck_assert_int_eq(rec_aggregate_merged(order ? b : a, order ? &a : &b, 1, view), 0);
		ck_assert_double_eq_tol(rec_decaying_histogram_percentile(&view->cpu, 0.999), 2,
					EPS);
		ck_assert_double_eq_tol(rec_decaying_histogram_percentile(&view->cpu, 1.0), 3, EPS);
		ck_assert_double_eq_tol(view->cpu.h.weights[2] / view->cpu.h.weights[1],
					1000.0 / 1048576.0, 1e-12);
		ck_assert_int_eq(view->cpu.reference_usec, b->cpu.reference_usec);
		rec_aggregate_free(a);
		rec_aggregate_free(b);
		rec_aggregate_free(view);
	}
}
END_TEST

/* Vector 6 over two nodes: 101 half-lives apart, the old node's sample decays below epsilon. */
START_TEST(test_merge_vector6_old_entry_decays)
{
	struct rec_tunables t;
	struct rec_aggregate *a, *b, *view;

	linear_tunables(&t);
	a = agg(&t);
	b = agg(&t);
	view = agg(&t);
	rec_decaying_histogram_add_sample(&a->cpu, 2, 1, START);
	rec_decaying_histogram_add_sample(&b->cpu, 1, 1, START + 101 * HOUR);
	ck_assert_int_eq(rec_aggregate_merged(b, &a, 1, view), 0);
	ck_assert_double_eq_tol(rec_decaying_histogram_percentile(&view->cpu, 1.0), 2, EPS);
	rec_aggregate_free(a);
	rec_aggregate_free(b);
	rec_aggregate_free(view);
}
END_TEST

/* Through the wire form: a remote aggregate sent as JSON and read back. */
static struct rec_aggregate *over_the_wire(const struct rec_tunables *t,
					   const struct rec_aggregate *a)
{
	cJSON *o = rec_aggregate_to_json(a);
	struct rec_aggregate *b = NULL;

	ck_assert_ptr_nonnull(o);
	ck_assert_int_eq(rec_aggregate_from_json(o, t, START, &b), 0);
	cJSON_Delete(o);
	return b;
}

/* Vector 11 with the real layouts: 1 and 2 cores (1e9 and 2e9 bytes) on one node, 3 cores (3e9
 * bytes) on another, shared as an entry: P(0.2) = 1.0162813885540918 cores, memory P(0.5) =
 * 2093479957 bytes; sample counts add up and the span covers both nodes. */
START_TEST(test_merge_vector11_real_layouts_through_json)
{
	struct rec_tunables t;
	struct rec_aggregate *a, *b, *wire, *view;

	rec_tunables_init_default(&t);
	a = agg(&t);
	b = agg(&t);
	view = agg(&t);
	rec_aggregate_add_cpu_sample(a, START, 1000);
	rec_aggregate_add_cpu_sample(a, START + 60 * REC_USEC_PER_SEC, 2000);
	rec_aggregate_add_cpu_sample(b, START - 3 * HOUR, 3000);
	rec_decaying_histogram_add_sample(&a->memory, 1e9, 1, START);
	rec_decaying_histogram_add_sample(&a->memory, 2e9, 1, START);
	rec_decaying_histogram_add_sample(&b->memory, 3e9, 1, START);
	b->last_oom_usec = START + HOUR;
	b->last_oom_memory_bytes = 3600000000LL;
	wire = over_the_wire(&t, b);
	ck_assert_int_eq(rec_aggregate_merged(a, &wire, 1, view), 0);
	ck_assert_int_eq((int64_t)rec_decaying_histogram_percentile(&view->memory, 0.5),
			 2093479957);
	ck_assert_int_eq(view->total_samples, 3);
	ck_assert_int_eq(view->first_sample_usec, START - 3 * HOUR);
	ck_assert_int_eq(view->last_sample_usec, START + 60 * REC_USEC_PER_SEC);
	ck_assert_int_eq(view->last_oom_memory_bytes, 3600000000LL);
	/* The three CPU samples were not at one time: compare with one histogram holding all three. */
	{
		struct rec_aggregate *one = agg(&t);

		rec_aggregate_add_cpu_sample(one, START, 1000);
		rec_aggregate_add_cpu_sample(one, START + 60 * REC_USEC_PER_SEC, 2000);
		rec_aggregate_add_cpu_sample(one, START - 3 * HOUR, 3000);
		for (double p = 0.05; p <= 1.0; p += 0.05)
			ck_assert_double_eq_tol(rec_decaying_histogram_percentile(&view->cpu, p),
						rec_decaying_histogram_percentile(&one->cpu, p),
						EPS);
		rec_aggregate_free(one);
	}
	/* The local aggregate is left as it was: the node shares its own history, never the merge. */
	ck_assert_int_eq(a->total_samples, 2);
	rec_aggregate_free(a);
	rec_aggregate_free(b);
	rec_aggregate_free(wire);
	rec_aggregate_free(view);
}
END_TEST

/* Vector 11's CPU number: samples at one time, split 2 + 1 over nodes. */
START_TEST(test_merge_vector11_cpu)
{
	struct rec_tunables t;
	struct rec_aggregate *a, *b, *wire, *view;

	rec_tunables_init_default(&t);
	a = agg(&t);
	b = agg(&t);
	view = agg(&t);
	rec_decaying_histogram_add_sample(&a->cpu, 1, 1, START);
	rec_decaying_histogram_add_sample(&a->cpu, 2, 1, START);
	rec_decaying_histogram_add_sample(&b->cpu, 3, 1, START);
	wire = over_the_wire(&t, b);
	ck_assert_int_eq(rec_aggregate_merged(a, &wire, 1, view), 0);
	ck_assert_double_eq_tol(rec_decaying_histogram_percentile(&view->cpu, 0.2),
				1.0162813885540918, 1e-12);
	rec_aggregate_free(a);
	rec_aggregate_free(b);
	rec_aggregate_free(wire);
	rec_aggregate_free(view);
}
END_TEST

/* A node with no history of its own (a new replica) gets the others' history as it is. */
START_TEST(test_merge_empty_local)
{
	struct rec_tunables t;
	struct rec_aggregate *a, *b, *view;

	linear_tunables(&t);
	a = agg(&t);
	b = agg(&t);
	view = agg(&t);
	rec_decaying_histogram_add_sample(&b->cpu, 3, 2, START);
	rec_aggregate_add_cpu_sample(b, START + HOUR, 4000);
	ck_assert_int_eq(rec_aggregate_merged(a, &b, 1, view), 0);
	ck_assert_int_eq(view->total_samples, 1);
	ck_assert_int_eq(view->first_sample_usec, START + HOUR);
	ck_assert_double_eq_tol(rec_decaying_histogram_percentile(&view->cpu, 0.5),
				rec_decaying_histogram_percentile(&b->cpu, 0.5), EPS);
	ck_assert_double_eq_tol(view->cpu.h.total_weight, b->cpu.h.total_weight, 1e-12);
	rec_aggregate_free(a);
	rec_aggregate_free(b);
	rec_aggregate_free(view);
}
END_TEST

/* An entry of another layout (another snug build's buckets) is refused, not summed. */
START_TEST(test_merge_other_layout_refused)
{
	struct rec_tunables t, other;
	struct rec_aggregate *a, *b, *view;

	rec_tunables_init_default(&t);
	linear_tunables(&other);
	a = agg(&t);
	b = agg(&other);
	view = agg(&t);
	ck_assert_int_eq(rec_aggregate_merged(a, &b, 1, view), -EINVAL);
	rec_aggregate_free(a);
	rec_aggregate_free(b);
	rec_aggregate_free(view);
}
END_TEST

Suite *rec_merge_suite(void)
{
	Suite *s = suite_create("rec_merge");
	TCase *tc = tcase_create("merge");

	tcase_add_test(tc, test_merge_vector5_across_nodes);
	tcase_add_test(tc, test_merge_vector6_old_entry_decays);
	tcase_add_test(tc, test_merge_vector11_real_layouts_through_json);
	tcase_add_test(tc, test_merge_vector11_cpu);
	tcase_add_test(tc, test_merge_empty_local);
	tcase_add_test(tc, test_merge_other_layout_refused);
	suite_add_tcase(s, tc);
	return s;
}
