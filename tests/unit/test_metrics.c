/* Unit tests for the Prometheus registry: families, series lifetime, exposition text, promtool. */
#include "tests/unit/unit.h"
#include <errno.h>
#include <malloc.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "agent/metrics/metrics.h"
#include "agent/metrics/snug_metrics.h"
#include "tests/unit/prom_text.h"

static char *format(struct metrics_registry *reg)
{
	char *text = NULL;
	size_t size = 0;

	ck_assert_int_eq(metrics_registry_format(reg, &text, &size), 0);
	ck_assert_uint_eq(size, strlen(text));
	return text;
}

static void assert_promtool_accepts(const char *text)
{
	char *out = NULL;
	int r = prom_text_promtool_check(text, &out);

	if (r == -ENOENT) {
		fprintf(stderr, "SKIPPED: promtool not installed (Debian package 'prometheus'); "
				"exposition NOT checked by promtool\n");
		return;
	}
	ck_assert_msg(r == 0, "promtool check metrics rejected the exposition:\n%s\n---\n%s", out,
		      text);
	free(out);
}

START_TEST(test_family_validation)
{
	struct metrics_registry *reg;
	struct metrics_family *f;
	const double b[] = { 1, 2 }, bad[] = { 2, 1 }, inf[] = { 1, INFINITY };

	ck_assert_int_eq(metrics_registry_new(&reg), 0);
	ck_assert_int_eq(metrics_counter_new(reg, "x_total", "h", NULL, &f), 0);
	ck_assert_int_eq(metrics_counter_new(reg, "x_total", "h", NULL, &f), -EEXIST);
	ck_assert_int_eq(metrics_gauge_new(reg, "x_total", "h", NULL, &f), -EEXIST);
	/* promtool rejects counters without _total; catch it at registration instead. */
	ck_assert_int_eq(metrics_counter_new(reg, "requests", "h", NULL, &f), -EINVAL);
	ck_assert_int_eq(metrics_gauge_new(reg, "1abc", "h", NULL, &f), -EINVAL);
	ck_assert_int_eq(metrics_gauge_new(reg, "a-b", "h", NULL, &f), -EINVAL);
	ck_assert_int_eq(metrics_gauge_new(reg, "__a", "h", NULL, &f), -EINVAL);
	ck_assert_int_eq(metrics_gauge_new(reg, "", "h", NULL, &f), -EINVAL);
	ck_assert_int_eq(metrics_gauge_new(reg, "g", NULL, NULL, &f), -EINVAL);
	ck_assert_int_eq(metrics_gauge_new(reg, "g", "h", METRICS_LABELS("a:b"), &f), -EINVAL);
	ck_assert_int_eq(metrics_gauge_new(reg, "g", "h", METRICS_LABELS("__x"), &f), -EINVAL);
	ck_assert_int_eq(metrics_gauge_new(reg, "g", "h", METRICS_LABELS("a", "a"), &f), -EINVAL);
	ck_assert_int_eq(metrics_histogram_new(reg, "h", "h", METRICS_LABELS("le"), b, 2, &f),
			 -EINVAL);
	ck_assert_int_eq(metrics_histogram_new(reg, "h", "h", NULL, bad, 2, &f), -EINVAL);
	ck_assert_int_eq(metrics_histogram_new(reg, "h", "h", NULL, inf, 2, &f), -EINVAL);
	ck_assert_int_eq(metrics_histogram_new(reg, "h", "h", NULL, b, 0, &f), -EINVAL);
	ck_assert_int_eq(metrics_gauge_new(reg, "ns:g", "h", METRICS_LABELS("le"), &f), 0);
	ck_assert_ptr_eq(metrics_registry_find(reg, "ns:g"), f);
	ck_assert_ptr_null(metrics_registry_find(reg, "g"));
	metrics_registry_free(reg);
}
END_TEST

START_TEST(test_series_lookup_and_removal)
{
	struct metrics_registry *reg;
	struct metrics_family *f, *g;
	struct metrics_series *a, *a2, *b, *c;

	ck_assert_int_eq(metrics_registry_new(&reg), 0);
	ck_assert_int_eq(metrics_gauge_new(reg, "g", "h", METRICS_LABELS("pod", "container"), &f),
			 0);
	ck_assert_int_eq(metrics_counter_new(reg, "c_total", "h", METRICS_LABELS("pod"), &g), 0);
	ck_assert_uint_eq(metrics_family_n_series(f), 0);
	ck_assert_int_eq(metrics_series_get(f, METRICS_VALUES("p1", "app"), &a), 0);
	ck_assert_int_eq(metrics_series_get(f, METRICS_VALUES("p1", "app"), &a2), 0);
	ck_assert_ptr_eq(a, a2);
	/* ("ab","") and ("a","b") are different label sets. */
	ck_assert_int_eq(metrics_series_get(f, METRICS_VALUES("p1a", "pp"), &b), 0);
	ck_assert_ptr_ne(a, b);
	ck_assert_int_eq(metrics_series_get(f, METRICS_VALUES("p2", "app"), &c), 0);
	ck_assert_uint_eq(metrics_family_n_series(f), 3);
	ck_assert_int_eq(metrics_series_get(f, METRICS_VALUES("p1"), &a2), -EINVAL);
	ck_assert_int_eq(metrics_series_get(f, METRICS_VALUES("p1", "a", "x"), &a2), -EINVAL);
	ck_assert_int_eq(metrics_series_get(f, METRICS_VALUES("p1", "\xff"), &a2), -EINVAL);
	ck_assert_int_eq(metrics_series_get(f, METRICS_VALUES("p1", "\xc0\xaf"), &a2), -EINVAL);
	ck_assert_int_eq(metrics_series_get(f, METRICS_VALUES("p1", "ünï"), &a2), 0);
	metrics_series_remove(a2);
	metrics_gauge_set(a, 5);
	metrics_gauge_add(a, -1.5);
	ck_assert_double_eq(metrics_series_value(a), 3.5);

	ck_assert_int_eq(metrics_series_get(g, METRICS_VALUES("p1"), &a2), 0);
	ck_assert_int_eq(metrics_series_get(g, METRICS_VALUES("p2"), &a2), 0);
	/* A pod going away takes its series in every family, and nothing else. */
	ck_assert_uint_eq(
		metrics_registry_remove_matching(reg, METRICS_LABELS("pod"), METRICS_VALUES("p1")),
		2);
	ck_assert_uint_eq(metrics_family_n_series(f), 2);
	ck_assert_uint_eq(metrics_family_n_series(g), 1);
	ck_assert_uint_eq(metrics_registry_remove_matching(reg, METRICS_LABELS("pod", "container"),
							   METRICS_VALUES("p2", "app")),
			  1);
	ck_assert_uint_eq(metrics_family_n_series(f), 1);
	ck_assert_uint_eq(metrics_family_n_series(g), 1);
	metrics_series_remove(b);
	ck_assert_uint_eq(metrics_family_n_series(f), 0);
	/* Re-created after removal, from zero. */
	ck_assert_int_eq(metrics_series_get(f, METRICS_VALUES("p1", "app"), &a), 0);
	ck_assert_double_eq(metrics_series_value(a), 0);
	metrics_registry_free(reg);
}
END_TEST

START_TEST(test_exposition_exact)
{
	struct metrics_registry *reg;
	struct metrics_family *c, *g, *h, *empty;
	struct metrics_series *s;
	const double buckets[] = { 0.1, 1, 2.5 };
	char *text;

	ck_assert_int_eq(metrics_registry_new(&reg), 0);
	ck_assert_int_eq(metrics_counter_new(reg, "snug_t_total",
					     "A counter.\nWith \\ and \"quotes\".",
					     METRICS_LABELS("result", "why"), &c),
			 0);
	ck_assert_int_eq(metrics_gauge_new(reg, "snug_g", "A gauge.", NULL, &g), 0);
	ck_assert_int_eq(
		metrics_gauge_new(reg, "snug_empty", "Nothing yet.", METRICS_LABELS("x"), &empty),
		0);
	ck_assert_int_eq(metrics_histogram_new(reg, "snug_h_seconds", "A histogram.",
					       METRICS_LABELS("op"), buckets, 3, &h),
			 0);

	ck_assert_int_eq(metrics_series_get(c, METRICS_VALUES("ok", "a\"b\\c\nd"), &s), 0);
	metrics_counter_inc(s);
	metrics_counter_add(s, 2);
	metrics_counter_add(s, -5); /* ignored: counters never go down */
	metrics_counter_add(s, NAN);
	ck_assert_int_eq(metrics_series_get(c, METRICS_VALUES("failed", ""), &s), 0);
	metrics_counter_add(s, 0.25);
	ck_assert_int_eq(metrics_series_get(g, NULL, &s), 0);
	metrics_gauge_set(s, 1.5e-7);
	ck_assert_int_eq(metrics_series_get(h, METRICS_VALUES("resize"), &s), 0);
	metrics_histogram_observe(s, 0.05);
	metrics_histogram_observe(s, 0.1); /* upper bounds are inclusive */
	metrics_histogram_observe(s, 2);
	metrics_histogram_observe(s, 7);
	ck_assert_uint_eq(metrics_histogram_count(s), 4);

	text = format(reg);
	ck_assert_str_eq(text, "# HELP snug_t_total A counter.\\nWith \\\\ and \"quotes\".\n"
			       "# TYPE snug_t_total counter\n"
			       "snug_t_total{result=\"ok\",why=\"a\\\"b\\\\c\\nd\"} 3\n"
			       "snug_t_total{result=\"failed\",why=\"\"} 0.25\n"
			       "# HELP snug_g A gauge.\n"
			       "# TYPE snug_g gauge\n"
			       "snug_g 1.5e-07\n"
			       "# HELP snug_h_seconds A histogram.\n"
			       "# TYPE snug_h_seconds histogram\n"
			       "snug_h_seconds_bucket{op=\"resize\",le=\"0.1\"} 2\n"
			       "snug_h_seconds_bucket{op=\"resize\",le=\"1\"} 2\n"
			       "snug_h_seconds_bucket{op=\"resize\",le=\"2.5\"} 3\n"
			       "snug_h_seconds_bucket{op=\"resize\",le=\"+Inf\"} 4\n"
			       "snug_h_seconds_sum{op=\"resize\"} 9.15\n"
			       "snug_h_seconds_count{op=\"resize\"} 4\n");
	free(text);
	metrics_registry_free(reg);
}
END_TEST

START_TEST(test_format_double)
{
	char buf[32];

	metrics_format_double(0, buf);
	ck_assert_str_eq(buf, "0");
	metrics_format_double(1073741824, buf);
	ck_assert_str_eq(buf, "1073741824");
	metrics_format_double(0.25, buf);
	ck_assert_str_eq(buf, "0.25");
	metrics_format_double(0.1 + 0.2, buf); /* not 0.3: must read back exactly */
	ck_assert_double_eq(strtod(buf, NULL), 0.1 + 0.2);
	metrics_format_double(9223372036854775807.0, buf);
	ck_assert_double_eq(strtod(buf, NULL), 9223372036854775807.0);
	metrics_format_double(NAN, buf);
	ck_assert_str_eq(buf, "NaN");
	metrics_format_double(INFINITY, buf);
	ck_assert_str_eq(buf, "+Inf");
	metrics_format_double(-INFINITY, buf);
	ck_assert_str_eq(buf, "-Inf");
}
END_TEST

/* Every type, label escaping, odd values and the agent's own families: promtool must accept it and an
 * independent parser must read back exactly what was put in. */
START_TEST(test_exposition_promtool_and_parse_back)
{
	struct metrics_registry *reg;
	struct metrics_snug m;
	struct metrics_family *weird;
	struct metrics_series *rec[3], *s;
	struct prom_text t;
	const struct prom_sample *smp;
	const struct prom_family *fam;
	size_t bad_line = 0;
	char *text;

	ck_assert_int_eq(metrics_registry_new(&reg), 0);
	ck_assert_int_eq(metrics_snug_register(reg, "0.1.0-test", &m), 0);
	ck_assert_int_eq(metrics_gauge_new(reg, "snug_test_escapes", "Help with \\ and\nnewline.",
					   METRICS_LABELS("v"), &weird),
			 0);

	ck_assert_int_eq(metrics_snug_recommendation_series(m.recommendation_cpu, "default", "web",
							    "app", rec),
			 0);
	metrics_gauge_set(rec[0], 0.25);
	metrics_gauge_set(rec[1], 0.1);
	metrics_gauge_set(rec[2], 1.5);
	ck_assert_int_eq(metrics_snug_recommendation_series(m.recommendation_memory, "default",
							    "web", "app", rec),
			 0);
	metrics_gauge_set(rec[0], 134217728);
	metrics_gauge_set(rec[1], 67108864);
	metrics_gauge_set(rec[2], 1073741824);
	ck_assert_int_eq(
		metrics_series_get(m.requests_cpu, METRICS_VALUES("default", "web", "app"), &s), 0);
	metrics_gauge_set(s, 0.5);
	ck_assert_int_eq(
		metrics_series_get(m.requests_memory, METRICS_VALUES("default", "web", "app"), &s),
		0);
	metrics_gauge_set(s, 268435456);
	ck_assert_int_eq(metrics_series_get(m.resizes, METRICS_VALUES("applied"), &s), 0);
	metrics_counter_inc(s);
	metrics_counter_inc(s);
	ck_assert_int_eq(metrics_series_get(m.oom_kills, METRICS_VALUES("bpf"), &s), 0);
	metrics_counter_inc(s);
	ck_assert_int_eq(metrics_series_get(m.oom_source, METRICS_VALUES("bpf"), &s), 0);
	metrics_gauge_set(s, 1);
	ck_assert_int_eq(metrics_series_get(m.api_requests, METRICS_VALUES("PATCH", "200"), &s), 0);
	metrics_counter_inc(s);
	ck_assert_int_eq(
		metrics_series_get(m.bad_annotations, METRICS_VALUES("default", "bad-pod"), &s), 0);
	metrics_counter_inc(s);
	metrics_histogram_observe(m.oom_to_resize_s, 0.012);
	metrics_histogram_observe(m.sample_duration_s, 0.0003);
	metrics_histogram_observe(m.sample_duration_s, 3);
	metrics_gauge_set(m.tracked_containers_s, 250);
	metrics_counter_inc(m.watch_restarts_s);

	ck_assert_int_eq(metrics_series_get(weird, METRICS_VALUES("q\"b\\s\nn, }{ ünï"), &s), 0);
	metrics_gauge_set(s, -INFINITY);
	ck_assert_int_eq(metrics_series_get(weird, METRICS_VALUES("nan"), &s), 0);
	metrics_gauge_set(s, NAN);
	ck_assert_int_eq(metrics_series_get(weird, METRICS_VALUES(""), &s), 0);
	metrics_gauge_set(s, 1e300);

	text = format(reg);
	assert_promtool_accepts(text);

	ck_assert_msg(prom_text_parse(text, &t, &bad_line) == 0, "unparsable line %zu in:\n%s",
		      bad_line, text);
	smp = prom_text_find(&t, SNUG_M_RECOMMENDATION_CPU, "namespace", "default", "pod", "web",
			     "container", "app", "bound", "upper", NULL);
	ck_assert_ptr_nonnull(smp);
	ck_assert_double_eq(smp->value, 1.5);
	smp = prom_text_find(&t, SNUG_M_RECOMMENDATION_MEMORY, "bound", "target", NULL);
	ck_assert_ptr_nonnull(smp);
	ck_assert_double_eq(smp->value, 134217728);
	smp = prom_text_find(&t, SNUG_M_RESIZES, "result", "applied", NULL);
	ck_assert_ptr_nonnull(smp);
	ck_assert_double_eq(smp->value, 2);
	smp = prom_text_find(&t, SNUG_M_BUILD_INFO, "version", "0.1.0-test", NULL);
	ck_assert_ptr_nonnull(smp);
	ck_assert_double_eq(smp->value, 1);
	smp = prom_text_find(&t, "snug_sample_duration_seconds_bucket", "le", "0.0005", NULL);
	ck_assert_ptr_nonnull(smp);
	ck_assert_double_eq(smp->value, 1);
	smp = prom_text_find(&t, "snug_sample_duration_seconds_bucket", "le", "+Inf", NULL);
	ck_assert_ptr_nonnull(smp);
	ck_assert_double_eq(smp->value, 2);
	smp = prom_text_find(&t, "snug_sample_duration_seconds_sum", NULL);
	ck_assert_ptr_nonnull(smp);
	ck_assert_double_eq_tol(smp->value, 3.0003, 1e-12);
	smp = prom_text_find(&t, SNUG_M_WATCH_RESTARTS, NULL);
	ck_assert_ptr_nonnull(smp);
	ck_assert_double_eq(smp->value, 1);
	smp = prom_text_find(&t, "snug_test_escapes", "v", "q\"b\\s\nn, }{ ünï", NULL);
	ck_assert_ptr_nonnull(smp);
	ck_assert(isinf(smp->value) && smp->value < 0);
	smp = prom_text_find(&t, "snug_test_escapes", "v", "nan", NULL);
	ck_assert_ptr_nonnull(smp);
	ck_assert(isnan(smp->value));
	smp = prom_text_find(&t, "snug_test_escapes", "v", "", NULL);
	ck_assert_ptr_nonnull(smp);
	ck_assert_double_eq(smp->value, 1e300);
	fam = prom_text_family(&t, "snug_test_escapes");
	ck_assert_ptr_nonnull(fam);
	ck_assert_str_eq(fam->help, "Help with \\ and\nnewline.");
	ck_assert_str_eq(fam->type, "gauge");
	fam = prom_text_family(&t, SNUG_M_OOM_TO_RESIZE);
	ck_assert_ptr_nonnull(fam);
	ck_assert_str_eq(fam->type, "histogram");
	/* Families with no series yet (no evictions so far) say nothing, not even HELP. */
	ck_assert_ptr_null(prom_text_family(&t, SNUG_M_EVICTIONS));
	prom_text_free(&t);
	free(text);

	/* The container goes away: its series go, the rest stays. */
	ck_assert_uint_eq(metrics_snug_forget_container(reg, "default", "web", "app"), 8);
	ck_assert_uint_eq(metrics_snug_forget_pod(reg, "default", "bad-pod"), 1);
	text = format(reg);
	ck_assert_ptr_null(strstr(text, "pod=\"web\""));
	ck_assert_ptr_null(strstr(text, "bad-pod"));
	ck_assert_ptr_nonnull(strstr(text, "snug_resizes_total{result=\"applied\"} 2\n"));
	assert_promtool_accepts(text);
	free(text);
	metrics_registry_free(reg);
}
END_TEST

/* Updates through a handle keep no memory: the heap is the same size after a million of them (that
 * they make no malloc/free pair at all is by construction: they are arithmetic on the series). */
START_TEST(test_updates_do_not_grow_heap)
{
	struct metrics_registry *reg;
	struct metrics_snug m;
	struct metrics_series *s;
	struct mallinfo2 before, after;

	ck_assert_int_eq(metrics_registry_new(&reg), 0);
	ck_assert_int_eq(metrics_snug_register(reg, "test", &m), 0);
	ck_assert_int_eq(metrics_series_get(m.resizes, METRICS_VALUES("applied"), &s), 0);
	before = mallinfo2();
	for (int i = 0; i < 1000000; i++) {
		metrics_counter_inc(s);
		metrics_gauge_set(m.tracked_containers_s, i);
		metrics_histogram_observe(m.sample_duration_s, i * 1e-6);
	}
	after = mallinfo2();
	ck_assert_uint_eq(after.uordblks, before.uordblks);
	ck_assert_uint_eq(after.hblkhd, before.hblkhd);
	ck_assert_double_eq(metrics_series_value(s), 1000000);
	ck_assert_uint_eq(metrics_histogram_count(m.sample_duration_s), 1000000);
	metrics_registry_free(reg);
}
END_TEST

/* Thousands of series, half removed in a scattered order: every lookup still finds its own series,
 * removed ones come back fresh, and the output lists exactly the live ones. */
START_TEST(test_many_series)
{
	enum { N = 5000 };
	struct metrics_registry *reg;
	struct metrics_family *f;
	static struct metrics_series *h[N];
	char pod[32], *text;
	size_t lines = 0;

	ck_assert_int_eq(metrics_registry_new(&reg), 0);
	ck_assert_int_eq(metrics_gauge_new(reg, "g", "h", METRICS_LABELS("pod"), &f), 0);
	for (int i = 0; i < N; i++) {
		snprintf(pod, sizeof(pod), "pod-%d", i);
		ck_assert_int_eq(metrics_series_get(f, METRICS_VALUES(pod), &h[i]), 0);
		metrics_gauge_set(h[i], i);
	}
	for (int i = 0; i < N; i++)
		if ((i * 7919) % 2 == 1)
			metrics_series_remove(h[(i * 7919) % N]);
	ck_assert_uint_eq(metrics_family_n_series(f), N / 2);
	for (int i = 0; i < N; i++) {
		struct metrics_series *s;

		snprintf(pod, sizeof(pod), "pod-%d", i);
		ck_assert_int_eq(metrics_series_get(f, METRICS_VALUES(pod), &s), 0);
		if (i % 2 == 0) {
			ck_assert_ptr_eq(s, h[i]);
			ck_assert_double_eq(metrics_series_value(s), i);
		} else {
			ck_assert_double_eq(metrics_series_value(s), 0);
		}
	}
	ck_assert_uint_eq(metrics_family_n_series(f), N);
	text = format(reg);
	for (const char *p = text; (p = strchr(p, '\n')); p++)
		lines++;
	ck_assert_uint_eq(lines, N + 2);
	free(text);
	metrics_registry_free(reg);
}
END_TEST

/* The parser in this test is strict enough to catch what the registry must never print. */
START_TEST(test_parser_rejects_malformed)
{
	struct prom_text t;
	size_t line;

	ck_assert_int_eq(prom_text_parse("a{l=\"x} 1\n", &t, &line), -EINVAL);
	ck_assert_int_eq(prom_text_parse("a{l=\"\\t\"} 1\n", &t, &line), -EINVAL);
	ck_assert_int_eq(prom_text_parse("a 1", &t, &line), -EINVAL);
	ck_assert_int_eq(prom_text_parse("a nan\n", &t, &line), -EINVAL);
	ck_assert_int_eq(prom_text_parse("# HELP a x\na 1\nb{} 1 2 3\n", &t, &line), -EINVAL);
	ck_assert_uint_eq(line, 3);
	ck_assert_int_eq(prom_text_parse("a{l=\"x\"} -Inf\n", &t, &line), 0);
	prom_text_free(&t);
}
END_TEST

Suite *metrics_suite(void)
{
	Suite *s = suite_create("metrics");
	TCase *tc = tcase_create("registry");

	tcase_add_test(tc, test_family_validation);
	tcase_add_test(tc, test_series_lookup_and_removal);
	tcase_add_test(tc, test_exposition_exact);
	tcase_add_test(tc, test_format_double);
	tcase_add_test(tc, test_exposition_promtool_and_parse_back);
	tcase_add_test(tc, test_parser_rejects_malformed);
	tcase_add_test(tc, test_updates_do_not_grow_heap);
	tcase_add_test(tc, test_many_series);
	tcase_set_timeout(tc, 30);
	suite_add_tcase(s, tc);
	return s;
}
