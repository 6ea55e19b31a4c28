/* One resource's plan for the container being decided on: the bounds it must keep (min/max,
 * caps, node room, usage floor), the rules of each signal (OOM kill, memory pressure, throttling,
 * the recommendation) and the words that explain the outcome. Pure: no I/O, no clock. */
#include "agent/decide-internal.h"

#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent/recommender/recommender.h"
#include "agent/util/quantity.h"
#include "agent/util/time.h"

/* The kubelet never writes a CFS quota under 1 ms per 100 ms period: 10 millicores. */
#define CPU_LIMIT_MIN_MILLIS 10
#define MIB (INT64_C(1) << 20)

void decide_text_add(struct text *t, const char *fmt, ...)
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

int64_t decide_max64(int64_t a, int64_t b)
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

/* ceil(v × f), saturated; inputs are below DECIDE_VALUE_MAX so long double is exact enough, but a
 * product that is whole up to float noise (600Mi × 0.1) must not round up to the next unit. */
static int64_t scale(int64_t v, double f)
{
	long double x = (long double)v * (long double)f, r = roundl(x);

	if (!(x < (long double)DECIDE_VALUE_MAX * 4))
		return DECIDE_VALUE_MAX * 4;
	if (x <= 0)
		return 0;
	return (int64_t)(fabsl(x - r) < 1e-6L * (x > 1 ? x : 1) ? r : ceill(x));
}

/* One more item of a list in t: sep before it unless it is the first. */
static void append_item(struct text *t, const char *sep, const char *fmt, va_list ap)
	__attribute__((format(printf, 3, 0)));
static void append_item(struct text *t, const char *sep, const char *fmt, va_list ap)
{
	char tmp[192];

	vsnprintf(tmp, sizeof(tmp), fmt, ap);
	decide_text_add(t, "%s%s", t->len ? sep : "", tmp);
}

static void note(struct plan *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void note(struct plan *p, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	append_item(&p->notes, ", ", fmt, ap);
	va_end(ap);
}

static int64_t bound_request(struct plan *p, int64_t v)
{
	char a[32];

	v = decide_max64(round_up(v, p->unit), 1);
	if (p->min >= 0 && v < p->min) {
		v = p->min;
		note(p, "raised to %s=%s", p->min_key, fmtq(p->cpu, p->min, a));
	}
	if (p->max >= 0 && v > p->max) {
		v = p->max;
		note(p, "capped by %s=%s", p->max_key, fmtq(p->cpu, p->max, a));
	}
	/* No node admits a request above its allocatable. */
	if (!p->cpu && p->allocatable > 0 && v > decide_max64(p->allocatable, p->req)) {
		v = decide_max64(p->allocatable, p->req);
		note(p, "capped at the node's allocatable memory %s",
		     fmtq(false, p->allocatable, a));
	}
	if (p->room_kind != ROOM_UNKNOWN && v > decide_max64(p->req, p->room)) {
		v = decide_max64(p->req, p->room);
		p->room_held = true;
		if (p->room_kind == ROOM_NODE)
			note(p, "node has only %s %s left",
			     fmtq(p->cpu, decide_max64(p->room, 0), a), p->name);
		else
			note(p, "the pod-level %s request leaves only %s", p->name,
			     fmtq(p->cpu, decide_max64(p->room, 0), a));
	}
	return v;
}

static int64_t bound_limit(struct plan *p, int64_t v)
{
	char a[32], b[32];

	v = round_up(v, p->unit);
	/* A limit the user set above max is theirs; snug only never raises one past max. */
	if (p->max >= 0 && v > decide_max64(p->max, p->lim)) {
		v = decide_max64(p->max, p->lim);
		note(p, "limit capped by %s=%s", p->max_key, fmtq(p->cpu, p->max, a));
	}
	/* The API server refuses a container limit above the pod-level one. */
	if (p->pod_limit >= 0 && v > decide_max64(p->pod_limit, p->lim)) {
		v = decide_max64(p->pod_limit, p->lim);
		note(p, "limit capped by the pod-level limit %s", fmtq(p->cpu, p->pod_limit, a));
	}
	/* More memory than the node can give any pod is no limit, only a leak's licence. */
	if (!p->cpu && p->allocatable > 0 && v > decide_max64(p->allocatable, p->lim)) {
		v = decide_max64(p->allocatable, p->lim);
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
		int64_t margin = decide_max64(p->cfg->memory_margin_bytes,
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
		decide_text_add(&p->change, "%s limit %s -> %s", p->name, fmtq(p->cpu, p->lim, a),
				fmtq(p->cpu, p->new_lim, b));
		if (req)
			decide_text_add(&p->change, ", request %s -> %s", fmtq(p->cpu, p->req, a),
					fmtq(p->cpu, p->new_req, b));
	} else {
		if (req)
			decide_text_add(&p->change, "%s request %s%s%s -> %s", p->name,
					fmtq(p->cpu, p->req, a), req_why && *req_why ? " " : "",
					req_why ? req_why : "", fmtq(p->cpu, p->new_req, b));
		if (lim)
			decide_text_add(&p->change, "%s%s%s -> %s", req ? ", " : p->name,
					req ? "limit " : " limit ", fmtq(p->cpu, p->lim, a),
					fmtq(p->cpu, p->new_lim, b));
	}
	if (p->notes.len)
		decide_text_add(&p->change, " (%s)", p->notes.buf);
}

/* The note that says why the request stays: an HPA scales on its utilization. */
static void note_hpa(struct plan *p)
{
	note(p, "request kept: HorizontalPodAutoscaler %s scales on %s utilization", p->hpa,
	     p->name);
}

/* Raises the limit to want (OOM, pressure, throttling): a request equal to its limit follows it,
 * which keeps Guaranteed pods Guaranteed and honours VPA's "request == limit" rule. A request an
 * HPA scales on stays: a Burstable limit grows alone, a Guaranteed pod's cannot. */
static bool grow_limit(struct plan *p, int64_t want)
{
	int64_t l;

	if (p->hpa && p->guaranteed) {
		note(p,
		     "a Guaranteed pod's request moves with its limit, and HorizontalPodAutoscaler "
		     "%s scales on %s utilization",
		     p->hpa, p->name);
		return false;
	}
	l = bound_limit(p, decide_max64(want, p->lim));
	if (l <= p->lim)
		return false;
	p->new_lim = l;
	p->new_req = p->req;
	if (p->hpa)
		note_hpa(p);
	else if (p->req == p->lim) {
		p->new_req = decide_max64(min64(bound_request(p, l), l), p->req);
		if (p->guaranteed)
			p->new_lim = p->new_req;
	}
	return p->new_lim > p->lim;
}

void decide_plan_skip(struct plan *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void decide_plan_skip(struct plan *p, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	append_item(&p->skip, "; ", fmt, ap);
	va_end(ap);
	if (p->notes.len)
		decide_text_add(&p->skip, " (%s)", p->notes.buf);
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
	decide_plan_skip(
		p,
		"%s: waits for the cooldown (%" PRIu64 "s left): the budget of %u grows inside the "
		"cooldown per %" PRIu64 " min is spent (--bypass-budget)",
		what, (uint64_t)((p->cooldown_left_usec + USEC_PER_SEC - 1) / USEC_PER_SEC),
		p->cfg->bypass_budget,
		(uint64_t)(p->cfg->bypass_window_usec / (60 * USEC_PER_SEC)));
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
bool decide_plan_oom(struct plan *p, const struct decide_signals *s)
{
	char a[32], b[32], c[32];
	int64_t target = s->oom_bumped_memory, floor, want_lim;
	bool from_recommender = target > 0, req_held;

	if (budget_holds(p, "oom-kill"))
		return false;
	/* Without the recommender's figure, VPA's rule on what is known here. */
	if (!from_recommender)
		target = oom_bump(p, decide_max64(decide_max64(p->req, s->memory_usage), 0));
	target = round_up(target, p->unit);

	if (p->hpa && (p->lim < 0 || p->requests_only || p->guaranteed)) {
		/* Only the request could move (no limit, limits not controlled), or the request
		 * must move with the limit (Guaranteed): the HPA's denominator wins. */
		decide_plan_skip(
			p,
			"oom-kill: memory %s not raised: HorizontalPodAutoscaler %s scales "
			"on memory utilization (the request is its denominator)%s",
			p->lim < 0 ? "request" : "request and limit", p->hpa,
			p->guaranteed && p->lim >= 0
				? "; a Guaranteed pod's request moves with its limit"
				: "");
		return false;
	}
	if (p->lim < 0) {
		/* No limit: the kill came from the node or the pod; reserve more on the node. */
		p->new_req = bound_request(p, decide_max64(target, p->req));
		if (p->new_req <= p->req) {
			decide_plan_skip(p, "oom-kill: memory request %s not raised",
					 fmtq(false, p->req, a));
			reset(p);
			return false;
		}
		p->kind = DECIDE_OOM;
		decide_text_add(&p->change, "oom-kill (no memory limit): ");
		describe(p, NULL);
		return true;
	}
	if (p->requests_only) {
		p->new_req = min64(bound_request(p, decide_max64(target, p->req)), p->lim);
		if (p->new_req <= p->req) {
			decide_plan_skip(p,
					 "oom-kill: memory limit %s stays "
					 "(controlled-values=requests leaves "
					 "limits alone) and the request is already %s",
					 fmtq(false, p->lim, a), fmtq(false, p->req, b));
			reset(p);
			return false;
		}
		p->kind = DECIDE_OOM;
		decide_text_add(&p->change, "oom-kill: ");
		describe(p, NULL);
		decide_text_add(&p->change, " (limit not controlled: controlled-values=requests)");
		return true;
	}

	/* Killed at its limit: it used the limit. */
	floor = oom_bump(p, p->lim);
	if (p->guaranteed) {
		/* requests = limits: both move to the larger bump, as far as the node lets the
		 * request, or not at all. */
		int64_t v = bound_limit(p, bound_request(p, decide_max64(target, floor)));

		if (v <= p->lim) {
			decide_plan_skip(p,
					 "oom-kill: memory request and limit %s not raised (a "
					 "Guaranteed pod's "
					 "move together or not at all)",
					 fmtq(false, p->lim, a));
			reset(p);
			return false;
		}
		p->new_req = p->new_lim = v;
		if (p->room_held)
			note(p, "request and limit move together (Guaranteed)");
	} else {
		p->new_req = p->hpa ? p->req
				    : decide_max64(bound_request(p, decide_max64(target, p->req)),
						   p->req);
		req_held = p->room_held;
		if (p->hpa)
			note_hpa(p);
		/* VPA's limit rule on the request it wanted: the ratio kept (request == limit: the
		 * limit is the request); a limit without a request to scale gets the floor. */
		want_lim = p->req > 0 ? decide_ratio_limit(p->lim, decide_max64(target, p->req),
							   p->req)
				      : floor;
		/* A request held for an HPA has no ratio to keep: the limit takes what the
		 * recommender says the container needs. */
		if (p->hpa)
			want_lim = target;
		p->new_lim = bound_limit(p, decide_max64(decide_max64(want_lim, floor), p->lim));
		p->new_req = min64(p->new_req, p->new_lim);
		if (p->new_lim <= p->lim && p->new_req <= p->req) {
			decide_plan_skip(p, "oom-kill: memory limit %s not raised",
					 fmtq(false, p->lim, a));
			reset(p);
			return false;
		}
		if (req_held && p->new_lim > p->lim)
			note(p, "the limit alone grows: a Burstable limit needs no node room");
	}
	p->kind = DECIDE_OOM;
	decide_text_add(&p->change, "oom-kill: ");
	describe(p, NULL);
	decide_text_add(&p->change, " (killed at its limit: limit at least %s%s",
			fmtq(false, floor, a), p->hpa ? ")" : "; request: ");
	if (p->hpa)
		return true;
	if (from_recommender)
		decide_text_add(&p->change, "the recommender's OOM bump %s)",
				fmtq(false, target, b));
	else
		decide_text_add(&p->change, "VPA's OOM bump of %s, %s)",
				fmtq(false, decide_max64(p->req, s->memory_usage), c),
				fmtq(false, target, b));
	return true;
}

static int64_t pressure_limit(const struct plan *p, const struct decide_signals *s)
{
	return s->memory_cgroup_limit >= 0 ? s->memory_cgroup_limit : p->lim;
}

/* memory.events `max` grew while usage sits near the limit and, where PSI tells a harmless page
 * cache at the limit from a squeeze, the working set does too (a page-cache streamer hits `max`
 * at every charge; stall_pressure() judges it). */
static bool max_event_pressure(const struct plan *p, const struct decide_signals *s)
{
	int64_t limit = pressure_limit(p, s);
	long double near = (long double)limit * p->cfg->pressure_near;

	return s->memory_max_grew && p->lim >= 0 && limit > 0 && s->memory_usage >= 0 &&
	       (long double)s->memory_usage >= near &&
	       (!s->memory_psi_known ||
		(s->memory_working_set >= 0 && (long double)s->memory_working_set >= near));
}

static bool working_set_pressure(const struct plan *p, const struct decide_signals *s)
{
	int64_t limit = pressure_limit(p, s);

	return p->cfg->pressure_working_set > 0 && p->lim >= 0 && limit > 0 &&
	       s->memory_working_set >= 0 &&
	       (long double)s->memory_working_set >=
		       (long double)limit * p->cfg->pressure_working_set;
}

/* A sustained memory stall (PSI) while usage sits near the limit: the container reclaims its own
 * page cache and refaults it (a thrasher is slow long before it is killed, with a working set
 * below the limit). Far below the limit, a stall is the node's reclaim, which no limit cures. */
static bool stall_pressure(const struct plan *p, const struct decide_signals *s)
{
	int64_t limit = pressure_limit(p, s);

	return p->cfg->psi_memory_some > 0 && p->lim >= 0 && limit > 0 && s->memory_usage >= 0 &&
	       s->stall_window_usec >= p->cfg->psi_window_usec &&
	       s->memory_stall_some >= p->cfg->psi_memory_some &&
	       (long double)s->memory_usage >= (long double)limit * p->cfg->pressure_near;
}

bool decide_pressure_seen(const struct plan *p, const struct decide_signals *s)
{
	return max_event_pressure(p, s) || working_set_pressure(p, s) || stall_pressure(p, s);
}

/* ", memory stall (PSI) some 34%, full 20% over 30s" when the window saw any, else "". */
static const char *stall_text(char *buf, size_t size, const char *what, double some, double full,
			      uint64_t window_usec)
{
	buf[0] = '\0';
	if (some <= 0 || window_usec == 0)
		return buf;
	if (full > 0)
		snprintf(buf, size, ", %s stall (PSI) some %.1f%%, full %.1f%% over %us", what,
			 some * 100, full * 100, (unsigned)(window_usec / USEC_PER_SEC));
	else
		snprintf(buf, size, ", %s stall (PSI) some %.1f%% over %us", what, some * 100,
			 (unsigned)(window_usec / USEC_PER_SEC));
	return buf;
}

bool decide_cpu_starved(const struct decide_config *cfg, const struct decide_signals *s)
{
	bool window = s->cpu_throttle_window_usec >= cfg->throttle_window_usec;

	if (window && s->cpu_throttle_ratio >= cfg->throttle_ratio)
		return true;
	/* The limit binds (some throttling) and tasks wait for a CPU: the stall is what the
	 * throttling costs (a stall without throttling is the node's contention, which no limit
	 * cures). */
	return window && s->cpu_throttle_ratio > 0 && cfg->psi_cpu_some > 0 &&
	       s->stall_window_usec >= cfg->psi_window_usec &&
	       s->cpu_stall_some >= cfg->psi_cpu_some;
}

bool decide_plan_pressure(struct plan *p, const struct decide_signals *s)
{
	char a[32], b[32], what[192], stall[96];
	int64_t limit = pressure_limit(p, s);
	bool by_event = max_event_pressure(p, s);
	bool by_stall = !by_event && !working_set_pressure(p, s);
	int64_t used = by_event || by_stall ? s->memory_usage : s->memory_working_set;
	int pct = (int)((long double)used * 100 / limit);
	int64_t margin = decide_max64(p->cfg->memory_margin_bytes,
				      scale(used, p->cfg->memory_margin_fraction));

	stall_text(stall, sizeof(stall), "memory", s->memory_stall_some, s->memory_stall_full,
		   s->stall_window_usec);
	if (by_stall) {
		char c[32];

		/* stall[0] is ',' here: stall_pressure() saw a stall. */
		snprintf(what, sizeof(what), "%s while usage %s of %s (%d%%), working set %s",
			 stall + 2, fmtq(false, used, a), fmtq(false, limit, b), pct,
			 fmtq(false, decide_max64(s->memory_working_set_now, 0), c));
	} else if (!by_event && s->memory_working_set_now > 0 && s->memory_working_set_now < used) {
		char c[32];

		snprintf(what, sizeof(what), "working set %s, heading for %s, of %s (%d%%)%s",
			 fmtq(false, s->memory_working_set_now, c), fmtq(false, used, a),
			 fmtq(false, limit, b), pct, stall);
	} else
		snprintf(what, sizeof(what), "%s %s of %s (%d%%)%s",
			 by_event ? "memory.max hit at" : "working set", fmtq(false, used, a),
			 fmtq(false, limit, b), pct, stall);
	if (p->requests_only) {
		decide_plan_skip(
			p,
			"memory-pressure: %s, but controlled-values=requests leaves limits alone",
			what);
		return false;
	}
	{
		char held[224];

		snprintf(held, sizeof(held), "memory-pressure: %s", what);
		if (budget_holds(p, held))
			return false;
	}
	if (!grow_limit(p, decide_max64(scale(p->lim, p->cfg->pressure_grow), used + margin))) {
		decide_plan_skip(p, "memory-pressure: %s: memory limit %s not raised", what,
				 fmtq(false, p->lim, a));
		reset(p);
		return false;
	}
	p->kind = DECIDE_PRESSURE;
	p->bypass = true;
	decide_text_add(&p->change, "memory-pressure: %s: ", what);
	describe(p, NULL);
	return true;
}

bool decide_plan_throttle(struct plan *p, const struct decide_signals *s)
{
	char a[32], stall[96], what[160];
	bool heavy = s->cpu_throttle_ratio >= p->cfg->throttle_heavy_ratio;

	snprintf(what, sizeof(what), "cpu-throttled %d%% over %us%s",
		 (int)lround(s->cpu_throttle_ratio * 100),
		 (unsigned)(s->cpu_throttle_window_usec / USEC_PER_SEC),
		 stall_text(stall, sizeof(stall), "cpu", s->cpu_stall_some, 0,
			    s->stall_window_usec));
	if (p->requests_only) {
		decide_plan_skip(p, "%s, but controlled-values=requests leaves limits alone", what);
		return false;
	}
	if (!heavy && p->in_cooldown) {
		decide_plan_skip(p, "%s: waits for the cooldown", what);
		return false;
	}
	if (heavy && budget_holds(p, what))
		return false;
	if (!grow_limit(p, scale(p->lim, p->cfg->throttle_grow))) {
		decide_plan_skip(p, "%s: cpu limit %s not raised", what, fmtq(true, p->lim, a));
		reset(p);
		return false;
	}
	p->kind = DECIDE_THROTTLE;
	p->bypass = heavy;
	decide_text_add(&p->change, "%s: ", what);
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
		snprintf(why, size, "outside [%s, %s]", fmtq(p->cpu, decide_max64(e->lower, 0), a),
			 e->upper >= 0 ? fmtq(p->cpu, e->upper, b) : "inf");
		return true;
	}
	if (!p->bounds_only &&
	    (long double)llabs(e->target - cur) >= (long double)cur * p->cfg->min_change &&
	    e->target != cur) {
		snprintf(why, size, "%d%% off target %s",
			 (int)lround((double)llabs(e->target - cur) * 100 /
				     (double)decide_max64(cur, 1)),
			 fmtq(p->cpu, e->target, a));
		return true;
	}
	return false;
}

/* The working set stood above the memory request for a sustained share of a window, and the
 * recommendation wants a larger request: an under-reservation, not a sizing to wait for. */
static bool under_requested(const struct plan *p, int64_t target)
{
	return !p->cpu && p->cfg->over_request_share > 0 && p->req > 0 && target > p->req &&
	       p->over_request_window_usec >= p->cfg->over_request_window_usec &&
	       p->over_request >= p->cfg->over_request_share;
}

bool decide_plan_recommendation(struct plan *p, const struct decide_estimate *e)
{
	char a[32], b[32], c[32], why[96];
	int64_t target;

	if (!rec_triggers(p, e, &target, why, sizeof(why))) {
		if (e->target < 0)
			decide_plan_skip(p, "%s: no recommendation yet", p->name);
		else
			decide_plan_skip(
				p, "%s request %s within [%s, %s] and %d%% of target %s", p->name,
				fmtq(p->cpu, p->req, a), fmtq(p->cpu, decide_max64(e->lower, 0), b),
				e->upper >= 0 ? fmtq(p->cpu, e->upper, c) : "inf",
				(int)lround(p->cfg->min_change * 100), fmtq(p->cpu, e->target, c));
		return false;
	}
	if (p->hpa) {
		decide_plan_skip(
			p,
			"%s request %s %s, but kept: HorizontalPodAutoscaler %s scales on %s "
			"utilization (the request is its denominator)",
			p->name, fmtq(p->cpu, p->req, a), why, p->hpa, p->name);
		return false;
	}
	if (p->in_cooldown && under_requested(p, target)) {
		char held[160];

		snprintf(held, sizeof(held),
			 "memory request %s %s, working set above it %d%% of %us",
			 fmtq(false, p->req, a), why, (int)lround(p->over_request * 100),
			 (unsigned)(p->over_request_window_usec / USEC_PER_SEC));
		if (budget_holds(p, held))
			return false;
		/* Requests are what the scheduler reserves: a pod using more than it reserved is
		 * the one that crowds its neighbours (and the kubelet evicts first). */
		p->bypass = true;
		note(p, "working set above the request %d%% of %us: grown inside the cooldown",
		     (int)lround(p->over_request * 100),
		     (unsigned)(p->over_request_window_usec / USEC_PER_SEC));
	} else if (p->in_cooldown) {
		decide_plan_skip(
			p, "%s request %s %s: waits for the cooldown (%" PRIu64 "s left)", p->name,
			fmtq(p->cpu, p->req, a), why,
			(uint64_t)((p->cooldown_left_usec + USEC_PER_SEC - 1) / USEC_PER_SEC));
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
			p->new_lim = decide_ratio_limit(p->lim, p->new_req, p->req);
		p->new_lim = decide_max64(bound_limit(p, p->new_lim), p->new_req);
	}
	if (p->new_req == p->req && p->new_lim == p->lim) {
		decide_plan_skip(p, "%s request %s %s, but stays", p->name, fmtq(p->cpu, p->req, a),
				 why);
		return false;
	}
	if (!p->cpu && p->stall_some > 0 && p->stall_window_usec > 0 &&
	    (p->new_req < p->req || (p->lim >= 0 && p->new_lim < p->lim))) {
		char stall[96];

		/* Usage says it fits; a stall says the kernel is already reclaiming to make it. */
		decide_plan_skip(p, "memory request %s %s: shrink held%s", fmtq(false, p->req, a),
				 why,
				 stall_text(stall, sizeof(stall), "memory", p->stall_some, 0,
					    p->stall_window_usec));
		reset(p);
		return false;
	}
	p->kind = DECIDE_RECOMMENDATION;
	decide_text_add(&p->change, "recommendation: ");
	p->change_prefix_len = p->change.len;
	describe(p, why);
	return true;
}

void decide_plan_init(struct plan *p, bool cpu, const struct decide_input *in,
		      const struct decide_config *cfg, const struct resources *cur)
{
	const struct pol_container *pc = in->policy;
	/* VPA's updater reads no pressure: a stall never holds its shrink. */
	bool no_psi = cpu || pc->updater == POL_UPDATER_VPA_LIKE;

	*p = (struct plan){
		.cpu = cpu,
		.name = cpu ? "cpu" : "memory",
		.req = cpu ? cur->cpu_request : cur->memory_request,
		.lim = cpu ? cur->cpu_limit : cur->memory_limit,
		.min = cpu ? pc->min_cpu_millis : pc->min_memory_bytes,
		.max = cpu ? pc->max_cpu_millis : pc->max_memory_bytes,
		.unit = cpu ? 1 : cfg->memory_round_bytes,
		.usage = cpu ? -1 : in->signals.memory_usage,
		.stall_some = no_psi ? 0 : in->signals.memory_stall_some,
		.stall_window_usec = no_psi ? 0 : in->signals.stall_window_usec,
		.over_request = no_psi ? 0 : in->signals.memory_over_request,
		.over_request_window_usec =
			no_psi ? 0 : in->signals.memory_over_request_window_usec,
		.pod_limit = cpu ? in->pod.resources.cpu_limit : in->pod.resources.memory_limit,
		.allocatable = cpu ? -1 : in->node.memory_allocatable_bytes,
		.guaranteed = in->pod.qos == QOS_GUARANTEED,
		.requests_only = pc->controlled == POL_CONTROLLED_REQUESTS,
		.bounds_only = pc->updater == POL_UPDATER_VPA_LIKE,
		.hpa = cpu ? in->hpa.cpu : in->hpa.memory,
		.cfg = cfg,
	};
	p->min_key = cpu ? "snug.io/min-cpu" : "snug.io/min-memory";
	if (cpu)
		p->max_key = pc->max_cpu_is_cap ? "--max-cpu" : "snug.io/max-cpu";
	else
		p->max_key = pc->max_memory_is_cap ? "--max-memory" : "snug.io/max-memory";
	if (p->hpa && !*p->hpa)
		p->hpa = NULL;
	decide_plan_room(p, in, cpu);
	p->change = (struct text){ p->change_buf, sizeof(p->change_buf), 0 };
	p->skip = (struct text){ p->skip_buf, sizeof(p->skip_buf), 0 };
	p->notes = (struct text){ p->notes_buf, sizeof(p->notes_buf), 0 };
	p->change_buf[0] = p->skip_buf[0] = p->notes_buf[0] = '\0';
	reset(p);
}

/* The request a boost asks for beside its limit: raised as the limit is, where the node has room
 * (a request is what the scheduler counted; a limit needs no room). */
static void boost_request(struct plan *p, const struct decide_boost *b, int64_t limit)
{
	int64_t want = b->factor > 1 ? scale(p->req, b->factor) : p->req + b->add_millis;
	int64_t r;

	want = min64(want, limit);
	r = bound_request(p, want);
	if (r >= want) {
		p->new_req = want;
		return;
	}
	/* bound_request's note says what held it. */
	p->new_req = p->req;
	note(p, "request stays");
}

bool decide_plan_boost(struct plan *p, const struct decide_boost *b)
{
	char a[32], what[48];
	int64_t want, l;

	if (b->phase == DECIDE_BOOST_RETURN) {
		p->new_req = b->original_cpu_request >= 0 ? b->original_cpu_request : p->req;
		p->new_lim = b->original_cpu_limit >= 0 ? b->original_cpu_limit : p->lim;
		if (p->new_req == p->req && p->new_lim == p->lim) {
			decide_plan_skip(p, "startup-boost over: cpu already as before it");
			return false;
		}
		p->kind = DECIDE_STARTUP_BOOST_OVER;
		decide_text_add(&p->change, "startup-boost over: ");
		describe(p, NULL);
		return true;
	}
	if (b->factor > 1)
		snprintf(what, sizeof(what), "startup-boost %gx", b->factor);
	else
		snprintf(what, sizeof(what), "startup-boost +%s", fmtq(true, b->add_millis, a));
	if (p->lim < 0) {
		decide_plan_skip(p, "%s: no CPU limit, nothing holds the start back", what);
		return false;
	}
	if (p->requests_only) {
		decide_plan_skip(p, "%s: controlled-values=requests leaves limits alone", what);
		return false;
	}
	want = b->factor > 1 ? scale(p->lim, b->factor) : p->lim + b->add_millis;
	l = bound_limit(p, want);
	if (l <= p->lim) {
		decide_plan_skip(p, "%s: cpu limit %s not raised", what, fmtq(true, p->lim, a));
		reset(p);
		return false;
	}
	p->new_lim = l;
	p->new_req = p->req;
	if (p->hpa && p->guaranteed) {
		decide_plan_skip(p,
				 "%s: a Guaranteed pod's request moves with its limit, and "
				 "HorizontalPodAutoscaler %s scales on cpu utilization",
				 what, p->hpa);
		reset(p);
		return false;
	}
	if (p->hpa)
		note_hpa(p); /* the limit alone: the HPA's denominator stays */
	else if (p->guaranteed) {
		/* Its request is its limit: both move, within the node's room, or neither (a limit
		 * alone would make the pod Burstable, and the QoS class never changes). */
		if (bound_request(p, l) < l) {
			decide_plan_skip(p, "%s: a Guaranteed pod's request moves with its limit",
					 what);
			reset(p);
			return false;
		}
		p->new_req = l;
	} else if (p->req > 0)
		boost_request(p, b, l);
	p->kind = DECIDE_STARTUP_BOOST;
	decide_text_add(&p->change, "%s: ", what);
	describe(p, NULL);
	return true;
}
