/* Unit tests for reading snug.io/last-resize back after a restart: the cooldown and the budget of
 * grows inside it come back, and nothing in the annotation can break the arithmetic or freeze a
 * pod's resizes. */
#include "tests/unit/unit.h"
#include <string.h>

#include "agent/last_resize.h"
#include "agent/util/json.h"

#define SEC USEC_PER_SEC
#define NOW (1700000000ULL * SEC)

static int parse(const char *text, struct last_resize *lr, char *problem)
{
	return last_resize_parse(text, "app", NOW, lr, problem, 256);
}

START_TEST(test_written_by_snug)
{
	struct last_resize lr;
	char problem[256];

	ck_assert_int_eq(parse("{\"at\":1699999990,\"container\":\"app\",\"kind\":\"oom\","
			       "\"reason\":\"oom-kill: ...\",\"bypass_grows\":{\"app\":[1699999000,"
			       "1699999990],\"sidecar\":[1699999500]}}",
			       &lr, problem),
			 0);
	ck_assert_str_eq(problem, "");
	ck_assert_uint_eq(lr.at_usec, 1699999990ULL * SEC);
	/* Written before each resource had its own cooldown: the one holds both. */
	ck_assert_uint_eq(lr.memory.at_usec, 1699999990ULL * SEC);
	ck_assert_uint_eq(lr.cpu.at_usec, 1699999990ULL * SEC);
	ck_assert_uint_eq(lr.memory.n_bypass_grows, 2);
	ck_assert_uint_eq(lr.cpu.n_bypass_grows, 2);
	ck_assert_uint_eq(lr.memory.bypass_grows_usec[0], 1699999000ULL * SEC);
	ck_assert_uint_eq(lr.memory.bypass_grows_usec[1], 1699999990ULL * SEC);
	ck_assert_uint_eq(lr.cpu.bypass_grows_usec[1], 1699999990ULL * SEC);
	/* Another container's resize: not this one's cooldown, but its own grows still count. */
	ck_assert_int_eq(last_resize_parse("{\"at\":1699999990,\"container\":\"sidecar\","
					   "\"bypass_grows\":{\"app\":[1699999000]}}",
					   "app", NOW, &lr, problem, sizeof(problem)),
			 0);
	ck_assert_uint_eq(lr.at_usec, 0);
	ck_assert_uint_eq(lr.memory.at_usec, 0);
	ck_assert_uint_eq(lr.memory.n_bypass_grows, 1);
	ck_assert_uint_eq(lr.cpu.n_bypass_grows, 1);
	/* Absent: nothing, no problem. */
	ck_assert_int_eq(parse(NULL, &lr, problem), 0);
	ck_assert_uint_eq(lr.at_usec, 0);
	ck_assert_uint_eq(lr.cpu.n_bypass_grows + lr.memory.n_bypass_grows, 0);
}
END_TEST

/* Issue 13, defect 8: {"at":1e300} was cast unchecked from double to uint64 (undefined
 * behaviour), and a far-future `at` kept the pod in its cooldown for ever. */
static const struct {
	const char *text, *problem;
} bad[] = {
	{ "{\"at\":1e300}", "at 1e+300 is out of range" },
	{ "{\"at\":1e400}", "at inf is out of range" },
	{ "{\"at\":-1e400}", "at -inf is out of range" },
	{ "{\"at\":-1}", "at -1 is out of range" },
	{ "{\"at\":0}", "at 0 is out of range" },
	{ "{\"at\":NaN}", "not a JSON object" },
	{ "{\"at\":\"1700000000\"}", "at is not a number" },
	{ "{\"at\":null}", "at is not a number" },
	{ "{\"at\":[1]}", "at is not a number" },
	{ "{\"at\":4102444800}", "s in the future" }, /* 2100-01-01 */
	{ "{\"at\":1700000121}", "at 1700000121 is 121 s in the future" },
	{ "not json", "not a JSON object" },
	{ "[1700000000]", "not a JSON object" },
	{ "{\"at\":1699999990,\"container\":7}", "container is not a string" },
	{ "{\"bypass_grows\":[1]}", "bypass_grows is not an object" },
	{ "{\"bypass_grows\":{\"app\":1}}", "bypass_grows entry is not an array" },
	{ "{\"bypass_grows\":{\"app\":[1e300,\"x\",4102444800]}}", "a bypass grow time 1e+300" },
	{ "{\"cooldowns\":[1]}", "cooldowns is not an object" },
	{ "{\"cooldowns\":{\"app\":1}}", "cooldowns entry is not an object" },
	{ "{\"cooldowns\":{\"app\":{\"cpu\":1}}}", "cooldowns cpu is not an object" },
	{ "{\"cooldowns\":{\"app\":{\"memory\":{\"at\":1e300,\"bypass_grows\":[\"x\"]}}}}",
	  "at 1e+300 is out of range" },
	{ "{\"cooldowns\":{\"app\":{\"cpu\":{\"at\":4102444800}}}}", "s in the future" },
};

START_TEST(test_untrusted_values_ignored)
{
	struct last_resize lr;
	char problem[256];

	int r = parse(bad[_i].text, &lr, problem);

	/* Nothing of it holds the pod: no cooldown, no spent budget ... */
	ck_assert_uint_eq(lr.at_usec, 0);
	ck_assert_uint_eq(lr.cpu.at_usec + lr.memory.at_usec, 0);
	ck_assert_uint_eq(lr.cpu.n_bypass_grows + lr.memory.n_bypass_grows, 0);
	/* ... and the log line says what was ignored. */
	ck_assert_int_eq(r, 1);
	ck_assert_msg(strstr(problem, bad[_i].problem), "case %d: \"%s\" lacks \"%s\"", _i, problem,
		      bad[_i].problem);
}
END_TEST

START_TEST(test_partly_good)
{
	struct last_resize lr;
	char problem[256];

	/* A little clock skew between nodes is fine; the good times survive the bad ones. */
	ck_assert_int_eq(parse("{\"at\":1700000100,\"bypass_grows\":{\"app\":[\"x\",1699999000,"
			       "-5,1700000050]}}",
			       &lr, problem),
			 1);
	ck_assert_uint_eq(lr.at_usec, 1700000100ULL * SEC);
	ck_assert_uint_eq(lr.memory.n_bypass_grows, 2);
	ck_assert_ptr_nonnull(strstr(problem, "a bypass grow time is not a number"));
	ck_assert_ptr_nonnull(strstr(problem, "a bypass grow time -5 is out of range"));
	/* Fractions of seconds are fine; no problem buffer is fine. */
	ck_assert_int_eq(last_resize_parse("{\"at\":1699999990.5}", "app", NOW, &lr, NULL, 0), 0);
	ck_assert_uint_eq(lr.at_usec, 1699999990500000ULL);
	ck_assert_int_eq(last_resize_parse("{\"at\":1e300}", "app", NOW, &lr, NULL, 0), 1);
}
END_TEST

/* The most grows kept is bounded; the newest win. */
START_TEST(test_many_grows)
{
	_cleanup_free_ char *text = NULL;
	uint64_t times[LAST_RESIZE_MAX_GROWS + 8];
	struct last_resize_grows grows[3];
	struct last_resize lr;
	char problem[256];

	for (size_t i = 0; i < LAST_RESIZE_MAX_GROWS + 8; i++)
		times[i] = NOW - (LAST_RESIZE_MAX_GROWS + 8 - i) * SEC;
	grows[0] = (struct last_resize_grows){ "app", .memory = { NOW - SEC, times,
								  LAST_RESIZE_MAX_GROWS + 8 } };
	grows[1] = (struct last_resize_grows){ "sidecar", .memory = { 0, times, 0 } };
	grows[2] = (struct last_resize_grows){ "other", .memory = { 0, times, 1 } };
	text = last_resize_format("app", NOW - SEC, "oom", "oom-kill: memory limit 64Mi -> 164Mi",
				  grows, 3);
	ck_assert_ptr_nonnull(text);
	ck_assert_int_eq(parse(text, &lr, problem), 0);
	ck_assert_uint_eq(lr.at_usec, NOW - SEC);
	ck_assert_int_eq(parse(text, &lr, problem), 0);
	ck_assert_uint_eq(lr.memory.n_bypass_grows, LAST_RESIZE_MAX_GROWS);
	ck_assert_uint_eq(lr.memory.bypass_grows_usec[0], times[8]);
	ck_assert_uint_eq(lr.memory.bypass_grows_usec[LAST_RESIZE_MAX_GROWS - 1],
			  times[LAST_RESIZE_MAX_GROWS + 7]);
	ck_assert_uint_eq(lr.cpu.n_bypass_grows, 0);
	ck_assert_int_eq(last_resize_parse(text, "sidecar", NOW, &lr, problem, sizeof(problem)), 0);
	ck_assert_uint_eq(lr.memory.n_bypass_grows, 0);
}
END_TEST

/* Issue 17: each resource's cooldown and budget survive a restart apart, for every container of
 * the pod; what an agent from before the split reads holds at least as much as they do. */
START_TEST(test_cooldowns_per_resource)
{
	uint64_t cpu_grows[2] = { NOW - 300 * SEC, NOW - 100 * SEC };
	uint64_t mem_grows[1] = { NOW - 200 * SEC };
	_cleanup_(cJSON_Deletep) cJSON *j = NULL;
	_cleanup_free_ char *text = NULL;
	struct last_resize_grows grows[2] = {
		{ "app", .cpu = { NOW - 100 * SEC, cpu_grows, 2 },
		  .memory = { NOW - 200 * SEC, mem_grows, 1 } },
		{ "sidecar", .cpu = { NOW - 50 * SEC, NULL, 0 } },
	};
	const cJSON *old;
	struct last_resize lr;
	char problem[256];

	/* The sidecar's CPU was resized last: `at` and `container` are the sidecar's. */
	text = last_resize_format("sidecar", NOW - 50 * SEC, "throttle", "cpu-throttled", grows, 2);
	ck_assert_ptr_nonnull(text);
	ck_assert_int_eq(parse(text, &lr, problem), 0);
	ck_assert_str_eq(problem, "");
	ck_assert_uint_eq(lr.cpu.at_usec, NOW - 100 * SEC);
	ck_assert_uint_eq(lr.memory.at_usec, NOW - 200 * SEC);
	ck_assert_uint_eq(lr.at_usec, NOW - 100 * SEC);
	ck_assert_uint_eq(lr.cpu.n_bypass_grows, 2);
	ck_assert_uint_eq(lr.cpu.bypass_grows_usec[1], NOW - 100 * SEC);
	ck_assert_uint_eq(lr.memory.n_bypass_grows, 1);
	ck_assert_uint_eq(lr.memory.bypass_grows_usec[0], NOW - 200 * SEC);
	ck_assert_int_eq(last_resize_parse(text, "sidecar", NOW, &lr, problem, sizeof(problem)), 0);
	ck_assert_uint_eq(lr.cpu.at_usec, NOW - 50 * SEC);
	ck_assert_uint_eq(lr.memory.at_usec, 0);
	ck_assert_uint_eq(lr.memory.n_bypass_grows, 0);

	/* An older agent reads `bypass_grows`: both resources' grows, oldest first. */
	j = cJSON_Parse(text);
	ck_assert_ptr_nonnull(j);
	old = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(j, "bypass_grows"),
					       "app");
	ck_assert_int_eq(cJSON_GetArraySize(old), 3);
	ck_assert_double_eq(cJSON_GetArrayItem(old, 0)->valuedouble, (double)(NOW / SEC - 300));
	ck_assert_double_eq(cJSON_GetArrayItem(old, 1)->valuedouble, (double)(NOW / SEC - 200));
	ck_assert_double_eq(cJSON_GetArrayItem(old, 2)->valuedouble, (double)(NOW / SEC - 100));
}
END_TEST

/* A startup boost held comes back whole after a restart (so it is given back, and not given a
 * second time); a boost with any field missing or untrusted does not come back at all. */
START_TEST(test_boost_held)
{
	_cleanup_free_ char *text = NULL;
	struct last_resize_grows grows[2] = {
		{ "app", .cpu = { NOW - 30 * SEC, NULL, 0 },
		  .boost = { NOW - 30 * SEC, 100, 200 } },
		{ "sidecar", .boost = { NOW - 40 * SEC, RESOURCE_UNSET, 500 } },
	};
	static const char *const broken[] = {
		"{\"cooldowns\":{\"app\":{\"boost\":{\"at\":1699999990,\"cpu_limit\":200}}}}",
		"{\"cooldowns\":{\"app\":{\"boost\":{\"at\":1699999990,\"cpu_request\":0.5,"
		"\"cpu_limit\":200}}}}",
		"{\"cooldowns\":{\"app\":{\"boost\":{\"at\":1699999990,\"cpu_request\":-2,"
		"\"cpu_limit\":200}}}}",
		"{\"cooldowns\":{\"app\":{\"boost\":{\"at\":1800000000,\"cpu_request\":100,"
		"\"cpu_limit\":200}}}}",
		"{\"cooldowns\":{\"app\":{\"boost\":{\"at\":1699999990,\"cpu_request\":100,"
		"\"cpu_limit\":\"200m\"}}}}",
		"{\"cooldowns\":{\"app\":{\"boost\":[1699999990,100,200]}}}",
	};
	struct last_resize lr;
	char problem[256];

	text = last_resize_format("app", NOW - 30 * SEC, "startup-boost", "startup-boost 4x", grows,
				  2);
	ck_assert_ptr_nonnull(text);
	ck_assert_int_eq(parse(text, &lr, problem), 0);
	ck_assert_uint_eq(lr.boost.at_usec, NOW - 30 * SEC);
	ck_assert_int_eq(lr.boost.cpu_request, 100);
	ck_assert_int_eq(lr.boost.cpu_limit, 200);
	ck_assert_uint_eq(lr.cpu.at_usec, NOW - 30 * SEC);
	/* The sidecar's own boost: an unset request stays unset; no cooldown of its own. */
	ck_assert_int_eq(last_resize_parse(text, "sidecar", NOW, &lr, problem, sizeof(problem)), 0);
	ck_assert_uint_eq(lr.boost.at_usec, NOW - 40 * SEC);
	ck_assert_int_eq(lr.boost.cpu_request, RESOURCE_UNSET);
	ck_assert_int_eq(lr.boost.cpu_limit, 500);
	ck_assert_uint_eq(lr.cpu.at_usec, 0);

	for (size_t i = 0; i < sizeof(broken) / sizeof(broken[0]); i++) {
		ck_assert_int_eq(parse(broken[i], &lr, problem), 1);
		ck_assert_msg(strstr(problem, "boost"), "%s: %s", broken[i], problem);
		ck_assert_uint_eq(lr.boost.at_usec, 0);
	}
}
END_TEST

Suite *last_resize_suite(void)
{
	Suite *s = suite_create("last_resize");
	TCase *tc = tcase_create("parse");

	tcase_add_test(tc, test_written_by_snug);
	tcase_add_loop_test(tc, test_untrusted_values_ignored, 0, sizeof(bad) / sizeof(bad[0]));
	tcase_add_test(tc, test_partly_good);
	tcase_add_test(tc, test_many_grows);
	tcase_add_test(tc, test_cooldowns_per_resource);
	tcase_add_test(tc, test_boost_held);
	suite_add_tcase(s, tc);
	return s;
}
