/* The webhook's recommendation from the workload's WorkloadHistory entries (all nodes merged). */
#include "agent/webhook_history.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent/kube/kube.h"
#include "agent/shared_history.h"
#include "agent/util/cleanup.h"

static const char *pod_label(const cJSON *pod, const char *key)
{
	const cJSON *md = cJSON_GetObjectItemCaseSensitive(pod, "metadata");
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(
		cJSON_GetObjectItemCaseSensitive(md, "labels"), key);

	return cJSON_IsString(v) ? v->valuestring : NULL;
}

int webhook_history_workload(const struct webhook_request *req, char *ret_kind, size_t kind_size,
			     char *ret_name, size_t name_size)
{
	const char *kind, *name, *hash;
	size_t nl, hl;

	if (!req->has_owner || !req->owner.kind || !req->owner.name || !req->object)
		return -EINVAL;
	kind = req->owner.kind;
	name = req->owner.name;
	nl = strlen(name);
	hash = pod_label(req->object, "pod-template-hash");
	hl = hash ? strlen(hash) : 0;
	if (strcmp(kind, "ReplicaSet") == 0 && hl > 0 && nl > hl + 1 && name[nl - hl - 1] == '-' &&
	    strcmp(name + nl - hl, hash) == 0) {
		kind = "Deployment";
		nl -= hl + 1;
	}
	if (strlen(kind) >= kind_size || nl >= name_size)
		return -EINVAL;
	snprintf(ret_kind, kind_size, "%s", kind);
	memcpy(ret_name, name, nl);
	ret_name[nl] = '\0';
	return 0;
}

/* The pod's app containers: their count divides VPA's minimums, as in the agent. */
static const cJSON *pod_containers(const cJSON *pod)
{
	const cJSON *spec = cJSON_GetObjectItemCaseSensitive(pod, "spec");
	const cJSON *cs = cJSON_GetObjectItemCaseSensitive(spec, "containers");

	return cJSON_IsArray(cs) ? cs : NULL;
}

static void free_array(struct rec_aggregate **a, size_t n)
{
	for (size_t i = 0; a && i < n; i++)
		rec_aggregate_free(a[i]);
	free(a);
}

int webhook_history_recommendation(const cJSON *list, const struct webhook_request *req,
				   const char *kind, const char *name, const struct rec_tunables *t,
				   int64_t now_usec, char **ret, char *errbuf)
{
	struct kube_history_entry *entries = NULL;
	struct rec_aggregate **merged = NULL;
	struct webhook_rec rec = { .at = now_usec / 1000000, .reason = (char *)"merged history" };
	const cJSON *cs = pod_containers(req->object), *c, *item;
	size_t n = 0, bad = 0, nc, i = 0, nodes = 0;
	char kerr[KUBE_ERRBUF] = "", reason[64];
	int r;

	if (!cs) {
		if (errbuf)
			snprintf(errbuf, WEBHOOK_ERRBUF, "pod without containers");
		return -EINVAL;
	}
	r = kube_history_list_parse(list, &entries, &n, &bad, kerr);
	if (r < 0) {
		if (errbuf)
			snprintf(errbuf, WEBHOOK_ERRBUF, "%s", kerr);
		return r;
	}
	nc = (size_t)cJSON_GetArraySize(cs);
	merged = calloc(nc ? nc : 1, sizeof(*merged));
	rec.containers = calloc(nc ? nc : 1, sizeof(*rec.containers));
	if (!merged || !rec.containers) {
		r = -ENOMEM;
		goto out;
	}
	for (size_t e = 0; e < n; e++) {
		if (strcmp(entries[e].workload_kind, kind) != 0 ||
		    strcmp(entries[e].workload_name, name) != 0)
			continue;
		nodes++;
		i = 0;
		cJSON_ArrayForEach (c, cs) {
			const cJSON *cn = cJSON_GetObjectItemCaseSensitive(c, "name");

			cJSON_ArrayForEach (item, entries[e].containers) {
				const cJSON *in = cJSON_GetObjectItemCaseSensitive(item, "name");

				if (cJSON_IsString(cn) && cJSON_IsString(in) &&
				    strcmp(cn->valuestring, in->valuestring) == 0)
					/* A malformed histogram is skipped: the others still count. */
					(void)shared_remote_add(&merged[i], item, t, now_usec);
			}
			i++;
		}
	}
	i = 0;
	cJSON_ArrayForEach (c, cs) {
		const cJSON *cn = cJSON_GetObjectItemCaseSensitive(c, "name");
		struct rec_recommendation rr;

		bool has_cpu = merged[i] && !rec_decaying_histogram_is_empty(&merged[i]->cpu);
		bool has_memory = merged[i] && !rec_decaying_histogram_is_empty(&merged[i]->memory);

		/* A resource without samples is left as it is: a young workload evicted after an
		 * OOM kill has the kill in its memory histogram before its first minute of CPU. */
		if ((has_cpu || has_memory) && cJSON_IsString(cn) &&
		    rec_recommend(merged[i], (int)nc, &rr) >= 0)
			rec.containers[rec.n_containers++] = (struct webhook_rec_container){
				.name = cn->valuestring,
				.cpu_request = has_cpu ? rr.target.cpu_millicores : RESOURCE_UNSET,
				.memory_request =
					has_memory ? rr.target.memory_bytes : RESOURCE_UNSET,
				.cpu_limit = RESOURCE_UNSET,
				.memory_limit = RESOURCE_UNSET,
			};
		i++;
	}
	if (rec.n_containers == 0) {
		if (errbuf)
			snprintf(errbuf, WEBHOOK_ERRBUF, "no history of %s %s in %zu entries", kind,
				 name, n);
		r = -ENOENT;
		goto out;
	}
	snprintf(reason, sizeof(reason), "merged history of %zu node(s)", nodes);
	rec.reason = reason;
	r = webhook_rec_format(&rec, ret);
out:
	free(rec.containers);
	free_array(merged, nc);
	free(entries);
	return r;
}
