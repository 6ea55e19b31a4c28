/* Unit tests for oomwatch's memory.events path: parsing and delta logic on fake cgroup dirs, via inotify. */
#include "tests/unit/unit.h"
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "agent/util/cleanup.h"
#include "bpf/oomwatch_api.h"
#include "tests/unit/oomwatch_helpers.h"

/* Exactly what a 6.1 kernel prints (captured in the VM), with the counters filled in. */
static const char *events_text(char *buf, size_t size, unsigned high, unsigned max, unsigned oom,
			       unsigned kill)
{
	snprintf(buf, size, "low 0\nhigh %u\nmax %u\noom %u\noom_kill %u\noom_group_kill 0\n", high,
		 max, oom, kill);
	return buf;
}

static void write_events(const char *dir, unsigned high, unsigned max, unsigned oom, unsigned kill)
{
	_cleanup_free_ char *fn = NULL;
	char buf[256];

	ck_assert_int_ge(asprintf(&fn, "%s/memory.events", dir), 0);
	ow_write_file(fn, events_text(buf, sizeof(buf), high, max, oom, kill));
}

static void make_cgroup(const char *root, const char *name, char *ret, size_t size)
{
	snprintf(ret, size, "%s/%s", root, name);
	ck_assert_int_eq(mkdir(ret, 0755), 0);
	write_events(ret, 0, 0, 0, 0);
}

START_TEST(test_growth_reports_kill_and_pressure)
{
	struct ow_fixture f;
	char a[512], fn[1024];
	const struct oomwatch_record *r;

	ow_fixture_setup(&f, true);
	make_cgroup(f.dir, "a", a, sizeof(a));
	write_events(a, 0, 5, 1, 3); /* history before we watched: baseline, not reported */
	ck_assert_int_eq(oomwatch_track(f.ow, 1001, AT_FDCWD, a, 0, (void *)"ctr-a"), 0);
	ck_assert_int_eq(oomwatch_source(f.ow), OOMWATCH_SOURCE_MEMORY_EVENTS);
	ck_assert_int_eq(oomwatch_bpf_error(f.ow), -ECANCELED);
	ck_assert_uint_eq(ow_run_until(&f, 1, 200), 0);

	write_events(a, 2, 9, 2, 4);
	ck_assert_uint_eq(ow_run_until(&f, 2, 5000), 2);
	r = &f.recs[0];
	ck_assert_int_eq(r->kind, OOMWATCH_PRESSURE);
	ck_assert_uint_eq(r->max_delta, 4);
	ck_assert_uint_eq(r->high_delta, 2);
	ck_assert_uint_eq(r->oom_delta, 1);
	ck_assert_str_eq(r->container, "ctr-a");
	r = &f.recs[1];
	ck_assert_int_eq(r->kind, OOMWATCH_KILL);
	ck_assert_int_eq(r->source, OOMWATCH_SOURCE_MEMORY_EVENTS);
	ck_assert_uint_eq(r->kills, 1);
	ck_assert_uint_eq(r->cgroup_id, 1001);
	ck_assert_uint_eq(r->pid, 0);
	ck_assert_str_eq(r->comm, "");
	ck_assert_uint_eq(r->kernel_ns, 0);
	ck_assert_uint_ne(r->seen_ns, 0);
	ck_assert_uint_eq(r->counters.oom_kill, 4);
	ck_assert(!r->missed_by_bpf);

	/* Unchanged content (a notify without growth) says nothing; neither does text the kernel
	 * never writes, and the next good read compares against the last good one. */
	write_events(a, 2, 9, 2, 4);
	ck_assert_uint_eq(ow_run_until(&f, 3, 200), 2);
	snprintf(fn, sizeof(fn), "%s/memory.events", a);
	ow_write_file(fn, "low 0\nhigh 2\nmax nine\n");
	ck_assert_uint_eq(ow_run_until(&f, 3, 200), 2);
	ow_write_file(fn, "");
	ck_assert_uint_eq(ow_run_until(&f, 3, 200), 2);
	write_events(a, 2, 9, 2, 6);
	ck_assert_uint_eq(ow_run_until(&f, 3, 5000), 3);
	ck_assert_int_eq(f.recs[2].kind, OOMWATCH_KILL);
	ck_assert_uint_eq(f.recs[2].kills, 2);
	ow_fixture_teardown(&f);
}
END_TEST

/* A group kill (memory.oom.group=1, as the kubelet sets it) of a one-process container: the kernel
 * counts oom_kill twice and oom_group_kill once. One victim, one kill record: the agent would
 * otherwise grow the limit twice for one OOM. Two processes killed in one group kill: two. */
START_TEST(test_group_kill_counts_each_victim_once)
{
	struct ow_fixture f;
	char a[512], fn[1024];

	ow_fixture_setup(&f, true);
	make_cgroup(f.dir, "a", a, sizeof(a));
	ck_assert_int_eq(oomwatch_track(f.ow, 1001, AT_FDCWD, a, 0, (void *)"ctr-a"), 0);
	ck_assert_uint_eq(ow_run_until(&f, 1, 200), 0);
	snprintf(fn, sizeof(fn), "%s/memory.events", a);
	ow_write_file(fn, "low 0\nhigh 0\nmax 3\noom 1\noom_kill 2\noom_group_kill 1\n");
	ck_assert_uint_eq(ow_run_until(&f, 2, 5000), 2);
	ck_assert_int_eq(f.recs[1].kind, OOMWATCH_KILL);
	ck_assert_uint_eq(f.recs[1].kills, 1);
	ow_write_file(fn, "low 0\nhigh 0\nmax 6\noom 2\noom_kill 5\noom_group_kill 2\n");
	ck_assert_uint_eq(ow_run_until(&f, 4, 5000), 4);
	ck_assert_int_eq(f.recs[3].kind, OOMWATCH_KILL);
	ck_assert_uint_eq(f.recs[3].kills, 2);
	ow_fixture_teardown(&f);
}
END_TEST

START_TEST(test_recreated_container_counts_from_zero)
{
	struct ow_fixture f;
	char a[512], buf[1024];

	ow_fixture_setup(&f, true);
	make_cgroup(f.dir, "a", a, sizeof(a));
	write_events(a, 0, 3, 1, 1);
	ck_assert_int_eq(oomwatch_track(f.ow, 1001, AT_FDCWD, a, 0, (void *)"old"), 0);

	/* The runtime removes the cgroup and creates it again (new inode): the new one already had two
	 * kills when discovery tracks it, all of them since it was created. */
	ck_assert_int_eq(oomwatch_untrack(f.ow, 1001), 0);
	ow_rm_rf(a);
	ck_assert_int_eq(mkdir(a, 0755), 0);
	write_events(a, 0, 7, 2, 2);
	ck_assert_int_eq(oomwatch_track(f.ow, 2002, AT_FDCWD, a, OOMWATCH_TRACK_NEW, (void *)"new"),
			 0);
	ck_assert_uint_eq(ow_run_until(&f, 2, 200), 2);
	ck_assert_int_eq(f.recs[0].kind, OOMWATCH_PRESSURE);
	ck_assert_uint_eq(f.recs[0].max_delta, 7);
	ck_assert_int_eq(f.recs[1].kind, OOMWATCH_KILL);
	ck_assert_uint_eq(f.recs[1].kills, 2);
	ck_assert_uint_eq(f.recs[1].cgroup_id, 2002);
	ck_assert_str_eq(f.recs[1].container, "new");

	/* Counters that go down under one entry (a new cgroup behind the same id): from zero too. */
	ow_write_file(strcat(strcpy(buf, a), "/memory.events"),
		      "low 0\nhigh 0\nmax 1\noom 1\noom_kill 1\noom_group_kill 0\n");
	ck_assert_uint_eq(ow_run_until(&f, 4, 5000), 4);
	ck_assert_int_eq(f.recs[2].kind, OOMWATCH_PRESSURE);
	ck_assert_uint_eq(f.recs[2].max_delta, 1);
	ck_assert_int_eq(f.recs[3].kind, OOMWATCH_KILL);
	ck_assert_uint_eq(f.recs[3].kills, 1);
	ow_fixture_teardown(&f);
}
END_TEST

START_TEST(test_vanishing_file_is_quiet)
{
	struct ow_fixture f;
	char a[512], b[512], fn[1024];

	ow_fixture_setup(&f, true);
	make_cgroup(f.dir, "a", a, sizeof(a));
	make_cgroup(f.dir, "b", b, sizeof(b));
	ck_assert_int_eq(oomwatch_track(f.ow, 1, AT_FDCWD, a, 0, (void *)"a"), 0);
	ck_assert_int_eq(oomwatch_track(f.ow, 2, AT_FDCWD, b, 0, (void *)"b"), 0);

	/* The cgroup goes away: no record, no crash, and the other container still works. */
	snprintf(fn, sizeof(fn), "%s/memory.events", a);
	ck_assert_int_eq(unlink(fn), 0);
	ck_assert_int_eq(rmdir(a), 0);
	ck_assert_uint_eq(ow_run_until(&f, 1, 300), 0);
	ck_assert_int_eq(oomwatch_flush(f.ow), 0);
	ck_assert_uint_eq(f.n, 0);
	write_events(b, 0, 0, 1, 1);
	ck_assert_uint_eq(ow_run_until(&f, 1, 5000), 1);
	ck_assert_str_eq(f.recs[0].container, "b");
	ck_assert_uint_eq(f.recs[0].kills, 1);

	ck_assert_int_eq(oomwatch_untrack(f.ow, 1), 0);
	ck_assert_int_eq(oomwatch_untrack(f.ow, 1), -ENOENT);
	ck_assert_uint_eq(oomwatch_tracked(f.ow), 1);
	/* A directory that is already gone cannot be tracked. */
	ck_assert_int_eq(oomwatch_track(f.ow, 3, AT_FDCWD, a, 0, NULL), -ENOENT);

	/* The file vanishes while the directory stays (memory controller switched off). */
	snprintf(fn, sizeof(fn), "%s/memory.events", b);
	ck_assert_int_eq(unlink(fn), 0);
	ck_assert_uint_eq(ow_run_until(&f, 2, 300), 1);
	ck_assert_int_eq(oomwatch_flush(f.ow), 0);
	ck_assert_uint_eq(f.n, 1);

	/* ... and comes back (controller on again): tracking it again watches the new file, whose
	 * counts start from zero. */
	write_events(b, 0, 0, 0, 0);
	ck_assert_int_eq(oomwatch_track(f.ow, 2, AT_FDCWD, b, 0, (void *)"b"), 0);
	write_events(b, 0, 0, 1, 2);
	ck_assert_uint_eq(ow_run_until(&f, 2, 5000), 2);
	ck_assert_int_eq(f.recs[1].kind, OOMWATCH_KILL);
	ck_assert_uint_eq(f.recs[1].kills, 2);
	ow_fixture_teardown(&f);
}
END_TEST

START_TEST(test_several_containers_all_delivered)
{
	struct ow_fixture f;
	static const char *names[] = { "c0", "c1", "c2", "c3", "c4" };
	char dirs[5][512];
	unsigned seen = 0;

	ow_fixture_setup(&f, true);
	for (unsigned i = 0; i < 5; i++) {
		make_cgroup(f.dir, names[i], dirs[i], sizeof(dirs[i]));
		ck_assert_int_eq(
			oomwatch_track(f.ow, 100 + i, AT_FDCWD, dirs[i], 0, (void *)names[i]), 0);
	}
	/* All five are killed before the loop runs once. */
	for (unsigned i = 0; i < 5; i++)
		write_events(dirs[i], 0, 0, 1, i + 1);
	ck_assert_uint_eq(ow_run_until(&f, 5, 5000), 5);
	for (unsigned i = 0; i < 5; i++) {
		unsigned k = f.recs[i].cgroup_id - 100;

		ck_assert_int_eq(f.recs[i].kind, OOMWATCH_KILL);
		ck_assert_uint_lt(k, 5);
		ck_assert_str_eq(f.recs[i].container, names[k]);
		ck_assert_uint_eq(f.recs[i].kills, k + 1);
		seen |= 1u << k;
	}
	ck_assert_uint_eq(seen, 0x1f);
	ow_fixture_teardown(&f);
}
END_TEST

/* A handler that untracks the container it is told about must not crash the dispatch. */
static void untrack_handler(const struct oomwatch_record *rec, void *userdata)
{
	struct ow_fixture *f = userdata;

	ow_collect(rec, userdata);
	ck_assert_int_eq(oomwatch_untrack(f->ow, rec->cgroup_id), 0);
}

START_TEST(test_untrack_from_handler)
{
	struct ow_fixture f;
	char a[512];

	ow_fixture_setup_handler(&f, true, untrack_handler);
	make_cgroup(f.dir, "a", a, sizeof(a));
	ck_assert_int_eq(oomwatch_track(f.ow, 7, AT_FDCWD, a, 0, (void *)"a"), 0);
	write_events(a, 0, 3, 1,
		     1); /* pressure first: the handler untracks, the kill is not sent */
	ck_assert_uint_eq(ow_run_until(&f, 2, 300), 1);
	ck_assert_uint_eq(oomwatch_tracked(f.ow), 0);
	ow_fixture_teardown(&f);
}
END_TEST

Suite *oomwatch_fallback_suite(void)
{
	Suite *s = suite_create("oomwatch_fallback");
	TCase *tc = tcase_create("memory.events");

	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_growth_reports_kill_and_pressure);
	tcase_add_test(tc, test_group_kill_counts_each_victim_once);
	tcase_add_test(tc, test_recreated_container_counts_from_zero);
	tcase_add_test(tc, test_vanishing_file_is_quiet);
	tcase_add_test(tc, test_several_containers_all_delivered);
	tcase_add_test(tc, test_untrack_from_handler);
	suite_add_tcase(s, tc);
	return s;
}
