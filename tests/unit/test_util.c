/* Unit tests for the shared helpers: strict number parsing and log levels. */
#include "agent/util/backoff.h"
#include "tests/unit/unit.h"
#include <errno.h>
#include <stdint.h>
#include <syslog.h>

#include "agent/util/log.h"
#include "agent/util/parse.h"

START_TEST(test_safe_atou64)
{
	uint64_t v = 7;

	ck_assert_int_eq(safe_atou64("18446744073709551615", &v), 0);
	ck_assert_uint_eq(v, UINT64_MAX);
	ck_assert_int_eq(safe_atou64("18446744073709551616", &v), -ERANGE);
	ck_assert_int_eq(safe_atou64("", &v), -EINVAL);
	ck_assert_int_eq(safe_atou64("-1", &v), -EINVAL);
	ck_assert_int_eq(safe_atou64(" 1", &v), -EINVAL);
	ck_assert_int_eq(safe_atou64("12\n", &v), -EINVAL);
	ck_assert_int_eq(safe_atou64("max", &v), -EINVAL);
	ck_assert_uint_eq(v, UINT64_MAX);
}
END_TEST

START_TEST(test_safe_atoi64_and_atod)
{
	int64_t i;
	double d;

	ck_assert_int_eq(safe_atoi64("-42", &i), 0);
	ck_assert_int_eq(i, -42);
	ck_assert_int_eq(safe_atoi64("--1", &i), -EINVAL);
	ck_assert_int_eq(safe_atod("0.25", &d), 0);
	ck_assert_double_eq(d, 0.25);
	ck_assert_int_eq(safe_atod("nan", &d), -EINVAL);
	ck_assert_int_eq(safe_atod("1e999", &d), -ERANGE);
	ck_assert_int_eq(safe_atod("1.5x", &d), -EINVAL);
}
END_TEST

START_TEST(test_log_levels)
{
	ck_assert_int_eq(log_level_from_string("debug"), LOG_DEBUG);
	ck_assert_int_eq(log_level_from_string("WARNING"), LOG_WARNING);
	ck_assert_int_eq(log_level_from_string("3"), LOG_ERR);
	ck_assert_int_eq(log_level_from_string("loud"), -EINVAL);
	/* log_*_errno returns the negative error whatever sign it was given. */
	ck_assert_int_eq(log_debug_errno(ENOENT, "x"), -ENOENT);
	ck_assert_int_eq(log_debug_errno(-EIO, "x"), -EIO);
}
END_TEST

/* Exponential and capped; the jitter keeps each delay within [d/2, d] and is not the same for
 * every failure (agents must not retry in step). */
START_TEST(test_backoff)
{
	struct backoff b;
	bool differ = false;
	uint64_t prev = 0;

	ck_assert_uint_eq(backoff_exponential(1000, 8000, 0), 1000);
	ck_assert_uint_eq(backoff_exponential(1000, 8000, 1), 1000);
	ck_assert_uint_eq(backoff_exponential(1000, 8000, 3), 4000);
	ck_assert_uint_eq(backoff_exponential(1000, 8000, 9), 8000);
	ck_assert_uint_eq(backoff_exponential(1000, 8000, 1000), 8000);
	backoff_init(&b, 500, 100, 0); /* max under first: first wins; seed 0 still jitters */
	ck_assert_uint_eq(b.max_usec, 500);
	backoff_init(&b, 1000, 30000, 42);
	for (unsigned n = 1; n <= 20; n++) {
		uint64_t d = backoff_jittered(&b, n), full = backoff_exponential(1000, 30000, n);

		ck_assert_uint_ge(d, full / 2);
		ck_assert_uint_le(d, full);
		if (n > 6 && prev && d != prev)
			differ = true;
		prev = d;
	}
	ck_assert(differ);
}
END_TEST

Suite *util_suite(void)
{
	Suite *s = suite_create("util");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_safe_atou64);
	tcase_add_test(tc, test_safe_atoi64_and_atod);
	tcase_add_test(tc, test_log_levels);
	tcase_add_test(tc, test_backoff);
	suite_add_tcase(s, tc);
	return s;
}
