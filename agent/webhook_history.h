/* What a recreated pod gets from its workload's WorkloadHistory entries: every node's history of
 * each container merged (VPA's MergeContainerState), VPA's estimator on it, as the recommendation
 * text webhook_decide() takes. Pure: no I/O, no clock. */
#pragma once

#include <cjson/cJSON.h>
#include <stddef.h>
#include <stdint.h>

#include "agent/recommender/recommender.h"
#include "agent/webhook.h"

/* The workload a pod's history is kept under (history_of()'s rule): its controller, a ReplicaSet
 * named "<deployment>-<pod-template-hash>" (the pod's label) taken as its Deployment. -EINVAL when
 * the pod has no controller or the names do not fit. */
int webhook_history_workload(const struct webhook_request *req, char *ret_kind, size_t kind_size,
			     char *ret_name, size_t name_size);

/* From a WorkloadHistoryList: the merged target requests of every container of the pod that has
 * history in the entries of workload kind/name, formatted as a recommendation (requests only:
 * limits keep their ratio). -ENOENT when no container has any, -EINVAL for a malformed list. */
int webhook_history_recommendation(const cJSON *list, const struct webhook_request *req,
				   const char *kind, const char *name, const struct rec_tunables *t,
				   int64_t now_usec, char **ret, char *errbuf);
