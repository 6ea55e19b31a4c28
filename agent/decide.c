/* The resize decision for one container: policy + pod spec + recommendation + signals → what to
 * change, why, and in which order the cgroup files must be written. Pure: no I/O, no clock. */
#include "agent/decide.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent/recommender/recommender.h"
#include "agent/util/quantity.h"
#include "agent/util/time.h"

/* Inputs above this are refused: it keeps every product and sum below in int64 without care. */
#define VALUE_MAX (INT64_C(1) << 50)
/* The kubelet never writes a CFS quota under 1 ms per 100 ms period: 10 millicores. */
#define CPU_LIMIT_MIN_MILLIS 10
#define MIB (INT64_C(1) << 20)

void decide_config_default(struct decide_config *ret)
{
	*ret = (struct decide_config){
		.min_change = 0.10,
		.cooldown_usec = 5 * 60 * USEC_PER_SEC,
		.throttle_ratio = 0.10,
		.throttle_heavy_ratio = 0.25,
		.throttle_window_usec = 60 * USEC_PER_SEC,
		.throttle_grow = 1.5,
		.pressure_near = 0.90,
		.pressure_grow = 1.25,
		.pressure_working_set = 0.95,
		.memory_margin_bytes = 32 * MIB,
		.memory_margin_fraction = 0.10,
		.memory_round_bytes = MIB,
		.oom_min_bump_bytes = (int64_t)REC_OOM_MIN_BUMP_UP_BYTES,
		.oom_bump_ratio = REC_OOM_BUMP_UP_RATIO,
		/* Five grows at once let a container sized far too small catch up (five OOM
		 * bumps take 64Mi/128Mi to 564Mi/1128Mi, five pressure grows ×3); more within an
		 * hour is a leak rather than a sizing error, and a leak is then followed once per
		 * cooldown, up to the node's allocatable. */
		.bypass_budget = 5,
		.bypass_window_usec = 3600 * USEC_PER_SEC,
	};
}

const char *decide_qos_to_string(enum decide_qos q)
{
	switch (q) {
	case DECIDE_QOS_BEST_EFFORT:
		return "BestEffort";
	case DECIDE_QOS_BURSTABLE:
		return "Burstable";
	case DECIDE_QOS_GUARANTEED:
		return "Guaranteed";
	}
	return "invalid";
}

int decide_qos_from_string(const char *s)
{
	for (int q = DECIDE_QOS_BEST_EFFORT; q <= DECIDE_QOS_GUARANTEED; q++)
		if (s && strcmp(s, decide_qos_to_string(q)) == 0)
			return q;
	return -EINVAL;
}

int decide_restart_from_string(const char *s)
{
	/* An absent resizePolicy means NotRequired, the API's default. */
	if (!s || s[0] == '\0' || strcmp(s, "NotRequired") == 0)
		return DECIDE_RESTART_NOT_REQUIRED;
	if (strcmp(s, "RestartContainer") == 0)
		return DECIDE_RESTART_CONTAINER;
	return -EINVAL;
}

const char *decide_kind_to_string(enum decide_kind k)
{
	switch (k) {
	case DECIDE_NONE:
		return "none";
	case DECIDE_OOM:
		return "oom";
	case DECIDE_PRESSURE:
		return "pressure";
	case DECIDE_THROTTLE:
		return "throttle";
	case DECIDE_RECOMMENDATION:
		return "recommendation";
	}
	return "invalid";
}

const char *decide_file_to_string(enum decide_file f)
{
	switch (f) {
	case DECIDE_FILE_MEMORY_MAX:
		return "memory.max";
	case DECIDE_FILE_CPU_MAX:
		return "cpu.max";
	case DECIDE_FILE_CPU_WEIGHT:
		return "cpu.weight";
	}
	return "invalid";
}

/* The API server defaults a missing request to the limit; the decision sees what it will see. */
static struct decide_resources normalize(struct decide_resources r)
{
	if (r.cpu_request < 0 && r.cpu_limit >= 0)
		r.cpu_request = r.cpu_limit;
	if (r.memory_request < 0 && r.memory_limit >= 0)
		r.memory_request = r.memory_limit;
	return r;
}

static bool pod_level_set(const struct decide_pod *pod)
{
	const struct decide_resources *r = &pod->resources;

	return r->cpu_request >= 0 || r->cpu_limit >= 0 || r->memory_request >= 0 ||
	       r->memory_limit >= 0;
}

/* App container i of the pod, with container `override` replaced by *with. */
static struct decide_resources app_res(const struct decide_pod *pod, size_t i, size_t override,
				       const struct decide_resources *with)
{
	return normalize(i == override && with ? *with : pod->containers[i].res);
}

static int64_t positive(int64_t v)
{
	return v > 0 ? v : 0;
}

/* ComputePodQOS (pkg/apis/core/v1/helper/qos/qos.go): positive requests and limits summed per
 * resource over the app and init containers, or the pod-level resources alone where set. BestEffort
 * when nothing is set; Guaranteed when every container (or the pod level) has both a CPU and a
 * memory limit and the requests equal the limits resource by resource; else Burstable. */
static enum decide_qos qos_of(const struct decide_pod *pod, size_t override,
			      const struct decide_resources *with)
{
	int64_t req_cpu = 0, req_mem = 0, lim_cpu = 0, lim_mem = 0;
	bool guaranteed = true;

	if (pod_level_set(pod)) {
		const struct decide_resources *r = &pod->resources;

		req_cpu = positive(r->cpu_request);
		req_mem = positive(r->memory_request);
		lim_cpu = positive(r->cpu_limit);
		lim_mem = positive(r->memory_limit);
		if ((lim_cpu || lim_mem) && !(lim_cpu && lim_mem))
			guaranteed = false;
	} else
		for (size_t i = 0; i < pod->n_containers + pod->n_init_containers; i++) {
			struct decide_resources r =
				i < pod->n_containers
					? app_res(pod, i, override, with)
					: normalize(
						  pod->init_containers[i - pod->n_containers].res);

			req_cpu += positive(r.cpu_request);
			req_mem += positive(r.memory_request);
			lim_cpu += positive(r.cpu_limit);
			lim_mem += positive(r.memory_limit);
			if (r.cpu_limit <= 0 || r.memory_limit <= 0)
				guaranteed = false;
		}
	if (!req_cpu && !req_mem && !lim_cpu && !lim_mem)
		return DECIDE_QOS_BEST_EFFORT;
	return guaranteed && req_cpu == lim_cpu && req_mem == lim_mem ? DECIDE_QOS_GUARANTEED
								      : DECIDE_QOS_BURSTABLE;
}

enum decide_qos decide_qos_of(const struct decide_container *containers, size_t n)
{
	struct decide_pod pod = { .containers = containers,
				  .n_containers = n,
				  .resources = { -1, -1, -1, -1 } };

	return qos_of(&pod, SIZE_MAX, NULL);
}

enum decide_qos decide_pod_qos(const struct decide_pod *pod)
{
	return qos_of(pod, SIZE_MAX, NULL);
}

/* Appends to a fixed buffer, truncating quietly: a reason cut short is better than none. */
struct text {
	char *buf;
	size_t size, len;
};

static __attribute__((format(printf, 2, 3))) void text_add(struct text *t, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (t->len + 1 >= t->size)
		return;
	va_start(ap, fmt);
	n = vsnprintf(t->buf + t->len, t->size - t->len, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	t->len += (size_t)n;
	if (t->len >= t->size)
		t->len = t->size - 1;
}

/* Quantity text for reasons; byte counts that are not whole MiB (usage) read as "243.2Mi". */
static const char *fmtq(bool cpu, int64_t v, char buf[static 32])
{
	if (v < 0)
		return "none";
	if (cpu) {
		if (quantity_format_cpu(v, buf, 32) < 0)
			snprintf(buf, 32, "%" PRId64 "m", v);
		return buf;
	}
	if (v >= MIB && v % 1024 != 0) {
		snprintf(buf, 32, "%.1fMi", (double)v / (double)MIB);
		return buf;
	}
	if (quantity_format_bytes(v, buf, 32) < 0)
		snprintf(buf, 32, "%" PRId64, v);
	return buf;
}

static int64_t max64(int64_t a, int64_t b)
{
	return a > b ? a : b;
}

static int64_t min64(int64_t a, int64_t b)
{
	return a < b ? a : b;
}

static int64_t round_up(int64_t v, int64_t unit)
{
	if (v <= 0 || unit <= 1)
		return v;
	return (v + unit - 1) / unit * unit;
}

/* ceil(v × f), saturated; inputs are below VALUE_MAX so long double is exact enough, but a
 * product that is whole up to float noise (600Mi × 0.1) must not round up to the next unit. */
static int64_t scale(int64_t v, double f)
{
	long double x = (long double)v * (long double)f, r = roundl(x);

	if (!(x < (long double)VALUE_MAX * 4))
		return VALUE_MAX * 4;
	if (x <= 0)
		return 0;
	return (int64_t)(fabsl(x - r) < 1e-6L * (x > 1 ? x : 1) ? r : ceill(x));
}

/* VPA's proportional limit: ceil(old limit × new request / old request). */
static int64_t ratio_limit(int64_t lim, int64_t new_req, int64_t req)
{
	__int128 p = (__int128)lim * new_req;

	return (int64_t)((p + req - 1) / req);
}

/* One resource of the container being decided on, and what is planned for it. */
struct plan {
	bool cpu;
	const char *name;
	const char *min_key, *max_key; /* for notes: which setting bounded the value */
	int64_t req, lim;
	int64_t min, max;
	/* This container's request may grow to room (may be < 0), bounded by the node or by the
	 * pod-level request; ROOM_UNKNOWN: unbounded. */
	enum { ROOM_UNKNOWN, ROOM_NODE, ROOM_POD_LEVEL } room_kind;
	int64_t room;
	int64_t pod_limit;   /* the pod-level limit of this resource, -1 = none */
	int64_t allocatable; /* memory only: the node's allocatable, ≤ 0 = unknown */
	int64_t unit;
	int64_t usage; /* memory only: current usage, -1 unknown */
	bool guaranteed, requests_only;
	bool room_held; /* bound_request stopped at the room */
	bool in_cooldown, budget_spent;
	uint64_t cooldown_left_usec;
	const struct decide_config *cfg;

	int64_t new_req, new_lim;
	enum decide_kind kind;
	bool bypass;
	bool held_by_budget; /* a signal waited for the cooldown because the budget is spent */
	struct text change, skip, notes;
	size_t change_prefix_len; /* of change: the kind's prefix ("recommendation: ") */
	char change_buf[192], skip_buf[192], notes_buf[192];
};

static void note(struct plan *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void note(struct plan *p, const char *fmt, ...)
{
	char tmp[160];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(tmp, sizeof(tmp), fmt, ap);
	va_end(ap);
	text_add(&p->notes, "%s%s", p->notes.len ? ", " : "", tmp);
}

static int64_t bound_request(struct plan *p, int64_t v)
{
	char a[32];

	v = max64(round_up(v, p->unit), 1);
	if (p->min >= 0 && v < p->min) {
		v = p->min;
		note(p, "raised to %s=%s", p->min_key, fmtq(p->cpu, p->min, a));
	}
	if (p->max >= 0 && v > p->max) {
		v = p->max;
		note(p, "capped by %s=%s", p->max_key, fmtq(p->cpu, p->max, a));
	}
	/* No node admits a request above its allocatable. */
	if (!p->cpu && p->allocatable > 0 && v > max64(p->allocatable, p->req)) {
		v = max64(p->allocatable, p->req);
		note(p, "capped at the node's allocatable memory %s",
		     fmtq(false, p->allocatable, a));
	}
	if (p->room_kind != ROOM_UNKNOWN && v > max64(p->req, p->room)) {
		v = max64(p->req, p->room);
		p->room_held = true;
		if (p->room_kind == ROOM_NODE)
			note(p, "node has only %s %s left", fmtq(p->cpu, max64(p->room, 0), a),
			     p->name);
		else
			note(p, "the pod-level %s request leaves only %s", p->name,
			     fmtq(p->cpu, max64(p->room, 0), a));
	}
	return v;
}

static int64_t bound_limit(struct plan *p, int64_t v)
{
	char a[32], b[32];

	v = round_up(v, p->unit);
	/* A limit the user set above max is theirs; snug only never raises one past max. */
	if (p->max >= 0 && v > max64(p->max, p->lim)) {
		v = max64(p->max, p->lim);
		note(p, "limit capped by %s=%s", p->max_key, fmtq(p->cpu, p->max, a));
	}
	/* The API server refuses a container limit above the pod-level one. */
	if (p->pod_limit >= 0 && v > max64(p->pod_limit, p->lim)) {
		v = max64(p->pod_limit, p->lim);
		note(p, "limit capped by the pod-level limit %s", fmtq(p->cpu, p->pod_limit, a));
	}
	/* More memory than the node can give any pod is no limit, only a leak's licence. */
	if (!p->cpu && p->allocatable > 0 && v > max64(p->allocatable, p->lim)) {
		v = max64(p->allocatable, p->lim);
		note(p, "limit capped at the node's allocatable memory %s",
		     fmtq(false, p->allocatable, a));
	}
	/* Shrinking under the kubelet's minimum quota would write a value it rounds up anyway. */
	if (p->cpu && v < min64(CPU_LIMIT_MIN_MILLIS, p->lim))
		v = min64(CPU_LIMIT_MIN_MILLIS, p->lim);
	/* Without a usage reading nothing says the container fits under a lower limit. */
	if (!p->cpu && p->usage < 0 && p->lim >= 0 && v < p->lim) {
		v = p->lim;
		note(p, "limit kept at %s: memory usage unknown, shrink later",
		     fmtq(false, p->lim, a));
	}
	if (!p->cpu && p->usage >= 0) {
		int64_t margin = max64(p->cfg->memory_margin_bytes,
				       scale(p->usage, p->cfg->memory_margin_fraction));
		int64_t floor = round_up(p->usage + margin, p->unit);

		/* This rule only stops a shrink; it never grows a limit by itself. */
		if (p->lim >= 0 && floor > p->lim)
			floor = p->lim;
		if (v < floor) {
			v = floor;
			note(p, "limit kept at %s above usage %s plus margin, shrink later",
			     fmtq(false, v, a), fmtq(false, p->usage, b));
		}
	}
	return v;
}

/* Describes the change as "<res> request A -> B, limit C -> D" (only what changes). */
static void describe(struct plan *p, const char *req_why)
{
	char a[32], b[32];
	bool req = p->new_req != p->req, lim = p->new_lim != p->lim;

	if (lim && p->kind != DECIDE_RECOMMENDATION) {
		text_add(&p->change, "%s limit %s -> %s", p->name, fmtq(p->cpu, p->lim, a),
			 fmtq(p->cpu, p->new_lim, b));
		if (req)
			text_add(&p->change, ", request %s -> %s", fmtq(p->cpu, p->req, a),
				 fmtq(p->cpu, p->new_req, b));
	} else {
		if (req)
			text_add(&p->change, "%s request %s%s%s -> %s", p->name,
				 fmtq(p->cpu, p->req, a), req_why && *req_why ? " " : "",
				 req_why ? req_why : "", fmtq(p->cpu, p->new_req, b));
		if (lim)
			text_add(&p->change, "%s%s%s -> %s", req ? ", " : p->name,
				 req ? "limit " : " limit ", fmtq(p->cpu, p->lim, a),
				 fmtq(p->cpu, p->new_lim, b));
	}
	if (p->notes.len)
		text_add(&p->change, " (%s)", p->notes.buf);
}

/* Raises the limit to want (OOM, pressure, throttling): a request equal to its limit follows it,
 * which keeps Guaranteed pods Guaranteed and honours VPA's "request == limit" rule. */
static bool grow_limit(struct plan *p, int64_t want)
{
	int64_t l = bound_limit(p, max64(want, p->lim));

	if (l <= p->lim)
		return false;
	p->new_lim = l;
	p->new_req = p->req;
	if (p->req == p->lim) {
		p->new_req = max64(min64(bound_request(p, l), l), p->req);
		if (p->guaranteed)
			p->new_lim = p->new_req;
	}
	return p->new_lim > p->lim;
}

static void skip(struct plan *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void skip(struct plan *p, const char *fmt, ...)
{
	char tmp[192];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(tmp, sizeof(tmp), fmt, ap);
	va_end(ap);
	text_add(&p->skip, "%s%s", p->skip.len ? "; " : "", tmp);
	if (p->notes.len)
		text_add(&p->skip, " (%s)", p->notes.buf);
	p->notes.len = 0;
	p->notes.buf[0] = '\0';
}

static void reset(struct plan *p)
{
	p->new_req = p->req;
	p->new_lim = p->lim;
	p->notes.len = 0;
	p->notes.buf[0] = '\0';
}

/* A signal that would act inside the cooldown does so while the container's budget of such grows
 * lasts; once it is spent the signal waits for the cooldown like any other change. */
static bool budget_holds(struct plan *p, const char *what)
{
	if (!p->in_cooldown || !p->budget_spent)
		return false;
	skip(p,
	     "%s: waits for the cooldown (%" PRIu64 "s left): the budget of %u grows inside the "
	     "cooldown per %" PRIu64 " min is spent (--bypass-budget)",
	     what, (uint64_t)((p->cooldown_left_usec + USEC_PER_SEC - 1) / USEC_PER_SEC),
	     p->cfg->bypass_budget, (uint64_t)(p->cfg->bypass_window_usec / (60 * USEC_PER_SEC)));
	p->held_by_budget = true;
	return true;
}

static int64_t oom_bump(const struct plan *p, int64_t used)
{
	return round_up(
		rec_oom_bump(used, p->cfg->oom_bump_ratio, (double)p->cfg->oom_min_bump_bytes),
		p->unit);
}

/* An OOM kill at the container's own limit. The request follows VPA's OOM-bumped target (RecordOOM:
 * the bump of max(request, the interval's peak), which the recommender computed); the kill itself
 * shows the usage reached the limit, so the limit gets at least the bump of the limit, and keeps
 * its ratio to the request (requests-and-limits). A Burstable limit needs no room on the node: where
 * the request cannot grow, the limit alone does. */
static bool plan_oom(struct plan *p, const struct decide_signals *s)
{
	char a[32], b[32], c[32];
	int64_t target = s->oom_bumped_memory, floor, want_lim;
	bool from_recommender = target > 0, req_held;

	if (budget_holds(p, "oom-kill"))
		return false;
	/* Without the recommender's figure, VPA's rule on what is known here. */
	if (!from_recommender)
		target = oom_bump(p, max64(max64(p->req, s->memory_usage), 0));
	target = round_up(target, p->unit);

	if (p->lim < 0) {
		/* No limit: the kill came from the node or the pod; reserve more on the node. */
		p->new_req = bound_request(p, max64(target, p->req));
		if (p->new_req <= p->req) {
			skip(p, "oom-kill: memory request %s not raised", fmtq(false, p->req, a));
			return false;
		}
		p->kind = DECIDE_OOM;
		text_add(&p->change, "oom-kill (no memory limit): ");
		describe(p, NULL);
		return true;
	}
	if (p->requests_only) {
		p->new_req = min64(bound_request(p, max64(target, p->req)), p->lim);
		if (p->new_req <= p->req) {
			skip(p,
			     "oom-kill: memory limit %s stays (controlled-values=requests leaves "
			     "limits alone) and the request is already %s",
			     fmtq(false, p->lim, a), fmtq(false, p->req, b));
			reset(p);
			return false;
		}
		p->kind = DECIDE_OOM;
		text_add(&p->change, "oom-kill: ");
		describe(p, NULL);
		text_add(&p->change, " (limit not controlled: controlled-values=requests)");
		return true;
	}

	/* Killed at its limit: it used the limit. */
	floor = oom_bump(p, p->lim);
	if (p->guaranteed) {
		/* requests = limits: both move to the larger bump, as far as the node lets the
		 * request, or not at all. */
		int64_t v = bound_limit(p, bound_request(p, max64(target, floor)));

		if (v <= p->lim) {
			skip(p,
			     "oom-kill: memory request and limit %s not raised (a Guaranteed pod's "
			     "move together or not at all)",
			     fmtq(false, p->lim, a));
			reset(p);
			return false;
		}
		p->new_req = p->new_lim = v;
		if (p->room_held)
			note(p, "request and limit move together (Guaranteed)");
	} else {
		p->new_req = max64(bound_request(p, max64(target, p->req)), p->req);
		req_held = p->room_held;
		/* VPA's limit rule on the request it wanted: the ratio kept (request == limit: the
		 * limit is the request); a limit without a request to scale gets the floor. */
		want_lim = p->req > 0 ? ratio_limit(p->lim, max64(target, p->req), p->req) : floor;
		p->new_lim = bound_limit(p, max64(max64(want_lim, floor), p->lim));
		p->new_req = min64(p->new_req, p->new_lim);
		if (p->new_lim <= p->lim && p->new_req <= p->req) {
			skip(p, "oom-kill: memory limit %s not raised", fmtq(false, p->lim, a));
			reset(p);
			return false;
		}
		if (req_held && p->new_lim > p->lim)
			note(p, "the limit alone grows: a Burstable limit needs no node room");
	}
	p->kind = DECIDE_OOM;
	text_add(&p->change, "oom-kill: ");
	describe(p, NULL);
	text_add(&p->change,
		 " (killed at its limit: limit at least %s; request: ", fmtq(false, floor, a));
	if (from_recommender)
		text_add(&p->change, "the recommender's OOM bump %s)", fmtq(false, target, b));
	else
		text_add(&p->change, "VPA's OOM bump of %s, %s)",
			 fmtq(false, max64(p->req, s->memory_usage), c), fmtq(false, target, b));
	return true;
}

static int64_t pressure_limit(const struct plan *p, const struct decide_signals *s)
{
	return s->memory_cgroup_limit >= 0 ? s->memory_cgroup_limit : p->lim;
}

/* memory.events `max` grew while usage sits near the limit, or the working set alone is nearly
 * at the limit. */
static bool max_event_pressure(const struct plan *p, const struct decide_signals *s)
{
	int64_t limit = pressure_limit(p, s);

	return s->memory_max_grew && p->lim >= 0 && limit > 0 && s->memory_usage >= 0 &&
	       (long double)s->memory_usage >= (long double)limit * p->cfg->pressure_near;
}

static bool working_set_pressure(const struct plan *p, const struct decide_signals *s)
{
	int64_t limit = pressure_limit(p, s);

	return p->cfg->pressure_working_set > 0 && p->lim >= 0 && limit > 0 &&
	       s->memory_working_set >= 0 &&
	       (long double)s->memory_working_set >=
		       (long double)limit * p->cfg->pressure_working_set;
}

static bool pressure_seen(const struct plan *p, const struct decide_signals *s)
{
	return max_event_pressure(p, s) || working_set_pressure(p, s);
}

static bool plan_pressure(struct plan *p, const struct decide_signals *s)
{
	char a[32], b[32], what[96];
	int64_t limit = pressure_limit(p, s);
	bool by_event = max_event_pressure(p, s);
	int64_t used = by_event ? s->memory_usage : s->memory_working_set;
	int pct = (int)((long double)used * 100 / limit);
	int64_t margin =
		max64(p->cfg->memory_margin_bytes, scale(used, p->cfg->memory_margin_fraction));

	if (!by_event && s->memory_working_set_now > 0 && s->memory_working_set_now < used) {
		char c[32];

		snprintf(what, sizeof(what), "working set %s, heading for %s, of %s (%d%%)",
			 fmtq(false, s->memory_working_set_now, c), fmtq(false, used, a),
			 fmtq(false, limit, b), pct);
	} else
		snprintf(what, sizeof(what), "%s %s of %s (%d%%)",
			 by_event ? "memory.max hit at" : "working set", fmtq(false, used, a),
			 fmtq(false, limit, b), pct);
	if (p->requests_only) {
		skip(p, "memory-pressure: %s, but controlled-values=requests leaves limits alone",
		     what);
		return false;
	}
	{
		char held[128];

		snprintf(held, sizeof(held), "memory-pressure: %s", what);
		if (budget_holds(p, held))
			return false;
	}
	if (!grow_limit(p, max64(scale(p->lim, p->cfg->pressure_grow), used + margin))) {
		skip(p, "memory-pressure: %s: memory limit %s not raised", what,
		     fmtq(false, p->lim, a));
		reset(p);
		return false;
	}
	p->kind = DECIDE_PRESSURE;
	p->bypass = true;
	text_add(&p->change, "memory-pressure: %s: ", what);
	describe(p, NULL);
	return true;
}

static bool plan_throttle(struct plan *p, const struct decide_signals *s, bool in_cooldown)
{
	char a[32];
	int pct = (int)lround(s->cpu_throttle_ratio * 100);
	unsigned secs = (unsigned)(s->cpu_throttle_window_usec / USEC_PER_SEC);
	bool heavy = s->cpu_throttle_ratio >= p->cfg->throttle_heavy_ratio;

	if (p->requests_only) {
		skip(p,
		     "cpu-throttled %d%% over %us, but controlled-values=requests leaves limits "
		     "alone",
		     pct, secs);
		return false;
	}
	if (!heavy && in_cooldown) {
		skip(p, "cpu-throttled %d%% over %us: waits for the cooldown", pct, secs);
		return false;
	}
	if (heavy) {
		char held[64];

		snprintf(held, sizeof(held), "cpu-throttled %d%% over %us", pct, secs);
		if (budget_holds(p, held))
			return false;
	}
	if (!grow_limit(p, scale(p->lim, p->cfg->throttle_grow))) {
		skip(p, "cpu-throttled %d%% over %us: cpu limit %s not raised", pct, secs,
		     fmtq(true, p->lim, a));
		reset(p);
		return false;
	}
	p->kind = DECIDE_THROTTLE;
	p->bypass = heavy;
	text_add(&p->change, "cpu-throttled %d%% over %us: ", pct, secs);
	describe(p, NULL);
	return true;
}

/* Whether the recommendation (or the min/max bounds) calls for a change of the request, and in
 * words why: outside [lower, upper], ≥ min-change from the target, or outside the bounds. */
static bool rec_triggers(struct plan *p, const struct decide_estimate *e, int64_t *ret_target,
			 char *why, size_t size)
{
	char a[32], b[32];
	int64_t cur = p->req;

	if (p->min >= 0 && cur >= 0 && cur < p->min) {
		snprintf(why, size, "below %s=%s", p->min_key, fmtq(p->cpu, p->min, a));
		*ret_target = e->target >= 0 ? e->target : cur;
		return true;
	}
	if (p->max >= 0 && cur > p->max) {
		snprintf(why, size, "above %s=%s", p->max_key, fmtq(p->cpu, p->max, a));
		*ret_target = e->target >= 0 ? e->target : cur;
		return true;
	}
	if (e->target < 0)
		return false;
	*ret_target = e->target;
	if (cur < 0) {
		snprintf(why, size, "unset");
		return true;
	}
	if ((e->lower >= 0 && cur < e->lower) || (e->upper >= 0 && cur > e->upper)) {
		snprintf(why, size, "outside [%s, %s]", fmtq(p->cpu, max64(e->lower, 0), a),
			 e->upper >= 0 ? fmtq(p->cpu, e->upper, b) : "inf");
		return true;
	}
	if ((long double)llabs(e->target - cur) >= (long double)cur * p->cfg->min_change &&
	    e->target != cur) {
		snprintf(why, size, "%d%% off target %s",
			 (int)lround((double)llabs(e->target - cur) * 100 / (double)max64(cur, 1)),
			 fmtq(p->cpu, e->target, a));
		return true;
	}
	return false;
}

static bool plan_recommendation(struct plan *p, const struct decide_estimate *e, bool in_cooldown,
				uint64_t cooldown_left_usec)
{
	char a[32], b[32], c[32], why[96];
	int64_t target;

	if (!rec_triggers(p, e, &target, why, sizeof(why))) {
		if (e->target < 0)
			skip(p, "%s: no recommendation yet", p->name);
		else
			skip(p, "%s request %s within [%s, %s] and %d%% of target %s", p->name,
			     fmtq(p->cpu, p->req, a), fmtq(p->cpu, max64(e->lower, 0), b),
			     e->upper >= 0 ? fmtq(p->cpu, e->upper, c) : "inf",
			     (int)lround(p->cfg->min_change * 100), fmtq(p->cpu, e->target, c));
		return false;
	}
	if (in_cooldown) {
		skip(p, "%s request %s %s: waits for the cooldown (%" PRIu64 "s left)", p->name,
		     fmtq(p->cpu, p->req, a), why,
		     (uint64_t)((cooldown_left_usec + USEC_PER_SEC - 1) / USEC_PER_SEC));
		return false;
	}

	p->new_req = bound_request(p, target);
	/* No room on the node for a request that was never set: leave it unset. */
	if (p->req < 0 && p->new_req <= 0)
		p->new_req = -1;
	if (p->requests_only && p->lim >= 0 && p->new_req > p->lim) {
		p->new_req = p->lim;
		note(p, "held at the limit: controlled-values=requests leaves limits alone");
	}
	if (p->lim < 0)
		p->new_lim = -1;
	else if (p->guaranteed) {
		/* Guaranteed: the limit is the request; memory may not drop below usage. */
		p->new_lim = bound_limit(p, p->new_req);
		p->new_req = p->new_lim;
	} else if (p->requests_only)
		p->new_lim = p->lim;
	else {
		if (p->req == p->lim)
			p->new_lim = p->new_req;
		else if (p->req <= 0)
			p->new_lim = p->lim;
		else
			p->new_lim = ratio_limit(p->lim, p->new_req, p->req);
		p->new_lim = max64(bound_limit(p, p->new_lim), p->new_req);
	}
	if (p->new_req == p->req && p->new_lim == p->lim) {
		skip(p, "%s request %s %s, but stays", p->name, fmtq(p->cpu, p->req, a), why);
		return false;
	}
	p->kind = DECIDE_RECOMMENDATION;
	text_add(&p->change, "recommendation: ");
	p->change_prefix_len = p->change.len;
	describe(p, why);
	return true;
}

static bool is_grow(int64_t old, int64_t new)
{
	/* -1 is "max", above everything. */
	if (old == new)
		return false;
	if (new < 0)
		return true;
	if (old < 0)
		return false;
	return new > old;
}

enum field { CPU_REQUEST, CPU_LIMIT, MEMORY_REQUEST, MEMORY_LIMIT };

static int64_t field_of(const struct decide_resources *r, enum field f)
{
	switch (f) {
	case CPU_REQUEST:
		return r->cpu_request;
	case CPU_LIMIT:
		return r->cpu_limit;
	case MEMORY_REQUEST:
		return r->memory_request;
	case MEMORY_LIMIT:
		return r->memory_limit;
	}
	return -1;
}

/* component-helpers AggregateContainerRequests / AggregateContainerLimits for one field: app
 * containers and native sidecars summed; each ordinary init container counts with the sidecars
 * started before it, and the pod needs the larger of that and the sum. For limits, *ret_declared
 * is what ResourceConfigForPod's ContainerFn finds: false when the value it is handed is zero for
 * some container (an app container's own limit; for a sidecar the sidecars' running sum, for an
 * init container its own plus the sidecars before it). */
static int64_t aggregate(const struct decide_pod *pod, size_t index,
			 const struct decide_resources *with, enum field f, bool *ret_declared)
{
	int64_t sum = 0, sidecars = 0, init_max = 0;
	bool declared = true;

	for (size_t i = 0; i < pod->n_containers; i++) {
		struct decide_resources r = app_res(pod, i, index, with);
		int64_t v = field_of(&r, f);

		if (v <= 0)
			declared = false;
		sum += positive(v);
	}
	for (size_t i = 0; i < pod->n_init_containers; i++) {
		struct decide_resources r = normalize(pod->init_containers[i].res);
		int64_t v = positive(field_of(&r, f)), use;

		if (pod->init_containers[i].sidecar) {
			sum += v;
			sidecars += v;
			use = sidecars;
		} else
			use = sidecars + v;
		if (use <= 0)
			declared = false;
		init_max = max64(init_max, use);
	}
	if (ret_declared)
		*ret_declared = declared;
	return max64(sum, init_max);
}

/* PodRequests / PodLimits then ResourceConfigForPod for one resource: the aggregate, replaced by
 * the pod-level value where that is set, plus the overhead (added to a limit only when it is not
 * zero); the limit written only when declared (Burstable) or always (Guaranteed). */
static void pod_cgroup_resource(const struct decide_pod *pod, size_t index,
				const struct decide_resources *with, bool cpu, int64_t *ret_request,
				int64_t *ret_limit)
{
	int64_t pod_req = cpu ? pod->resources.cpu_request : pod->resources.memory_request;
	int64_t pod_lim = cpu ? pod->resources.cpu_limit : pod->resources.memory_limit;
	int64_t overhead = positive(cpu ? pod->overhead_cpu_millis : pod->overhead_memory_bytes);
	int64_t req, lim;
	bool declared;

	req = aggregate(pod, index, with, cpu ? CPU_REQUEST : MEMORY_REQUEST, NULL);
	lim = aggregate(pod, index, with, cpu ? CPU_LIMIT : MEMORY_LIMIT, &declared);
	if (pod_req >= 0)
		req = pod_req;
	if (pod_lim >= 0)
		lim = pod_lim;
	if (pod_lim > 0)
		declared = true;
	req += overhead;
	if (lim > 0)
		lim += overhead;
	if (pod->qos == DECIDE_QOS_BEST_EFFORT || lim <= 0 ||
	    (pod->qos == DECIDE_QOS_BURSTABLE && !declared))
		lim = -1;
	*ret_request = pod->qos == DECIDE_QOS_BEST_EFFORT ? 0 : req;
	*ret_limit = lim;
}

static bool valid_pod(const struct decide_pod *pod);

int decide_pod_cgroup(const struct decide_pod *pod, size_t index,
		      const struct decide_resources *with, struct decide_pod_cgroup *ret)
{
	int64_t unused;

	if (!pod || !ret || !valid_pod(pod) || (with && index >= pod->n_containers))
		return -EINVAL;
	*ret = (struct decide_pod_cgroup){ 0 };
	pod_cgroup_resource(pod, index, with, true, &ret->cpu_weight_millis, &ret->cpu_max_millis);
	pod_cgroup_resource(pod, index, with, false, &unused, &ret->memory_max_bytes);
	return 0;
}

static void add_step(struct decide_decision *d, enum decide_level level, enum decide_file file,
		     int64_t old, int64_t value)
{
	if (old == value || d->n_steps >= DECIDE_MAX_STEPS)
		return;
	d->steps[d->n_steps++] = (struct decide_step){
		.level = level, .file = file, .old_value = old, .value = value
	};
}

/* kubelet's order, per resource (memory, then CPU) and per file: a growing pod value is written
 * before the container's, a shrinking one after, so the pod cgroup never holds less than the sum
 * of its children. */
static void plan_steps(const struct decide_input *in, struct decide_decision *d)
{
	struct decide_pod_cgroup o, n;
	const struct decide_resources *a = &d->old_res, *b = &d->new_res;

	/* The input was validated: these cannot fail. */
	(void)decide_pod_cgroup(&in->pod, in->index, &d->old_res, &o);
	(void)decide_pod_cgroup(&in->pod, in->index, &d->new_res, &n);
	if (is_grow(o.memory_max_bytes, n.memory_max_bytes))
		add_step(d, DECIDE_LEVEL_POD, DECIDE_FILE_MEMORY_MAX, o.memory_max_bytes,
			 n.memory_max_bytes);
	add_step(d, DECIDE_LEVEL_CONTAINER, DECIDE_FILE_MEMORY_MAX, a->memory_limit,
		 b->memory_limit);
	if (!is_grow(o.memory_max_bytes, n.memory_max_bytes))
		add_step(d, DECIDE_LEVEL_POD, DECIDE_FILE_MEMORY_MAX, o.memory_max_bytes,
			 n.memory_max_bytes);

	if (is_grow(o.cpu_max_millis, n.cpu_max_millis))
		add_step(d, DECIDE_LEVEL_POD, DECIDE_FILE_CPU_MAX, o.cpu_max_millis,
			 n.cpu_max_millis);
	if (n.cpu_weight_millis > o.cpu_weight_millis)
		add_step(d, DECIDE_LEVEL_POD, DECIDE_FILE_CPU_WEIGHT, o.cpu_weight_millis,
			 n.cpu_weight_millis);
	add_step(d, DECIDE_LEVEL_CONTAINER, DECIDE_FILE_CPU_MAX, a->cpu_limit, b->cpu_limit);
	add_step(d, DECIDE_LEVEL_CONTAINER, DECIDE_FILE_CPU_WEIGHT, max64(a->cpu_request, 0),
		 max64(b->cpu_request, 0));
	if (!is_grow(o.cpu_max_millis, n.cpu_max_millis))
		add_step(d, DECIDE_LEVEL_POD, DECIDE_FILE_CPU_MAX, o.cpu_max_millis,
			 n.cpu_max_millis);
	if (n.cpu_weight_millis < o.cpu_weight_millis)
		add_step(d, DECIDE_LEVEL_POD, DECIDE_FILE_CPU_WEIGHT, o.cpu_weight_millis,
			 n.cpu_weight_millis);
}

static bool valid_value(int64_t v)
{
	return v >= -1 && v <= VALUE_MAX;
}

/* The API server refuses a request above its limit, so such input is a caller's bug. */
static bool valid_resources(const struct decide_resources *r)
{
	return valid_value(r->cpu_request) && valid_value(r->cpu_limit) &&
	       valid_value(r->memory_request) && valid_value(r->memory_limit) &&
	       (r->cpu_limit < 0 || r->cpu_request <= r->cpu_limit) &&
	       (r->memory_limit < 0 || r->memory_request <= r->memory_limit);
}

static bool valid_estimate(const struct decide_estimate *e)
{
	return valid_value(e->target) && valid_value(e->lower) && valid_value(e->upper);
}

static bool valid_pod(const struct decide_pod *pod)
{
	if (!pod->containers || pod->n_containers == 0 ||
	    pod->n_containers > DECIDE_MAX_CONTAINERS ||
	    pod->n_init_containers > DECIDE_MAX_CONTAINERS - pod->n_containers ||
	    (pod->n_init_containers > 0 && !pod->init_containers) ||
	    (pod->qos != DECIDE_QOS_BEST_EFFORT && pod->qos != DECIDE_QOS_BURSTABLE &&
	     pod->qos != DECIDE_QOS_GUARANTEED) ||
	    !valid_value(pod->overhead_cpu_millis) || !valid_value(pod->overhead_memory_bytes) ||
	    !valid_resources(&pod->resources))
		return false;
	for (size_t i = 0; i < pod->n_containers; i++)
		if (!valid_resources(&pod->containers[i].res))
			return false;
	for (size_t i = 0; i < pod->n_init_containers; i++)
		if (!valid_resources(&pod->init_containers[i].res))
			return false;
	return true;
}

static bool valid_config(const struct decide_config *c)
{
	/* NaN fails every comparison below, so it is refused too. */
	return c->min_change >= 0 && c->throttle_ratio >= 0 && c->throttle_heavy_ratio >= 0 &&
	       c->throttle_grow >= 1 && c->throttle_grow <= 100 && c->pressure_near >= 0 &&
	       c->pressure_grow >= 1 && c->pressure_grow <= 100 && c->pressure_working_set >= 0 &&
	       c->memory_margin_bytes >= 0 && c->memory_margin_bytes <= VALUE_MAX &&
	       c->memory_margin_fraction >= 0 && c->memory_margin_fraction <= 100 &&
	       c->memory_round_bytes >= 1 && c->memory_round_bytes <= VALUE_MAX &&
	       c->oom_min_bump_bytes >= 0 && c->oom_min_bump_bytes <= VALUE_MAX &&
	       c->oom_bump_ratio >= 1 && c->oom_bump_ratio <= 100 && c->bypass_window_usec > 0;
}

static void finish_none(struct decide_decision *d, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static void finish_none(struct decide_decision *d, const char *fmt, ...)
{
	va_list ap;

	d->kind = DECIDE_NONE;
	d->new_res = d->old_res;
	d->n_steps = 0;
	d->needs_restart = d->shrinks_memory_limit = d->bypass_cooldown = false;
	va_start(ap, fmt);
	vsnprintf(d->reason, sizeof(d->reason), fmt, ap);
	va_end(ap);
}

/* How far the request of container `index` may grow, as p->room / p->room_kind. The pod's
 * requests as the scheduler counts them (PodRequests) are max(S + r, I) + O: S the other app
 * containers' and the sidecars' requests, r this one's, I the init containers' max (each with the
 * sidecars before it), O the overhead. With a pod-level request P they are P + O whatever r is,
 * and the API server's bound is max(S + r, I) ≤ P (validatePodResourceConsistency); otherwise they
 * must fit the node's room F: r ≤ F - O - S, and none at all when I + O > F. */
static void plan_room(struct plan *p, const struct decide_input *in, bool cpu)
{
	const struct decide_pod *pod = &in->pod;
	int64_t s = 0, sidecars = 0, init_max = 0;
	int64_t pod_req = cpu ? pod->resources.cpu_request : pod->resources.memory_request;
	int64_t free = cpu ? in->node.cpu_free_millis : in->node.memory_free_bytes;
	int64_t overhead = positive(cpu ? pod->overhead_cpu_millis : pod->overhead_memory_bytes);
	enum field f = cpu ? CPU_REQUEST : MEMORY_REQUEST;

	for (size_t i = 0; i < pod->n_containers; i++) {
		struct decide_resources r = normalize(pod->containers[i].res);

		if (i != in->index)
			s += positive(field_of(&r, f));
	}
	for (size_t i = 0; i < pod->n_init_containers; i++) {
		struct decide_resources r = normalize(pod->init_containers[i].res);
		int64_t v = positive(field_of(&r, f));

		if (pod->init_containers[i].sidecar) {
			s += v;
			sidecars += v;
		} else
			init_max = max64(init_max, sidecars + v);
	}
	if (pod_req >= 0) {
		p->room_kind = ROOM_POD_LEVEL;
		p->room = init_max <= pod_req ? pod_req - s : -1;
	} else if (free >= 0) {
		p->room_kind = ROOM_NODE;
		p->room = init_max + overhead <= free ? free - overhead - s : -1;
	} else
		p->room_kind = ROOM_UNKNOWN;
}

/* How many of the container's grows inside the cooldown fall in the budget's window; one stamped
 * in the future (a clock set back) counts. */
static unsigned recent_bypass_grows(const struct decide_input *in, const struct decide_config *cfg)
{
	unsigned n = 0;

	for (size_t i = 0; i < in->n_bypass_grows; i++) {
		uint64_t t = in->bypass_grows_usec[i];

		if (t > in->now_usec || in->now_usec - t < cfg->bypass_window_usec)
			n++;
	}
	return n;
}

static void plan_init(struct plan *p, bool cpu, const struct decide_input *in,
		      const struct decide_config *cfg, const struct decide_resources *cur)
{
	const struct pol_container *pc = in->policy;

	*p = (struct plan){
		.cpu = cpu,
		.name = cpu ? "cpu" : "memory",
		.req = cpu ? cur->cpu_request : cur->memory_request,
		.lim = cpu ? cur->cpu_limit : cur->memory_limit,
		.min = cpu ? pc->min_cpu_millis : pc->min_memory_bytes,
		.max = cpu ? pc->max_cpu_millis : pc->max_memory_bytes,
		.unit = cpu ? 1 : cfg->memory_round_bytes,
		.usage = cpu ? -1 : in->signals.memory_usage,
		.pod_limit = cpu ? in->pod.resources.cpu_limit : in->pod.resources.memory_limit,
		.allocatable = cpu ? -1 : in->node.memory_allocatable_bytes,
		.guaranteed = in->pod.qos == DECIDE_QOS_GUARANTEED,
		.requests_only = pc->controlled == POL_CONTROLLED_REQUESTS,
		.cfg = cfg,
	};
	p->min_key = cpu ? "snug.io/min-cpu" : "snug.io/min-memory";
	if (cpu)
		p->max_key = pc->max_cpu_is_cap ? "--max-cpu" : "snug.io/max-cpu";
	else
		p->max_key = pc->max_memory_is_cap ? "--max-memory" : "snug.io/max-memory";
	plan_room(p, in, cpu);
	p->change = (struct text){ p->change_buf, sizeof(p->change_buf), 0 };
	p->skip = (struct text){ p->skip_buf, sizeof(p->skip_buf), 0 };
	p->notes = (struct text){ p->notes_buf, sizeof(p->notes_buf), 0 };
	p->change_buf[0] = p->skip_buf[0] = p->notes_buf[0] = '\0';
	reset(p);
}

/* A Burstable pod whose change happens to make every request equal its limit would become
 * Guaranteed, which the API refuses: keep the changed request one unit under its limit. */
static bool keep_burstable(const struct decide_input *in, struct decide_decision *d,
			   const struct decide_config *cfg, struct text *why)
{
	struct decide_resources *r = &d->new_res;
	const struct decide_resources *o = &d->old_res;
	int64_t unit = min64(cfg->memory_round_bytes, MIB);

	if ((r->memory_request != o->memory_request || r->memory_limit != o->memory_limit) &&
	    r->memory_request == r->memory_limit && r->memory_limit > unit) {
		r->memory_request -= unit;
		text_add(why, " (memory request kept under the limit so the pod stays Burstable)");
	} else if ((r->cpu_request != o->cpu_request || r->cpu_limit != o->cpu_limit) &&
		   r->cpu_request == r->cpu_limit && r->cpu_limit > 1) {
		r->cpu_request -= 1;
		text_add(why, " (cpu request kept 1m under the limit so the pod stays Burstable)");
	}
	return qos_of(&in->pod, in->index, r) == DECIDE_QOS_BURSTABLE;
}

int decide_container(const struct decide_input *in, struct decide_decision *ret)
{
	struct decide_config defaults;
	const struct decide_config *cfg;
	const struct pol_container *pc;
	struct decide_decision d = { 0 };
	struct plan mem, cpu;
	struct text reason = { d.reason, sizeof(d.reason), 0 };
	enum decide_qos before, after;
	bool in_cooldown, keep_note = false;
	uint64_t left = 0;

	if (!in || !ret || !in->policy || !valid_pod(&in->pod) ||
	    in->index >= in->pod.n_containers || (in->n_bypass_grows > 0 && !in->bypass_grows_usec))
		return -EINVAL;
	if (!valid_estimate(&in->cpu) || !valid_estimate(&in->memory) ||
	    !valid_value(in->signals.oom_bumped_memory) || !valid_value(in->signals.memory_usage) ||
	    !valid_value(in->signals.memory_cgroup_limit) ||
	    !valid_value(in->signals.memory_working_set) ||
	    !(in->signals.cpu_throttle_ratio >= 0 && in->signals.cpu_throttle_ratio <= 1e6) ||
	    !valid_value(in->node.cpu_free_millis) || !valid_value(in->node.memory_free_bytes) ||
	    !valid_value(in->node.memory_allocatable_bytes))
		return -EINVAL;
	if (!in->config) {
		decide_config_default(&defaults);
		cfg = &defaults;
	} else
		cfg = in->config;
	if (!valid_config(cfg))
		return -EINVAL;
	pc = in->policy;

	d.index = in->index;
	d.old_res = normalize(in->pod.containers[in->index].res);
	d.new_res = d.old_res;
	d.report_only = pc->mode == POL_MODE_RECOMMEND;

	if (pc->mode == POL_MODE_OFF || (unsigned)pc->mode >= _POL_MODE_MAX) {
		finish_none(&d, "not managed (snug.io/mode off, invalid annotations, or not in "
				"snug.io/containers)");
		goto done;
	}
	if (in->pod.qos == DECIDE_QOS_BEST_EFFORT) {
		finish_none(&d, "BestEffort pod: never resized (its QoS class cannot change)");
		goto done;
	}
	if (in->pod.qos == DECIDE_QOS_GUARANTEED && pc->controlled == POL_CONTROLLED_REQUESTS) {
		finish_none(&d, "Guaranteed pod with controlled-values=requests: requests cannot "
				"change without the limits (the QoS class would change)");
		goto done;
	}

	in_cooldown = in->last_resize_usec != 0 &&
		      (in->now_usec < in->last_resize_usec ||
		       in->now_usec - in->last_resize_usec < cfg->cooldown_usec);
	if (in_cooldown)
		left = cfg->cooldown_usec - (in->now_usec > in->last_resize_usec
						     ? in->now_usec - in->last_resize_usec
						     : 0);

	plan_init(&mem, false, in, cfg, &d.old_res);
	plan_init(&cpu, true, in, cfg, &d.old_res);
	mem.in_cooldown = cpu.in_cooldown = in_cooldown;
	mem.cooldown_left_usec = cpu.cooldown_left_usec = left;
	mem.budget_spent = cpu.budget_spent = recent_bypass_grows(in, cfg) >= cfg->bypass_budget;

	if (pc->resources & POL_RESOURCE_MEMORY) {
		bool done = false;

		if (in->signals.oom_kill) {
			done = plan_oom(&mem, &in->signals);
			mem.bypass = done;
		} else if (pressure_seen(&mem, &in->signals))
			done = plan_pressure(&mem, &in->signals);
		if (!done)
			plan_recommendation(&mem, &in->memory, in_cooldown, left);
	} else if (in->signals.oom_kill || pressure_seen(&mem, &in->signals))
		skip(&mem, "memory signal ignored: snug.io/resources leaves memory alone");

	if (pc->resources & POL_RESOURCE_CPU) {
		bool done = false;

		if (cpu.lim >= 0 && in->signals.cpu_throttle_ratio >= cfg->throttle_ratio &&
		    in->signals.cpu_throttle_window_usec >= cfg->throttle_window_usec)
			done = plan_throttle(&cpu, &in->signals, in_cooldown);
		if (!done)
			plan_recommendation(&cpu, &in->cpu, in_cooldown, left);
	}

	d.bypass_budget_spent = mem.held_by_budget || cpu.held_by_budget;
	if (mem.kind == DECIDE_NONE && cpu.kind == DECIDE_NONE) {
		finish_none(&d, "%s%s%s", mem.skip.buf, mem.skip.len && cpu.skip.len ? "; " : "",
			    cpu.skip.buf);
		if (!mem.skip.len && !cpu.skip.len)
			finish_none(&d, "nothing to do");
		goto done;
	}

	d.new_res.memory_request = mem.new_req;
	d.new_res.memory_limit = mem.new_lim;
	d.new_res.cpu_request = cpu.new_req;
	d.new_res.cpu_limit = cpu.new_lim;
	if (in->keep_memory_limit && d.old_res.memory_limit >= 0 &&
	    d.new_res.memory_limit < d.old_res.memory_limit &&
	    in->pod.containers[in->index].memory_restart != DECIDE_RESTART_CONTAINER) {
		/* A Guaranteed pod's request must follow its limit, so its memory stays. */
		d.new_res.memory_limit = d.old_res.memory_limit;
		if (in->pod.qos == DECIDE_QOS_GUARANTEED)
			d.new_res.memory_request = d.old_res.memory_request;
		keep_note = true;
	}
	/* The strongest reason names the decision: a kill beats pressure beats throttling. */
	d.kind = mem.kind != DECIDE_NONE && (cpu.kind == DECIDE_NONE || mem.kind < cpu.kind)
			 ? mem.kind
			 : cpu.kind;
	/* Only a grow that a running cooldown would have held spends the budget. */
	d.bypass_cooldown = (mem.bypass || cpu.bypass) && in_cooldown;
	if (mem.kind != DECIDE_NONE)
		text_add(&reason, "%s", mem.change.buf);
	if (cpu.kind != DECIDE_NONE) {
		const char *c = cpu.change.buf;

		/* "recommendation: memory …; cpu …" reads better than the prefix twice. */
		if (mem.kind == DECIDE_RECOMMENDATION && cpu.kind == DECIDE_RECOMMENDATION)
			c += cpu.change_prefix_len;
		text_add(&reason, "%s%s", mem.kind != DECIDE_NONE ? "; " : "", c);
	}
	/* A signal that could not act still matters to whoever reads the Event. */
	if (mem.kind == DECIDE_NONE && in->signals.oom_kill && mem.skip.len)
		text_add(&reason, "; %s", mem.skip.buf);
	if (keep_note)
		text_add(&reason, "; memory limit kept (the API server refuses lowering it without "
				  "resizePolicy RestartContainer)");

	before = qos_of(&in->pod, SIZE_MAX, NULL);
	after = qos_of(&in->pod, in->index, &d.new_res);
	if (after != before &&
	    !(before == DECIDE_QOS_BURSTABLE && keep_burstable(in, &d, cfg, &reason))) {
		char wanted[DECIDE_REASON_MAX];

		memcpy(wanted, d.reason, sizeof(wanted));
		finish_none(&d, "refused: the change would make the pod %s (it is %s): %s",
			    decide_qos_to_string(after), decide_qos_to_string(before), wanted);
		goto done;
	}
	if (memcmp(&d.new_res, &d.old_res, sizeof(d.old_res)) == 0) {
		char wanted[DECIDE_REASON_MAX];

		memcpy(wanted, d.reason, sizeof(wanted));
		finish_none(&d, "unchanged: %s", wanted);
		goto done;
	}

	if ((d.new_res.cpu_request != d.old_res.cpu_request ||
	     d.new_res.cpu_limit != d.old_res.cpu_limit) &&
	    in->pod.containers[in->index].cpu_restart == DECIDE_RESTART_CONTAINER)
		d.needs_restart = true;
	if ((d.new_res.memory_request != d.old_res.memory_request ||
	     d.new_res.memory_limit != d.old_res.memory_limit) &&
	    in->pod.containers[in->index].memory_restart == DECIDE_RESTART_CONTAINER)
		d.needs_restart = true;
	d.shrinks_memory_limit =
		d.old_res.memory_limit >= 0 && d.new_res.memory_limit < d.old_res.memory_limit;
	if (d.needs_restart)
		text_add(&reason, "; restarts the container (resizePolicy RestartContainer)");
	plan_steps(in, &d);
done:
	*ret = d;
	return 0;
}
