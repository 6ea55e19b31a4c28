/* Unit tests for Kubernetes quantity parsing and printing (cases largely from apimachinery's quantity_test.go). */
#include "tests/unit/unit.h"
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "agent/util/quantity.h"

struct qcase {
	const char *in;
	int r;
	int64_t v;
};

#define KI INT64_C(1024)
#define MI (KI * KI)
#define GI (MI * KI)
#define TI (GI * KI)
#define PI (TI * KI)
#define EI (PI * KI)

static const struct qcase cpu_cases[] = {
	{ "0", 0, 0 },
	{ "0m", 0, 0 },
	{ "0n", 0, 0 },
	{ "0Ki", 0, 0 },
	{ "-0", 0, 0 },
	{ "+0.0", 0, 0 },
	{ "0e999999", 0, 0 },
	{ "1", 0, 1000 },
	{ "+1", 0, 1000 },
	{ "2", 0, 2000 },
	{ "250m", 0, 250 },
	{ "1m", 0, 1 },
	{ "0.1", 0, 100 },
	{ "0.25", 0, 250 },
	{ "1.5", 0, 1500 },
	{ "9.01", 0, 9010 },
	{ "1.", 0, 1000 },
	{ ".5", 0, 500 },
	{ ".001", 0, 1 },
	/* Below a millicore rounds up, as the API server canonicalises. */
	{ "0.0001", 0, 1 },
	{ "0.0005", 0, 1 },
	{ "0.5m", 0, 1 },
	{ "1.001m", 0, 2 },
	{ "100u", 0, 1 },
	{ "1000u", 0, 1 },
	{ "1001u", 0, 2 },
	{ "5n", 0, 1 },
	{ "3.001n", 0, 1 },
	{ "0.9n", 0, 1 },
	{ "1e-100", 0, 1 },
	{ "0.0000000001", 0, 1 },
	{ "0.00000012345", 0, 1 },
	{ "1.0001", 0, 1001 },
	{ "1.0000000000000000000000000000000000000000001", 0, 1001 },
	/* Decimal SI and exponents. */
	{ "2k", 0, 2000000 },
	{ "0.0005k", 0, 500 },
	{ ".0001k", 0, 100 },
	{ "100.035k", 0, 100035000 },
	{ "1M", 0, 1000000000 },
	{ "1G", 0, INT64_C(1000000000000) },
	{ "1.G", 0, INT64_C(1000000000000) },
	{ "1E-3", 0, 1 },
	{ "1e3", 0, 1000000 },
	{ "1e0", 0, 1000 },
	{ "1.2e3", 0, 1200000 },
	{ "1.3E+6", 0, INT64_C(1300000000) },
	{ "0.5e-1", 0, 50 },
	{ "0.5e-2", 0, 5 },
	{ "25e-2", 0, 250 },
	{ "12345e-3", 0, 12345 },
	{ "0001.5000", 0, 1500 },
	/* Binary suffixes are legal for CPU too. */
	{ "1Ki", 0, 1024000 },
	{ ".001Ki", 0, 1024 },
	{ ".000001Ki", 0, 2 },
	/* Limits. */
	{ "9223372036854775807m", 0, INT64_MAX },
	{ "9223372036854775.807", 0, INT64_MAX },
	{ "9223372036854775.8069", 0, INT64_MAX },
	{ "9223372036854775808m", -ERANGE, 0 },
	{ "9223372036854775.8071", -ERANGE, 0 },
	{ "9223372036854776", -ERANGE, 0 },
	{ "12E", -ERANGE, 0 },
	{ "9Ei", -ERANGE, 0 },
	{ "1e100", -ERANGE, 0 },
	{ "1e2147483647", -ERANGE, 0 },
	{ "100000000000000000000000000000000000000m", -ERANGE, 0 },
	/* Malformed (apimachinery's invalid list first). */
	{ "1.1.M", -EINVAL, 0 },
	{ "1+1.0M", -EINVAL, 0 },
	{ "0.1mi", -EINVAL, 0 },
	{ "0.1am", -EINVAL, 0 },
	{ "aoeu", -EINVAL, 0 },
	{ ".5i", -EINVAL, 0 },
	{ "1i", -EINVAL, 0 },
	{ "-3.01i", -EINVAL, 0 },
	{ "-3.01e-", -EINVAL, 0 },
	{ " 1", -EINVAL, 0 },
	{ "1 ", -EINVAL, 0 },
	{ "", -EINVAL, 0 },
	{ ".", -EINVAL, 0 },
	{ "+", -EINVAL, 0 },
	{ "-", -EINVAL, 0 },
	{ "m", -EINVAL, 0 },
	{ "1K", -EINVAL, 0 },
	{ "1KI", -EINVAL, 0 },
	{ "1kb", -EINVAL, 0 },
	{ "1e", -EINVAL, 0 },
	{ "1E+", -EINVAL, 0 },
	{ "1e1.5", -EINVAL, 0 },
	{ "1e3Ki", -EINVAL, 0 },
	{ "1Mi3", -EINVAL, 0 },
	{ "1Ee3", -EINVAL, 0 },
	{ "1e2147483648", -EINVAL, 0 },
	{ "0x10", -EINVAL, 0 },
	{ "1,5", -EINVAL, 0 },
	{ "1_000", -EINVAL, 0 },
	{ "1\n", -EINVAL, 0 },
	{ "\xd9\xa1", -EINVAL, 0 },
	{ "inf", -EINVAL, 0 },
	{ "nan", -EINVAL, 0 },
	/* Negative quantities make no sense for a request or a bound. */
	{ "-1", -EINVAL, 0 },
	{ "-0.5", -EINVAL, 0 },
	{ "-1m", -EINVAL, 0 },
	{ "--1", -EINVAL, 0 },
	{ "+-1", -EINVAL, 0 },
};

static const struct qcase byte_cases[] = {
	{ "0", 0, 0 },
	{ "0Gi", 0, 0 },
	{ "1", 0, 1 },
	{ "1k", 0, 1000 },
	{ "1Ki", 0, 1024 },
	{ "8Ki", 0, 8 * KI },
	{ "7Mi", 0, 7 * MI },
	{ "128Mi", 0, 128 * MI },
	{ "1Gi", 0, GI },
	{ "6Gi", 0, 6 * GI },
	{ "5Ti", 0, 5 * TI },
	{ "100Ti", 0, 100 * TI },
	{ "4Pi", 0, 4 * PI },
	{ "3Ei", 0, 3 * EI },
	{ "7Ei", 0, 7 * EI },
	{ "1024Mi", 0, GI },
	{ "1G", 0, 1000000000 },
	{ "1000M", 0, 1000000000 },
	{ "9E", 0, INT64_C(9000000000000000000) },
	{ "1e9", 0, 1000000000 },
	{ "1.5Ki", 0, 1536 },
	{ "0.5Gi", 0, 536870912 },
	{ "0.5Mi", 0, 524288 },
	/* Fractions of a byte round up. */
	{ "1.5", 0, 2 },
	{ "100.035Ki", 0, 102436 },
	{ "0.05Gi", 0, 53687092 },
	{ "0.025Ti", 0, 27487790695 },
	{ "0.1Ki", 0, 103 },
	{ "0.000000000001Ki", 0, 1 },
	{ "1m", 0, 1 },
	{ "1n", 0, 1 },
	{ "1000m", 0, 1 },
	{ "1001m", 0, 2 },
	{ "0.99999999999999999999999999999999999999999Ki", 0, 1024 },
	{ "7.99999999999999999999999999999999999999999Ei", -ERANGE, 0 }, /* rounds up to 2^63 */
	{ "9223372036854775807", 0, INT64_MAX },
	{ "8796093022207.9990234375Mi", 0, INT64_C(9223372036854774784) },
	{ "9223372036854775808", -ERANGE, 0 },
	{ "9223372036854775806.5", 0, INT64_MAX },
	{ "9223372036854775807.5", -ERANGE, 0 },
	{ "8Ei", -ERANGE, 0 },
	{ "9Ei", -ERANGE, 0 },
	{ "9223372036854775807Ki", -ERANGE, 0 },
	{ "8796093022208Mi", -ERANGE, 0 },
	{ "12E", -ERANGE, 0 },
	{ "1Gi ", -EINVAL, 0 },
	{ "1gi", -EINVAL, 0 },
	{ "1GiB", -EINVAL, 0 },
	{ "1e3Mi", -EINVAL, 0 },
	{ "-1Gi", -EINVAL, 0 },
};

static void check_cases(const struct qcase *cases, size_t n, int (*parse)(const char *, int64_t *))
{
	for (size_t i = 0; i < n; i++) {
		int64_t v = -12345;
		int r = parse(cases[i].in, &v);

		ck_assert_msg(r == cases[i].r, "\"%s\": returned %d, want %d", cases[i].in, r,
			      cases[i].r);
		if (cases[i].r == 0)
			ck_assert_msg(v == cases[i].v, "\"%s\": got %lld, want %lld", cases[i].in,
				      (long long)v, (long long)cases[i].v);
		else
			ck_assert_msg(v == -12345, "\"%s\": out-param written on failure",
				      cases[i].in);
	}
}

START_TEST(test_parse_cpu)
{
	int64_t v;

	check_cases(cpu_cases, sizeof(cpu_cases) / sizeof(cpu_cases[0]), quantity_parse_cpu_millis);
	ck_assert_int_eq(quantity_parse_cpu_millis(NULL, &v), -EINVAL);
}
END_TEST

START_TEST(test_parse_cpu_exa_overflows)
{
	int64_t v;

	/* 1E cores = 10^21 millicores: more than int64 holds. */
	ck_assert_int_eq(quantity_parse_cpu_millis("1E", &v), -ERANGE);
	ck_assert_int_eq(quantity_parse_cpu_millis("9P", &v), 0);
	ck_assert_int_eq(v, INT64_C(9000000000000000000));
}
END_TEST

START_TEST(test_parse_bytes)
{
	check_cases(byte_cases, sizeof(byte_cases) / sizeof(byte_cases[0]), quantity_parse_bytes);
}
END_TEST

/* A very long fraction is still exact: only the digits decide, not a double's 17 of them. */
START_TEST(test_parse_long_fraction)
{
	char buf[4096];
	int64_t v;

	memset(buf, '0', sizeof(buf) - 1);
	buf[sizeof(buf) - 1] = '\0';
	buf[0] = '1';
	buf[1] = '.';
	ck_assert_int_eq(quantity_parse_bytes(buf, &v), 0);
	ck_assert_int_eq(v, 1);
	buf[sizeof(buf) - 2] = '1'; /* 1.000…0001 → 2 */
	ck_assert_int_eq(quantity_parse_bytes(buf, &v), 0);
	ck_assert_int_eq(v, 2);
	buf[0] = '0'; /* 0.000…0001Mi → 1 byte */
	strcpy(buf + sizeof(buf) - 2, "1");
	ck_assert_int_eq(quantity_parse_cpu_millis(buf, &v), 0);
	ck_assert_int_eq(v, 1);
}
END_TEST

struct fcase {
	int64_t v;
	const char *out;
};

START_TEST(test_format_cpu)
{
	static const struct fcase cases[] = {
		{ 0, "0" },	     { 1, "1m" },
		{ 250, "250m" },     { 999, "999m" },
		{ 1000, "1" },	     { 1500, "1500m" },
		{ 2000, "2" },	     { 1080, "1080m" },
		{ 1234000, "1234" }, { INT64_MAX, "9223372036854775807m" },
	};
	char buf[32];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		ck_assert_int_eq(quantity_format_cpu(cases[i].v, buf, sizeof(buf)), 0);
		ck_assert_str_eq(buf, cases[i].out);
	}
	ck_assert_int_eq(quantity_format_cpu(-1, buf, sizeof(buf)), -EINVAL);
	ck_assert_int_eq(quantity_format_cpu(250, buf, 4), -ENOBUFS);
	ck_assert_int_eq(quantity_format_cpu(250, buf, 5), 0);
	ck_assert_str_eq(buf, "250m");
}
END_TEST

START_TEST(test_format_bytes)
{
	static const struct fcase cases[] = {
		{ 0, "0" },
		{ 5, "5" },
		{ 1000, "1000" },
		{ 1024, "1Ki" },
		{ 1025, "1025" },
		{ 1536, "1536" },
		{ 6 * KI, "6Ki" },
		{ 128 * MI, "128Mi" },
		{ 300 * MI, "300Mi" },
		{ GI, "1Gi" },
		{ 1001 * GI, "1001Gi" },
		{ GI + KI, "1048577Ki" },
		{ TI, "1Ti" },
		{ 3 * PI, "3Pi" },
		{ EI, "1Ei" },
		{ 7 * EI, "7Ei" },
		{ 1000000000, "1000000000" },
		{ INT64_MAX, "9223372036854775807" },
	};
	char buf[32];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		ck_assert_int_eq(quantity_format_bytes(cases[i].v, buf, sizeof(buf)), 0);
		ck_assert_str_eq(buf, cases[i].out);
	}
	ck_assert_int_eq(quantity_format_bytes(-1, buf, sizeof(buf)), -EINVAL);
	ck_assert_int_eq(quantity_format_bytes(128 * MI, buf, 5), -ENOBUFS);
	ck_assert_int_eq(quantity_format_bytes(128 * MI, buf, 6), 0);
	ck_assert_str_eq(buf, "128Mi");
}
END_TEST

/* What we print the API server must read back as the same number (we write it into resize patches). */
START_TEST(test_round_trip)
{
	unsigned seed = 42;
	char buf[32];

	for (int i = 0; i < 20000; i++) {
		int64_t v, back;
		int shift = rand_r(&seed) % 63;

		v = ((int64_t)rand_r(&seed) << 31 | rand_r(&seed)) & ((INT64_C(1) << shift) - 1);
		if (i % 3 == 0)
			v &= ~((INT64_C(1) << (rand_r(&seed) % 40)) - 1); /* binary multiples */
		if (i % 5 == 0)
			v -= v % 1000; /* whole cores */

		ck_assert_int_eq(quantity_format_bytes(v, buf, sizeof(buf)), 0);
		ck_assert_int_eq(quantity_parse_bytes(buf, &back), 0);
		ck_assert_msg(back == v, "bytes %lld → \"%s\" → %lld", (long long)v, buf,
			      (long long)back);
		ck_assert_int_eq(quantity_format_cpu(v, buf, sizeof(buf)), 0);
		ck_assert_int_eq(quantity_parse_cpu_millis(buf, &back), 0);
		ck_assert_msg(back == v, "cpu %lld → \"%s\" → %lld", (long long)v, buf,
			      (long long)back);
	}
}
END_TEST

Suite *quantity_suite(void)
{
	Suite *s = suite_create("quantity");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_parse_cpu);
	tcase_add_test(tc, test_parse_cpu_exa_overflows);
	tcase_add_test(tc, test_parse_bytes);
	tcase_add_test(tc, test_parse_long_fraction);
	tcase_add_test(tc, test_format_cpu);
	tcase_add_test(tc, test_format_bytes);
	tcase_add_test(tc, test_round_trip);
	suite_add_tcase(s, tc);
	return s;
}
