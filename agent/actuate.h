/* Carrying out a decision: the API resize first, then the cgroup limits, then the record of it. */
#pragma once

#include <stdint.h>

#include "agent/agent.h"
#include "agent/decide.h"

struct kube_pod;

/* Resizes through the API (unless report-only or --dry-run); on acceptance writes the cgroups in
 * the decision's order and annotates the pod with snug.io/last-resize. */
void act_apply(struct agent *a, struct agent_pod *p, struct agent_container *c,
	       const struct kube_pod *pod, const struct decide_decision *d);
/* At shutdown, after kube_client_free(): frees the contexts of resizes, read-backs and
 * snug.io/last-resize writes that were still pending (their callbacks never run now). */
void act_free_inflight(struct agent *a);
/* Follows the kubelet's answer to a resize from the pod status: limits written into the cgroups
 * before it admitted them are put back when it defers, refuses or fails them. */
void act_pod_status(struct agent *a, struct agent_pod *p, const struct kube_pod *pod);
