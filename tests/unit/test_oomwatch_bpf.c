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
	tcase_add_test(tc, test_host_classic_tp);
	tcase_add_test(tc, test_unprivileged_falls_back);
	suite_add_tcase(s, tc);
	return s;
}
