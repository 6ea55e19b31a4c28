/* Registers the agent's metric families (see snug_metrics.h for the list and its label conventions). */
#include "agent/metrics/snug_metrics.h"

#include <errno.h>

#define CONTAINER_LABELS METRICS_LABELS("namespace", "pod", "container")
#define BOUND_LABELS METRICS_LABELS("namespace", "pod", "container", "bound")

/* OOM-to-resize: the goal is < 50 ms on the host, seconds in a TCG guest; cover both. */
static const double oom_to_resize_buckets[] = { 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5,
						1,     2.5,  5,	    10,	  30,  60 };
/* One sampling pass over every tracked container: tens of µs to a few hundred ms. */
static const double sample_duration_buckets[] = { 0.0001, 0.00025, 0.0005, 0.001, 0.0025,
						  0.005,  0.01,	   0.025,  0.05,  0.1,
						  0.25,	  0.5,	   1 };

int metrics_snug_register(struct metrics_registry *reg, const char *version,
			  struct metrics_snug *ret)
{
	struct metrics_snug m = {};
	struct metrics_series *info;
	int r;

	if (!reg || !version || !ret)
		return -EINVAL;

#define TRY(call)                                                                                  \
	do {                                                                                       \
		r = (call);                                                                        \
		if (r < 0)                                                                         \
			return r;                                                                  \
	} while (0)

	TRY(metrics_gauge_new(
		reg, SNUG_M_RECOMMENDATION_CPU,
		"Recommended CPU for a container in cores: target, and the lower and upper "
		"bounds outside of which snug acts.",
		BOUND_LABELS, &m.recommendation_cpu));
	TRY(metrics_gauge_new(
		reg, SNUG_M_RECOMMENDATION_MEMORY,
		"Recommended memory for a container in bytes: target, and the lower and "
		"upper bounds outside of which snug acts.",
		BOUND_LABELS, &m.recommendation_memory));
	TRY(metrics_gauge_new(reg, SNUG_M_REQUESTS_CPU,
			      "CPU request of a container in cores, as the kubelet reports it.",
			      CONTAINER_LABELS, &m.requests_cpu));
	TRY(metrics_gauge_new(reg, SNUG_M_LIMITS_CPU,
			      "CPU limit of a container in cores (absent when unlimited).",
			      CONTAINER_LABELS, &m.limits_cpu));
	TRY(metrics_gauge_new(reg, SNUG_M_REQUESTS_MEMORY,
			      "Memory request of a container in bytes, as the kubelet reports it.",
			      CONTAINER_LABELS, &m.requests_memory));
	TRY(metrics_gauge_new(reg, SNUG_M_LIMITS_MEMORY,
			      "Memory limit of a container in bytes (absent when unlimited).",
			      CONTAINER_LABELS, &m.limits_memory));
	TRY(metrics_counter_new(reg, SNUG_M_RESIZES, "In-place resizes attempted, by outcome.",
				METRICS_LABELS("result"), &m.resizes));
	TRY(metrics_counter_new(reg, SNUG_M_EVICTIONS,
				"Evictions requested when an in-place resize was not possible, by "
				"outcome.",
				METRICS_LABELS("result"), &m.evictions));
	TRY(metrics_counter_new(
		reg, SNUG_M_OOM_KILLS,
		"OOM kills seen in tracked containers, by the mechanism that saw them.",
		METRICS_LABELS("source"), &m.oom_kills));
	TRY(metrics_counter_new(reg, SNUG_M_OOM_KILL_CAUSES,
				"OOM kills in tracked containers by the limit they enforced: the "
				"container's own (snug raises it), the pod's, or the node's.",
				METRICS_LABELS("cause"), &m.oom_kill_causes));
	TRY(metrics_histogram_new(reg, SNUG_M_OOM_TO_RESIZE,
				  "Seconds from an OOM kill reaching the agent to the resize being "
				  "accepted by the API server.",
				  METRICS_NO_LABELS, oom_to_resize_buckets,
				  sizeof(oom_to_resize_buckets) / sizeof(oom_to_resize_buckets[0]),
				  &m.oom_to_resize));
	TRY(metrics_histogram_new(reg, SNUG_M_SAMPLE_DURATION,
				  "Seconds one sampling pass over all tracked containers took.",
				  METRICS_NO_LABELS, sample_duration_buckets,
				  sizeof(sample_duration_buckets) /
					  sizeof(sample_duration_buckets[0]),
				  &m.sample_duration));
	TRY(metrics_gauge_new(reg, SNUG_M_TRACKED_CONTAINERS,
			      "Containers on this node that snug currently tracks.",
			      METRICS_NO_LABELS, &m.tracked_containers));
	TRY(metrics_counter_new(
		reg, SNUG_M_API_REQUESTS,
		"Requests to the Kubernetes API server, by verb and HTTP status code "
		"(0 when no response arrived).",
		METRICS_LABELS("verb", "code"), &m.api_requests));
	TRY(metrics_counter_new(reg, SNUG_M_WATCH_RESTARTS,
				"Times the pod watch had to be re-established.", METRICS_NO_LABELS,
				&m.watch_restarts));
	TRY(metrics_counter_new(
		reg, SNUG_M_BAD_ANNOTATIONS,
		"Pods whose snug.io annotations were invalid (the pod is treated as "
		"off), counted per change.",
		METRICS_LABELS("namespace", "pod"), &m.bad_annotations));
	TRY(metrics_gauge_new(
		reg, SNUG_M_OOM_SOURCE,
		"How OOM kills are detected: 1 for the active source, 0 for the others.",
		METRICS_LABELS("source"), &m.oom_source));
	TRY(metrics_gauge_new(reg, SNUG_M_BUILD_INFO, "Build of the running snug agent (always 1).",
			      METRICS_LABELS("version"), &m.build_info));
#undef TRY

	r = metrics_series_get(m.build_info, METRICS_VALUES(version), &info);
	if (r < 0)
		return r;
	metrics_gauge_set(info, 1);
	/* Label-less families have their series from registration; the lookups cannot fail. */
	(void)metrics_series_get(m.oom_to_resize, NULL, &m.oom_to_resize_s);
	(void)metrics_series_get(m.sample_duration, NULL, &m.sample_duration_s);
	(void)metrics_series_get(m.tracked_containers, NULL, &m.tracked_containers_s);
	(void)metrics_series_get(m.watch_restarts, NULL, &m.watch_restarts_s);
	*ret = m;
	return 0;
}

int metrics_snug_recommendation_series(struct metrics_family *f, const char *namespace_,
				       const char *pod, const char *container,
				       struct metrics_series *ret[3])
{
	static const char *const bounds[3] = { SNUG_BOUND_TARGET, SNUG_BOUND_LOWER,
					       SNUG_BOUND_UPPER };
	struct metrics_series *s[3];

	for (size_t i = 0; i < 3; i++) {
		int r = metrics_series_get(f, METRICS_VALUES(namespace_, pod, container, bounds[i]),
					   &s[i]);
		if (r < 0)
			return r;
	}
	for (size_t i = 0; i < 3; i++)
		ret[i] = s[i];
	return 0;
}

size_t metrics_snug_forget_container(struct metrics_registry *reg, const char *namespace_,
				     const char *pod, const char *container)
{
	return metrics_registry_remove_matching(reg, CONTAINER_LABELS,
						METRICS_VALUES(namespace_, pod, container));
}

size_t metrics_snug_forget_pod(struct metrics_registry *reg, const char *namespace_,
			       const char *pod)
{
	return metrics_registry_remove_matching(reg, METRICS_LABELS("namespace", "pod"),
						METRICS_VALUES(namespace_, pod));
}
