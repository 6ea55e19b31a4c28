/* Unit tests for `snug-agent oomwatch` on a fake kubelet cgroup tree: JSON lines, discovery, unprivileged fallback. */
#include "tests/unit/unit.h"
#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "agent/util/cleanup.h"
#include "agent/util/time.h"
#include "tests/unit/oomwatch_helpers.h"

#define POD_UID "0badf00d-1234-4abc-8def-0123456789ab"
#define POD_DIR                                                                                    \
	"kubepods.slice/kubepods-burstable.slice/"                                                 \
	"kubepods-burstable-pod0badf00d_1234_4abc_8def_0123456789ab.slice"
#define CID_A "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define CID_B "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
#define EVENTS0 "low 0\nhigh 0\nmax 0\noom 0\noom_kill 0\noom_group_kill 0\n"
#define EVENTS1 "low 0\nhigh 0\nmax 5\noom 1\noom_kill 1\noom_group_kill 0\n"

struct child {
	pid_t pid;
	int out;
	char buf[65536];
	size_t len;
};

static void mkdir_p(const char *root, const char *rel)
{
	char path[1024], *p;

	snprintf(path, sizeof(path), "%s/%s", root, rel);
	for (p = path + strlen(root) + 1; (p = strchr(p, '/')); p++) {
		*p = 0;
		(void)mkdir(path, 0755);
		*p = '/';
	}
	ck_assert(mkdir(path, 0755) == 0 || errno == EEXIST);
}

/* The kernel creates a cgroup directory with its files already in it: build it aside, then rename
 * it into place, so discovery never sees a container without memory.events. */
static void container(const char *root, const char *cid, const char *events)
{
	char rel[512], stage[1024], fn[1100], dst[1024];

	mkdir_p(root, POD_DIR);
	snprintf(stage, sizeof(stage), "%s/stage-%s", root, cid);
	ck_assert_int_eq(mkdir(stage, 0755), 0);
	snprintf(fn, sizeof(fn), "%s/memory.events", stage);
	ow_write_file(fn, events);
	snprintf(rel, sizeof(rel), "%s/cri-containerd-%s.scope", POD_DIR, cid);
	snprintf(dst, sizeof(dst), "%s/%s", root, rel);
	ck_assert_int_eq(rename(stage, dst), 0);
}

static void spawn(struct child *c, const char *const argv[])
{
	int p[2];

	memset(c, 0, sizeof(*c));
	ck_assert_int_eq(pipe2(p, O_CLOEXEC), 0);
	fflush(NULL);
	c->pid = fork();
	ck_assert_int_ge(c->pid, 0);
	if (c->pid == 0) {
		dup2(p[1], STDOUT_FILENO);
		execvp(argv[0], (char *const *)argv);
		_exit(127);
	}
	close(p[1]);
	c->out = p[0];
}

/* The next complete line of output (parsed as JSON), or NULL after timeout_ms / EOF. */
static cJSON *next_json(struct child *c, unsigned timeout_ms)
{
	uint64_t end = now_usec(CLOCK_MONOTONIC) + timeout_ms * 1000ULL;

	for (;;) {
		char *nl = memchr(c->buf, '\n', c->len);
		struct pollfd pfd = { .fd = c->out, .events = POLLIN };
		uint64_t now = now_usec(CLOCK_MONOTONIC);
		ssize_t n;

		if (nl) {
			cJSON *j;

			*nl = 0;
			j = cJSON_Parse(c->buf);
			ck_assert_msg(j, "not JSON: %s", c->buf);
			c->len -= nl + 1 - c->buf;
			memmove(c->buf, nl + 1, c->len);
			return j;
		}
		if (now >= end || poll(&pfd, 1, (end - now) / 1000 + 1) <= 0)
			return NULL;
		n = read(c->out, c->buf + c->len, sizeof(c->buf) - 1 - c->len);
		if (n <= 0)
			return NULL;
		c->len += n;
	}
}

static int finish(struct child *c)
{
	int status;

	kill(c->pid, SIGTERM);
	ck_assert_int_eq(waitpid(c->pid, &status, 0), c->pid);
	close(c->out);
	return status;
}

static const char *str(cJSON *j, const char *key)
{
	cJSON *v = cJSON_GetObjectItemCaseSensitive(j, key);

	return cJSON_IsString(v) ? v->valuestring : "";
}

static double num(cJSON *j, const char *key)
{
	cJSON *v = cJSON_GetObjectItemCaseSensitive(j, key);

	return cJSON_IsNumber(v) ? v->valuedouble : -1;
}

/* Waits for the kill record of container cid, skipping pressure lines. */
static cJSON *next_kill(struct child *c)
{
	cJSON *j;

	while ((j = next_json(c, 10000))) {
		if (strcmp(str(j, "kind"), "oom_kill") == 0)
			return j;
		cJSON_Delete(j);
	}
	return NULL;
}

START_TEST(test_cli_fallback_json_lines)
{
	char root[] = "/tmp/snug-oomcli-XXXXXX", fn[1024];
	const char *argv[] = { getenv("SNUG_AGENT"),
			       "oomwatch",
			       "--cgroup-root",
			       root,
			       "--no-bpf",
			       "--rescan",
			       "1",
			       NULL };
	struct child c;
	cJSON *j;

	ck_assert_ptr_nonnull(argv[0]);
	ck_assert_ptr_nonnull(mkdtemp(root));
	container(root, CID_A, EVENTS0);
	spawn(&c, argv);
	j = next_json(&c, 10000);
	ck_assert_ptr_nonnull(j);
	ck_assert_str_eq(str(j, "kind"), "start");
	ck_assert_str_eq(str(j, "source"), "memory.events");
	ck_assert_str_eq(str(j, "bpf_error"), "disabled by --no-bpf");
	ck_assert_int_eq(num(j, "tracked"), 1);
	cJSON_Delete(j);

	/* A kill in the container that was there at start. */
	snprintf(fn, sizeof(fn), "%s/%s/cri-containerd-%s.scope/memory.events", root, POD_DIR,
		 CID_A);
	ow_write_file(fn, EVENTS1);
	j = next_kill(&c);
	ck_assert_ptr_nonnull(j);
	ck_assert_str_eq(str(j, "source"), "memory.events");
	ck_assert_str_eq(str(j, "pod_uid"), POD_UID);
	ck_assert_str_eq(str(j, "container_id"), CID_A);
	ck_assert_str_eq(str(j, "qos"), "Burstable");
	ck_assert_int_eq(num(j, "kills"), 1);
	ck_assert_int_eq(num(j, "pid"), -1); /* memory.events knows no pid */
	ck_assert(strlen(str(j, "time")) > 20);
	cJSON_Delete(j);

	/* A container created while watching, killed before the next scan: its kill is reported
	 * once discovery finds it. */
	container(root, CID_B, EVENTS1);
	j = next_kill(&c);
	ck_assert_ptr_nonnull(j);
	ck_assert_str_eq(str(j, "container_id"), CID_B);
	ck_assert_int_eq(num(j, "kills"), 1);
	cJSON_Delete(j);

	ck_assert_int_eq(finish(&c), 0); /* SIGTERM → clean exit */
	ow_rm_rf(root);
}
END_TEST

/* Without privilege BPF cannot load: the first line says so, and kills still arrive. */
START_TEST(test_cli_unprivileged_says_fallback)
{
	char root[] = "/tmp/snug-oomcli-XXXXXX", fn[1024];
	const char *argv[] = { "setpriv",
			       "--reuid=65534",
			       "--regid=65534",
			       "--clear-groups",
			       getenv("SNUG_AGENT"),
			       "oomwatch",
			       "--cgroup-root",
			       root,
			       "--count",
			       "1",
			       NULL };
	struct child c;
	cJSON *j;
	int status;

	if (geteuid() != 0 || access("/usr/bin/setpriv", X_OK) < 0) {
		fprintf(stderr,
			"*** SKIPPED: unprivileged oomwatch CLI needs root and setpriv ***\n");
		return;
	}
	ck_assert_ptr_nonnull(mkdtemp(root));
	ck_assert_int_eq(chmod(root, 0755), 0);
	container(root, CID_A, EVENTS0);
	spawn(&c, argv);
	j = next_json(&c, 10000);
	ck_assert_ptr_nonnull(j);
	ck_assert_str_eq(str(j, "kind"), "start");
	ck_assert_str_eq(str(j, "source"), "memory.events");
	ck_assert_str_eq(str(j, "bpf_error"), strerror(EPERM));
	cJSON_Delete(j);
	snprintf(fn, sizeof(fn), "%s/%s/cri-containerd-%s.scope/memory.events", root, POD_DIR,
		 CID_A);
	ow_write_file(fn, EVENTS1);
	j = next_kill(&c);
	ck_assert_ptr_nonnull(j);
	ck_assert_str_eq(str(j, "container_id"), CID_A);
	cJSON_Delete(j);
	/* --count 1: it exits by itself after the kill. */
	ck_assert_int_eq(waitpid(c.pid, &status, 0), c.pid);
	ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	close(c.out);
	ow_rm_rf(root);
}
END_TEST

START_TEST(test_cli_help_and_bad_options)
{
	static const char *const programs[] = { "auto", "tp_btf", "tp", "tp-proc" };
	char cmd[1024];

	snprintf(cmd, sizeof(cmd), "%s oomwatch --help | grep -q -- --no-bpf",
		 getenv("SNUG_AGENT"));
	ck_assert_int_eq(system(cmd), 0);
	snprintf(cmd, sizeof(cmd), "%s oomwatch --rescan 0 2>/dev/null", getenv("SNUG_AGENT"));
	ck_assert_int_eq(WEXITSTATUS(system(cmd)), 2);
	snprintf(cmd, sizeof(cmd), "%s oomwatch --cgroup-root /nonexistent/x --no-bpf 2>/dev/null",
		 getenv("SNUG_AGENT"));
	ck_assert_int_eq(WEXITSTATUS(system(cmd)), 1);
	/* Usage errors exit 2 before anything is opened; a known program name gets past them to the
	 * missing root (exit 1). */
	snprintf(cmd, sizeof(cmd), "%s oomwatch --bpf-program kprobe 2>/dev/null",
		 getenv("SNUG_AGENT"));
	ck_assert_int_eq(WEXITSTATUS(system(cmd)), 2);
	snprintf(cmd, sizeof(cmd), "%s oomwatch --count many 2>/dev/null", getenv("SNUG_AGENT"));
	ck_assert_int_eq(WEXITSTATUS(system(cmd)), 2);
	snprintf(cmd, sizeof(cmd), "%s oomwatch extra 2>/dev/null", getenv("SNUG_AGENT"));
	ck_assert_int_eq(WEXITSTATUS(system(cmd)), 2);
	for (size_t i = 0; i < sizeof(programs) / sizeof(programs[0]); i++) {
		snprintf(cmd, sizeof(cmd),
			 "%s oomwatch --bpf-program %s --no-bpf --cgroup-root /nonexistent/x "
			 "2>/dev/null",
			 getenv("SNUG_AGENT"), programs[i]);
		ck_assert_msg(WEXITSTATUS(system(cmd)) == 1, "--bpf-program %s refused",
			      programs[i]);
	}
}
END_TEST

Suite *oomwatch_cli_suite(void)
{
	Suite *s = suite_create("oomwatch_cli");
	TCase *tc = tcase_create("cli");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_cli_fallback_json_lines);
	tcase_add_test(tc, test_cli_unprivileged_says_fallback);
	tcase_add_test(tc, test_cli_help_and_bad_options);
	suite_add_tcase(s, tc);
	return s;
}
