/* WorkloadHistory entries: names, labels and the written object; other nodes' containers read back. */
#include "agent/shared_history.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "agent/kube/kube.h"
#include "agent/recommender/checkpoint.h"
#include "agent/recommender/merge.h"
#include "agent/util/cleanup.h"
#include "agent/util/json.h"

DEFINE_TRIVIAL_CLEANUP_FUNC(struct rec_aggregate *, rec_aggregate_free)

static uint64_t fnv1a(uint64_t h, const char *s)
{
	for (; *s; s++) {
		h ^= (unsigned char)*s;
		h *= 0x100000001b3ULL;
	}
	return h;
}

#define FNV_OFFSET 0xcbf29ce484222325ULL

void shared_workload_key(const char *kind, const char *name, char ret[SHARED_KEY_SIZE])
{
	uint64_t h = fnv1a(fnv1a(fnv1a(FNV_OFFSET, kind), "/"), name);

	snprintf(ret, SHARED_KEY_SIZE, "%016llx", (unsigned long long)h);
}

bool shared_node_label(const char *node, char ret[SHARED_LABEL_SIZE])
{
	if (!kube_label_value_valid(node))
		return false;
	snprintf(ret, SHARED_LABEL_SIZE, "%s", node);
	return true;
}

void shared_entry_name(const char *workload_key, const char *node, char ret[SHARED_NAME_SIZE])
{
	size_t k = strlen(workload_key), n = strlen(node);

	if (k + 1 + n < SHARED_NAME_SIZE) {
		memcpy(ret, workload_key, k);
		ret[k] = '.';
		memcpy(ret + k + 1, node, n + 1);
	} else
		snprintf(ret, SHARED_NAME_SIZE, "%s.h-%016llx", workload_key,
			 (unsigned long long)fnv1a(FNV_OFFSET, node));
}

static int add_metadata(cJSON *o, const struct shared_entry *e, const char *key)
{
	char name[SHARED_NAME_SIZE], node_label[SHARED_LABEL_SIZE];
	bool has_node_label = shared_node_label(e->node_name, node_label);
	cJSON *md, *labels, *refs, *ref;

	shared_entry_name(key, e->node_name, name);
	md = cJSON_AddObjectToObject(o, "metadata");
	if (!md || !cJSON_AddStringToObject(md, "name", name) ||
	    !cJSON_AddStringToObject(md, "namespace", e->namespace))
		return -ENOMEM;
	labels = cJSON_AddObjectToObject(md, "labels");
	if (!labels || !cJSON_AddStringToObject(labels, "app.kubernetes.io/managed-by", "snug") ||
	    !cJSON_AddStringToObject(labels, "snug.io/workload", key) ||
	    (has_node_label && !cJSON_AddStringToObject(labels, "snug.io/node", node_label)))
		return -ENOMEM;
	if (!e->node_uid)
		return 0;
	/* A namespaced object may have a cluster-scoped owner: the garbage collector deletes the
	 * entries of a Node that is deleted. */
	refs = cJSON_AddArrayToObject(md, "ownerReferences");
	ref = cJSON_CreateObject();
	if (!refs || !ref || !cJSON_AddItemToArray(refs, ref) ||
	    !cJSON_AddStringToObject(ref, "apiVersion", "v1") ||
	    !cJSON_AddStringToObject(ref, "kind", "Node") ||
	    !cJSON_AddStringToObject(ref, "name", e->node_name) ||
	    !cJSON_AddStringToObject(ref, "uid", e->node_uid))
		return -ENOMEM;
	return 0;
}

static int rfc3339(int64_t usec, char *buf, size_t size)
{
	time_t t = (time_t)(usec / 1000000);
	struct tm tm;

	if (!gmtime_r(&t, &tm) || strftime(buf, size, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		return -EINVAL;
	return 0;
}

int shared_entry_format(const struct shared_entry *e, char **ret)
{
	_cleanup_(cJSON_Deletep) cJSON *o = cJSON_CreateObject();
	char key[SHARED_KEY_SIZE], when[32];
	cJSON *spec, *wl, *arr;
	char *text;
	int r;

	if (!o)
		return -ENOMEM;
	shared_workload_key(e->workload_kind, e->workload_name, key);
	if (!cJSON_AddStringToObject(o, "apiVersion", "snug.io/v1alpha1") ||
	    !cJSON_AddStringToObject(o, "kind", "WorkloadHistory"))
		return -ENOMEM;
	r = add_metadata(o, e, key);
	if (r < 0)
		return r;
	r = rfc3339(e->now_usec, when, sizeof(when));
	if (r < 0)
		return r;
	spec = cJSON_AddObjectToObject(o, "spec");
	if (!spec || !cJSON_AddStringToObject(spec, "nodeName", e->node_name) ||
	    !cJSON_AddStringToObject(spec, "updateTime", when))
		return -ENOMEM;
	wl = cJSON_AddObjectToObject(spec, "workload");
	if (!wl ||
	    (e->workload_api_version &&
	     !cJSON_AddStringToObject(wl, "apiVersion", e->workload_api_version)) ||
	    !cJSON_AddStringToObject(wl, "kind", e->workload_kind) ||
	    !cJSON_AddStringToObject(wl, "name", e->workload_name))
		return -ENOMEM;
	arr = cJSON_AddArrayToObject(spec, "containers");
	if (!arr)
		return -ENOMEM;
	for (size_t i = 0; i < e->n_containers; i++) {
		cJSON *c = rec_aggregate_to_json(e->containers[i].aggregate);

		if (!c)
			return -ENOMEM;
		/* The name first: a reader (and a person) sees whose history follows. */
		if (!cJSON_AddItemToArray(arr, c) ||
		    !cJSON_InsertItemInArray(c, 0, cJSON_CreateString(e->containers[i].name)))
			return -ENOMEM;
		c->child->string = strdup("name");
		if (!c->child->string)
			return -ENOMEM;
	}
	text = cJSON_PrintUnformatted(o);
	if (!text)
		return -ENOMEM;
	*ret = text;
	return 0;
}

int shared_remote_add(struct rec_aggregate **remote, const cJSON *container,
		      const struct rec_tunables *t, int64_t now_usec)
{
	_cleanup_(rec_aggregate_freep) struct rec_aggregate *a = NULL;
	int r;

	r = rec_aggregate_from_json(container, t, now_usec, &a);
	if (r < 0)
		return r;
	if (!*remote) {
		*remote = TAKE_PTR(a);
		return 0;
	}
	return rec_aggregate_merge(*remote, a);
}
