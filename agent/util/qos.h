/* A pod's QoS class: one name for the whole project (the API's status.qosClass, the kubelet's cgroup
 * layout, decide, the webhook). */
#pragma once

enum qos_class {
	QOS_UNKNOWN, /* not reported (status.qosClass absent) */
	QOS_GUARANTEED,
	QOS_BURSTABLE,
	QOS_BEST_EFFORT,
};

/* "Guaranteed", "Burstable", "BestEffort" ("unknown" for QOS_UNKNOWN). */
const char *qos_class_to_string(enum qos_class q);
/* The API's spelling → the class; -EINVAL for anything else (NULL included). */
int qos_class_from_string(const char *s);
