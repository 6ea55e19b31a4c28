/* Unit tests for writing a decision into cgroups: kubelet's values, the safe order, systemd properties. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "agent/actuate.h"
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

static struct act_cgroup_target target(struct cg_tree *t)
{
	return (struct act_cgroup_target){ .tree = t,
					   .driver = CG_DRIVER_CGROUPFS,
					   .pod_path = "kubepods/pod1",
					   .container_path = "kubepods/pod1/c1",
					   .container_weight_formula = CG_WEIGHT_LOG };
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
	tg = target(t);
	ck_assert_int_eq(act_write_cgroups(&tg, &d), 0);
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
	tg = target(t);
	ck_assert_int_lt(act_write_cgroups(&tg, &d), 0);
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
	tg = target(t);
	ck_assert_int_lt(act_write_cgroups(&tg, &d), 0);
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
	tg = target(t);
	tg.dry_run = true;
	ck_assert_int_eq(act_write_cgroups(&tg, &d), 0);
	read_file("kubepods/pod1/c1/memory.max", buf, sizeof(buf));
	ck_assert_str_eq(buf, "268435456\n");
	cg_tree_free(t);
	remove_tree();
}
END_TEST

/* The systemd driver gets the same limits as unit properties (crun's mapping). */
START_TEST(test_systemd_properties)
{
	struct act_unit_property p[2];
	struct decide_step cpu = { DECIDE_LEVEL_CONTAINER, DECIDE_FILE_CPU_MAX, 200, 250 };
	struct decide_step nocpu = { DECIDE_LEVEL_CONTAINER, DECIDE_FILE_CPU_MAX, 200, -1 };
	struct decide_step mem = { DECIDE_LEVEL_POD, DECIDE_FILE_MEMORY_MAX, 1, 536870912 };
	struct decide_step nomem = { DECIDE_LEVEL_POD, DECIDE_FILE_MEMORY_MAX, 1, -1 };
	struct decide_step w = { DECIDE_LEVEL_POD, DECIDE_FILE_CPU_WEIGHT, 1, 1000 };

	ck_assert_int_eq(act_step_unit_properties(&cpu, CG_WEIGHT_KUBELET, p), 2);
	ck_assert_str_eq(p[0].name, "CPUQuotaPerSecUSec");
	ck_assert_uint_eq(p[0].value, 250000); /* 250m = 250 ms of CPU per second */
	ck_assert_str_eq(p[1].name, "CPUQuotaPeriodUSec");
	ck_assert_uint_eq(p[1].value, 100000);
	/* 675m: systemd would keep only 67% across daemon-reload; 680 ms, never under 675m. */
	cpu.value = 675;
	ck_assert_int_eq(act_step_unit_properties(&cpu, CG_WEIGHT_KUBELET, p), 2);
	ck_assert_uint_eq(p[0].value, 680000);
	cpu.value = 1001;
	ck_assert_int_eq(act_step_unit_properties(&cpu, CG_WEIGHT_KUBELET, p), 2);
	ck_assert_uint_eq(p[0].value, 1010000);
	cpu.value = 1; /* the kernel's 1 ms minimum quota per period: 10 ms per second */
	ck_assert_int_eq(act_step_unit_properties(&cpu, CG_WEIGHT_KUBELET, p), 2);
	ck_assert_uint_eq(p[0].value, 10000);
	ck_assert_int_eq(act_step_unit_properties(&nocpu, CG_WEIGHT_KUBELET, p), 2);
	ck_assert_uint_eq(p[0].value, UINT64_MAX);
	ck_assert_int_eq(act_step_unit_properties(&mem, CG_WEIGHT_KUBELET, p), 1);
	ck_assert_str_eq(p[0].name, "MemoryMax");
	ck_assert_uint_eq(p[0].value, 536870912);
	ck_assert_int_eq(act_step_unit_properties(&nomem, CG_WEIGHT_KUBELET, p), 1);
	ck_assert_uint_eq(p[0].value, UINT64_MAX);
	ck_assert_int_eq(act_step_unit_properties(&w, CG_WEIGHT_KUBELET, p), 1);
	ck_assert_str_eq(p[0].name, "CPUWeight");
	ck_assert_uint_eq(p[0].value, 39); /* 1024 shares, kubelet's formula */
	ck_assert_int_eq(act_step_unit_properties(&w, CG_WEIGHT_LOG, p), 1);
	ck_assert_uint_eq(p[0].value, 100);
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
	tg = target(t);
	ck_assert_int_eq(act_write_cgroups(&tg, &d), 0);
	read_file("kubepods/pod1/c1/memory.max", buf, sizeof(buf));
	ck_assert_str_eq(buf, "402653184\n");
	ck_assert_int_eq(act_write_cgroups(&tg, &undo), 0);
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
	tg = target(t);
	ck_assert_int_eq(act_write_cgroups(&tg, &d), 0);
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
	tcase_add_test(tc, test_systemd_properties);
	tcase_add_test(tc, test_revert_restores_in_reverse);
	tcase_add_test(tc, test_memory_max_never_below_usage);
	tcase_add_test(tc, test_drop_steps);
	suite_add_tcase(s, tc);
	return s;
}
