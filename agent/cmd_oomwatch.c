/* snug-agent oomwatch: OOM kills and memory pressure of this node's containers as JSON lines, for operators. */
#include <cjson/cJSON.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <time.h>

#include <systemd/sd-event.h>

#include "agent/commands.h"
#include "agent/util/cleanup.h"
#include "agent/util/log.h"
#include "agent/util/parse.h"
#include "agent/util/time.h"
#include "bpf/oomwatch_api.h"
#include "cgroup/layout.h"
#include "cgroup/tree.h"
#include "agent/util/json.h"

struct oomwatch_cli {
	sd_event *event;
	struct cg_tree *tree;
	struct cg_layout *layout;
	struct oomwatch *ow;
	bool text;
	bool scanned_once;
	uint64_t rescan_usec;
	uint64_t max_kills; /* exit after this many kill records (0 = run until signalled) */
	uint64_t kills;
	sd_event_source *rescan_timer;
	sd_event_source *layout_io;
};

static void cli_done(struct oomwatch_cli *c)
{
	c->rescan_timer = sd_event_source_disable_unref(c->rescan_timer);
	c->layout_io = sd_event_source_disable_unref(c->layout_io);
	c->ow = oomwatch_free(c->ow);
	c->layout = c->layout ? cg_layout_free(c->layout) : NULL;
	c->tree = c->tree ? cg_tree_free(c->tree) : NULL;
	c->event = sd_event_unref(c->event);
}

static void on_layout(enum cg_layout_event ev, struct cg_pod *pod, struct cg_container *ctr,
		      void *userdata)
{
	struct oomwatch_cli *c = userdata;
	int r;

	if (ev == CG_LAYOUT_CONTAINER_APPEARED) {
		/* Containers found after the first scan were created while we watched: their
		 * memory.events counts are all news. */
		r = oomwatch_track(c->ow, ctr->inode, cg_tree_fd(c->tree), ctr->path,
				   c->scanned_once ? OOMWATCH_TRACK_NEW : 0, ctr);
		if (r < 0 && r != -ENOENT)
			log_warning_errno(r, "oomwatch: cannot watch %s: %m", ctr->path);
	} else if (ev == CG_LAYOUT_CONTAINER_VANISHED) {
		(void)oomwatch_untrack(c->ow, ctr->inode);
	}
}

static int cli_scan(struct oomwatch_cli *c)
{
	int r = cg_layout_scan(c->layout, on_layout, c);

	if (r < 0)
		return log_warning_errno(r, "oomwatch: cgroup discovery failed: %m");
	c->scanned_once = true;
	return 0;
}

static struct cg_container *find_by_inode(struct oomwatch_cli *c, uint64_t id)
{
	size_t n;
	struct cg_pod *const *pods = cg_layout_pods(c->layout, &n);

	for (size_t i = 0; i < n; i++)
		for (size_t j = 0; j < pods[i]->n_containers; j++)
			if (pods[i]->containers[j]->inode == id)
				return pods[i]->containers[j];
	return NULL;
}

/* A kill in a cgroup we do not track yet: the container may be newer than our last scan. */
static void *on_lookup(uint64_t cgroup_id, uint64_t parent_id, void *userdata)
{
	struct oomwatch_cli *c = userdata;
	struct cg_container *ctr;

	(void)cli_scan(c);
	ctr = find_by_inode(c, cgroup_id);
	return ctr ? ctr : find_by_inode(c, parent_id);
}

static void add_time(cJSON *o, const char *key, uint64_t mono_ns)
{
	/* Event time on the wall clock: now minus how long ago it happened on the monotonic clock. */
	uint64_t now_mono = now_nsec(CLOCK_MONOTONIC), now_real = now_nsec(CLOCK_REALTIME);
	uint64_t t = now_real - (now_mono > mono_ns ? now_mono - mono_ns : 0);
	time_t sec = t / NSEC_PER_SEC;
	struct tm tm;
	char buf[64];

	gmtime_r(&sec, &tm);
	strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(buf + strlen(buf), sizeof(buf) - strlen(buf), ".%06" PRIu64 "Z",
		 (uint64_t)((t % NSEC_PER_SEC) / 1000));
	cJSON_AddStringToObject(o, key, buf);
}

static void add_u64(cJSON *o, const char *key, uint64_t v)
{
	cJSON_AddNumberToObject(o, key, (double)v);
}

static void print_json(cJSON *o)
{
	_cleanup_free_ char *s = cJSON_PrintUnformatted(o);

	if (s) {
		fputs(s, stdout);
		fputc('\n', stdout);
		fflush(stdout);
	}
}

static void print_text(const struct oomwatch_record *rec, const struct cg_container *ctr)
{
	const char *what = rec->kind == OOMWATCH_KILL ? "OOM-KILL" : "PRESSURE";

	printf("%-8s %-13s pod=%s container=%.12s cgroup=%" PRIu64, what,
	       oomwatch_source_to_string(rec->source), ctr ? ctr->pod->uid : "-",
	       ctr ? ctr->id : "-", rec->cgroup_id);
	if (rec->kind == OOMWATCH_KILL) {
		printf(" kills=%" PRIu64, rec->kills);
		if (rec->pid)
			printf(" pid=%" PRIu32 " comm=%s anon_rss=%" PRIu64 "kB", rec->pid,
			       rec->comm, rec->anon_rss_kb);
		if (rec->kernel_ns)
			printf(" latency=%.0fus",
			       (double)(rec->seen_ns - rec->kernel_ns) / NSEC_PER_USEC);
	} else {
		printf(" max+%" PRIu64 " high+%" PRIu64 " oom+%" PRIu64, rec->max_delta,
		       rec->high_delta, rec->oom_delta);
	}
	putchar('\n');
	fflush(stdout);
}

static void on_record(const struct oomwatch_record *rec, void *userdata)
{
	struct oomwatch_cli *c = userdata;
	const struct cg_container *ctr = rec->container;
	_cleanup_(cJSON_Deletep) cJSON *o = NULL;

	if (c->text) {
		print_text(rec, ctr);
		goto count;
	}
	o = cJSON_CreateObject();
	if (!o)
		return;
	add_time(o, "time", rec->kernel_ns ? rec->kernel_ns : rec->seen_ns);
	cJSON_AddStringToObject(o, "kind", rec->kind == OOMWATCH_KILL ? "oom_kill" : "pressure");
	cJSON_AddStringToObject(o, "source", oomwatch_source_to_string(rec->source));
	add_u64(o, "cgroup_id", rec->cgroup_id);
	if (ctr) {
		cJSON_AddStringToObject(o, "pod_uid", ctr->pod->uid);
		cJSON_AddStringToObject(o, "qos", qos_class_to_string(ctr->pod->qos));
		cJSON_AddStringToObject(o, "container_id", ctr->id);
		cJSON_AddStringToObject(o, "runtime", cg_runtime_to_string(ctr->runtime));
		cJSON_AddStringToObject(o, "cgroup", ctr->path);
	}
	if (rec->kind == OOMWATCH_KILL) {
		add_u64(o, "kills", rec->kills);
		if (rec->source == OOMWATCH_SOURCE_BPF) {
			add_u64(o, "pid", rec->pid);
			add_u64(o, "tgid", rec->tgid);
			cJSON_AddStringToObject(o, "comm", rec->comm);
			add_u64(o, "uid", rec->uid);
			cJSON_AddNumberToObject(o, "oom_score_adj", rec->oom_score_adj);
			add_u64(o, "total_vm_kb", rec->total_vm_kb);
			add_u64(o, "anon_rss_kb", rec->anon_rss_kb);
			add_u64(o, "file_rss_kb", rec->file_rss_kb);
			add_u64(o, "shmem_rss_kb", rec->shmem_rss_kb);
			cJSON_AddStringToObject(o, "via", oomwatch_via_to_string(rec->via));
			add_u64(o, "kernel_ns", rec->kernel_ns);
		}
		if (rec->missed_by_bpf)
			cJSON_AddBoolToObject(o, "missed_by_bpf", true);
	} else {
		add_u64(o, "max_delta", rec->max_delta);
		add_u64(o, "high_delta", rec->high_delta);
		add_u64(o, "oom_delta", rec->oom_delta);
	}
	if (rec->source == OOMWATCH_SOURCE_MEMORY_EVENTS) {
		add_u64(o, "max", rec->counters.max);
		add_u64(o, "high", rec->counters.high);
		add_u64(o, "oom", rec->counters.oom);
		add_u64(o, "oom_kill", rec->counters.oom_kill);
	}
	add_u64(o, "seen_ns", rec->seen_ns);
	if (rec->kernel_ns && rec->seen_ns >= rec->kernel_ns)
		cJSON_AddNumberToObject(o, "latency_us",
					(double)(rec->seen_ns - rec->kernel_ns) / NSEC_PER_USEC);
	print_json(o);
count:
	if (rec->kind == OOMWATCH_KILL) {
		c->kills += rec->kills;
		if (c->max_kills && c->kills >= c->max_kills)
			(void)sd_event_exit(c->event, 0);
	}
}

static void print_start(struct oomwatch_cli *c)
{
	_cleanup_(cJSON_Deletep) cJSON *o = NULL;
	int err = oomwatch_bpf_error(c->ow);

	if (c->text) {
		printf("oomwatch: source=%s tracked=%zu\n",
		       oomwatch_source_to_string(oomwatch_source(c->ow)), oomwatch_tracked(c->ow));
		fflush(stdout);
		return;
	}
	o = cJSON_CreateObject();
	if (!o)
		return;
	add_time(o, "time", now_nsec(CLOCK_MONOTONIC));
	cJSON_AddStringToObject(o, "kind", "start");
	cJSON_AddStringToObject(o, "source", oomwatch_source_to_string(oomwatch_source(c->ow)));
	if (oomwatch_source(c->ow) == OOMWATCH_SOURCE_BPF)
		cJSON_AddStringToObject(o, "program",
					oomwatch_bpf_mode(c->ow) == OOMWATCH_VIA_TASK ? "tp_btf"
					: oomwatch_bpf_mode(c->ow) == OOMWATCH_VIA_CURRENT
						? "tp"
						: "tp-proc");
	else
		cJSON_AddStringToObject(o, "bpf_error",
					err == -ECANCELED ? "disabled by --no-bpf"
							  : strerror(-err));
	cJSON_AddStringToObject(o, "cgroup_root", cg_tree_path(c->tree));
	add_u64(o, "tracked", oomwatch_tracked(c->ow));
	print_json(o);
}

static int on_rescan_timer(sd_event_source *s, uint64_t usec, void *userdata)
{
	struct oomwatch_cli *c = userdata;

	(void)cli_scan(c);
	(void)sd_event_source_set_time(s, usec + c->rescan_usec);
	return sd_event_source_set_enabled(s, SD_EVENT_ONESHOT);
}

static int on_layout_io(sd_event_source *s, int fd, uint32_t revents, void *userdata)
{
	struct oomwatch_cli *c = userdata;

	if (cg_layout_watch_drain(c->layout) > 0)
		(void)cli_scan(c);
	return 0;
}

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: snug-agent oomwatch [OPTIONS]\n\n"
		"Prints OOM kills and memory pressure (memory.events max/high growth) of the\n"
		"Kubernetes containers on this node, one JSON object per line. Kills come from "
		"BPF\n"
		"(tracepoint oom/mark_victim) when it can be loaded, else from memory.events.\n\n"
		"  --cgroup-root DIR     cgroup v2 mount (default /sys/fs/cgroup)\n"
		"  --no-bpf              do not load BPF; kills from memory.events only\n"
		"  --json                JSON lines (the default)\n"
		"  --text                one human-readable line per record instead\n"
		"  --rescan SECONDS      rediscover containers this often besides inotify "
		"(default 2)\n"
		"  --count N             exit after N OOM kills\n"
		"  --bpf-program auto|tp_btf|tp|tp-proc\n"
		"      tp_btf: the victim task the tracepoint passes; tp (classic): the current\n"
		"      task or the SIGKILL's target; tp-proc: current or /proc/<pid>/cgroup.\n"
		"      Default auto: the best the kernel allows\n"
		"  --log-level LEVEL     error, warning, info (default), debug\n"
		"  -h, --help            this text\n\n"
		"The first line has kind \"start\" and says which source is active.\n");
}

static int parse_bpf_program(const char *s, int *ret)
{
	if (strcmp(s, "tp_btf") == 0)
		*ret = OOMWATCH_VIA_TASK;
	else if (strcmp(s, "tp") == 0)
		*ret = OOMWATCH_VIA_CURRENT;
	else if (strcmp(s, "tp-proc") == 0)
		*ret = OOMWATCH_VIA_PROC;
	else if (strcmp(s, "auto") != 0)
		return -EINVAL;
	return 0;
}

/* Like systemd's parse_argv(): 1 to run, 0 after --help, -EINVAL after saying what is wrong. */
static int cli_parse_argv(int argc, char **argv, struct oomwatch_cli *c,
			  struct oomwatch_config *cfg)
{
	static const struct option opts[] = { { "cgroup-root", required_argument, NULL, 'r' },
					      { "no-bpf", no_argument, NULL, 'n' },
					      { "json", no_argument, NULL, 'j' },
					      { "text", no_argument, NULL, 't' },
					      { "rescan", required_argument, NULL, 's' },
					      { "count", required_argument, NULL, 'c' },
					      { "log-level", required_argument, NULL, 'l' },
					      { "bpf-program", required_argument, NULL, 'p' },
					      { "help", no_argument, NULL, 'h' },
					      {} };
	uint64_t v;
	int opt, r;

	optind = 1;
	while ((opt = getopt_long(argc, argv, "h", opts, NULL)) >= 0) {
		switch (opt) {
		case 'r':
			cfg->cgroup_root = optarg;
			break;
		case 'n':
			cfg->no_bpf = true;
			break;
		case 'j':
			c->text = false;
			break;
		case 't':
			c->text = true;
			break;
		case 's':
			if (safe_atou64(optarg, &v) < 0 || v == 0 || v > 3600) {
				fprintf(stderr, "oomwatch: --rescan wants 1..3600 seconds\n");
				return -EINVAL;
			}
			c->rescan_usec = v * USEC_PER_SEC;
			break;
		case 'c':
			if (safe_atou64(optarg, &c->max_kills) < 0) {
				fprintf(stderr, "oomwatch: --count wants a number\n");
				return -EINVAL;
			}
			break;
		case 'l':
			r = log_level_from_string(optarg);
			if (r < 0) {
				fprintf(stderr, "oomwatch: unknown log level '%s'\n", optarg);
				return -EINVAL;
			}
			log_set_max_level(r);
			break;
		case 'p':
			if (parse_bpf_program(optarg, &cfg->bpf_program) < 0) {
				fprintf(stderr, "oomwatch: --bpf-program wants auto, tp_btf, tp or "
						"tp-proc\n");
				return -EINVAL;
			}
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return -EINVAL;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "oomwatch: unexpected argument '%s'\n", argv[optind]);
		return -EINVAL;
	}
	return 1;
}

/* Opens the tree, loads the watcher (BPF or memory.events) and arms discovery: inotify where it
 * works, and a rescan timer besides. Logs what failed; the caller cleans up with cli_done(). */
static int cli_start(struct oomwatch_cli *c, const struct oomwatch_config *cfg)
{
	sigset_t ss;
	int r, fd;

	sigemptyset(&ss);
	sigaddset(&ss, SIGINT);
	sigaddset(&ss, SIGTERM);
	sigprocmask(SIG_BLOCK, &ss, NULL);
	r = sd_event_new(&c->event);
	if (r < 0)
		return r;
	(void)sd_event_add_signal(c->event, NULL, SIGINT, NULL, NULL);
	(void)sd_event_add_signal(c->event, NULL, SIGTERM, NULL, NULL);
	r = cg_tree_open(cfg->cgroup_root, &c->tree);
	if (r < 0)
		return log_error_errno(r, "oomwatch: cannot open cgroup root %s: %m",
				       cfg->cgroup_root);
	r = cg_layout_new(c->tree, &c->layout);
	if (r < 0)
		return r;
	r = oomwatch_new(c->event, cfg, on_record, c, &c->ow);
	if (r < 0)
		return log_error_errno(r, "oomwatch: cannot start: %m");
	oomwatch_log_source(c->ow);
	fd = cg_layout_watch_fd(c->layout);
	if (fd >= 0)
		(void)sd_event_add_io(c->event, &c->layout_io, fd, EPOLLIN, on_layout_io, c);
	(void)cli_scan(c);
	/* Accuracy 1 ms: a container started between rescans (inotify missed it) has its kills
	 * unwatched until this fires. */
	r = sd_event_add_time_relative(c->event, &c->rescan_timer, CLOCK_MONOTONIC, c->rescan_usec,
				       USEC_PER_MSEC, on_rescan_timer, c);
	if (r < 0)
		return r;
	(void)sd_event_source_set_enabled(c->rescan_timer, SD_EVENT_ON);
	return 0;
}

int cmd_oomwatch(int argc, char **argv)
{
	struct oomwatch_cli c = { .rescan_usec = 2 * USEC_PER_SEC };
	struct oomwatch_config cfg = { .lookup = on_lookup, .cgroup_root = "/sys/fs/cgroup" };
	int r;

	r = cli_parse_argv(argc, argv, &c, &cfg);
	if (r <= 0)
		return r < 0 ? 2 : 0;
	r = cli_start(&c, &cfg);
	if (r >= 0) {
		print_start(&c);
		r = sd_event_loop(c.event);
	}
	if (r < 0)
		log_error_errno(r, "oomwatch: %m");
	cli_done(&c);
	return r < 0 ? 1 : 0;
}
