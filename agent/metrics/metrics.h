/* A small Prometheus registry: counter, gauge and histogram families with labels, text format 0.0.4. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/*
 * Usage: register families once at start-up, resolve a series handle once per label set (e.g. when a
 * container appears), then update through the handle on the hot path — updates never allocate, never
 * look anything up and never fail. Remove a container's series when it goes away.
 *
 *   struct metrics_family *f;
 *   struct metrics_series *s;
 *   metrics_counter_new(reg, "snug_resizes_total", "Resizes by result.", METRICS_LABELS("result"), &f);
 *   metrics_series_get(f, METRICS_VALUES("ok"), &s);
 *   metrics_counter_inc(s);
 *
 * Single-threaded by design (everything runs on the agent's sd-event loop): no locks, no atomics.
 * A series handle stays valid until it is removed (metrics_series_remove(), metrics_registry_remove_
 * matching()) or the registry is freed; a family lives as long as the registry.
 */

enum metrics_type {
	METRICS_COUNTER,
	METRICS_GAUGE,
	METRICS_HISTOGRAM,
};

struct metrics_registry;
struct metrics_family;
struct metrics_series;

/* NULL-terminated lists for the label-name and label-value arguments. */
#define METRICS_LABELS(...) ((const char *const[]){ __VA_ARGS__, NULL })
#define METRICS_VALUES(...) ((const char *const[]){ __VA_ARGS__, NULL })
#define METRICS_NO_LABELS NULL

/* The Content-Type of metrics_registry_write()'s output. */
#define METRICS_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

int metrics_registry_new(struct metrics_registry **ret);
struct metrics_registry *metrics_registry_free(struct metrics_registry *reg);

/*
 * Families. Names follow Prometheus rules ([a-zA-Z_:][a-zA-Z0-9_:]*, labels [a-zA-Z_][a-zA-Z0-9_]*, no
 * "__" prefix, no duplicates); counters must end in "_total" (promtool insists); histograms may not use
 * the label "le". label_names is NULL-terminated or NULL for none. A family without labels gets its one
 * series at once, so it is exposed (as 0) before its first update. -EINVAL on a bad name, -EEXIST when
 * the name is taken. ret may be NULL.
 */
int metrics_counter_new(struct metrics_registry *reg, const char *name, const char *help,
			const char *const *label_names, struct metrics_family **ret);
int metrics_gauge_new(struct metrics_registry *reg, const char *name, const char *help,
		      const char *const *label_names, struct metrics_family **ret);
/* buckets: strictly increasing finite upper bounds, without +Inf (added implicitly); n ≥ 1. */
int metrics_histogram_new(struct metrics_registry *reg, const char *name, const char *help,
			  const char *const *label_names, const double *buckets, size_t n_buckets,
			  struct metrics_family **ret);
struct metrics_family *metrics_registry_find(struct metrics_registry *reg, const char *name);
enum metrics_type metrics_family_type(const struct metrics_family *f);
size_t metrics_family_n_series(const struct metrics_family *f);

/*
 * The series for a label-value set (NULL-terminated, one value per label name in order; NULL for a
 * family without labels), created on first use. Values must be valid UTF-8 (-EINVAL otherwise, or on a
 * wrong count); they are escaped on output. -ENOMEM.
 */
int metrics_series_get(struct metrics_family *f, const char *const *label_values,
		       struct metrics_series **ret);
/* Drops one series; the handle is invalid afterwards. NULL is a no-op. */
void metrics_series_remove(struct metrics_series *s);
/*
 * Drops every series, in every family, whose labels include all the given name=value pairs (both lists
 * NULL-terminated, same length): e.g. namespace/pod/container when a container goes away. Handles to the
 * removed series become invalid. Returns how many were removed.
 */
size_t metrics_registry_remove_matching(struct metrics_registry *reg,
					const char *const *label_names,
					const char *const *label_values);

/* Hot-path updates. A counter ignores negative and NaN increments (it only ever goes up). */
void metrics_counter_inc(struct metrics_series *s);
void metrics_counter_add(struct metrics_series *s, double v);
void metrics_gauge_set(struct metrics_series *s, double v);
void metrics_gauge_add(struct metrics_series *s, double v);
void metrics_histogram_observe(struct metrics_series *s, double v);
/* The current value of a counter or gauge (the sum for a histogram), for tests and /recommendations. */
double metrics_series_value(const struct metrics_series *s);
uint64_t metrics_histogram_count(const struct metrics_series *s);

/* The exposition of every family with at least one series, in registration order. */
int metrics_registry_write(struct metrics_registry *reg, FILE *f);
/* The same into a malloc()ed NUL-terminated buffer. */
int metrics_registry_format(struct metrics_registry *reg, char **ret_text, size_t *ret_size);

/* Shortest text that reads back as the same double; NaN, +Inf, -Inf as Prometheus spells them. */
void metrics_format_double(double v, char buf[static 32]);
