/* The limit writer: sequences of limit writes run in order through the cgroupfs or systemd backend. */
#include "cgroup/limits.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "agent/util/cleanup.h"
#include "agent/util/log.h"
#include "agent/util/time.h"
#include "cgroup/files.h"

/* One sequence: its own copy of the writes (paths included), and how far it got. */
struct limits_op {
	struct limits_op *next;
	const struct cg_limits_backend *backend;
	cg_limits_done_fn done;
	void *userdata;
	size_t n, current;
	int error; /* the failure that ends it */
	struct cg_limit_write *writes;
	struct cg_limit_result *results;
};

struct cg_limits {
	struct cg_tree *tree;
	sd_event *event;
	struct limits_op *head, *tail;
	bool running; /* inside run_queue(): a write finishing only records its result */
	bool waiting; /* the head's current write started and has not finished */
	bool freeing; /* cg_limits_free() is finishing the queue */
	/* The systemd backend: one connection for the writer's life, and the call in flight. */
	sd_bus *bus;
	sd_bus_slot *call;
	uint64_t dbus_timeout_usec;
};

const char *cg_limit_to_string(enum cg_limit l)
{
	switch (l) {
	case CG_LIMIT_MEMORY_MAX:
		return "memory.max";
	case CG_LIMIT_CPU_MAX:
		return "cpu.max";
	case CG_LIMIT_CPU_WEIGHT:
		return "cpu.weight";
	}
	return "invalid";
}

/* ---- the cgroupfs backend: files beneath the tree, written at once ---------------------------- */

static int write_limit_file(int dirfd, const struct cg_limit_write *w)
{
	struct cg_cpu_max m;

	switch (w->limit) {
	case CG_LIMIT_MEMORY_MAX:
		return cg_write_memory_max(dirfd, w->value);
	case CG_LIMIT_CPU_MAX:
		cg_cpu_limit_to_max(w->value == CG_UNLIMITED ? 0 : w->value, &m);
		return cg_write_cpu_max(dirfd, m.quota_usec, m.period_usec);
	case CG_LIMIT_CPU_WEIGHT:
		return cg_write_cpu_weight(dirfd, w->value);
	}
	return -EINVAL;
}

static int cgroupfs_write(struct cg_limits *l, const struct cg_limit_write *w)
{
	_cleanup_close_ int fd = cg_tree_open_dir(l->tree, w->path);

	cg_limits_write_done(l, fd < 0 ? fd : write_limit_file(fd, w));
	return 0;
}

static void cgroupfs_abandon(struct cg_limits *l)
{
	/* Nothing is ever left in flight. */
}

static const struct cg_limits_backend cgroupfs_backend = {
	.name = "cgroupfs",
	.write = cgroupfs_write,
	.abandon = cgroupfs_abandon,
};

/* ---- the systemd backend: SetUnitProperties, asynchronous, one call at a time ----------------- */

int cg_limit_unit_properties(const struct cg_limit_write *w, struct cg_unit_property ret[2])
{
	struct cg_cpu_max m;
	uint64_t per_sec = UINT64_MAX; /* systemd's "infinity" */

	switch (w->limit) {
	case CG_LIMIT_MEMORY_MAX:
		ret[0] = (struct cg_unit_property){ "MemoryMax", w->value };
		return 1;
	case CG_LIMIT_CPU_MAX:
		cg_cpu_limit_to_max(w->value == CG_UNLIMITED ? 0 : w->value, &m);
		/* systemd's quota is per second of wall time, and it records a runtime property in
		 * its drop-in as CPUQuota=<whole percent>, truncated: `daemon-reload` would turn
		 * 675ms into 670ms. Rounded up to whole 10 ms as runc's systemd driver does, so
		 * the limit never falls under the accepted one and the reload keeps it exactly. */
		if (m.quota_usec != CG_UNLIMITED) {
			per_sec = m.quota_usec * USEC_PER_SEC / m.period_usec;
			per_sec = (per_sec + CG_SYSTEMD_QUOTA_GRAIN_USEC - 1) /
				  CG_SYSTEMD_QUOTA_GRAIN_USEC * CG_SYSTEMD_QUOTA_GRAIN_USEC;
		}
		ret[0] = (struct cg_unit_property){ "CPUQuotaPerSecUSec", per_sec };
		ret[1] = (struct cg_unit_property){ "CPUQuotaPeriodUSec", m.period_usec };
		return 2;
	case CG_LIMIT_CPU_WEIGHT:
		ret[0] = (struct cg_unit_property){ "CPUWeight", w->value };
		return 1;
	}
	return -EINVAL;
}

/* The unit a cgroup belongs to: its last path component (a slice or a scope). */
static const char *unit_name_of(const char *path)
{
	const char *slash = strrchr(path, '/');
	return slash ? slash + 1 : path;
}

/* The connection kept for the writer's life, (re)opened when there is none or it broke. */
static int systemd_bus(struct cg_limits *l, sd_bus **ret)
{
	_cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
	int r;

	if (l->bus && sd_bus_is_open(l->bus) > 0) {
		*ret = l->bus;
		return 0;
	}
	if (l->bus)
		log_debug("The D-Bus connection to systemd was closed: opening another");
	l->bus = sd_bus_flush_close_unref(l->bus);
	r = sd_bus_open_system_with_description(&bus, "snug-limits");
	if (r < 0)
		return log_debug_errno(r, "Cannot open the system bus: %m");
	r = sd_bus_attach_event(bus, l->event, SD_EVENT_PRIORITY_NORMAL);
	if (r < 0)
		return log_debug_errno(r, "Cannot attach the system bus to the event loop: %m");
	*ret = l->bus = TAKE_PTR(bus);
	return 0;
}

static int on_set_unit_properties_reply(sd_bus_message *reply, void *userdata,
					sd_bus_error *ret_error)
{
	struct cg_limits *l = userdata;
	const sd_bus_error *e = sd_bus_message_get_error(reply);
	int r = 0;

	l->call = sd_bus_slot_unref(l->call);
	if (e) {
		r = -sd_bus_message_get_errno(reply);
		if (r >= 0)
			r = -EIO;
		log_debug_errno(r, "SetUnitProperties failed: %s: %s", e->name,
				e->message ? e->message : "");
	}
	cg_limits_write_done(l, r);
	return 0;
}

/* SetUnitProperties(name, runtime=true, props) on the system manager, as crun's systemd backend
 * does: the values survive `systemctl daemon-reload`, where a raw file write would not. */
static int systemd_write(struct cg_limits *l, const struct cg_limit_write *w)
{
	_cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
	struct cg_unit_property props[2];
	int n = cg_limit_unit_properties(w, props);
	sd_bus *bus = NULL;
	int r;

	if (n < 0)
		return n;
	r = systemd_bus(l, &bus);
	if (r < 0)
		return r;
	r = sd_bus_message_new_method_call(bus, &m, "org.freedesktop.systemd1",
					   "/org/freedesktop/systemd1",
					   "org.freedesktop.systemd1.Manager", "SetUnitProperties");
	if (r < 0)
		return r;
	r = sd_bus_message_append(m, "sb", unit_name_of(w->path), 1);
	if (r < 0)
		return r;
	r = sd_bus_message_open_container(m, 'a', "(sv)");
	if (r < 0)
		return r;
	for (int i = 0; i < n; i++) {
		r = sd_bus_message_append(m, "(sv)", props[i].name, "t", props[i].value);
		if (r < 0)
			return r;
	}
	r = sd_bus_message_close_container(m);
	if (r < 0)
		return r;
	r = sd_bus_call_async(bus, &l->call, m, on_set_unit_properties_reply, l,
			      l->dbus_timeout_usec);
	if (r < 0)
		return log_debug_errno(r, "Cannot send SetUnitProperties(%s): %m",
				       unit_name_of(w->path));
	return 0;
}

static void systemd_abandon(struct cg_limits *l)
{
	/* A slot we hold a reference on is disconnected by its last unref: no callback runs. */
	l->call = sd_bus_slot_unref(l->call);
}

static const struct cg_limits_backend systemd_backend = {
	.name = "systemd",
	.write = systemd_write,
	.abandon = systemd_abandon,
};

const struct cg_limits_backend *cg_limits_backend_of(enum cg_driver driver)
{
	static const struct cg_limits_backend *const by_driver[] = {
		[CG_DRIVER_SYSTEMD] = &systemd_backend,
		[CG_DRIVER_CGROUPFS] = &cgroupfs_backend,
	};

	if ((size_t)driver >= ELEMENTSOF(by_driver))
		return NULL;
	return by_driver[driver];
}

/* ---- the queue ----------------------------------------------------------------------------- */

/* True when w asks to keep memory.max above usage and the cgroup uses more than w->value now. */
static bool kept_under_usage(struct cg_limits *l, const struct cg_limit_write *w,
			     uint64_t *ret_usage)
{
	_cleanup_close_ int fd = -EBADF;
	uint64_t usage;

	if (!w->not_below_usage || w->limit != CG_LIMIT_MEMORY_MAX || w->value == CG_UNLIMITED)
		return false;
	fd = cg_tree_open_dir(l->tree, w->path);
	/* Unknown usage: written (the kernel reclaims what it can). */
	if (fd < 0 || cg_read_u64_at(fd, "memory.current", &usage) < 0 || usage <= w->value)
		return false;
	*ret_usage = usage;
	return true;
}

static void op_finish(struct limits_op *op, int r)
{
	op->done(r, op->writes, op->results, op->n, op->userdata);
	free(op);
}

/* Runs the head of the queue until a write is in flight or the queue is empty. A write that
 * finishes inside its backend's call only records its result: this loop goes on from there. */
static void run_queue(struct cg_limits *l)
{
	struct limits_op *op;

	if (l->running)
		return;
	l->running = true;
	while ((op = l->head) && !l->waiting) {
		struct cg_limit_write *w;
		int r;

		if (op->error < 0 || op->current == op->n) {
			l->head = op->next;
			if (!l->head)
				l->tail = NULL;
			op_finish(op, op->error);
			continue;
		}
		w = &op->writes[op->current];
		if (kept_under_usage(l, w, &op->results[op->current].usage)) {
			op->results[op->current++].outcome = CG_LIMIT_KEPT_UNDER_USAGE;
			continue;
		}
		l->waiting = true;
		r = op->backend->write(l, w);
		if (r < 0) {
			l->waiting = false;
			op->results[op->current] =
				(struct cg_limit_result){ .outcome = CG_LIMIT_FAILED, .error = r };
			op->error = r;
		}
	}
	l->running = false;
}

void cg_limits_write_done(struct cg_limits *l, int r)
{
	struct limits_op *op = l->head;

	if (!op || !l->waiting)
		return;
	l->waiting = false;
	if (r < 0) {
		op->results[op->current] =
			(struct cg_limit_result){ .outcome = CG_LIMIT_FAILED, .error = r };
		op->error = r;
	} else
		op->results[op->current++].outcome = CG_LIMIT_WRITTEN;
	run_queue(l);
}

int cg_limits_write(struct cg_limits *l, const struct cg_limits_backend *b,
		    const struct cg_limit_write *writes, size_t n, cg_limits_done_fn done,
		    void *userdata)
{
	size_t paths = 0, off;
	struct limits_op *op;
	char *p;

	if (!b || !done || (n > 0 && !writes))
		return -EINVAL;
	if (l->freeing)
		return -ECANCELED;
	for (size_t i = 0; i < n; i++) {
		if (!writes[i].path)
			return -EINVAL;
		paths += strlen(writes[i].path) + 1;
	}
	/* One block: the op, its writes, their results, then the paths. */
	off = sizeof(*op) + n * (sizeof(*op->writes) + sizeof(*op->results));
	op = calloc(1, off + paths);
	if (!op)
		return -ENOMEM;
	op->backend = b;
	op->done = done;
	op->userdata = userdata;
	op->n = n;
	op->writes = (struct cg_limit_write *)(op + 1);
	op->results = (struct cg_limit_result *)(op->writes + n);
	p = (char *)op + off;
	for (size_t i = 0; i < n; i++) {
		size_t len = strlen(writes[i].path) + 1;

		op->writes[i] = writes[i];
		op->writes[i].path = memcpy(p, writes[i].path, len);
		p += len;
	}
	if (l->tail)
		l->tail->next = op;
	else
		l->head = op;
	l->tail = op;
	run_queue(l);
	return 0;
}

size_t cg_limits_pending(const struct cg_limits *l)
{
	size_t n = 0;

	for (const struct limits_op *op = l->head; op; op = op->next)
		n++;
	return n;
}

void cg_limits_set_dbus_timeout(struct cg_limits *l, uint64_t usec)
{
	l->dbus_timeout_usec = usec;
}

int cg_limits_set_bus(struct cg_limits *l, sd_bus *bus)
{
	int r;

	if (l->call)
		return -EBUSY;
	if (!sd_bus_get_event(bus)) {
		r = sd_bus_attach_event(bus, l->event, SD_EVENT_PRIORITY_NORMAL);
		if (r < 0)
			return r;
	}
	sd_bus_flush_close_unref(l->bus);
	l->bus = sd_bus_ref(bus);
	return 0;
}

int cg_limits_new(struct cg_tree *tree, sd_event *event, struct cg_limits **ret)
{
	struct cg_limits *l;

	if (!tree || !event)
		return -EINVAL;
	l = calloc(1, sizeof(*l));
	if (!l)
		return -ENOMEM;
	l->tree = tree;
	l->event = event;
	l->dbus_timeout_usec = CG_LIMITS_DBUS_TIMEOUT_USEC;
	*ret = l;
	return 0;
}

struct cg_limits *cg_limits_free(struct cg_limits *l)
{
	struct limits_op *op;

	if (!l)
		return NULL;
	l->freeing = true;
	if (l->waiting && l->head)
		l->head->backend->abandon(l);
	l->waiting = false;
	while ((op = l->head)) {
		l->head = op->next;
		op_finish(op, -ECANCELED);
	}
	l->tail = NULL;
	sd_bus_flush_close_unref(l->bus);
	free(l);
	return NULL;
}
