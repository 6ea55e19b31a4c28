/* Whether the kubelet admitted, refused, or has not yet answered a resize the API server accepted,
 * read from the pod status alone. Pure: no I/O, no clock. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "agent/kube/kube.h"

#define ADMISSION_MESSAGE_MAX 256

/* The pod status as the API server returned it with our resize (the PATCH reply): a kubelet answer
 * is about our resize when it names our generation (1.34+ observedGeneration) or, where the kubelet
 * reports no generation (1.33), when it differs from what was there before. */
struct admission_baseline {
	int64_t generation; /* metadata.generation of the resized pod */
	enum kube_resize_status resize;
	char message[ADMISSION_MESSAGE_MAX];
	bool had_allocated; /* the container's allocatedResources (requests) then */
	int64_t allocated_cpu_request, allocated_memory_request;
};

enum admission_verdict {
	ADMISSION_WAITING,    /* no answer about this resize yet */
	ADMISSION_ADMITTED,   /* allocated: the kubelet actuates it itself */
	ADMISSION_ACTUATED,   /* the runtime reports our values: done */
	ADMISSION_DEFERRED,   /* PodResizePending Deferred: fits the node, not now */
	ADMISSION_INFEASIBLE, /* PodResizePending Infeasible: never on this node */
	ADMISSION_ERROR,      /* PodResizeInProgress Error: allocated, but actuating failed */
	ADMISSION_SUPERSEDED, /* the spec changed again after ours (another writer) */
};

/* The baseline from the pod the API server returned for the resize of `container`. */
void admission_baseline_init(const struct kube_pod *reply, const char *container,
			     struct admission_baseline *ret);

/* What the pod status says of the resize of `container` to `want` (spec values: millicores and
 * bytes, RESOURCE_UNSET for none) that was accepted with baseline b. */
enum admission_verdict admission_verdict(const struct kube_pod *pod, const char *container,
					 const struct resources *want,
					 const struct admission_baseline *b);

const char *admission_verdict_to_string(enum admission_verdict v);
