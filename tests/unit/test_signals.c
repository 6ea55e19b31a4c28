/* Unit tests for the signal math: which limit an OOM kill enforced, from the memcg `oom` counters. */
#include "agent/signals.h"
#include "tests/unit/unit.h"

#define MiB (UINT64_C(1) << 20)

static enum signals_oom_cause classify(struct signals_oom_state *s, uint64_t now,
				       uint64_t container_oom, bool pod_known, uint64_t pod_oom,
				       uint64_t peak, uint64_t limit)
{
	struct signals_oom_reading r = { container_oom, pod_known, pod_oom, peak, limit };

	return signals_oom_classify(s, now, &r);
}

/* The container's own limit: its `oom` grew (the pod's too: events propagate to ancestors). */
START_TEST(test_oom_container_limit)
{
	struct signals_oom_state s;

	signals_oom_init(&s, 3, 5);
	ck_assert_int_eq(classify(&s, 1000, 4, true, 6, 10 * MiB, 64 * MiB),
			 SIGNALS_OOM_CONTAINER_LIMIT);
	ck_assert_uint_eq(s.container_oom, 4);
	ck_assert_uint_eq(s.pod_oom, 6);
}
END_TEST

/* The pod's limit: only the pod cgroup's counter grew, and the container was far from its own
 * limit (a sidecar, or pod-level resources, took the pod's memory). */
START_TEST(test_oom_pod_limit)
{
	struct signals_oom_state s;

	signals_oom_init(&s, 0, 0);
	ck_assert_int_eq(classify(&s, 1000, 0, true, 1, 20 * MiB, 64 * MiB), SIGNALS_OOM_POD_LIMIT);
	/* No limit of its own: the pod's. */
	ck_assert_int_eq(classify(&s, 9000000, 0, true, 2, 20 * MiB, 0), SIGNALS_OOM_POD_LIMIT);
}
END_TEST

/* A one-container pod at its limit: the pod cgroup (the sum of limits, plus the sandbox and the
 * container cgroup's own kernel memory) is hit first. The container came within 10 % of its own
 * limit, so the kill is its limit's (t_55 on the real 6.1 kernel showed exactly this). */
START_TEST(test_oom_pod_limit_hit_first_by_a_container_at_its_own)
{
	struct signals_oom_state s;

	signals_oom_init(&s, 0, 0);
	ck_assert_int_eq(classify(&s, 1000, 0, true, 1, 63 * MiB, 64 * MiB),
			 SIGNALS_OOM_CONTAINER_LIMIT);
}
END_TEST

/* A global OOM counts no memcg `oom` event: the node, however full the container was. Unknown
 * pod counters do not make it a pod kill. */
START_TEST(test_oom_node)
{
	struct signals_oom_state s;

	signals_oom_init(&s, 2, 2);
	ck_assert_int_eq(classify(&s, 1000, 2, true, 2, 64 * MiB, 64 * MiB), SIGNALS_OOM_NODE);
	ck_assert_int_eq(classify(&s, 10 * 1000000, 2, false, 0, 0, 0), SIGNALS_OOM_NODE);
}
END_TEST

/* memory.oom.group kills every process of the container for one `oom` event: the kills that
 * follow within the window are the same OOM; later ones are judged anew. */
START_TEST(test_oom_group_kill_same_event)
{
	struct signals_oom_state s;

	signals_oom_init(&s, 0, 0);
	ck_assert_int_eq(classify(&s, 1000000, 1, true, 1, 0, 0), SIGNALS_OOM_CONTAINER_LIMIT);
	ck_assert_int_eq(classify(&s, 1500000, 1, true, 1, 0, 0), SIGNALS_OOM_CONTAINER_LIMIT);
	ck_assert_int_eq(classify(&s, 1500000 + SIGNALS_OOM_SAME_EVENT_USEC, 1, true, 1, 0, 0),
			 SIGNALS_OOM_NODE);
}
END_TEST

/* A counter that went down is a recreated cgroup: a change, not silence. */
START_TEST(test_oom_counter_reset)
{
	struct signals_oom_state s;

	signals_oom_init(&s, 7, 7);
	ck_assert_int_eq(classify(&s, 1000, 1, true, 7, 0, 0), SIGNALS_OOM_CONTAINER_LIMIT);
	ck_assert_str_eq(signals_oom_cause_to_string(SIGNALS_OOM_POD_LIMIT), "pod-limit");
}
END_TEST

Suite *signals_suite(void)
{
	Suite *s = suite_create("signals");
	TCase *tc = tcase_create("oom");

	tcase_add_test(tc, test_oom_container_limit);
	tcase_add_test(tc, test_oom_pod_limit);
	tcase_add_test(tc, test_oom_pod_limit_hit_first_by_a_container_at_its_own);
	tcase_add_test(tc, test_oom_node);
	tcase_add_test(tc, test_oom_group_kill_same_event);
	tcase_add_test(tc, test_oom_counter_reset);
	suite_add_tcase(s, tc);
	return s;
}
