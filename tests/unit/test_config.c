/* Unit tests for `snug-agent run`'s flags: durations, quantities, required node name, bad values. */
#include <errno.h>
#include <stdlib.h>

#include "agent/config.h"
#include "agent/util/parse.h"
#include "agent/util/time.h"
#include "tests/unit/unit.h"

START_TEST(test_durations)
{
	uint64_t u;

	ck_assert_int_eq(parse_duration("1s", &u), 0);
	ck_assert_uint_eq(u, USEC_PER_SEC);
	ck_assert_int_eq(parse_duration("500ms", &u), 0);
	ck_assert_uint_eq(u, 500000);
	ck_assert_int_eq(parse_duration("5m", &u), 0);
	ck_assert_uint_eq(u, 300 * USEC_PER_SEC);
	ck_assert_int_eq(parse_duration("24h", &u), 0);
	ck_assert_uint_eq(u, 86400 * USEC_PER_SEC);
	ck_assert_int_eq(parse_duration("2", &u), 0);
	ck_assert_uint_eq(u, 2 * USEC_PER_SEC);
	ck_assert_int_eq(parse_duration("0.5s", &u), 0);
	ck_assert_uint_eq(u, 500000);
	ck_assert_int_eq(parse_duration("", &u), -EINVAL);
	ck_assert_int_eq(parse_duration("s", &u), -EINVAL);
	ck_assert_int_eq(parse_duration("-1s", &u), -EINVAL);
	ck_assert_int_eq(parse_duration("1d", &u), -EINVAL);
	ck_assert_int_eq(parse_duration("ms", &u), -EINVAL);
}
END_TEST

START_TEST(test_flags)
{
	char *argv[] = { (char *)"run",
			 (char *)"--node-name",
			 (char *)"n1",
			 (char *)"--max-memory",
			 (char *)"8Gi",
			 (char *)"--max-cpu",
			 (char *)"1500m",
			 (char *)"--default-mode",
			 (char *)"recommend",
			 (char *)"--cooldown",
			 (char *)"30s",
			 (char *)"--dry-run",
			 (char *)"--min-change",
			 (char *)"0.2",
			 (char *)"--bypass-budget",
			 (char *)"3",
			 (char *)"--api-only",
			 (char *)"--admission-timeout",
			 (char *)"45s",
			 NULL };
	struct agent_config c;

	agent_config_init(&c);
	/* Defaults: 5 grows inside the cooldown per hour; decide's OOM bump is the recommender's. */
	ck_assert_uint_eq(c.decide.bypass_budget, 5);
	ck_assert_uint_eq(c.decide.bypass_window_usec, 3600 * USEC_PER_SEC);
	ck_assert_double_eq(c.decide.oom_bump_ratio, c.tunables.oom_bump_up_ratio);
	ck_assert_int_eq(c.decide.oom_min_bump_bytes, (int64_t)c.tunables.oom_min_bump_up_bytes);
	ck_assert(!c.api_only);
	ck_assert_uint_eq(c.admission_timeout_usec, 30 * USEC_PER_SEC);
	ck_assert_int_eq(agent_config_parse(19, argv, &c), 0);
	ck_assert(c.api_only);
	ck_assert_uint_eq(c.admission_timeout_usec, 45 * USEC_PER_SEC);
	ck_assert_uint_eq(c.decide.bypass_budget, 3);
	ck_assert_str_eq(c.node_name, "n1");
	ck_assert_int_eq(c.policy.max_memory_bytes, 8LL << 30);
	ck_assert_int_eq(c.policy.max_cpu_millis, 1500);
	ck_assert_int_eq(c.policy.mode, POL_MODE_RECOMMEND);
	ck_assert_uint_eq(c.decide.cooldown_usec, 30 * USEC_PER_SEC);
	ck_assert(c.dry_run);
	ck_assert_double_eq(c.decide.min_change, 0.2);
	ck_assert_str_eq(c.cgroup_root, "/sys/fs/cgroup");
	ck_assert_str_eq(c.listen, ":9746");
	agent_config_done(&c);
}
END_TEST

START_TEST(test_bad_flags)
{
	char *no_node[] = { (char *)"run", NULL };
	char *bad_mode[] = { (char *)"run",    (char *)"--node-name",
			     (char *)"n",      (char *)"--default-mode",
			     (char *)"always", NULL };
	char *bad_mem[] = { (char *)"run",	    (char *)"--node-name", (char *)"n",
			    (char *)"--max-memory", (char *)"lots",	   NULL };
	char *bad_change[] = { (char *)"run",	       (char *)"--node-name", (char *)"n",
			       (char *)"--min-change", (char *)"1.5",	      NULL };
	char *bad_budget[] = { (char *)"run", (char *)"--node-name",
			       (char *)"n",   (char *)"--bypass-budget",
			       (char *)"33",  NULL };
	struct agent_config c;

	unsetenv("NODE_NAME");
	agent_config_init(&c);
	ck_assert_int_eq(agent_config_parse(1, no_node, &c), -EINVAL);
	agent_config_done(&c);
	agent_config_init(&c);
	ck_assert_int_eq(agent_config_parse(5, bad_mode, &c), -EINVAL);
	agent_config_done(&c);
	agent_config_init(&c);
	ck_assert_int_eq(agent_config_parse(5, bad_mem, &c), -EINVAL);
	agent_config_done(&c);
	agent_config_init(&c);
	ck_assert_int_eq(agent_config_parse(5, bad_change, &c), -EINVAL);
	agent_config_done(&c);
	agent_config_init(&c);
	ck_assert_int_eq(agent_config_parse(5, bad_budget, &c), -EINVAL);
	agent_config_done(&c);
	/* NODE_NAME from the downward API. */
	setenv("NODE_NAME", "from-env", 1);
	agent_config_init(&c);
	ck_assert_int_eq(agent_config_parse(1, no_node, &c), 0);
	ck_assert_str_eq(c.node_name, "from-env");
	agent_config_done(&c);
	unsetenv("NODE_NAME");
}
END_TEST

/* Every duration flag lands in its own setting: distinct values, so a crossed wire shows. */
START_TEST(test_duration_flags)
{
	char *argv[] = { (char *)"run",
			 (char *)"--node-name",
			 (char *)"n1",
			 (char *)"--sample-interval",
			 (char *)"2s",
			 (char *)"--decide-interval",
			 (char *)"3s",
			 (char *)"--checkpoint-interval",
			 (char *)"4s",
			 (char *)"--cooldown",
			 (char *)"5s",
			 (char *)"--min-history",
			 (char *)"6s",
			 (char *)"--throttle-window",
			 (char *)"7s",
			 (char *)"--eviction-interval",
			 (char *)"8s",
			 (char *)"--pressure-lookahead=9s",
			 (char *)"--node-refresh",
			 (char *)"10s",
			 (char *)"--admission-timeout",
			 (char *)"11s",
			 (char *)"--test-half-life",
			 (char *)"12s",
			 (char *)"--history-interval",
			 (char *)"13s",
			 NULL };
	struct agent_config c;

	agent_config_init(&c);
	ck_assert_uint_eq(c.history_interval_usec, 600 * USEC_PER_SEC);
	ck_assert_int_eq(agent_config_parse(26, argv, &c), 0);
	ck_assert_uint_eq(c.sample_interval_usec, 2 * USEC_PER_SEC);
	ck_assert_uint_eq(c.decide_interval_usec, 3 * USEC_PER_SEC);
	ck_assert_uint_eq(c.checkpoint_interval_usec, 4 * USEC_PER_SEC);
	ck_assert_uint_eq(c.decide.cooldown_usec, 5 * USEC_PER_SEC);
	ck_assert_uint_eq(c.min_history_usec, 6 * USEC_PER_SEC);
	ck_assert_uint_eq(c.decide.throttle_window_usec, 7 * USEC_PER_SEC);
	ck_assert_uint_eq(c.eviction_interval_usec, 8 * USEC_PER_SEC);
	ck_assert_uint_eq(c.pressure_lookahead_usec, 9 * USEC_PER_SEC);
	ck_assert_uint_eq(c.node_refresh_usec, 10 * USEC_PER_SEC);
	ck_assert_uint_eq(c.admission_timeout_usec, 11 * USEC_PER_SEC);
	ck_assert_int_eq(c.tunables.cpu_histogram_decay_half_life_usec, 12 * USEC_PER_SEC);
	ck_assert_int_eq(c.tunables.memory_histogram_decay_half_life_usec, 12 * USEC_PER_SEC);
	ck_assert_uint_eq(c.history_interval_usec, 13 * USEC_PER_SEC);
	agent_config_done(&c);
}
END_TEST

/* `run --node-name n FLAG VALUE` into a fresh config. */
static int parse_one(const char *flag, const char *value, struct agent_config *c)
{
	char *argv[] = { (char *)"run", (char *)"--node-name", (char *)"n",
			 (char *)flag,	(char *)value,	       NULL };

	agent_config_init(c);
	return agent_config_parse(5, argv, c);
}

/* --rec NAME=VALUE sets a recommender tunable by its VPA flag name. */
START_TEST(test_rec_flag)
{
	struct agent_config c;

	ck_assert_int_eq(parse_one("--rec", "pod-recommendation-min-memory-mb=10", &c), 0);
	ck_assert(c.tunables.pod_min_memory_mb == 10.0);
	agent_config_done(&c);
	ck_assert_int_eq(parse_one("--rec", "confidence-interval-memory=10m", &c), 0);
	ck_assert_int_eq(c.tunables.confidence_interval_memory_usec, 600 * USEC_PER_SEC);
	agent_config_done(&c);
	ck_assert_int_lt(parse_one("--rec", "no-such-tunable=1", &c), 0);
	agent_config_done(&c);
	ck_assert_int_lt(parse_one("--rec", "pod-recommendation-min-memory-mb", &c), 0);
	agent_config_done(&c);
}
END_TEST

/* 0 turns off the cooldown, the history wait and the lookahead; any other period must be > 0. */
START_TEST(test_duration_zero)
{
	static const char *const zero_bad[] = {
		"--sample-interval",   "--decide-interval",   "--checkpoint-interval",
		"--throttle-window",   "--eviction-interval", "--node-refresh",
		"--admission-timeout", "--test-half-life",
	};
	struct agent_config c;

	ck_assert_int_eq(parse_one("--cooldown", "0", &c), 0);
	ck_assert_uint_eq(c.decide.cooldown_usec, 0);
	agent_config_done(&c);
	ck_assert_int_eq(parse_one("--min-history", "0s", &c), 0);
	ck_assert_uint_eq(c.min_history_usec, 0);
	agent_config_done(&c);
	ck_assert_int_eq(parse_one("--pressure-lookahead", "0ms", &c), 0);
	ck_assert_uint_eq(c.pressure_lookahead_usec, 0);
	agent_config_done(&c);
	for (size_t i = 0; i < sizeof(zero_bad) / sizeof(zero_bad[0]); i++) {
		ck_assert_msg(parse_one(zero_bad[i], "0", &c) == -EINVAL, "%s 0 taken",
			      zero_bad[i]);
		agent_config_done(&c);
	}
	ck_assert_int_eq(parse_one("--cooldown", "soon", &c), -EINVAL);
	agent_config_done(&c);
}
END_TEST

Suite *config_suite(void)
{
	Suite *s = suite_create("config");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_durations);
	tcase_add_test(tc, test_flags);
	tcase_add_test(tc, test_bad_flags);
	tcase_add_test(tc, test_duration_flags);
	tcase_add_test(tc, test_duration_zero);
	tcase_add_test(tc, test_rec_flag);
	suite_add_tcase(s, tc);
	return s;
}
