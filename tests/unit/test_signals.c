/* Unit tests for the signal math: which limit an OOM kill enforced, throttling, pressure stall (PSI), the working set's growth. */
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

/* A restarted container's new cgroup, OOM-killed at the pod's limit (one container: pod limit =
 * container limit) before snug saw it: the pod's counter already holds the kill when tracking
 * starts. Judged against the pod's count from before the restart, the kill is the container's
 * (it came within 10 % of its limit), not the node's; a new cgroup not killed yet takes the pod's
 * count as it is. */
START_TEST(test_oom_new_cgroup_killed_before_tracking)
{
	struct signals_oom_state s;

	signals_oom_init(&s, 0, 2); /* the first container, two kills seen */
	signals_oom_new_cgroup(&s, 3, true);
	ck_assert_uint_eq(s.pod_oom, 2);
	ck_assert_int_eq(classify(&s, 5000000, 0, true, 3, 63 * MiB, 64 * MiB),
			 SIGNALS_OOM_CONTAINER_LIMIT);
	/* Never read before (the first container died before snug tracked it): from zero. */
	s = (struct signals_oom_state){ 0 };
	signals_oom_new_cgroup(&s, 1, true);
	ck_assert_uint_eq(s.pod_oom, 0);
	ck_assert_int_eq(classify(&s, 1000, 0, true, 1, 20 * MiB, 64 * MiB), SIGNALS_OOM_POD_LIMIT);
	/* Alive when tracked: the pod's count now is the baseline; nothing grew, so the node's. */
	signals_oom_new_cgroup(&s, 4, false);
	ck_assert_uint_eq(s.pod_oom, 4);
	ck_assert_uint_eq(s.container_oom, 0);
	ck_assert_int_eq(classify(&s, 9000000, 0, true, 4, 64 * MiB, 64 * MiB), SIGNALS_OOM_NODE);
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

/* ---- one container's signals -------------------------------------------------------------- */

#define SEC 1000000ULL

static bool feed_cpu(struct signals_state *s, uint64_t t_sec, uint64_t usage_usec,
		     uint64_t throttled_usec)
{
	/* CLOCK_MONOTONIC is never 0 on a running system. */
	struct signals_reading r = { .ts_usec = (1000 + t_sec) * SEC,
				     .have_cpu = true,
				     .cpu_usage_usec = usage_usec,
				     .cpu_throttled_usec = throttled_usec };

	return signals_feed(s, &r, &(struct signals_windows){ 60 * SEC, 30 * SEC });
}

static void feed_memory(struct signals_state *s, uint64_t t_sec, uint64_t working_set, uint64_t max)
{
	struct signals_reading r = { .ts_usec = (1000 + t_sec) * SEC,
				     .have_memory_current = true,
				     .have_working_set = true,
				     .have_memory_max = true,
				     .memory_current = working_set,
				     .working_set = working_set,
				     .memory_max = max };

	signals_feed(s, &r, &(struct signals_windows){ 60 * SEC, 30 * SEC, 60 * SEC });
}

/* One second of PSI: some_ms and full_ms of memory stall, cpu_ms of CPU stall, added to the
 * cumulative totals; usage and limit as given. */
struct psi_totals {
	uint64_t memory_some, memory_full, cpu_some;
};

static void feed_psi(struct signals_state *s, uint64_t t_sec, struct psi_totals *tot,
		     uint64_t some_ms, uint64_t full_ms, uint64_t cpu_ms, uint64_t current,
		     uint64_t max)
{
	struct signals_reading r;

	tot->memory_some += some_ms * 1000;
	tot->memory_full += full_ms * 1000;
	tot->cpu_some += cpu_ms * 1000;
	r = (struct signals_reading){ .ts_usec = (1000 + t_sec) * SEC,
				      .have_memory_current = true,
				      .have_memory_max = true,
				      .memory_current = current,
				      .memory_max = max,
				      .have_memory_psi = true,
				      .have_memory_psi_full = true,
				      .have_cpu_psi = true,
				      .memory_some_usec = tot->memory_some,
				      .memory_full_usec = tot->memory_full,
				      .cpu_some_usec = tot->cpu_some };
	signals_feed(s, &r, &(struct signals_windows){ 60 * SEC, 30 * SEC });
}

/* A burner at its 200m quota: 0.2 core used and 0.8 s of every second throttled. The ratio is of
 * the CPU it wanted, and "sustained" means the window has lasted long enough. */
START_TEST(test_throttle_window)
{
	struct signals_state s = { 0 };

	ck_assert(!feed_cpu(&s, 0, 0, 0)); /* the first reading has nothing to compare with */
	for (uint64_t t = 1; t <= 30; t++)
		ck_assert(feed_cpu(&s, t, t * 200000, t * 800000));
	ck_assert_double_eq_tol(s.cpu_cores, 0.2, 1e-9);
	ck_assert_double_eq_tol(s.throttle_ratio, 0.8, 1e-9);
	ck_assert(!signals_throttled(&s, 60 * SEC, 0.1)); /* 30 s is not sustained yet */
	for (uint64_t t = 31; t <= 60; t++)
		feed_cpu(&s, t, t * 200000, t * 800000);
	ck_assert(signals_throttled(&s, 60 * SEC, 0.1));
	ck_assert(!signals_throttled(&s, 60 * SEC, 0.9));
	/* A resize starts the window over. */
	signals_resized(&s, 0);
	ck_assert(!signals_throttled(&s, 60 * SEC, 0.1));
}
END_TEST

/* The reading after a resize covers time under the old limit: its throttling is not the new
 * limit's. A burner stopped by the raise (nothing used since) is not "throttled" for ever by the
 * last periods before it, which raised the limit a second time in the envtest tier under load. */
START_TEST(test_throttle_straddling_the_resize)
{
	struct signals_state s = { 0 };
	uint64_t usage = 0, thr = 0;

	feed_cpu(&s, 0, 0, 0);
	for (uint64_t t = 1; t <= 60; t++)
		feed_cpu(&s, t, usage += 200000, thr += 800000);
	ck_assert(signals_throttled(&s, 60 * SEC, 0.1));
	signals_resized(&s, 0);
	/* Throttled until the new cpu.max was written, then idle. */
	ck_assert(feed_cpu(&s, 61, usage += 100000, thr += 400000));
	for (uint64_t t = 62; t <= 130; t++) {
		feed_cpu(&s, t, usage += 1000, thr);
		ck_assert(!signals_throttled(&s, 60 * SEC, 0.1));
	}
	ck_assert_double_eq_tol(s.throttle_ratio, 0, 1e-9);
	for (uint64_t t = 131; t <= 200; t++)
		feed_cpu(&s, t, usage += 1000, thr);
	/* Throttled under the new limit: counted as before. */
	for (uint64_t t = 201; t <= 362; t++)
		feed_cpu(&s, t, usage += 300000, thr += 700000);
	ck_assert(signals_throttled(&s, 60 * SEC, 0.1));
}
END_TEST

/* Sustained means recurring: one burst of throttling (a container's start) in an otherwise idle
 * window is a high ratio of the little CPU used, but no limit to raise (the idle pod of the VM tier
 * got 2 -> 3 cores for its start's burst); a batch job's bursts are, however short each is (the
 * first version of this rule, a quarter of the readings, left the value suite's batch job at 104m
 * and 65 % of its periods throttled). */
START_TEST(test_throttle_must_recur)
{
	struct signals_state s = { 0 }, b = { 0 };
	uint64_t usage = 0, thr = 0;

	feed_cpu(&s, 0, 0, 0);
	for (uint64_t t = 1; t <= 5; t++) /* starting: 50 ms used, 30 ms throttled a second */
		feed_cpu(&s, t, usage += 50000, thr += 30000);
	for (uint64_t t = 6; t <= 61; t++) /* then idle */
		feed_cpu(&s, t, usage += 2000, thr);
	ck_assert_double_gt(s.throttle_ratio, 0.1);
	ck_assert(!signals_throttled(&s, 60 * SEC, 0.1));
	ck_assert_double_eq(signals_throttle_ratio(&s), 0); /* what decisions see */

	/* The value suite's batch job at 104m: 300 ms of CPU every 20 s, ~3 s throttled each time,
	 * throttled in 15 % of the readings only, but in three episodes: it recurs. */
	usage = thr = 0;
	feed_cpu(&b, 0, 0, 0);
	for (uint64_t t = 1; t <= 61; t++)
		feed_cpu(&b, t, usage += t % 20 < 3 ? 100000 : 1000,
			 thr += t % 20 < 3 ? 250000 : 0);
	ck_assert_uint_lt(b.window_throttled_readings * 4, b.window_readings);
	ck_assert_double_gt(b.throttle_ratio, 0.1);
	ck_assert(signals_throttled(&b, 60 * SEC, 0.1));
	ck_assert_double_eq(signals_throttle_ratio(&b), b.throttle_ratio);
}
END_TEST

/* The window restarts once it is twice the configured length, so old throttling fades. */
START_TEST(test_throttle_window_restarts)
{
	struct signals_state s = { 0 };
	uint64_t usage = 0, thr = 0;

	feed_cpu(&s, 0, 0, 0);
	for (uint64_t t = 1; t <= 100; t++) /* throttled for 100 s */
		feed_cpu(&s, t, usage += 200000, thr += 800000);
	for (uint64_t t = 101; t <= 200; t++) /* then not at all */
		feed_cpu(&s, t, usage += 200000, thr);
	ck_assert_double_lt(s.throttle_ratio, 0.1);
	ck_assert_uint_le(s.throttle_window_usec, 120 * SEC);
}
END_TEST

/* A cumulative counter that goes back (a new cgroup) is no negative delta: that reading starts
 * over. */
START_TEST(test_counter_reset)
{
	struct signals_state s = { 0 };

	feed_cpu(&s, 0, 5000000, 0);
	feed_cpu(&s, 1, 5500000, 0);
	ck_assert_double_eq_tol(s.cpu_cores, 0.5, 1e-9);
	ck_assert(!feed_cpu(&s, 2, 100000, 0));
	ck_assert_double_eq_tol(s.cpu_cores, 0.5, 1e-9);
	ck_assert(feed_cpu(&s, 3, 300000, 0));
	ck_assert_double_eq_tol(s.cpu_cores, 0.2, 1e-9);
}
END_TEST

/* A grower at 8 MiB/s toward 256 MiB: 3 s ahead it is near the limit before it is there, and a
 * drop (reclaim) forgets the rate. */
START_TEST(test_working_set_projection)
{
	struct signals_state s = { 0 };

	feed_memory(&s, 0, 200 * MiB, 256 * MiB);
	ck_assert_int_eq(signals_projected_working_set(&s, 3 * SEC), 200 * MiB);
	for (uint64_t t = 1; t <= 5; t++)
		feed_memory(&s, t, (200 + 8 * t) * MiB, 256 * MiB);
	ck_assert_double_gt(s.working_set_rate, 7.0 * MiB);
	ck_assert_int_ge(signals_projected_working_set(&s, 3 * SEC), 260 * MiB);
	ck_assert(signals_memory_near_limit(&s, 3 * SEC, 0.95));
	ck_assert(!signals_memory_near_limit(&s, 0, 0.95)); /* 240 MiB as measured: 94 % */
	feed_memory(&s, 6, 100 * MiB, 256 * MiB);
	ck_assert_double_eq(s.working_set_rate, 0);
	ck_assert(!signals_memory_near_limit(&s, 3 * SEC, 0.95));
	/* No limit, or pressure off: never near. */
	feed_memory(&s, 7, 255 * MiB, UINT64_MAX);
	ck_assert(!signals_memory_near_limit(&s, 3 * SEC, 0.95));
	feed_memory(&s, 8, 255 * MiB, 256 * MiB);
	ck_assert(!signals_memory_near_limit(&s, 3 * SEC, 0));
}
END_TEST

/* Issue 17, cause (c): batch takes 40 MiB at once every 20 s. After a shrink to 48Mi / 96Mi the
 * jump read as a 20 MiB/s rate, "heading for 100.9Mi of 96Mi" (run b), and the limit grew for a
 * kill that was not coming. A single step is not projected; nor is growth projected further ahead
 * than it has been seen (run c: the burst faulted in over two samples, 6 then 34 MiB, "heading for
 * 95.7Mi of 96Mi" with growth seen at two samples and a 3 s lookahead). */
START_TEST(test_burst_step_not_projected)
{
	struct signals_state s = { 0 };

	for (uint64_t t = 0; t <= 5; t++)
		feed_memory(&s, t, 8 * MiB, 96 * MiB);
	feed_memory(&s, 6, 48 * MiB, 96 * MiB); /* the burst's 40 MiB, in one sample */
	ck_assert_int_eq(signals_projected_working_set(&s, 3 * SEC), 48 * MiB);
	ck_assert(!signals_memory_near_limit(&s, 3 * SEC, 0.95));
	feed_memory(&s, 7, 1 * MiB, 96 * MiB); /* freed */
	/* The burst over two samples, as the real node saw it: projected 2 s, not 3. */
	feed_memory(&s, 8, 7 * MiB, 96 * MiB);
	feed_memory(&s, 9, 41 * MiB, 96 * MiB);
	ck_assert_int_le(signals_projected_working_set(&s, 3 * SEC), 41 * MiB + 2 * 19 * MiB);
	ck_assert(!signals_memory_near_limit(&s, 3 * SEC, 0.95));
	feed_memory(&s, 10, 1 * MiB, 96 * MiB);
	/* A heap filling at 10 MiB/s is projected once it grew at two samples. */
	feed_memory(&s, 11, 50 * MiB, 96 * MiB);
	feed_memory(&s, 12, 60 * MiB, 96 * MiB);
	feed_memory(&s, 13, 70 * MiB, 96 * MiB);
	ck_assert_int_gt(signals_projected_working_set(&s, 3 * SEC), 91 * MiB);
	ck_assert(signals_memory_near_limit(&s, 3 * SEC, 0.95));
}
END_TEST

/* Issue 17, cause (b): how long the working set stood above the memory request, as a share of one
 * to two windows; a new request starts over, a restart keeps the request. */
START_TEST(test_over_request_share)
{
	struct signals_state s = { 0 };
	uint64_t t = 0;

	feed_memory(&s, t, 100 * MiB, 160 * MiB);
	ck_assert_double_eq(s.over_request.share, 0); /* no request known: nothing measured */
	signals_set_memory_request(&s, 64 * MiB);
	/* A sawtooth 40 -> 110 MiB, 10 MiB/s: above 64 MiB 5 s of every 8. */
	for (t = 1; t <= 80; t++)
		feed_memory(&s, t, (40 + 10 * (t % 8)) * MiB, 160 * MiB);
	ck_assert_uint_ge(s.over_request.span_usec, 60 * SEC);
	ck_assert_double_eq_tol(s.over_request.share, 5.0 / 8, 0.05);
	/* The same request again changes nothing; a resize of CPU does not start it over. */
	signals_set_memory_request(&s, 64 * MiB);
	signals_resized(&s, 0);
	ck_assert_double_eq_tol(s.over_request.share, 5.0 / 8, 0.05);
	/* A restart keeps the request, and measures the new cgroup from its first sample. */
	signals_restart(&s);
	ck_assert_uint_eq(s.memory_request, 64 * MiB);
	for (; t <= 150; t++)
		feed_memory(&s, t, 100 * MiB, 160 * MiB);
	ck_assert_double_eq_tol(s.over_request.share, 1, 1e-9);
	/* A new request (grown to 170Mi) starts over, and the working set is below it. */
	signals_set_memory_request(&s, 170 * MiB);
	ck_assert_double_eq(s.over_request.share, 0);
	for (; t <= 220; t++)
		feed_memory(&s, t, 100 * MiB, 400 * MiB);
	ck_assert_uint_ge(s.over_request.span_usec, 60 * SEC);
	ck_assert_double_eq(s.over_request.share, 0);
	/* No request: nothing. */
	signals_set_memory_request(&s, -1);
	ck_assert_uint_eq(s.memory_request, 0);
}
END_TEST

/* A restart is a new cgroup: the jump to its first reading is not growth (a flat container
 * would look like a leak), throttling is forgotten; the OOM classification's state stays. */
START_TEST(test_restart_is_not_growth)
{
	struct signals_state s = { 0 };

	signals_oom_init(&s.oom, 3, 4);
	feed_memory(&s, 0, 10 * MiB, 256 * MiB);
	feed_memory(&s, 1, 12 * MiB, 256 * MiB);
	signals_restart(&s);
	ck_assert_uint_eq(s.oom.container_oom, 3);
	feed_memory(&s, 2, 230 * MiB, 256 * MiB);
	ck_assert_double_eq(s.working_set_rate, 0);
	ck_assert(!signals_memory_near_limit(&s, 3 * SEC, 0.95));
	/* After a resize, pressure is judged against the new limit until a sample says more. */
	signals_resized(&s, 512 * MiB);
	ck_assert_uint_eq(s.memory_max, 512 * MiB);
}
END_TEST

/* A page-cache thrasher at its limit stalls 400 ms of every second on memory (some), 100 ms with
 * every task stalled (full): the share is of wall time, and "sustained" waits for a full window. */
START_TEST(test_memory_stall_share)
{
	struct signals_state s = { 0 };
	struct psi_totals tot = { 5000000, 1000000, 0 }; /* stall before tracking is not counted */

	feed_psi(&s, 0, &tot, 0, 0, 0, 63 * MiB, 64 * MiB);
	for (uint64_t t = 1; t <= 20; t++)
		feed_psi(&s, t, &tot, 400, 100, 0, 63 * MiB, 64 * MiB);
	ck_assert_double_eq_tol(s.memory_some.share, 0.4, 1e-9);
	ck_assert_double_eq_tol(s.memory_full.share, 0.1, 1e-9);
	ck_assert_double_eq_tol(s.cpu_some.share, 0, 1e-9);
	ck_assert(!signals_stall_above(&s.memory_some, 30 * SEC, 0.10)); /* 20 s: not yet */
	ck_assert(!signals_memory_stalled(&s, 30 * SEC, 0.10, 0.90));
	for (uint64_t t = 21; t <= 40; t++)
		feed_psi(&s, t, &tot, 400, 100, 0, 63 * MiB, 64 * MiB);
	ck_assert(signals_stall_above(&s.memory_some, 30 * SEC, 0.10));
	ck_assert(!signals_stall_above(&s.memory_some, 30 * SEC, 0.5));
	ck_assert(signals_memory_stalled(&s, 30 * SEC, 0.10, 0.90));
	/* Far below its limit the stall is the node's reclaim, not the container's limit. */
	feed_psi(&s, 41, &tot, 400, 100, 0, 20 * MiB, 64 * MiB);
	ck_assert(!signals_memory_stalled(&s, 30 * SEC, 0.10, 0.90));
	/* No limit, or the threshold off: never. */
	feed_psi(&s, 42, &tot, 400, 100, 0, 63 * MiB, UINT64_MAX);
	ck_assert(!signals_memory_stalled(&s, 30 * SEC, 0.10, 0.90));
	feed_psi(&s, 43, &tot, 400, 100, 0, 63 * MiB, 64 * MiB);
	ck_assert(!signals_memory_stalled(&s, 30 * SEC, 0, 0.90));
	/* A resize starts over: the stall under the old limit says nothing of the new one. */
	signals_resized(&s, 128 * MiB);
	ck_assert(!signals_stall_above(&s.memory_some, 30 * SEC, 0.01));
	ck_assert_double_eq(s.memory_some.share, 0);
}
END_TEST

/* The share always covers one to two windows once the first is full: a stall that just ended is
 * still seen (a shrink waits), and one that ended more than two windows ago is forgotten. */
START_TEST(test_stall_window_slides)
{
	struct signals_state s = { 0 };
	struct psi_totals tot = { 0 };

	feed_psi(&s, 0, &tot, 0, 0, 0, MiB, 64 * MiB);
	for (uint64_t t = 1; t <= 31; t++) /* a stall, then quiet */
		feed_psi(&s, t, &tot, t <= 5 ? 200 : 0, 0, 0, MiB, 64 * MiB);
	for (uint64_t t = 32; t <= 40; t++) {
		feed_psi(&s, t, &tot, 0, 0, 0, MiB, 64 * MiB);
		ck_assert_uint_ge(s.memory_some.span_usec, 30 * SEC);
		ck_assert_double_gt(s.memory_some.share, 0);
	}
	for (uint64_t t = 41; t <= 100; t++)
		feed_psi(&s, t, &tot, 0, 0, 0, MiB, 64 * MiB);
	ck_assert_double_eq(s.memory_some.share, 0);
	ck_assert_uint_le(s.memory_some.span_usec, 61 * SEC);
}
END_TEST

/* A total that goes back (a new cgroup) starts over; a delta above the wall time (the kernel's
 * aggregation behind the read) counts as the whole interval, never more than 100 %. */
START_TEST(test_stall_counter_reset_and_clamp)
{
	struct signals_stall st = { 0 };

	signals_stall_feed(&st, 10 * SEC, 9000000, 30 * SEC);
	signals_stall_feed(&st, 11 * SEC, 11500000, 30 * SEC); /* 2.5 s of stall in 1 s */
	ck_assert_double_eq_tol(st.share, 1.0, 1e-9);
	signals_stall_feed(&st, 12 * SEC, 100, 30 * SEC); /* went back */
	ck_assert_double_eq(st.share, 0);
	ck_assert_uint_eq(st.span_usec, 0);
	signals_stall_feed(&st, 13 * SEC, 250100, 30 * SEC);
	ck_assert_double_eq_tol(st.share, 0.25, 1e-9);
	signals_stall_feed(&st, 13 * SEC, 900100, 30 * SEC); /* the clock did not move */
	ck_assert_double_eq(st.share, 0);
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
	tcase_add_test(tc, test_oom_new_cgroup_killed_before_tracking);
	tcase_add_test(tc, test_oom_group_kill_same_event);
	tcase_add_test(tc, test_oom_counter_reset);
	suite_add_tcase(s, tc);
	tc = tcase_create("feed");
	tcase_add_test(tc, test_throttle_window);
	tcase_add_test(tc, test_throttle_straddling_the_resize);
	tcase_add_test(tc, test_throttle_must_recur);
	tcase_add_test(tc, test_throttle_window_restarts);
	tcase_add_test(tc, test_counter_reset);
	tcase_add_test(tc, test_working_set_projection);
	tcase_add_test(tc, test_burst_step_not_projected);
	tcase_add_test(tc, test_over_request_share);
	tcase_add_test(tc, test_restart_is_not_growth);
	tcase_add_test(tc, test_memory_stall_share);
	tcase_add_test(tc, test_stall_window_slides);
	tcase_add_test(tc, test_stall_counter_reset_and_clamp);
	suite_add_tcase(s, tc);
	return s;
}
