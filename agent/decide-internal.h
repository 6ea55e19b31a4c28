/* What decide.c, decide_plan.c and decide_pod.c share and nobody else needs: validation, the API
 * server's defaults, the QoS class with one container's resources replaced, one resource's plan. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "agent/decide.h"

/* Inputs above this are refused: it keeps every product and sum in int64 without care. */
#define DECIDE_VALUE_MAX (INT64_C(1) << 50)

enum decide_field {
	DECIDE_CPU_REQUEST,
	DECIDE_CPU_LIMIT,
	DECIDE_MEMORY_REQUEST,
	DECIDE_MEMORY_LIMIT,
};

/* The API server defaults a missing request to the limit; the decision sees what it will see. */
struct resources decide_normalize(struct resources r);
int64_t decide_positive(int64_t v);
int64_t decide_field(const struct resources *r, enum decide_field f);
/* Whether index names a container decide may change: an app container or a native sidecar
 * (pod.init_containers[index - pod.n_containers] with sidecar set). */
bool decide_index_valid(const struct decide_pod *pod, size_t index);
/* That container (index valid), an init container's fields copied into an app container's. */
struct decide_container decide_target(const struct decide_pod *pod, size_t index);
/* The pod's QoS class with container `override` (numbered as decide_input.index) given *with
 * (SIZE_MAX, NULL: as it is). */
enum qos_class decide_qos_with(const struct decide_pod *pod, size_t override,
			       const struct resources *with);
bool decide_valid_value(int64_t v);
bool decide_valid_resources(const struct resources *r);
bool decide_valid_pod(const struct decide_pod *pod);

int64_t decide_max64(int64_t a, int64_t b);

/* Appends to a fixed buffer, truncating quietly: a reason cut short is better than none. */
struct text {
	char *buf;
	size_t size, len;
};

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
	/* memory only: the PSI memory `some` stall share and its window (a shrink waits for 0) */
	double stall_some;
	uint64_t stall_window_usec;
	/* memory only, not vpa-like: the share of the window the working set stood above the
	 * request, and the window (decide_signals) */
	double over_request;
	uint64_t over_request_window_usec;
	bool guaranteed, requests_only;
	/* snug.io/updater=vpa-like: the request changes only outside [lower, upper] (no
	 * --min-change rule), and no stall holds a shrink */
	bool bounds_only;
	/* The HorizontalPodAutoscaler scaling on this resource's utilization (NULL = none): the
	 * request is its denominator and stays; only the limit may move. */
	const char *hpa;
	bool room_held; /* bound_request stopped at the room */
	/* This resource's own cooldown and budget (a resize of the other resource starts neither). */
	bool in_cooldown, budget_spent;
	uint64_t cooldown_left_usec;
	const struct decide_config *cfg;

	int64_t new_req, new_lim;
	enum decide_kind kind;
	bool bypass;
	bool held_by_budget; /* a signal waited for the cooldown because the budget is spent */
	struct text change, skip, notes;
	size_t change_prefix_len; /* of change: the kind's prefix ("recommendation: ") */
	char change_buf[256], skip_buf[256], notes_buf[256];
};

void decide_text_add(struct text *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* How far in's container's request of that resource may grow (p->room, p->room_kind), as the
 * scheduler counts the pod's requests (decide_pod.c). */
void decide_plan_room(struct plan *p, const struct decide_input *in, bool cpu);
/* Sets p up for one resource of in's container, from its current resources cur. */
void decide_plan_init(struct plan *p, bool cpu, const struct decide_input *in,
		      const struct decide_config *cfg, const struct resources *cur);
/* Records why a signal did not act (for the reason text), with the notes so far. */
void decide_plan_skip(struct plan *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Each rule fills p (kind, new request and limit, the change text) and returns true when it acts. */
bool decide_plan_oom(struct plan *p, const struct decide_signals *s);
bool decide_pressure_seen(const struct plan *p, const struct decide_signals *s);
bool decide_plan_pressure(struct plan *p, const struct decide_signals *s);
/* Sustained throttling, or throttling with a sustained CPU stall (PSI), raises the CPU limit. */
bool decide_cpu_starved(const struct decide_config *cfg, const struct decide_signals *s);
bool decide_plan_throttle(struct plan *p, const struct decide_signals *s);
bool decide_plan_recommendation(struct plan *p, const struct decide_estimate *e);
/* The startup boost's CPU step (decide_boost.c): APPLY raises the limit, RETURN puts back. */
bool decide_plan_boost(struct plan *p, const struct decide_boost *b);
