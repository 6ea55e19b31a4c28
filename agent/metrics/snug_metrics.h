/* The metric families snug's agent exports on /metrics (names, labels, help), registered in one call. */
#pragma once

#include "agent/metrics/metrics.h"

/*
 * Every family the agent exports. Label conventions: namespace/pod/container name the Kubernetes
 * container; CPU is in cores, memory in bytes, durations in seconds (Prometheus base units).
 *
 * name                                   type       labels
 * snug_recommendation_cpu_cores          gauge      namespace, pod, container, bound=target|lower|upper
 * snug_recommendation_memory_bytes       gauge      namespace, pod, container, bound=target|lower|upper
 * snug_container_requests_cpu_cores      gauge      namespace, pod, container
 * snug_container_limits_cpu_cores        gauge      namespace, pod, container  (absent when unlimited)
 * snug_container_requests_memory_bytes   gauge      namespace, pod, container
 * snug_container_limits_memory_bytes     gauge      namespace, pod, container  (absent when unlimited)
 * snug_resizes_total                     counter    result (the API's answer: ok, rejected, conflict, …;
 *                                                   the kubelet's: deferred, infeasible, error,
 *                                                   reverted, unconfirmed, superseded; dry-run,
 *                                                   report-only; see docs/metrics.md)
 * snug_evictions_total                   counter    result
 * snug_oom_kills_total                   counter    source (bpf, memory.events)
 * snug_oom_kill_causes_total             counter    cause (container-limit, pod-limit, node)
 * snug_oom_to_resize_seconds             histogram  — (OOM record seen → resize accepted)
 * snug_sample_duration_seconds           histogram  — (one sampling pass over all containers)
 * snug_tracked_containers                gauge      —
 * snug_api_requests_total                counter    verb, code
 * snug_watch_restarts_total              counter    —
 * snug_bad_annotations_total             counter    namespace, pod
 * snug_oom_source                        gauge      source (1 for the active one, 0 otherwise)
 * snug_build_info                        gauge      version (always 1)
 *
 * Per-container series (the first six families, and bad_annotations per pod) are removed with
 * metrics_registry_remove_matching(reg, METRICS_LABELS("namespace", "pod", "container"), …) when a
 * container goes away, so /metrics does not grow with churn.
 */

#define SNUG_M_RECOMMENDATION_CPU "snug_recommendation_cpu_cores"
#define SNUG_M_RECOMMENDATION_MEMORY "snug_recommendation_memory_bytes"
#define SNUG_M_REQUESTS_CPU "snug_container_requests_cpu_cores"
#define SNUG_M_LIMITS_CPU "snug_container_limits_cpu_cores"
#define SNUG_M_REQUESTS_MEMORY "snug_container_requests_memory_bytes"
#define SNUG_M_LIMITS_MEMORY "snug_container_limits_memory_bytes"
#define SNUG_M_RESIZES "snug_resizes_total"
#define SNUG_M_EVICTIONS "snug_evictions_total"
#define SNUG_M_OOM_KILLS "snug_oom_kills_total"
#define SNUG_M_OOM_KILL_CAUSES "snug_oom_kill_causes_total"
#define SNUG_M_OOM_TO_RESIZE "snug_oom_to_resize_seconds"
#define SNUG_M_SAMPLE_DURATION "snug_sample_duration_seconds"
#define SNUG_M_TRACKED_CONTAINERS "snug_tracked_containers"
#define SNUG_M_API_REQUESTS "snug_api_requests_total"
#define SNUG_M_WATCH_RESTARTS "snug_watch_restarts_total"
#define SNUG_M_BAD_ANNOTATIONS "snug_bad_annotations_total"
#define SNUG_M_OOM_SOURCE "snug_oom_source"
#define SNUG_M_BUILD_INFO "snug_build_info"

/* The bound label values of the recommendation families. */
#define SNUG_BOUND_TARGET "target"
#define SNUG_BOUND_LOWER "lower"
#define SNUG_BOUND_UPPER "upper"

/* Handles to every family; the registry owns them. */
struct metrics_snug {
	struct metrics_family *recommendation_cpu;
	struct metrics_family *recommendation_memory;
	struct metrics_family *requests_cpu;
	struct metrics_family *limits_cpu;
	struct metrics_family *requests_memory;
	struct metrics_family *limits_memory;
	struct metrics_family *resizes;
	struct metrics_family *evictions;
	struct metrics_family *oom_kills;
	struct metrics_family *oom_kill_causes;
	struct metrics_family *oom_to_resize;
	struct metrics_family *sample_duration;
	struct metrics_family *tracked_containers;
	struct metrics_family *api_requests;
	struct metrics_family *watch_restarts;
	struct metrics_family *bad_annotations;
	struct metrics_family *oom_source;
	struct metrics_family *build_info;
	/* The label-less ones, resolved already. */
	struct metrics_series *oom_to_resize_s;
	struct metrics_series *sample_duration_s;
	struct metrics_series *tracked_containers_s;
	struct metrics_series *watch_restarts_s;
};

/* Registers all of the above in reg and sets snug_build_info{version} to 1. */
int metrics_snug_register(struct metrics_registry *reg, const char *version,
			  struct metrics_snug *ret);

/*
 * Convenience for the per-container gauges: resolves the three bound series of a recommendation
 * family (target, lower, upper) in one call. ret[0..2] in that order.
 */
int metrics_snug_recommendation_series(struct metrics_family *f, const char *namespace_,
				       const char *pod, const char *container,
				       struct metrics_series *ret[3]);
/* Forgets every series of one container (all per-container families). Returns how many. */
size_t metrics_snug_forget_container(struct metrics_registry *reg, const char *namespace_,
				     const char *pod, const char *container);
/* Forgets every series of one pod (its containers and its bad-annotation counter). */
size_t metrics_snug_forget_pod(struct metrics_registry *reg, const char *namespace_,
			       const char *pod);
