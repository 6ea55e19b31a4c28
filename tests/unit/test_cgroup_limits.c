/* Unit tests for the limit writer: files written in order at once, systemd unit properties sent one reply at a time without stalling the loop. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cgroup/limits.h"
#include "tests/unit/cgroup_fake.h"
#include "tests/unit/fake_systemd.h"
#include "tests/unit/unit.h"

#define POD "kubepods/burstable/pod1"
#define CTR "kubepods/burstable/pod1/c1"
#define POD_UNIT "kubepods-burstable-pod1.slice"
#define CTR_UNIT "cri-containerd-1.scope"
#define SD_POD "kubepods.slice/kubepods-burstable.slice/" POD_UNIT
#define SD_CTR SD_POD "/" CTR_UNIT

/* What a sequence reported when it finished (copied: the writer's arrays die with the call). */
struct seq {
	bool finished;
	int r;
	size_t n;
	struct cg_limit_result results[8];
	size_t calls_when_finished; /* D-Bus calls the fake had seen by then */
	struct fake_systemd *fake;
};

static void on_done(int r, const struct cg_limit_write *w, const struct cg_limit_result *res,
		    size_t n, void *userdata)
{
	struct seq *s = userdata;

	ck_assert(!s->finished);
	s->finished = true;
	s->r = r;
	s->n = n;
	ck_assert_uint_le(n, 8);
	memcpy(s->results, res, n * sizeof(*res));
	if (s->fake)
		s->calls_when_finished = fake_systemd_n_calls(s->fake);
}

static char *pod_tree(void)
{
	char *root = fake_tree_new();

	fake_mkdir(root, CTR);
	fake_write(root, POD "/memory.max", "268435456\n");
	fake_write(root, CTR "/memory.max", "268435456\n");
	fake_write(root, POD "/cpu.max", "20000 100000\n");
	fake_write(root, CTR "/cpu.max", "20000 100000\n");
	fake_write(root, POD "/cpu.weight", "4\n");
	fake_write(root, CTR "/cpu.weight", "4\n");
	return root;
}

/* ---- the cgroupfs backend ------------------------------------------------------------------ */

/* The kernel's own text for each limit, and the whole sequence done when the call returns. */
START_TEST(test_cgroupfs_writes_kernel_text_at_once)
{
	char *root = pod_tree();
	const struct cg_limit_write w[] = {
		{ POD, CG_LIMIT_MEMORY_MAX, 402653184 }, { CTR, CG_LIMIT_MEMORY_MAX, 402653184 },
		{ POD, CG_LIMIT_CPU_MAX, 300 },		 { CTR, CG_LIMIT_CPU_MAX, CG_UNLIMITED },
		{ CTR, CG_LIMIT_CPU_WEIGHT, 100 },	 { POD, CG_LIMIT_MEMORY_MAX, CG_UNLIMITED },
	};
	struct cg_tree *t;
	struct cg_limits *l;
	sd_event *e;
	struct seq s = { 0 };

	ck_assert_int_eq(cg_tree_open(root, &t), 0);
	ck_assert_int_eq(sd_event_new(&e), 0);
	ck_assert_int_eq(cg_limits_new(t, e, &l), 0);
	ck_assert_str_eq(cg_limits_backend_of(CG_DRIVER_CGROUPFS)->name, "cgroupfs");
	ck_assert_int_eq(
		cg_limits_write(l, cg_limits_backend_of(CG_DRIVER_CGROUPFS), w, 6, on_done, &s), 0);
	ck_assert(s.finished);
	ck_assert_int_eq(s.r, 0);
	for (size_t i = 0; i < 6; i++)
		ck_assert_int_eq(s.results[i].outcome, CG_LIMIT_WRITTEN);
	ck_assert_uint_eq(cg_limits_pending(l), 0);
	ck_assert_str_eq(fake_read(root, CTR "/memory.max"), "402653184\n");
	/* 300m: quota 30000 per 100 ms period, as the kubelet writes it. */
	ck_assert_str_eq(fake_read(root, POD "/cpu.max"), "30000 100000\n");
	ck_assert_str_eq(fake_read(root, CTR "/cpu.max"), "max 100000\n");
	ck_assert_str_eq(fake_read(root, CTR "/cpu.weight"), "100\n");
	ck_assert_str_eq(fake_read(root, POD "/memory.max"), "max\n");
	cg_limits_free(l);
	sd_event_unref(e);
	cg_tree_free(t);
	fake_tree_remove(root);
	free(root);
}
END_TEST

/* The first failure ends the sequence: a container is never raised over a pod that was not. */
START_TEST(test_cgroupfs_failure_ends_sequence)
{
	char *root = pod_tree();
	char path[4096];
	const struct cg_limit_write w[] = {
		{ POD, CG_LIMIT_MEMORY_MAX, 402653184 },
		{ CTR, CG_LIMIT_MEMORY_MAX, 402653184 },
	};
	struct cg_tree *t;
	struct cg_limits *l;
	sd_event *e;
	struct seq s = { 0 };

	/* A directory where the pod's memory.max should be: writing it fails. */
	snprintf(path, sizeof(path), "%s/" POD "/memory.max", root);
	ck_assert_int_eq(remove(path), 0);
	fake_mkdir(root, POD "/memory.max");
	ck_assert_int_eq(cg_tree_open(root, &t), 0);
	ck_assert_int_eq(sd_event_new(&e), 0);
	ck_assert_int_eq(cg_limits_new(t, e, &l), 0);
	ck_assert_int_eq(
		cg_limits_write(l, cg_limits_backend_of(CG_DRIVER_CGROUPFS), w, 2, on_done, &s), 0);
	ck_assert(s.finished);
	ck_assert_int_lt(s.r, 0);
	ck_assert_int_eq(s.results[0].outcome, CG_LIMIT_FAILED);
	ck_assert_int_eq(s.results[0].error, s.r);
	ck_assert_int_eq(s.results[1].outcome, CG_LIMIT_NOT_REACHED);
	ck_assert_str_eq(fake_read(root, CTR "/memory.max"), "268435456\n");
	cg_limits_free(l);
	sd_event_unref(e);
	cg_tree_free(t);
	fake_tree_remove(root);
	free(root);
}
END_TEST

/* A lowered memory.max is kept where the cgroup uses more now (the kernel would reclaim, then
 * OOM-kill); where it fits, and without the flag, it is written. */
START_TEST(test_memory_max_kept_above_usage)
{
	char *root = pod_tree();
	const struct cg_limit_write w[] = {
		{ CTR, CG_LIMIT_MEMORY_MAX, 134217728, true },
		{ POD, CG_LIMIT_MEMORY_MAX, 134217728, true },
		{ POD, CG_LIMIT_CPU_MAX, 100 },
	};
	struct cg_tree *t;
	struct cg_limits *l;
	sd_event *e;
	struct seq s = { 0 };

	fake_write(root, CTR "/memory.current", "104857600\n"); /* 100Mi: fits */
	fake_write(root, POD "/memory.current", "209715200\n"); /* 200Mi: does not */
	ck_assert_int_eq(cg_tree_open(root, &t), 0);
	ck_assert_int_eq(sd_event_new(&e), 0);
	ck_assert_int_eq(cg_limits_new(t, e, &l), 0);
	ck_assert_int_eq(
		cg_limits_write(l, cg_limits_backend_of(CG_DRIVER_CGROUPFS), w, 3, on_done, &s), 0);
	ck_assert(s.finished);
	ck_assert_int_eq(s.r, 0);
	ck_assert_int_eq(s.results[0].outcome, CG_LIMIT_WRITTEN);
	ck_assert_int_eq(s.results[1].outcome, CG_LIMIT_KEPT_UNDER_USAGE);
	ck_assert_uint_eq(s.results[1].usage, 209715200);
	ck_assert_int_eq(s.results[2].outcome, CG_LIMIT_WRITTEN);
	ck_assert_str_eq(fake_read(root, CTR "/memory.max"), "134217728\n");
	ck_assert_str_eq(fake_read(root, POD "/memory.max"), "268435456\n");
	ck_assert_str_eq(fake_read(root, POD "/cpu.max"), "10000 100000\n");
	cg_limits_free(l);
	sd_event_unref(e);
	cg_tree_free(t);
	fake_tree_remove(root);
	free(root);
}
END_TEST

/* ---- the systemd backend ------------------------------------------------------------------- */

/* The same limits as unit properties (crun's mapping). */
START_TEST(test_unit_properties)
{
	struct cg_unit_property p[2];
	struct cg_limit_write cpu = { SD_CTR, CG_LIMIT_CPU_MAX, 250 };
	struct cg_limit_write mem = { SD_POD, CG_LIMIT_MEMORY_MAX, 536870912 };
	struct cg_limit_write w = { SD_POD, CG_LIMIT_CPU_WEIGHT, 39 };

	ck_assert_int_eq(cg_limit_unit_properties(&cpu, p), 2);
	ck_assert_str_eq(p[0].name, "CPUQuotaPerSecUSec");
	ck_assert_uint_eq(p[0].value, 250000); /* 250m = 250 ms of CPU per second */
	ck_assert_str_eq(p[1].name, "CPUQuotaPeriodUSec");
	ck_assert_uint_eq(p[1].value, 100000);
	/* 675m: systemd would keep only 67% across daemon-reload; 680 ms, never under 675m. */
	cpu.value = 675;
	ck_assert_int_eq(cg_limit_unit_properties(&cpu, p), 2);
	ck_assert_uint_eq(p[0].value, 680000);
	cpu.value = 1001;
	ck_assert_int_eq(cg_limit_unit_properties(&cpu, p), 2);
	ck_assert_uint_eq(p[0].value, 1010000);
	cpu.value = 1; /* the kernel's 1 ms minimum quota per period: 10 ms per second */
	ck_assert_int_eq(cg_limit_unit_properties(&cpu, p), 2);
	ck_assert_uint_eq(p[0].value, 10000);
	cpu.value = CG_UNLIMITED;
	ck_assert_int_eq(cg_limit_unit_properties(&cpu, p), 2);
	ck_assert_uint_eq(p[0].value, UINT64_MAX);
	ck_assert_int_eq(cg_limit_unit_properties(&mem, p), 1);
	ck_assert_str_eq(p[0].name, "MemoryMax");
	ck_assert_uint_eq(p[0].value, 536870912);
	mem.value = CG_UNLIMITED;
	ck_assert_int_eq(cg_limit_unit_properties(&mem, p), 1);
	ck_assert_uint_eq(p[0].value, UINT64_MAX);
	ck_assert_int_eq(cg_limit_unit_properties(&w, p), 1);
	ck_assert_str_eq(p[0].name, "CPUWeight");
	ck_assert_uint_eq(p[0].value, 39);
	ck_assert_str_eq(cg_limits_backend_of(CG_DRIVER_SYSTEMD)->name, "systemd");
}
END_TEST

/* A limit writer on an empty tree whose systemd backend talks to a fake systemd, and a timer that
 * ticks every millisecond: the loop the agent's sampling, OOM handling and /healthz share. */
struct sd_env {
	char *root;
	struct cg_tree *tree;
	sd_event *event;
	struct cg_limits *limits;
	struct fake_systemd *fake;
	sd_event_source *tick, *deadline;
	unsigned ticks, ticks_held, held_for;
	/* The tick answers a held call after it has been held this many ticks (0: never). */
	unsigned answer_after;
	size_t max_calls; /* when set, the fake never sees more calls than this */
	struct seq *
		until; /* the loop runs until this one has finished (NULL: the fake holds a call) */
	bool past_deadline;
};

static bool sd_env_reached(const struct sd_env *env)
{
	return env->until ? env->until->finished : fake_systemd_n_held(env->fake) > 0;
}

static int on_tick(sd_event_source *s, uint64_t usec, void *userdata)
{
	struct sd_env *env = userdata;

	env->ticks++;
	if (sd_env_reached(env))
		return 0;
	if (env->max_calls)
		ck_assert_uint_le(fake_systemd_n_calls(env->fake), env->max_calls);
	if (fake_systemd_n_held(env->fake) > 0) {
		env->ticks_held++;
		if (env->answer_after && ++env->held_for >= env->answer_after) {
			env->held_for = 0;
			ck_assert(fake_systemd_answer(env->fake));
		}
	}
	ck_assert_int_ge(sd_event_source_set_time_relative(s, 1000), 0);
	return sd_event_source_set_enabled(s, SD_EVENT_ONESHOT);
}

static int on_deadline(sd_event_source *s, uint64_t usec, void *userdata)
{
	struct sd_env *env = userdata;

	env->past_deadline = true;
	return 0;
}

static void sd_env_init(struct sd_env *env, const char *const *units)
{
	sd_bus *client;

	memset(env, 0, sizeof(*env));
	env->root = fake_tree_new();
	ck_assert_int_eq(cg_tree_open(env->root, &env->tree), 0);
	ck_assert_int_eq(sd_event_new(&env->event), 0);
	ck_assert_int_eq(cg_limits_new(env->tree, env->event, &env->limits), 0);
	env->fake = fake_systemd_new(env->event, units, &client);
	ck_assert_int_eq(cg_limits_set_bus(env->limits, client), 0);
	sd_bus_unref(client);
	/* Accuracy 1 µs: 0 would let sd-event put it off by up to 250 ms. */
	ck_assert_int_ge(sd_event_add_time_relative(env->event, &env->tick, CLOCK_MONOTONIC, 1000,
						    1, on_tick, env),
			 0);
	/* A bound for a broken test, not a timing check. */
	ck_assert_int_ge(sd_event_add_time_relative(env->event, &env->deadline, CLOCK_MONOTONIC,
						    30 * 1000 * 1000, 0, on_deadline, env),
			 0);
	ck_assert_int_ge(sd_event_source_set_enabled(env->tick, SD_EVENT_OFF), 0);
}

/* Runs the loop until s has finished (or, with s NULL, until the fake holds a call). */
static void sd_env_run(struct sd_env *env, struct seq *s)
{
	env->until = s;
	ck_assert_int_ge(sd_event_source_set_time_relative(env->tick, 1000), 0);
	ck_assert_int_ge(sd_event_source_set_enabled(env->tick, SD_EVENT_ONESHOT), 0);
	while (!sd_env_reached(env)) {
		ck_assert_msg(!env->past_deadline, "the loop never got there");
		ck_assert_int_ge(sd_event_run(env->event, UINT64_MAX), 0);
	}
}

static void sd_env_done(struct sd_env *env)
{
	cg_limits_free(env->limits);
	fake_systemd_free(env->fake);
	sd_event_source_unref(env->tick);
	sd_event_source_unref(env->deadline);
	sd_event_unref(env->event);
	cg_tree_free(env->tree);
	fake_tree_remove(env->root);
	free(env->root);
}

static const char *const units[] = { POD_UNIT, CTR_UNIT, NULL };

/* A busy PID 1: each write waits for systemd's reply while the loop goes on ticking, and the next
 * write is sent only once the one before was answered. A blocking call would never see the fake
 * (served by this same loop) answer, and fail. */
START_TEST(test_systemd_writes_wait_for_each_reply_loop_runs)
{
	const struct cg_limit_write w[] = {
		{ SD_POD, CG_LIMIT_MEMORY_MAX, 536870912 },
		{ SD_CTR, CG_LIMIT_MEMORY_MAX, 402653184 },
		{ SD_POD, CG_LIMIT_CPU_MAX, 600 },
		{ SD_CTR, CG_LIMIT_CPU_WEIGHT, 40 },
	};
	struct sd_env env;
	struct seq s = { 0 };

	sd_env_init(&env, units);
	fake_systemd_hold(env.fake, true);
	env.answer_after = 3;
	s.fake = env.fake;
	ck_assert_int_eq(cg_limits_write(env.limits, cg_limits_backend_of(CG_DRIVER_SYSTEMD), w, 4,
					 on_done, &s),
			 0);
	/* Returned before systemd has even seen the call. */
	ck_assert(!s.finished);
	ck_assert_uint_eq(cg_limits_pending(env.limits), 1);
	ck_assert_uint_eq(fake_systemd_n_calls(env.fake), 0);
	sd_env_run(&env, &s);

	ck_assert_int_eq(s.r, 0);
	for (size_t i = 0; i < 4; i++)
		ck_assert_int_eq(s.results[i].outcome, CG_LIMIT_WRITTEN);
	ck_assert_uint_eq(fake_systemd_n_calls(env.fake), 4);
	ck_assert_uint_ge(env.ticks_held, 4 * 3);
	for (size_t i = 0; i < 4; i++) {
		const struct fake_systemd_call *c = fake_systemd_call(env.fake, i);

		ck_assert_msg(c->answered_before == i,
			      "call %zu was sent with %zu answered: not one at a time", i,
			      c->answered_before);
		ck_assert(c->runtime);
		ck_assert_str_eq(c->unit, i % 2 ? CTR_UNIT : POD_UNIT);
	}
	ck_assert_uint_eq(fake_systemd_prop(env.fake, 0, "MemoryMax"), 536870912);
	ck_assert_uint_eq(fake_systemd_prop(env.fake, 1, "MemoryMax"), 402653184);
	ck_assert_uint_eq(fake_systemd_prop(env.fake, 2, "CPUQuotaPerSecUSec"), 600000);
	ck_assert_uint_eq(fake_systemd_prop(env.fake, 2, "CPUQuotaPeriodUSec"), 100000);
	ck_assert_uint_eq(fake_systemd_prop(env.fake, 3, "CPUWeight"), 40);
	ck_assert_uint_eq(cg_limits_pending(env.limits), 0);
	sd_env_done(&env);
}
END_TEST

/* systemd refuses the pod's unit (not loaded): the container's write is never sent; a value it
 * refuses fails the same way. */
START_TEST(test_systemd_refusal_ends_sequence)
{
	static const char *const only_ctr[] = { CTR_UNIT, NULL };
	const struct cg_limit_write w[] = {
		{ SD_POD, CG_LIMIT_MEMORY_MAX, 536870912 },
		{ SD_CTR, CG_LIMIT_MEMORY_MAX, 402653184 },
	};
	const struct cg_limit_write bad_weight = { SD_CTR, CG_LIMIT_CPU_WEIGHT, 0 };
	struct sd_env env;
	struct seq s = { 0 };

	sd_env_init(&env, only_ctr);
	s.fake = env.fake;
	ck_assert_int_eq(cg_limits_write(env.limits, cg_limits_backend_of(CG_DRIVER_SYSTEMD), w, 2,
					 on_done, &s),
			 0);
	sd_env_run(&env, &s);
	ck_assert_int_lt(s.r, 0);
	ck_assert_int_eq(s.results[0].outcome, CG_LIMIT_FAILED);
	ck_assert_int_eq(s.results[1].outcome, CG_LIMIT_NOT_REACHED);
	ck_assert_uint_eq(fake_systemd_n_calls(env.fake), 1);
	s = (struct seq){ 0 };
	ck_assert_int_eq(cg_limits_write(env.limits, cg_limits_backend_of(CG_DRIVER_SYSTEMD),
					 &bad_weight, 1, on_done, &s),
			 0);
	sd_env_run(&env, &s);
	ck_assert_int_eq(s.r, -EINVAL);
	ck_assert_uint_eq(fake_systemd_n_calls(env.fake), 2);
	sd_env_done(&env);
}
END_TEST

/* A PID 1 that never answers: the write fails at the timeout, and what was queued behind it (a
 * revert, say) runs then, not before. */
START_TEST(test_systemd_timeout_then_next_sequence)
{
	const struct cg_limit_write a = { SD_POD, CG_LIMIT_MEMORY_MAX, 536870912 };
	const struct cg_limit_write b = { SD_POD, CG_LIMIT_MEMORY_MAX, 268435456 };
	struct sd_env env;
	struct seq sa = { 0 }, sb = { 0 };

	sd_env_init(&env, units);
	fake_systemd_hold(env.fake, true);
	sa.fake = sb.fake = env.fake;
	cg_limits_set_dbus_timeout(env.limits, 50 * 1000);
	ck_assert_int_eq(cg_limits_write(env.limits, cg_limits_backend_of(CG_DRIVER_SYSTEMD), &a, 1,
					 on_done, &sa),
			 0);
	ck_assert_int_eq(cg_limits_write(env.limits, cg_limits_backend_of(CG_DRIVER_SYSTEMD), &b, 1,
					 on_done, &sb),
			 0);
	ck_assert_uint_eq(cg_limits_pending(env.limits), 2);
	env.max_calls = 1;
	sd_env_run(&env, &sa);
	ck_assert_int_eq(sa.r, -ETIMEDOUT);
	ck_assert_int_eq(sa.results[0].outcome, CG_LIMIT_FAILED);
	ck_assert_uint_eq(sa.calls_when_finished, 1);
	/* The second goes out now; this time systemd answers (the first, late, then the second). */
	env.max_calls = 0;
	env.answer_after = 1;
	sd_env_run(&env, &sb);
	ck_assert_int_eq(sb.r, 0);
	ck_assert_uint_eq(fake_systemd_n_calls(env.fake), 2);
	ck_assert_uint_eq(fake_systemd_prop(env.fake, 1, "MemoryMax"), 268435456);
	sd_env_done(&env);
}
END_TEST

/* Stopping with a write in flight: every queued sequence finishes with -ECANCELED at once. */
START_TEST(test_free_cancels_pending)
{
	const struct cg_limit_write w[] = {
		{ SD_POD, CG_LIMIT_MEMORY_MAX, 536870912 },
		{ SD_CTR, CG_LIMIT_MEMORY_MAX, 402653184 },
	};
	struct sd_env env;
	struct seq sa = { 0 }, sb = { 0 };

	sd_env_init(&env, units);
	fake_systemd_hold(env.fake, true);
	ck_assert_int_eq(cg_limits_write(env.limits, cg_limits_backend_of(CG_DRIVER_SYSTEMD), w, 2,
					 on_done, &sa),
			 0);
	ck_assert_int_eq(cg_limits_write(env.limits, cg_limits_backend_of(CG_DRIVER_SYSTEMD), w, 1,
					 on_done, &sb),
			 0);
	sd_env_run(&env, NULL);
	ck_assert(!sa.finished);
	cg_limits_free(env.limits);
	env.limits = NULL;
	ck_assert(sa.finished && sb.finished);
	ck_assert_int_eq(sa.r, -ECANCELED);
	ck_assert_int_eq(sb.r, -ECANCELED);
	ck_assert_int_eq(sa.results[0].outcome, CG_LIMIT_NOT_REACHED);
	ck_assert_int_eq(sa.results[1].outcome, CG_LIMIT_NOT_REACHED);
	sd_env_done(&env);
}
END_TEST

/* systemd's end of the connection goes away mid-sequence: the write in flight fails (it does not
 * wait forever), and the next write opens a new connection to the system bus instead of using the
 * dead one. */
START_TEST(test_systemd_disconnect_fails_and_reconnects)
{
	const struct cg_limit_write w[] = {
		{ SD_POD, CG_LIMIT_MEMORY_MAX, 536870912 },
		{ SD_CTR, CG_LIMIT_MEMORY_MAX, 402653184 },
	};
	struct sd_env env;
	struct seq sa = { 0 }, sb = { 0 };
	char *address;

	sd_env_init(&env, units);
	fake_systemd_hold(env.fake, true);
	ck_assert_int_eq(cg_limits_write(env.limits, cg_limits_backend_of(CG_DRIVER_SYSTEMD), w, 2,
					 on_done, &sa),
			 0);
	sd_env_run(&env, NULL);
	fake_systemd_disconnect(env.fake);
	sd_env_run(&env, &sa);
	ck_assert_int_lt(sa.r, 0);
	ck_assert_int_eq(sa.results[0].outcome, CG_LIMIT_FAILED);
	ck_assert_int_eq(sa.results[1].outcome, CG_LIMIT_NOT_REACHED);

	/* No system bus where this points: the new connection fails at connect(). */
	ck_assert_int_ge(asprintf(&address, "unix:path=%s/no-bus", env.root), 0);
	ck_assert_int_eq(setenv("DBUS_SYSTEM_BUS_ADDRESS", address, 1), 0);
	ck_assert_int_eq(cg_limits_write(env.limits, cg_limits_backend_of(CG_DRIVER_SYSTEMD), w, 1,
					 on_done, &sb),
			 0);
	unsetenv("DBUS_SYSTEM_BUS_ADDRESS");
	free(address);
	ck_assert(sb.finished);
	ck_assert_int_eq(sb.r, -ENOENT);
	sd_env_done(&env);
}
END_TEST

Suite *cgroup_limits_suite(void)
{
	Suite *s = suite_create("cgroup_limits");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_cgroupfs_writes_kernel_text_at_once);
	tcase_add_test(tc, test_cgroupfs_failure_ends_sequence);
	tcase_add_test(tc, test_memory_max_kept_above_usage);
	tcase_add_test(tc, test_unit_properties);
	tcase_add_test(tc, test_systemd_writes_wait_for_each_reply_loop_runs);
	tcase_add_test(tc, test_systemd_refusal_ends_sequence);
	tcase_add_test(tc, test_systemd_timeout_then_next_sequence);
	tcase_add_test(tc, test_free_cancels_pending);
	tcase_add_test(tc, test_systemd_disconnect_fails_and_reconnects);
	tcase_set_timeout(tc, 60);
	suite_add_tcase(s, tc);
	return s;
}
