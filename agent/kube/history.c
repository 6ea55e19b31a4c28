/* WorkloadHistory lists (snug.io/v1alpha1): the entries other nodes shared, read defensively. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent/kube/kube-internal.h"
#include "agent/kube/kube.h"

static int parse_entry(const cJSON *o, void *elem, char *errbuf)
{
	struct kube_history_entry *e = elem;
	const cJSON *meta, *spec, *workload, *c;
	size_t i = 0;
	int r;

	if (!cJSON_IsObject(o))
		return kube_err(errbuf, "workloadhistory: not an object");
	r = kube_json_object(o, "metadata", "workloadhistory", &meta, errbuf);
	if (r < 0)
		return r;
	if (!meta)
		return kube_err(errbuf, "workloadhistory.metadata: missing");
	r = kube_json_string(meta, "name", "workloadhistory.metadata", &e->name, errbuf);
	if (r < 0)
		return r;
	if (!e->name || !*e->name)
		return kube_err(errbuf, "workloadhistory.metadata.name: missing");
	r = kube_json_object(o, "spec", "workloadhistory", &spec, errbuf);
	if (r < 0)
		return r;
	if (!spec)
		return kube_err(errbuf, "workloadhistory %.64s: spec: missing", e->name);
	r = kube_json_string(spec, "nodeName", "workloadhistory.spec", &e->node_name, errbuf);
	if (r < 0)
		return r;
	if (!e->node_name || !*e->node_name)
		return kube_err(errbuf, "workloadhistory %.64s: spec.nodeName: missing", e->name);
	r = kube_json_object(spec, "workload", "workloadhistory.spec", &workload, errbuf);
	if (r < 0)
		return r;
	if (!workload)
		return kube_err(errbuf, "workloadhistory %.64s: spec.workload: missing", e->name);
	if (kube_json_string(workload, "kind", "workloadhistory.spec.workload", &e->workload_kind,
			     errbuf) < 0 ||
	    kube_json_string(workload, "name", "workloadhistory.spec.workload", &e->workload_name,
			     errbuf) < 0)
		return -EINVAL;
	if (!e->workload_kind || !*e->workload_kind || !e->workload_name || !*e->workload_name)
		return kube_err(errbuf, "workloadhistory %.64s: spec.workload kind or name missing",
				e->name);
	r = kube_json_array(spec, "containers", "workloadhistory.spec", &e->containers, errbuf);
	if (r < 0)
		return r;
	if (!e->containers)
		return kube_err(errbuf, "workloadhistory %.64s: spec.containers: missing", e->name);
	cJSON_ArrayForEach (c, e->containers) {
		const char *name;

		if (!cJSON_IsObject(c) ||
		    kube_json_string(c, "name", "workloadhistory.spec.containers[]", &name, NULL) <
			    0 ||
		    !name || !*name)
			return kube_err(errbuf,
					"workloadhistory %.64s: spec.containers[%zu]: no name",
					e->name, i);
		i++;
	}
	return 0;
}

int kube_history_list_parse(const cJSON *list, struct kube_history_entry **ret, size_t *ret_n,
			    size_t *ret_n_bad, char *errbuf)
{
	void *entries;
	int r;

	r = kube_list_parse(list, "WorkloadHistoryList", "workloadhistory list", sizeof(**ret),
			    parse_entry, NULL, &entries, ret_n, ret_n_bad, errbuf);
	if (r < 0)
		return r;
	*ret = entries;
	return 0;
}
