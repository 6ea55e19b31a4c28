/* Unit tests for oomwatch's BPF side on the host kernel: load + attach as root, clean fallback unprivileged. */
#include "tests/unit/unit.h"
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "agent/util/cleanup.h"
#include "bpf/oomwatch_api.h"
#include "tests/unit/oomwatch_helpers.h"

static bool skip_unless_root(const char *what)
{
	if (geteuid() == 0)
		return false;
	fprintf(stderr, "*** SKIPPED: %s needs root (BPF load/attach on the host kernel) ***\n",
		what);
	return true;
}

/* Loading never touches cgroups: it attaches to oom/mark_victim and just waits. */
START_TEST(test_host_load_attach)
{
	struct ow_fixture f;

	if (skip_unless_root("oomwatch host load/attach"))
		return;
	ow_fixture_setup(&f, false);
	ck_assert_msg(oomwatch_source(f.ow) == OOMWATCH_SOURCE_BPF, "BPF did not load as root: %s",
		      strerror(-oomwatch_bpf_error(f.ow)));
	ck_assert_int_eq(oomwatch_bpf_error(f.ow), 0);
	/* A kill BPF missed is reported when its grace runs out, on the OOM path: no 250 ms slack. */
	{
		uint64_t accuracy = UINT64_MAX;

		ck_assert_int_eq(oomwatch_missed_timer_accuracy(f.ow, &accuracy), 0);
		ck_assert_uint_ge(accuracy, 1);
		ck_assert_uint_le(accuracy, 1000);
	}
	/* This host's BTF passes the victim task to mark_victim (6.8+), so tp_btf is chosen. */
	ck_assert_int_eq(oomwatch_bpf_mode(f.ow), OOMWATCH_VIA_TASK);
	ck_assert_uint_eq(oomwatch_bpf_dropped(f.ow), 0);
	oomwatch_log_source(f.ow);
	/* With BPF on, memory.events still gives pressure; a kill BPF did not see is reported as
	 * missed (no BPF record will come for this fake cgroup). */
	{
		char a[512];

		snprintf(a, sizeof(a), "%s/a", f.dir);
		ck_assert_int_eq(mkdir(a, 0755), 0);
		strcat(a, "/memory.events");
		ow_write_file(a, "low 0\nhigh 0\nmax 0\noom 0\noom_kill 0\noom_group_kill 0\n");
		a[strlen(a) - strlen("/memory.events")] = 0;
		ck_assert_int_eq(oomwatch_track(f.ow, 5, AT_FDCWD, a, 0, (void *)"a"), 0);
		strcat(a, "/memory.events");
		ow_write_file(a, "low 0\nhigh 0\nmax 2\noom 1\noom_kill 1\noom_group_kill 0\n");
		ck_assert_uint_eq(ow_run_until(&f, 2, 5000), 2);
		ck_assert_int_eq(f.recs[0].kind, OOMWATCH_PRESSURE);
		ck_assert_int_eq(f.recs[1].kind, OOMWATCH_KILL);
		ck_assert(f.recs[1].missed_by_bpf);
		ck_assert_int_eq(f.recs[1].source, OOMWATCH_SOURCE_MEMORY_EVENTS);
	}
	ow_fixture_teardown(&f);
}
END_TEST

/* The oomwatch of the fixture, with a grace period no test waits out. */
static void setup_long_grace(struct ow_fixture *f)
{
	struct oomwatch_config cfg = { .missed_grace_usec = 60 * 1000000ULL };

	ow_fixture_setup(f, false);
	f->ow = oomwatch_free(f->ow);
	cfg.cgroup_root = f->dir;
	ck_assert_int_eq(oomwatch_new(f->event, &cfg, ow_collect, f, &f->ow), 0);
	ck_assert_int_eq(oomwatch_source(f->ow), OOMWATCH_SOURCE_BPF);
}

/* A fake cgroup dir under the fixture with the given memory.events; path into buf. */
static void make_cgroup(struct ow_fixture *f, const char *name, const char *events, char *buf,
			size_t size)
{
	char file[600];

	snprintf(buf, size, "%s/%s", f->dir, name);
	ck_assert_int_eq(mkdir(buf, 0755), 0);
	snprintf(file, sizeof(file), "%s/memory.events", buf);
	ow_write_file(file, events);
}

/* A container OOM-killed before snug tracked its new cgroup (under TCG a container under a limit
 * far too small dies before the API names it): its BPF record went by unclaimed, so the kill is
 * reported when tracking starts, while the cgroup is still there to be judged, not a grace period
 * later, when the cgroup may be gone (the real node tier under kubelet 1.33 lost every one). */
START_TEST(test_new_cgroup_killed_before_tracking)
{
	struct ow_fixture f;
	char c[512];

	if (skip_unless_root("oomwatch: a new cgroup killed before tracking"))
		return;
	setup_long_grace(&f);
	make_cgroup(&f, "c", "low 0\nhigh 0\nmax 3\noom 1\noom_kill 2\noom_group_kill 1\n", c,
		    sizeof(c));
	ck_assert_int_eq(oomwatch_track(f.ow, 77, AT_FDCWD, c, OOMWATCH_TRACK_NEW, (void *)"c"), 0);
	ck_assert_uint_eq(f.n, 2);
	ck_assert_int_eq(f.recs[0].kind, OOMWATCH_PRESSURE);
	ck_assert_int_eq(f.recs[1].kind, OOMWATCH_KILL);
	ck_assert_uint_eq(f.recs[1].kills, 1); /* the group kill counts its victim twice */
	ck_assert(f.recs[1].missed_by_bpf);
	ck_assert_str_eq((const char *)f.recs[1].container, "c");
	ck_assert_uint_eq(f.recs[1].counters.oom, 1);
	/* Once: no timer reports it again, nor does untracking. */
	ck_assert_int_eq(oomwatch_untrack(f.ow, 77), 0);
	ck_assert_uint_eq(ow_run_until(&f, 3, 300), 2);
	ow_fixture_teardown(&f);
}
END_TEST

/* A kill memory.events counted while tracked, whose BPF record has not come when the cgroup is
 * untracked (the container's cgroup went): reported then, not dropped with the entry. */
START_TEST(test_untrack_reports_an_unclaimed_kill)
{
	struct ow_fixture f;
	char c[512], file[600];

	if (skip_unless_root("oomwatch untrack of an unclaimed kill"))
		return;
	setup_long_grace(&f);
	make_cgroup(&f, "c", "low 0\nhigh 0\nmax 0\noom 0\noom_kill 0\noom_group_kill 0\n", c,
		    sizeof(c));
	ck_assert_int_eq(oomwatch_track(f.ow, 78, AT_FDCWD, c, 0, (void *)"c"), 0);
	snprintf(file, sizeof(file), "%s/memory.events", c);
	ow_write_file(file, "low 0\nhigh 0\nmax 3\noom 1\noom_kill 1\noom_group_kill 0\n");
	/* The pressure; the kill waits for its BPF record (60 s grace). */
	ck_assert_uint_eq(ow_run_until(&f, 2, 500), 1);
	ck_assert_int_eq(f.recs[0].kind, OOMWATCH_PRESSURE);
	ck_assert_int_eq(oomwatch_untrack(f.ow, 78), 0);
	ck_assert_uint_eq(f.n, 2);
	ck_assert_int_eq(f.recs[1].kind, OOMWATCH_KILL);
	ck_assert_uint_eq(f.recs[1].kills, 1);
	ck_assert(f.recs[1].missed_by_bpf);
	ck_assert_str_eq((const char *)f.recs[1].container, "c");
	ck_assert_int_eq(oomwatch_untrack(f.ow, 78), -ENOENT);
	ck_assert_uint_eq(ow_run_until(&f, 3, 300), 2);
	ow_fixture_teardown(&f);
}
END_TEST

/* The classic tracepoint program loads too; attaching needs tracefs, which this host may not have
 * mounted: then it must fall back cleanly, never half-attached. */
START_TEST(test_host_classic_tp)
{
	struct oomwatch_config cfg = { .bpf_program = OOMWATCH_VIA_CURRENT };
	_cleanup_(oomwatch_freep) struct oomwatch *ow = NULL;
	sd_event *e = NULL;

	if (skip_unless_root("oomwatch classic tracepoint"))
		return;
	ck_assert_int_eq(sd_event_new(&e), 0);
	ck_assert_int_eq(oomwatch_new(e, &cfg, NULL, NULL, &ow), 0);
	if (oomwatch_source(ow) == OOMWATCH_SOURCE_BPF) {
		ck_assert_int_eq(oomwatch_bpf_mode(ow), OOMWATCH_VIA_CURRENT);
	} else {
		ck_assert_int_lt(oomwatch_bpf_error(ow), 0);
		fprintf(stderr,
			"note: tp/oom/mark_victim did not attach on this host (%s): fallback\n",
			strerror(-oomwatch_bpf_error(ow)));
	}
	ow = oomwatch_free(ow);
	sd_event_unref(e);
}
END_TEST

/* What the child of the unprivileged test checks; returns a distinct exit code per failure. */
static int unprivileged_child(void)
{
	struct ow_fixture f;
	char a[600];

	ow_fixture_setup(&f, false);
	if (oomwatch_source(f.ow) != OOMWATCH_SOURCE_MEMORY_EVENTS)
		return 10;
	if (oomwatch_bpf_error(f.ow) >= 0)
		return 11;
	oomwatch_log_source(f.ow); /* says why, on stderr */
	snprintf(a, sizeof(a), "%s/a", f.dir);
	if (mkdir(a, 0755) < 0)
		return 12;
	strcat(a, "/memory.events");
	ow_write_file(a, "low 0\nhigh 0\nmax 0\noom 0\noom_kill 0\noom_group_kill 0\n");
	a[strlen(a) - strlen("/memory.events")] = 0;
	if (oomwatch_track(f.ow, 9, AT_FDCWD, a, 0, (void *)"a") < 0)
		return 13;
	strcat(a, "/memory.events");
	ow_write_file(a, "low 0\nhigh 0\nmax 4\noom 1\noom_kill 1\noom_group_kill 0\n");
	if (ow_run_until(&f, 2, 5000) != 2)
		return 14;
	if (f.recs[1].kind != OOMWATCH_KILL || f.recs[1].kills != 1 || f.recs[1].missed_by_bpf)
		return 15;
	ow_fixture_teardown(&f);
	return 0;
}

/* A real attempt without privilege (as nobody when we are root): BPF fails, the fallback works. */
START_TEST(test_unprivileged_falls_back)
{
	pid_t pid;
	int status;

	fflush(NULL);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		if (geteuid() == 0 &&
		    (setgroups(0, NULL) < 0 || setresgid(65534, 65534, 65534) < 0 ||
		     setresuid(65534, 65534, 65534) < 0))
			_exit(2);
		_exit(unprivileged_child());
	}
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0,
		      "unprivileged child failed with status %d", status);
}
END_TEST

Suite *oomwatch_bpf_suite(void)
{
	Suite *s = suite_create("oomwatch_bpf");
	TCase *tc = tcase_create("host");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_host_load_attach);
	tcase_add_test(tc, test_new_cgroup_killed_before_tracking);
	tcase_add_test(tc, test_untrack_reports_an_unclaimed_kill);
	tcase_add_test(tc, test_host_classic_tp);
	tcase_add_test(tc, test_unprivileged_falls_back);
	suite_add_tcase(s, tc);
	return s;
}
