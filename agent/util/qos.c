/* A pod's QoS class, named once. */
#include "agent/util/qos.h"

#include <errno.h>
#include <string.h>

const char *qos_class_to_string(enum qos_class q)
{
	switch (q) {
	case QOS_GUARANTEED:
		return "Guaranteed";
	case QOS_BURSTABLE:
		return "Burstable";
	case QOS_BEST_EFFORT:
		return "BestEffort";
	case QOS_UNKNOWN:
		break;
	}
	return "unknown";
}

int qos_class_from_string(const char *s)
{
	for (int q = QOS_GUARANTEED; q <= QOS_BEST_EFFORT; q++)
		if (s && strcmp(s, qos_class_to_string(q)) == 0)
			return q;
	return -EINVAL;
}
