/* Kubernetes Events about a managed pod. */
#include "agent/events.h"

#include "agent/agent.h"
#include "agent/kube/kube.h"
#include "agent/util/log.h"

void pod_event(struct kube_client *kube, const struct agent_pod *p, enum pod_event_type type,
	       const char *reason, const char *message)
{
	struct kube_object_ref ref = {
		.kind = "Pod", .namespace = p->namespace, .name = p->name, .uid = p->uid
	};
	int r;

	if (!kube)
		return;
	r = kube_event(kube, &ref, type == POD_EVENT_WARNING ? "Warning" : "Normal", reason,
		       message, NULL, NULL);
	if (r < 0)
		log_debug_errno(r, "Cannot send Event %s for %s/%s: %m", reason, p->namespace,
				p->name);
}

void pod_resize_event(struct kube_client *kube, const struct agent_pod *p,
		      const struct decide_decision *d)
{
	const char *reason = d->kind == DECIDE_STARTUP_BOOST	    ? "StartupBoost"
			     : d->kind == DECIDE_STARTUP_BOOST_OVER ? "StartupBoostOver"
								    : "Resized";

	pod_event(kube, p, POD_EVENT_NORMAL, reason, d->reason);
}
