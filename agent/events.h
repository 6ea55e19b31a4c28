/* Kubernetes Events about a managed pod: what an operator sees in `kubectl describe pod`. */
#pragma once

struct kube_client;
struct agent_pod;

enum pod_event_type {
	POD_EVENT_NORMAL,
	POD_EVENT_WARNING,
};

/* Sends an Event on the pod (rate-limited per pod and reason by the client); failures are logged at
 * debug level only: an Event is a courtesy, never a reason to stop. kube may be NULL (no API). */
void pod_event(struct kube_client *kube, const struct agent_pod *p, enum pod_event_type type,
	       const char *reason, const char *message);
