/* snug.io/last-resize, the pod annotation that carries a container's cooldown and its budget of
 * cooldown-bypassing grows across agent restarts: a pure parser (every field checked, nothing
 * trusted that would freeze or undo the cooldown) and the one formatter of what the agent writes. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "agent/util/time.h"

#define LAST_RESIZE_ANNOTATION "snug.io/last-resize"
/* The most bypass-grow times kept per container (and the largest --bypass-budget). */
#define LAST_RESIZE_MAX_GROWS 32
/* How far ahead of this node's clock a time may be (another node's agent wrote it): beyond this
 * it is ignored, so that a far-future `at` cannot hold a pod in its cooldown for ever. */
#define LAST_RESIZE_CLOCK_SKEW_USEC (120 * USEC_PER_SEC)

/* What the annotation says about one container; times are CLOCK_REALTIME microseconds. */
struct last_resize {
	uint64_t at_usec; /* its last resize; 0 = none (absent, another container's, or ignored) */
	/* Its accepted grows inside the cooldown, oldest first. */
	uint64_t bypass_grows_usec[LAST_RESIZE_MAX_GROWS];
	size_t n_bypass_grows;
};

/* Reads the annotation's text (NULL = absent) for `container` at now_usec. Never fails: anything
 * that cannot be trusted (not JSON, `at` not a number, not finite, negative, beyond year 5000, or
 * more than LAST_RESIZE_CLOCK_SKEW_USEC in the future; the same for each grow time) is left out of
 * *ret. Returns 0 when all was well, 1 when something was ignored: then `problem` (size bytes) says
 * what, for one log line. */
int last_resize_parse(const char *text, const char *container, uint64_t now_usec,
		      struct last_resize *ret, char *problem, size_t size);

/* One container's grows inside the cooldown, to carry in the annotation. */
struct last_resize_grows {
	const char *container;
	const uint64_t *usec; /* CLOCK_REALTIME, oldest first */
	size_t n;
};

/* The annotation's text (caller frees), what last_resize_parse() reads back:
 * {"at":unix seconds,"container":..,"kind":..,"reason":..,"bypass_grows":{name:[unix seconds]}}
 * for the resize of `container` at at_usec, with every container's recent grows (those with none
 * left out; the parser keeps the newest LAST_RESIZE_MAX_GROWS of each). NULL when out of memory. */
char *last_resize_format(const char *container, uint64_t at_usec, const char *kind,
			 const char *reason, const struct last_resize_grows *grows, size_t n_grows);
