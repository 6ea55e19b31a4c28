/* snug.io/last-resize, the pod annotation that carries a container's cooldown and its budget of
 * cooldown-bypassing grows across agent restarts: a pure parser (every field checked, nothing
 * trusted that would freeze or undo the cooldown) and the one formatter of what the agent writes. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "agent/util/resources.h"
#include "agent/util/time.h"

#define LAST_RESIZE_ANNOTATION "snug.io/last-resize"
/* The most bypass-grow times kept per container (and the largest --bypass-budget). */
#define LAST_RESIZE_MAX_GROWS 32
/* How far ahead of this node's clock a time may be (another node's agent wrote it): beyond this
 * it is ignored, so that a far-future `at` cannot hold a pod in its cooldown for ever. */
#define LAST_RESIZE_CLOCK_SKEW_USEC (120 * USEC_PER_SEC)

/* One resource's cooldown as the annotation carries it; times are CLOCK_REALTIME microseconds. */
struct last_resize_resource {
	uint64_t at_usec; /* its last resize; 0 = none (absent, or ignored) */
	/* Its accepted grows inside its cooldown, oldest first. */
	uint64_t bypass_grows_usec[LAST_RESIZE_MAX_GROWS];
	size_t n_bypass_grows;
};

/* A startup boost not yet given back: when it was given and the CPU request and limit before it
 * (millicores, RESOURCE_UNSET = not set), what a restarted agent gives back. */
struct last_resize_boost {
	uint64_t at_usec; /* CLOCK_REALTIME; 0 = no boost held */
	int64_t cpu_request, cpu_limit;
};

/* What the annotation says about one container. Each resource has its own cooldown and budget
 * (`cooldowns`); an annotation written before they were split (only `at` and `bypass_grows`)
 * gives both resources the container's one cooldown and budget, which holds at least as much. */
struct last_resize {
	uint64_t at_usec; /* its last resize of either resource; 0 = none */
	struct last_resize_resource cpu, memory;
	struct last_resize_boost boost;
};

/* Reads the annotation's text (NULL = absent) for `container` at now_usec. Never fails: anything
 * that cannot be trusted (not JSON, a time not a number, not finite, negative, beyond year 5000,
 * or more than LAST_RESIZE_CLOCK_SKEW_USEC in the future) is left out of *ret. Returns 0 when all
 * was well, 1 when something was ignored: then `problem` (size bytes) says what, for one log
 * line. */
int last_resize_parse(const char *text, const char *container, uint64_t now_usec,
		      struct last_resize *ret, char *problem, size_t size);

/* One resource's cooldown of one container, to carry in the annotation. */
struct last_resize_cooldown {
	uint64_t at_usec;     /* 0 = never resized */
	const uint64_t *usec; /* its grows inside the cooldown, CLOCK_REALTIME, oldest first */
	size_t n;
};

/* One container's cooldowns, and its startup boost while held, to carry in the annotation. */
struct last_resize_grows {
	const char *container;
	struct last_resize_cooldown cpu, memory;
	struct last_resize_boost boost;
};

/* The annotation's text (caller frees), what last_resize_parse() reads back:
 * {"at":unix seconds,"container":..,"kind":..,"reason":..,"bypass_grows":{name:[unix seconds]},
 *  "cooldowns":{name:{"cpu":{"at":..,"bypass_grows":[..]},"memory":{..},
 *                     "boost":{"at":..,"cpu_request":millicores,"cpu_limit":millicores}}}}
 * for the resize of `container` at at_usec, with every container's cooldowns (a resource never
 * resized and without grows left out). `at` and `bypass_grows` (both resources' grows together)
 * are what an agent from before the split reads: a cooldown no shorter and a budget no larger
 * than the new ones. NULL when out of memory. */
char *last_resize_format(const char *container, uint64_t at_usec, const char *kind,
			 const char *reason, const struct last_resize_grows *grows, size_t n_grows);
