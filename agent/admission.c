/* Whether the kubelet admitted, refused, or has not yet answered a resize the API server accepted,
 * read from the pod status alone. Pure: no I/O, no clock.
 *
 * What the kubelet reports (pkg/kubelet/allocation, kubelet_pods.go generateAPIPodStatus): on
 * admission it records the new requests in containerStatuses[].allocatedResources and sets
 * PodResizeInProgress until the runtime reports the new values in containerStatuses[].resources;
 * a resize that does not fit now gets PodResizePending reason Deferred, one that never fits reason
 * Infeasible, and a failed actuation PodResizeInProgress reason Error. From 1.34 the status and
 * those conditions carry the generation the kubelet acted on (observedGeneration). */
#include "agent/admission.h"

#include <stdio.h>
#include <string.h>

/* The API server defaults a request that is not set to its limit. */
static int64_t request_of(int64_t request, int64_t limit)
{
	return request == RESOURCE_UNSET ? limit : request;
}

static bool resources_equal(const struct resources *a, const struct resources *b)
{
	return request_of(a->cpu_request, a->cpu_limit) ==
		       request_of(b->cpu_request, b->cpu_limit) &&
	       request_of(a->memory_request, a->memory_limit) ==
		       request_of(b->memory_request, b->memory_limit) &&
	       a->cpu_limit == b->cpu_limit && a->memory_limit == b->memory_limit;
}

void admission_baseline_init(const struct kube_pod *reply, const char *container,
			     struct admission_baseline *ret)
{
	const struct kube_container *kc = kube_pod_container(reply, container);

	*ret = (struct admission_baseline){
		.generation = reply->generation,
		.resize = reply->resize,
		.allocated_cpu_request = RESOURCE_UNSET,
		.allocated_memory_request = RESOURCE_UNSET,
	};
	snprintf(ret->message, sizeof(ret->message), "%s",
		 reply->resize_message ? reply->resize_message : "");
	if (kc && kc->has_allocated) {
		ret->had_allocated = true;
		ret->allocated_cpu_request = kc->allocated.cpu_request;
		ret->allocated_memory_request = kc->allocated.memory_request;
	}
}

static bool refusal(enum kube_resize_status s)
{
	return s == KUBE_RESIZE_DEFERRED || s == KUBE_RESIZE_INFEASIBLE || s == KUBE_RESIZE_ERROR;
}

/* A resize condition is about our resize when it says so (observedGeneration), or — where the
 * kubelet writes no generation — when it is not the one that was there when ours was accepted. */
static bool condition_is_ours(const struct kube_pod *pod, const struct admission_baseline *b)
{
	if (pod->resize_observed_generation > 0)
		return pod->resize_observed_generation >= b->generation;
	return pod->resize != b->resize || strncmp(pod->resize_message ? pod->resize_message : "",
						   b->message, sizeof(b->message) - 1) != 0;
}

enum admission_verdict admission_verdict(const struct kube_pod *pod, const char *container,
					 const struct resources *want,
					 const struct admission_baseline *b)
{
	const struct kube_container *kc = kube_pod_container(pod, container);
	int64_t want_cpu = request_of(want->cpu_request, want->cpu_limit);
	int64_t want_memory = request_of(want->memory_request, want->memory_limit);
	bool allocated_ours;

	if (!kc)
		return ADMISSION_WAITING;
	if (pod->generation > b->generation && !resources_equal(&kc->spec, want))
		return ADMISSION_SUPERSEDED;
	if (refusal(pod->resize) && condition_is_ours(pod, b)) {
		switch (pod->resize) {
		case KUBE_RESIZE_DEFERRED:
			return ADMISSION_DEFERRED;
		case KUBE_RESIZE_INFEASIBLE:
			return ADMISSION_INFEASIBLE;
		default:
			return ADMISSION_ERROR;
		}
	}
	/* Actuated: the runtime reports our values. */
	if (kc->has_actual && resources_equal(&kc->actual, want))
		return ADMISSION_ACTUATED;
	if (refusal(pod->resize))
		return ADMISSION_WAITING; /* an older answer still shown */
	/* 1.34+: the kubelet saw our generation and raised no pending condition: allocated. */
	if (pod->observed_generation >= b->generation && pod->observed_generation > 0)
		return ADMISSION_ADMITTED;
	allocated_ours = kc->has_allocated && kc->allocated.cpu_request == want_cpu &&
			 kc->allocated.memory_request == want_memory;
	if (pod->resize == KUBE_RESIZE_IN_PROGRESS &&
	    (pod->resize_observed_generation >= b->generation ||
	     (pod->resize_observed_generation == 0 && allocated_ours)))
		return ADMISSION_ADMITTED;
	/* 1.33 without a condition: the allocation moved to our requests. */
	if (allocated_ours && (!b->had_allocated || b->allocated_cpu_request != want_cpu ||
			       b->allocated_memory_request != want_memory))
		return ADMISSION_ADMITTED;
	return ADMISSION_WAITING;
}

const char *admission_verdict_to_string(enum admission_verdict v)
{
	switch (v) {
	case ADMISSION_WAITING:
		return "waiting";
	case ADMISSION_ADMITTED:
		return "admitted";
	case ADMISSION_ACTUATED:
		return "actuated";
	case ADMISSION_DEFERRED:
		return "deferred";
	case ADMISSION_INFEASIBLE:
		return "infeasible";
	case ADMISSION_ERROR:
		return "error";
	case ADMISSION_SUPERSEDED:
		return "superseded";
	}
	return "invalid";
}
