/* The pod as decide sees it (struct decide_pod), built from the API's pod: its spec for decisions,
 * or what the kubelet actuated (status resources) for the values to restore after a refused resize. */
#pragma once

#include "agent/decide.h"

struct kube_pod;

enum pod_model_view {
	POD_MODEL_SPEC,	  /* spec.containers[].resources, spec.initContainers[].resources */
	POD_MODEL_ACTUAL, /* status.(init)containerStatuses[].resources where reported, else spec */
};

/* Owns the arrays model.pod points into. */
struct pod_model {
	struct decide_pod pod;
	struct decide_container *containers;
	struct decide_init_container *init_containers;
};

/* Builds the model; its container names point into k, which must outlive it. Quantities above
 * what decide accepts are passed on (decide refuses them with -EINVAL). status.qosClass gives the
 * QoS; a pod without one gets the class Kubernetes derives. -ENOMEM, or -EINVAL for a pod without
 * containers. */
int pod_model_build(const struct kube_pod *k, enum pod_model_view view, struct pod_model *ret);
void pod_model_done(struct pod_model *m);
