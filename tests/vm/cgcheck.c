/* cgcheck: drives the cgroup library from shell scripts (VM tier): discover, sample, write, convert. */
#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/magic.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <time.h>
#include <unistd.h>

#include "agent/util/cleanup.h"
#include "agent/util/log.h"
#include "tests/vm/tool.h"
#include "agent/util/parse.h"
#include "cgroup/files.h"
#include "cgroup/layout.h"
#include "cgroup/sampler.h"
#include "cgroup/tree.h"
#include "agent/util/json.h"

static void usage(FILE *f)
{
	fprintf(f,
		"Usage:\n"
		"  cgcheck discover ROOT\n"
		"      JSON of the kubelet pods and containers found under the cgroup tree ROOT.\n"
		"  cgcheck sample ROOT [--mode auto|uring|pread|orc] [--path RELPATH]...\n"
		"                      [--ticks N] [--interval-ms MS]\n"
		"      Samples every discovered container (or only the --path cgroups) and prints\n"
		"      one JSON line per tick: {\"mode\":...,\"samples\":{RELPATH:{...}}}.\n"
		"  cgcheck write ROOT RELPATH cpu.max QUOTA|max [PERIOD]\n"
		"  cgcheck write ROOT RELPATH cpu.weight|memory.max|memory.high VALUE|max\n"
		"      Calls the library's writer for that file.\n"
		"  cgcheck convert MILLICORES\n"
		"      kubelet's conversions: shares, both weight formulas, cpu.max for a limit.\n"
		"  cgcheck detect WEIGHT REQUEST_MILLICORES\n"
		"      Which shares->weight formula produced WEIGHT for that request.\n"
		"  cgcheck fake ROOT N [systemd|cgroupfs]\n"
		"      Makes N Burstable pods of one containerd container each (default systemd\n"
		"      layout): real empty cgroups, controllers enabled, when ROOT is a cgroup2\n"
		"      mount; else plain files with 6.1 kernel text (local benchmarks).\n"
		"Exit status: 0 success, 1 failure (message on stderr), 2 usage error.\n"
		"Set SNUG_LOG=debug for the library's debug log.\n");
}

static int fail(int r, const char *what)
{
	fprintf(stderr, "cgcheck: %s: %s\n", what, strerror(r < 0 ? -r : r));
	return 1;
}

static int print_json(cJSON *j, bool pretty)
{
	_cleanup_free_ char *s = pretty ? cJSON_Print(j) : cJSON_PrintUnformatted(j);

	if (!s)
		return fail(-ENOMEM, "json");
	puts(s);
	fflush(stdout);
	return 0;
}

static cJSON *add_u64(cJSON *o, const char *k, uint64_t v)
{
	if (v == CG_UNLIMITED)
		return cJSON_AddNullToObject(o, k);
	return cJSON_AddNumberToObject(o, k, (double)v);
}

static int cmd_discover(const char *root)
{
	_cleanup_(cg_tree_freep) struct cg_tree *t = NULL;
	_cleanup_(cg_layout_freep) struct cg_layout *l = NULL;
	_cleanup_(cJSON_Deletep) cJSON *j = cJSON_CreateObject();
	struct cg_pod *const *pods;
	cJSON *arr;
	size_t n;
	int r;

	r = cg_tree_open(root, &t);
	if (r < 0)
		return fail(r, root);
	r = cg_layout_new(t, &l);
	if (r >= 0)
		r = cg_layout_scan(l, NULL, NULL);
	if (r < 0)
		return fail(r, "scan");
	pods = cg_layout_pods(l, &n);
	cJSON_AddStringToObject(j, "root", root);
	cJSON_AddNumberToObject(j, "n_pods", (double)n);
	cJSON_AddNumberToObject(j, "n_containers", (double)cg_layout_n_containers(l));
	arr = cJSON_AddArrayToObject(j, "pods");
	for (size_t i = 0; i < n; i++) {
		cJSON *p = cJSON_CreateObject(), *cs;

		cJSON_AddItemToArray(arr, p);
		cJSON_AddStringToObject(p, "uid", pods[i]->uid);
		cJSON_AddStringToObject(p, "qos", qos_class_to_string(pods[i]->qos));
		cJSON_AddStringToObject(p, "driver", cg_driver_to_string(pods[i]->driver));
		cJSON_AddStringToObject(p, "path", pods[i]->path);
		add_u64(p, "inode", pods[i]->inode);
		cs = cJSON_AddArrayToObject(p, "containers");
		for (size_t k = 0; k < pods[i]->n_containers; k++) {
			struct cg_container *c = pods[i]->containers[k];
			cJSON *o = cJSON_CreateObject();

			cJSON_AddItemToArray(cs, o);
			cJSON_AddStringToObject(o, "id", c->id);
			cJSON_AddStringToObject(o, "runtime", cg_runtime_to_string(c->runtime));
			cJSON_AddStringToObject(o, "path", c->path);
			add_u64(o, "inode", c->inode);
		}
	}
	return print_json(j, true);
}

static void add_pressure(cJSON *o, const char *k, const struct cg_pressure *p)
{
	cJSON *x = cJSON_AddObjectToObject(o, k);
	const struct cg_psi_line *lines[2] = { &p->some, p->has_full ? &p->full : NULL };
	const char *names[2] = { "some", "full" };

	for (int i = 0; i < 2; i++) {
		cJSON *l;

		if (!lines[i])
			continue;
		l = cJSON_AddObjectToObject(x, names[i]);
		cJSON_AddNumberToObject(l, "avg10", lines[i]->avg10);
		cJSON_AddNumberToObject(l, "avg60", lines[i]->avg60);
		cJSON_AddNumberToObject(l, "avg300", lines[i]->avg300);
		add_u64(l, "total_usec", lines[i]->total_usec);
	}
}

static cJSON *sample_json(const struct cg_sample *s, unsigned files)
{
	cJSON *o = cJSON_CreateObject(), *pr;

	if (s->error) {
		cJSON_AddStringToObject(o, "error",
					s->error == -ENODEV ? "vanished" : strerror(-s->error));
		cJSON_AddNumberToObject(o, "errno", -s->error);
		return o;
	}
	cJSON_AddNullToObject(o, "error");
	pr = cJSON_AddArrayToObject(o, "present");
	for (int f = 0; f < _CG_FILE_MAX; f++)
		if (s->present & CG_FILE_BIT(f))
			cJSON_AddItemToArray(pr, cJSON_CreateString(cg_file_name(f)));
	if (s->parse_error)
		cJSON_AddStringToObject(o, "parse_error", strerror(-s->parse_error));
	cJSON_AddNumberToObject(o, "timestamp_usec", (double)s->timestamp_usec);
	add_u64(o, "usage_usec", s->cpu.usage_usec);
	add_u64(o, "user_usec", s->cpu.user_usec);
	add_u64(o, "system_usec", s->cpu.system_usec);
	add_u64(o, "nr_periods", s->cpu.nr_periods);
	add_u64(o, "nr_throttled", s->cpu.nr_throttled);
	add_u64(o, "throttled_usec", s->cpu.throttled_usec);
	if (s->present & CG_FILE_BIT(CG_FILE_MEMORY_CURRENT))
		add_u64(o, "memory_current", s->memory_current);
	if (s->present & CG_FILE_BIT(CG_FILE_MEMORY_PEAK))
		add_u64(o, "memory_peak", s->memory_peak);
	if (s->present & CG_FILE_BIT(CG_FILE_MEMORY_STAT)) {
		add_u64(o, "memory_working_set", s->memory_working_set);
		add_u64(o, "anon", s->memory_stat.anon);
		add_u64(o, "file", s->memory_stat.file);
		add_u64(o, "active_file", s->memory_stat.active_file);
		add_u64(o, "inactive_file", s->memory_stat.inactive_file);
	}
	if (s->present & CG_FILE_BIT(CG_FILE_MEMORY_EVENTS)) {
		cJSON *e = cJSON_AddObjectToObject(o, "memory_events");

		add_u64(e, "low", s->memory_events.low);
		add_u64(e, "high", s->memory_events.high);
		add_u64(e, "max", s->memory_events.max);
		add_u64(e, "oom", s->memory_events.oom);
		add_u64(e, "oom_kill", s->memory_events.oom_kill);
		add_u64(e, "oom_group_kill", s->memory_events.oom_group_kill);
	}
	if (s->present & CG_FILE_BIT(CG_FILE_CPU_PRESSURE))
		add_pressure(o, "cpu_pressure", &s->cpu_pressure);
	if (s->present & CG_FILE_BIT(CG_FILE_MEMORY_PRESSURE))
		add_pressure(o, "memory_pressure", &s->memory_pressure);
	if (s->present & CG_FILE_BIT(CG_FILE_CPU_MAX)) {
		/* quota null = "max" */
		add_u64(o, "cpu_max_quota_usec", s->cpu_max.quota_usec);
		add_u64(o, "cpu_max_period_usec", s->cpu_max.period_usec);
	}
	if (s->present & CG_FILE_BIT(CG_FILE_CPU_WEIGHT))
		add_u64(o, "cpu_weight", s->cpu_weight);
	if (s->present & CG_FILE_BIT(CG_FILE_MEMORY_MAX))
		add_u64(o, "memory_max", s->memory_max);
	if (s->present & CG_FILE_BIT(CG_FILE_MEMORY_HIGH))
		add_u64(o, "memory_high", s->memory_high);
	return o;
}

static int cmd_sample(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "mode", required_argument, NULL, 'm' },
		{ "path", required_argument, NULL, 'p' },
		{ "ticks", required_argument, NULL, 't' },
		{ "interval-ms", required_argument, NULL, 'i' },
		{},
	};
	_cleanup_(cg_tree_freep) struct cg_tree *t = NULL;
	_cleanup_(cg_layout_freep) struct cg_layout *l = NULL;
	_cleanup_(cg_sampler_freep) struct cg_sampler *s = NULL;
	enum cg_sampler_mode mode = CG_SAMPLER_AUTO;
	_cleanup_free_ const char **paths = calloc((size_t)argc + 1, sizeof(char *));
	size_t n_paths = 0;
	uint64_t ticks = 1, interval_ms = 1000;
	const char *root;
	int c, r;

	if (!paths)
		return fail(-ENOMEM, "alloc");
	while ((c = getopt_long(argc, argv, "", opts, NULL)) >= 0) {
		switch (c) {
		case 'm':
			if (cg_sampler_mode_from_string(optarg, &mode) < 0) {
				fprintf(stderr, "cgcheck: bad --mode %s\n", optarg);
				return 2;
			}
			break;
		case 'p':
			paths[n_paths++] = optarg;
			break;
		case 't':
			if (safe_atou64(optarg, &ticks) < 0 || ticks == 0) {
				fprintf(stderr, "cgcheck: bad --ticks %s\n", optarg);
				return 2;
			}
			break;
		case 'i':
			if (safe_atou64(optarg, &interval_ms) < 0) {
				fprintf(stderr, "cgcheck: bad --interval-ms %s\n", optarg);
				return 2;
			}
			break;
		default:
			return 2;
		}
	}
	if (optind != argc - 1) {
		usage(stderr);
		return 2;
	}
	root = argv[optind];
	r = cg_tree_open(root, &t);
	if (r < 0)
		return fail(r, root);
	r = cg_sampler_new(t, mode, CG_FILES_ALL, &s);
	if (r < 0)
		return fail(r, "sampler (io_uring unavailable?)");
	if (n_paths == 0) {
		struct cg_pod *const *pods;
		size_t n;

		r = cg_layout_new(t, &l);
		if (r >= 0)
			r = cg_layout_scan(l, NULL, NULL);
		if (r < 0)
			return fail(r, "scan");
		pods = cg_layout_pods(l, &n);
		for (size_t i = 0; i < n; i++)
			for (size_t k = 0; k < pods[i]->n_containers; k++) {
				r = cg_sampler_add(s, pods[i]->containers[k]->path, NULL, NULL);
				if (r < 0)
					return fail(r, pods[i]->containers[k]->path);
			}
	} else
		for (size_t i = 0; i < n_paths; i++) {
			r = cg_sampler_add(s, paths[i], NULL, NULL);
			if (r < 0)
				return fail(r, paths[i]);
		}

	for (uint64_t k = 0; k < ticks; k++) {
		_cleanup_(cJSON_Deletep) cJSON *j = cJSON_CreateObject();
		cJSON *smp;

		if (k > 0) {
			struct timespec ts = { .tv_sec = (time_t)(interval_ms / 1000),
					       .tv_nsec = (long)(interval_ms % 1000) * 1000000 };
			nanosleep(&ts, NULL);
		}
		r = cg_sampler_tick(s);
		if (r < 0)
			return fail(r, "tick");
		cJSON_AddStringToObject(j, "mode", cg_sampler_mode_to_string(cg_sampler_mode(s)));
		cJSON_AddNumberToObject(j, "tick", (double)k);
		cJSON_AddNumberToObject(j, "n", (double)cg_sampler_n_entries(s));
		cJSON_AddNumberToObject(j, "ok", r);
		smp = cJSON_AddObjectToObject(j, "samples");
		for (size_t i = 0; i < cg_sampler_n_entries(s); i++) {
			struct cg_sampler_entry *e = cg_sampler_entry_at(s, i);

			cJSON_AddItemToObject(
				smp, cg_sampler_entry_path(e),
				sample_json(cg_sampler_entry_sample(e), cg_sampler_entry_files(e)));
		}
		print_json(j, false);
	}
	return 0;
}

static int parse_u64_or_max(const char *s, uint64_t *ret)
{
	if (strcmp(s, "max") == 0) {
		*ret = CG_UNLIMITED;
		return 0;
	}
	return safe_atou64(s, ret);
}

static int cmd_write(int argc, char **argv)
{
	_cleanup_(cg_tree_freep) struct cg_tree *t = NULL;
	_cleanup_close_ int dfd = -1;
	const char *file;
	uint64_t v, period = CG_QUOTA_PERIOD_USEC;
	int r;

	if (argc < 5 || argc > 6) {
		usage(stderr);
		return 2;
	}
	file = argv[3];
	if (parse_u64_or_max(argv[4], &v) < 0 ||
	    (argc == 6 && (strcmp(file, "cpu.max") || safe_atou64(argv[5], &period) < 0))) {
		fprintf(stderr, "cgcheck: bad value for %s\n", file);
		return 2;
	}
	r = cg_tree_open(argv[1], &t);
	if (r < 0)
		return fail(r, argv[1]);
	dfd = cg_tree_open_dir(t, argv[2]);
	if (dfd < 0)
		return fail(dfd, argv[2]);
	if (strcmp(file, "cpu.max") == 0)
		r = cg_write_cpu_max(dfd, v, period);
	else if (strcmp(file, "cpu.weight") == 0)
		r = cg_write_cpu_weight(dfd, v);
	else if (strcmp(file, "memory.max") == 0)
		r = cg_write_memory_max(dfd, v);
	else if (strcmp(file, "memory.high") == 0)
		r = cg_write_memory_high(dfd, v);
	else {
		fprintf(stderr,
			"cgcheck: cannot write %s (cpu.max cpu.weight memory.max "
			"memory.high)\n",
			file);
		return 2;
	}
	if (r < 0)
		return fail(r, file);
	printf("ok %s/%s\n", argv[2], file);
	return 0;
}

static int cmd_convert(const char *arg)
{
	_cleanup_(cJSON_Deletep) cJSON *j = cJSON_CreateObject();
	struct cg_cpu_max m;
	uint64_t mc, s;
	char buf[64];

	if (safe_atou64(arg, &mc) < 0) {
		fprintf(stderr, "cgcheck: bad millicores %s\n", arg);
		return 2;
	}
	s = cg_millicores_to_shares(mc);
	cg_cpu_limit_to_max(mc, &m);
	if (m.quota_usec == CG_UNLIMITED)
		snprintf(buf, sizeof(buf), "max %llu", (unsigned long long)m.period_usec);
	else
		snprintf(buf, sizeof(buf), "%llu %llu", (unsigned long long)m.quota_usec,
			 (unsigned long long)m.period_usec);
	cJSON_AddNumberToObject(j, "millicores", (double)mc);
	cJSON_AddNumberToObject(j, "shares", (double)s);
	cJSON_AddNumberToObject(j, "weight_kubelet", (double)cg_shares_to_weight_kubelet(s));
	cJSON_AddNumberToObject(j, "weight_log", (double)cg_shares_to_weight_log(s));
	cJSON_AddStringToObject(j, "cpu_max_for_limit", buf);
	return print_json(j, false);
}

static int cmd_detect(const char *w, const char *m)
{
	enum cg_weight_formula f;
	uint64_t weight, mc;
	int r;

	if (safe_atou64(w, &weight) < 0 || safe_atou64(m, &mc) < 0) {
		usage(stderr);
		return 2;
	}
	r = cg_weight_formula_detect(weight, mc, &f);
	if (r == -EAGAIN) {
		printf("ambiguous\n");
		return 1;
	}
	if (r < 0) {
		printf("none\n");
		return 1;
	}
	printf("%s\n", cg_weight_formula_to_string(f));
	return 0;
}

static int write_file(const char *path, const char *text)
{
	_cleanup_close_ int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	size_t n = strlen(text);

	if (fd < 0 || write(fd, text, n) != (ssize_t)n)
		return negative_errno();
	return 0;
}

static int mkdir_p(const char *path)
{
	char buf[4096];

	snprintf(buf, sizeof(buf), "%s", path);
	for (char *p = buf + 1; *p; p++)
		if (*p == '/') {
			*p = '\0';
			if (mkdir(buf, 0755) < 0 && errno != EEXIST)
				return negative_errno();
			*p = '/';
		}
	if (mkdir(buf, 0755) < 0 && errno != EEXIST)
		return negative_errno();
	return 0;
}

/* Enables the cpu and memory controllers (and io, pids where there) for dir's children. */
static int enable_controllers(const char *dir)
{
	char path[4200], buf[256] = {};
	_cleanup_close_ int fd = -1;

	snprintf(path, sizeof(path), "%s/cgroup.subtree_control", dir);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return negative_errno();
	if (read(fd, buf, sizeof(buf) - 1) < 0)
		return negative_errno();
	if (strstr(buf, "cpu") && strstr(buf, "memory"))
		return 0;
	if (write_file(path, "+cpu +memory +io +pids") >= 0)
		return 0;
	return write_file(path, "+cpu +memory");
}

/* mkdir -p for real cgroups: each parent gets its controllers enabled first, so the new leaf has
 * cpu.* and memory.* files. */
static int mkdir_cgroup(const char *root, const char *rel)
{
	char cur[4096], buf[4096];
	char *save = NULL, *part;
	int r;

	snprintf(cur, sizeof(cur), "%s", root);
	snprintf(buf, sizeof(buf), "%s", rel);
	for (part = strtok_r(buf, "/", &save); part; part = strtok_r(NULL, "/", &save)) {
		size_t n = strlen(cur);

		r = enable_controllers(cur);
		if (r < 0)
			return r;
		snprintf(cur + n, sizeof(cur) - n, "/%s", part);
		if (mkdir(cur, 0755) < 0 && errno != EEXIST)
			return negative_errno();
	}
	return 0;
}

static int cmd_fake(const char *root, const char *count, const char *driver)
{
	static const char *files[][2] = {
		{ "cgroup.procs", "" },
		{ "cpu.stat", "usage_usec 2315493\nuser_usec 1654321\nsystem_usec 661172\n"
			      "nr_periods 1183\nnr_throttled 412\nthrottled_usec 9876543\n"
			      "nr_bursts 0\nburst_usec 0\n" },
		{ "cpu.max", "max 100000\n" },
		{ "cpu.weight", "100\n" },
		{ "memory.current", "36855808\n" },
		{ "memory.peak", "40960000\n" },
		{ "memory.max", "max\n" },
		{ "memory.high", "max\n" },
		{ "memory.stat",
		  "anon 10686464\nfile 25763840\nkernel 1191936\nkernel_stack 81920\n"
		  "pagetables 217088\npercpu 1440\nsock 0\nvmalloc 8192\nshmem 0\n"
		  "zswap 0\nzswapped 0\nfile_mapped 15159296\nfile_dirty 0\n"
		  "file_writeback 0\nswapcached 0\nanon_thp 0\nfile_thp 0\n"
		  "shmem_thp 0\ninactive_anon 10661888\nactive_anon 24576\n"
		  "inactive_file 18026496\nactive_file 7737344\nunevictable 0\n"
		  "slab_reclaimable 529368\nslab_unreclaimable 344736\n"
		  "slab 874104\nworkingset_refault_anon 0\n"
		  "workingset_refault_file 0\nworkingset_activate_anon 0\n"
		  "workingset_activate_file 0\nworkingset_restore_anon 0\n"
		  "workingset_restore_file 0\nworkingset_nodereclaim 0\npgscan 0\n"
		  "pgsteal 0\npgscan_kswapd 0\npgscan_direct 0\npgsteal_kswapd 0\n"
		  "pgsteal_direct 0\npgfault 12034\npgmajfault 271\npgrefill 0\n"
		  "pgactivate 1887\npgdeactivate 0\npglazyfree 0\npglazyfreed 0\n"
		  "zswpin 0\nzswpout 0\nthp_fault_alloc 0\nthp_collapse_alloc 0\n" },
		{ "memory.events", "low 0\nhigh 0\nmax 0\noom 0\noom_kill 0\noom_group_kill 0\n" },
		{ "cpu.pressure", "some avg10=0.00 avg60=0.00 avg300=0.00 total=0\n"
				  "full avg10=0.00 avg60=0.00 avg300=0.00 total=0\n" },
		{ "memory.pressure", "some avg10=0.00 avg60=0.00 avg300=0.00 total=0\n"
				     "full avg10=0.00 avg60=0.00 avg300=0.00 total=0\n" },
	};
	bool systemd = !driver || strcmp(driver, "systemd") == 0;
	struct statfs sfs;
	bool real;
	uint64_t n;
	int r;

	if (safe_atou64(count, &n) < 0 || (driver && !systemd && strcmp(driver, "cgroupfs"))) {
		usage(stderr);
		return 2;
	}
	real = statfs(root, &sfs) == 0 && sfs.f_type == CGROUP2_SUPER_MAGIC;
	for (uint64_t i = 0; i < n; i++) {
		char dir[4096], path[4200];

		if (real) {
			if (systemd)
				snprintf(dir, sizeof(dir),
					 "kubepods.slice/kubepods-burstable.slice/"
					 "kubepods-burstable-pod%08llx_0000_4000_8000_000000000000."
					 "slice/cri-containerd-%064llx.scope",
					 (unsigned long long)i, (unsigned long long)i);
			else
				snprintf(dir, sizeof(dir),
					 "kubepods/burstable/pod%08llx-0000-4000-8000-000000000000/"
					 "%064llx",
					 (unsigned long long)i, (unsigned long long)i);
			r = mkdir_cgroup(root, dir);
			if (r < 0)
				return fail(r, dir);
			continue;
		}

		/* One container per Burstable pod; ids and uids derived from i. */
		if (systemd)
			snprintf(dir, sizeof(dir),
				 "%s/kubepods.slice/kubepods-burstable.slice/"
				 "kubepods-burstable-pod%08llx_0000_4000_8000_000000000000.slice/"
				 "cri-containerd-%064llx.scope",
				 root, (unsigned long long)i, (unsigned long long)i);
		else
			snprintf(dir, sizeof(dir),
				 "%s/kubepods/burstable/pod%08llx-0000-4000-8000-000000000000/"
				 "%064llx",
				 root, (unsigned long long)i, (unsigned long long)i);
		r = mkdir_p(dir);
		if (r < 0)
			return fail(r, dir);
		for (size_t f = 0; f < ELEMENTSOF(files); f++) {
			snprintf(path, sizeof(path), "%s/%s", dir, files[f][0]);
			r = write_file(path, files[f][1]);
			if (r < 0)
				return fail(r, path);
		}
	}
	printf("ok %llu %s containers under %s\n", (unsigned long long)n,
	       real ? "real (empty) cgroup" : "fake (plain file)", root);
	return 0;
}

int main(int argc, char **argv)
{
	int done = tool_start(argc, argv, usage);

	if (done >= 0)
		return done;
	if (strcmp(argv[1], "discover") == 0 && argc == 3)
		return cmd_discover(argv[2]);
	if (strcmp(argv[1], "sample") == 0 && argc >= 3)
		return cmd_sample(argc - 1, argv + 1);
	if (strcmp(argv[1], "write") == 0)
		return cmd_write(argc - 1, argv + 1);
	if (strcmp(argv[1], "convert") == 0 && argc == 3)
		return cmd_convert(argv[2]);
	if (strcmp(argv[1], "detect") == 0 && argc == 4)
		return cmd_detect(argv[2], argv[3]);
	if (strcmp(argv[1], "fake") == 0 && (argc == 4 || argc == 5))
		return cmd_fake(argv[2], argv[3], argc == 5 ? argv[4] : NULL);
	usage(stderr);
	return 2;
}
