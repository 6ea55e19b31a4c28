/* Pod annotations (snug.io/...) and the agent's defaults turned into a typed per-pod policy. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define POL_ANNOTATION_PREFIX "snug.io/"

enum pol_mode {
	POL_MODE_OFF,	    /* not managed */
	POL_MODE_RECOMMEND, /* compute and report (metrics, Events) only */
	POL_MODE_AUTO,	    /* resize in place, eviction fallback */
	POL_MODE_IN_PLACE,  /* resize in place, never evict */
	_POL_MODE_MAX,
};

/* snug.io/updater: who decides when a resize happens. */
enum pol_updater {
	POL_UPDATER_SNUG, /* snug: signals (OOM, pressure, throttling, PSI) and recommendation */
	POL_UPDATER_VPA_LIKE, /* as VPA's updater would: the recommendation only (docs/value.md) */
};

enum pol_controlled {
	POL_CONTROLLED_REQUESTS_AND_LIMITS, /* limits keep their ratio to requests (VPA's rule) */
	POL_CONTROLLED_REQUESTS,	    /* limits are never changed */
};

/* Bits of struct pol.resources. */
#define POL_RESOURCE_CPU (1u << 0)
#define POL_RESOURCE_MEMORY (1u << 1)
#define POL_RESOURCE_ALL (POL_RESOURCE_CPU | POL_RESOURCE_MEMORY)

/* One pod annotation as the kube client hands it over (both strings owned by the caller). */
struct pol_annotation {
	const char *key;
	const char *value;
};

/* Agent-wide settings: --default-mode, --max-cpu, --max-memory (-1 = no cap). */
struct pol_defaults {
	enum pol_mode mode;
	int64_t max_cpu_millis;
	int64_t max_memory_bytes;
};

#define POL_DEFAULTS_INIT                                                                          \
	(struct pol_defaults)                                                                      \
	{                                                                                          \
		.mode = POL_MODE_OFF, .max_cpu_millis = -1, .max_memory_bytes = -1                 \
	}

enum pol_severity {
	POL_WARNING, /* reported, the rest of the policy applies */
	POL_ERROR,   /* the pod is treated as `off` */
};

/* One problem with one annotation; strings are sanitized (printable ASCII, truncated) copies. */
struct pol_issue {
	enum pol_severity severity;
	char *key;
	char *value;
	char *why;
	char *text; /* `snug.io/mode="Auto": unknown mode (valid: …)`, ready for logs and Events */
};

/* The policy of one pod. min/max are the user's annotations, caps the cluster's flags, both -1 when
 * unset; pol_container() merges them. */
struct pol {
	enum pol_mode mode; /* effective: POL_MODE_OFF whenever n_errors > 0 */
	enum pol_mode requested_mode;
	unsigned resources;
	enum pol_controlled controlled;
	int64_t min_cpu_millis, max_cpu_millis;
	int64_t min_memory_bytes, max_memory_bytes;
	int64_t cap_cpu_millis, cap_memory_bytes;
	char **containers; /* snug.io/containers; n_containers == 0 = all (app and sidecars) */
	size_t n_containers;
	bool allow_single_replica_eviction;
	enum pol_updater updater;
	/* snug.io/startup-cpu-boost: the CPU limit while a container starts, as a factor of it
	 * ("2x": boost_factor 2) or an amount added ("+1": boost_add_millis 1000); both 0 = none. */
	double boost_factor;
	int64_t boost_add_millis;
	/* snug.io/startup-cpu-boost-until: until the pod is Ready, for a time, or both (the first
	 * wins); default "ready". POL_BOOST_MAX_USEC bounds every boost. */
	bool boost_until_ready;
	uint64_t boost_until_usec; /* 0 = no time of its own */
	struct pol_issue *issues;
	size_t n_issues;
	size_t n_errors;
};

/* No startup boost lasts longer than this, Ready or not (a pod that never turns Ready is not
 * boosted for ever). */
#define POL_BOOST_MAX_USEC (10 * 60 * UINT64_C(1000000))
#define POL_BOOST_MAX_FACTOR 10.0
#define POL_BOOST_MAX_ADD_MILLIS (64 * 1000)

static inline bool pol_has_boost(const struct pol *p)
{
	return p->boost_factor > 1 || p->boost_add_millis > 0;
}

/* The effective policy of one container, the input the decision needs. */
struct pol_container {
	enum pol_mode mode; /* POL_MODE_OFF when the pod is off or the container is not selected */
	unsigned resources;
	enum pol_controlled controlled;
	int64_t min_cpu_millis, max_cpu_millis; /* effective: annotation and cluster cap merged */
	int64_t min_memory_bytes, max_memory_bytes;
	bool max_cpu_is_cap,
		max_memory_is_cap; /* the max comes from --max-* (for reason strings) */
	enum pol_updater updater;
};

/* Parses a pod's annotations (any keys; only snug.io/... keys are looked at). Bad values do not fail the
 * call: they become POL_ERROR issues and the pod's mode becomes off. Returns -EINVAL on NULL
 * arguments, -ENOMEM; on failure *ret is untouched. */
int pol_parse(const struct pol_annotation *annotations, size_t n,
	      const struct pol_defaults *defaults, struct pol *ret);
void pol_done(struct pol *p);

/* Whether snug.io/containers (or its absence) selects this container. */
bool pol_selects_container(const struct pol *p, const char *name);
void pol_container(const struct pol *p, const char *name, struct pol_container *ret);

/* One line for an Event: "invalid snug annotations, pod not managed: <issue>; <issue>" (errors, or
 * warnings when errors_only is false). Truncated to fit; returns the number of issues included. */
size_t pol_issues_format(const struct pol *p, bool errors_only, char *buf, size_t size);

const char *pol_mode_to_string(enum pol_mode m);
/* Returns the mode or -EINVAL; used for --default-mode too. */
int pol_mode_from_string(const char *s);
const char *pol_controlled_to_string(enum pol_controlled c);
const char *pol_updater_to_string(enum pol_updater u);
