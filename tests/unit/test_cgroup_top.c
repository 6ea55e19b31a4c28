/* Unit tests for snug-agent top: the per-container math, the weight formula guess, and the CLI on a real-kernel tree. */
#include "tests/unit/unit.h"

#include <cjson/cJSON.h>
#include <fcntl.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "agent/top.h"
#include "agent/util/cleanup.h"

START_TEST(test_row_math)
{
	struct cg_sample a = {}, b = {};
	struct agent_top_row r;

	a.timestamp_usec = 1000000;
	a.cpu = (struct cg_cpu_stat){ .usage_usec = 5000000,
				      .nr_periods = 100,
				      .nr_throttled = 10,
				      .throttled_usec = 200000,
				      .has_throttling = true };
	b = a;
	b.timestamp_usec = 3000000; /* 2 s later */
	b.cpu.usage_usec = 6500000; /* 1.5 s of CPU: 0.75 cores */
	b.cpu.nr_periods = 120;
	b.cpu.nr_throttled = 25;
	b.cpu.throttled_usec = 700000; /* 0.5 s throttled in 2 s: 25% */
	b.present = CG_FILES_ALL;
	b.cpu_max = (struct cg_cpu_max){ 50000, 100000 };
	b.cpu_weight = 39;
	b.memory_current = 300 << 20;
	b.memory_working_set = 200 << 20;
	b.memory_max = CG_UNLIMITED;
	b.memory_peak = 400 << 20;
	b.memory_events.oom_kill = 3;
	b.cpu_pressure.some.avg10 = 12.5;
	b.memory_pressure.some.avg10 = 1.25;

	agent_top_row(&a, &b, CG_WEIGHT_KUBELET, &r);
	ck_assert_double_eq_tol(r.cpu_usage_cores, 0.75, 1e-9);
	ck_assert_double_eq_tol(r.cpu_throttled_pct, 25.0, 1e-9);
	ck_assert_double_eq_tol(r.cpu_throttled_periods_pct, 75.0, 1e-9);
	ck_assert_uint_eq(r.cpu_limit_millicores, 500);
	ck_assert_uint_eq(r.cpu_weight, 39);
	/* 39 → 998 shares (kubelet's reverse) → 975m: the 1-CPU request, as closely as a weight can say. */
	ck_assert_uint_eq(r.cpu_request_millicores, 975);
	ck_assert_uint_eq(r.memory_working_set_bytes, 200 << 20);
	ck_assert_uint_eq(r.memory_max_bytes, CG_UNLIMITED);
	ck_assert_uint_eq(r.memory_peak_bytes, 400 << 20);
	ck_assert_uint_eq(r.oom_kill_count, 3);
	ck_assert_double_eq_tol(r.cpu_psi_some_avg10, 12.5, 1e-9);

	/* The log formula reads weight 100 as ~1 CPU. */
	b.cpu_weight = 100;
	agent_top_row(&a, &b, CG_WEIGHT_LOG, &r);
	ck_assert_uint_ge(r.cpu_request_millicores, 990);
	ck_assert_uint_le(r.cpu_request_millicores, 1010);

	/* First sample: no rates yet; absent files: unknown, not zero. */
	b.present = CG_FILE_BIT(CG_FILE_CPU_STAT);
	agent_top_row(NULL, &b, CG_WEIGHT_KUBELET, &r);
	ck_assert(isnan(r.cpu_usage_cores));
	ck_assert(isnan(r.cpu_throttled_pct));
	ck_assert(isnan(r.cpu_psi_some_avg10));
	ck_assert_uint_eq(r.cpu_limit_millicores, CG_UNLIMITED);
	ck_assert_uint_eq(r.memory_peak_bytes, CG_UNLIMITED);
	ck_assert_uint_eq(r.cpu_weight, 0);

	/* A counter going backwards (cgroup recreated under the same name) gives no rate, not garbage. */
	b.present = CG_FILES_ALL;
	b.cpu.usage_usec = 1;
	agent_top_row(&a, &b, CG_WEIGHT_KUBELET, &r);
	ck_assert(isnan(r.cpu_usage_cores));
}
END_TEST

START_TEST(test_guess_formula)
{
	/* Pod of two containers requesting 500m and 250m: kubelet writes the pod weight from 750m. */
	uint64_t pod_w = cg_shares_to_weight_kubelet(cg_millicores_to_shares(750));
	uint64_t kube[] = { 1, cg_shares_to_weight_kubelet(cg_millicores_to_shares(500)),
			    cg_shares_to_weight_kubelet(cg_millicores_to_shares(250)) };
	uint64_t logw[] = { 1, cg_shares_to_weight_log(cg_millicores_to_shares(500)),
			    cg_shares_to_weight_log(cg_millicores_to_shares(250)) };
	uint64_t only_pause[] = { 1 };
	struct agent_top_pod_weights pods[2] = {
		{ pod_w, kube, 3 },
		{ 1, only_pause, 1 },
	};
	enum cg_weight_formula f = CG_WEIGHT_LOG;

	ck_assert_int_eq(agent_top_guess_formula(pods, 2, &f), 1);
	ck_assert_int_eq(f, CG_WEIGHT_KUBELET);
	pods[0].container_weights = logw;
	ck_assert_int_eq(agent_top_guess_formula(pods, 2, &f), 1);
	ck_assert_int_eq(f, CG_WEIGHT_LOG);
	/* BestEffort only: no evidence, kubelet's formula by default. */
	ck_assert_int_eq(agent_top_guess_formula(pods + 1, 1, &f), 0);
	ck_assert_int_eq(f, CG_WEIGHT_KUBELET);
}
END_TEST

/* Runs snug-agent with args; returns its exit status, stdout in *ret_out (malloc'd). */
static int run_agent(const char *args, char **ret_out)
{
	const char *agent = getenv("SNUG_AGENT");
	char cmd[4096], *buf = NULL;
	size_t size = 0, n = 0;
	FILE *f;
	int st;

	ck_assert_msg(agent != NULL, "SNUG_AGENT not set (run through make check-unit)");
	snprintf(cmd, sizeof(cmd), "%s %s 2>/dev/null", agent, args);
	f = popen(cmd, "r");
	ck_assert_ptr_nonnull(f);
	for (;;) {
		if (n + 4096 > size) {
			size = size * 2 + 8192;
			buf = realloc(buf, size);
			ck_assert_ptr_nonnull(buf);
		}
		size_t k = fread(buf + n, 1, size - n - 1, f);
		if (k == 0)
			break;
		n += k;
	}
	buf[n] = '\0';
	st = pclose(f);
	*ret_out = buf;
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static cJSON *find_ctr(cJSON *arr, const char *id_suffix)
{
	cJSON *o;

	cJSON_ArrayForEach (o, arr) {
		const char *id = cJSON_GetStringValue(cJSON_GetObjectItem(o, "container_id"));

		if (id && strlen(id) == 64 && strcmp(id + 64 - strlen(id_suffix), id_suffix) == 0)
			return o;
	}
	return NULL;
}

static double num(cJSON *o, const char *k)
{
	cJSON *v = cJSON_GetObjectItem(o, k);

	ck_assert_msg(cJSON_IsNumber(v), "%s is not a number", k);
	return v->valuedouble;
}

/* The tree captured from a real 6.1 kernel in the VM (tests/data/cgroup/kernel-6.1). */
START_TEST(test_cli_json)
{
	const char *data = getenv("SNUG_TESTDATA");
	_cleanup_free_ char *out = NULL;
	char args[4096];
	cJSON *arr, *burn, *idle, *grow;

	snprintf(args, sizeof(args),
		 "top --json --interval 0.05 --sampler pread --cgroup-root "
		 "%s/cgroup/kernel-6.1/tree",
		 data ? data : "tests/data");
	ck_assert_int_eq(run_agent(args, &out), 0);
	arr = cJSON_Parse(out);
	ck_assert_msg(cJSON_IsArray(arr), "not a JSON array: %s", out);
	ck_assert_int_eq(cJSON_GetArraySize(arr), 3);

	burn = find_ctr(arr, "0b");
	ck_assert_ptr_nonnull(burn);
	ck_assert_str_eq(cJSON_GetStringValue(cJSON_GetObjectItem(burn, "pod_uid")),
			 "00000001-0001-4001-8001-000000000001");
	ck_assert_str_eq(cJSON_GetStringValue(cJSON_GetObjectItem(burn, "qos")), "Burstable");
	ck_assert_str_eq(cJSON_GetStringValue(cJSON_GetObjectItem(burn, "runtime")), "containerd");
	ck_assert_str_eq(cJSON_GetStringValue(cJSON_GetObjectItem(burn, "driver")), "systemd");
	ck_assert_double_eq_tol(num(burn, "cpu_limit_cores"), 0.2, 1e-9); /* cpu.max 20000 100000 */
	ck_assert_double_eq(num(burn, "memory_max_bytes"), 268435456);
	ck_assert_double_eq(num(burn, "memory_current_bytes"), 151552);
	ck_assert_double_eq(num(burn, "memory_peak_bytes"), 356352);
	ck_assert_double_eq(num(burn, "cpu_weight"), 100);
	ck_assert_double_eq_tol(num(burn, "cpu_psi_some_avg10"), 53.51, 1e-9);
	/* Static files: nothing moved between the two samples. */
	ck_assert_double_eq(num(burn, "cpu_usage_cores"), 0);
	ck_assert_double_gt(num(burn, "cgroup_inode"), 0);

	idle = find_ctr(arr, "0c");
	ck_assert_ptr_nonnull(idle);
	ck_assert(cJSON_IsNull(cJSON_GetObjectItem(idle, "cpu_limit_cores")));
	ck_assert(cJSON_IsNull(cJSON_GetObjectItem(idle, "memory_max_bytes")));

	grow = find_ctr(arr, "15");
	ck_assert_ptr_nonnull(grow);
	ck_assert_str_eq(cJSON_GetStringValue(cJSON_GetObjectItem(grow, "qos")), "Guaranteed");
	ck_assert_double_eq(num(grow, "oom_kill_count"), 1);
	ck_assert_double_eq(num(grow, "memory_max_bytes"), 32 << 20);
	cJSON_Delete(arr);
}
END_TEST

START_TEST(test_cli_table_and_help)
{
	const char *data = getenv("SNUG_TESTDATA");
	_cleanup_free_ char *out = NULL, *help = NULL, *bad = NULL, *none = NULL;
	char args[4096];

	snprintf(args, sizeof(args),
		 "top --once --interval 0.05 --cgroup-root %s/cgroup/kernel-6.1/tree",
		 data ? data : "tests/data");
	ck_assert_int_eq(run_agent(args, &out), 0);
	ck_assert_ptr_nonnull(strstr(out, "2 pods, 3 containers"));
	ck_assert_ptr_nonnull(strstr(out, "POD"));
	ck_assert_ptr_nonnull(strstr(out, "00000002 c0ffee000000 Guaranteed"));
	ck_assert_ptr_nonnull(strstr(out, "256.0Mi"));
	ck_assert_ptr_null(strstr(out, "\033[")); /* not a tty: no escape codes */

	ck_assert_int_eq(run_agent("top --help", &help), 0);
	ck_assert_ptr_nonnull(strstr(help, "--cgroup-root"));
	ck_assert_ptr_nonnull(strstr(help, "--once"));
	ck_assert_int_eq(run_agent("top --interval 0 --once", &bad), 2);
	ck_assert_int_eq(run_agent("top --once --cgroup-root /nonexistent/snug", &none), 1);
}
END_TEST

#define LIVE_POD_DIR                                                                               \
	"kubepods.slice/kubepods-burstable.slice/"                                                 \
	"kubepods-burstable-pod00000001_0001_4001_8001_000000000001.slice"
#define LIVE_CID_OLD "c0ffee000000000000000000000000000000000000000000000000000000000c"
#define LIVE_CID_NEW "c0ffee000000000000000000000000000000000000000000000000000000000d"

/* Reads the child's stdout into buf until needle shows up or timeout_ms pass; true if it did. */
static bool read_until(int fd, char *buf, size_t size, size_t *len, const char *needle,
		       int timeout_ms)
{
	for (int waited = 0; waited < timeout_ms; waited += 100) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		ssize_t k;

		if (strstr(buf, needle))
			return true;
		if (poll(&p, 1, 100) <= 0)
			continue;
		if (*len + 1 >= size)
			return false;
		k = read(fd, buf + *len, size - *len - 1);
		if (k <= 0)
			return false;
		*len += (size_t)k;
		buf[*len] = '\0';
	}
	return strstr(buf, needle) != NULL;
}

/* Without --once/--json top keeps redrawing, and a container created while it runs (the kernel
 * makes the directory with its files in it) shows up in a later table. */
START_TEST(test_cli_live_sees_new_container)
{
	const char *agent = getenv("SNUG_AGENT"), *data = getenv("SNUG_TESTDATA");
	char root[] = "/tmp/snug-top-live-XXXXXX", cmd[2048], stage[1024], dst[1024];
	static char out[1 << 20];
	size_t len = 0;
	int p[2], status;
	pid_t pid;

	ck_assert_ptr_nonnull(agent);
	ck_assert_ptr_nonnull(mkdtemp(root));
	snprintf(cmd, sizeof(cmd), "cp -a %s/cgroup/kernel-6.1/tree/. %s/",
		 data ? data : "tests/data", root);
	ck_assert_int_eq(system(cmd), 0);
	out[0] = '\0';
	ck_assert_int_eq(pipe2(p, O_CLOEXEC), 0);
	fflush(NULL);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		dup2(p[1], STDOUT_FILENO);
		execl(agent, agent, "top", "--interval", "0.1", "--sampler", "pread",
		      "--cgroup-root", root, (char *)NULL);
		_exit(127);
	}
	close(p[1]);
	ck_assert_msg(read_until(p[0], out, sizeof(out), &len, "2 pods, 3 containers", 10000),
		      "no first table: %s", out);

	snprintf(stage, sizeof(stage), "%s/%s/stage", root, LIVE_POD_DIR);
	snprintf(cmd, sizeof(cmd), "cp -a %s/%s/cri-containerd-%s.scope %s", root, LIVE_POD_DIR,
		 LIVE_CID_OLD, stage);
	ck_assert_int_eq(system(cmd), 0);
	snprintf(dst, sizeof(dst), "%s/%s/cri-containerd-%s.scope", root, LIVE_POD_DIR,
		 LIVE_CID_NEW);
	ck_assert_int_eq(rename(stage, dst), 0);
	ck_assert_msg(read_until(p[0], out, sizeof(out), &len, "2 pods, 4 containers", 10000),
		      "the new container never showed: %s", out + (len > 2000 ? len - 2000 : 0));
	ck_assert_ptr_null(strstr(out, "\033[")); /* not a tty: no escape codes */

	/* It runs until stopped. */
	ck_assert_int_eq(waitpid(pid, &status, WNOHANG), 0);
	kill(pid, SIGTERM);
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	close(p[0]);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", root);
	ck_assert_int_eq(system(cmd), 0);
}
END_TEST

Suite *cgroup_top_suite(void)
{
	Suite *s = suite_create("cgroup_top");
	TCase *tc = tcase_create("top");

	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_row_math);
	tcase_add_test(tc, test_guess_formula);
	tcase_add_test(tc, test_cli_json);
	tcase_add_test(tc, test_cli_table_and_help);
	tcase_add_test(tc, test_cli_live_sees_new_container);
	suite_add_tcase(s, tc);
	return s;
}
