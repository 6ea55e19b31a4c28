/* Unit tests for agent/decide: when snug resizes, to what, why, and in which cgroup write order. */
#include "tests/unit/unit.h"
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "agent/decide.h"
#include "agent/kube/kube.h"
#include "agent/pod_model.h"
#include "agent/policy.h"
#include "agent/util/time.h"

#define MIB (INT64_C(1) << 20)
#define GIB (INT64_C(1) << 30)
#define SEC USEC_PER_SEC
#define NOW (1700000000ULL * SEC)

struct fx {
	struct pol_container pc;
	struct decide_container c[3];
	struct decide_config cfg;
	struct decide_input in;
	struct decide_decision d;
};

static const struct decide_estimate NO_REC = { -1, -1, -1 };

static void fx_init(struct fx *f, enum qos_class qos, size_t n)
{
	static const char *const names[] = { "app", "sidecar", "log" };

	memset(f, 0, sizeof(*f));
	f->pc = (struct pol_container){ .mode = POL_MODE_AUTO,
					.resources = POL_RESOURCE_ALL,
					.controlled = POL_CONTROLLED_REQUESTS_AND_LIMITS,
					.min_cpu_millis = -1,
					.max_cpu_millis = -1,
					.min_memory_bytes = -1,
					.max_memory_bytes = -1 };
	decide_config_default(&f->cfg);
	for (size_t i = 0; i < 3; i++)
		f->c[i] = (struct decide_container){ .name = names[i], .res = { -1, -1, -1, -1 } };
	f->in = (struct decide_input){
		.policy = &f->pc,
		.pod = { .qos = qos,
			 .containers = f->c,
			 .n_containers = n,
			 .overhead_cpu_millis = -1,
			 .overhead_memory_bytes = -1,
			 .resources = { -1, -1, -1, -1 } },
		.cpu = NO_REC,
		.memory = NO_REC,
		.signals = { .oom_bumped_memory = -1,
			     .memory_usage = -1,
			     .memory_cgroup_limit = -1,
			     .memory_working_set = -1 },
		.node = { -1, -1, -1 },
		.now_usec = NOW,
		.config = &f->cfg,
	};
}

static void set(struct fx *f, size_t i, int64_t cpu_req, int64_t cpu_lim, int64_t mem_req,
		int64_t mem_lim)
{
	f->c[i].res = (struct resources){ cpu_req, cpu_lim, mem_req, mem_lim };
}

/* The container's last resize changed both resources at t (0 = never). */
static void resized_at(struct fx *f, uint64_t t)
{
	f->in.cpu_cooldown.last_resize_usec = f->in.memory_cooldown.last_resize_usec = t;
}

/* Both resources' budgets hold these n grows inside their cooldowns. */
static void grown_inside(struct fx *f, const uint64_t *grows, size_t n)
{
	f->in.cpu_cooldown.bypass_grows_usec = f->in.memory_cooldown.bypass_grows_usec = grows;
	f->in.cpu_cooldown.n_bypass_grows = f->in.memory_cooldown.n_bypass_grows = n;
}

static const struct decide_decision *run(struct fx *f)
{
	ck_assert_int_eq(decide_container(&f->in, &f->d), 0);
	return &f->d;
}

#define ck_assert_reason(d, s)                                                                     \
	ck_assert_msg(strstr((d)->reason, (s)), "reason \"%s\" lacks \"%s\"", (d)->reason, (s))

static void assert_unchanged(const struct decide_decision *d)
{
	ck_assert_int_eq(d->kind, DECIDE_NONE);
	ck_assert_uint_eq(d->n_steps, 0);
	ck_assert_int_eq(d->new_res.cpu_request, d->old_res.cpu_request);
	ck_assert_int_eq(d->new_res.cpu_limit, d->old_res.cpu_limit);
	ck_assert_int_eq(d->new_res.memory_request, d->old_res.memory_request);
	ck_assert_int_eq(d->new_res.memory_limit, d->old_res.memory_limit);
}

/* The QoS class of the pod after the decision is applied. */
static enum qos_class qos_after(const struct fx *f)
{
	struct decide_container c[3];
	struct decide_pod pod = f->in.pod;

	memcpy(c, f->c, sizeof(c));
	c[f->d.index].res = f->d.new_res;
	pod.containers = c;
	return decide_pod_qos(&pod);
}

START_TEST(test_off_and_unselected)
{
	struct fx f;
	struct pol p;
	struct pol_annotation a[] = { { "snug.io/mode", "auto" }, { "snug.io/containers", "web" } };
	const struct decide_decision *d;

	fx_init(&f, QOS_BURSTABLE, 1);
	set(&f, 0, 500, 1000, 256 * MIB, 512 * MIB);
	f.in.cpu = (struct decide_estimate){ 250, 120, 300 };
	f.pc.mode = POL_MODE_OFF;
	d = run(&f);
	assert_unchanged(d);
	ck_assert_reason(d, "not managed");

	/* The pod is on, but snug.io/containers names another container. */
	ck_assert_int_eq(pol_parse(a, 2, &(struct pol_defaults)POL_DEFAULTS_INIT, &p), 0);
	pol_container(&p, "app", &f.pc);
	d = run(&f);
	assert_unchanged(d);
	pol_container(&p, "web", &f.pc);
	d = run(&f);
	ck_assert_int_eq(d->kind, DECIDE_RECOMMENDATION);
	pol_done(&p);
}
END_TEST

START_TEST(test_best_effort_never_resized)
{
	struct fx f;
	const struct decide_decision *d;

	fx_init(&f, QOS_BEST_EFFORT, 1);
	f.in.memory = (struct decide_estimate){ 300 * MIB, 200 * MIB, 400 * MIB };
	f.in.signals.oom_kill = true;
	f.in.signals.oom_bumped_memory = 400 * MIB;
	d = run(&f);
	assert_unchanged(d);
	ck_assert_reason(d, "BestEffort");
}
END_TEST

START_TEST(test_recommendation_outside_range)
{
	struct fx f;
	const struct decide_decision *d;

	fx_init(&f, QOS_BURSTABLE, 1);
	set(&f, 0, 500, 1000, 256 * MIB, 512 * MIB);
	f.in.cpu = (struct decide_estimate){ 250, 120, 300 };
	d = run(&f);
	ck_assert_int_eq(d->kind, DECIDE_RECOMMENDATION);
	ck_assert(!d->bypass_cooldown);
	ck_assert(!d->report_only);
	ck_assert_int_eq(d->new_res.cpu_request, 250);
	/* requests-and-limits keeps the 1:2 ratio. */
	ck_assert_int_eq(d->new_res.cpu_limit, 500);
	ck_assert_int_eq(d->new_res.memory_request, 256 * MIB);
	ck_assert_int_eq(d->new_res.memory_limit, 512 * MIB);
	ck_assert_reason(d, "recommendation: cpu request 500m outside [120m, 300m] -> 250m");
	ck_assert_reason(d, "limit 1 -> 500m");
	ck_assert_int_eq(qos_after(&f), QOS_BURSTABLE);
}
END_TEST

START_TEST(test_min_change)
{
	struct fx f;
	const struct decide_decision *d;

	fx_init(&f, QOS_BURSTABLE, 1);
	set(&f, 0, 250, 500, 256 * MIB, 512 * MIB);
	/* 8% off a target inside [lower, upper]: not worth a resize. */
	f.in.cpu = (struct decide_estimate){ 270, 100, 1000 };
	d = run(&f);
	assert_unchanged(d);
	ck_assert_reason(d, "within [100m, 1]");
	f.in.cpu.target = 230;
	assert_unchanged(run(&f));
	/* 12%: acts. */
	f.in.cpu.target = 280;
	d = run(&f);
	ck_assert_int_eq(d->kind, DECIDE_RECOMMENDATION);
	ck_assert_int_eq(d->new_res.cpu_request, 280);
	ck_assert_int_eq(d->new_res.cpu_limit, 560);
	ck_assert_reason(d, "12% off target 280m");
	/* --min-change 5% makes the 8% case act. */
	f.cfg.min_change = 0.05;
	f.in.cpu.target = 270;
	ck_assert_int_eq(run(&f)->new_res.cpu_request, 270);
}
END_TEST

/* snug.io/updater=vpa-like: as VPA's updater would, the recommendation alone, only outside
 * [lower, upper], at most once a minute; an OOM kill, memory pressure, throttling and stalls do
 * not act (the kill reaches the decision through the recommender's bumped bounds). */
START_TEST(test_vpa_like)
{
	struct fx f;
	const struct decide_decision *d;

	fx_init(&f, QOS_BURSTABLE, 1);
	f.pc.updater = POL_UPDATER_VPA_LIKE;
	set(&f, 0, 250, 500, 256 * MIB, 512 * MIB);
	/* 12% off target but inside [lower, upper]: snug's --min-change would act, VPA does not. */
	f.in.cpu = (struct decide_estimate){ 280, 100, 1000 };
	assert_unchanged(run(&f));
	f.pc.updater = POL_UPDATER_SNUG;
	ck_assert_int_eq(run(&f)->kind, DECIDE_RECOMMENDATION);
	f.pc.updater = POL_UPDATER_VPA_LIKE;

	/* An OOM kill at the limit: no OOM resize while the request is within the bounds. */
	f.in.cpu = NO_REC;
	f.in.memory = (struct decide_estimate){ 300 * MIB, 200 * MIB, 2 * GIB };
	f.in.signals.oom_kill = true;
	f.in.signals.oom_bumped_memory = 614 * MIB;
	f.in.signals.memory_usage = 500 * MIB;
	f.in.signals.memory_cgroup_limit = 512 * MIB;
	f.in.signals.memory_max_grew = true;
	d = run(&f);
	assert_unchanged(d);
	ck_assert_reason(d, "snug.io/updater=vpa-like");
	/* The recommender's bump lifted the lower bound above the request: a resize to the target,
	 * the limit in ratio, as VPA's updater would do after the kill. */
	f.in.memory = (struct decide_estimate){ 614 * MIB, 400 * MIB, 2 * GIB };
	d = run(&f);
	ck_assert_int_eq(d->kind, DECIDE_RECOMMENDATION);
	ck_assert(!d->bypass_cooldown);
	ck_assert_int_eq(d->new_res.memory_request, 614 * MIB);
	ck_assert_int_eq(d->new_res.memory_limit, 1228 * MIB);
	/* Within a minute of the last resize it waits; after a minute (not snug's five) it acts. */
	resized_at(&f, NOW - 50 * SEC);
	d = run(&f);
	assert_unchanged(d);
	ck_assert_reason(d, "waits for the cooldown (10s left)");
	resized_at(&f, NOW - 61 * SEC);
	ck_assert_int_eq(run(&f)->kind, DECIDE_RECOMMENDATION);

	/* Heavy throttling: ignored (snug raises the limit at once). */
	f.in.memory = NO_REC;
	f.in.signals = (struct decide_signals){ .oom_bumped_memory = -1,
						.memory_usage = -1,
						.memory_cgroup_limit = -1,
						.memory_working_set = -1,
						.cpu_throttle_ratio = 0.6,
						.cpu_throttle_window_usec = 60 * SEC };
	d = run(&f);
	assert_unchanged(d);
	ck_assert_reason(d, "cpu throttling ignored");
	f.pc.updater = POL_UPDATER_SNUG;
	ck_assert_int_eq(run(&f)->kind, DECIDE_THROTTLE);

	/* A memory stall holds snug's shrink, not VPA's. */
	f.pc.updater = POL_UPDATER_VPA_LIKE;
	f.in.signals = (struct decide_signals){ .oom_bumped_memory = -1,
						.memory_usage = 100 * MIB,
						.memory_cgroup_limit = 512 * MIB,
						.memory_working_set = 100 * MIB,
						.memory_psi_known = true,
						.memory_stall_some = 0.05,
						.stall_window_usec = 60 * SEC };
	f.in.memory = (struct decide_estimate){ 150 * MIB, 120 * MIB, 200 * MIB };
	d = run(&f);
	ck_assert_int_eq(d->kind, DECIDE_RECOMMENDATION);
	ck_assert_int_eq(d->new_res.memory_request, 150 * MIB);
	f.pc.updater = POL_UPDATER_SNUG;
	assert_unchanged(run(&f));
}
END_TEST

START_TEST(test_no_recommendation_yet)
{
	struct fx f;
	const struct decide_decision *d;

	fx_init(&f, QOS_BURSTABLE, 1);
	set(&f, 0, 500, 1000, 256 * MIB, 512 * MIB);
	d = run(&f);
	assert_unchanged(d);
	ck_assert_reason(d, "no recommendation yet");
}
END_TEST

START_TEST(test_cooldown)
{
	struct fx f;
	const struct decide_decision *d;

	fx_init(&f, QOS_BURSTABLE, 1);
	set(&f, 0, 500, 1000, 256 * MIB, 512 * MIB);
	f.in.cpu = (struct decide_estimate){ 250, 120, 300 };
	resized_at(&f, NOW - 120 * SEC);
	d = run(&f);
	assert_unchanged(d);
	ck_assert_reason(d, "cooldown (180s left)");
	/* A clock that went backwards is still inside the cooldown, not an excuse to act. */
	resized_at(&f, NOW + 10 * SEC);
	assert_unchanged(run(&f));
	resized_at(&f, NOW - 301 * SEC);
	ck_assert_int_eq(run(&f)->kind, DECIDE_RECOMMENDATION);
	f.cfg.cooldown_usec = 600 * SEC;
	assert_unchanged(run(&f));
}
END_TEST

/* Issue 17, cause (a): one cooldown per container let a CPU raise on throttling hold the memory the
 * recommendation wanted to give back for five minutes (value run b: service and batch shrank their
 * memory at 453-468 s against 288 s without the throttling raise). Each resource has its own
 * cooldown and its own budget of grows inside it. */
START_TEST(test_cooldown_per_resource)
{
	uint64_t spent[5] = { NOW - 50 * SEC, NOW - 40 * SEC, NOW - 30 * SEC, NOW - 20 * SEC,
			      NOW - 10 * SEC };
	const struct decide_decision *d;
	struct fx f;

	fx_init(&f, QOS_BURSTABLE, 1);
	set(&f, 0, 500, 1000, 256 * MIB, 512 * MIB);
	f.in.cpu = (struct decide_estimate){ 250, 120, 300 };
	f.in.memory = (struct decide_estimate){ 64 * MIB, 48 * MIB, 96 * MIB };
	f.in.signals.memory_usage = 40 * MIB;
	/* CPU was raised 30 s ago: its recommendation waits, memory's shrink does not. */
	f.in.cpu_cooldown.last_resize_usec = NOW - 30 * SEC;
	d = run(&f);
	ck_assert_int_eq(d->kind, DECIDE_RECOMMENDATION);
	ck_assert_int_eq(d->new_res.memory_request, 64 * MIB);
	ck_assert_int_eq(d->new_res.memory_limit, 128 * MIB);
	ck_assert_int_eq(d->new_res.cpu_request, 500);
	ck_assert_int_eq(d->new_res.cpu_limit, 1000);
	ck_assert(!d->bypass_cooldown);
	/* And the other way round: memory resized 30 s ago holds memory alone. */
	f.in.cpu_cooldown.last_resize_usec = 0;
	f.in.memory_cooldown.last_resize_usec = NOW - 30 * SEC;
	d = run(&f);
	ck_assert_int_eq(d->kind, DECIDE_RECOMMENDATION);
	ck_assert_int_eq(d->new_res.cpu_request, 250);
	ck_assert_int_eq(d->new_res.memory_request, 256 * MIB);
	ck_assert_int_eq(d->new_res.memory_limit, 512 * MIB);

	/* Heavy throttling inside CPU's cooldown spends CPU's budget, not memory's. */
	f.in.cpu = NO_REC;
	f.in.memory = NO_REC;
	f.in.cpu_cooldown.last_resize_usec = NOW - 30 * SEC;
	f.in.signals.cpu_throttle_ratio = 0.5;
	f.in.signals.cpu_throttle_window_usec = 60 * SEC;
	d = run(&f);
	ck_assert_int_eq(d->kind, DECIDE_THROTTLE);
	ck_assert(d->cpu_bypassed_cooldown);
	ck_assert(!d->memory_bypassed_cooldown);
	/* Five CPU grows spent CPU's budget: an OOM kill inside memory's cooldown still acts at once
	 * (run b: jvm-small's CPU grows spent the container's one budget). */
	f.in.cpu_cooldown.bypass_grows_usec = spent;
	f.in.cpu_cooldown.n_bypass_grows = 5;
	f.in.signals.cpu_throttle_ratio = 0;
	f.in.signals.oom_kill = true;
	f.in.signals.oom_bumped_memory = 384 * MIB;
	d = run(&f);
	ck_assert_int_eq(d->kind, DECIDE_OOM);
	ck_assert(d->memory_bypassed_cooldown);
	ck_assert(!d->cpu_bypassed_cooldown);
	ck_assert(!d->bypass_budget_spent);
	/* ... while heavy throttling now waits for CPU's cooldown. */
	f.in.signals.oom_kill = false;
	f.in.signals.cpu_throttle_ratio = 0.5;
	d = run(&f);
	assert_unchanged(d);
	ck_assert(d->bypass_budget_spent);
	ck_assert_reason(d, "cpu-throttled 50% over 60s: waits for the cooldown (270s left)");
}
END_TEST

/* Issue 17, cause (b): jvm-small, written 64Mi / 96Mi for a heap that saws from 40 to 110 MiB, had
 * its limit grown on pressure (which starts memory's cooldown) while its request stayed at 64Mi
 * for five minutes: the scheduler reserved less than it used ("64Mi outside [137.8Mi, 200.6Mi]:
 * waits for the cooldown"). A working set above the request most of a minute grows the request
 * to the target at once, within node room, caps and memory's budget. */
START_TEST(test_under_requested_memory_grows_at_once)
{
	uint64_t spent[5] = { NOW - 50 * SEC, NOW - 40 * SEC, NOW - 30 * SEC, NOW - 20 * SEC,
			      NOW - 10 * SEC };
	const struct decide_decision *d;
	struct fx f;

	fx_init(&f, QOS_BURSTABLE, 1);
	set(&f, 0, 50, 100, 64 * MIB, 160 * MIB);
	f.in.memory = (struct decide_estimate){ 170 * MIB, 138 * MIB, 201 * MIB };
	f.in.memory_cooldown.last_resize_usec = NOW - 20 * SEC; /* the pressure grow */
	f.in.signals.memory_usage = 100 * MIB;
	f.in.signals.memory_working_set = 100 * MIB;
	/* Above the request 40% of the minute: it waits for the cooldown as before. */
	f.in.signals.memory_over_request = 0.4;
	f.in.signals.memory_over_request_window_usec = 60 * SEC;
	d = run(&f);
	assert_unchanged(d);
	ck_assert_reason(d, "memory request 64Mi outside [138Mi, 201Mi]: waits for the cooldown");
	/* 70% of a minute: the request grows to the target now, the limit keeps its ratio. */
	f.in.signals.memory_over_request = 0.7;
	d = run(&f);
	ck_assert_int_eq(d->kind, DECIDE_RECOMMENDATION);
	ck_assert_int_eq(d->new_res.memory_request, 170 * MIB);
	ck_assert_int_eq(d->new_res.memory_limit, 425 * MIB);
	ck_assert(d->memory_bypassed_cooldown);
	ck_assert(!d->cpu_bypassed_cooldown);
	ck_assert_reason(d, "working set above the request 70% of 60s: grown inside the cooldown");
	/* 70% of only 30 s is not sustained yet. */
	f.in.signals.memory_over_request_window_usec = 30 * SEC;
	assert_unchanged(run(&f));
	f.in.signals.memory_over_request_window_usec = 60 * SEC;
	/* Within the node's room, as any grow. */
	f.in.node.memory_free_bytes = 100 * MIB;
	d = run(&f);
	ck_assert_int_eq(d->new_res.memory_request, 100 * MIB);
	ck_assert_reason(d, "node has only 100Mi memory left");
	f.in.node.memory_free_bytes = -1;
	/* A spent memory budget holds it, and says so. */
	f.in.memory_cooldown.bypass_grows_usec = spent;
	f.in.memory_cooldown.n_bypass_grows = 5;
	d = run(&f);
	assert_unchanged(d);
	ck_assert(d->bypass_budget_spent);
	ck_assert_reason(d, "working set above it 70% of 60s: waits for the cooldown");
	f.in.memory_cooldown.n_bypass_grows = 0;
	/* A target at or below the request is no under-reservation: a shrink waits. */
	f.in.memory = (struct decide_estimate){ 48 * MIB, 40 * MIB, 56 * MIB };
	assert_unchanged(run(&f));
	/* VPA-like has no such signal. */
	f.in.memory = (struct decide_estimate){ 170 * MIB, 138 * MIB, 201 * MIB };
	f.pc.updater = POL_UPDATER_VPA_LIKE;
	f.in.memory_cooldown.last_resize_usec = NOW - 20 * SEC;
	assert_unchanged(run(&f));
	/* --- off. */
	f.pc.updater = POL_UPDATER_SNUG;
	f.cfg.over_request_share = 0;
	assert_unchanged(run(&f));
}
END_TEST

START_TEST(test_oom_kill)
{
	struct fx f;
	const struct decide_decision *d;

	fx_init(&f, QOS_BURSTABLE, 1);
	set(&f, 0, 500, 1000, 256 * MIB, 256 * MIB);
	resized_at(&f, NOW - 60 * SEC);
	f.in.signals.oom_kill = true;
	f.in.signals.oom_bumped_memory = 384 * MIB;
	d = run(&f);
	/* Acts at once although a resize happened a minute ago. */
	ck_assert_int_eq(d->kind, DECIDE_OOM);
	ck_assert(d->bypass_cooldown);
	ck_assert_int_eq(d->new_res.memory_limit, 384 * MIB);
	/* request == limit stays equal (VPA's rule). */
	ck_assert_int_eq(d->new_res.memory_request, 384 * MIB);
	ck_assert_int_eq(d->new_res.cpu_request, 500);
	ck_assert_reason(d, "oom-kill: memory limit 256Mi -> 384Mi");
	ck_assert(!d->shrinks_memory_limit);

	/* A request below the limit follows the recommender's bump as VPA's target does, and the
	 * limit keeps its 1:2 ratio to it. */
	set(&f, 0, 500, 1000, 128 * MIB, 256 * MIB);
	d = run(&f);
	ck_assert_int_eq(d->new_res.memory_request, 384 * MIB);
	ck_assert_int_eq(d->new_res.memory_limit, 768 * MIB);

	/* Without the recommender's figure: VPA's bump of the request, max(+100Mi, ×1.2). */
	f.in.signals.oom_bumped_memory = -1;
	d = run(&f);
	ck_assert_int_eq(d->new_res.memory_request, 228 * MIB);
	ck_assert_int_eq(d->new_res.memory_limit, 456 * MIB);
	ck_assert_reason(d, "VPA's OOM bump of 128Mi, 228Mi");
}
END_TEST

/* Issue 13, defect 7: request 64Mi / limit 128Mi, killed at its limit before any sample saw the
 * peak. VPA's RecordOOM turns the kill into a target of max(64Mi × 1.2, 64Mi + 100Mi) = 164Mi;
 * snug used to raise only the limit (128Mi -> 164Mi) and leave the request at 64Mi. */
START_TEST(test_oom_kill_follows_vpa)
{
	struct fx f;
	const struct decide_decision *d;

	fx_init(&f, QOS_BURSTABLE, 1);
	set(&f, 0, 100, 200, 64 * MIB, 128 * MIB);
	f.in.signals.oom_kill = true;
	f.in.signals.oom_bumped_memory = 164 * MIB; /* what rec_container_record_oom gives */
	d = run(&f);
	ck_assert_int_eq(d->kind, DECIDE_OOM);
	/* The request follows VPA's target; the limit keeps the 1:2 ratio and so stays above the
	 * floor for a kill at the limit, max(128Mi + 100Mi, 1.2 × 128Mi) = 228Mi. */
	ck_assert_int_eq(d->new_res.memory_request, 164 * MIB);
	ck_assert_int_eq(d->new_res.memory_limit, 328 * MIB);
	ck_assert_reason(d, "oom-kill: memory limit 128Mi -> 328Mi, request 64Mi -> 164Mi");
	ck_assert_reason(d, "limit at least 228Mi");
	ck_assert_int_eq(qos_after(&f), QOS_BURSTABLE);

	/* The same without the recommender's figure: the same bump from the request. */
	f.in.signals.oom_bumped_memory = -1;
	d = run(&f);
	ck_assert_int_eq(d->new_res.memory_request, 164 * MIB);
	ck_assert_int_eq(d->new_res.memory_limit, 328 * MIB);

	/* No room on the node for the request: the limit alone grows, and the reason says so. */
	f.in.node.memory_free_bytes = 64 * MIB;
	d = run(&f);
	ck_assert_int_eq(d->kind, DECIDE_OOM);
	ck_assert_int_eq(d->new_res.memory_request, 64 * MIB);
	ck_assert_int_eq(d->new_res.memory_limit, 328 * MIB);
	ck_assert_reason(d, "node has only 64Mi memory left");
	ck_assert_reason(d, "the limit alone grows");
	/* Some room: the request grows as far as it goes, the limit all the way. */
	f.in.node.memory_free_bytes = 100 * MIB;
	d = run(&f);
	ck_assert_int_eq(d->new_res.memory_request, 100 * MIB);
	ck_assert_int_eq(d->new_res.memory_limit, 328 * MIB);

	/* Guaranteed: request and limit move together, as far as the node lets the request. */
	fx_init(&f, QOS_GUARANTEED, 1);
	set(&f, 0, 100, 100, 128 * MIB, 128 * MIB);
	f.in.signals.oom_kill = true;
	f.in.signals.oom_bumped_memory = 228 * MIB;
	d = run(&f);
	ck_assert_int_eq(d->new_res.memory_request, 228 * MIB);
	ck_assert_int_eq(d->new_res.memory_limit, 228 * MIB);
	f.in.node.memory_free_bytes = 200 * MIB;
	d = run(&f);
	ck_assert_int_eq(d->new_res.memory_request, 200 * MIB);
	ck_assert_int_eq(d->new_res.memory_limit, 200 * MIB);
	ck_assert_reason(d, "request and limit move together (Guaranteed)");
	ck_assert_int_eq(qos_after(&f), QOS_GUARANTEED);
	/* ... or not at all. */
	f.in.node.memory_free_bytes = 100 * MIB;
	d = run(&f);
	assert_unchanged(d);
	ck_assert_reason(d, "move together or not at all");
	ck_assert_reason(d, "node has only 100Mi memory left");

	/* controlled-values=requests: the request rises as far as the limit, the limit stays. */
	fx_init(&f, QOS_BURSTABLE, 1);
	set(&f, 0, 100, 200, 64 * MIB, 128 * MIB);
	f.pc.controlled = POL_CONTROLLED_REQUESTS;
	f.in.signals.oom_kill = true;
	f.in.signals.oom_bumped_memory = 164 * MIB;
	d = run(&f);
	ck_assert_int_eq(d->new_res.memory_request, 128 * MIB);
	ck_assert_int_eq(d->new_res.memory_limit, 128 * MIB);
}
END_TEST

START_TEST(test_oom_without_limit_and_at_max)
{
	struct fx f;
	const struct decide_decision *d;

	fx_init(&f, QOS_BURSTABLE, 1);
	set(&f, 0, 500, 1000, 256 * MIB, -1);
	f.in.signals.oom_kill = true;
	f.in.signals.oom_bumped_memory = 384 * MIB;
	d = run(&f);
	ck_assert_int_eq(d->kind, DECIDE_OOM);
	ck_assert_int_eq(d->new_res.memory_request, 384 * MIB);
	/* Never adds a limit that was not there. */
	ck_assert_int_eq(d->new_res.memory_limit, -1);
	ck_assert_reason(d, "no memory limit");

	/* Already at snug.io/max-memory: nothing to do, and the reason says why. */
	set(&f, 0, 500, 1000, 256 * MIB, 256 * MIB);
	f.pc.max_memory_bytes = 256 * MIB;
	d = run(&f);
	assert_unchanged(d);
	ck_assert_reason(d, "oom-kill: memory limit 256Mi not raised");
	ck_assert_reason(d, "snug.io/max-memory=256Mi");
	/* Up to max, not beyond. */
	f.pc.max_memory_bytes = 300 * MIB;
	d = run(&f);
	ck_assert_int_eq(d->new_res.memory_limit, 300 * MIB);
	ck_assert_reason(d, "limit capped by snug.io/max-memory=300Mi");
}
END_TEST

START_TEST(test_memory_pressure)
{
	struct fx f;
	const struct decide_decision *d;

	fx_init(&f, QOS_BURSTABLE, 1);
	set(&f, 0, 500, 1000, 256 * MIB, 256 * MIB);
	resized_at(&f, NOW - 10 * SEC);
	f.in.signals.memory_max_grew = true;
	f.in.signals.memory_usage = 243 * MIB;
	f.in.signals.memory_cgroup_limit = 256 * MIB;
	d = run(&f);
	/* Memory grows before the OOM killer gets there, cooldown or not. */
	ck_assert_int_eq(d->kind, DECIDE_PRESSURE);
	ck_assert(d->bypass_cooldown);
	ck_assert_int_eq(d->new_res.memory_limit, 320 * MIB);
	ck_assert_int_eq(d->new_res.memory_request, 320 * MIB);
	ck_assert_reason(d, "memory-pressure: memory.max hit at 243Mi of 256Mi (94%)");
	ck_assert_reason(d, "limit 256Mi -> 320Mi");

	/* Usage fell back far from the limit: a stale max event is no reason. */
	f.in.signals.memory_usage = 100 * MIB;
	assert_unchanged(run(&f));
	/* Near the limit but no max event: no pressure. */
	f.in.signals.memory_usage = 250 * MIB;
	f.in.signals.memory_max_grew = false;
	assert_unchanged(run(&f));
	/* A working set of 96% of the limit is pressure even before any max event: the memory of
	 * a steady grower cannot be reclaimed, and its first max event comes with the kill. */
	f.in.signals.memory_max_grew = false;
	f.in.signals.memory_usage = 250 * MIB;
	f.in.signals.memory_working_set = 246 * MIB;
	d = run(&f);
	ck_assert_int_eq(d->kind, DECIDE_PRESSURE);
	ck_assert(d->bypass_cooldown);
	ck_assert_int_eq(d->new_res.memory_limit, 320 * MIB);
	ck_assert_reason(d, "memory-pressure: working set 246Mi of 256Mi (96%)");
	/* A projection ahead says what was measured and where it is heading. */
	f.in.signals.memory_working_set_now = 180 * MIB;
	d = run(&f);
	ck_assert_int_eq(d->kind, DECIDE_PRESSURE);
	ck_assert_reason(d,
			 "memory-pressure: working set 180Mi, heading for 246Mi, of 256Mi (96%)");
	f.in.signals.memory_working_set_now = -1;
	/* Page cache near the limit is normal: a small working set is no pressure. */
	f.in.signals.memory_working_set = 120 * MIB;
	assert_unchanged(run(&f));
	/* The threshold is a setting; 0 turns the working-set trigger off. */
	f.in.signals.memory_working_set = 246 * MIB;
	f.cfg.pressure_working_set = 0;
	assert_unchanged(run(&f));
	f.cfg.pressure_working_set = 0.95;
	/* Up to max-memory and no further: the grower is then left to the OOM path. */
	f.pc.max_memory_bytes = 288 * MIB;
	d = run(&f);
	ck_assert_int_eq(d->new_res.memory_limit, 288 * MIB);
	set(&f, 0, 500, 1000, 288 * MIB, 288 * MIB);
	f.in.signals.memory_cgroup_limit = 288 * MIB;
	f.in.signals.memory_working_set = 280 * MIB;
	d = run(&f);
	assert_unchanged(d);
	ck_assert_reason(d, "not raised");
	f.pc.max_memory_bytes = -1;
	set(&f, 0, 500, 1000, 256 * MIB, 256 * MIB);
	f.in.signals.memory_cgroup_limit = 256 * MIB;
	f.in.signals.memory_working_set = -1;

	/* Where PSI is read, memory.max hit with usage at the limit but a small working set is a
	 * page cache at its limit (it hits `max` at every charge): no pressure without a stall. */
	f.in.signals.memory_max_grew = true;
	f.in.signals.memory_usage = 250 * MIB;
	f.in.signals.memory_working_set = 100 * MIB;
	f.in.signals.memory_psi_known = true;
	assert_unchanged(run(&f));
	f.in.signals.memory_working_set = 240 * MIB; /* 94 %: the squeeze is the working set's */
	d = run(&f);
	ck_assert_int_eq(d->kind, DECIDE_PRESSURE);
	ck_assert_reason(d, "memory.max hit at 250Mi of 256Mi");
	f.in.signals.memory_psi_known = false;
	f.in.signals.memory_working_set = -1;

	/* requests mode cannot touch limits: says so. */
	f.in.signals.memory_max_grew = true;
	f.pc.controlled = POL_CONTROLLED_REQUESTS;
	d = run(&f);
	assert_unchanged(d);
	ck_assert_reason(d, "controlled-values=requests");
}
END_TEST

START_TEST(test_cpu_throttling)
{
	struct fx f;
	const struct decide_decision *d;

	fx_init(&f, QOS_BURSTABLE, 1);
	set(&f, 0, 100, 200, 256 * MIB, 512 * MIB);
	resized_at(&f, NOW - 30 * SEC);
	f.in.signals.cpu_throttle_ratio = 0.42;
	f.in.signals.cpu_throttle_window_usec = 60 * SEC;
	d = run(&f);
	/* Heavy throttling acts inside the cooldown. */
	ck_assert_int_eq(d->kind, DECIDE_THROTTLE);
	ck_assert(d->bypass_cooldown);
	ck_assert_int_eq(d->new_res.cpu_limit, 300);
	ck_assert_int_eq(d->new_res.cpu_request, 100);
	ck_assert_reason(d, "cpu-throttled 42% over 60s: cpu limit 200m -> 300m");

	/* Light throttling waits for the cooldown, then acts. */
	f.in.signals.cpu_throttle_ratio = 0.15;
	d = run(&f);
	assert_unchanged(d);
	ck_assert_reason(d, "waits for the cooldown");
	resized_at(&f, 0);
	d = run(&f);
	ck_assert_int_eq(d->kind, DECIDE_THROTTLE);
	ck_assert(!d->bypass_cooldown);

	/* A short burst is not "sustained"; a little throttling is normal. */
	f.in.signals.cpu_throttle_ratio = 0.5;
	f.in.signals.cpu_throttle_window_usec = 30 * SEC;
	assert_unchanged(run(&f));
	f.in.signals.cpu_throttle_window_usec = 60 * SEC;
	f.in.signals.cpu_throttle_ratio = 0.05;
	assert_unchanged(run(&f));
	/* No CPU limit: nothing throttles it by a limit, nothing to raise. */
	set(&f, 0, 100, -1, 256 * MIB, 512 * MIB);
	f.in.signals.cpu_throttle_ratio = 0.5;
	assert_unchanged(run(&f));
}
END_TEST

/* PSI: a sustained memory stall with usage at the limit is pressure even though the working set
 * is far below it (a page-cache thrasher: slow long before it is killed); the reason gives the
 * figures. Below the limit, too short, or switched off, it is not. */
START_TEST(test_memory_stall_pressure)
{
	struct fx f;
	const struct decide_decision *d;

	fx_init(&f, QOS_BURSTABLE, 1);
	set(&f, 0, 500, 1000, 64 * MIB, 64 * MIB);
	resized_at(&f, NOW - 10 * SEC);
	f.in.signals.memory_usage = 63 * MIB;
	f.in.signals.memory_cgroup_limit = 64 * MIB;
	f.in.signals.memory_working_set = 20 * MIB;
	f.in.signals.memory_working_set_now = 20 * MIB;
	f.in.signals.memory_stall_some = 0.42;
	f.in.signals.memory_stall_full = 0.11;
	f.in.signals.stall_window_usec = 45 * SEC;
	d = run(&f);
	ck_assert_int_eq(d->kind, DECIDE_PRESSURE);
	ck_assert(d->bypass_cooldown);
	/* max(64Mi × 1.25, usage + the 32Mi margin) */
	ck_assert_int_eq(d->new_res.memory_limit, 95 * MIB);
	ck_assert_int_eq(d->new_res.memory_request, 95 * MIB);
	ck_assert_reason(d, "memory-pressure: memory stall (PSI) some 42.0%, full 11.0% over 45s "
			    "while usage 63Mi of 64Mi (98%), working set 20Mi");

	/* Usage far below the limit: the node's reclaim, which no limit cures. */
	f.in.signals.memory_usage = 30 * MIB;
	assert_unchanged(run(&f));
	f.in.signals.memory_usage = 63 * MIB;
	/* Not sustained yet, or below the threshold, or PSI off. */
	f.in.signals.stall_window_usec = 20 * SEC;
	assert_unchanged(run(&f));
	f.in.signals.stall_window_usec = 45 * SEC;
	f.in.signals.memory_stall_some = 0.05;
	assert_unchanged(run(&f));
	f.in.signals.memory_stall_some = 0.42;
	f.cfg.psi_memory_some = 0;
	assert_unchanged(run(&f));
	f.cfg.psi_memory_some = 0.10;
	/* Another pressure signal names the stall beside its own figures. */
	f.in.signals.memory_max_grew = true;
	d = run(&f);
	ck_assert_int_eq(d->kind, DECIDE_PRESSURE);
	ck_assert_reason(d, "memory.max hit at 63Mi of 64Mi (98%), memory stall (PSI) some 42.0%");
	/* Out of range shares are refused, not acted on. */
	f.in.signals.memory_stall_some = NAN;
	ck_assert_int_eq(decide_container(&f.in, &f.d), -EINVAL);
	f.in.signals.memory_stall_some = 1.5;
	ck_assert_int_eq(decide_container(&f.in, &f.d), -EINVAL);
}
END_TEST

/* A memory shrink waits while the container stalls on memory at all: usage says the smaller size
 * fits, the stall says the kernel is already reclaiming to make it fit. CPU still moves. */
START_TEST(test_memory_shrink_held_by_stall)
{
	struct fx f;
	const struct decide_decision *d;

	fx_init(&f, QOS_BURSTABLE, 1);
	set(&f, 0, 500, 1000, 512 * MIB, 1024 * MIB);
	f.in.memory = (struct decide_estimate){ 200 * MIB, 150 * MIB, 300 * MIB };
	f.in.signals.memory_usage = 180 * MIB;
	f.in.signals.memory_cgroup_limit = 1024 * MIB;
	f.in.signals.memory_stall_some = 0.003;
	f.in.signals.stall_window_usec = 30 * SEC;
	d = run(&f);
	assert_unchanged(d);
	ck_assert_reason(d, "memory request 512Mi outside [150Mi, 300Mi]: shrink held, memory "
			    "stall (PSI) some 0.3% over 30s");
	f.in.cpu = (struct decide_estimate){ 250, 200, 300 };
	d = run(&f);
	ck_assert_int_eq(d->new_res.memory_request, 512 * MIB);
	ck_assert_int_eq(d->new_res.memory_limit, 1024 * MIB);
	ck_assert_int_eq(d->new_res.cpu_request, 250);
	/* No stall: the shrink goes ahead. */
	f.in.signals.memory_stall_some = 0;
	d = run(&f);
	ck_assert_int_eq(d->kind, DECIDE_RECOMMENDATION);
	ck_assert_int_eq(d->new_res.memory_request, 200 * MIB);
	/* A stall never holds a grow. */
	f.in.signals.memory_stall_some = 0.2;
	f.in.memory = (struct decide_estimate){ 900 * MIB, 700 * MIB, 1200 * MIB };
	d = run(&f);
	ck_assert_int_eq(d->new_res.memory_request, 900 * MIB);
}
END_TEST

/* PSI for CPU: throttling below the threshold with tasks waiting for a CPU a fifth of the time is
 * starvation by the limit; a stall with no throttling at all is the node's contention. */
START_TEST(test_cpu_stall_with_throttling)
{
	struct fx f;
	const struct decide_decision *d;

	fx_init(&f, QOS_BURSTABLE, 1);
	set(&f, 0, 100, 200, 256 * MIB, 512 * MIB);
	f.in.signals.cpu_throttle_ratio = 0.05;
	f.in.signals.cpu_throttle_window_usec = 60 * SEC;
	f.in.signals.cpu_stall_some = 0.25;
	f.in.signals.stall_window_usec = 30 * SEC;
	d = run(&f);
	ck_assert_int_eq(d->kind, DECIDE_THROTTLE);
	ck_assert_int_eq(d->new_res.cpu_limit, 300);
	ck_assert_reason(d, "cpu-throttled 5% over 60s, cpu stall (PSI) some 25.0% over 30s: cpu "
			    "limit 200m -> 300m");
	/* No throttling: the limit is not what stalls it. */
	f.in.signals.cpu_throttle_ratio = 0;
	assert_unchanged(run(&f));
	/* Too little stall, or the stall rule off. */
	f.in.signals.cpu_throttle_ratio = 0.05;
	f.in.signals.cpu_stall_some = 0.10;
	assert_unchanged(run(&f));
	f.in.signals.cpu_stall_some = 0.25;
	f.cfg.psi_cpu_some = 0;
	assert_unchanged(run(&f));
}
END_TEST

/* Startup boost: the CPU limit goes up at the start (a limit needs no node room), the request
 * with it only where the node has room; a Guaranteed pod moves both or is not boosted; the return
 * puts back what was there; while boosted, CPU is left alone and memory signals still act. */
START_TEST(test_startup_boost)
{
	struct fx f;
	const struct decide_decision *d;

	fx_init(&f, QOS_BURSTABLE, 1);
	set(&f, 0, 100, 200, 128 * MIB, 256 * MIB);
	f.in.boost = (struct decide_boost){ .phase = DECIDE_BOOST_APPLY, .factor = 4 };
	d = run(&f);
	ck_assert_int_eq(d->kind, DECIDE_STARTUP_BOOST);
	ck_assert_int_eq(d->new_res.cpu_limit, 800);
	ck_assert_int_eq(d->new_res.cpu_request, 400);
	ck_assert_int_eq(d->new_res.memory_limit, 256 * MIB);
	ck_assert_reason(d, "startup-boost 4x: cpu limit 200m -> 800m, request 100m -> 400m");
	ck_assert_uint_gt(d->n_steps, 0);

	/* The node has 150m left: the limit alone goes up. */
	f.in.node.cpu_free_millis = 150;
	d = run(&f);
	ck_assert_int_eq(d->new_res.cpu_limit, 800);
	ck_assert_int_eq(d->new_res.cpu_request, 100);
	ck_assert_reason(d, "node has only 150m cpu left, request stays");

	/* An amount; capped by snug.io/max-cpu. */
	f.in.node.cpu_free_millis = -1;
	f.in.boost = (struct decide_boost){ .phase = DECIDE_BOOST_APPLY, .add_millis = 1000 };
	f.pc.max_cpu_millis = 700;
	d = run(&f);
	ck_assert_int_eq(d->new_res.cpu_limit, 700);
	ck_assert_reason(d, "startup-boost +1: cpu limit 200m -> 700m");
	f.pc.max_cpu_millis = -1;

	/* Boosted: CPU is the boost's, memory signals act. */
	f.in.boost = (struct decide_boost){ .phase = DECIDE_BOOST_HOLD };
	f.in.signals.cpu_throttle_ratio = 0.5;
	f.in.signals.cpu_throttle_window_usec = 60 * SEC;
	f.in.cpu = (struct decide_estimate){ 50, 40, 60 };
	assert_unchanged(run(&f));
	f.in.signals.oom_kill = true;
	d = run(&f);
	ck_assert_int_eq(d->kind, DECIDE_OOM);
	ck_assert_int_eq(d->new_res.cpu_limit, 200);
	f.in.signals.oom_kill = false;

	/* The return: the CPU as it was before. */
	set(&f, 0, 400, 800, 128 * MIB, 256 * MIB);
	f.in.boost = (struct decide_boost){ .phase = DECIDE_BOOST_RETURN,
					    .original_cpu_request = 100,
					    .original_cpu_limit = 200 };
	d = run(&f);
	ck_assert_int_eq(d->kind, DECIDE_STARTUP_BOOST_OVER);
	ck_assert_int_eq(d->new_res.cpu_limit, 200);
	ck_assert_int_eq(d->new_res.cpu_request, 100);
	ck_assert_reason(d, "startup-boost over: cpu limit 800m -> 200m, request 400m -> 100m");
	set(&f, 0, 100, 200, 128 * MIB, 256 * MIB);
	assert_unchanged(run(&f));

	/* No CPU limit: nothing to boost. */
	set(&f, 0, 100, -1, 128 * MIB, 256 * MIB);
	f.in.boost = (struct decide_boost){ .phase = DECIDE_BOOST_APPLY, .factor = 2 };
	d = run(&f);
	assert_unchanged(d);
	ck_assert_reason(d, "no CPU limit");
	/* A bad boost is refused. */
	f.in.boost.factor = 0.5;
	ck_assert_int_eq(decide_container(&f.in, &f.d), -EINVAL);
}
END_TEST

START_TEST(test_startup_boost_guaranteed)
{
	struct fx f;
	const struct decide_decision *d;

	fx_init(&f, QOS_GUARANTEED, 1);
	set(&f, 0, 200, 200, 256 * MIB, 256 * MIB);
	f.in.boost = (struct decide_boost){ .phase = DECIDE_BOOST_APPLY, .factor = 2 };
	d = run(&f);
	ck_assert_int_eq(d->kind, DECIDE_STARTUP_BOOST);
	ck_assert_int_eq(d->new_res.cpu_limit, 400);
	ck_assert_int_eq(d->new_res.cpu_request, 400);
	ck_assert_int_eq(qos_after(&f), QOS_GUARANTEED);
	/* No room for the request: not boosted at all (a limit alone would change the QoS class). */
	f.in.node.cpu_free_millis = 100;
	d = run(&f);
	assert_unchanged(d);
	ck_assert_reason(d, "a Guaranteed pod's request moves with its limit");
	/* An HPA on CPU utilization: its denominator never moves, so neither does a Guaranteed
	 * pod's limit; a Burstable one's limit alone does. */
	f.in.node.cpu_free_millis = -1;
	f.in.hpa.cpu = "web";
	assert_unchanged(run(&f));
	fx_init(&f, QOS_BURSTABLE, 1);
	set(&f, 0, 100, 200, 128 * MIB, 256 * MIB);
	f.in.boost = (struct decide_boost){ .phase = DECIDE_BOOST_APPLY, .factor = 4 };
	f.in.hpa.cpu = "web";
	d = run(&f);
	ck_assert_int_eq(d->new_res.cpu_limit, 800);
	ck_assert_int_eq(d->new_res.cpu_request, 100);
	ck_assert_reason(d, "request kept: HorizontalPodAutoscaler web scales on cpu utilization");
}
END_TEST

START_TEST(test_bounds_and_caps)
{
	struct fx f;
	const struct decide_decision *d;

	fx_init(&f, QOS_BURSTABLE, 1);
	set(&f, 0, 500, 1000, 256 * MIB, 512 * MIB);
	f.in.cpu = (struct decide_estimate){ 3000, 2000, 4000 };
	f.pc.max_cpu_millis = 800;
	d = run(&f);
	ck_assert_int_eq(d->new_res.cpu_request, 800);
	/* The ratio would give 1600m; the limit stays at the larger of max and its old value. */
	ck_assert_int_eq(d->new_res.cpu_limit, 1000);
	ck_assert_reason(d, "capped by snug.io/max-cpu=800m");
	/* The same bound coming from the cluster flag is named as such. */
	f.pc.max_cpu_is_cap = true;
	ck_assert_reason(run(&f), "capped by --max-cpu=800m");

	/* min raises the recommendation. */
	fx_init(&f, QOS_BURSTABLE, 1);
	set(&f, 0, 500, 1000, 256 * MIB, 512 * MIB);
	f.in.memory = (struct decide_estimate){ 300 * MIB, 200 * MIB, 400 * MIB };
	f.pc.min_memory_bytes = 512 * MIB;
	d = run(&f);
	ck_assert_int_eq(d->new_res.memory_request, 512 * MIB);
	ck_assert_int_eq(d->new_res.memory_limit, 1024 * MIB);
	ck_assert_reason(d, "raised to snug.io/min-memory=512Mi");

	/* A request above max is brought down even before any recommendation exists. */
	fx_init(&f, QOS_BURSTABLE, 1);
	set(&f, 0, 500, 1000, 256 * MIB, 512 * MIB);
	f.pc.max_cpu_millis = 250;
	d = run(&f);
	ck_assert_int_eq(d->kind, DECIDE_RECOMMENDATION);
	ck_assert_int_eq(d->new_res.cpu_request, 250);
	ck_assert_int_eq(d->new_res.cpu_limit, 500);
	ck_assert_reason(d, "above snug.io/max-cpu=250m");
}
END_TEST

START_TEST(test_node_allocatable)
{
	struct fx f;
	const struct decide_decision *d;

	fx_init(&f, QOS_BURSTABLE, 2);
	set(&f, 0, 300, 1000, 256 * MIB, 512 * MIB);
	set(&f, 1, 200, 400, 128 * MIB, 256 * MIB);
	/* 600m free on the node for this pod; the sidecar holds 200m of it. */
	f.in.node.cpu_free_millis = 600;
	f.in.cpu = (struct decide_estimate){ 800, 700, 900 };
	d = run(&f);
	ck_assert_int_eq(d->new_res.cpu_request, 400);
	ck_assert_int_eq(d->new_res.cpu_limit, 1334);
	ck_assert_reason(d, "node has only 400m cpu left");

	/* Already more than fits: no growth at all (but no shrink forced either). */
	f.in.node.cpu_free_millis = 300;
	d = run(&f);
	assert_unchanged(d);
	ck_assert_reason(d, "node has only 100m cpu left");
	/* Shrinking is never held back by the node. */
	f.in.node.cpu_free_millis = 0;
	f.in.cpu = (struct decide_estimate){ 100, 50, 150 };
	ck_assert_int_eq(run(&f)->new_res.cpu_request, 100);

	/* Memory the same way, also for an OOM bump on a request == limit container. */
	set(&f, 0, 300, 1000, 256 * MIB, 256 * MIB);
	f.in.cpu = NO_REC;
	f.in.node.memory_free_bytes = 448 * MIB;
	f.in.signals.oom_kill = true;
	f.in.signals.oom_bumped_memory = 512 * MIB;
	d = run(&f);
	ck_assert_int_eq(d->new_res.memory_limit, 512 * MIB);
	ck_assert_int_eq(d->new_res.memory_request, 320 * MIB);
}
END_TEST

/* An OOM bump of a Guaranteed pod raises request and limit together: both stop at the node's
 * free allocatable (what the agent passes: allocatable minus the other pods' requests), and the
 * reason says so; the pod's own other containers come off that room too. */
START_TEST(test_oom_bump_held_to_node)
{
	struct fx f;
	const struct decide_decision *d;

	fx_init(&f, QOS_GUARANTEED, 2);
	set(&f, 0, 200, 200, 256 * MIB, 256 * MIB);
	set(&f, 1, 100, 100, 64 * MIB, 64 * MIB);
	f.in.signals.oom_kill = true;
	f.in.signals.oom_bumped_memory = 400 * MIB;
	f.in.signals.memory_usage = 250 * MIB;

	/* Unknown node: the whole bump. */
	d = run(&f);
	ck_assert_int_eq(d->kind, DECIDE_OOM);
	ck_assert_int_eq(d->new_res.memory_limit, 400 * MIB);
	ck_assert_msg(!strstr(d->reason, "node has only"), "%s", d->reason);

	/* 364Mi free for the pod, 64Mi of it the sidecar's: 300Mi for this container. */
	f.in.node.memory_free_bytes = 364 * MIB;
	d = run(&f);
	ck_assert_int_eq(d->kind, DECIDE_OOM);
	ck_assert_int_eq(d->new_res.memory_request, 300 * MIB);
	ck_assert_int_eq(d->new_res.memory_limit, 300 * MIB);
	ck_assert_reason(d, "node has only 300Mi memory left");
	ck_assert_int_eq(qos_after(&f), QOS_GUARANTEED);

	/* No room left at all: no resize, and the reason says why. */
	f.in.node.memory_free_bytes = 200 * MIB;
	d = run(&f);
	assert_unchanged(d);
	ck_assert_reason(d, "node has only 136Mi memory left");

	/* Without a memory limit the bump is a request: the same bound. */
	fx_init(&f, QOS_BURSTABLE, 1);
	set(&f, 0, 200, -1, 256 * MIB, -1);
	f.in.signals.oom_kill = true;
	f.in.signals.oom_bumped_memory = 400 * MIB;
	f.in.node.memory_free_bytes = 320 * MIB;
	d = run(&f);
	ck_assert_int_eq(d->kind, DECIDE_OOM);
	ck_assert_int_eq(d->new_res.memory_request, 320 * MIB);
	ck_assert_reason(d, "node has only 320Mi memory left");
}
END_TEST

START_TEST(test_memory_limit_not_below_usage)
{
	struct fx f;
	const struct decide_decision *d;

	fx_init(&f, QOS_BURSTABLE, 1);
	set(&f, 0, 500, 1000, GIB, GIB);
	f.in.signals.memory_usage = 600 * MIB;
	f.in.memory = (struct decide_estimate){ 256 * MIB, 200 * MIB, 300 * MIB };
	d = run(&f);
	ck_assert_int_eq(d->kind, DECIDE_RECOMMENDATION);
	ck_assert_int_eq(d->new_res.memory_request, 256 * MIB);
	/* 600Mi in use + 10% margin: the limit stops at 660Mi for now. */
	ck_assert_int_eq(d->new_res.memory_limit, 660 * MIB);
	ck_assert_reason(d, "limit kept at 660Mi above usage 600Mi plus margin, shrink later");
	ck_assert(d->shrinks_memory_limit);

	/* Guaranteed: request and limit stop there together. */
	fx_init(&f, QOS_GUARANTEED, 1);
	set(&f, 0, 500, 500, GIB, GIB);
	f.in.signals.memory_usage = 600 * MIB;
	f.in.memory = (struct decide_estimate){ 256 * MIB, 200 * MIB, 300 * MIB };
	d = run(&f);
	ck_assert_int_eq(d->new_res.memory_request, 660 * MIB);
	ck_assert_int_eq(d->new_res.memory_limit, 660 * MIB);
	ck_assert_int_eq(qos_after(&f), QOS_GUARANTEED);

	/* Usage at the limit: no shrink at all. */
	f.in.signals.memory_usage = GIB - MIB;
	d = run(&f);
	assert_unchanged(d);
	ck_assert_reason(d, "shrink later");
}
END_TEST

START_TEST(test_requests_only)
{
	struct fx f;
	const struct decide_decision *d;

	fx_init(&f, QOS_BURSTABLE, 1);
	f.pc.controlled = POL_CONTROLLED_REQUESTS;
	set(&f, 0, 500, 1000, 256 * MIB, 512 * MIB);
	f.in.cpu = (struct decide_estimate){ 250, 120, 300 };
	d = run(&f);
	ck_assert_int_eq(d->new_res.cpu_request, 250);
	ck_assert_int_eq(d->new_res.cpu_limit, 1000);

	/* A request may not pass its limit. */
	f.in.cpu = (struct decide_estimate){ 1500, 1200, 1800 };
	d = run(&f);
	ck_assert_int_eq(d->new_res.cpu_request, 1000);
	ck_assert_int_eq(d->new_res.cpu_limit, 1000);
	ck_assert_reason(d, "held at the limit");

	/* Throttling wants a higher limit, which this mode never writes. */
	f.in.cpu = NO_REC;
	f.in.signals.cpu_throttle_ratio = 0.5;
	f.in.signals.cpu_throttle_window_usec = 120 * SEC;
	d = run(&f);
	assert_unchanged(d);
	ck_assert_reason(d, "controlled-values=requests leaves limits alone");

	/* After an OOM kill the request rises as far as the limit. */
	f.in.signals.cpu_throttle_ratio = 0;
	f.in.signals.oom_kill = true;
	f.in.signals.oom_bumped_memory = 600 * MIB;
	d = run(&f);
	ck_assert_int_eq(d->kind, DECIDE_OOM);
	ck_assert_int_eq(d->new_res.memory_request, 512 * MIB);
	ck_assert_int_eq(d->new_res.memory_limit, 512 * MIB);
	ck_assert_reason(d, "limit not controlled");
}
END_TEST

START_TEST(test_vpa_limit_ratio)
{
	struct fx f;
	const struct decide_decision *d;

	fx_init(&f, QOS_BURSTABLE, 1);
	/* new limit = old limit × new request / old request */
	set(&f, 0, 100, 300, 256 * MIB, 512 * MIB);
	f.in.cpu = (struct decide_estimate){ 200, 150, 250 };
	f.in.memory = (struct decide_estimate){ 384 * MIB, 300 * MIB, 400 * MIB };
	d = run(&f);
	ck_assert_int_eq(d->new_res.cpu_request, 200);
	ck_assert_int_eq(d->new_res.cpu_limit, 600);
	ck_assert_int_eq(d->new_res.memory_request, 384 * MIB);
	ck_assert_int_eq(d->new_res.memory_limit, 768 * MIB);
	ck_assert_int_eq(d->kind, DECIDE_RECOMMENDATION);
	ck_assert_reason(d, "recommendation: memory request 256Mi");
	ck_assert_reason(d, "; cpu request 100m");

	/* No old limit → none. */
	set(&f, 0, 100, -1, 256 * MIB, -1);
	d = run(&f);
	ck_assert_int_eq(d->new_res.cpu_limit, -1);
	ck_assert_int_eq(d->new_res.memory_limit, -1);
	ck_assert_int_eq(d->new_res.cpu_request, 200);

	/* request == limit → limit = new request. */
	set(&f, 0, 100, 100, 256 * MIB, 512 * MIB);
	f.in.memory = NO_REC;
	d = run(&f);
	ck_assert_int_eq(d->new_res.cpu_request, 200);
	ck_assert_int_eq(d->new_res.cpu_limit, 200);

	/* A missing request counts as the limit, as the API server defaults it. */
	set(&f, 0, -1, 100, 256 * MIB, 512 * MIB);
	d = run(&f);
	ck_assert_int_eq(d->old_res.cpu_request, 100);
	ck_assert_int_eq(d->new_res.cpu_limit, 200);
}
END_TEST

START_TEST(test_guaranteed_stays_guaranteed)
{
	struct fx f;
	const struct decide_decision *d;

	fx_init(&f, QOS_GUARANTEED, 2);
	set(&f, 0, 500, 500, 512 * MIB, 512 * MIB);
	set(&f, 1, 100, 100, 64 * MIB, 64 * MIB);
	f.in.cpu = (struct decide_estimate){ 800, 700, 900 };
	d = run(&f);
	ck_assert_int_eq(d->new_res.cpu_request, 800);
	ck_assert_int_eq(d->new_res.cpu_limit, 800);
	ck_assert_int_eq(qos_after(&f), QOS_GUARANTEED);

	/* Signals that raise a limit raise the request with it. */
	f.in.cpu = NO_REC;
	f.in.signals.cpu_throttle_ratio = 0.3;
	f.in.signals.cpu_throttle_window_usec = 60 * SEC;
	d = run(&f);
	ck_assert_int_eq(d->new_res.cpu_limit, 750);
	ck_assert_int_eq(d->new_res.cpu_request, 750);
	ck_assert_int_eq(qos_after(&f), QOS_GUARANTEED);
	f.in.signals.cpu_throttle_ratio = 0;
	f.in.signals.oom_kill = true;
	f.in.signals.oom_bumped_memory = 700 * MIB;
	d = run(&f);
	ck_assert_int_eq(d->new_res.memory_limit, 700 * MIB);
	ck_assert_int_eq(d->new_res.memory_request, 700 * MIB);
	ck_assert_int_eq(qos_after(&f), QOS_GUARANTEED);

	/* requests-only cannot keep requests == limits: refuses, says why. */
	f.pc.controlled = POL_CONTROLLED_REQUESTS;
	d = run(&f);
	assert_unchanged(d);
	ck_assert_reason(d, "Guaranteed pod with controlled-values=requests");
}
END_TEST

START_TEST(test_burstable_never_becomes_guaranteed)
{
	struct fx f;
	const struct decide_decision *d;

	fx_init(&f, QOS_BURSTABLE, 2);
	f.pc.controlled = POL_CONTROLLED_REQUESTS;
	/* Everything equal but app's CPU: pushing its request up to the limit would flip the pod. */
	set(&f, 0, 500, 1000, 512 * MIB, 512 * MIB);
	set(&f, 1, 100, 100, 64 * MIB, 64 * MIB);
	f.in.cpu = (struct decide_estimate){ 1500, 1200, 1800 };
	d = run(&f);
	ck_assert_int_eq(d->kind, DECIDE_RECOMMENDATION);
	ck_assert_int_eq(d->new_res.cpu_request, 999);
	ck_assert_int_eq(d->new_res.cpu_limit, 1000);
	ck_assert_int_eq(qos_after(&f), QOS_BURSTABLE);
	ck_assert_reason(d, "stays Burstable");

	/* Same with memory under an OOM kill in requests mode. */
	set(&f, 0, 1000, 1000, 256 * MIB, 512 * MIB);
	f.in.cpu = NO_REC;
	f.in.signals.oom_kill = true;
	f.in.signals.oom_bumped_memory = GIB;
	d = run(&f);
	ck_assert_int_eq(d->new_res.memory_request, 511 * MIB);
	ck_assert_int_eq(qos_after(&f), QOS_BURSTABLE);

	/* Limits are never removed nor added: a container without limits keeps none. */
	fx_init(&f, QOS_BURSTABLE, 1);
	set(&f, 0, 500, -1, 256 * MIB, -1);
	f.in.cpu = (struct decide_estimate){ 250, 120, 300 };
	f.in.memory = (struct decide_estimate){ 512 * MIB, 400 * MIB, 600 * MIB };
	d = run(&f);
	ck_assert_int_eq(d->new_res.cpu_limit, -1);
	ck_assert_int_eq(d->new_res.memory_limit, -1);
	ck_assert_int_eq(qos_after(&f), QOS_BURSTABLE);
}
END_TEST

START_TEST(test_resize_policy)
{
	struct fx f;
	const struct decide_decision *d;

	fx_init(&f, QOS_BURSTABLE, 1);
	set(&f, 0, 500, 1000, 256 * MIB, 256 * MIB);
	f.c[0].cpu_restart = DECIDE_RESTART_CONTAINER;
	f.in.cpu = (struct decide_estimate){ 250, 120, 300 };
	d = run(&f);
	ck_assert(d->needs_restart);
	ck_assert_reason(d, "restarts the container (resizePolicy RestartContainer)");

	/* Only memory changes, and memory's policy is NotRequired. */
	f.in.cpu = NO_REC;
	f.in.signals.oom_kill = true;
	f.in.signals.oom_bumped_memory = 384 * MIB;
	d = run(&f);
	ck_assert_int_eq(d->kind, DECIDE_OOM);
	ck_assert(!d->needs_restart);
	f.c[0].memory_restart = DECIDE_RESTART_CONTAINER;
	ck_assert(run(&f)->needs_restart);
}
END_TEST

/* Kubernetes 1.33 refuses lowering a memory limit unless memory's resizePolicy is RestartContainer:
 * once the agent knows, shrinking lowers the request and keeps the limit (and memory.max). */
START_TEST(test_keep_memory_limit)
{
	struct fx f;
	const struct decide_decision *d;

	fx_init(&f, QOS_BURSTABLE, 1);
	set(&f, 0, 100, 500, GIB, 2 * GIB);
	f.in.memory = (struct decide_estimate){ 250 * MIB, 200 * MIB, 300 * MIB };
	/* A limit is lowered only under a known usage. */
	f.in.signals.memory_usage = 200 * MIB;
	d = run(&f);
	ck_assert_int_eq(d->new_res.memory_limit, 500 * MIB);
	ck_assert(d->shrinks_memory_limit);

	f.in.keep_memory_limit = true;
	d = run(&f);
	ck_assert_int_eq(d->kind, DECIDE_RECOMMENDATION);
	ck_assert_int_eq(d->new_res.memory_request, 250 * MIB);
	ck_assert_int_eq(d->new_res.memory_limit, 2 * GIB);
	ck_assert(!d->shrinks_memory_limit);
	ck_assert_reason(d, "memory limit kept");
	for (size_t i = 0; i < d->n_steps; i++)
		ck_assert_int_ne(d->steps[i].file, DECIDE_FILE_MEMORY_MAX);

	/* Growing is not affected. */
	f.in.memory = (struct decide_estimate){ 1536 * MIB, 1200 * MIB, 1800 * MIB };
	d = run(&f);
	ck_assert_int_eq(d->new_res.memory_limit, 3 * GIB);

	/* RestartContainer may lower it. */
	f.in.memory = (struct decide_estimate){ 250 * MIB, 200 * MIB, 300 * MIB };
	f.c[0].memory_restart = DECIDE_RESTART_CONTAINER;
	d = run(&f);
	ck_assert_int_eq(d->new_res.memory_limit, 500 * MIB);
	ck_assert(d->needs_restart);

	/* Guaranteed: the request cannot leave the limit, so memory stays; CPU still shrinks. */
	fx_init(&f, QOS_GUARANTEED, 1);
	f.in.keep_memory_limit = true;
	set(&f, 0, 500, 500, GIB, GIB);
	f.in.memory = (struct decide_estimate){ 250 * MIB, 200 * MIB, 300 * MIB };
	f.in.cpu = (struct decide_estimate){ 200, 150, 250 };
	d = run(&f);
	ck_assert_int_eq(d->new_res.memory_request, GIB);
	ck_assert_int_eq(d->new_res.memory_limit, GIB);
	ck_assert_int_eq(d->new_res.cpu_request, 200);
	ck_assert_int_eq(qos_after(&f), QOS_GUARANTEED);
	f.in.cpu = NO_REC;
	assert_unchanged(run(&f));
}
END_TEST

START_TEST(test_recommend_mode_reports_only)
{
	struct fx f;
	const struct decide_decision *d;

	fx_init(&f, QOS_BURSTABLE, 1);
	f.pc.mode = POL_MODE_RECOMMEND;
	set(&f, 0, 500, 1000, 256 * MIB, 512 * MIB);
	f.in.cpu = (struct decide_estimate){ 250, 120, 300 };
	d = run(&f);
	ck_assert(d->report_only);
	ck_assert_int_eq(d->kind, DECIDE_RECOMMENDATION);
	ck_assert_int_eq(d->new_res.cpu_request, 250);
	f.pc.mode = POL_MODE_IN_PLACE;
	ck_assert(!run(&f)->report_only);
}
END_TEST

START_TEST(test_resources_restriction)
{
	struct fx f;
	const struct decide_decision *d;

	fx_init(&f, QOS_BURSTABLE, 1);
	set(&f, 0, 100, 200, 256 * MIB, 256 * MIB);
	f.pc.resources = POL_RESOURCE_CPU;
	f.in.signals.oom_kill = true;
	f.in.signals.oom_bumped_memory = 384 * MIB;
	f.in.memory = (struct decide_estimate){ 512 * MIB, 400 * MIB, 600 * MIB };
	d = run(&f);
	assert_unchanged(d);
	ck_assert_reason(d, "snug.io/resources leaves memory alone");

	/* memory only: throttling and the CPU recommendation are ignored, memory still acts. */
	f.pc.resources = POL_RESOURCE_MEMORY;
	f.in.signals.oom_kill = false;
	f.in.signals.cpu_throttle_ratio = 0.5;
	f.in.signals.cpu_throttle_window_usec = 60 * SEC;
	f.in.cpu = (struct decide_estimate){ 1000, 900, 1100 };
	d = run(&f);
	ck_assert_int_eq(d->kind, DECIDE_RECOMMENDATION);
	ck_assert_int_eq(d->new_res.cpu_request, 100);
	ck_assert_int_eq(d->new_res.cpu_limit, 200);
	ck_assert_int_eq(d->new_res.memory_request, 512 * MIB);
}
END_TEST

static void assert_step(const struct decide_decision *d, size_t i, enum decide_level level,
			enum decide_file file, int64_t old, int64_t value)
{
	ck_assert_uint_gt(d->n_steps, i);
	ck_assert_msg(d->steps[i].level == level && d->steps[i].file == file,
		      "step %zu is %s %s, wanted %s %s", i,
		      d->steps[i].level == DECIDE_LEVEL_POD ? "pod" : "container",
		      decide_file_to_string(d->steps[i].file),
		      level == DECIDE_LEVEL_POD ? "pod" : "container", decide_file_to_string(file));
	ck_assert_int_eq(d->steps[i].old_value, old);
	ck_assert_int_eq(d->steps[i].value, value);
}

START_TEST(test_write_order_grow_and_shrink)
{
	struct fx f;
	const struct decide_decision *d;

	fx_init(&f, QOS_BURSTABLE, 2);
	set(&f, 0, 500, 1000, 256 * MIB, 512 * MIB);
	set(&f, 1, 200, 400, 128 * MIB, 256 * MIB);
	/* Growing: the pod cgroup (sum of limits) first, so the child never exceeds its parent. */
	f.in.signals.oom_kill = true;
	f.in.signals.oom_bumped_memory = 384 * MIB;
	d = run(&f);
	ck_assert_uint_eq(d->n_steps, 2);
	assert_step(d, 0, DECIDE_LEVEL_POD, DECIDE_FILE_MEMORY_MAX, 768 * MIB, 1024 * MIB);
	assert_step(d, 1, DECIDE_LEVEL_CONTAINER, DECIDE_FILE_MEMORY_MAX, 512 * MIB, 768 * MIB);

	/* Shrinking: container first, pod after. */
	f.in.signals.oom_kill = false;
	f.in.signals.memory_usage = 100 * MIB;
	f.in.memory = (struct decide_estimate){ 128 * MIB, 100 * MIB, 150 * MIB };
	d = run(&f);
	ck_assert_uint_eq(d->n_steps, 2);
	assert_step(d, 0, DECIDE_LEVEL_CONTAINER, DECIDE_FILE_MEMORY_MAX, 512 * MIB, 256 * MIB);
	assert_step(d, 1, DECIDE_LEVEL_POD, DECIDE_FILE_MEMORY_MAX, 768 * MIB, 512 * MIB);

	/* Mixed: memory shrinks (container, pod), then CPU grows (pod, container). */
	f.in.cpu = (struct decide_estimate){ 1000, 900, 1100 };
	d = run(&f);
	ck_assert_uint_eq(d->n_steps, 6);
	assert_step(d, 0, DECIDE_LEVEL_CONTAINER, DECIDE_FILE_MEMORY_MAX, 512 * MIB, 256 * MIB);
	assert_step(d, 1, DECIDE_LEVEL_POD, DECIDE_FILE_MEMORY_MAX, 768 * MIB, 512 * MIB);
	assert_step(d, 2, DECIDE_LEVEL_POD, DECIDE_FILE_CPU_MAX, 1400, 2400);
	assert_step(d, 3, DECIDE_LEVEL_POD, DECIDE_FILE_CPU_WEIGHT, 700, 1200);
	assert_step(d, 4, DECIDE_LEVEL_CONTAINER, DECIDE_FILE_CPU_MAX, 1000, 2000);
	assert_step(d, 5, DECIDE_LEVEL_CONTAINER, DECIDE_FILE_CPU_WEIGHT, 500, 1000);
}
END_TEST

START_TEST(test_write_order_pod_limits_rule)
{
	struct fx f;
	const struct decide_decision *d;

	/* Burstable, the sidecar has no limits: the pod cgroup has no cpu.max / memory.max to
	 * write, only the weight from the summed requests. */
	fx_init(&f, QOS_BURSTABLE, 2);
	set(&f, 0, 500, 1000, 256 * MIB, 512 * MIB);
	set(&f, 1, 200, -1, 128 * MIB, -1);
	f.in.cpu = (struct decide_estimate){ 250, 120, 300 };
	d = run(&f);
	ck_assert_uint_eq(d->n_steps, 3);
	assert_step(d, 0, DECIDE_LEVEL_CONTAINER, DECIDE_FILE_CPU_MAX, 1000, 500);
	assert_step(d, 1, DECIDE_LEVEL_CONTAINER, DECIDE_FILE_CPU_WEIGHT, 500, 250);
	assert_step(d, 2, DECIDE_LEVEL_POD, DECIDE_FILE_CPU_WEIGHT, 700, 450);

	/* Guaranteed: quota and memory.max at the pod level too. */
	fx_init(&f, QOS_GUARANTEED, 2);
	set(&f, 0, 500, 500, 512 * MIB, 512 * MIB);
	set(&f, 1, 100, 100, 64 * MIB, 64 * MIB);
	f.in.cpu = (struct decide_estimate){ 800, 700, 900 };
	f.in.memory = (struct decide_estimate){ 768 * MIB, 700 * MIB, 800 * MIB };
	d = run(&f);
	ck_assert_uint_eq(d->n_steps, 6);
	assert_step(d, 0, DECIDE_LEVEL_POD, DECIDE_FILE_MEMORY_MAX, 576 * MIB, 832 * MIB);
	assert_step(d, 1, DECIDE_LEVEL_CONTAINER, DECIDE_FILE_MEMORY_MAX, 512 * MIB, 768 * MIB);
	assert_step(d, 2, DECIDE_LEVEL_POD, DECIDE_FILE_CPU_MAX, 600, 900);
	assert_step(d, 3, DECIDE_LEVEL_POD, DECIDE_FILE_CPU_WEIGHT, 600, 900);
	assert_step(d, 4, DECIDE_LEVEL_CONTAINER, DECIDE_FILE_CPU_MAX, 500, 800);
	assert_step(d, 5, DECIDE_LEVEL_CONTAINER, DECIDE_FILE_CPU_WEIGHT, 500, 800);
}
END_TEST

/* A pod with a native sidecar and an ordinary init container, for the kubelet's pod cgroup: app
 * {cpu 100m/200m, memory 128Mi/128Mi}, sidecar {50m/100m, 64Mi/256Mi}, then an init container
 * {500m/1, 300Mi/400Mi} (which runs with the sidecar started before it). */
static void fx_sidecar_pod(struct fx *f, struct decide_init_container init[2])
{
	fx_init(f, QOS_BURSTABLE, 1);
	set(f, 0, 100, 200, 128 * MIB, 128 * MIB);
	init[0] = (struct decide_init_container){ .res = { 50, 100, 64 * MIB, 256 * MIB },
						  .sidecar = true };
	init[1] = (struct decide_init_container){ .res = { 500, 1000, 300 * MIB, 400 * MIB } };
	f->in.pod.init_containers = init;
	f->in.pod.n_init_containers = 2;
}

/* decide_pod_cgroup against numbers worked out by hand from ResourceConfigForPod, PodRequests and
 * PodLimits (component-helpers resource/helpers.go). */
START_TEST(test_pod_cgroup_kubelet_values)
{
	struct decide_init_container init[2];
	struct resources bigger = { 100, 200, 128 * MIB, 512 * MIB };
	struct decide_pod_cgroup pc;
	struct fx f;

	fx_sidecar_pod(&f, init);
	ck_assert_int_eq(decide_pod_cgroup(&f.in.pod, 0, NULL, &pc), 0);
	/* Requests: app + sidecar = 150m, init 50m + 500m = 550m: the larger. */
	ck_assert_int_eq(pc.cpu_weight_millis, 550);
	/* Limits: 200m + 100m = 300m against 100m + 1000m; 384Mi against 256Mi + 400Mi. */
	ck_assert_int_eq(pc.cpu_max_millis, 1100);
	ck_assert_int_eq(pc.memory_max_bytes, 656 * MIB);
	/* The app container's own limit only counts once the sum passes the init phase's. */
	ck_assert_int_eq(decide_pod_cgroup(&f.in.pod, 0, &bigger, &pc), 0);
	ck_assert_int_eq(pc.memory_max_bytes, 768 * MIB);

	/* Overhead: added to the requests, and to limits that are set. */
	f.in.pod.overhead_cpu_millis = 250;
	f.in.pod.overhead_memory_bytes = 64 * MIB;
	ck_assert_int_eq(decide_pod_cgroup(&f.in.pod, 0, NULL, &pc), 0);
	ck_assert_int_eq(pc.cpu_weight_millis, 800);
	ck_assert_int_eq(pc.cpu_max_millis, 1350);
	ck_assert_int_eq(pc.memory_max_bytes, 720 * MIB);
	set(&f, 0, 100, -1, 128 * MIB, 128 * MIB);
	ck_assert_int_eq(decide_pod_cgroup(&f.in.pod, 0, NULL, &pc), 0);
	/* A container without a CPU limit: cpu.max stays "max", overhead or not. */
	ck_assert_int_eq(pc.cpu_max_millis, -1);
	ck_assert_int_eq(pc.cpu_weight_millis, 800);
	set(&f, 0, 100, 200, 128 * MIB, 128 * MIB);
	f.in.pod.overhead_cpu_millis = f.in.pod.overhead_memory_bytes = -1;

	/* A sidecar without a memory limit: no memory.max for the pod. */
	init[0].res.memory_limit = -1;
	ck_assert_int_eq(decide_pod_cgroup(&f.in.pod, 0, NULL, &pc), 0);
	ck_assert_int_eq(pc.memory_max_bytes, -1);
	ck_assert_int_eq(pc.cpu_max_millis, 1100);
	init[0].res.memory_limit = 256 * MIB;
	/* Nor with an init container before any sidecar that has none. */
	init[1].res.memory_limit = -1;
	init[1].res.memory_request = 300 * MIB;
	init[0].sidecar = false;
	ck_assert_int_eq(decide_pod_cgroup(&f.in.pod, 0, NULL, &pc), 0);
	ck_assert_int_eq(pc.memory_max_bytes, -1);
	/* The kubelet checks an init container's limit with the sidecars before it added (its
	 * ContainerFn sees the running sum): after a sidecar with a limit, one without still
	 * leaves memory.max set, to the sum. */
	init[0].sidecar = true;
	ck_assert_int_eq(decide_pod_cgroup(&f.in.pod, 0, NULL, &pc), 0);
	ck_assert_int_eq(pc.memory_max_bytes, 384 * MIB);
	init[1].res.memory_limit = 400 * MIB;

	/* Pod-level resources: the pod cgroup follows them, whatever the containers say. */
	f.in.pod.resources = (struct resources){ 1000, 2000, 512 * MIB, GIB };
	ck_assert_int_eq(decide_pod_cgroup(&f.in.pod, 0, &bigger, &pc), 0);
	ck_assert_int_eq(pc.cpu_weight_millis, 1000);
	ck_assert_int_eq(pc.cpu_max_millis, 2000);
	ck_assert_int_eq(pc.memory_max_bytes, GIB);
	/* ... a pod-level limit declares the limit even where a container has none. */
	init[0].res.memory_limit = -1;
	f.in.pod.resources.cpu_limit = -1;
	ck_assert_int_eq(decide_pod_cgroup(&f.in.pod, 0, NULL, &pc), 0);
	ck_assert_int_eq(pc.memory_max_bytes, GIB);
	ck_assert_int_eq(pc.cpu_max_millis, 1100);

	/* Guaranteed: weight, quota and memory.max from the sums; BestEffort: 2 shares only. */
	fx_init(&f, QOS_GUARANTEED, 2);
	set(&f, 0, 200, 200, 256 * MIB, 256 * MIB);
	set(&f, 1, 100, 100, 64 * MIB, 64 * MIB);
	ck_assert_int_eq(decide_pod_cgroup(&f.in.pod, 1, NULL, &pc), 0);
	ck_assert_int_eq(pc.cpu_weight_millis, 300);
	ck_assert_int_eq(pc.cpu_max_millis, 300);
	ck_assert_int_eq(pc.memory_max_bytes, 320 * MIB);
	fx_init(&f, QOS_BEST_EFFORT, 1);
	ck_assert_int_eq(decide_pod_cgroup(&f.in.pod, 0, NULL, &pc), 0);
	ck_assert_int_eq(pc.cpu_weight_millis, 0);
	ck_assert_int_eq(pc.cpu_max_millis, -1);
	ck_assert_int_eq(pc.memory_max_bytes, -1);

	/* Inconsistent input. */
	ck_assert_int_eq(decide_pod_cgroup(&f.in.pod, 1, &bigger, &pc), -EINVAL);
	f.in.pod.n_init_containers = 1;
	ck_assert_int_eq(decide_pod_cgroup(&f.in.pod, 0, NULL, &pc), -EINVAL);
}
END_TEST

/* Issue 13, defect 1: an app container (limit 128Mi) beside a native sidecar (limit 256Mi), the pod
 * using 300Mi. An OOM grow of the app wrote the pod's memory.max as the app's new limit alone
 * (228Mi, below the pod's usage: reclaim, then an OOM kill of the pod); the kubelet's value is the
 * sum with the sidecar. Same for cpu.max and cpu.weight. */
START_TEST(test_pod_values_count_sidecars)
{
	struct decide_init_container init[1] = {
		{ .res = { 200, 400, 256 * MIB, 256 * MIB }, .sidecar = true },
	};
	const int64_t pod_usage = 300 * MIB;
	const struct decide_decision *d;
	bool pod_memory = false;
	struct fx f;

	fx_init(&f, QOS_BURSTABLE, 1);
	set(&f, 0, 100, 200, 128 * MIB, 128 * MIB);
	f.in.pod.init_containers = init;
	f.in.pod.n_init_containers = 1;
	f.in.signals.oom_kill = true;
	f.in.signals.oom_bumped_memory = 228 * MIB;
	d = run(&f);
	ck_assert_int_eq(d->kind, DECIDE_OOM);
	ck_assert_int_eq(d->new_res.memory_limit, 228 * MIB);
	for (size_t i = 0; i < d->n_steps; i++)
		if (d->steps[i].level == DECIDE_LEVEL_POD &&
		    d->steps[i].file == DECIDE_FILE_MEMORY_MAX) {
			pod_memory = true;
			ck_assert_int_eq(d->steps[i].old_value, 384 * MIB);
			ck_assert_int_eq(d->steps[i].value, 484 * MIB);
			ck_assert_int_ge(d->steps[i].value, pod_usage);
		}
	ck_assert(pod_memory);

	/* CPU: throttling raises the app's limit; the pod's quota is the sum with the sidecar. */
	f.in.signals.oom_kill = false;
	f.in.signals.cpu_throttle_ratio = 0.5;
	f.in.signals.cpu_throttle_window_usec = 60 * SEC;
	d = run(&f);
	ck_assert_int_eq(d->kind, DECIDE_THROTTLE);
	assert_step(d, 0, DECIDE_LEVEL_POD, DECIDE_FILE_CPU_MAX, 600, 700);
	assert_step(d, 1, DECIDE_LEVEL_CONTAINER, DECIDE_FILE_CPU_MAX, 200, 300);
	/* A recommendation moves the weight: 100m + 200m -> 300m + 200m. */
	f.in.signals.cpu_throttle_ratio = 0;
	f.in.cpu = (struct decide_estimate){ 300, 250, 350 };
	d = run(&f);
	ck_assert_int_eq(d->new_res.cpu_request, 300);
	for (size_t i = 0; i < d->n_steps; i++)
		if (d->steps[i].level == DECIDE_LEVEL_POD &&
		    d->steps[i].file == DECIDE_FILE_CPU_WEIGHT) {
			ck_assert_int_eq(d->steps[i].old_value, 300);
			ck_assert_int_eq(d->steps[i].value, 500);
		}

	/* The sidecar has no memory limit: the pod's memory.max is "max" before and after, and
	 * snug writes none. */
	init[0].res.memory_limit = -1;
	f.in.cpu = NO_REC;
	f.in.signals.oom_kill = true;
	d = run(&f);
	ck_assert_int_eq(d->kind, DECIDE_OOM);
	for (size_t i = 0; i < d->n_steps; i++)
		ck_assert(!(d->steps[i].level == DECIDE_LEVEL_POD &&
			    d->steps[i].file == DECIDE_FILE_MEMORY_MAX));

	/* With pod-level resources the pod cgroup follows them: no pod value from the sums. */
	init[0].res.memory_limit = 256 * MIB;
	f.in.pod.resources = (struct resources){ 500, 1000, 512 * MIB, GIB };
	d = run(&f);
	ck_assert_int_eq(d->kind, DECIDE_OOM);
	for (size_t i = 0; i < d->n_steps; i++)
		ck_assert_int_eq(d->steps[i].level, DECIDE_LEVEL_CONTAINER);
}
END_TEST

/* Growth room the scheduler's way (PodRequests): sidecars and overhead take their share of the
 * node's room, an init container bigger than the room leaves none; with a pod-level request it
 * is that request (the API server's bound) that limits the containers, not the node. */
START_TEST(test_room_counts_like_the_scheduler)
{
	struct decide_init_container init[2];
	const struct decide_decision *d;
	struct fx f;

	fx_sidecar_pod(&f, init);
	init[1].res.cpu_request = 400;
	/* 600m free: 50m is the sidecar's, 100m overhead; 450m for the app (the init container
	 * needs 400m + 50m + 100m, which fits). */
	f.in.node.cpu_free_millis = 600;
	f.in.pod.overhead_cpu_millis = 100;
	f.in.cpu = (struct decide_estimate){ 800, 700, 900 };
	d = run(&f);
	ck_assert_int_eq(d->new_res.cpu_request, 450);
	ck_assert_reason(d, "node has only 450m cpu left");
	/* The init container (500m + the sidecar's 50m, + 100m overhead) does not fit in 600m:
	 * the pod could not be admitted as it is, no growth at all. */
	init[1].res.cpu_request = 460;
	init[1].res.cpu_limit = 1000;
	d = run(&f);
	ck_assert_int_eq(d->new_res.cpu_request, 100);

	/* Pod-level memory request 512Mi: the sidecar holds 64Mi, 448Mi is left for the app
	 * whatever the node has; the pod-level limit caps the app's limit. */
	fx_sidecar_pod(&f, init);
	f.in.pod.resources = (struct resources){ -1, -1, 512 * MIB, 768 * MIB };
	f.in.node.memory_free_bytes = 0;
	set(&f, 0, 100, 200, 128 * MIB, 256 * MIB);
	f.in.memory = (struct decide_estimate){ 600 * MIB, 500 * MIB, 700 * MIB };
	d = run(&f);
	ck_assert_int_eq(d->new_res.memory_request, 448 * MIB);
	ck_assert_int_eq(d->new_res.memory_limit, 768 * MIB);
	ck_assert_reason(d, "the pod-level memory request leaves only 448Mi");
	ck_assert_reason(d, "limit capped by the pod-level limit 768Mi");
}
END_TEST

/* Issue 13, defect 5: a memory limit is never lowered while the usage is unknown (no sample yet,
 * only checkpointed history): nothing says the container fits under it. */
START_TEST(test_no_shrink_without_usage)
{
	const struct decide_decision *d;
	struct fx f;

	fx_init(&f, QOS_BURSTABLE, 1);
	set(&f, 0, 500, 1000, GIB, 2 * GIB);
	f.in.memory = (struct decide_estimate){ 256 * MIB, 200 * MIB, 300 * MIB };
	d = run(&f);
	ck_assert_int_eq(d->kind, DECIDE_RECOMMENDATION);
	ck_assert_int_eq(d->new_res.memory_request, 256 * MIB);
	ck_assert_int_eq(d->new_res.memory_limit, 2 * GIB);
	ck_assert(!d->shrinks_memory_limit);
	ck_assert_reason(d, "limit kept at 2Gi: memory usage unknown, shrink later");
	/* Guaranteed: request and limit stay together. */
	fx_init(&f, QOS_GUARANTEED, 1);
	set(&f, 0, 500, 500, GIB, GIB);
	f.in.memory = (struct decide_estimate){ 256 * MIB, 200 * MIB, 300 * MIB };
	d = run(&f);
	assert_unchanged(d);
	ck_assert_reason(d, "memory usage unknown");
	/* With a usage reading the shrink goes ahead (to usage plus the margin at most). */
	f.in.signals.memory_usage = 100 * MIB;
	d = run(&f);
	ck_assert_int_eq(d->new_res.memory_limit, 256 * MIB);
}
END_TEST

/* Issue 13, defect 3: a memory limit never grows above the node's allocatable memory. */
START_TEST(test_memory_limit_ceiling)
{
	const struct decide_decision *d;
	struct fx f;

	fx_init(&f, QOS_BURSTABLE, 1);
	set(&f, 0, 100, 200, 512 * MIB, 900 * MIB);
	f.in.node.memory_allocatable_bytes = GIB;
	f.in.signals.oom_kill = true;
	f.in.signals.oom_bumped_memory = 612 * MIB;
	d = run(&f);
	ck_assert_int_eq(d->kind, DECIDE_OOM);
	ck_assert_int_eq(d->new_res.memory_limit, GIB);
	ck_assert_reason(d, "limit capped at the node's allocatable memory 1Gi");
	/* Pressure the same way; at the ceiling nothing grows. */
	f.in.signals.oom_kill = false;
	f.in.signals.memory_max_grew = true;
	f.in.signals.memory_usage = 890 * MIB;
	d = run(&f);
	ck_assert_int_eq(d->new_res.memory_limit, GIB);
	set(&f, 0, 100, 200, 512 * MIB, GIB);
	f.in.signals.memory_usage = GIB - MIB;
	d = run(&f);
	assert_unchanged(d);
	/* A limit the user set above it stays theirs, and is not raised. */
	set(&f, 0, 100, 200, 512 * MIB, 2 * GIB);
	f.in.signals.memory_usage = 2 * GIB - MIB;
	d = run(&f);
	assert_unchanged(d);
}
END_TEST

/* Issue 13, defect 3: a leak that always reaches its limit was followed 256Mi -> ... -> 2.5 TiB in
 * 1.2 s, every grow bypassing the cooldown. Two hours of a leak that hits its limit every second:
 * at most --bypass-budget grows inside the cooldown in any hour, the others one per cooldown, and
 * never a limit above the node's allocatable memory. */
START_TEST(test_leak_budget)
{
	const uint64_t hour = 3600 * SEC;
	uint64_t grows[4096], bypass[4096];
	size_t n_grows = 0, n_bypass = 0, spent = 0;
	struct fx f;

	fx_init(&f, QOS_BURSTABLE, 1);
	set(&f, 0, 100, 200, 128 * MIB, 256 * MIB);
	f.in.node.memory_allocatable_bytes = 512 * GIB;
	f.in.node.memory_free_bytes = 512 * GIB;
	f.in.now_usec = NOW;
	for (uint64_t t = NOW; t < NOW + 4 * hour; t += SEC) {
		const struct decide_decision *d;
		bool oom = (t / SEC) % 2 == 0;

		/* Every second the leak is at its limit: a kill, or memory.max hit. */
		f.in.now_usec = t;
		f.in.signals.oom_kill = oom;
		f.in.signals.oom_bumped_memory = -1;
		f.in.signals.memory_max_grew = !oom;
		f.in.signals.memory_usage = f.c[0].res.memory_limit;
		f.in.memory_cooldown.bypass_grows_usec = bypass;
		f.in.memory_cooldown.n_bypass_grows = n_bypass;
		d = run(&f);
		if (d->bypass_budget_spent)
			spent++;
		if (d->kind == DECIDE_NONE)
			continue;
		ck_assert_int_le(d->new_res.memory_limit, f.in.node.memory_allocatable_bytes);
		ck_assert_uint_lt(n_grows, 4096);
		grows[n_grows++] = t;
		if (d->bypass_cooldown)
			bypass[n_bypass++] = t;
		/* A leak changes memory alone: its cooldown is the one that starts. */
		ck_assert(!d->cpu_bypassed_cooldown);
		f.c[0].res = d->new_res;
		f.in.memory_cooldown.last_resize_usec = t;
	}
	/* Never more than the budget inside the cooldown in any hour. */
	for (size_t i = 0; i < n_bypass; i++) {
		size_t in_hour = 0;

		for (size_t k = i; k < n_bypass && bypass[k] < bypass[i] + hour; k++)
			in_hour++;
		ck_assert_uint_le(in_hour, f.cfg.bypass_budget);
	}
	ck_assert_uint_gt(n_bypass, 0);
	/* The rest waited for the cooldown: at most one per cooldown besides. */
	for (size_t i = 0; i < n_grows; i++) {
		size_t in_hour = 0;

		for (size_t k = i; k < n_grows && grows[k] < grows[i] + hour; k++)
			in_hour++;
		ck_assert_uint_le(in_hour, f.cfg.bypass_budget + hour / f.cfg.cooldown_usec + 1);
	}
	/* Followed up to the ceiling, and the spent budget was said. */
	ck_assert_int_eq(f.c[0].res.memory_limit, 512 * GIB);
	ck_assert_uint_gt(spent, 0);
}
END_TEST

/* The budget's state comes in through the input: spent, a signal waits and the reason says why. */
START_TEST(test_budget_spent_reason)
{
	uint64_t grows[5] = { NOW - 50 * 60 * SEC, NOW - 40 * SEC, NOW - 30 * SEC, NOW - 20 * SEC,
			      NOW - 10 * SEC };
	const struct decide_decision *d;
	struct fx f;

	fx_init(&f, QOS_BURSTABLE, 1);
	set(&f, 0, 100, 200, 128 * MIB, 256 * MIB);
	resized_at(&f, NOW - 10 * SEC);
	f.in.signals.oom_kill = true;
	f.in.signals.oom_bumped_memory = 228 * MIB;
	grown_inside(&f, grows, 5);
	d = run(&f);
	assert_unchanged(d);
	ck_assert(d->bypass_budget_spent);
	ck_assert_reason(d, "oom-kill: waits for the cooldown (290s left)");
	ck_assert_reason(d, "budget of 5 grows inside the cooldown per 60 min is spent");
	/* One grow leaves the hour: the budget has room again. */
	grows[0] = NOW - 61 * 60 * SEC;
	d = run(&f);
	ck_assert_int_eq(d->kind, DECIDE_OOM);
	ck_assert(d->bypass_cooldown);
	ck_assert(!d->bypass_budget_spent);
	/* Spent, but outside the cooldown: a grow like any other, not a bypass. */
	grows[0] = NOW - 50 * 60 * SEC;
	resized_at(&f, NOW - 400 * SEC);
	d = run(&f);
	ck_assert_int_eq(d->kind, DECIDE_OOM);
	ck_assert(!d->bypass_cooldown);
	/* Heavy throttling and pressure wait the same way. */
	resized_at(&f, NOW - 10 * SEC);
	f.in.signals.oom_kill = false;
	f.in.signals.cpu_throttle_ratio = 0.5;
	f.in.signals.cpu_throttle_window_usec = 60 * SEC;
	d = run(&f);
	assert_unchanged(d);
	ck_assert_reason(d, "cpu-throttled 50% over 60s: waits for the cooldown");
	f.in.signals.cpu_throttle_ratio = 0;
	f.in.signals.memory_max_grew = true;
	f.in.signals.memory_usage = 250 * MIB;
	d = run(&f);
	assert_unchanged(d);
	ck_assert(d->bypass_budget_spent);
	ck_assert_reason(d, "memory-pressure: memory.max hit at 250Mi of 256Mi (97%): waits");
	/* --bypass-budget 0: nothing ever bypasses the cooldown. */
	f.cfg.bypass_budget = 0;
	grown_inside(&f, grows, 0);
	assert_unchanged(run(&f));
}
END_TEST

START_TEST(test_invalid_input)
{
	struct fx f;
	struct decide_decision d = { .kind = DECIDE_THROTTLE };

	fx_init(&f, QOS_BURSTABLE, 1);
	set(&f, 0, 500, 1000, 256 * MIB, 512 * MIB);
	f.in.index = 1;
	ck_assert_int_eq(decide_container(&f.in, &d), -EINVAL);
	f.in.index = 0;
	f.c[0].res.cpu_request = -2;
	ck_assert_int_eq(decide_container(&f.in, &d), -EINVAL);
	/* A request above its limit cannot come from a real pod. */
	f.c[0].res.cpu_request = 1500;
	ck_assert_int_eq(decide_container(&f.in, &d), -EINVAL);
	f.c[0].res.cpu_request = 500;
	f.in.signals.cpu_throttle_ratio = NAN;
	ck_assert_int_eq(decide_container(&f.in, &d), -EINVAL);
	f.in.signals.cpu_throttle_ratio = 0;
	f.in.policy = NULL;
	ck_assert_int_eq(decide_container(&f.in, &d), -EINVAL);
	f.in.policy = &f.pc;
	f.cfg.throttle_grow = 0.5;
	ck_assert_int_eq(decide_container(&f.in, &d), -EINVAL);
	ck_assert_int_eq(d.kind, DECIDE_THROTTLE);
	/* NULL config means the defaults. */
	f.in.config = NULL;
	ck_assert_int_eq(decide_container(&f.in, &d), 0);
	ck_assert_int_eq(decide_container(NULL, &d), -EINVAL);
}
END_TEST

START_TEST(test_qos_of)
{
	struct decide_container c[2] = {
		{ .name = "a", .res = { -1, -1, -1, -1 } },
		{ .name = "b", .res = { -1, -1, -1, -1 } },
	};

	ck_assert_int_eq(decide_qos_of(c, 2), QOS_BEST_EFFORT);
	c[0].res = (struct resources){ 100, 100, MIB, MIB };
	ck_assert_int_eq(decide_qos_of(c, 2), QOS_BURSTABLE);
	/* Requests default to limits. */
	c[1].res = (struct resources){ -1, 200, -1, MIB };
	ck_assert_int_eq(decide_qos_of(c, 2), QOS_GUARANTEED);
	ck_assert_int_eq(qos_class_from_string("Guaranteed"), QOS_GUARANTEED);
	ck_assert_int_eq(qos_class_from_string("BestEffort"), QOS_BEST_EFFORT);
	ck_assert_int_eq(qos_class_from_string("guaranteed"), -EINVAL);
	ck_assert_int_eq(decide_restart_from_string(NULL), DECIDE_RESTART_NOT_REQUIRED);
	ck_assert_int_eq(decide_restart_from_string("RestartContainer"), DECIDE_RESTART_CONTAINER);
	ck_assert_int_eq(decide_restart_from_string("Always"), -EINVAL);
}
END_TEST

/* Assertions inside the random loops: Check records every passing ck_assert with a syscall,
 * which would dominate the run time. */
#define CHECK(cond)                                                                                \
	do {                                                                                       \
		if (!(cond))                                                                       \
			ck_abort_msg("iteration %d: %s (%s)", iter, #cond, d->reason);             \
	} while (0)

static uint64_t rnd(uint64_t *s)
{
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return *s * 2685821657736338717ULL;
}

static int64_t max_i64(int64_t a, int64_t b)
{
	return a > b ? a : b;
}

static int64_t pick(uint64_t *s, bool cpu)
{
	static const int64_t cpus[] = { -1, -1, 1, 10, 100, 250, 500, 999, 1000, 4000 };
	static const int64_t mems[] = { -1, -1, MIB, 64 * MIB, 256 * MIB, 512 * MIB, GIB, 4 * GIB };

	if (rnd(s) % 5 == 0)
		return (int64_t)(rnd(s) % (cpu ? 5000 : 8 * GIB));
	return cpu ? cpus[rnd(s) % 10] : mems[rnd(s) % 8];
}

/* Random pods, recommendations and signals: whatever the inputs, what a user relies on holds. */
START_TEST(test_invariants_random)
{
	uint64_t seed = 0xdec1de0123456789ULL;
	size_t acted = 0;

	for (int iter = 0; iter < 50000; iter++) {
		struct fx f;
		const struct decide_decision *d;
		const struct resources *o, *n;
		struct decide_init_container init[2];
		uint64_t grows[14];
		enum qos_class qos;
		size_t nc = 1 + rnd(&seed) % 3, ni = rnd(&seed) % 3;

		fx_init(&f, QOS_BURSTABLE, nc);
		for (size_t i = 0; i < nc; i++) {
			set(&f, i, pick(&seed, true), pick(&seed, true), pick(&seed, false),
			    pick(&seed, false));
			f.c[i].cpu_restart = rnd(&seed) % 2;
			/* The API server refuses request > limit; so does decide (tested above). */
			if (f.c[i].res.cpu_limit >= 0 &&
			    f.c[i].res.cpu_request > f.c[i].res.cpu_limit)
				f.c[i].res.cpu_request = f.c[i].res.cpu_limit;
			if (f.c[i].res.memory_limit >= 0 &&
			    f.c[i].res.memory_request > f.c[i].res.memory_limit)
				f.c[i].res.memory_request = f.c[i].res.memory_limit;
		}
		if (rnd(&seed) % 3 == 0) /* make some pods Guaranteed */
			for (size_t i = 0; i < nc; i++) {
				f.c[i].res.cpu_request = f.c[i].res.cpu_limit = 100 + 100 * i;
				f.c[i].res.memory_request = f.c[i].res.memory_limit = 256 * MIB;
			}
		for (size_t i = 0; i < ni; i++) {
			init[i] = (struct decide_init_container){
				.res = { pick(&seed, true), -1, pick(&seed, false), -1 },
				.sidecar = rnd(&seed) % 2,
			};
			if (rnd(&seed) % 2) {
				init[i].res.cpu_limit = max_i64(init[i].res.cpu_request, 100);
				init[i].res.memory_limit = max_i64(init[i].res.memory_request, MIB);
			}
		}
		f.in.pod.init_containers = init;
		f.in.pod.n_init_containers = ni;
		if (rnd(&seed) % 4 == 0)
			f.in.pod.overhead_memory_bytes = 16 * MIB;
		qos = decide_pod_qos(&f.in.pod);
		f.in.pod.qos = qos;
		f.in.index = rnd(&seed) % nc;
		f.pc.mode = rnd(&seed) % _POL_MODE_MAX;
		f.pc.resources = 1 + rnd(&seed) % 3;
		f.pc.controlled = rnd(&seed) % 2;
		f.pc.max_cpu_millis = rnd(&seed) % 2 ? pick(&seed, true) : -1;
		f.pc.max_memory_bytes = rnd(&seed) % 2 ? pick(&seed, false) : -1;
		f.pc.min_cpu_millis = rnd(&seed) % 4 ? -1 : 50;
		f.in.cpu = (struct decide_estimate){ pick(&seed, true), pick(&seed, true),
						     pick(&seed, true) };
		f.in.memory = (struct decide_estimate){ pick(&seed, false), pick(&seed, false),
							pick(&seed, false) };
		f.in.signals.oom_kill = rnd(&seed) % 4 == 0;
		f.in.signals.oom_bumped_memory = pick(&seed, false);
		f.in.signals.memory_max_grew = rnd(&seed) % 3 == 0;
		f.in.signals.memory_usage = pick(&seed, false);
		f.in.signals.memory_cgroup_limit = pick(&seed, false);
		f.in.signals.memory_working_set = pick(&seed, false);
		f.in.signals.cpu_throttle_ratio = (double)(rnd(&seed) % 100) / 100.0;
		f.in.signals.cpu_throttle_window_usec = (rnd(&seed) % 120) * SEC;
		f.in.node.cpu_free_millis = rnd(&seed) % 2 ? pick(&seed, true) : -1;
		f.in.node.memory_free_bytes = rnd(&seed) % 2 ? pick(&seed, false) : -1;
		f.in.cpu_cooldown.last_resize_usec =
			rnd(&seed) % 2 ? NOW - (rnd(&seed) % 600) * SEC : 0;
		f.in.memory_cooldown.last_resize_usec =
			rnd(&seed) % 2 ? NOW - (rnd(&seed) % 600) * SEC : 0;
		f.in.node.memory_allocatable_bytes = rnd(&seed) % 2 ? 2 * GIB : -1;
		f.in.cpu_cooldown.n_bypass_grows = rnd(&seed) % 7;
		f.in.memory_cooldown.n_bypass_grows = rnd(&seed) % 7;
		for (size_t i = 0; i < 14; i++)
			grows[i] = NOW - (rnd(&seed) % 7200) * SEC;
		f.in.cpu_cooldown.bypass_grows_usec = grows;
		f.in.memory_cooldown.bypass_grows_usec = grows + 7;

		d = run(&f);
		o = &d->old_res;
		n = &d->new_res;
		CHECK((strlen(d->reason)) < (DECIDE_REASON_MAX));
		CHECK((strlen(d->reason)) > (0));
		if (d->kind == DECIDE_NONE) {
			CHECK((d->n_steps) == (0));
			CHECK(!memcmp(o, n, sizeof(*o)));
			continue;
		}
		acted++;
		CHECK((f.pc.mode) != (POL_MODE_OFF));
		CHECK((qos) != (QOS_BEST_EFFORT));
		CHECK((qos_after(&f)) == (qos));
		/* Limits are neither added nor removed; a request never passes its limit. */
		CHECK((o->cpu_limit < 0) == (n->cpu_limit < 0));
		CHECK((o->memory_limit < 0) == (n->memory_limit < 0));
		CHECK(n->cpu_limit < 0 || n->cpu_request <= n->cpu_limit);
		CHECK(n->memory_limit < 0 || n->memory_request <= n->memory_limit);
		if (f.pc.controlled == POL_CONTROLLED_REQUESTS) {
			CHECK((n->cpu_limit) == (o->cpu_limit));
			CHECK((n->memory_limit) == (o->memory_limit));
		}
		if (!(f.pc.resources & POL_RESOURCE_CPU))
			CHECK(n->cpu_request == o->cpu_request && n->cpu_limit == o->cpu_limit);
		if (!(f.pc.resources & POL_RESOURCE_MEMORY))
			CHECK(n->memory_request == o->memory_request &&
			      n->memory_limit == o->memory_limit);
		/* Inside a resource's cooldown only its bypassing signals change it, within its
		 * budget; the other resource's cooldown and budget hold nothing of it. */
		for (int cpu = 0; cpu < 2; cpu++) {
			const struct decide_cooldown *cd =
				cpu ? &f.in.cpu_cooldown : &f.in.memory_cooldown;
			bool changed = cpu ? n->cpu_request != o->cpu_request ||
						       n->cpu_limit != o->cpu_limit
					   : n->memory_request != o->memory_request ||
						       n->memory_limit != o->memory_limit;
			unsigned recent = 0;

			if (!changed || !cd->last_resize_usec ||
			    NOW - cd->last_resize_usec >= f.cfg.cooldown_usec)
				continue;
			for (size_t i = 0; i < cd->n_bypass_grows; i++)
				recent += NOW - cd->bypass_grows_usec[i] < f.cfg.bypass_window_usec;
			CHECK(cpu ? d->cpu_bypassed_cooldown : d->memory_bypassed_cooldown);
			CHECK(d->bypass_cooldown);
			CHECK(recent < f.cfg.bypass_budget);
		}
		/* No memory limit grows past the node's allocatable memory. */
		if (f.in.node.memory_allocatable_bytes > 0 && n->memory_limit > o->memory_limit)
			CHECK(n->memory_limit <= f.in.node.memory_allocatable_bytes);
		/* Without a usage reading no memory limit is lowered. */
		if (f.in.signals.memory_usage < 0 && o->memory_limit >= 0)
			CHECK(n->memory_limit >= o->memory_limit);
		/* An OOM grow of a limited container gets at least VPA's bump of the limit, unless
		 * a bound (max, allocatable, the node for a Guaranteed request) says otherwise. */
		if (d->kind == DECIDE_OOM && o->memory_limit > 0 &&
		    f.pc.controlled != POL_CONTROLLED_REQUESTS && qos != QOS_GUARANTEED &&
		    f.pc.max_memory_bytes < 0 && f.in.node.memory_allocatable_bytes < 0)
			CHECK(n->memory_limit >=
			      max_i64(o->memory_limit + 100 * MIB, o->memory_limit * 6 / 5));
		/* snug never raises anything past max (values already above it are the user's). */
		if (f.pc.max_cpu_millis >= 0 && n->cpu_request > o->cpu_request)
			CHECK((n->cpu_request) <= (f.pc.max_cpu_millis > o->cpu_request
							   ? f.pc.max_cpu_millis
							   : o->cpu_request));
		if (f.pc.max_memory_bytes >= 0 && n->memory_limit > o->memory_limit)
			CHECK((n->memory_limit) <= (f.pc.max_memory_bytes));
		/* Growth of a request stays within what the node has left: the pod's requests
		 * as the scheduler counts them (sidecars summed, init containers as a max with the
		 * sidecars before them). */
		if (f.in.node.cpu_free_millis >= 0 && n->cpu_request > o->cpu_request) {
			int64_t others = 0, sidecars = 0, init_max = 0;

			for (size_t i = 0; i < nc; i++)
				if (i != f.in.index && f.c[i].res.cpu_request > 0)
					others += f.c[i].res.cpu_request;
				else if (i != f.in.index && f.c[i].res.cpu_limit > 0)
					others += f.c[i].res.cpu_limit;
			for (size_t i = 0; i < ni; i++) {
				int64_t v = max_i64(init[i].res.cpu_request, 0);

				if (init[i].sidecar) {
					others += v;
					sidecars += v;
				} else
					init_max = max_i64(init_max, sidecars + v);
			}
			CHECK(max_i64(n->cpu_request + others, init_max) <=
			      f.in.node.cpu_free_millis);
		}
		/* A memory limit shrinks no lower than usage plus the margin. */
		if (f.in.signals.memory_usage >= 0 && o->memory_limit >= 0 &&
		    n->memory_limit < o->memory_limit)
			CHECK((n->memory_limit) >=
			      (f.in.signals.memory_usage + f.cfg.memory_margin_bytes));
		/* Every change but a memory request (no cgroup file holds it) has a write step. */
		if (n->cpu_request != o->cpu_request || n->cpu_limit != o->cpu_limit ||
		    n->memory_limit != o->memory_limit)
			CHECK((d->n_steps) > (0));
		else
			CHECK((n->memory_request) != (o->memory_request));
		CHECK((d->report_only) == (f.pc.mode == POL_MODE_RECOMMEND));
	}
	/* The generator must exercise the acting paths, not only the refusals. */
	ck_assert_uint_gt(acted, 5000);
}
END_TEST

/* Issue 15: a native sidecar is decided on like an app container (decide_input.index numbers it
 * after the app containers), with its own resources, its own resizePolicy, and the pod's values
 * and room counted the kubelet's and the scheduler's way: the init container after it runs beside
 * it. An ordinary init container is never decided on. */
START_TEST(test_sidecar_decided_on)
{
	struct decide_init_container init[2];
	const struct decide_decision *d;
	bool pod_memory = false;
	int64_t lim;
	struct fx f;

	fx_sidecar_pod(&f, init);
	init[0].name = "proxy";
	init[1].name = "migrate";
	f.in.index = 1; /* the sidecar */
	f.in.signals.oom_kill = true;
	f.in.signals.oom_bumped_memory = 256 * MIB;
	d = run(&f);
	ck_assert_int_eq(d->kind, DECIDE_OOM);
	ck_assert_uint_eq(d->index, 1);
	/* Its own resources, not the app container's. */
	ck_assert_int_eq(d->old_res.memory_limit, 256 * MIB);
	ck_assert_int_eq(d->old_res.cpu_request, 50);
	lim = d->new_res.memory_limit;
	ck_assert_int_ge(lim, 356 * MIB); /* max(256Mi + 100Mi, 1.2 × 256Mi) */
	/* The pod's memory.max: max(app 128Mi + L, L + the init container's 400Mi) = L + 400Mi,
	 * from 656Mi, written before the container's (a grow). */
	for (size_t i = 0; i < d->n_steps; i++)
		if (d->steps[i].level == DECIDE_LEVEL_POD &&
		    d->steps[i].file == DECIDE_FILE_MEMORY_MAX) {
			pod_memory = true;
			ck_assert_uint_eq(i, 0);
			ck_assert_int_eq(d->steps[i].old_value, 656 * MIB);
			ck_assert_int_eq(d->steps[i].value, lim + 400 * MIB);
		}
	ck_assert(pod_memory);
	assert_step(d, 1, DECIDE_LEVEL_CONTAINER, DECIDE_FILE_MEMORY_MAX, 256 * MIB, lim);

	/* Its resizePolicy is the one that counts. */
	init[0].memory_restart = DECIDE_RESTART_CONTAINER;
	d = run(&f);
	ck_assert(d->needs_restart);
	init[0].memory_restart = DECIDE_RESTART_NOT_REQUIRED;
	f.in.signals.oom_kill = false;

	/* Room: 600m free; the init container after it needs 500m beside it: 100m for the sidecar,
	 * though the app container only holds 100m. */
	f.in.node.cpu_free_millis = 600;
	f.in.cpu = (struct decide_estimate){ 300, 250, 350 };
	d = run(&f);
	ck_assert_int_eq(d->new_res.cpu_request, 100);
	ck_assert_reason(d, "node has only 100m cpu left");

	/* An ordinary init container, or an index past the pod: refused. */
	f.in.index = 2;
	ck_assert_int_eq(decide_container(&f.in, &f.d), -EINVAL);
	f.in.index = 3;
	ck_assert_int_eq(decide_container(&f.in, &f.d), -EINVAL);
	f.in.index = 1;
	init[0].sidecar = false;
	ck_assert_int_eq(decide_container(&f.in, &f.d), -EINVAL);
}
END_TEST

/* The pod model built from the API's pod: the native sidecar keeps its name, resources and
 * resizePolicy in the init container list, and decide reads them when it is the decided one (the
 * agent's index: app containers first, then init containers). */
START_TEST(test_pod_model_sidecar)
{
	static const char json[] =
		"{\"metadata\":{\"uid\":\"0b8f3a62-1d2e-4c55-9a7b-3f1e2d4c5b6a\",\"namespace\":"
		"\"default\",\"name\":\"mesh\","
		"\"resourceVersion\":\"5\"},"
		"\"spec\":{\"nodeName\":\"node-1\",\"initContainers\":["
		"{\"name\":\"setup\",\"resources\":{\"requests\":{\"cpu\":\"100m\",\"memory\":"
		"\"64Mi\"},"
		"\"limits\":{\"cpu\":\"500m\",\"memory\":\"256Mi\"}}},"
		"{\"name\":\"proxy\",\"restartPolicy\":\"Always\",\"resizePolicy\":[{"
		"\"resourceName\":"
		"\"memory\",\"restartPolicy\":\"RestartContainer\"}],\"resources\":{\"requests\":"
		"{\"cpu\":\"50m\",\"memory\":\"64Mi\"},\"limits\":{\"cpu\":\"100m\",\"memory\":"
		"\"256Mi\"}}}],"
		"\"containers\":[{\"name\":\"app\",\"resources\":{\"requests\":{\"cpu\":\"100m\","
		"\"memory\":\"128Mi\"},\"limits\":{\"cpu\":\"200m\",\"memory\":\"128Mi\"}}}]},"
		"\"status\":{\"phase\":\"Running\",\"qosClass\":\"Burstable\"}}";
	char err[KUBE_ERRBUF] = "";
	struct kube_pod *k = NULL;
	struct pod_model m;
	struct fx f;

	ck_assert_msg(kube_pod_parse_json(json, strlen(json), &k, err) == 0, "%s", err);
	ck_assert_int_eq(pod_model_build(k, POD_MODEL_SPEC, &m), 0);
	ck_assert_uint_eq(m.pod.n_init_containers, 2);
	ck_assert_str_eq(m.init_containers[1].name, "proxy");
	ck_assert(m.init_containers[1].sidecar && !m.init_containers[0].sidecar);
	ck_assert_int_eq(m.init_containers[1].memory_restart, DECIDE_RESTART_CONTAINER);
	ck_assert_int_eq(m.init_containers[1].cpu_restart, DECIDE_RESTART_NOT_REQUIRED);

	fx_init(&f, QOS_BURSTABLE, 1);
	f.in.pod = m.pod;
	f.in.index = m.pod.n_containers + 1; /* proxy */
	f.in.signals.oom_kill = true;
	f.in.signals.oom_bumped_memory = 256 * MIB;
	run(&f);
	ck_assert_int_eq(f.d.kind, DECIDE_OOM);
	ck_assert_int_eq(f.d.old_res.cpu_request, 50);
	ck_assert_int_eq(f.d.old_res.memory_limit, 256 * MIB);
	ck_assert(f.d.needs_restart); /* proxy's memory resizePolicy, not app's */
	/* setup, the ordinary init container, is never decided on */
	f.in.index = m.pod.n_containers;
	ck_assert_int_eq(decide_container(&f.in, &f.d), -EINVAL);
	pod_model_done(&m);
	kube_pod_free(k);
}
END_TEST

/* An HPA on CPU utilization: the CPU request (its denominator) never moves, the CPU limit still
 * rises under throttling (alone, even where it equalled the request), memory is free. */
START_TEST(test_hpa_cpu_request_kept)
{
	struct fx f;
	const struct decide_decision *d;

	fx_init(&f, QOS_BURSTABLE, 1);
	set(&f, 0, 200, 200, 256 * MIB, 512 * MIB);
	f.in.signals.cpu_throttle_ratio = 0.42;
	f.in.signals.cpu_throttle_window_usec = 60 * SEC;
	/* Without the HPA the request equal to its limit follows it. */
	d = run(&f);
	ck_assert_int_eq(d->kind, DECIDE_THROTTLE);
	ck_assert_int_eq(d->new_res.cpu_limit, 300);
	ck_assert_int_eq(d->new_res.cpu_request, 300);

	f.in.hpa.cpu = "web";
	d = run(&f);
	ck_assert_int_eq(d->kind, DECIDE_THROTTLE);
	ck_assert_int_eq(d->new_res.cpu_limit, 300);
	ck_assert_int_eq(d->new_res.cpu_request, 200);
	ck_assert_reason(d, "cpu limit 200m -> 300m");
	ck_assert_reason(d, "request kept: HorizontalPodAutoscaler web scales on cpu utilization");
	ck_assert_int_eq(qos_after(&f), QOS_BURSTABLE);

	/* The recommendation of the CPU request is skipped with the HPA's name; memory's acts. */
	f.in.signals.cpu_throttle_ratio = 0;
	set(&f, 0, 100, 200, 256 * MIB, 512 * MIB);
	f.in.cpu = (struct decide_estimate){ 400, 300, 500 };
	d = run(&f);
	assert_unchanged(d);
	ck_assert_reason(d, "cpu request 100m outside [300m, 500m], but kept: "
			    "HorizontalPodAutoscaler web scales on cpu utilization");
	f.in.memory = (struct decide_estimate){ 400 * MIB, 300 * MIB, 500 * MIB };
	d = run(&f);
	ck_assert_int_eq(d->kind, DECIDE_RECOMMENDATION);
	ck_assert_int_eq(d->new_res.memory_request, 400 * MIB);
	ck_assert_int_eq(d->new_res.cpu_request, 100);
	ck_assert_int_eq(d->new_res.cpu_limit, 200);
	/* An empty name is no HPA. */
	f.in.hpa.cpu = "";
	d = run(&f);
	ck_assert_int_eq(d->new_res.cpu_request, 400);
}
END_TEST

/* An HPA on memory utilization: OOM kills and pressure grow the memory limit alone; where only the
 * request could move (no limit, controlled-values=requests) nothing moves. */
START_TEST(test_hpa_memory_request_kept)
{
	struct fx f;
	const struct decide_decision *d;

	fx_init(&f, QOS_BURSTABLE, 1);
	f.in.hpa.memory = "web-mem";
	set(&f, 0, 500, 1000, 256 * MIB, 256 * MIB);
	f.in.signals.oom_kill = true;
	f.in.signals.oom_bumped_memory = 384 * MIB;
	d = run(&f);
	ck_assert_int_eq(d->kind, DECIDE_OOM);
	ck_assert_int_eq(d->new_res.memory_limit, 384 * MIB);
	ck_assert_int_eq(d->new_res.memory_request, 256 * MIB);
	ck_assert_reason(d, "oom-kill: memory limit 256Mi -> 384Mi");
	ck_assert_reason(d, "HorizontalPodAutoscaler web-mem scales on memory utilization");
	/* A request below the limit: no ratio to keep, the limit takes the recommender's bump (or
	 * the bump of the limit it was killed at, whichever is larger). */
	set(&f, 0, 500, 1000, 128 * MIB, 256 * MIB);
	d = run(&f);
	ck_assert_int_eq(d->new_res.memory_request, 128 * MIB);
	ck_assert_int_eq(d->new_res.memory_limit, 384 * MIB);
	f.in.signals.oom_bumped_memory = 200 * MIB;
	d = run(&f);
	ck_assert_int_eq(d->new_res.memory_limit, 356 * MIB);
	ck_assert_int_eq(d->new_res.memory_request, 128 * MIB);

	/* Pressure: the limit grows, the request stays. */
	f.in.signals.oom_kill = false;
	f.in.signals.memory_max_grew = true;
	f.in.signals.memory_usage = 243 * MIB;
	f.in.signals.memory_cgroup_limit = 256 * MIB;
	d = run(&f);
	ck_assert_int_eq(d->kind, DECIDE_PRESSURE);
	ck_assert_int_eq(d->new_res.memory_limit, 320 * MIB);
	ck_assert_int_eq(d->new_res.memory_request, 128 * MIB);

	/* No memory limit: an OOM kill could only raise the request, which is the HPA's. */
	f.in.signals.memory_max_grew = false;
	f.in.signals.oom_kill = true;
	set(&f, 0, 500, 1000, 128 * MIB, -1);
	d = run(&f);
	assert_unchanged(d);
	ck_assert_reason(d, "oom-kill: memory request not raised: HorizontalPodAutoscaler web-mem");
	/* controlled-values=requests: the limit is not snug's, the request is the HPA's. */
	set(&f, 0, 500, 1000, 128 * MIB, 256 * MIB);
	f.pc.controlled = POL_CONTROLLED_REQUESTS;
	d = run(&f);
	assert_unchanged(d);
	ck_assert_reason(d, "HorizontalPodAutoscaler web-mem scales on memory utilization");
	f.pc.controlled = POL_CONTROLLED_REQUESTS_AND_LIMITS;

	/* The memory recommendation is skipped; the CPU's acts. */
	f.in.signals.oom_kill = false;
	f.in.memory = (struct decide_estimate){ 64 * MIB, 50 * MIB, 80 * MIB };
	f.in.signals.memory_usage = 40 * MIB;
	f.in.cpu = (struct decide_estimate){ 250, 200, 300 };
	d = run(&f);
	ck_assert_int_eq(d->kind, DECIDE_RECOMMENDATION);
	ck_assert_int_eq(d->new_res.cpu_request, 250);
	ck_assert_int_eq(d->new_res.memory_request, 128 * MIB);
	ck_assert_int_eq(d->new_res.memory_limit, 256 * MIB);
}
END_TEST

/* A Guaranteed pod's request must move with its limit; an HPA on that resource holds both, and
 * the reason says why. The other resource is not held. */
START_TEST(test_hpa_guaranteed_holds)
{
	struct fx f;
	const struct decide_decision *d;

	fx_init(&f, QOS_GUARANTEED, 1);
	set(&f, 0, 500, 500, 512 * MIB, 512 * MIB);
	f.in.signals.cpu_throttle_ratio = 0.5;
	f.in.signals.cpu_throttle_window_usec = 60 * SEC;
	d = run(&f);
	ck_assert_int_eq(d->new_res.cpu_limit, 750);
	ck_assert_int_eq(d->new_res.cpu_request, 750);

	f.in.hpa.cpu = "web";
	d = run(&f);
	assert_unchanged(d);
	ck_assert_reason(d, "cpu limit 500m not raised (a Guaranteed pod's request moves with its "
			    "limit, and HorizontalPodAutoscaler web scales on cpu utilization)");

	f.in.signals.cpu_throttle_ratio = 0;
	f.in.signals.oom_kill = true;
	f.in.signals.oom_bumped_memory = 700 * MIB;
	d = run(&f);
	ck_assert_int_eq(d->kind, DECIDE_OOM);
	ck_assert_int_eq(d->new_res.memory_limit, d->new_res.memory_request);
	ck_assert_int_gt(d->new_res.memory_limit, 512 * MIB);
	ck_assert_int_eq(qos_after(&f), QOS_GUARANTEED);

	f.in.hpa.memory = "web";
	d = run(&f);
	assert_unchanged(d);
	ck_assert_reason(d, "oom-kill: memory request and limit not raised: "
			    "HorizontalPodAutoscaler web scales on memory utilization");
	ck_assert_reason(d, "a Guaranteed pod's request moves with its limit");
}
END_TEST

/* Random pods and signals with an HPA on CPU, memory or both: the pinned request never moves, the
 * QoS class never changes, and a signal that grew a Burstable pod's limit without the HPA still
 * grows it with the HPA (limits stay safe). */
START_TEST(test_hpa_invariants_random)
{
	uint64_t seed = 0x4a11c0de5eed0001ULL;
	size_t grown = 0;

	for (int iter = 0; iter < 20000; iter++) {
		struct fx f;
		struct decide_decision free_d, *d;
		unsigned which = 1 + rnd(&seed) % 3;
		bool cpu_pin = which & 1, mem_pin = which & 2;

		fx_init(&f, QOS_BURSTABLE, 1);
		set(&f, 0, pick(&seed, true), pick(&seed, true), pick(&seed, false),
		    pick(&seed, false));
		if (f.c[0].res.cpu_limit >= 0 && f.c[0].res.cpu_request > f.c[0].res.cpu_limit)
			f.c[0].res.cpu_request = f.c[0].res.cpu_limit;
		if (f.c[0].res.memory_limit >= 0 &&
		    f.c[0].res.memory_request > f.c[0].res.memory_limit)
			f.c[0].res.memory_request = f.c[0].res.memory_limit;
		f.in.pod.qos = decide_pod_qos(&f.in.pod);
		f.pc.controlled = rnd(&seed) % 4 == 0;
		f.in.cpu = (struct decide_estimate){ pick(&seed, true), pick(&seed, true),
						     pick(&seed, true) };
		f.in.memory = (struct decide_estimate){ pick(&seed, false), pick(&seed, false),
							pick(&seed, false) };
		f.in.signals.oom_kill = rnd(&seed) % 3 == 0;
		f.in.signals.oom_bumped_memory = pick(&seed, false);
		f.in.signals.memory_max_grew = rnd(&seed) % 3 == 0;
		f.in.signals.memory_usage = pick(&seed, false);
		f.in.signals.memory_cgroup_limit = f.c[0].res.memory_limit;
		f.in.signals.cpu_throttle_ratio = (double)(rnd(&seed) % 60) / 100;
		f.in.signals.cpu_throttle_window_usec = 60 * SEC;
		f.in.node = (struct decide_node){ rnd(&seed) % 2 ? 0 : -1, rnd(&seed) % 2 ? 0 : -1,
						  -1 };
		if (decide_container(&f.in, &free_d) < 0)
			continue;
		f.in.hpa.cpu = cpu_pin ? "h" : NULL;
		f.in.hpa.memory = mem_pin ? "h" : NULL;
		d = &f.d;
		ck_assert_int_eq(decide_container(&f.in, d), 0);
		if (cpu_pin)
			ck_assert_int_eq(d->new_res.cpu_request, d->old_res.cpu_request);
		if (mem_pin)
			ck_assert_int_eq(d->new_res.memory_request, d->old_res.memory_request);
		ck_assert_int_eq(qos_after(&f), f.in.pod.qos);
		if (f.in.pod.qos != QOS_BURSTABLE)
			continue;
		/* A memory signal names the decision when it acts (it is stronger than throttling);
		 * throttling's change reads "cpu-throttled …: cpu limit". */
		if (mem_pin && (free_d.kind == DECIDE_OOM || free_d.kind == DECIDE_PRESSURE) &&
		    free_d.new_res.memory_limit > free_d.old_res.memory_limit) {
			ck_assert_msg(d->new_res.memory_limit > d->old_res.memory_limit,
				      "memory limit not grown with the HPA: %s (without: %s)",
				      d->reason, free_d.reason);
			grown++;
		}
		if (cpu_pin && strstr(free_d.reason, "cpu-throttled") &&
		    strstr(free_d.reason, ": cpu limit") &&
		    free_d.new_res.cpu_limit > free_d.old_res.cpu_limit) {
			ck_assert_msg(d->new_res.cpu_limit > d->old_res.cpu_limit,
				      "cpu limit not grown with the HPA: %s (without: %s)",
				      d->reason, free_d.reason);
			grown++;
		}
	}
	ck_assert_uint_gt(grown, 500);
}
END_TEST

Suite *decide_suite(void)
{
	Suite *s = suite_create("decide");
	TCase *tc = tcase_create("rules");

	tcase_add_test(tc, test_off_and_unselected);
	tcase_add_test(tc, test_best_effort_never_resized);
	tcase_add_test(tc, test_recommendation_outside_range);
	tcase_add_test(tc, test_min_change);
	tcase_add_test(tc, test_vpa_like);
	tcase_add_test(tc, test_no_recommendation_yet);
	tcase_add_test(tc, test_cooldown);
	tcase_add_test(tc, test_cooldown_per_resource);
	tcase_add_test(tc, test_under_requested_memory_grows_at_once);
	tcase_add_test(tc, test_oom_kill);
	tcase_add_test(tc, test_oom_kill_follows_vpa);
	tcase_add_test(tc, test_oom_without_limit_and_at_max);
	tcase_add_test(tc, test_memory_pressure);
	tcase_add_test(tc, test_cpu_throttling);
	tcase_add_test(tc, test_memory_stall_pressure);
	tcase_add_test(tc, test_memory_shrink_held_by_stall);
	tcase_add_test(tc, test_cpu_stall_with_throttling);
	tcase_add_test(tc, test_startup_boost);
	tcase_add_test(tc, test_startup_boost_guaranteed);
	tcase_add_test(tc, test_bounds_and_caps);
	tcase_add_test(tc, test_node_allocatable);
	tcase_add_test(tc, test_oom_bump_held_to_node);
	tcase_add_test(tc, test_memory_limit_not_below_usage);
	tcase_add_test(tc, test_requests_only);
	tcase_add_test(tc, test_vpa_limit_ratio);
	tcase_add_test(tc, test_guaranteed_stays_guaranteed);
	tcase_add_test(tc, test_burstable_never_becomes_guaranteed);
	tcase_add_test(tc, test_resize_policy);
	tcase_add_test(tc, test_keep_memory_limit);
	tcase_add_test(tc, test_recommend_mode_reports_only);
	tcase_add_test(tc, test_resources_restriction);
	tcase_add_test(tc, test_write_order_grow_and_shrink);
	tcase_add_test(tc, test_write_order_pod_limits_rule);
	tcase_add_test(tc, test_pod_cgroup_kubelet_values);
	tcase_add_test(tc, test_pod_values_count_sidecars);
	tcase_add_test(tc, test_room_counts_like_the_scheduler);
	tcase_add_test(tc, test_no_shrink_without_usage);
	tcase_add_test(tc, test_memory_limit_ceiling);
	tcase_add_test(tc, test_leak_budget);
	tcase_add_test(tc, test_budget_spent_reason);
	tcase_add_test(tc, test_invalid_input);
	tcase_add_test(tc, test_qos_of);
	tcase_add_test(tc, test_sidecar_decided_on);
	tcase_add_test(tc, test_pod_model_sidecar);
	tcase_add_test(tc, test_hpa_cpu_request_kept);
	tcase_add_test(tc, test_hpa_memory_request_kept);
	tcase_add_test(tc, test_hpa_guaranteed_holds);
	suite_add_tcase(s, tc);
	tc = tcase_create("random");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_invariants_random);
	tcase_add_test(tc, test_hpa_invariants_random);
	suite_add_tcase(s, tc);
	return s;
}
