/* snug-agent top: a live, kubelet-aware per-pod/container view of the node straight from the cgroup tree. */
#include <cjson/cJSON.h>
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <poll.h>
#include <sys/resource.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "agent/commands.h"
#include "agent/top.h"
#include "agent/util/cleanup.h"
#include "agent/util/log.h"
#include "agent/util/parse.h"
#include "agent/util/time.h"
#include "cgroup/layout.h"
#include "cgroup/sampler.h"
#include "cgroup/tree.h"
#include "agent/util/json.h"

void agent_top_row(const struct cg_sample *prev, const struct cg_sample *cur,
		   enum cg_weight_formula f, struct agent_top_row *ret)
{
	struct agent_top_row r = {
		.cpu_usage_cores = NAN,
		.cpu_throttled_pct = NAN,
		.cpu_throttled_periods_pct = NAN,
		.cpu_limit_millicores = CG_UNLIMITED,
		.memory_max_bytes = CG_UNLIMITED,
		.memory_peak_bytes = CG_UNLIMITED,
		.cpu_psi_some_avg10 = NAN,
		.memory_psi_some_avg10 = NAN,
	};
	unsigned p = cur->present;

	if (prev && prev->error == 0 && cur->timestamp_usec > prev->timestamp_usec &&
	    cur->cpu.usage_usec >= prev->cpu.usage_usec) {
		double dt = (double)(cur->timestamp_usec - prev->timestamp_usec);

		r.cpu_usage_cores = (double)(cur->cpu.usage_usec - prev->cpu.usage_usec) / dt;
		if (cur->cpu.has_throttling && prev->cpu.has_throttling &&
		    cur->cpu.throttled_usec >= prev->cpu.throttled_usec) {
			r.cpu_throttled_pct =
				(double)(cur->cpu.throttled_usec - prev->cpu.throttled_usec) / dt *
				100.0;
			if (cur->cpu.nr_periods > prev->cpu.nr_periods &&
			    cur->cpu.nr_throttled >= prev->cpu.nr_throttled)
				r.cpu_throttled_periods_pct =
					(double)(cur->cpu.nr_throttled - prev->cpu.nr_throttled) /
					(double)(cur->cpu.nr_periods - prev->cpu.nr_periods) *
					100.0;
		}
	}
	if (p & CG_FILE_BIT(CG_FILE_CPU_MAX))
		r.cpu_limit_millicores = cg_cpu_max_to_millicores(&cur->cpu_max);
	if (p & CG_FILE_BIT(CG_FILE_CPU_WEIGHT)) {
		r.cpu_weight = cur->cpu_weight;
		r.cpu_request_millicores =
			cg_shares_to_millicores(cg_weight_to_shares(f, cur->cpu_weight));
	}
	r.memory_working_set_bytes = cur->memory_working_set;
	if (p & CG_FILE_BIT(CG_FILE_MEMORY_CURRENT))
		r.memory_current_bytes = cur->memory_current;
	if (p & CG_FILE_BIT(CG_FILE_MEMORY_MAX))
		r.memory_max_bytes = cur->memory_max;
	if (p & CG_FILE_BIT(CG_FILE_MEMORY_PEAK))
		r.memory_peak_bytes = cur->memory_peak;
	if (p & CG_FILE_BIT(CG_FILE_MEMORY_EVENTS))
		r.oom_kill_count = cur->memory_events.oom_kill;
	if (p & CG_FILE_BIT(CG_FILE_CPU_PRESSURE))
		r.cpu_psi_some_avg10 = cur->cpu_pressure.some.avg10;
	if (p & CG_FILE_BIT(CG_FILE_MEMORY_PRESSURE))
		r.memory_psi_some_avg10 = cur->memory_pressure.some.avg10;
	*ret = r;
}

int agent_top_guess_formula(const struct agent_top_pod_weights *pods, size_t n,
			    enum cg_weight_formula *ret)
{
	double err[2] = { 0, 0 };
	bool evidence = false;

	for (size_t i = 0; i < n; i++) {
		double pod_shares, sum[2] = { 0, 0 };
		bool any = false;

		if (pods[i].pod_weight <= 1)
			continue;
		pod_shares = (double)cg_weight_to_shares_kubelet(pods[i].pod_weight);
		for (size_t k = 0; k < pods[i].n_containers; k++) {
			uint64_t w = pods[i].container_weights[k];

			if (w <= 1)
				continue;
			sum[CG_WEIGHT_KUBELET] += (double)cg_weight_to_shares_kubelet(w);
			sum[CG_WEIGHT_LOG] += (double)cg_weight_to_shares_log(w);
			any = true;
		}
		if (!any)
			continue;
		for (int f = 0; f < 2; f++)
			err[f] += fabs(sum[f] - pod_shares) / pod_shares;
		evidence = true;
	}
	if (!evidence || err[0] == err[1]) {
		*ret = CG_WEIGHT_KUBELET;
		return 0;
	}
	*ret = err[CG_WEIGHT_LOG] < err[CG_WEIGHT_KUBELET] ? CG_WEIGHT_LOG : CG_WEIGHT_KUBELET;
	return 1;
}

/* Per tracked container: its sampler entry and the previous sample for the rates. */
struct top_ctr {
	struct cg_sampler_entry *entry;
	struct cg_sample prev;
	bool has_prev;
	bool fresh; /* sampled at least once since added */
};

struct top {
	struct cg_tree *tree;
	struct cg_layout *layout;
	struct cg_sampler *sampler;
	enum cg_weight_formula formula;
	bool formula_auto, formula_detected;
	bool need_rescan;
	uint64_t nofile;
};

static void on_layout(enum cg_layout_event ev, struct cg_pod *pod, struct cg_container *c,
		      void *userdata)
{
	struct top *t = userdata;
	struct top_ctr *tc;
	int r;

	if (!c)
		return;
	if (ev == CG_LAYOUT_CONTAINER_APPEARED) {
		tc = calloc(1, sizeof(*tc));
		if (!tc)
			return;
		r = cg_sampler_add(t->sampler, c->path, c, &tc->entry);
		if (r < 0) {
			/* Gone already, or out of fds: shown as "-" and retried never; say why. */
			log_debug_errno(r, "top: cannot sample %s: %m", c->path);
			if (r == -EMFILE || r == -ENFILE)
				log_warning_errno(r,
						  "top: out of file descriptors at %zu containers "
						  "(RLIMIT_NOFILE %llu): %m",
						  cg_sampler_n_entries(t->sampler),
						  (unsigned long long)t->nofile);
		}
		c->userdata = tc;
	} else if (ev == CG_LAYOUT_CONTAINER_VANISHED) {
		tc = c->userdata;
		if (tc) {
			cg_sampler_remove(t->sampler, tc->entry);
			free(tc);
		}
		c->userdata = NULL;
	}
}

static void free_all_ctrs(struct top *t)
{
	struct cg_pod *const *pods;
	size_t n;

	if (!t->layout)
		return;
	pods = cg_layout_pods(t->layout, &n);
	for (size_t i = 0; i < n; i++)
		for (size_t k = 0; k < pods[i]->n_containers; k++) {
			free(pods[i]->containers[k]->userdata);
			pods[i]->containers[k]->userdata = NULL;
		}
}

static int top_scan(struct top *t)
{
	size_t n;
	int r;

	r = cg_layout_scan(t->layout, on_layout, t);
	if (r < 0)
		return log_error_errno(r, "Failed to scan %s: %m", cg_tree_path(t->tree));
	t->need_rescan = false;
	n = cg_layout_n_containers(t->layout);
	if (cg_sampler_fds_needed(CG_FILES_ALL, n) > t->nofile) {
		uint64_t old, new;

		r = cg_raise_nofile(cg_sampler_fds_needed(CG_FILES_ALL, n) * 2, &old, &new);
		if (r >= 0 && new != old) {
			log_info("Raised RLIMIT_NOFILE from %llu to %llu for %zu containers",
				 (unsigned long long)old, (unsigned long long)new, n);
			t->nofile = new;
		}
	}
	return 0;
}

/* Re-reads the pods' weights and guesses the runtime's weight formula from them. */
static void top_guess_formula(struct top *t)
{
	struct cg_pod *const *pods;
	struct agent_top_pod_weights *pw;
	uint64_t *ws;
	size_t n, total;

	if (!t->formula_auto)
		return;
	pods = cg_layout_pods(t->layout, &n);
	total = cg_layout_n_containers(t->layout);
	pw = calloc(n + 1, sizeof(*pw));
	ws = calloc(total + 1, sizeof(*ws));
	if (pw && ws) {
		size_t k = 0;

		for (size_t i = 0; i < n; i++) {
			int fd = cg_tree_open_dir(t->tree, pods[i]->path);

			if (fd >= 0) {
				(void)cg_read_cpu_weight_at(fd, &pw[i].pod_weight);
				close(fd);
			}
			pw[i].container_weights = ws + k;
			for (size_t c = 0; c < pods[i]->n_containers; c++) {
				struct top_ctr *tc = pods[i]->containers[c]->userdata;
				const struct cg_sample *s =
					tc && tc->entry ? cg_sampler_entry_sample(tc->entry) : NULL;

				if (s && s->error == 0 &&
				    (s->present & CG_FILE_BIT(CG_FILE_CPU_WEIGHT)))
					ws[k + pw[i].n_containers++] = s->cpu_weight;
			}
			k += pw[i].n_containers;
		}
		t->formula_detected = agent_top_guess_formula(pw, n, &t->formula) > 0;
	}
	free(pw);
	free(ws);
}

/* One tick: samples, and keeps the previous sample of each container for the rates. */
static int top_tick(struct top *t)
{
	int r = cg_sampler_tick(t->sampler);

	if (r < 0)
		return log_error_errno(r, "Sampling failed: %m");
	return 0;
}

static void format_bytes(char *buf, size_t size, uint64_t v)
{
	static const char *units[] = { "B", "Ki", "Mi", "Gi", "Ti" };
	double d = (double)v;
	int u = 0;

	if (v == CG_UNLIMITED) {
		snprintf(buf, size, "max");
		return;
	}
	while (d >= 1024 && u < 4) {
		d /= 1024;
		u++;
	}
	if (u == 0)
		snprintf(buf, size, "%lluB", (unsigned long long)v);
	else
		snprintf(buf, size, "%.1f%s", d, units[u]);
}

static void format_millis(char *buf, size_t size, uint64_t m)
{
	if (m == CG_UNLIMITED)
		snprintf(buf, size, "max");
	else if (m % 1000 == 0)
		snprintf(buf, size, "%llu", (unsigned long long)(m / 1000));
	else
		snprintf(buf, size, "%llum", (unsigned long long)m);
}

static void format_num(char *buf, size_t size, double v, int decimals)
{
	if (isnan(v))
		snprintf(buf, size, "-");
	else
		snprintf(buf, size, "%.*f", decimals, v);
}

static const char *qos_short(enum qos_class q)
{
	return q == QOS_GUARANTEED ? "Guaranteed" : q == QOS_BURSTABLE ? "Burstable" : "BestEffort";
}

/* Calls fn for every container with a usable sample, in layout order, updating prev afterwards. */
typedef void (*row_fn)(struct cg_pod *pod, struct cg_container *c, const struct agent_top_row *row,
		       void *userdata);

static size_t top_rows(struct top *t, row_fn fn, void *userdata)
{
	struct cg_pod *const *pods;
	size_t n, shown = 0;

	pods = cg_layout_pods(t->layout, &n);
	for (size_t i = 0; i < n; i++)
		for (size_t k = 0; k < pods[i]->n_containers; k++) {
			struct cg_container *c = pods[i]->containers[k];
			struct top_ctr *tc = c->userdata;
			const struct cg_sample *s;
			struct agent_top_row row;

			if (!tc || !tc->entry)
				continue;
			s = cg_sampler_entry_sample(tc->entry);
			if (s->error) {
				if (s->error == -ENODEV)
					t->need_rescan = true;
				tc->has_prev = false;
				continue;
			}
			agent_top_row(tc->has_prev ? &tc->prev : NULL, s, t->formula, &row);
			fn(pods[i], c, &row, userdata);
			tc->prev = *s;
			tc->has_prev = true;
			shown++;
		}
	return shown;
}

static void noop_row(struct cg_pod *pod, struct cg_container *c, const struct agent_top_row *r,
		     void *userdata)
{
}

static void print_row(struct cg_pod *pod, struct cg_container *c, const struct agent_top_row *r,
		      void *userdata)
{
	char cpu[32], req[32], lim[32], thr[32], ws[32], mmax[32], pc[32], pm[32];

	format_num(cpu, sizeof(cpu), r->cpu_usage_cores, 2);
	if (r->cpu_weight)
		format_millis(req, sizeof(req), r->cpu_request_millicores);
	else
		snprintf(req, sizeof(req), "-");
	format_millis(lim, sizeof(lim), r->cpu_limit_millicores);
	format_num(thr, sizeof(thr), r->cpu_throttled_pct, 1);
	format_bytes(ws, sizeof(ws), r->memory_working_set_bytes);
	format_bytes(mmax, sizeof(mmax), r->memory_max_bytes);
	format_num(pc, sizeof(pc), r->cpu_psi_some_avg10, 2);
	format_num(pm, sizeof(pm), r->memory_psi_some_avg10, 2);
	printf("%-8.8s %-12.12s %-10s %-10s %6s %6s %6s %6s %9s / %-9s %7s %7s %4llu\n", pod->uid,
	       c->id, qos_short(pod->qos), cg_runtime_to_string(c->runtime), cpu, req, lim, thr, ws,
	       mmax, pc, pm, (unsigned long long)r->oom_kill_count);
}

static void print_table(struct top *t, double interval, bool tty)
{
	size_t n_pods, shown;
	char when[32];
	time_t now = time(NULL);
	struct tm tm;

	cg_layout_pods(t->layout, &n_pods);
	strftime(when, sizeof(when), "%H:%M:%S", localtime_r(&now, &tm));
	if (tty)
		fputs("\033[H\033[2J", stdout);
	printf("snug top  %s  %zu pods, %zu containers  cgroup root %s  sampler %s  every %.1fs\n",
	       when, n_pods, cg_layout_n_containers(t->layout), cg_tree_path(t->tree),
	       cg_sampler_mode_to_string(cg_sampler_mode(t->sampler)), interval);
	printf("%-8s %-12s %-10s %-10s %6s %6s %6s %6s %21s %7s %7s %4s\n", "POD", "CONTAINER",
	       "QOS", "RUNTIME", "CPU", "REQ", "LIMIT", "THR%", "MEM WORKSET / LIMIT", "PSI-CPU",
	       "PSI-MEM", "OOM");
	shown = top_rows(t, print_row, NULL);
	if (shown == 0)
		printf("(no kubelet pods under %s: looked for kubepods.slice/ and kubepods/)\n",
		       cg_tree_path(t->tree));
	printf("CPU = cores used; REQ = request implied by cpu.weight (%s formula%s); LIMIT = "
	       "cpu.max "
	       "in cores; THR%% = time throttled per wall time;\nMEM WORKSET = memory.current - "
	       "inactive_file; PSI = pressure 'some' avg10 %%; OOM = oom_kill count; '-' = not "
	       "known "
	       "yet.\n",
	       cg_weight_formula_to_string(t->formula),
	       t->formula_auto ? (t->formula_detected ? ", detected" : ", default") : "");
	fflush(stdout);
}

static cJSON *num_or_null(double v)
{
	return isnan(v) ? cJSON_CreateNull() : cJSON_CreateNumber(v);
}

static cJSON *u64_or_null(uint64_t v)
{
	return v == CG_UNLIMITED ? cJSON_CreateNull() : cJSON_CreateNumber((double)v);
}

static void json_row(struct cg_pod *pod, struct cg_container *c, const struct agent_top_row *r,
		     void *userdata)
{
	cJSON *arr = userdata, *o = cJSON_CreateObject();

	cJSON_AddItemToArray(arr, o);
	cJSON_AddStringToObject(o, "pod_uid", pod->uid);
	cJSON_AddStringToObject(o, "container_id", c->id);
	cJSON_AddStringToObject(o, "qos", qos_class_to_string(pod->qos));
	cJSON_AddStringToObject(o, "runtime", cg_runtime_to_string(c->runtime));
	cJSON_AddStringToObject(o, "driver", cg_driver_to_string(pod->driver));
	cJSON_AddStringToObject(o, "cgroup_path", c->path);
	cJSON_AddNumberToObject(o, "cgroup_inode", (double)c->inode);
	cJSON_AddItemToObject(o, "cpu_usage_cores", num_or_null(r->cpu_usage_cores));
	cJSON_AddItemToObject(o, "cpu_limit_cores",
			      r->cpu_limit_millicores == CG_UNLIMITED
				      ? cJSON_CreateNull()
				      : cJSON_CreateNumber((double)r->cpu_limit_millicores / 1000));
	cJSON_AddItemToObject(o, "cpu_weight",
			      r->cpu_weight ? cJSON_CreateNumber((double)r->cpu_weight)
					    : cJSON_CreateNull());
	cJSON_AddItemToObject(o, "cpu_request_millicores_from_weight",
			      r->cpu_weight ? cJSON_CreateNumber((double)r->cpu_request_millicores)
					    : cJSON_CreateNull());
	cJSON_AddItemToObject(o, "cpu_throttled_pct", num_or_null(r->cpu_throttled_pct));
	cJSON_AddItemToObject(o, "cpu_throttled_periods_pct",
			      num_or_null(r->cpu_throttled_periods_pct));
	cJSON_AddNumberToObject(o, "memory_working_set_bytes", (double)r->memory_working_set_bytes);
	cJSON_AddNumberToObject(o, "memory_current_bytes", (double)r->memory_current_bytes);
	cJSON_AddItemToObject(o, "memory_max_bytes", u64_or_null(r->memory_max_bytes));
	cJSON_AddItemToObject(o, "memory_peak_bytes", u64_or_null(r->memory_peak_bytes));
	cJSON_AddNumberToObject(o, "oom_kill_count", (double)r->oom_kill_count);
	cJSON_AddItemToObject(o, "cpu_psi_some_avg10", num_or_null(r->cpu_psi_some_avg10));
	cJSON_AddItemToObject(o, "memory_psi_some_avg10", num_or_null(r->memory_psi_some_avg10));
}

static void help(void)
{
	printf("Usage: snug-agent top [OPTIONS]\n\n"
	       "A live view of this node's Kubernetes pods and containers, read straight from the\n"
	       "cgroup v2 tree (no API server needed): per container its pod, QoS class, runtime,\n"
	       "CPU used against its request and limit, how much it was throttled, memory working\n"
	       "set against its limit, pressure (PSI) and OOM kills. Both kubelet cgroup drivers\n"
	       "(systemd, cgroupfs) and containerd, CRI-O and docker are recognised. Every "
	       "container\n"
	       "cgroup is shown, the pod's sandbox (pause) container included.\n\n"
	       "Options:\n"
	       "  --once                print one table and exit (takes two samples, --interval "
	       "apart)\n"
	       "  --json                print one JSON document (an array of containers) and "
	       "exit;\n"
	       "                        units are in the key names, null = unlimited/unknown\n"
	       "  --cgroup-root DIR     the cgroup v2 tree to read (default /sys/fs/cgroup)\n"
	       "  --interval SEC        seconds between refreshes and between the two samples of\n"
	       "                        --once/--json (default 1)\n"
	       "  --sampler MODE        auto (default: io_uring, or pread where unavailable), "
	       "uring,\n"
	       "                        pread, orc (open/read/close every tick)\n"
	       "  --weight-formula F    how the runtime turned CPU shares into cpu.weight, to show "
	       "the\n"
	       "                        request: auto (default: guessed from the pod cgroups), "
	       "kubelet\n"
	       "                        (runc <= 1.3.1, crun < 1.23), log (runc >= 1.3.2, crun >= "
	       "1.23)\n"
	       "  --log-level LEVEL     error, warning, info (default), debug\n"
	       "  -h, --help            this text\n\n"
	       "Columns: CPU cores used over the last interval; REQ the CPU request implied by\n"
	       "cpu.weight; LIMIT cpu.max in cores; THR%% time throttled per wall-clock time; MEM\n"
	       "WORKSET memory.current - inactive_file (what the kubelet evicts on) / memory.max;\n"
	       "PSI-CPU, PSI-MEM the 'some' avg10 pressure in %%; OOM the oom_kill count.\n"
	       "Press Ctrl-C to quit.\n");
}

static void sleep_interval(struct top *t, double interval)
{
	uint64_t end = now_usec(CLOCK_MONOTONIC) + (uint64_t)(interval * 1e6);
	int wfd = cg_layout_watch_fd(t->layout);

	for (;;) {
		uint64_t now = now_usec(CLOCK_MONOTONIC);
		struct pollfd pfd = { .fd = wfd, .events = POLLIN };
		int ms;

		if (now >= end)
			return;
		ms = (int)((end - now + 999) / 1000);
		if (wfd < 0) {
			struct timespec ts = { .tv_sec = ms / 1000,
					       .tv_nsec = (ms % 1000) * 1000000L };
			nanosleep(&ts, NULL);
			return;
		}
		if (poll(&pfd, 1, ms) > 0 && cg_layout_watch_drain(t->layout) > 0)
			t->need_rescan = true;
	}
}

/* What the command line asks for; the weight formula goes straight into struct top. */
struct top_options {
	const char *cgroup_root;
	enum cg_sampler_mode sampler_mode;
	double interval; /* seconds */
	bool once, json;
};

static int parse_weight_formula(const char *s, struct top *t)
{
	if (strcmp(s, "auto") == 0)
		t->formula_auto = true;
	else if (strcmp(s, "kubelet") == 0) {
		t->formula_auto = false;
		t->formula = CG_WEIGHT_KUBELET;
	} else if (strcmp(s, "log") == 0) {
		t->formula_auto = false;
		t->formula = CG_WEIGHT_LOG;
	} else
		return -EINVAL;
	return 0;
}

/* Like systemd's parse_argv(): 1 to run, 0 after --help, -EINVAL after saying what is wrong. */
static int top_parse_argv(int argc, char **argv, struct top_options *o, struct top *t)
{
	static const struct option opts[] = {
		{ "once", no_argument, NULL, 'o' },
		{ "json", no_argument, NULL, 'j' },
		{ "cgroup-root", required_argument, NULL, 'r' },
		{ "interval", required_argument, NULL, 'i' },
		{ "sampler", required_argument, NULL, 's' },
		{ "weight-formula", required_argument, NULL, 'w' },
		{ "log-level", required_argument, NULL, 'l' },
		{ "help", no_argument, NULL, 'h' },
		{},
	};
	int c, r;

	optind = 0;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) >= 0) {
		switch (c) {
		case 'o':
			o->once = true;
			break;
		case 'j':
			o->json = true;
			break;
		case 'r':
			o->cgroup_root = optarg;
			break;
		case 'i':
			if (safe_atod(optarg, &o->interval) < 0 || o->interval < 0.01 ||
			    o->interval > 3600) {
				fprintf(stderr,
					"snug-agent top: --interval wants seconds between "
					"0.01 and 3600, not '%s'\n",
					optarg);
				return -EINVAL;
			}
			break;
		case 's':
			if (cg_sampler_mode_from_string(optarg, &o->sampler_mode) < 0) {
				fprintf(stderr,
					"snug-agent top: --sampler wants auto, uring, pread or "
					"orc, not '%s'\n",
					optarg);
				return -EINVAL;
			}
			break;
		case 'w':
			if (parse_weight_formula(optarg, t) < 0) {
				fprintf(stderr,
					"snug-agent top: --weight-formula wants auto, kubelet or "
					"log, not '%s'\n",
					optarg);
				return -EINVAL;
			}
			break;
		case 'l':
			r = log_level_from_string(optarg);
			if (r < 0) {
				fprintf(stderr, "snug-agent top: bad --log-level '%s'\n", optarg);
				return -EINVAL;
			}
			log_set_max_level(r);
			break;
		case 'h':
			help();
			return 0;
		default:
			fprintf(stderr, "Run 'snug-agent top --help' for the options.\n");
			return -EINVAL;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "snug-agent top: unexpected argument '%s'\n", argv[optind]);
		return -EINVAL;
	}
	return 1;
}

/* Opens the tree, container discovery and the sampler; logs what failed. */
static int top_open(struct top *t, const struct top_options *o)
{
	struct rlimit rl;
	int r;

	r = cg_tree_open(o->cgroup_root, &t->tree);
	if (r < 0)
		return log_error_errno(r, "Cannot open cgroup root %s: %m", o->cgroup_root);
	r = cg_layout_new(t->tree, &t->layout);
	if (r < 0)
		return log_error_errno(r, "Out of memory: %m");
	r = cg_sampler_new(t->tree, o->sampler_mode, CG_FILES_ALL, &t->sampler);
	if (r < 0)
		return log_error_errno(r, "Cannot set up the %s sampler: %m",
				       cg_sampler_mode_to_string(o->sampler_mode));
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0)
		t->nofile = rl.rlim_cur;
	return 0;
}

/* The containers first, then what owns them, in the reverse order of top_open(). */
static void top_done(struct top *t)
{
	free_all_ctrs(t);
	t->sampler = cg_sampler_free(t->sampler);
	t->layout = cg_layout_free(t->layout);
	t->tree = cg_tree_free(t->tree);
}

static int print_json_rows(struct top *t)
{
	_cleanup_(cJSON_Deletep) cJSON *arr = cJSON_CreateArray();
	_cleanup_free_ char *text = NULL;

	if (!arr)
		return -ENOMEM;
	(void)top_rows(t, json_row, arr);
	text = cJSON_Print(arr);
	if (!text)
		return -ENOMEM;
	puts(text);
	return 0;
}

/* --once and --json: the second sample one interval after the priming one, printed once. */
static int top_print_once(struct top *t, const struct top_options *o)
{
	double interval = o->interval;
	struct timespec ts = { .tv_sec = (time_t)interval,
			       .tv_nsec = (long)((interval - (double)(time_t)interval) * 1e9) };
	int r;

	nanosleep(&ts, NULL);
	r = top_tick(t);
	if (r < 0)
		return r;
	top_guess_formula(t);
	if (o->json)
		return print_json_rows(t);
	print_table(t, interval, false);
	return 0;
}

/* The live view: a table every interval, redrawn in place on a terminal; returns only on error. */
static int top_run_live(struct top *t, double interval)
{
	bool tty = isatty(STDOUT_FILENO);
	int r;

	for (;;) {
		sleep_interval(t, interval);
		if (t->need_rescan) {
			r = top_scan(t);
			if (r < 0)
				return r;
		}
		r = top_tick(t);
		if (r < 0)
			return r;
		top_guess_formula(t);
		print_table(t, interval, tty);
		if (!tty)
			putchar('\n');
	}
}

int cmd_top(int argc, char **argv)
{
	_cleanup_(top_done) struct top t = { .formula = CG_WEIGHT_KUBELET, .formula_auto = true };
	struct top_options o = {
		.cgroup_root = "/sys/fs/cgroup",
		.sampler_mode = CG_SAMPLER_AUTO,
		.interval = 1.0,
	};
	int r;

	r = top_parse_argv(argc, argv, &o, &t);
	if (r <= 0)
		return r < 0 ? 2 : 0;
	if (top_open(&t, &o) < 0)
		return 1;
	if (!o.once && !o.json)
		(void)cg_layout_watch_fd(t.layout); /* optional: wakes us on mkdir/rmdir */

	/* Rates need two samples: the first only primes each container's previous sample. */
	if (top_scan(&t) < 0 || top_tick(&t) < 0)
		return 1;
	(void)top_rows(&t, noop_row, NULL);
	if (o.once || o.json)
		r = top_print_once(&t, &o);
	else
		r = top_run_live(&t, o.interval);
	return r < 0 ? 1 : 0;
}
