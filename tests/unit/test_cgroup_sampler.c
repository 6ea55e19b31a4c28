/* Unit tests for cgroup/sampler on fake trees: every mode reads the same values, errors stay per container. */
#include "tests/unit/unit.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "agent/util/cleanup.h"
#include "cgroup/layout.h"
#include "cgroup/sampler.h"
#include "tests/unit/cgroup_fake.h"

#define A                                                                                          \
	"kubepods/burstable/pod11111111-2222-3333-4444-555555555555/"                              \
	"1111111111111111111111111111111111111111111111111111111111111111"
#define B                                                                                          \
	"kubepods/burstable/pod11111111-2222-3333-4444-555555555555/"                              \
	"2222222222222222222222222222222222222222222222222222222222222222"
#define C                                                                                          \
	"kubepods/besteffort/podaaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee/"                             \
	"3333333333333333333333333333333333333333333333333333333333333333"

static const struct fake_values va = {
	.usage_usec = 5000000,
	.nr_periods = 100,
	.nr_throttled = 40,
	.throttled_usec = 123456,
	.memory_current = 100 << 20,
	.memory_peak = 150 << 20,
	.inactive_file = 30 << 20,
	.oom_kill = 2,
	.cpu_psi_total = 777,
	.memory_psi_total = 888,
	.cpu_max = "50000 100000",
	.memory_max = "268435456",
	.cpu_weight = 39,
};
static const struct fake_values vb = { .usage_usec = 1, .memory_current = 4096, .no_peak = 1 };
static const struct fake_values vc = { .usage_usec = 42,
				       .memory_current = 1 << 20,
				       .inactive_file = 2 << 20 };

static char *make_tree(void)
{
	char *root = fake_tree_new();

	fake_cgroup(root, A, &va);
	fake_cgroup(root, B, &vb);
	fake_cgroup(root, C, &vc);
	return root;
}

/* Samples the three containers once in `mode` and checks every value against the files. */
static void check_mode(enum cg_sampler_mode mode)
{
	_cleanup_free_ char *root = make_tree();
	_cleanup_(cg_tree_freep) struct cg_tree *t = NULL;
	_cleanup_(cg_sampler_freep) struct cg_sampler *s = NULL;
	struct cg_sampler_entry *ea, *eb, *ec;
	const struct cg_sample *a, *b, *c;

	ck_assert_int_eq(cg_tree_open(root, &t), 0);
	ck_assert_int_eq(cg_sampler_new(t, mode, CG_FILES_ALL, &s), 0);
	ck_assert_int_eq(cg_sampler_mode(s), mode);
	ck_assert_int_eq(cg_sampler_add(s, A, (void *)0xa, &ea), 0);
	ck_assert_int_eq(cg_sampler_add(s, B, NULL, &eb), 0);
	ck_assert_int_eq(cg_sampler_add(s, C, NULL, &ec), 0);
	ck_assert_uint_eq(cg_sampler_n_entries(s), 3);
	ck_assert_int_eq(cg_sampler_entry_sample(ea)->error, -EAGAIN); /* not sampled yet */

	ck_assert_int_eq(cg_sampler_tick(s), 3);
	a = cg_sampler_entry_sample(ea);
	ck_assert_int_eq(a->error, 0);
	ck_assert_uint_eq(a->present, CG_FILES_ALL);
	ck_assert_uint_eq(a->cpu.usage_usec, 5000000);
	ck_assert_uint_eq(a->cpu.user_usec, 3750000);
	ck_assert_uint_eq(a->cpu.system_usec, 1250000);
	ck_assert_uint_eq(a->cpu.nr_periods, 100);
	ck_assert_uint_eq(a->cpu.nr_throttled, 40);
	ck_assert_uint_eq(a->cpu.throttled_usec, 123456);
	ck_assert_uint_eq(a->memory_current, 100 << 20);
	ck_assert_uint_eq(a->memory_peak, 150 << 20);
	ck_assert_uint_eq(a->memory_working_set, 70 << 20);
	ck_assert_uint_eq(a->memory_events.oom_kill, 2);
	ck_assert_uint_eq(a->cpu_pressure.some.total_usec, 777);
	ck_assert_uint_eq(a->memory_pressure.some.total_usec, 888);
	ck_assert_uint_eq(a->memory_pressure.full.total_usec, 444);
	ck_assert_double_eq_tol(a->memory_pressure.some.avg10, 2.0, 1e-9);
	ck_assert_uint_eq(a->cpu_max.quota_usec, 50000);
	ck_assert_uint_eq(a->cpu_weight, 39);
	ck_assert_uint_eq(a->memory_max, 268435456);
	ck_assert_uint_eq(a->memory_high, CG_UNLIMITED);
	ck_assert_uint_gt(a->timestamp_usec, 0);
	ck_assert_ptr_eq(cg_sampler_entry_userdata(ea), (void *)0xa);
	ck_assert_str_eq(cg_sampler_entry_path(ea), A);

	/* No memory.peak (kernel < 5.19): the sample is fine, peak just is not present. */
	b = cg_sampler_entry_sample(eb);
	ck_assert_int_eq(b->error, 0);
	ck_assert(!(cg_sampler_entry_files(eb) & CG_FILE_BIT(CG_FILE_MEMORY_PEAK)));
	ck_assert(!(b->present & CG_FILE_BIT(CG_FILE_MEMORY_PEAK)));
	ck_assert_uint_eq(b->cpu.usage_usec, 1);
	ck_assert_uint_eq(b->cpu_max.quota_usec, CG_UNLIMITED);
	ck_assert_uint_eq(b->memory_max, CG_UNLIMITED);

	/* inactive_file above current (racy reads): working set clamps at 0. */
	c = cg_sampler_entry_sample(ec);
	ck_assert_int_eq(c->error, 0);
	ck_assert_uint_eq(c->memory_working_set, 0);

	/* The same kept fds see new content on the next tick. */
	fake_write(root, A "/cpu.stat",
		   "usage_usec 6000000\nuser_usec 1\nsystem_usec 2\nnr_periods 200\n"
		   "nr_throttled 90\nthrottled_usec 999999\nnr_bursts 0\nburst_usec 0\n");
	fake_write(root, A "/memory.events",
		   "low 0\nhigh 0\nmax 3\noom 3\noom_kill 3\noom_group_kill 0\n");
	ck_assert_int_eq(cg_sampler_tick(s), 3);
	ck_assert_uint_eq(a->cpu.usage_usec, 6000000);
	ck_assert_uint_eq(a->cpu.nr_throttled, 90);
	ck_assert_uint_eq(a->memory_events.oom_kill, 3);

	/* A garbled optional file costs only that part; a garbled cpu.stat fails that container. */
	fake_write(root, B "/memory.stat", "anon 1\nfile");
	fake_write(root, C "/cpu.stat", "usage_usec\n");
	ck_assert_int_eq(cg_sampler_tick(s), 2);
	ck_assert_int_eq(b->error, 0);
	ck_assert(!(b->present & CG_FILE_BIT(CG_FILE_MEMORY_STAT)));
	ck_assert_int_eq(b->parse_error, -EBADMSG);
	ck_assert_int_eq(c->error, -EBADMSG);
	ck_assert_int_eq(a->error, 0);

	/* Removing an entry leaves the others tracked. */
	cg_sampler_remove(s, eb);
	ck_assert_uint_eq(cg_sampler_n_entries(s), 2);
	ck_assert_int_eq(cg_sampler_tick(s), 1);
	ck_assert_uint_eq(a->cpu.usage_usec, 6000000);
	fake_tree_remove(root);
}

START_TEST(test_pread)
{
	check_mode(CG_SAMPLER_PREAD);
}
END_TEST

START_TEST(test_orc)
{
	check_mode(CG_SAMPLER_OPEN_READ_CLOSE);
}
END_TEST

START_TEST(test_uring)
{
	_cleanup_free_ char *root = fake_tree_new();
	_cleanup_(cg_tree_freep) struct cg_tree *t = NULL;
	struct cg_sampler *s = NULL;
	int r;

	ck_assert_int_eq(cg_tree_open(root, &t), 0);
	r = cg_sampler_new(t, CG_SAMPLER_URING, CG_FILES_ALL, &s);
	if (r < 0) {
		/* No io_uring here (ENOSYS, EPERM: seccomp or io_uring_disabled): AUTO must fall
		 * back to pread and still work. */
		fprintf(stderr,
			"*** io_uring unavailable here (%s): testing the AUTO→pread fallback "
			"instead ***\n",
			strerror(-r));
		ck_assert_int_eq(cg_sampler_new(t, CG_SAMPLER_AUTO, CG_FILES_ALL, &s), 0);
		ck_assert_int_eq(cg_sampler_mode(s), CG_SAMPLER_PREAD);
		cg_sampler_free(s);
		check_mode(CG_SAMPLER_PREAD);
	} else {
		cg_sampler_free(s);
		ck_assert_int_eq(cg_sampler_new(t, CG_SAMPLER_AUTO, CG_FILES_ALL, &s), 0);
		ck_assert_int_eq(cg_sampler_mode(s), CG_SAMPLER_URING);
		cg_sampler_free(s);
		check_mode(CG_SAMPLER_URING);
	}
	fake_tree_remove(root);
}
END_TEST

/* Many containers: 4400 reads, more than the largest ring (4096), so a tick spans ring refills. */
START_TEST(test_many)
{
	_cleanup_free_ char *root = fake_tree_new();
	_cleanup_(cg_tree_freep) struct cg_tree *t = NULL;
	enum cg_sampler_mode modes[] = { CG_SAMPLER_AUTO, CG_SAMPLER_PREAD,
					 CG_SAMPLER_OPEN_READ_CLOSE };
	char rel[256];

	for (int i = 0; i < 400; i++) {
		struct fake_values v = { .usage_usec = (uint64_t)i * 1000 + 7 };

		snprintf(rel, sizeof(rel),
			 "kubepods/besteffort/pod%08d-0000-0000-0000-000000000000/c", i);
		fake_cgroup(root, rel, &v);
	}
	ck_assert_int_eq(cg_tree_open(root, &t), 0);
	for (size_t m = 0; m < ELEMENTSOF(modes); m++) {
		_cleanup_(cg_sampler_freep) struct cg_sampler *s = NULL;

		ck_assert_int_eq(cg_sampler_new(t, modes[m], CG_FILES_ALL, &s), 0);
		for (int i = 0; i < 400; i++) {
			snprintf(rel, sizeof(rel),
				 "kubepods/besteffort/pod%08d-0000-0000-0000-000000000000/c", i);
			ck_assert_int_eq(cg_sampler_add(s, rel, (void *)(intptr_t)i, NULL), 0);
		}
		for (int k = 0; k < 2; k++) {
			ck_assert_int_eq(cg_sampler_tick(s), 400);
			for (size_t i = 0; i < 400; i++) {
				struct cg_sampler_entry *e = cg_sampler_entry_at(s, i);
				intptr_t n = (intptr_t)cg_sampler_entry_userdata(e);

				ck_assert_uint_eq(cg_sampler_entry_sample(e)->cpu.usage_usec,
						  (uint64_t)n * 1000 + 7);
			}
		}
	}
	fake_tree_remove(root);
}
END_TEST

/* A container exits between ticks: it alone reports -ENODEV; the others are sampled normally. */
static void check_vanish(enum cg_sampler_mode mode)
{
	_cleanup_free_ char *root = make_tree();
	_cleanup_(cg_tree_freep) struct cg_tree *t = NULL;
	_cleanup_(cg_sampler_freep) struct cg_sampler *s = NULL;
	struct cg_sampler_entry *ea, *eb, *ec;
	char path[4096];

	ck_assert_int_eq(cg_tree_open(root, &t), 0);
	ck_assert_int_eq(cg_sampler_new(t, mode, CG_FILES_ALL, &s), 0);
	ck_assert_int_eq(cg_sampler_add(s, A, NULL, &ea), 0);
	ck_assert_int_eq(cg_sampler_add(s, B, NULL, &eb), 0);
	ck_assert_int_eq(cg_sampler_add(s, C, NULL, &ec), 0);
	ck_assert_int_eq(cg_sampler_tick(s), 3);

	/* kernfs answers reads of a removed cgroup's open files with ENODEV. A plain file keeps its
	 * content after unlink, so the fake tree empties the file first: an empty read of an
	 * unlinked file is the test tree's equivalent. Open/read/close just sees ENOENT. */
	snprintf(path, sizeof(path), "%s/%s/cpu.stat", root, B);
	ck_assert_int_eq(truncate(path, 0), 0);
	ck_assert_int_eq(unlink(path), 0);
	ck_assert_int_eq(cg_sampler_tick(s), 2);
	ck_assert_int_eq(cg_sampler_entry_sample(eb)->error, -ENODEV);
	ck_assert_int_eq(cg_sampler_entry_sample(ea)->error, 0);
	ck_assert_int_eq(cg_sampler_entry_sample(ec)->error, 0);
	ck_assert_uint_eq(cg_sampler_entry_sample(ea)->cpu.usage_usec, 5000000);

	/* Adding a path that is gone, or invalid, fails cleanly. */
	snprintf(path, sizeof(path), "%s/%s", root, C);
	fake_tree_remove(path);
	ck_assert_int_eq(cg_sampler_add(s, C, NULL, NULL), -ENOENT);
	ck_assert_int_eq(cg_sampler_add(s, "kubepods/../..", NULL, NULL), -EINVAL);
	ck_assert_int_eq(cg_sampler_add(s, "/etc", NULL, NULL), -EINVAL);
	fake_tree_remove(root);
}

START_TEST(test_vanish)
{
	check_vanish(CG_SAMPLER_PREAD);
	check_vanish(CG_SAMPLER_OPEN_READ_CLOSE);
	check_vanish(CG_SAMPLER_AUTO);
}
END_TEST

/* The tree captured from a real 6.1 kernel: discovery finds its 3 containers, every mode reads the
 * same numbers from them. */
START_TEST(test_real_tree)
{
	const char *data = getenv("SNUG_TESTDATA");
	char root[4096];
	_cleanup_(cg_tree_freep) struct cg_tree *t = NULL;
	_cleanup_(cg_layout_freep) struct cg_layout *l = NULL;
	enum cg_sampler_mode modes[] = { CG_SAMPLER_AUTO, CG_SAMPLER_PREAD,
					 CG_SAMPLER_OPEN_READ_CLOSE };
	struct cg_sample first[3];
	struct cg_pod *const *pods;
	size_t n;

	snprintf(root, sizeof(root), "%s/cgroup/kernel-6.1/tree", data ? data : "tests/data");
	ck_assert_int_eq(cg_tree_open(root, &t), 0);
	ck_assert_int_eq(cg_layout_new(t, &l), 0);
	ck_assert_int_eq(cg_layout_scan(l, NULL, NULL), 0);
	pods = cg_layout_pods(l, &n);
	ck_assert_uint_eq(n, 2);
	ck_assert_uint_eq(cg_layout_n_containers(l), 3);
	for (size_t m = 0; m < ELEMENTSOF(modes); m++) {
		_cleanup_(cg_sampler_freep) struct cg_sampler *s = NULL;
		size_t k = 0;

		ck_assert_int_eq(cg_sampler_new(t, modes[m], CG_FILES_ALL, &s), 0);
		for (size_t i = 0; i < n; i++)
			for (size_t c = 0; c < pods[i]->n_containers; c++)
				ck_assert_int_eq(
					cg_sampler_add(s, pods[i]->containers[c]->path, NULL, NULL),
					0);
		ck_assert_int_eq(cg_sampler_tick(s), 3);
		for (k = 0; k < 3; k++) {
			struct cg_sample smp = *cg_sampler_entry_sample(cg_sampler_entry_at(s, k));

			ck_assert_uint_eq(smp.present, CG_FILES_ALL);
			smp.timestamp_usec = 0;
			if (m == 0)
				first[k] = smp;
			else {
				/* Field by field: struct padding is not ours to compare. */
				ck_assert_uint_eq(smp.cpu.usage_usec, first[k].cpu.usage_usec);
				ck_assert_uint_eq(smp.cpu.throttled_usec,
						  first[k].cpu.throttled_usec);
				ck_assert_uint_eq(smp.memory_current, first[k].memory_current);
				ck_assert_uint_eq(smp.memory_peak, first[k].memory_peak);
				ck_assert_uint_eq(smp.memory_working_set,
						  first[k].memory_working_set);
				ck_assert_uint_eq(smp.memory_stat.inactive_file,
						  first[k].memory_stat.inactive_file);
				ck_assert_uint_eq(smp.memory_events.oom_kill,
						  first[k].memory_events.oom_kill);
				ck_assert_uint_eq(smp.cpu_pressure.some.total_usec,
						  first[k].cpu_pressure.some.total_usec);
				ck_assert_uint_eq(smp.memory_pressure.full.total_usec,
						  first[k].memory_pressure.full.total_usec);
				ck_assert_uint_eq(smp.cpu_max.quota_usec,
						  first[k].cpu_max.quota_usec);
				ck_assert_uint_eq(smp.cpu_weight, first[k].cpu_weight);
				ck_assert_uint_eq(smp.memory_max, first[k].memory_max);
				ck_assert_uint_eq(smp.memory_high, first[k].memory_high);
			}
		}
	}
	/* The OOM-killed grower (Guaranteed pod 2) shows its kill. */
	ck_assert_uint_eq(first[2].memory_events.oom_kill, 1);
	ck_assert_uint_eq(first[2].memory_max, 32 << 20);
}
END_TEST

START_TEST(test_modes)
{
	enum cg_sampler_mode m;

	ck_assert_int_eq(cg_sampler_mode_from_string("uring", &m), 0);
	ck_assert_int_eq(m, CG_SAMPLER_URING);
	ck_assert_int_eq(cg_sampler_mode_from_string("orc", &m), 0);
	ck_assert_int_eq(m, CG_SAMPLER_OPEN_READ_CLOSE);
	ck_assert_int_eq(cg_sampler_mode_from_string("fast", &m), -EINVAL);
	ck_assert_str_eq(cg_sampler_mode_to_string(CG_SAMPLER_PREAD), "pread");
	ck_assert_str_eq(cg_file_name(CG_FILE_MEMORY_PRESSURE), "memory.pressure");
}
END_TEST

Suite *cgroup_sampler_suite(void)
{
	Suite *s = suite_create("cgroup_sampler");
	TCase *tc = tcase_create("sample");

	tcase_set_timeout(tc, 240);
	tcase_add_test(tc, test_pread);
	tcase_add_test(tc, test_orc);
	tcase_add_test(tc, test_uring);
	tcase_add_test(tc, test_many);
	tcase_add_test(tc, test_vanish);
	tcase_add_test(tc, test_real_tree);
	tcase_add_test(tc, test_modes);
	suite_add_tcase(s, tc);
	return s;
}
