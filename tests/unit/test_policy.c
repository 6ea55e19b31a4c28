/* Unit tests for agent/policy: every snug.io annotation, every bad value, defaults, caps, fuzzing. */
#include "tests/unit/unit.h"
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent/policy.h"

#define MIB (INT64_C(1) << 20)
#define GIB (INT64_C(1) << 30)

/* Parses key/value pairs given as a flat list; asserts the call itself succeeds. */
static struct pol parse_with(struct pol_defaults d, const char *const *kv, size_t n_pairs)
{
	struct pol_annotation a[32];
	struct pol p;

	ck_assert_uint_le(n_pairs, 32);
	for (size_t i = 0; i < n_pairs; i++)
		a[i] = (struct pol_annotation){ kv[2 * i], kv[2 * i + 1] };
	ck_assert_int_eq(pol_parse(a, n_pairs, &d, &p), 0);
	return p;
}

#define PARSE(...)                                                                                 \
	parse_with(POL_DEFAULTS_INIT, (const char *const[]){ __VA_ARGS__ },                        \
		   sizeof((const char *const[]){ __VA_ARGS__ }) / sizeof(const char *) / 2)

/* The issue list must name the key and the value the user wrote, and say why. */
static void assert_error(const struct pol *p, const char *key, const char *value, const char *why)
{
	for (size_t i = 0; i < p->n_issues; i++) {
		const struct pol_issue *is = &p->issues[i];

		if (is->severity == POL_ERROR && strcmp(is->key, key) == 0 &&
		    strcmp(is->value, value) == 0) {
			ck_assert_msg(strstr(is->text, why), "issue \"%s\" lacks \"%s\"", is->text,
				      why);
			ck_assert_ptr_nonnull(strstr(is->text, key));
			return;
		}
	}
	ck_abort_msg("no error for %s=%s", key, value);
}

static bool has_warning(const struct pol *p, const char *key, const char *why)
{
	for (size_t i = 0; i < p->n_issues; i++)
		if (p->issues[i].severity == POL_WARNING && strcmp(p->issues[i].key, key) == 0 &&
		    strstr(p->issues[i].why, why))
			return true;
	return false;
}

/* One bad value turns the whole pod off, with exactly that one error reported. */
static void check_bad(const char *key, const char *value, const char *why)
{
	struct pol p = PARSE("snug.io/mode", "auto", key, value);

	ck_assert_int_eq(p.mode, POL_MODE_OFF);
	ck_assert_int_eq(p.requested_mode, POL_MODE_AUTO);
	ck_assert_uint_eq(p.n_errors, 1);
	assert_error(&p, key, value, why);
	pol_done(&p);
}

START_TEST(test_defaults)
{
	struct pol_defaults d = { .mode = POL_MODE_AUTO,
				  .max_cpu_millis = 4000,
				  .max_memory_bytes = 8 * GIB };
	struct pol p;
	struct pol_container c;

	/* No annotations at all: the pod is off unless the agent's --default-mode says otherwise. */
	ck_assert_int_eq(pol_parse(NULL, 0, &(struct pol_defaults)POL_DEFAULTS_INIT, &p), 0);
	ck_assert_int_eq(p.mode, POL_MODE_OFF);
	ck_assert_uint_eq(p.resources, POL_RESOURCE_ALL);
	ck_assert_int_eq(p.controlled, POL_CONTROLLED_REQUESTS_AND_LIMITS);
	ck_assert_int_eq(p.min_cpu_millis, -1);
	ck_assert_int_eq(p.max_memory_bytes, -1);
	ck_assert(!pol_has_boost(&p));
	ck_assert(!p.allow_single_replica_eviction);
	ck_assert_uint_eq(p.n_issues, 0);
	ck_assert(pol_selects_container(&p, "anything"));
	pol_done(&p);

	/* Unrelated annotations are not ours to judge. */
	p = parse_with(d,
		       (const char *const[]){ "kubectl.kubernetes.io/last-applied-configuration",
					      "{\"x\":1}", "snugio/mode", "bogus" },
		       2);
	ck_assert_int_eq(p.mode, POL_MODE_AUTO);
	ck_assert_uint_eq(p.n_issues, 0);
	pol_container(&p, "app", &c);
	ck_assert_int_eq(c.mode, POL_MODE_AUTO);
	ck_assert_int_eq(c.max_cpu_millis, 4000);
	ck_assert(c.max_cpu_is_cap);
	ck_assert_int_eq(c.max_memory_bytes, 8 * GIB);
	ck_assert(c.max_memory_is_cap);
	ck_assert_int_eq(c.min_cpu_millis, -1);
	pol_done(&p);
}
END_TEST

START_TEST(test_modes)
{
	static const struct {
		const char *text;
		enum pol_mode mode;
	} cases[] = {
		{ "off", POL_MODE_OFF },
		{ "recommend", POL_MODE_RECOMMEND },
		{ "auto", POL_MODE_AUTO },
		{ "in-place", POL_MODE_IN_PLACE },
		{ " in-place ", POL_MODE_IN_PLACE },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct pol p = PARSE("snug.io/mode", cases[i].text);

		ck_assert_int_eq(p.mode, cases[i].mode);
		ck_assert_uint_eq(p.n_issues, 0);
		pol_done(&p);
	}
	/* An explicit off wins over an agent default of auto. */
	{
		struct pol p = parse_with((struct pol_defaults){ .mode = POL_MODE_AUTO,
								 .max_cpu_millis = -1,
								 .max_memory_bytes = -1 },
					  (const char *const[]){ "snug.io/mode", "off" }, 1);
		ck_assert_int_eq(p.mode, POL_MODE_OFF);
		pol_done(&p);
	}
	for (int m = 0; m < _POL_MODE_MAX; m++)
		ck_assert_int_eq(pol_mode_from_string(pol_mode_to_string(m)), m);
	ck_assert_int_eq(pol_mode_from_string("Auto"), -EINVAL);
	ck_assert_int_eq(pol_mode_from_string(NULL), -EINVAL);

	check_bad("snug.io/mode", "Auto", "unknown mode");
	check_bad("snug.io/mode", "", "unknown mode");
	check_bad("snug.io/mode", "inplace", "valid: off, recommend, auto, in-place");
}
END_TEST

START_TEST(test_resources)
{
	static const struct {
		const char *text;
		unsigned res;
	} cases[] = {
		{ "cpu", POL_RESOURCE_CPU },
		{ "memory", POL_RESOURCE_MEMORY },
		{ "cpu,memory", POL_RESOURCE_ALL },
		{ "memory, cpu", POL_RESOURCE_ALL },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct pol p = PARSE("snug.io/mode", "auto", "snug.io/resources", cases[i].text);

		ck_assert_uint_eq(p.resources, cases[i].res);
		ck_assert_int_eq(p.mode, POL_MODE_AUTO);
		pol_done(&p);
	}
	check_bad("snug.io/resources", "gpu", "unknown resource \"gpu\"");
	check_bad("snug.io/resources", "cpu,", "unknown resource \"(empty)\"");
	check_bad("snug.io/resources", "", "unknown resource");
	check_bad("snug.io/resources", "cpu,ephemeral-storage", "\"ephemeral-storage\"");
}
END_TEST

START_TEST(test_controlled_values)
{
	struct pol p = PARSE("snug.io/mode", "auto", "snug.io/controlled-values", "requests");

	ck_assert_int_eq(p.controlled, POL_CONTROLLED_REQUESTS);
	pol_done(&p);
	p = PARSE("snug.io/mode", "auto", "snug.io/controlled-values", "requests-and-limits");
	ck_assert_int_eq(p.controlled, POL_CONTROLLED_REQUESTS_AND_LIMITS);
	pol_done(&p);
	/* VPA's spelling, as users copy it from their VerticalPodAutoscaler objects. */
	p = PARSE("snug.io/mode", "auto", "snug.io/controlled-values", "RequestsOnly");
	ck_assert_int_eq(p.controlled, POL_CONTROLLED_REQUESTS);
	ck_assert_str_eq(pol_controlled_to_string(p.controlled), "requests");
	pol_done(&p);
	check_bad("snug.io/controlled-values", "limits", "valid: requests, requests-and-limits");
}
END_TEST

START_TEST(test_updater)
{
	struct pol p = PARSE("snug.io/mode", "in-place");
	struct pol_container c;

	ck_assert_int_eq(p.updater, POL_UPDATER_SNUG);
	pol_done(&p);
	p = PARSE("snug.io/mode", "in-place", "snug.io/updater", "vpa-like");
	ck_assert_int_eq(p.updater, POL_UPDATER_VPA_LIKE);
	ck_assert_str_eq(pol_updater_to_string(p.updater), "vpa-like");
	pol_container(&p, "app", &c);
	ck_assert_int_eq(c.updater, POL_UPDATER_VPA_LIKE);
	pol_done(&p);
	check_bad("snug.io/updater", "vpa", "valid: snug, vpa-like");
}
END_TEST

START_TEST(test_quantities)
{
	struct pol p =
		PARSE("snug.io/mode", "in-place", "snug.io/min-cpu", "100m", "snug.io/max-cpu", "2",
		      "snug.io/min-memory", "64Mi", "snug.io/max-memory", "1Gi");
	struct pol_container c;

	ck_assert_uint_eq(p.n_issues, 0);
	ck_assert_int_eq(p.min_cpu_millis, 100);
	ck_assert_int_eq(p.max_cpu_millis, 2000);
	ck_assert_int_eq(p.min_memory_bytes, 64 * MIB);
	ck_assert_int_eq(p.max_memory_bytes, GIB);
	pol_container(&p, "app", &c);
	ck_assert_int_eq(c.mode, POL_MODE_IN_PLACE);
	ck_assert_int_eq(c.min_cpu_millis, 100);
	ck_assert_int_eq(c.max_cpu_millis, 2000);
	ck_assert(!c.max_cpu_is_cap);
	ck_assert_int_eq(c.max_memory_bytes, GIB);
	pol_done(&p);

	check_bad("snug.io/min-cpu", "abc", "not a Kubernetes CPU quantity");
	check_bad("snug.io/max-cpu", "1.5.3", "not a Kubernetes CPU quantity");
	check_bad("snug.io/max-cpu", "0", "greater than zero");
	check_bad("snug.io/min-memory", "64MB", "not a Kubernetes memory quantity");
	check_bad("snug.io/max-memory", "-1Gi", "memory");
	check_bad("snug.io/max-memory", "0", "greater than zero");
	check_bad("snug.io/min-cpu", "", "not a Kubernetes CPU quantity");
	/* A minimum of zero is legal: it says nothing. */
	p = PARSE("snug.io/mode", "auto", "snug.io/min-cpu", "0");
	ck_assert_uint_eq(p.n_errors, 0);
	ck_assert_int_eq(p.min_cpu_millis, 0);
	pol_done(&p);
}
END_TEST

START_TEST(test_min_above_max)
{
	struct pol p = PARSE("snug.io/mode", "auto", "snug.io/min-cpu", "2", "snug.io/max-cpu", "1",
			     "snug.io/min-memory", "2Gi", "snug.io/max-memory", "1Gi");

	ck_assert_int_eq(p.mode, POL_MODE_OFF);
	ck_assert_uint_eq(p.n_errors, 2);
	assert_error(&p, "snug.io/min-cpu", "2", "above snug.io/max-cpu=1");
	assert_error(&p, "snug.io/min-memory", "2Gi", "above snug.io/max-memory=1Gi");
	pol_done(&p);
	/* Equal bounds pin the value: legal. */
	p = PARSE("snug.io/mode", "auto", "snug.io/min-cpu", "500m", "snug.io/max-cpu", "500m");
	ck_assert_uint_eq(p.n_errors, 0);
	pol_done(&p);
}
END_TEST

START_TEST(test_cluster_caps)
{
	struct pol_defaults d = { .mode = POL_MODE_OFF,
				  .max_cpu_millis = 4000,
				  .max_memory_bytes = 4 * GIB };
	struct pol_container c;
	struct pol p;

	/* The cap wins over a larger annotation, and says it is the cap. */
	p = parse_with(d,
		       (const char *const[]){ "snug.io/mode", "auto", "snug.io/max-cpu", "8",
					      "snug.io/max-memory", "2Gi" },
		       3);
	pol_container(&p, "app", &c);
	ck_assert_int_eq(c.max_cpu_millis, 4000);
	ck_assert(c.max_cpu_is_cap);
	ck_assert_int_eq(c.max_memory_bytes, 2 * GIB);
	ck_assert(!c.max_memory_is_cap);
	pol_done(&p);

	/* A minimum above the cap is a warning (users cannot know the cap), and the cap applies. */
	p = parse_with(d,
		       (const char *const[]){ "snug.io/mode", "auto", "snug.io/min-cpu", "6",
					      "snug.io/min-memory", "8Gi" },
		       3);
	ck_assert_int_eq(p.mode, POL_MODE_AUTO);
	ck_assert_uint_eq(p.n_errors, 0);
	ck_assert(has_warning(&p, "snug.io/min-cpu", "--max-cpu=4"));
	ck_assert(has_warning(&p, "snug.io/min-memory", "--max-memory=4Gi"));
	pol_container(&p, "app", &c);
	ck_assert_int_eq(c.min_cpu_millis, 4000);
	ck_assert_int_eq(c.min_memory_bytes, 4 * GIB);
	pol_done(&p);
}
END_TEST

START_TEST(test_containers)
{
	struct pol p = PARSE("snug.io/mode", "auto", "snug.io/containers", "app, sidecar-2");
	struct pol_container c;

	ck_assert_uint_eq(p.n_errors, 0);
	ck_assert_uint_eq(p.n_containers, 2);
	ck_assert(pol_selects_container(&p, "app"));
	ck_assert(pol_selects_container(&p, "sidecar-2"));
	ck_assert(!pol_selects_container(&p, "istio-proxy"));
	pol_container(&p, "istio-proxy", &c);
	ck_assert_int_eq(c.mode, POL_MODE_OFF);
	pol_container(&p, "app", &c);
	ck_assert_int_eq(c.mode, POL_MODE_AUTO);
	pol_done(&p);

	check_bad("snug.io/containers", "App", "\"App\" is not a valid container name");
	check_bad("snug.io/containers", "a_b", "\"a_b\" is not a valid container name");
	check_bad("snug.io/containers", "", "\"(empty)\" is not a valid container name");
	check_bad("snug.io/containers", "a,,b", "\"(empty)\"");
	check_bad("snug.io/containers", "-x", "\"-x\"");
	check_bad("snug.io/containers", "x-", "\"x-\"");
	check_bad("snug.io/containers",
		  "a123456789012345678901234567890123456789012345678901234567890123", "at most 63");
}
END_TEST

START_TEST(test_single_replica_and_boost)
{
	struct pol p = PARSE("snug.io/mode", "auto", "snug.io/allow-single-replica-eviction",
			     "true", "snug.io/startup-cpu-boost", "2x");

	ck_assert(p.allow_single_replica_eviction);
	ck_assert(pol_has_boost(&p));
	ck_assert_double_eq(p.boost_factor, 2);
	ck_assert_int_eq(p.boost_add_millis, 0);
	/* Until Ready by default, and never longer than POL_BOOST_MAX_USEC. */
	ck_assert(p.boost_until_ready);
	ck_assert_uint_eq(p.boost_until_usec, 0);
	ck_assert_uint_eq(p.n_errors, 0);
	ck_assert_uint_eq(p.n_issues, 0);
	ck_assert_int_eq(p.mode, POL_MODE_AUTO);
	pol_done(&p);

	p = PARSE("snug.io/mode", "auto", "snug.io/allow-single-replica-eviction", "False",
		  "snug.io/startup-cpu-boost", "+500m", "snug.io/startup-cpu-boost-until",
		  "ready, 90s");
	ck_assert(!p.allow_single_replica_eviction);
	ck_assert_int_eq(p.boost_add_millis, 500);
	ck_assert(p.boost_until_ready);
	ck_assert_uint_eq(p.boost_until_usec, 90 * 1000000ULL);
	pol_done(&p);

	p = PARSE("snug.io/mode", "in-place", "snug.io/startup-cpu-boost", "1.5x",
		  "snug.io/startup-cpu-boost-until", "2m");
	ck_assert_double_eq(p.boost_factor, 1.5);
	ck_assert(!p.boost_until_ready);
	ck_assert_uint_eq(p.boost_until_usec, 120 * 1000000ULL);
	pol_done(&p);

	p = PARSE("snug.io/mode", "in-place");
	ck_assert(!pol_has_boost(&p));
	pol_done(&p);

	check_bad("snug.io/allow-single-replica-eviction", "yes", "not a boolean");
	check_bad("snug.io/startup-cpu-boost", "lots", "not a factor");
	check_bad("snug.io/startup-cpu-boost", "100", "not a factor");
	check_bad("snug.io/startup-cpu-boost", "1x", "above 1");
	check_bad("snug.io/startup-cpu-boost", "11x", "at most 10");
	check_bad("snug.io/startup-cpu-boost", "+0", "amount");
	check_bad("snug.io/startup-cpu-boost", "+100", "at most 64");
	check_bad("snug.io/startup-cpu-boost-until", "soon", "expected");
	check_bad("snug.io/startup-cpu-boost-until", "11m", "up to 10m");
	check_bad("snug.io/startup-cpu-boost-until", "ready,ready", "expected");
}
END_TEST

START_TEST(test_unknown_keys_warn)
{
	struct pol p = PARSE("snug.io/mode", "auto", "snug.io/max_cpu", "2", "snug.io/last-resize",
			     "{\"when\":\"2026-01-01T00:00:00Z\"}");

	/* A typo is reported but does not switch the pod off; snug's own annotation is silent. */
	ck_assert_int_eq(p.mode, POL_MODE_AUTO);
	ck_assert_uint_eq(p.n_errors, 0);
	ck_assert_uint_eq(p.n_issues, 1);
	ck_assert(has_warning(&p, "snug.io/max_cpu", "unknown snug annotation"));
	ck_assert_int_eq(p.max_cpu_millis, -1);
	pol_done(&p);
}
END_TEST

START_TEST(test_issue_report)
{
	struct pol p = PARSE("snug.io/mode", "Auto", "snug.io/max-memory", "lots", "snug.io/colour",
			     "blue", "snug.io/containers", "bad\x01name\"");
	char buf[1024], small[48];
	size_t n;

	ck_assert_int_eq(p.mode, POL_MODE_OFF);
	ck_assert_uint_eq(p.n_errors, 3);
	/* One Event line per pod, naming every bad annotation. */
	n = pol_issues_format(&p, true, buf, sizeof(buf));
	ck_assert_uint_eq(n, 3);
	ck_assert_ptr_nonnull(strstr(buf, "pod not managed"));
	ck_assert_ptr_nonnull(strstr(buf, "snug.io/mode=\"Auto\": unknown mode"));
	ck_assert_ptr_nonnull(strstr(buf, "snug.io/max-memory=\"lots\""));
	ck_assert_ptr_null(strstr(buf, "colour"));
	/* Control bytes and quotes from the cluster are escaped, never copied raw into an Event. */
	ck_assert_ptr_nonnull(strstr(buf, "bad\\x01name\\x22"));
	for (const char *c = buf; *c; c++)
		ck_assert(*c >= 0x20 && *c < 0x7f);
	n = pol_issues_format(&p, false, buf, sizeof(buf));
	ck_assert_uint_eq(n, 4);
	ck_assert_ptr_nonnull(strstr(buf, "snug.io/colour"));
	/* A small buffer is filled and terminated, marked as cut. */
	n = pol_issues_format(&p, true, small, sizeof(small));
	ck_assert_uint_ge(n, 1);
	ck_assert_uint_eq(strlen(small), sizeof(small) - 1);
	ck_assert_str_eq(small + sizeof(small) - 4, "...");
	pol_done(&p);
}
END_TEST

START_TEST(test_long_value_truncated)
{
	char *v = malloc(300000);
	struct pol p;

	/* Annotation values may be up to 256 KiB; the report quotes only the start. */
	memset(v, 'x', 299999);
	v[299999] = '\0';
	p = PARSE("snug.io/mode", v);
	ck_assert_uint_eq(p.n_errors, 1);
	ck_assert_uint_lt(strlen(p.issues[0].text), 400);
	ck_assert_ptr_nonnull(strstr(p.issues[0].value, "..."));
	pol_done(&p);
	free(v);
}
END_TEST

START_TEST(test_bad_arguments)
{
	struct pol p = { .mode = POL_MODE_IN_PLACE };
	struct pol_defaults bad = { .mode = 42, .max_cpu_millis = -1, .max_memory_bytes = -1 };
	struct pol_annotation a = { NULL, "x" };

	ck_assert_int_eq(pol_parse(NULL, 1, &(struct pol_defaults)POL_DEFAULTS_INIT, &p), -EINVAL);
	ck_assert_int_eq(pol_parse(&a, 1, NULL, &p), -EINVAL);
	ck_assert_int_eq(pol_parse(&a, 1, &bad, &p), -EINVAL);
	ck_assert_int_eq(p.mode, POL_MODE_IN_PLACE);
	/* A NULL key or value inside the list is skipped / read as empty, not a crash. */
	ck_assert_int_eq(pol_parse(&a, 1, &(struct pol_defaults)POL_DEFAULTS_INIT, &p), 0);
	pol_done(&p);
	a = (struct pol_annotation){ "snug.io/mode", NULL };
	ck_assert_int_eq(pol_parse(&a, 1, &(struct pol_defaults)POL_DEFAULTS_INIT, &p), 0);
	ck_assert_uint_eq(p.n_errors, 1);
	pol_done(&p);
	pol_done(NULL);
}
END_TEST

/* Assertions inside the random loops: Check records every passing ck_assert with a syscall,
 * which would dominate the run time. */
#define CHECK(cond)                                                                                \
	do {                                                                                       \
		if (!(cond))                                                                       \
			ck_abort_msg("iteration %d: %s", iter, #cond);                             \
	} while (0)

/* xorshift64*: deterministic, so a failure reproduces. */
static uint64_t rnd(uint64_t *s)
{
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return *s * 2685821657736338717ULL;
}

static void random_text(uint64_t *s, char *buf, size_t max)
{
	static const char *const pieces[] = { "cpu",  "memory", ",", " ", "m", "Mi",
					      "Gi",   "1",	"0", ".", "-", "e",
					      "auto", "true",	"%", "k", "9", "a" };
	size_t want = rnd(s) % max, len = 0;

	while (len < want) {
		/* Half raw bytes (any but NUL), half plausible fragments: both corners get hit. */
		if (rnd(s) % 2) {
			buf[len++] = (char)(rnd(s) % 255 + 1);
		} else {
			const char *p = pieces[rnd(s) % (sizeof(pieces) / sizeof(pieces[0]))];
			size_t l = strlen(p);

			if (len + l >= max)
				break;
			memcpy(buf + len, p, l);
			len += l;
		}
	}
	buf[len < max ? len : max - 1] = '\0';
}

START_TEST(test_fuzz)
{
	static const char *const names[] = { "mode",
					     "resources",
					     "controlled-values",
					     "min-cpu",
					     "max-cpu",
					     "min-memory",
					     "max-memory",
					     "containers",
					     "allow-single-replica-eviction",
					     "startup-cpu-boost",
					     "last-resize",
					     "" };
	uint64_t seed = 0x5eed5eed12345678ULL;

	for (int iter = 0; iter < 20000; iter++) {
		char keys[6][96], values[6][160];
		struct pol_annotation a[6];
		struct pol_defaults d = { .mode = rnd(&seed) % _POL_MODE_MAX,
					  .max_cpu_millis = (int64_t)(rnd(&seed) % 5000) - 1,
					  .max_memory_bytes = (int64_t)(rnd(&seed) % GIB) - 1 };
		size_t n = rnd(&seed) % 6;
		struct pol p;
		struct pol_container c;
		char line[256];

		for (size_t i = 0; i < n; i++) {
			if (rnd(&seed) % 4)
				snprintf(keys[i], sizeof(keys[i]), "snug.io/%s",
					 names[rnd(&seed) % (sizeof(names) / sizeof(names[0]))]);
			else
				random_text(&seed, keys[i], sizeof(keys[i]));
			random_text(&seed, values[i], sizeof(values[i]));
			a[i] = (struct pol_annotation){ keys[i], values[i] };
		}
		CHECK((pol_parse(a, n, &d, &p)) == (0));
		/* Whatever came in: an error means off, bounds are consistent, reports printable. */
		if (p.n_errors)
			CHECK((p.mode) == (POL_MODE_OFF));
		else
			CHECK(p.min_cpu_millis < 0 || p.max_cpu_millis < 0 ||
			      p.min_cpu_millis <= p.max_cpu_millis);
		for (size_t i = 0; i < p.n_issues; i++)
			for (const char *ch = p.issues[i].text; *ch; ch++)
				CHECK(*ch >= 0x20 && *ch < 0x7f);
		pol_container(&p, "app", &c);
		CHECK(c.max_cpu_millis < 0 || c.min_cpu_millis <= c.max_cpu_millis);
		CHECK(c.max_memory_bytes < 0 || c.min_memory_bytes <= c.max_memory_bytes);
		pol_issues_format(&p, false, line, sizeof(line));
		CHECK((strlen(line)) < (sizeof(line)));
		pol_done(&p);
	}
}
END_TEST

Suite *policy_suite(void)
{
	Suite *s = suite_create("policy");
	TCase *tc = tcase_create("annotations");

	tcase_add_test(tc, test_defaults);
	tcase_add_test(tc, test_modes);
	tcase_add_test(tc, test_resources);
	tcase_add_test(tc, test_controlled_values);
	tcase_add_test(tc, test_updater);
	tcase_add_test(tc, test_quantities);
	tcase_add_test(tc, test_min_above_max);
	tcase_add_test(tc, test_cluster_caps);
	tcase_add_test(tc, test_containers);
	tcase_add_test(tc, test_single_replica_and_boost);
	tcase_add_test(tc, test_unknown_keys_warn);
	tcase_add_test(tc, test_issue_report);
	tcase_add_test(tc, test_long_value_truncated);
	tcase_add_test(tc, test_bad_arguments);
	suite_add_tcase(s, tc);
	tc = tcase_create("fuzz");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_fuzz);
	suite_add_tcase(s, tc);
	return s;
}
