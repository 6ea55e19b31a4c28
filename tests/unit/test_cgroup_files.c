/* Unit tests for cgroup/files and cgroup/tree: parsers on kernel text, bad input, writers, conversions. */
#include "tests/unit/unit.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "agent/util/cleanup.h"
#include "cgroup/files.h"
#include "cgroup/tree.h"
#include "tests/unit/cgroup_fake.h"

/* Loads tests/data/cgroup/NAME into a static buffer; returns its length. */
static size_t fixture(const char *name, const char **ret)
{
	static char buf[16384];
	const char *dir = getenv("SNUG_TESTDATA");
	char path[4096];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "%s/cgroup/%s", dir ? dir : "tests/data", name);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	ck_assert_msg(fd >= 0, "fixture %s: %m", path);
	n = read(fd, buf, sizeof(buf));
	close(fd);
	ck_assert_int_gt(n, 0);
	*ret = buf;
	return (size_t)n;
}

#define S(lit) lit, sizeof(lit) - 1

START_TEST(test_cpu_stat)
{
	struct cg_cpu_stat s;
	const char *t;
	size_t n = fixture("cpu.stat-6.1", &t);

	ck_assert_int_eq(cg_parse_cpu_stat(t, n, &s), 0);
	ck_assert_uint_eq(s.usage_usec, 2315493);
	ck_assert_uint_eq(s.user_usec, 1654321);
	ck_assert_uint_eq(s.system_usec, 661172);
	ck_assert_uint_eq(s.nr_periods, 1183);
	ck_assert_uint_eq(s.nr_throttled, 412);
	ck_assert_uint_eq(s.throttled_usec, 9876543);
	ck_assert(s.has_throttling);

	/* Without the cpu controller the kernel shows only the three core lines. */
	n = fixture("cpu.stat-nocontroller", &t);
	ck_assert_int_eq(cg_parse_cpu_stat(t, n, &s), 0);
	ck_assert_uint_eq(s.usage_usec, 2315493);
	ck_assert(!s.has_throttling);
	ck_assert_uint_eq(s.nr_throttled, 0);

	/* Unknown keys (newer kernels add lines) are ignored, whatever their value looks like. */
	ck_assert_int_eq(cg_parse_cpu_stat(S("usage_usec 5\nuser_usec 3\nsystem_usec 2\n"
					     "core_sched.force_idle_usec 0\nfuture x y\n"),
					   &s),
			 0);
	ck_assert_uint_eq(s.usage_usec, 5);
}
END_TEST

START_TEST(test_cpu_stat_bad)
{
	struct cg_cpu_stat s = { .usage_usec = 77 };

	ck_assert_int_eq(cg_parse_cpu_stat(S(""), &s), -EBADMSG);
	ck_assert_int_eq(cg_parse_cpu_stat(S("garbage"), &s), -EBADMSG);
	ck_assert_int_eq(cg_parse_cpu_stat(S("\x01\x02\n"), &s), -EBADMSG);
	/* Truncated mid-line: the kernel ends every line with '\n'. */
	ck_assert_int_eq(cg_parse_cpu_stat(S("usage_usec 5\nuser_usec 3\nsystem_usec 2"), &s),
			 -EBADMSG);
	ck_assert_int_eq(cg_parse_cpu_stat(S("usage_usec 5\nuser_usec 3\nsystem_usec "), &s),
			 -EBADMSG);
	ck_assert_int_eq(cg_parse_cpu_stat(S("usage_usec -5\nuser_usec 3\nsystem_usec 2\n"), &s),
			 -EBADMSG);
	ck_assert_int_eq(cg_parse_cpu_stat(S("usage_usec 5x\nuser_usec 3\nsystem_usec 2\n"), &s),
			 -EBADMSG);
	ck_assert_int_eq(cg_parse_cpu_stat(S("usage_usec 18446744073709551616\nuser_usec 3\n"
					     "system_usec 2\n"),
					   &s),
			 -ERANGE);
	ck_assert_int_eq(cg_parse_cpu_stat(S("user_usec 3\nsystem_usec 2\n"), &s), -ENOMSG);
	ck_assert_int_eq(cg_parse_cpu_stat(S("usage_usec max\nuser_usec 3\nsystem_usec 2\n"), &s),
			 -EBADMSG);
	/* Out-params are untouched on failure. */
	ck_assert_uint_eq(s.usage_usec, 77);
	ck_assert_int_eq(cg_parse_cpu_stat(S("usage_usec 18446744073709551615\nuser_usec 3\n"
					     "system_usec 2\n"),
					   &s),
			 0);
	ck_assert_uint_eq(s.usage_usec, UINT64_MAX);
}
END_TEST

START_TEST(test_cpu_max_weight)
{
	struct cg_cpu_max m;
	uint64_t w;

	ck_assert_int_eq(cg_parse_cpu_max(S("max 100000\n"), &m), 0);
	ck_assert_uint_eq(m.quota_usec, CG_UNLIMITED);
	ck_assert_uint_eq(m.period_usec, 100000);
	ck_assert_int_eq(cg_parse_cpu_max(S("50000 100000\n"), &m), 0);
	ck_assert_uint_eq(m.quota_usec, 50000);
	ck_assert_uint_eq(cg_cpu_max_to_millicores(&m), 500);
	ck_assert_int_eq(cg_parse_cpu_max(S("max\n"), &m), -EBADMSG);
	ck_assert_int_eq(cg_parse_cpu_max(S("50000  100000\n"), &m), -EBADMSG);
	ck_assert_int_eq(cg_parse_cpu_max(S("50000 0\n"), &m), -ERANGE);
	ck_assert_int_eq(cg_parse_cpu_max(S("maxx 100000\n"), &m), -EBADMSG);
	ck_assert_int_eq(cg_parse_cpu_max(S(""), &m), -EBADMSG);

	ck_assert_int_eq(cg_parse_cpu_weight(S("100\n"), &w), 0);
	ck_assert_uint_eq(w, 100);
	ck_assert_int_eq(cg_parse_cpu_weight(S("0\n"), &w), -ERANGE);
	ck_assert_int_eq(cg_parse_cpu_weight(S("10001\n"), &w), -ERANGE);
	ck_assert_int_eq(cg_parse_cpu_weight(S("max\n"), &w), -EBADMSG);
	ck_assert_int_eq(cg_parse_cpu_weight(S("1\n\n"), &w), -EBADMSG);
}
END_TEST

START_TEST(test_single_values)
{
	uint64_t v;

	ck_assert_int_eq(cg_parse_u64(S("36855808\n"), &v), 0);
	ck_assert_uint_eq(v, 36855808);
	ck_assert_int_eq(cg_parse_u64(S("max\n"), &v), -EBADMSG);
	ck_assert_int_eq(cg_parse_u64(S("\n"), &v), -EBADMSG);
	ck_assert_int_eq(cg_parse_u64(S("99999999999999999999\n"), &v), -ERANGE);
	ck_assert_int_eq(cg_parse_u64_or_max(S("max\n"), &v), 0);
	ck_assert_uint_eq(v, CG_UNLIMITED);
	ck_assert_int_eq(cg_parse_u64_or_max(S("268435456\n"), &v), 0);
	ck_assert_uint_eq(v, 268435456);
	ck_assert_int_eq(cg_parse_u64_or_max(S("ma\n"), &v), -EBADMSG);
	ck_assert_int_eq(cg_parse_u64_or_max(S("1 2\n"), &v), -EBADMSG);
}
END_TEST

START_TEST(test_memory_stat)
{
	struct cg_memory_stat s;
	const char *t;
	size_t n = fixture("memory.stat-6.1", &t);

	ck_assert_int_eq(cg_parse_memory_stat(t, n, &s), 0);
	ck_assert_uint_eq(s.anon, 10686464);
	ck_assert_uint_eq(s.file, 25763840);
	ck_assert_uint_eq(s.inactive_file, 18026496);
	ck_assert_uint_eq(s.active_file, 7737344);
	ck_assert_uint_eq(s.pgmajfault, 271);
	ck_assert_uint_eq(cg_working_set(36855808, s.inactive_file), 36855808 - 18026496);
	/* Working set never goes negative (inactive_file can exceed a racy current read). */
	ck_assert_uint_eq(cg_working_set(100, 4096), 0);

	ck_assert_int_eq(cg_parse_memory_stat(S("anon 1\nfile 2\nactive_file 3\n"), &s), -ENOMSG);
	ck_assert_int_eq(cg_parse_memory_stat(t, n - 1, &s), -EBADMSG); /* cut before last \n */
	ck_assert_int_eq(cg_parse_memory_stat(t, 100, &s), -EBADMSG);
}
END_TEST

START_TEST(test_memory_events)
{
	struct cg_memory_events e;
	const char *t;
	size_t n = fixture("memory.events-6.1", &t);

	ck_assert_int_eq(cg_parse_memory_events(t, n, &e), 0);
	ck_assert_uint_eq(e.max, 17);
	ck_assert_uint_eq(e.oom, 1);
	ck_assert_uint_eq(e.oom_kill, 1);
	ck_assert_uint_eq(e.oom_group_kill, 0);
	ck_assert_int_eq(cg_parse_memory_events(S("low 0\nhigh 0\nmax 0\noom 0\noom_kill 0\n"
						  "oom_group_kill 0\n"),
						&e),
			 0);
	/* Kernels before oom_group_kill existed. */
	ck_assert_int_eq(cg_parse_memory_events(S("low 0\nhigh 3\nmax 0\noom 0\noom_kill 2\n"), &e),
			 0);
	ck_assert_uint_eq(e.high, 3);
	ck_assert_uint_eq(e.oom_kill, 2);
	ck_assert_int_eq(cg_parse_memory_events(S("low 0\nhigh 0\nmax 0\noom 0\n"), &e), -ENOMSG);
	ck_assert_int_eq(cg_parse_memory_events(S("low 0\nhigh 0\nmax 0\noom 0\noom_kill x\n"), &e),
			 -EBADMSG);
}
END_TEST

START_TEST(test_pressure)
{
	struct cg_pressure p;
	const char *t;
	size_t n = fixture("memory.pressure-6.1", &t);

	ck_assert_int_eq(cg_parse_pressure(t, n, &p), 0);
	ck_assert_double_eq_tol(p.some.avg10, 12.05, 1e-9);
	ck_assert_double_eq_tol(p.some.avg60, 3.40, 1e-9);
	ck_assert_double_eq_tol(p.some.avg300, 0.75, 1e-9);
	ck_assert_uint_eq(p.some.total_usec, 1234567);
	ck_assert(p.has_full);
	ck_assert_double_eq_tol(p.full.avg10, 10.11, 1e-9);
	ck_assert_uint_eq(p.full.total_usec, 1034567);

	n = fixture("cpu.pressure-6.1", &t);
	ck_assert_int_eq(cg_parse_pressure(t, n, &p), 0);
	ck_assert_double_eq_tol(p.some.avg10, 1.52, 1e-9);
	ck_assert_uint_eq(p.some.total_usec, 4821337);

	n = fixture("cpu.pressure-5.10", &t);
	ck_assert_int_eq(cg_parse_pressure(t, n, &p), 0);
	ck_assert(!p.has_full);

	ck_assert_int_eq(cg_parse_pressure(S("some avg10=0.00 avg60=0.00 avg300=0.00 total=0\n"
					     "full avg10=0.00 avg60=0.00 avg300=0.00 total=0\n"),
					   &p),
			 0);
	ck_assert_uint_eq(p.some.total_usec, 0);
	ck_assert_int_eq(
		cg_parse_pressure(S("full avg10=0.00 avg60=0.00 avg300=0.00 total=0\n"), &p),
		-ENOMSG);
	ck_assert_int_eq(cg_parse_pressure(S("some avg10=0.00 avg60=0.00 total=0\n"), &p), -ENOMSG);
	ck_assert_int_eq(cg_parse_pressure(S("some avg10=0.00 avg60=0.00 avg300=0.00 total=1"), &p),
			 -EBADMSG);
	ck_assert_int_eq(
		cg_parse_pressure(S("some avg10=abc avg60=0.00 avg300=0.00 total=1\n"), &p),
		-EBADMSG);
	ck_assert_int_eq(cg_parse_pressure(S("some avg10=1. avg60=0.00 avg300=0.00 total=1\n"), &p),
			 -EBADMSG);
	ck_assert_int_eq(cg_parse_pressure(S("some avg10=0.00 avg60=0.00 avg300=0.00 "
					     "total=99999999999999999999\n"),
					   &p),
			 -ERANGE);
	ck_assert_int_eq(cg_parse_pressure(S("garbage\n"), &p), -EBADMSG);
}
END_TEST

START_TEST(test_read_at_missing_and_vanished)
{
	_cleanup_free_ char *root = fake_tree_new();
	_cleanup_close_ int dfd = -1;
	struct cg_cpu_stat cs;
	uint64_t v;
	char path[4096];
	struct fake_values fv = { .usage_usec = 1000, .memory_current = 4096, .no_peak = 1 };

	fake_cgroup(root, "c", &fv);
	snprintf(path, sizeof(path), "%s/c", root);
	dfd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	ck_assert_int_ge(dfd, 0);

	ck_assert_int_eq(cg_read_cpu_stat_at(dfd, &cs), 0);
	ck_assert_uint_eq(cs.usage_usec, 1000);
	ck_assert_int_eq(cg_read_u64_at(dfd, "memory.current", &v), 0);
	ck_assert_uint_eq(v, 4096);
	/* memory.peak absent (kernel before 5.19) is "missing", not "vanished". */
	ck_assert_int_eq(cg_read_u64_at(dfd, "memory.peak", &v), -ENOENT);
	ck_assert_int_eq(cg_read_u64_or_max_at(dfd, "memory.max", &v), 0);
	ck_assert_uint_eq(v, CG_UNLIMITED);

	/* The whole cgroup removed (container exited) while we hold its fd → -ENODEV. */
	fake_tree_remove(path);
	ck_assert_int_eq(cg_read_cpu_stat_at(dfd, &cs), -ENODEV);
	ck_assert_int_eq(cg_read_u64_at(dfd, "memory.peak", &v), -ENODEV);
	ck_assert_int_eq(cg_write_cpu_weight(dfd, 50), -ENODEV);
	/* kernfs reports ENODEV on a read of a removed file's open fd. */
	ck_assert_int_eq(cg_read_errno(ENODEV), -ENODEV);
	ck_assert_int_eq(cg_read_errno(ENOENT), -ENODEV);
	ck_assert_int_eq(cg_read_errno(EIO), -EIO);
	fake_tree_remove(root);
}
END_TEST

START_TEST(test_read_too_big)
{
	_cleanup_free_ char *root = fake_tree_new();
	_cleanup_close_ int dfd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	char big[2048], buf[64];

	memset(big, '1', sizeof(big) - 2);
	big[sizeof(big) - 2] = '\n';
	big[sizeof(big) - 1] = '\0';
	fake_write(root, "memory.current", big);
	ck_assert_int_eq(cg_read_file_at(dfd, "memory.current", buf, sizeof(buf)), -ENOBUFS);
	fake_write(root, "memory.current", "123\n");
	ck_assert_int_eq(cg_read_file_at(dfd, "memory.current", buf, 5), 4);
	ck_assert_str_eq(buf, "123\n");
	fake_tree_remove(root);
}
END_TEST

START_TEST(test_writers)
{
	_cleanup_free_ char *root = fake_tree_new();
	_cleanup_close_ int dfd = -1;
	struct cg_cpu_max m;
	uint64_t v;

	fake_cgroup(root, "c", NULL);
	{
		char p[4096];
		snprintf(p, sizeof(p), "%s/c", root);
		dfd = open(p, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	}
	ck_assert_int_ge(dfd, 0);

	ck_assert_int_eq(cg_write_cpu_max(dfd, 50000, 100000), 0);
	ck_assert_str_eq(fake_read(root, "c/cpu.max"), "50000 100000\n");
	ck_assert_int_eq(cg_read_cpu_max_at(dfd, &m), 0);
	ck_assert_uint_eq(m.quota_usec, 50000);
	ck_assert_int_eq(cg_write_cpu_max(dfd, CG_UNLIMITED, 100000), 0);
	ck_assert_str_eq(fake_read(root, "c/cpu.max"), "max 100000\n");
	ck_assert_int_eq(cg_write_cpu_max(dfd, 999, 100000), -ERANGE);
	ck_assert_int_eq(cg_write_cpu_max(dfd, 50000, 0), -ERANGE);
	ck_assert_str_eq(fake_read(root, "c/cpu.max"), "max 100000\n");

	ck_assert_int_eq(cg_write_cpu_weight(dfd, 39), 0);
	ck_assert_str_eq(fake_read(root, "c/cpu.weight"), "39\n");
	ck_assert_int_eq(cg_write_cpu_weight(dfd, 0), -ERANGE);
	ck_assert_int_eq(cg_write_cpu_weight(dfd, 10001), -ERANGE);

	ck_assert_int_eq(cg_write_memory_max(dfd, 268435456), 0);
	ck_assert_str_eq(fake_read(root, "c/memory.max"), "268435456\n");
	ck_assert_int_eq(cg_read_u64_or_max_at(dfd, "memory.max", &v), 0);
	ck_assert_uint_eq(v, 268435456);
	ck_assert_int_eq(cg_write_memory_max(dfd, CG_UNLIMITED), 0);
	ck_assert_str_eq(fake_read(root, "c/memory.max"), "max\n");
	ck_assert_int_eq(cg_write_memory_high(dfd, 1 << 20), 0);
	ck_assert_str_eq(fake_read(root, "c/memory.high"), "1048576\n");

	/* A writer never creates a file that is not there: no such knob → -ENOENT. */
	unlink(strcat(strcpy((char[4096]){ 0 }, root), "/c/memory.high"));
	ck_assert_int_eq(cg_write_memory_high(dfd, 1 << 20), -ENOENT);
	fake_tree_remove(root);
}
END_TEST

START_TEST(test_conversions)
{
	struct cg_cpu_max m;
	enum cg_weight_formula f;

	ck_assert_uint_eq(cg_millicores_to_shares(0), 2);
	ck_assert_uint_eq(cg_millicores_to_shares(1), 2);
	ck_assert_uint_eq(cg_millicores_to_shares(100), 102);
	ck_assert_uint_eq(cg_millicores_to_shares(1000), 1024);
	ck_assert_uint_eq(cg_millicores_to_shares(1000000), 262144);
	ck_assert_uint_eq(cg_shares_to_millicores(1024), 1000);
	ck_assert_uint_eq(cg_shares_to_millicores(102), 100);

	ck_assert_uint_eq(cg_shares_to_weight_kubelet(1024), 39);
	ck_assert_uint_eq(cg_shares_to_weight_kubelet(2), 1);
	ck_assert_uint_eq(cg_shares_to_weight_kubelet(262144), 10000);
	ck_assert_uint_eq(cg_shares_to_weight_log(1024), 100);
	ck_assert_uint_eq(cg_shares_to_weight_log(512), 59);
	ck_assert_uint_eq(cg_shares_to_weight_log(2048), 174);
	ck_assert_uint_eq(cg_shares_to_weight_log(2), 1);
	ck_assert_uint_eq(cg_shares_to_weight_log(262144), 10000);
	ck_assert_uint_eq(cg_shares_to_weight(CG_WEIGHT_LOG, 1024), 100);
	ck_assert_uint_eq(cg_shares_to_weight(CG_WEIGHT_KUBELET, 1024), 39);

	/* kubelet's reverse, and round trips staying within one weight step. */
	ck_assert_uint_eq(cg_weight_to_shares_kubelet(39), 998);
	ck_assert_uint_eq(cg_weight_to_shares_kubelet(1), 2);
	ck_assert_uint_eq(cg_shares_to_weight_log(cg_weight_to_shares_log(100)), 100);
	ck_assert_uint_eq(cg_shares_to_weight_log(cg_weight_to_shares_log(59)), 59);
	ck_assert_uint_le(cg_weight_to_shares_log(100), 1034);
	ck_assert_uint_ge(cg_weight_to_shares_log(100), 1014);
	ck_assert_uint_eq(cg_weight_to_shares_log(1), 2);
	ck_assert_uint_eq(cg_weight_to_shares_log(10000), 262144);
	/* kubelet's reverse floors twice, so a round trip may land one weight below, never more. */
	for (uint64_t s = 2; s <= 262144; s += 997) {
		uint64_t w = cg_shares_to_weight_kubelet(s);
		uint64_t back = cg_shares_to_weight_kubelet(cg_weight_to_shares_kubelet(w));

		ck_assert_uint_le(back, w);
		ck_assert_uint_ge(back + 1, w);
	}

	cg_cpu_limit_to_max(500, &m);
	ck_assert_uint_eq(m.quota_usec, 50000);
	ck_assert_uint_eq(m.period_usec, 100000);
	cg_cpu_limit_to_max(5, &m);
	ck_assert_uint_eq(m.quota_usec, 1000); /* kubelet's minimum quota */
	cg_cpu_limit_to_max(0, &m);
	ck_assert_uint_eq(m.quota_usec, CG_UNLIMITED);
	ck_assert_uint_eq(m.period_usec, 100000);
	ck_assert_uint_eq(cg_cpu_max_to_millicores(&m), CG_UNLIMITED);

	/* Learning the node runtime's formula from a container with a known 1-CPU request. */
	ck_assert_int_eq(cg_weight_formula_detect(39, 1000, &f), 0);
	ck_assert_int_eq(f, CG_WEIGHT_KUBELET);
	ck_assert_int_eq(cg_weight_formula_detect(100, 1000, &f), 0);
	ck_assert_int_eq(f, CG_WEIGHT_LOG);
	ck_assert_int_eq(cg_weight_formula_detect(59, 500, &f), 0);
	ck_assert_int_eq(f, CG_WEIGHT_LOG);
	ck_assert_int_eq(cg_weight_formula_detect(1, 0, &f), -EAGAIN);
	ck_assert_int_eq(cg_weight_formula_detect(77, 1000, &f), -EINVAL);
	ck_assert_str_eq(cg_weight_formula_to_string(CG_WEIGHT_LOG), "log");
}
END_TEST

START_TEST(test_names)
{
	ck_assert(cg_pod_uid_is_valid("0f9e7c1a-3b2d-4c5e-8f90-123456789abc"));
	ck_assert(cg_pod_uid_is_valid("0F9E7C1A-3B2D-4C5E-8F90-123456789ABC"));
	ck_assert(cg_pod_uid_is_valid("6f1f3b2c9a0d4e5f6a7b8c9d0e1f2a3b")); /* static pod */
	ck_assert(!cg_pod_uid_is_valid("0f9e7c1a_3b2d_4c5e_8f90_123456789abc"));
	ck_assert(!cg_pod_uid_is_valid("0f9e7c1a-3b2d-4c5e-8f90-123456789ab"));
	ck_assert(!cg_pod_uid_is_valid("../e7c1a-3b2d-4c5e-8f90-123456789abc"));
	ck_assert(!cg_pod_uid_is_valid(""));
	ck_assert(cg_container_id_is_valid(
		"4b825dc642cb6eb9a060e54bf8d69288fbee4904aaaaaaaaaaaaaaaaaaaaaaaa"));
	ck_assert(!cg_container_id_is_valid(
		"4b825dc642cb6eb9a060e54bf8d69288fbee4904aaaaaaaaaaaaaaaaaaaaaaa"));
	ck_assert(!cg_container_id_is_valid(
		"4b825dc642cb6eb9a060e54bf8d69288fbee4904aaaaaaaaaaaaaaaaaaaaaaaaa"));
	ck_assert(!cg_container_id_is_valid(
		"4b825dc642cb6eb9a060e54bf8d69288fbee4904aaaaaaaaaaaaaaaaaaaaaa/a"));
	ck_assert(cg_name_is_valid("cpu.max"));
	ck_assert(!cg_name_is_valid(".."));
	ck_assert(!cg_name_is_valid("."));
	ck_assert(!cg_name_is_valid(""));
	ck_assert(!cg_name_is_valid("a/b"));
	ck_assert(cg_relpath_is_valid("kubepods/burstable/podx"));
	ck_assert(cg_relpath_is_valid(""));
	ck_assert(!cg_relpath_is_valid("/kubepods"));
	ck_assert(!cg_relpath_is_valid("kubepods/../../etc"));
	ck_assert(!cg_relpath_is_valid("kubepods//x"));
	ck_assert(!cg_relpath_is_valid("kubepods/"));
}
END_TEST

/* Both ways of opening beneath the root: openat2(RESOLVE_BENEATH) and the per-component walk. */
static void check_beneath(bool fallback)
{
	_cleanup_free_ char *root = fake_tree_new();
	_cleanup_(cg_tree_freep) struct cg_tree *t = NULL;
	char link[4096];
	int fd, dfd;

	fake_mkdir(root, "kubepods/burstable");
	fake_write(root, "kubepods/burstable/cpu.max", "max 100000\n");
	snprintf(link, sizeof(link), "%s/kubepods/escape", root);
	ck_assert_int_eq(symlink("/etc", link), 0);
	snprintf(link, sizeof(link), "%s/kubepods/burstable/file-link", root);
	ck_assert_int_eq(symlink("cpu.max", link), 0);

	ck_assert_int_eq(cg_tree_open(root, &t), 0);
	if (fallback) {
		cg_tree_disable_openat2(t);
		ck_assert(!cg_tree_has_openat2(t));
	}
	ck_assert_str_eq(cg_tree_path(t), root);
	fd = cg_openat_beneath(t, cg_tree_fd(t), "kubepods/burstable/cpu.max", O_RDONLY, 0);
	ck_assert_int_ge(fd, 0);
	close(fd);
	dfd = cg_tree_open_dir(t, "kubepods");
	ck_assert_int_ge(dfd, 0);
	fd = cg_openat_beneath(t, dfd, "burstable/cpu.max", O_RDONLY, 0);
	ck_assert_int_ge(fd, 0);
	close(fd);
	close(dfd);
	ck_assert_int_eq(cg_openat_beneath(t, cg_tree_fd(t), "kubepods/../kubepods", O_RDONLY, 0),
			 -EINVAL);
	ck_assert_int_eq(cg_openat_beneath(t, cg_tree_fd(t), "/etc/passwd", O_RDONLY, 0), -EINVAL);
	/* A symlink anywhere on the path, or at its end, is refused. */
	ck_assert_int_lt(cg_openat_beneath(t, cg_tree_fd(t), "kubepods/escape/passwd", O_RDONLY, 0),
			 0);
	ck_assert_int_lt(cg_openat_beneath(t, cg_tree_fd(t), "kubepods/escape", O_RDONLY, 0), 0);
	ck_assert_int_lt(
		cg_openat_beneath(t, cg_tree_fd(t), "kubepods/burstable/file-link", O_RDONLY, 0),
		0);
	ck_assert_int_eq(cg_tree_open_dir(t, "kubepods/none"), -ENOENT);
	ck_assert_int_eq(cg_tree_open_dir(t, "kubepods/none/deeper"), -ENOENT);
	fd = cg_tree_open_dir(t, "");
	ck_assert_int_ge(fd, 0);
	close(fd);
	fake_tree_remove(root);
}

START_TEST(test_tree_beneath)
{
	check_beneath(false);
	check_beneath(true);
	ck_assert_int_eq(cg_tree_open("/nonexistent/snug", &(struct cg_tree *){ NULL }), -ENOENT);
}
END_TEST

/* The files captured from a real 6.1 kernel in the VM (tests/data/cgroup/kernel-6.1) parse. */
START_TEST(test_real_kernel_files)
{
	const char *data = getenv("SNUG_TESTDATA");
	char path[4096];
	_cleanup_close_ int dfd = -1;
	struct cg_cpu_stat cs;
	struct cg_cpu_max m;
	struct cg_memory_stat ms;
	struct cg_memory_events me;
	struct cg_pressure p;
	uint64_t v;

	snprintf(path, sizeof(path),
		 "%s/cgroup/kernel-6.1/tree/kubepods.slice/kubepods-burstable.slice/"
		 "kubepods-burstable-pod00000001_0001_4001_8001_000000000001.slice/"
		 "cri-containerd-c0ffee000000000000000000000000000000000000000000000000000000000b."
		 "scope",
		 data ? data : "tests/data");
	dfd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	ck_assert_msg(dfd >= 0, "%s: %m", path);
	ck_assert_int_eq(cg_read_cpu_stat_at(dfd, &cs), 0);
	ck_assert_uint_eq(cs.usage_usec, 3866358);
	ck_assert_uint_eq(cs.nr_periods, 193);
	ck_assert_uint_eq(cs.nr_throttled, 192);
	ck_assert_uint_eq(cs.throttled_usec, 14773381);
	ck_assert(cs.has_throttling);
	ck_assert_int_eq(cg_read_cpu_max_at(dfd, &m), 0);
	ck_assert_uint_eq(m.quota_usec, 20000);
	ck_assert_uint_eq(m.period_usec, 100000);
	ck_assert_int_eq(cg_read_cpu_weight_at(dfd, &v), 0);
	ck_assert_uint_eq(v, 100);
	ck_assert_int_eq(cg_read_u64_at(dfd, "memory.current", &v), 0);
	ck_assert_uint_eq(v, 151552);
	ck_assert_int_eq(cg_read_u64_at(dfd, "memory.peak", &v), 0);
	ck_assert_uint_eq(v, 356352);
	ck_assert_int_eq(cg_read_u64_or_max_at(dfd, "memory.max", &v), 0);
	ck_assert_uint_eq(v, 268435456);
	ck_assert_int_eq(cg_read_u64_or_max_at(dfd, "memory.high", &v), 0);
	ck_assert_uint_eq(v, 209715200);
	ck_assert_int_eq(cg_read_memory_stat_at(dfd, &ms), 0);
	ck_assert_uint_eq(ms.anon, 90112);
	ck_assert_int_eq(cg_read_memory_events_at(dfd, &me), 0);
	ck_assert_uint_eq(me.oom_kill, 0);
	ck_assert_int_eq(cg_read_pressure_at(dfd, "cpu.pressure", &p), 0);
	ck_assert_double_eq_tol(p.some.avg10, 53.51, 1e-9);
	ck_assert_uint_eq(p.some.total_usec, 12208864);
	ck_assert(p.has_full);
	ck_assert_int_eq(cg_read_pressure_at(dfd, "memory.pressure", &p), 0);
	ck_assert_uint_eq(p.full.total_usec, 0);
	/* Other files of a real cgroup are not ours to parse, but must not trip the readers. */
	ck_assert_int_eq(cg_read_u64_or_max_at(dfd, "memory.swap.max", &v), 0);
	ck_assert_int_eq(cg_read_u64_at(dfd, "pids.current", &v), 0);
}
END_TEST

Suite *cgroup_files_suite(void)
{
	Suite *s = suite_create("cgroup_files");
	TCase *tc = tcase_create("parse");

	tcase_add_test(tc, test_cpu_stat);
	tcase_add_test(tc, test_cpu_stat_bad);
	tcase_add_test(tc, test_cpu_max_weight);
	tcase_add_test(tc, test_single_values);
	tcase_add_test(tc, test_memory_stat);
	tcase_add_test(tc, test_memory_events);
	tcase_add_test(tc, test_pressure);
	suite_add_tcase(s, tc);
	tc = tcase_create("io");
	tcase_add_test(tc, test_read_at_missing_and_vanished);
	tcase_add_test(tc, test_read_too_big);
	tcase_add_test(tc, test_writers);
	tcase_add_test(tc, test_names);
	tcase_add_test(tc, test_tree_beneath);
	tcase_add_test(tc, test_real_kernel_files);
	suite_add_tcase(s, tc);
	tc = tcase_create("convert");
	tcase_add_test(tc, test_conversions);
	suite_add_tcase(s, tc);
	return s;
}
