/* oomwatch user space: loads the BPF program (or falls back to memory.events) and delivers records in sd-event. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include <bpf/btf.h>
#include <bpf/libbpf.h>

#include "agent/util/cleanup.h"
#include "agent/util/log.h"
#include "agent/util/time.h"
#include "bpf/oomwatch_api.h"
#include "bpf/oomwatch.skel.h"
#include "cgroup/files.h"

struct ow_entry {
	uint64_t id;
	int dir_fd;
	int wd; /* inotify watch on memory.events, -1 when none */
	void *container;
	struct cg_memory_events last;
	bool have_last;
	bool report_initial; /* OOMWATCH_TRACK_NEW: the first read counts from zero */
	bool gone;	     /* memory.events vanished: the cgroup was removed */
	bool dead;	     /* untracked while a dispatch was running: freed afterwards */
	/* Matching the two sources while BPF is active: BPF kills memory.events has not shown yet, and
	 * memory.events kills no BPF record has claimed yet (reported as missed after a grace period:
	 * the kernel bumps oom_kill before the tracepoint fires, so memory.events can be first). */
	uint64_t bpf_unmatched;
	uint64_t events_unmatched;
	uint64_t missed_deadline; /* CLOCK_MONOTONIC µs */
	struct cg_memory_events missed_counters;
};

struct oomwatch {
	sd_event *event;
	struct oomwatch_config config;
	char *cgroup_root;
	oomwatch_handler_t handler;
	void *userdata;

	enum oomwatch_source source;
	int bpf_error;
	int bpf_mode;
	struct oomwatch_bpf *skel;
	struct ring_buffer *rb;
	sd_event_source *rb_source;
	sd_event_source *missed_timer;
	uint64_t missed_grace_usec;

	int inotify_fd;
	sd_event_source *inotify_source;

	struct ow_entry **entries;
	size_t n_entries;
	size_t n_alloc;
	unsigned busy; /* >0 while records are being dispatched: untrack only marks entries dead */
};

static int libbpf_print_debug(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	/* libbpf is chatty at warning level for things we handle (fallback); show it only at debug. */
	if (log_get_max_level() < LOG_DEBUG)
		return 0;
	return vfprintf(stderr, fmt, ap);
}

const char *oomwatch_source_to_string(enum oomwatch_source s)
{
	switch (s) {
	case OOMWATCH_SOURCE_BPF:
		return "bpf";
	case OOMWATCH_SOURCE_MEMORY_EVENTS:
		return "memory.events";
	}
	return "unknown";
}

const char *oomwatch_via_to_string(int via)
{
	switch (via) {
	case OOMWATCH_VIA_TASK:
		return "task";
	case OOMWATCH_VIA_CURRENT:
		return "current";
	case OOMWATCH_VIA_PROC:
		return "proc";
	case OOMWATCH_VIA_SIGNAL:
		return "signal";
	}
	return "none";
}

/* Reads memory.events beneath the cgroup dir fd (cgroup/'s parser); -ENODEV when the cgroup or the
 * file is gone. */
static int read_memory_events(int dir_fd, struct cg_memory_events *ret)
{
	int r = cg_read_memory_events_at(dir_fd, ret);

	return r == -ENOENT ? -ENODEV : r;
}

static void entry_free(struct ow_entry *e)
{
	if (!e)
		return;
	safe_close(e->dir_fd);
	free(e);
}

static struct ow_entry *find_entry(struct oomwatch *ow, uint64_t id)
{
	if (id == 0)
		return NULL;
	for (size_t i = 0; i < ow->n_entries; i++)
		if (!ow->entries[i]->dead && ow->entries[i]->id == id)
			return ow->entries[i];
	return NULL;
}

static void drop_watch(struct oomwatch *ow, struct ow_entry *e)
{
	if (e->wd < 0)
		return;
	/* Another live entry may share the watch (same directory tracked twice): keep it then. */
	for (size_t i = 0; i < ow->n_entries; i++)
		if (ow->entries[i] != e && !ow->entries[i]->dead && ow->entries[i]->wd == e->wd) {
			e->wd = -1;
			return;
		}
	(void)inotify_rm_watch(ow->inotify_fd, e->wd);
	e->wd = -1;
}

/* Frees entries untracked during a dispatch, once no caller holds a pointer to them. */
static void gc_entries(struct oomwatch *ow)
{
	size_t j = 0;

	if (ow->busy > 0)
		return;
	for (size_t i = 0; i < ow->n_entries; i++) {
		if (ow->entries[i]->dead)
			entry_free(ow->entries[i]);
		else
			ow->entries[j++] = ow->entries[i];
	}
	ow->n_entries = j;
}

static void emit(struct oomwatch *ow, const struct oomwatch_record *rec)
{
	if (ow->handler)
		ow->handler(rec, ow->userdata);
}

static uint64_t delta(uint64_t now, uint64_t before)
{
	return now - before;
}

static void arm_missed_timer(struct oomwatch *ow)
{
	uint64_t next = UINT64_MAX;

	for (size_t i = 0; i < ow->n_entries; i++) {
		struct ow_entry *e = ow->entries[i];

		if (!e->dead && e->events_unmatched > 0 && e->missed_deadline < next)
			next = e->missed_deadline;
	}
	if (!ow->missed_timer)
		return;
	if (next == UINT64_MAX) {
		(void)sd_event_source_set_enabled(ow->missed_timer, SD_EVENT_OFF);
		return;
	}
	(void)sd_event_source_set_time(ow->missed_timer, next);
	(void)sd_event_source_set_enabled(ow->missed_timer, SD_EVENT_ONESHOT);
}

static void drain_rb(struct oomwatch *ow);

/* Reports the kills memory.events counted in e that no BPF record claimed. */
static void emit_missed(struct oomwatch *ow, struct ow_entry *e)
{
	struct oomwatch_record rec = { 0 };

	rec.kind = OOMWATCH_KILL;
	rec.source = OOMWATCH_SOURCE_MEMORY_EVENTS;
	rec.cgroup_id = e->id;
	rec.container = e->container;
	rec.seen_ns = now_nsec(CLOCK_MONOTONIC);
	rec.kills = e->events_unmatched;
	rec.missed_by_bpf = true;
	rec.counters = e->missed_counters;
	e->events_unmatched = 0;
	log_debug("oomwatch: %" PRIu64 " kill(s) in cgroup %" PRIu64 " not seen by BPF", rec.kills,
		  e->id);
	emit(ow, &rec);
}

/* Kills memory.events counted that no BPF record claimed within the grace period. */
static int on_missed_timer(sd_event_source *s, uint64_t usec, void *userdata)
{
	struct oomwatch *ow = userdata;
	uint64_t now = now_usec(CLOCK_MONOTONIC);

	ow->busy++;
	drain_rb(ow);
	for (size_t i = 0; i < ow->n_entries; i++) {
		struct ow_entry *e = ow->entries[i];

		if (e->dead || e->events_unmatched == 0 || e->missed_deadline > now)
			continue;
		emit_missed(ow, e);
	}
	ow->busy--;
	gc_entries(ow);
	arm_missed_timer(ow);
	return 0;
}

/* The processes killed between two reads of memory.events. A group kill (memory.oom.group, which
 * the kubelet sets on cgroup v2) counts its first victim twice in oom_kill: oom_kill_process()
 * kills it, then kills every member of the group, the victim again (__oom_kill_process() counts
 * MEMCG_OOM_KILL each time; mark_victim fires once, mark_oom_victim() returning early the second
 * time). oom_group_kill (5.17+) counts the group kills, so each one's extra count comes off; read
 * as two kills it made the agent grow a limit twice for one OOM (seen on the real node tier). */
static uint64_t victims(const struct cg_memory_events *cur, const struct cg_memory_events *base)
{
	uint64_t kills = delta(cur->oom_kill, base->oom_kill);
	uint64_t groups = delta(cur->oom_group_kill, base->oom_group_kill);

	return kills > groups ? kills - groups : 0;
}

/* Re-reads one entry's memory.events and emits pressure and kill records for what grew. */
static void entry_refresh(struct oomwatch *ow, struct ow_entry *e)
{
	struct cg_memory_events cur, base;
	struct oomwatch_record rec = { 0 };
	bool initial = false;
	uint64_t kills;
	int r;

	if (e->dead || e->gone)
		return;
	r = read_memory_events(e->dir_fd, &cur);
	if (r == -ENODEV) {
		log_debug("oomwatch: memory.events of cgroup %" PRIu64 " vanished", e->id);
		e->gone = true;
		drop_watch(ow, e);
		return;
	}
	if (r < 0) {
		log_debug_errno(r, "oomwatch: cannot read memory.events of cgroup %" PRIu64 ": %m",
				e->id);
		return;
	}
	if (!e->have_last) {
		e->have_last = true;
		if (!e->report_initial) {
			e->last = cur;
			return;
		}
		memset(&e->last, 0, sizeof(e->last));
		initial = true;
	}
	base = e->last;
	/* Counters only grow within one cgroup: lower values mean a new cgroup behind the same
	 * entry, whose counts all happened since it was created. */
	if (cur.low < base.low || cur.high < base.high || cur.max < base.max ||
	    cur.oom < base.oom || cur.oom_kill < base.oom_kill ||
	    cur.oom_group_kill < base.oom_group_kill) {
		memset(&base, 0, sizeof(base));
		e->bpf_unmatched = e->events_unmatched = 0;
	}
	e->last = cur;

	rec.source = OOMWATCH_SOURCE_MEMORY_EVENTS;
	rec.cgroup_id = e->id;
	rec.container = e->container;
	rec.seen_ns = now_nsec(CLOCK_MONOTONIC);
	rec.high_delta = delta(cur.high, base.high);
	rec.max_delta = delta(cur.max, base.max);
	rec.oom_delta = delta(cur.oom, base.oom);
	rec.counters = cur;
	if (rec.high_delta > 0 || rec.max_delta > 0) {
		rec.kind = OOMWATCH_PRESSURE;
		emit(ow, &rec);
		if (e->dead)
			return; /* the handler untracked it */
	}

	kills = victims(&cur, &base);
	if (kills == 0)
		return;
	if (ow->source == OOMWATCH_SOURCE_BPF && !ow->config.report_all_sources) {
		uint64_t matched = kills < e->bpf_unmatched ? kills : e->bpf_unmatched;

		e->bpf_unmatched -= matched;
		kills -= matched;
		/* A new cgroup's kills from before it was tracked: the ring buffer was drained after
		 * the entry was made, so their BPF records came by before it, unclaimed. Reported
		 * now, while the cgroup (its memory.peak) is still there, not after the grace. */
		if (kills > 0 && initial) {
			e->events_unmatched = kills;
			e->missed_counters = cur;
			emit_missed(ow, e);
			return;
		}
		if (kills > 0) {
			/* Give the BPF record a moment to arrive before calling it missed. */
			if (e->events_unmatched == 0)
				e->missed_deadline =
					rec.seen_ns / NSEC_PER_USEC + ow->missed_grace_usec;
			e->events_unmatched += kills;
			e->missed_counters = cur;
			arm_missed_timer(ow);
		}
		return;
	}
	rec.kind = OOMWATCH_KILL;
	rec.kills = kills;
	emit(ow, &rec);
}

static void drain_rb(struct oomwatch *ow)
{
	if (ow->rb)
		(void)ring_buffer__consume(ow->rb);
}

static int on_inotify(sd_event_source *s, int fd, uint32_t revents, void *userdata)
{
	struct oomwatch *ow = userdata;
	char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
	ssize_t n;

	/* Reading the ring first lets the memory.events comparison see every kill BPF delivered so
	 * far (on 6.1 the kernel bumps oom_kill just before the tracepoint fires, so a BPF record may
	 * still follow: see the grace timer). */
	ow->busy++;
	drain_rb(ow);
	for (;;) {
		n = read(fd, buf, sizeof(buf));
		if (n <= 0)
			break;
		for (char *p = buf; p < buf + n;) {
			struct inotify_event *ev = (struct inotify_event *)p;

			p += sizeof(*ev) + ev->len;
			for (size_t i = 0; i < ow->n_entries; i++) {
				struct ow_entry *e = ow->entries[i];

				if (e->dead || e->wd != ev->wd)
					continue;
				if (ev->mask & IN_IGNORED) {
					/* The kernel dropped the watch (file removed). */
					e->wd = -1;
					entry_refresh(ow, e);
					e->gone = true;
				} else {
					entry_refresh(ow, e);
				}
			}
		}
	}
	ow->busy--;
	gc_entries(ow);
	return 0;
}

/* /proc/<pid>/cgroup "0::/path" → inode of cgroup_root/path. */
static int resolve_pid_cgroup(struct oomwatch *ow, uint32_t pid, uint64_t *ret)
{
	_cleanup_fclose_ FILE *f = NULL;
	char fn[64], line[PATH_MAX + 8];
	_cleanup_free_ char *full = NULL;
	struct stat st;

	snprintf(fn, sizeof(fn), "/proc/%" PRIu32 "/cgroup", pid);
	f = fopen(fn, "re");
	if (!f)
		return negative_errno();
	while (fgets(line, sizeof(line), f)) {
		size_t n = strlen(line);

		if (strncmp(line, "0::/", 4) != 0)
			continue;
		if (n > 0 && line[n - 1] == '\n')
			line[--n] = 0;
		if (strstr(line, "/..") || asprintf(&full, "%s%s", ow->cgroup_root, line + 3) < 0)
			return -EINVAL;
		if (stat(full, &st) < 0)
			return negative_errno();
		*ret = st.st_ino;
		return 0;
	}
	return -ENOMEDIUM; /* no cgroup v2 line */
}

static int on_bpf_event(void *ctx, void *data, size_t size)
{
	struct oomwatch *ow = ctx;
	const struct oomwatch_bpf_event *ev = data;
	struct oomwatch_record rec = { 0 };
	struct ow_entry *e;

	if (size < sizeof(*ev))
		return 0;
	rec.kind = OOMWATCH_KILL;
	rec.source = OOMWATCH_SOURCE_BPF;
	rec.seen_ns = now_nsec(CLOCK_MONOTONIC);
	rec.kernel_ns = ev->ts_ns;
	rec.kills = 1;
	rec.cgroup_id = ev->cgroup_id;
	rec.pid = ev->pid;
	rec.tgid = ev->tgid;
	rec.uid = ev->uid;
	rec.oom_score_adj = ev->oom_score_adj;
	memcpy(rec.comm, ev->comm, sizeof(rec.comm));
	rec.comm[sizeof(rec.comm) - 1] = 0;
	rec.total_vm_kb = ev->total_vm;
	rec.anon_rss_kb = ev->anon_rss;
	rec.file_rss_kb = ev->file_rss;
	rec.shmem_rss_kb = ev->shmem_rss;
	rec.via = ev->via;
	if (ev->via == OOMWATCH_VIA_PROC) {
		uint64_t id;
		int r = resolve_pid_cgroup(ow, ev->pid, &id);

		if (r < 0)
			log_debug_errno(r, "oomwatch: victim %" PRIu32 " not resolvable: %m",
					ev->pid);
		else
			rec.cgroup_id = id;
	}
	e = find_entry(ow, rec.cgroup_id);
	if (!e)
		e = find_entry(ow, ev->parent_cgroup_id);
	if (e) {
		rec.container = e->container;
		if (e->events_unmatched > 0)
			e->events_unmatched--; /* memory.events was first: no longer missed */
		else
			e->bpf_unmatched++;
	} else if (ow->config.lookup && rec.cgroup_id != 0) {
		rec.container =
			ow->config.lookup(rec.cgroup_id, ev->parent_cgroup_id, ow->userdata);
	}
	ow->busy++;
	emit(ow, &rec);
	ow->busy--;
	return 0;
}

static int on_rb_io(sd_event_source *s, int fd, uint32_t revents, void *userdata)
{
	struct oomwatch *ow = userdata;

	ow->busy++;
	drain_rb(ow);
	ow->busy--;
	gc_entries(ow);
	return 0;
}

/* 1 when the running kernel's mark_victim tracepoint passes the victim task (tp_btf can use it),
 * 0 when it does not, -errno without kernel BTF. */
static int mark_victim_has_task(void)
{
	struct btf *btf = btf__load_vmlinux_btf();
	const struct btf_type *t;
	const struct btf_param *p;
	int id, r = 0;

	if (!btf)
		return negative_errno();
	id = btf__find_by_name_kind(btf, "btf_trace_mark_victim", BTF_KIND_TYPEDEF);
	if (id < 0)
		goto out;
	t = btf__type_by_id(btf, btf__resolve_type(btf, id));
	if (!t || !btf_is_ptr(t))
		goto out;
	t = btf__type_by_id(btf, t->type);
	if (!t || !btf_is_func_proto(t) || btf_vlen(t) < 2)
		goto out;
	p = btf_params(t);
	t = btf__type_by_id(btf, btf__resolve_type(btf, p[1].type));
	if (!t || !btf_is_ptr(t))
		goto out;
	t = btf__type_by_id(btf, btf__resolve_type(btf, t->type));
	if (t && btf_is_struct(t) &&
	    strcmp(btf__name_by_offset(btf, t->name_off), "task_struct") == 0)
		r = 1;
out:
	btf__free(btf);
	return r;
}

static void bpf_stop(struct oomwatch *ow)
{
	ow->rb_source = sd_event_source_disable_unref(ow->rb_source);
	ow->missed_timer = sd_event_source_disable_unref(ow->missed_timer);
	ring_buffer__free(ow->rb);
	ow->rb = NULL;
	oomwatch_bpf__destroy(ow->skel);
	ow->skel = NULL;
}

/* mode: OOMWATCH_VIA_TASK (tp_btf), OOMWATCH_VIA_CURRENT (classic tp + the signal_generate helper
 * that names a victim other than current), OOMWATCH_VIA_PROC (classic tp alone; /proc for others). */
static int bpf_try(struct oomwatch *ow, int mode)
{
	bool use_task = mode == OOMWATCH_VIA_TASK;
	int r;

	ow->skel = oomwatch_bpf__open();
	if (!ow->skel)
		return negative_errno();
	bpf_program__set_autoload(ow->skel->progs.mark_victim_btf, use_task);
	bpf_program__set_autoload(ow->skel->progs.mark_victim_tp, !use_task);
	bpf_program__set_autoload(ow->skel->progs.signal_generate, mode == OOMWATCH_VIA_CURRENT);
	r = oomwatch_bpf__load(ow->skel);
	if (r < 0)
		goto fail;
	r = oomwatch_bpf__attach(ow->skel);
	if (r < 0)
		goto fail;
	ow->rb = ring_buffer__new(bpf_map__fd(ow->skel->maps.events), on_bpf_event, ow, NULL);
	if (!ow->rb) {
		r = negative_errno();
		goto fail;
	}
	r = sd_event_add_io(ow->event, &ow->rb_source, ring_buffer__epoll_fd(ow->rb), EPOLLIN,
			    on_rb_io, ow);
	if (r < 0)
		goto fail;
	(void)sd_event_source_set_description(ow->rb_source, "oomwatch-ringbuf");
	/* Accuracy 1 us, not sd-event's default (0 = 250 ms): a kill BPF missed is reported when
	 * its grace runs out, and the OOM bump waits for that report. */
	r = sd_event_add_time(ow->event, &ow->missed_timer, CLOCK_MONOTONIC, UINT64_MAX, 1,
			      on_missed_timer, ow);
	if (r < 0)
		goto fail;
	(void)sd_event_source_set_enabled(ow->missed_timer, SD_EVENT_OFF);
	ow->bpf_mode = mode;
	return 0;
fail:
	bpf_stop(ow);
	return r < 0 ? r : -EIO;
}

static int bpf_start(struct oomwatch *ow)
{
	static const char *const names[] = {
		[OOMWATCH_VIA_TASK] = "tp_btf/mark_victim",
		[OOMWATCH_VIA_CURRENT] = "tp/oom/mark_victim + tp_btf/signal_generate",
		[OOMWATCH_VIA_PROC] = "tp/oom/mark_victim",
	};
	int modes[3], n = 0, has_task, r = -ENOENT;

	libbpf_set_print(libbpf_print_debug);
	has_task = mark_victim_has_task();
	if (has_task < 0)
		return log_debug_errno(has_task, "oomwatch: no kernel BTF: %m");
	/* Best first: the victim task from the tracepoint, then the classic tracepoint with the
	 * SIGKILL helper, then the classic tracepoint alone. A forced choice is tried alone. */
	if (ow->config.bpf_program > 0)
		modes[n++] = ow->config.bpf_program;
	else {
		if (has_task > 0)
			modes[n++] = OOMWATCH_VIA_TASK;
		modes[n++] = OOMWATCH_VIA_CURRENT;
		modes[n++] = OOMWATCH_VIA_PROC;
	}
	for (int i = 0; i < n; i++) {
		if (modes[i] < OOMWATCH_VIA_TASK || modes[i] > OOMWATCH_VIA_PROC)
			return -EINVAL;
		r = bpf_try(ow, modes[i]);
		if (r >= 0)
			return 0;
		log_debug_errno(r, "oomwatch: %s failed: %m", names[modes[i]]);
	}
	return r;
}

int oomwatch_new(sd_event *event, const struct oomwatch_config *config, oomwatch_handler_t handler,
		 void *userdata, struct oomwatch **ret)
{
	_cleanup_(oomwatch_freep) struct oomwatch *ow = NULL;
	int r;

	if (!event || !ret)
		return -EINVAL;
	ow = calloc(1, sizeof(*ow));
	if (!ow)
		return -ENOMEM;
	ow->inotify_fd = -1;
	ow->event = sd_event_ref(event);
	if (config)
		ow->config = *config;
	ow->cgroup_root =
		strdup(ow->config.cgroup_root ? ow->config.cgroup_root : "/sys/fs/cgroup");
	if (!ow->cgroup_root)
		return -ENOMEM;
	ow->config.cgroup_root = ow->cgroup_root;
	ow->handler = handler;
	ow->userdata = userdata;
	ow->missed_grace_usec = ow->config.missed_grace_usec ?: USEC_PER_SEC;

	ow->inotify_fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	if (ow->inotify_fd < 0)
		return negative_errno();
	r = sd_event_add_io(event, &ow->inotify_source, ow->inotify_fd, EPOLLIN, on_inotify, ow);
	if (r < 0)
		return r;
	(void)sd_event_source_set_description(ow->inotify_source, "oomwatch-inotify");

	ow->source = OOMWATCH_SOURCE_MEMORY_EVENTS;
	if (ow->config.no_bpf) {
		ow->bpf_error = -ECANCELED;
	} else {
		r = bpf_start(ow);
		if (r < 0)
			ow->bpf_error = r;
		else
			ow->source = OOMWATCH_SOURCE_BPF;
	}
	*ret = TAKE_PTR(ow);
	return 0;
}

struct oomwatch *oomwatch_free(struct oomwatch *ow)
{
	if (!ow)
		return NULL;
	bpf_stop(ow);
	ow->inotify_source = sd_event_source_disable_unref(ow->inotify_source);
	safe_close(ow->inotify_fd);
	for (size_t i = 0; i < ow->n_entries; i++)
		entry_free(ow->entries[i]);
	free(ow->entries);
	free(ow->cgroup_root);
	sd_event_unref(ow->event);
	free(ow);
	return NULL;
}

int oomwatch_track(struct oomwatch *ow, uint64_t cgroup_id, int dir_fd, const char *path,
		   unsigned flags, void *container)
{
	_cleanup_close_ int fd = -1;
	struct ow_entry *e;
	char wpath[64];
	int wd;

	if (!ow || cgroup_id == 0 || !path)
		return -EINVAL;
	e = find_entry(ow, cgroup_id);
	if (e) {
		e->container = container;
		if (e->wd < 0) {
			/* memory.events was missing (controller off, or not there yet): retry. */
			snprintf(wpath, sizeof(wpath), "/proc/self/fd/%d/memory.events", e->dir_fd);
			wd = inotify_add_watch(ow->inotify_fd, wpath, IN_MODIFY);
			if (wd >= 0) {
				e->wd = wd;
				e->gone = false;
				ow->busy++;
				entry_refresh(ow, e);
				ow->busy--;
				gc_entries(ow);
			}
		}
		return 0;
	}
	fd = openat(dir_fd, path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return negative_errno();
	if (ow->n_entries == ow->n_alloc) {
		size_t n = ow->n_alloc ? ow->n_alloc * 2 : 16;
		struct ow_entry **p = reallocarray(ow->entries, n, sizeof(*p));

		if (!p)
			return -ENOMEM;
		ow->entries = p;
		ow->n_alloc = n;
	}
	/* Watch through the dir fd so a path that changes meaning later cannot redirect us. */
	snprintf(wpath, sizeof(wpath), "/proc/self/fd/%d/memory.events", fd);
	wd = inotify_add_watch(ow->inotify_fd, wpath, IN_MODIFY);
	if (wd < 0 && errno != ENOENT)
		return log_debug_errno(errno, "oomwatch: cannot watch %s/memory.events: %m", path);
	e = calloc(1, sizeof(*e));
	if (!e) {
		if (wd >= 0)
			(void)inotify_rm_watch(ow->inotify_fd, wd);
		return -ENOMEM;
	}
	e->id = cgroup_id;
	e->dir_fd = TAKE_FD(fd);
	e->wd = wd;
	e->container = container;
	e->report_initial = flags & OOMWATCH_TRACK_NEW;
	ow->entries[ow->n_entries++] = e;
	if (wd < 0)
		e->gone = true; /* no memory.events (memory controller off, or removed already) */
	else {
		ow->busy++;
		/* Records of a new cgroup's kills still queued are claimed by it first. */
		if (e->report_initial)
			drain_rb(ow);
		entry_refresh(ow, e); /* baseline, or the kills of a new cgroup */
		ow->busy--;
		gc_entries(ow);
	}
	return 0;
}

int oomwatch_untrack(struct oomwatch *ow, uint64_t cgroup_id)
{
	struct ow_entry *e = ow ? find_entry(ow, cgroup_id) : NULL;

	if (!e)
		return -ENOENT;
	/* A kill counted before the cgroup was tracked had its BPF record go by unclaimed: a
	 * container that dies at once (an OOM kill under a limit far too small) is untracked when
	 * its cgroup goes, often within the grace period. Its kill is reported now, not dropped. */
	if (e->events_unmatched > 0) {
		ow->busy++;
		drain_rb(ow);
		if (!e->dead && e->events_unmatched > 0)
			emit_missed(ow, e);
		ow->busy--;
	}
	drop_watch(ow, e);
	e->dead = true;
	gc_entries(ow);
	arm_missed_timer(ow);
	return 0;
}

size_t oomwatch_tracked(const struct oomwatch *ow)
{
	size_t n = 0;

	for (size_t i = 0; i < ow->n_entries; i++)
		n += !ow->entries[i]->dead;
	return n;
}

enum oomwatch_source oomwatch_source(const struct oomwatch *ow)
{
	return ow->source;
}

int oomwatch_bpf_error(const struct oomwatch *ow)
{
	return ow->source == OOMWATCH_SOURCE_BPF ? 0 : ow->bpf_error;
}

int oomwatch_bpf_mode(const struct oomwatch *ow)
{
	return ow->source == OOMWATCH_SOURCE_BPF ? ow->bpf_mode : 0;
}

int oomwatch_missed_timer_accuracy(const struct oomwatch *ow, uint64_t *ret)
{
	if (!ow->missed_timer)
		return -ENODATA;
	return sd_event_source_get_time_accuracy(ow->missed_timer, ret);
}

uint64_t oomwatch_bpf_dropped(const struct oomwatch *ow)
{
	return ow->skel && ow->skel->bss
		       ? __atomic_load_n(&ow->skel->bss->dropped, __ATOMIC_RELAXED)
		       : 0;
}

void oomwatch_log_source(const struct oomwatch *ow)
{
	if (ow->source == OOMWATCH_SOURCE_BPF)
		log_info("oomwatch: OOM kills from BPF (%s, victim cgroup from the %s)",
			 ow->bpf_mode == OOMWATCH_VIA_TASK ? "tp_btf/mark_victim"
							   : "tp/oom/mark_victim",
			 ow->bpf_mode == OOMWATCH_VIA_TASK ? "tracepoint's task"
							   : "current task or /proc/<pid>/cgroup");
	else if (ow->bpf_error == -ECANCELED)
		log_info("oomwatch: OOM kills from memory.events (BPF disabled by option)");
	else
		log_warning_errno(ow->bpf_error,
				  "oomwatch: BPF unavailable (%m); OOM kills from memory.events "
				  "(inotify), without pid/comm");
}

int oomwatch_flush(struct oomwatch *ow)
{
	ow->busy++;
	drain_rb(ow);
	for (size_t i = 0; i < ow->n_entries; i++)
		entry_refresh(ow, ow->entries[i]);
	ow->busy--;
	gc_entries(ow);
	return 0;
}
