/* Unit tests for writing a decision into cgroups: decide's steps as kubelet's values, the safe order, the undo. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "agent/act_cgroups.h"
#include "tests/unit/fake_systemd.h"
#include "tests/unit/unit.h"

static char root[] = "/tmp/snug-actuate-XXXXXX";

static void write_file(const char *rel, const char *text)
{
	char p[512];
	FILE *f;

	snprintf(p, sizeof(p), "%s/%s", root, rel);
	f = fopen(p, "we");
	ck_assert_ptr_nonnull(f);
	fputs(text, f);
	fclose(f);
}

static void read_file(const char *rel, char *buf, size_t size)
{
	char p[512];
	FILE *f;
	size_t n;

	snprintf(p, sizeof(p), "%s/%s", root, rel);
	f = fopen(p, "re");
	ck_assert_ptr_nonnull(f);
	n = fread(buf, 1, size - 1, f);
	buf[n] = '\0';
	fclose(f);
}

static void make_tree(void)
{
	char p[512];

	ck_assert_ptr_nonnull(mkdtemp(root));
	snprintf(p, sizeof(p), "%s/kubepods", root);
	ck_assert_int_eq(mkdir(p, 0755), 0);
	snprintf(p, sizeof(p), "%s/kubepods/pod1", root);
	ck_assert_int_eq(mkdir(p, 0755), 0);
	snprintf(p, sizeof(p), "%s/kubepods/pod1/c1", root);
	ck_assert_int_eq(mkdir(p, 0755), 0);
	write_file("kubepods/pod1/memory.max", "268435456\n");
	write_file("kubepods/pod1/c1/memory.max", "268435456\n");
	write_file("kubepods/pod1/cpu.max", "20000 100000\n");
	write_file("kubepods/pod1/c1/cpu.max", "20000 100000\n");
	write_file("kubepods/pod1/c1/cpu.weight", "4\n");
	write_file("kubepods/pod1/cpu.weight", "4\n");
}

static void remove_tree(void)
{
	char cmd[600];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", root);
	ck_assert_int_eq(system(cmd), 0);
	strcpy(root, "/tmp/snug-actuate-XXXXXX");
}

/* make_tree() with a directory where the pod's memory.max should be: writing it fails. */
static void make_tree_pod_memory_max_unwritable(void)
{
	char p[512];

	make_tree();
	snprintf(p, sizeof(p), "%s/kubepods/pod1/memory.max", root);
	ck_assert_int_eq(unlink(p), 0);
	ck_assert_int_eq(mkdir(p, 0755), 0);
}

static struct act_cgroup_target target(void)
{
	return (struct act_cgroup_target){ .backend = cg_limits_backend_of(CG_DRIVER_CGROUPFS),
					   .pod_path = "kubepods/pod1",
					   .container_path = "kubepods/pod1/c1",
					   .container_weight_formula = CG_WEIGHT_LOG };
}

static void on_written(int r, void *userdata)
{
	*(int *)userdata = r;
}

/* act_write_cgroups() through a limit writer of tree t; on the cgroupfs driver the writes are
 * done when it returns. Returns their result. */
static int write_cgroups(struct cg_tree *t, const struct act_cgroup_target *tg,
			 const struct decide_decision *d)
{
	struct cg_limits *l;
	sd_event *e;
	int result = -EINPROGRESS;

	ck_assert_int_eq(sd_event_new(&e), 0);
	ck_assert_int_eq(cg_limits_new(t, e, &l), 0);
	ck_assert_int_eq(act_write_cgroups(l, tg, d, on_written, &result), 0);
	ck_assert_int_ne(result, -EINPROGRESS);
	cg_limits_free(l);
	sd_event_unref(e);
	return result;
}

START_TEST(test_grow_writes_kubelet_values)
{
	struct cg_tree *t;
	struct decide_decision d = {
		.kind = DECIDE_OOM,
		.n_steps = 4,
		.steps = {
			{ DECIDE_LEVEL_POD, DECIDE_FILE_MEMORY_MAX, 268435456, 402653184 },
			{ DECIDE_LEVEL_CONTAINER, DECIDE_FILE_MEMORY_MAX, 268435456, 402653184 },
			{ DECIDE_LEVEL_POD, DECIDE_FILE_CPU_MAX, 200, 300 },
			{ DECIDE_LEVEL_CONTAINER, DECIDE_FILE_CPU_WEIGHT, 100, 1000 },
		},
	};
	char buf[64];
	struct act_cgroup_target tg;

	make_tree();
	ck_assert_int_eq(cg_tree_open(root, &t), 0);
	tg = target();
	ck_assert_int_eq(write_cgroups(t, &tg, &d), 0);
	read_file("kubepods/pod1/memory.max", buf, sizeof(buf));
	ck_assert_str_eq(buf, "402653184\n");
	read_file("kubepods/pod1/c1/memory.max", buf, sizeof(buf));
	ck_assert_str_eq(buf, "402653184\n");
	/* 300m → quota 30000 per 100 ms period, as kubelet writes it. */
	read_file("kubepods/pod1/cpu.max", buf, sizeof(buf));
	ck_assert_str_eq(buf, "30000 100000\n");
	/* 1000m → 1024 shares → weight 100 with the runtime's log formula. */
	read_file("kubepods/pod1/c1/cpu.weight", buf, sizeof(buf));
	ck_assert_str_eq(buf, "100\n");
	cg_tree_free(t);
	remove_tree();
}
END_TEST

/* Growing: the pod cgroup first. When it cannot be written, the container must not be raised above
 * its pod (the kernel would refuse or the pod limit would cap it), so nothing else is written. */
START_TEST(test_grow_stops_when_pod_write_fails)
{
	struct cg_tree *t;
	struct decide_decision d = {
		.kind = DECIDE_OOM,
		.n_steps = 2,
		.steps = {
			{ DECIDE_LEVEL_POD, DECIDE_FILE_MEMORY_MAX, 268435456, 402653184 },
			{ DECIDE_LEVEL_CONTAINER, DECIDE_FILE_MEMORY_MAX, 268435456, 402653184 },
		},
	};
	char buf[64];
	struct act_cgroup_target tg;

	make_tree_pod_memory_max_unwritable();
	ck_assert_int_eq(cg_tree_open(root, &t), 0);
	tg = target();
	ck_assert_int_lt(write_cgroups(t, &tg, &d), 0);
	read_file("kubepods/pod1/c1/memory.max", buf, sizeof(buf));
	ck_assert_str_eq(buf, "268435456\n");
	cg_tree_free(t);
	remove_tree();
}
END_TEST

/* Shrinking: the container first, then the pod. */
START_TEST(test_shrink_writes_container_first)
{
	struct cg_tree *t;
	struct decide_decision d = {
		.kind = DECIDE_RECOMMENDATION,
		.n_steps = 2,
		.steps = {
			{ DECIDE_LEVEL_CONTAINER, DECIDE_FILE_MEMORY_MAX, 268435456, 134217728 },
			{ DECIDE_LEVEL_POD, DECIDE_FILE_MEMORY_MAX, 268435456, 134217728 },
		},
	};
	char buf[64];
	struct act_cgroup_target tg;

	make_tree_pod_memory_max_unwritable();
	ck_assert_int_eq(cg_tree_open(root, &t), 0);
	tg = target();
	ck_assert_int_lt(write_cgroups(t, &tg, &d), 0);
	read_file("kubepods/pod1/c1/memory.max", buf, sizeof(buf));
	ck_assert_str_eq(buf, "134217728\n");
	cg_tree_free(t);
	remove_tree();
}
END_TEST

START_TEST(test_dry_run_writes_nothing)
{
	struct cg_tree *t;
	struct decide_decision d = {
		.kind = DECIDE_OOM,
		.n_steps = 1,
		.steps = { { DECIDE_LEVEL_CONTAINER, DECIDE_FILE_MEMORY_MAX, 268435456,
			     402653184 } },
	};
	char buf[64];
	struct act_cgroup_target tg;

	make_tree();
	ck_assert_int_eq(cg_tree_open(root, &t), 0);
	tg = target();
	tg.dry_run = true;
	ck_assert_int_eq(write_cgroups(t, &tg, &d), 0);
	read_file("kubepods/pod1/c1/memory.max", buf, sizeof(buf));
	ck_assert_str_eq(buf, "268435456\n");
	cg_tree_free(t);
	remove_tree();
}
END_TEST

/* Decide's values become the files' units: -1 is "max", a CPU request is the weight the kubelet
 * (pod) or the node's runtime (container) gives it, and only a lowered memory.max is kept above
 * the cgroup's usage. */
START_TEST(test_steps_as_limit_writes)
{
	struct decide_decision d = {
		.n_steps = 6,
		.steps = {
			{ DECIDE_LEVEL_POD, DECIDE_FILE_MEMORY_MAX, 268435456, -1 },
			{ DECIDE_LEVEL_CONTAINER, DECIDE_FILE_MEMORY_MAX, 268435456, 134217728 },
			{ DECIDE_LEVEL_CONTAINER, DECIDE_FILE_MEMORY_MAX, -1, 134217728 },
			{ DECIDE_LEVEL_POD, DECIDE_FILE_CPU_MAX, 200, -1 },
			{ DECIDE_LEVEL_POD, DECIDE_FILE_CPU_WEIGHT, 100, 1000 },
			{ DECIDE_LEVEL_CONTAINER, DECIDE_FILE_CPU_WEIGHT, 100, 1000 },
		},
	};
	struct act_cgroup_target tg = target();
	struct cg_limit_write w[DECIDE_MAX_STEPS];

	ck_assert_int_eq(act_limit_writes(&tg, &d, w), 6);
	ck_assert_str_eq(w[0].path, "kubepods/pod1");
	ck_assert_int_eq(w[0].limit, CG_LIMIT_MEMORY_MAX);
	ck_assert_uint_eq(w[0].value, CG_UNLIMITED);
	ck_assert(!w[0].not_below_usage);
	ck_assert_str_eq(w[1].path, "kubepods/pod1/c1");
	ck_assert_uint_eq(w[1].value, 134217728);
	ck_assert(w[1].not_below_usage);
	ck_assert(w[2].not_below_usage); /* from no limit at all */
	ck_assert_int_eq(w[3].limit, CG_LIMIT_CPU_MAX);
	ck_assert_uint_eq(w[3].value, CG_UNLIMITED);
	ck_assert_int_eq(w[4].limit, CG_LIMIT_CPU_WEIGHT);
	ck_assert_uint_eq(w[4].value, 39);  /* 1024 shares, kubelet's formula */
	ck_assert_uint_eq(w[5].value, 100); /* the runtime's log formula */
	tg.container_path = NULL;
	ck_assert_int_eq(act_limit_writes(&tg, &d, w), -ENOENT);
}
END_TEST

/* On the systemd driver the same grow goes to systemd as unit properties, pod first, one call at a
 * time (t_60_systemd.sh checks the same values against a real systemd). */
START_TEST(test_systemd_grow_sets_unit_properties)
{
	static const char *const units[] = { "kubepods-burstable-pod1.slice",
					     "cri-containerd-1.scope", NULL };
	struct decide_decision d = {
		.kind = DECIDE_OOM,
		.n_steps = 4,
		.steps = {
			{ DECIDE_LEVEL_POD, DECIDE_FILE_MEMORY_MAX, 268435456, 536870912 },
			{ DECIDE_LEVEL_CONTAINER, DECIDE_FILE_MEMORY_MAX, 134217728, 402653184 },
			{ DECIDE_LEVEL_POD, DECIDE_FILE_CPU_WEIGHT, 400, 600 },
			{ DECIDE_LEVEL_CONTAINER, DECIDE_FILE_CPU_MAX, 200, 300 },
		},
	};
	struct act_cgroup_target tg = {
		.backend = cg_limits_backend_of(CG_DRIVER_SYSTEMD),
		.pod_path = "kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod1.slice",
		.container_path = "kubepods.slice/kubepods-burstable.slice/"
				  "kubepods-burstable-pod1.slice/cri-containerd-1.scope",
		.container_weight_formula = CG_WEIGHT_LOG,
	};
	struct fake_systemd *f;
	struct cg_limits *l;
	struct cg_tree *t;
	sd_bus *client;
	sd_event *e;
	int result = -EINPROGRESS;

	make_tree();
	ck_assert_int_eq(cg_tree_open(root, &t), 0);
	ck_assert_int_eq(sd_event_new(&e), 0);
	ck_assert_int_eq(cg_limits_new(t, e, &l), 0);
	f = fake_systemd_new(e, units, &client);
	ck_assert_int_eq(cg_limits_set_bus(l, client), 0);
	sd_bus_unref(client);
	ck_assert_int_eq(act_write_cgroups(l, &tg, &d, on_written, &result), 0);
	while (result == -EINPROGRESS)
		ck_assert_int_ge(sd_event_run(e, 10 * 1000 * 1000), 1);
	ck_assert_int_eq(result, 0);
	ck_assert_uint_eq(fake_systemd_n_calls(f), 4);
	ck_assert_str_eq(fake_systemd_call(f, 0)->unit, "kubepods-burstable-pod1.slice");
	ck_assert_uint_eq(fake_systemd_prop(f, 0, "MemoryMax"), 536870912);
	ck_assert_str_eq(fake_systemd_call(f, 1)->unit, "cri-containerd-1.scope");
	ck_assert_uint_eq(fake_systemd_prop(f, 1, "MemoryMax"), 402653184);
	ck_assert_uint_eq(fake_systemd_prop(f, 2, "CPUWeight"), 24); /* 600m, kubelet's formula */
	ck_assert_uint_eq(fake_systemd_prop(f, 3, "CPUQuotaPerSecUSec"), 300000);
	ck_assert_uint_eq(fake_systemd_prop(f, 3, "CPUQuotaPeriodUSec"), 100000);
	cg_limits_free(l);
	fake_systemd_free(f);
	sd_event_unref(e);
	cg_tree_free(t);
	remove_tree();
}
END_TEST

/* A refused resize is undone by writing its steps backwards: a grow that went pod-first is put
 * back container-first, each file to its old value, and the tree ends as it began. */
START_TEST(test_revert_restores_in_reverse)
{
	struct cg_tree *t;
	struct decide_decision d = {
		.kind = DECIDE_OOM,
		.old_res = { 100, 200, 128 << 20, 256 << 20 },
		.new_res = { 100, 300, 128 << 20, 384 << 20 },
		.n_steps = 3,
		.steps = {
			{ DECIDE_LEVEL_POD, DECIDE_FILE_MEMORY_MAX, 268435456, 402653184 },
			{ DECIDE_LEVEL_CONTAINER, DECIDE_FILE_MEMORY_MAX, 268435456, 402653184 },
			{ DECIDE_LEVEL_POD, DECIDE_FILE_CPU_MAX, 200, 300 },
		},
	}, undo;
	char buf[64];
	struct act_cgroup_target tg;

	act_revert_of(&d, &undo);
	ck_assert_uint_eq(undo.n_steps, 3);
	ck_assert_int_eq(undo.steps[0].file, DECIDE_FILE_CPU_MAX);
	ck_assert_int_eq(undo.steps[0].value, 200);
	ck_assert_int_eq(undo.steps[1].level, DECIDE_LEVEL_CONTAINER);
	ck_assert_int_eq(undo.steps[1].value, 268435456);
	ck_assert_int_eq(undo.steps[2].level, DECIDE_LEVEL_POD);
	ck_assert_int_eq(undo.steps[2].old_value, 402653184);
	ck_assert_int_eq(undo.new_res.memory_limit, 256 << 20);
	ck_assert_int_eq(undo.old_res.memory_limit, 384 << 20);

	make_tree();
	ck_assert_int_eq(cg_tree_open(root, &t), 0);
	tg = target();
	ck_assert_int_eq(write_cgroups(t, &tg, &d), 0);
	read_file("kubepods/pod1/c1/memory.max", buf, sizeof(buf));
	ck_assert_str_eq(buf, "402653184\n");
	ck_assert_int_eq(write_cgroups(t, &tg, &undo), 0);
	read_file("kubepods/pod1/memory.max", buf, sizeof(buf));
	ck_assert_str_eq(buf, "268435456\n");
	read_file("kubepods/pod1/c1/memory.max", buf, sizeof(buf));
	ck_assert_str_eq(buf, "268435456\n");
	read_file("kubepods/pod1/cpu.max", buf, sizeof(buf));
	ck_assert_str_eq(buf, "20000 100000\n");
	cg_tree_free(t);
	remove_tree();
}
END_TEST

/* A memory.max is never lowered under what the cgroup uses now: the kernel would reclaim, then
 * OOM-kill. Raising it is always written. */
START_TEST(test_memory_max_never_below_usage)
{
	struct cg_tree *t;
	struct decide_decision d = {
		.kind = DECIDE_RECOMMENDATION,
		.n_steps = 2,
		.steps = {
			{ DECIDE_LEVEL_CONTAINER, DECIDE_FILE_MEMORY_MAX, 268435456, 134217728 },
			{ DECIDE_LEVEL_POD, DECIDE_FILE_MEMORY_MAX, 268435456, 134217728 },
		},
	};
	char buf[64];
	struct act_cgroup_target tg;

	make_tree();
	write_file("kubepods/pod1/c1/memory.current", "104857600\n"); /* 100Mi: fits */
	write_file("kubepods/pod1/memory.current", "209715200\n");    /* 200Mi: does not */
	ck_assert_int_eq(cg_tree_open(root, &t), 0);
	tg = target();
	ck_assert_int_eq(write_cgroups(t, &tg, &d), 0);
	read_file("kubepods/pod1/c1/memory.max", buf, sizeof(buf));
	ck_assert_str_eq(buf, "134217728\n");
	read_file("kubepods/pod1/memory.max", buf, sizeof(buf));
	ck_assert_str_eq(buf, "268435456\n");
	cg_tree_free(t);
	remove_tree();
}
END_TEST

START_TEST(test_drop_steps)
{
	struct decide_decision d = {
		.n_steps = 4,
		.steps = {
			{ DECIDE_LEVEL_POD, DECIDE_FILE_CPU_MAX, 200, 300 },
			{ DECIDE_LEVEL_CONTAINER, DECIDE_FILE_CPU_MAX, 200, 300 },
			{ DECIDE_LEVEL_CONTAINER, DECIDE_FILE_CPU_WEIGHT, 100, 150 },
			{ DECIDE_LEVEL_POD, DECIDE_FILE_CPU_WEIGHT, 100, 150 },
		},
	};

	act_drop_steps(&d, DECIDE_LEVEL_CONTAINER, DECIDE_FILE_CPU_MAX);
	ck_assert_uint_eq(d.n_steps, 3);
	ck_assert_int_eq(d.steps[0].level, DECIDE_LEVEL_POD);
	ck_assert_int_eq(d.steps[1].file, DECIDE_FILE_CPU_WEIGHT);
	ck_assert_int_eq(d.steps[1].level, DECIDE_LEVEL_CONTAINER);
	act_drop_steps(&d, DECIDE_LEVEL_POD, DECIDE_FILE_CPU_MAX);
	act_drop_steps(&d, DECIDE_LEVEL_POD, DECIDE_FILE_CPU_MAX);
	ck_assert_uint_eq(d.n_steps, 2);
	ck_assert_int_eq(d.steps[1].level, DECIDE_LEVEL_POD);
}
END_TEST

Suite *actuate_suite(void)
{
	Suite *s = suite_create("actuate");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_grow_writes_kubelet_values);
	tcase_add_test(tc, test_grow_stops_when_pod_write_fails);
	tcase_add_test(tc, test_shrink_writes_container_first);
	tcase_add_test(tc, test_dry_run_writes_nothing);
	tcase_add_test(tc, test_steps_as_limit_writes);
	tcase_add_test(tc, test_systemd_grow_sets_unit_properties);
	tcase_add_test(tc, test_revert_restores_in_reverse);
	tcase_add_test(tc, test_memory_max_never_below_usage);
	tcase_add_test(tc, test_drop_steps);
	suite_add_tcase(s, tc);
	return s;
}
