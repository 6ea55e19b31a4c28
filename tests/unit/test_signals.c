/* Unit tests for the signal math: which limit an OOM kill enforced, from the memcg `oom` counters. */
#include "agent/signals.h"
#include "tests/unit/unit.h"

/* The container's own limit: its `oom` grew (the pod's too: events propagate to ancestors). */
START_TEST(test_oom_container_limit)
{
	struct signals_oom_state s;

	signals_oom_init(&s, 3, 5);
	ck_assert_int_eq(signals_oom_classify(&s, 1000, 4, true, 6), SIGNALS_OOM_CONTAINER_LIMIT);
	ck_assert_uint_eq(s.container_oom, 4);
	ck_assert_uint_eq(s.pod_oom, 6);
}
END_TEST

/* The pod's limit: only the pod cgroup's counter grew. */
START_TEST(test_oom_pod_limit)
{
	struct signals_oom_state s;

	signals_oom_init(&s, 0, 0);
	ck_assert_int_eq(signals_oom_classify(&s, 1000, 0, true, 1), SIGNALS_OOM_POD_LIMIT);
}
END_TEST

/* A global OOM counts no memcg `oom` event: the node. Unknown pod counters do not make it a pod
 * kill. */
START_TEST(test_oom_node)
{
	struct signals_oom_state s;

	signals_oom_init(&s, 2, 2);
	ck_assert_int_eq(signals_oom_classify(&s, 1000, 2, true, 2), SIGNALS_OOM_NODE);
	ck_assert_int_eq(signals_oom_classify(&s, 10 * 1000000, 2, false, 0), SIGNALS_OOM_NODE);
}
END_TEST

/* memory.oom.group kills every process of the container for one `oom` event: the kills that
 * follow within the window are the same OOM; later ones are judged anew. */
START_TEST(test_oom_group_kill_same_event)
{
	struct signals_oom_state s;

	signals_oom_init(&s, 0, 0);
	ck_assert_int_eq(signals_oom_classify(&s, 1000000, 1, true, 1),
			 SIGNALS_OOM_CONTAINER_LIMIT);
	ck_assert_int_eq(signals_oom_classify(&s, 1500000, 1, true, 1),
			 SIGNALS_OOM_CONTAINER_LIMIT);
	ck_assert_int_eq(
		signals_oom_classify(&s, 1500000 + SIGNALS_OOM_SAME_EVENT_USEC, 1, true, 1),
		SIGNALS_OOM_NODE);
}
END_TEST

/* A counter that went down is a recreated cgroup: a change, not silence. */
START_TEST(test_oom_counter_reset)
{
	struct signals_oom_state s;

	signals_oom_init(&s, 7, 7);
	ck_assert_int_eq(signals_oom_classify(&s, 1000, 1, true, 7), SIGNALS_OOM_CONTAINER_LIMIT);
	ck_assert_str_eq(signals_oom_cause_to_string(SIGNALS_OOM_POD_LIMIT), "pod-limit");
}
END_TEST

Suite *signals_suite(void)
{
	Suite *s = suite_create("signals");
	TCase *tc = tcase_create("oom");

	tcase_add_test(tc, test_oom_container_limit);
	tcase_add_test(tc, test_oom_pod_limit);
	tcase_add_test(tc, test_oom_node);
	tcase_add_test(tc, test_oom_group_kill_same_event);
	tcase_add_test(tc, test_oom_counter_reset);
	suite_add_tcase(s, tc);
	return s;
}
