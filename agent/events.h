/* Kubernetes Events about a managed pod: what an operator sees in `kubectl describe pod`. */
#pragma once

struct kube_client;
struct agent_pod;

enum pod_event_type {
	POD_EVENT_NORMAL,
	POD_EVENT_WARNING,
};

#include "agent/decide.h"

/* The Event of an accepted resize, its reason the decision's: reason "Resized", but "StartupBoost"
 * and "StartupBoostOver" for the startup boost's two steps (Events are rate-limited per pod and
 * reason, and the give-back often follows the boost within that minute). */
void pod_resize_event(struct kube_client *kube, const struct agent_pod *p,
		      const struct decide_decision *d);

/* Sends an Event on the pod (rate-limited per pod and reason by the client); failures are logged at
 * debug level only: an Event is a courtesy, never a reason to stop. kube may be NULL (no API). */
void pod_event(struct kube_client *kube, const struct agent_pod *p, enum pod_event_type type,
	       const char *reason, const char *message);
