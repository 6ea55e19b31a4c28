/* The recommender's public interface: VPA's per-container model (feeding, OOM bump) and estimators. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "agent/recommender/histogram.h"

/* VPA's MaxResourceAmount: every amount is clamped to [0, 1e14]. */
#define REC_MAX_RESOURCE_AMOUNT 100000000000000LL

/* VPA's OOM bump defaults (--oom-bump-up-ratio, --oom-min-bump-up-bytes): the one definition, also
 * the default of decide's bump of a limit a container was killed at. */
#define REC_OOM_BUMP_UP_RATIO 1.2
#define REC_OOM_MIN_BUMP_UP_BYTES (100.0 * 1024 * 1024)

/* Everything VPA exposes as a recommender flag (names in comments), plus the histogram layouts.
 * rec_tunables_init_default() gives VPA's defaults; the agent maps flags onto the fields. Aggregates
 * keep a pointer to the tunables, which must outlive them and not change while they exist. */
struct rec_tunables {
	/* --cpu-histogram-decay-half-life (24h), --memory-histogram-decay-half-life (24h) */
	int64_t cpu_histogram_decay_half_life_usec;
	int64_t memory_histogram_decay_half_life_usec;
	/* --memory-aggregation-interval (24h) x --memory-aggregation-interval-count (8) = history window */
	int64_t memory_aggregation_interval_usec;
	int64_t memory_aggregation_interval_count;
	/* --target-cpu-percentile, --recommendation-lower-bound-cpu-percentile, ...upper-bound... */
	double target_cpu_percentile;	      /* 0.9 */
	double lower_bound_cpu_percentile;    /* 0.5 */
	double upper_bound_cpu_percentile;    /* 0.95 */
	double target_memory_percentile;      /* 0.9 */
	double lower_bound_memory_percentile; /* 0.5 */
	double upper_bound_memory_percentile; /* 0.95 */
	/* --recommendation-margin-fraction */
	double recommendation_margin_fraction; /* 0.15 */
	/* --pod-recommendation-min-cpu-millicores, --pod-recommendation-min-memory-mb (split over
	 * the containers of a pod) */
	double pod_min_cpu_millicores; /* 25 */
	double pod_min_memory_mb;      /* 250 (MiB) */
	/* --oom-bump-up-ratio, --oom-min-bump-up-bytes */
	double oom_bump_up_ratio;     /* REC_OOM_BUMP_UP_RATIO */
	double oom_min_bump_up_bytes; /* REC_OOM_MIN_BUMP_UP_BYTES */
	/* --confidence-interval-cpu, --confidence-interval-memory (24h) */
	int64_t confidence_interval_cpu_usec;
	int64_t confidence_interval_memory_usec;
	/* Weight of one CPU sample: minSampleWeight, a constant since VPA 1.4. */
	double cpu_sample_weight; /* 0.1 */
	/* Bucket layouts: CPU cores (first 0.01, max 1000, ratio 1.05), memory bytes (1e7, 1e12,
	 * 1.05), epsilon 1e-4. Changing them invalidates checkpoints (bucket counts are checked). */
	struct rec_histogram_options cpu_histogram;
	struct rec_histogram_options memory_histogram;
};

void rec_tunables_init_default(struct rec_tunables *ret);
/* -EINVAL when a value would make the model meaningless (non-positive intervals, percentiles
 * outside [0,1], ratio < 1, ...). */
int rec_tunables_validate(const struct rec_tunables *t);
/* The tunables by VPA flag name ("target-cpu-percentile", "cpu-histogram-decay-half-life", ...):
 * rec_tunable_info(i) for i = 0.. until NULL lists them with a help line (default in parentheses);
 * rec_tunables_set() parses a value (durations Go-style: "24h", "90m", "1h30m"). -ENOENT for an
 * unknown name, -EINVAL for a bad value. Call rec_tunables_validate() after the last one. */
struct rec_tunable_info {
	const char *name;
	const char *help;
};
const struct rec_tunable_info *rec_tunable_info(size_t i);
int rec_tunables_set(struct rec_tunables *t, const char *name, const char *value);
/* Go's time.ParseDuration for non-negative values, to microseconds. */
int rec_parse_duration(const char *s, int64_t *ret_usec);

/* Interval x count: how long history is kept (8 days by default). */
int64_t rec_tunables_history_window_usec(const struct rec_tunables *t);

/* VPA's AggregateContainerState: the history of one container identity (a workload's container),
 * shared by every instance of it, and what a checkpoint saves. One allocation holds the struct and
 * both histograms' buckets; nothing is allocated afterwards. */
struct rec_aggregate {
	const struct rec_tunables *tunables;
	/* CPU usage in cores, one sample per minute, weight cpu_sample_weight. */
	struct rec_decaying_histogram cpu;
	/* Peak memory in bytes, one entry per aggregation interval per instance, weight 1. */
	struct rec_decaying_histogram memory;
	/* From CPU samples only (VPA): first/last sample start and the count, for confidence. */
	int64_t first_sample_usec;
	int64_t last_sample_usec;
	int64_t total_samples;
	int64_t creation_usec;
	/* snug: the last OOM recorded for any instance and the memory it asked for (0 = none). */
	int64_t last_oom_usec;
	int64_t last_oom_memory_bytes;
	double buckets[];
};

int rec_aggregate_new(const struct rec_tunables *t, int64_t now_usec, struct rec_aggregate **ret);
void rec_aggregate_free(struct rec_aggregate *a);
/* VPA MergeContainerState: other's histograms may be renormalised in place. */
int rec_aggregate_merge(struct rec_aggregate *a, struct rec_aggregate *other);
/* No sample within the history window (or none at all since creation a window ago). */
bool rec_aggregate_is_expired(const struct rec_aggregate *a, int64_t now_usec);
/* Direct VPA-style feeding, for replay and tests: one CPU sample (the caller already averaged it)
 * added to the aggregate. Returns nothing because VPA's aggregate accepts any order; per-instance
 * ordering rules live in struct rec_container. */
void rec_aggregate_add_cpu_sample(struct rec_aggregate *a, int64_t t_usec, int64_t millicores);

/* VPA's ContainerState: one running instance of a container (a pod's container), feeding its
 * aggregate. Embed it in the caller's per-container struct; rec_container_init() is all it needs. */
struct rec_container {
	struct rec_aggregate *aggregate;
	int64_t last_cpu_sample_usec;
	/* Peak of the current memory aggregation interval, from usage and from OOMs. */
	int64_t memory_peak;
	int64_t oom_peak;
	int64_t window_end_usec;
	int64_t last_memory_sample_usec;
	/* The minute being averaged by rec_container_add_cpu_reading(). */
	int64_t minute;
	double cpu_sum;
	uint32_t cpu_readings;
};

void rec_container_init(struct rec_container *c, struct rec_aggregate *a);

/* The agent's 1 s feed. A CPU reading (cores over the last second) joins the mean of its minute
 * (unix time // 60); the first reading of a later minute closes the previous one, which becomes one
 * histogram sample stamped at the minute's start, truncated to whole millicores. Returns 1 when a
 * sample entered the histogram, 0 when not, -EINVAL for a negative or non-finite reading. */
int rec_container_add_cpu_reading(struct rec_container *c, int64_t t_usec, double cores);
/* Closes the minute being averaged now (end of a replay, shutdown before the last checkpoint). */
int rec_container_flush_cpu(struct rec_container *c);
/* Every working-set reading is a memory sample: the interval's peak is replaced when it grows. */
int rec_container_add_memory_reading(struct rec_container *c, int64_t t_usec, int64_t bytes);
/* An OOM kill at t: used = max(memory request, interval peak), needed = max(used + min bump,
 * used x ratio), added as an OOM sample. Returns 0, or -ESTALE when t is older than the interval
 * before the current one (VPA discards it), -EINVAL when the sample is refused. */
int rec_container_record_oom(struct rec_container *c, int64_t t_usec, int64_t memory_request_bytes);
/* VPA's RecordOOM arithmetic, for the recommender and decide alike: the memory a container needs
 * after an OOM kill while it used `used` bytes, max(used + min_bump, used x ratio), in VPA's
 * truncating int64 amounts. */
int64_t rec_oom_bump(int64_t used, double ratio, double min_bump_bytes);

/* VPA's ContainerState.AddSample: returns 1 when aggregated, 0 when discarded (invalid, duplicate
 * or out of order). */
int rec_container_add_cpu_sample(struct rec_container *c, int64_t t_usec, int64_t millicores);
int rec_container_add_memory_sample(struct rec_container *c, int64_t t_usec, int64_t bytes);
static inline int64_t rec_container_max_memory_peak(const struct rec_container *c)
{
	return c->memory_peak > c->oom_peak ? c->memory_peak : c->oom_peak;
}

struct rec_resources {
	int64_t cpu_millicores;
	int64_t memory_bytes;
};

struct rec_recommendation {
	struct rec_resources target;
	struct rec_resources lower;
	struct rec_resources upper;
};

/* VPA's podResourceRecommender for one container: percentiles, safety margin, confidence
 * multipliers on the bounds, minimums split across n_containers. -EINVAL when n_containers < 1. */
int rec_recommend(const struct rec_aggregate *a, int n_containers, struct rec_recommendation *ret);

/* The estimator steps, exposed so tests can check each against VPA's numbers. */
/* VPA resourceAmountFromFloat: clamp to [0, 1e14], truncate; NaN gives INT64_MIN as Go on amd64. */
int64_t rec_amount_from_float(double amount);
int64_t rec_scale_resource(int64_t amount, double factor);
/* base + ScaleResource(base, fraction) */
int64_t rec_apply_margin(int64_t base, double fraction);
/* ScaleResource(base, (1 + multiplier/confidence)^exponent) */
int64_t rec_apply_confidence(int64_t base, double multiplier, double exponent, double confidence);
/* min(lifespan / interval, samples / interval-in-minutes) */
double rec_aggregate_confidence(const struct rec_aggregate *a, int64_t interval_usec);
