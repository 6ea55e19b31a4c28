/* Parses a Pod object from the API server into snug's small pod model, defensively: every field
 * we read has a type check and an error that names it; everything else is ignored. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent/kube/kube.h"
#include "agent/kube/kube-internal.h"
#include "agent/util/cleanup.h"
#include "agent/util/quantity.h"

int kube_err(char *errbuf, const char *fmt, ...)
{
	if (errbuf) {
		va_list ap;

		va_start(ap, fmt);
		vsnprintf(errbuf, KUBE_ERRBUF, fmt, ap);
		va_end(ap);
	}
	return -EINVAL;
}

int kube_json_member(const cJSON *parent, const char *key, const char *path,
		     enum kube_json_type type, const cJSON **ret, char *errbuf)
{
	static const struct {
		cJSON_bool (*is)(const cJSON *);
		const char *name;
	} types[] = {
		[KUBE_JSON_OBJECT] = { cJSON_IsObject, "an object" },
		[KUBE_JSON_ARRAY] = { cJSON_IsArray, "an array" },
		[KUBE_JSON_STRING] = { cJSON_IsString, "a string" },
		[KUBE_JSON_BOOL] = { cJSON_IsBool, "a boolean" },
		[KUBE_JSON_NUMBER] = { cJSON_IsNumber, "a number" },
	};
	const cJSON *j = cJSON_GetObjectItemCaseSensitive(parent, key);

	if ((unsigned)type >= ELEMENTSOF(types))
		return -EINVAL;
	if (!j || cJSON_IsNull(j)) {
		*ret = NULL;
		return 0;
	}
	if (!types[type].is(j) || (type == KUBE_JSON_STRING && !j->valuestring))
		return kube_err(errbuf, "%s.%s: not %s", path, key, types[type].name);
	*ret = j;
	return 0;
}

int kube_json_string(const cJSON *parent, const char *key, const char *path, const char **ret,
		     char *errbuf)
{
	const cJSON *j = NULL;
	int r = kube_json_member(parent, key, path, KUBE_JSON_STRING, &j, errbuf);

	if (r < 0)
		return r;
	*ret = j ? j->valuestring : NULL;
	return 0;
}

int kube_json_bool(const cJSON *parent, const char *key, const char *path, bool *ret, char *errbuf)
{
	const cJSON *j = NULL;
	int r = kube_json_member(parent, key, path, KUBE_JSON_BOOL, &j, errbuf);

	if (r < 0)
		return r;
	*ret = j && cJSON_IsTrue(j);
	return 0;
}

/* Integer member within [min, max]; absent → def. */
int kube_json_int(const cJSON *parent, const char *key, const char *path, int64_t min, int64_t max,
		  int64_t def, int64_t *ret, char *errbuf)
{
	const cJSON *j = NULL;
	double d;
	int r = kube_json_member(parent, key, path, KUBE_JSON_NUMBER, &j, errbuf);

	if (r < 0)
		return r;
	if (!j) {
		*ret = def;
		return 0;
	}
	d = j->valuedouble;
	/* Comparing as double first keeps the cast below defined for NaN-free huge values. */
	if (!(d >= (double)min && d <= (double)max) || d != (double)(int64_t)d)
		return kube_err(errbuf, "%s.%s: %g out of range", path, key, d);
	*ret = (int64_t)d;
	return 0;
}

static int dup_string(const char *s, char **ret)
{
	char *t;

	if (!s) {
		*ret = NULL;
		return 0;
	}
	t = strdup(s);
	if (!t)
		return -ENOMEM;
	*ret = t;
	return 0;
}

static int optional_string(const cJSON *parent, const char *key, const char *path, char **ret,
			   char *errbuf)
{
	const char *s;
	int r;

	r = kube_json_string(parent, key, path, &s, errbuf);
	if (r < 0)
		return r;
	return dup_string(s, ret);
}

static int required_string(const cJSON *parent, const char *key, const char *path, char **ret,
			   char *errbuf)
{
	int r;

	r = optional_string(parent, key, path, ret, errbuf);
	if (r < 0)
		return r;
	if (!*ret || !**ret) {
		free(*ret);
		*ret = NULL;
		return kube_err(errbuf, "%s.%s: missing", path, key);
	}
	return 0;
}

/* UIDs become parts of cgroup paths elsewhere: only [0-9a-zA-Z-], at most 64 characters. */
bool kube_uid_valid(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > 64)
		return false;
	return strspn(s, "0123456789abcdefABCDEF-") == n;
}

/* Container IDs likewise: [0-9a-zA-Z._-], at most 128, not starting with a dot. */
static bool container_id_valid(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > 128 || s[0] == '.')
		return false;
	return strspn(s, "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ._-") == n;
}

static int parse_kv(const cJSON *parent, const char *key, const char *path, struct kube_kv **ret,
		    size_t *ret_n, char *errbuf)
{
	const cJSON *obj, *it;
	struct kube_kv *kv;
	size_t n = 0, i = 0;
	int r;

	r = kube_json_object(parent, key, path, &obj, errbuf);
	if (r < 0)
		return r;
	if (!obj)
		return 0;
	cJSON_ArrayForEach (it, obj)
		n++;
	if (n == 0)
		return 0;
	kv = calloc(n, sizeof(*kv));
	if (!kv)
		return -ENOMEM;
	/* Store before filling so the caller's free path releases a partial array. */
	*ret = kv;
	cJSON_ArrayForEach (it, obj) {
		if (!it->string || !cJSON_IsString(it) || !it->valuestring)
			return kube_err(errbuf, "%s.%s[%s]: not a string", path, key,
					it->string ? it->string : "?");
		kv[i].key = strdup(it->string);
		kv[i].value = strdup(it->valuestring);
		*ret_n = ++i;
		if (!kv[i - 1].key || !kv[i - 1].value)
			return -ENOMEM;
	}
	return 0;
}

static void resources_unset(struct resources *r)
{
	r->cpu_request = r->cpu_limit = r->memory_request = r->memory_limit = RESOURCE_UNSET;
}

/* A ResourceList {"cpu": "100m", "memory": "128Mi", ...}: only cpu and memory are kept. */
static int parse_resource_list(const cJSON *list, const char *path, int64_t *cpu, int64_t *mem,
			       char *errbuf)
{
	const char *s;
	int r;

	r = kube_json_string(list, "cpu", path, &s, errbuf);
	if (r < 0)
		return r;
	if (s && quantity_parse_cpu_millis(s, cpu) < 0)
		return kube_err(errbuf, "%s.cpu: bad quantity \"%.32s\"", path, s);
	r = kube_json_string(list, "memory", path, &s, errbuf);
	if (r < 0)
		return r;
	if (s && quantity_parse_bytes(s, mem) < 0)
		return kube_err(errbuf, "%s.memory: bad quantity \"%.32s\"", path, s);
	return 0;
}

/* ResourceRequirements {"requests": {...}, "limits": {...}}. */
static int parse_requirements(const cJSON *parent, const char *key, const char *path,
			      struct resources *res, bool *ret_present, char *errbuf)
{
	const cJSON *obj, *req, *lim;
	char p[128];
	int r;

	resources_unset(res);
	r = kube_json_object(parent, key, path, &obj, errbuf);
	if (r < 0)
		return r;
	if (ret_present)
		*ret_present = !!obj;
	if (!obj)
		return 0;
	snprintf(p, sizeof(p), "%s.%s", path, key);
	r = kube_json_object(obj, "requests", p, &req, errbuf);
	if (r < 0)
		return r;
	r = kube_json_object(obj, "limits", p, &lim, errbuf);
	if (r < 0)
		return r;
	if (req) {
		char q[140];

		snprintf(q, sizeof(q), "%s.requests", p);
		r = parse_resource_list(req, q, &res->cpu_request, &res->memory_request, errbuf);
		if (r < 0)
			return r;
	}
	if (lim) {
		char q[140];

		snprintf(q, sizeof(q), "%s.limits", p);
		r = parse_resource_list(lim, q, &res->cpu_limit, &res->memory_limit, errbuf);
		if (r < 0)
			return r;
	}
	return 0;
}

static int parse_resize_policy(const cJSON *ctr, const char *path, struct kube_container *c,
			       char *errbuf)
{
	const cJSON *arr, *it;
	int r, i = 0;

	r = kube_json_array(ctr, "resizePolicy", path, &arr, errbuf);
	if (r < 0 || !arr)
		return r;
	cJSON_ArrayForEach (it, arr) {
		const char *res, *pol;
		enum kube_restart_policy p;
		char q[128];

		snprintf(q, sizeof(q), "%s.resizePolicy[%d]", path, i++);
		if (!cJSON_IsObject(it))
			return kube_err(errbuf, "%s: not an object", q);
		r = kube_json_string(it, "resourceName", q, &res, errbuf);
		if (r < 0)
			return r;
		r = kube_json_string(it, "restartPolicy", q, &pol, errbuf);
		if (r < 0)
			return r;
		if (!res || !pol)
			return kube_err(errbuf, "%s: resourceName or restartPolicy missing", q);
		if (strcmp(pol, "NotRequired") == 0)
			p = KUBE_RESIZE_NOT_REQUIRED;
		else if (strcmp(pol, "RestartContainer") == 0)
			p = KUBE_RESIZE_RESTART_CONTAINER;
		else
			return kube_err(errbuf, "%s.restartPolicy: unknown \"%.32s\"", q, pol);
		if (strcmp(res, "cpu") == 0)
			c->cpu_policy = p;
		else if (strcmp(res, "memory") == 0)
			c->mem_policy = p;
	}
	return 0;
}

/* initContainers[].restartPolicy: "Always" makes a native sidecar (KEP-753). */
static int parse_init_restart_policy(const cJSON *ctr, const char *path, struct kube_container *c,
				     char *errbuf)
{
	const char *s;
	int r;

	r = kube_json_string(ctr, "restartPolicy", path, &s, errbuf);
	if (r < 0)
		return r;
	if (!s || strcmp(s, "OnFailure") == 0 || strcmp(s, "Never") == 0)
		c->sidecar = false;
	else if (strcmp(s, "Always") == 0)
		c->sidecar = true;
	else
		return kube_err(errbuf, "%s.restartPolicy: unknown \"%.32s\"", path, s);
	return 0;
}

/* spec.containers (required, not empty) or spec.initContainers (optional). */
static int parse_containers(const cJSON *spec, bool init, struct kube_container **ret,
			    size_t *ret_n, char *errbuf)
{
	const char *key = init ? "initContainers" : "containers";
	struct kube_container *list;
	const cJSON *arr, *it;
	size_t n, i = 0;
	int r;

	r = kube_json_array(spec, key, "spec", &arr, errbuf);
	if (r < 0)
		return r;
	n = arr ? (size_t)cJSON_GetArraySize(arr) : 0;
	if (n == 0)
		return init ? 0 : kube_err(errbuf, "spec.containers: missing or empty");
	list = calloc(n, sizeof(*list));
	if (!list)
		return -ENOMEM;
	/* Stored before filling so the caller's free path releases a partial array. */
	*ret = list;
	cJSON_ArrayForEach (it, arr) {
		struct kube_container *c = &list[i];
		char path[64];

		snprintf(path, sizeof(path), "spec.%s[%zu]", key, i);
		*ret_n = ++i;
		resources_unset(&c->allocated);
		resources_unset(&c->actual);
		if (!cJSON_IsObject(it))
			return kube_err(errbuf, "%s: not an object", path);
		r = required_string(it, "name", path, &c->name, errbuf);
		if (r < 0)
			return r;
		for (size_t k = 0; k + 1 < i; k++)
			if (strcmp(list[k].name, c->name) == 0)
				return kube_err(errbuf, "%s.name: duplicate \"%.64s\"", path,
						c->name);
		r = parse_requirements(it, "resources", path, &c->spec, NULL, errbuf);
		if (r < 0)
			return r;
		r = parse_resize_policy(it, path, c, errbuf);
		if (r < 0)
			return r;
		if (init && (r = parse_init_restart_policy(it, path, c, errbuf)) < 0)
			return r;
	}
	return 0;
}

/* spec.overhead, a ResourceList of what the sandbox costs on top of the containers. */
static int parse_overhead(const cJSON *spec, struct kube_pod *pod, char *errbuf)
{
	const cJSON *obj;
	int r;

	pod->overhead_cpu = pod->overhead_mem = RESOURCE_UNSET;
	r = kube_json_object(spec, "overhead", "spec", &obj, errbuf);
	if (r < 0 || !obj)
		return r;
	return parse_resource_list(obj, "spec.overhead", &pod->overhead_cpu, &pod->overhead_mem,
				   errbuf);
}

static struct kube_container *find_in(struct kube_container *list, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(list[i].name, name) == 0)
			return &list[i];
	return NULL;
}

static struct kube_container *find_container(struct kube_pod *pod, const char *name)
{
	return find_in(pod->containers, pod->n_containers, name);
}

static int parse_container_id(const char *s, const char *path, struct kube_container *c,
			      char *errbuf)
{
	const char *sep;

	if (!s || !*s)
		return 0; /* not started yet */
	sep = strstr(s, "://");
	if (!sep || sep == s)
		return kube_err(errbuf, "%s.containerID: no runtime prefix in \"%.80s\"", path, s);
	if (!container_id_valid(sep + 3))
		return kube_err(errbuf, "%s.containerID: invalid id \"%.80s\"", path, s);
	c->runtime = strndup(s, sep - s);
	c->container_id = strdup(sep + 3);
	if (!c->runtime || !c->container_id)
		return -ENOMEM;
	return 0;
}

/* status.containerStatuses (init: status.initContainerStatuses) into the matching containers. */
static int parse_container_statuses(const cJSON *status, bool init, struct kube_pod *pod,
				    char *errbuf)
{
	const char *key = init ? "initContainerStatuses" : "containerStatuses";
	const cJSON *arr, *it;
	int r, i = 0;

	r = kube_json_array(status, key, "status", &arr, errbuf);
	if (r < 0 || !arr)
		return r;
	cJSON_ArrayForEach (it, arr) {
		const cJSON *state, *running, *alloc;
		struct kube_container *c;
		const char *name, *cid;
		char path[64];
		int64_t rc;

		snprintf(path, sizeof(path), "status.%s[%d]", key, i++);
		if (!cJSON_IsObject(it))
			return kube_err(errbuf, "%s: not an object", path);
		r = kube_json_string(it, "name", path, &name, errbuf);
		if (r < 0)
			return r;
		if (!name)
			return kube_err(errbuf, "%s.name: missing", path);
		c = init ? find_in(pod->init_containers, pod->n_init_containers, name)
			 : find_container(pod, name);
		if (!c)
			continue; /* a status for a container the spec does not have: ignore */
		if (c->has_status)
			return kube_err(errbuf, "%s.name: duplicate \"%.64s\"", path, name);
		c->has_status = true;
		r = kube_json_bool(it, "ready", path, &c->ready, errbuf);
		if (r < 0)
			return r;
		r = kube_json_int(it, "restartCount", path, 0, INT32_MAX, 0, &rc, errbuf);
		if (r < 0)
			return r;
		c->restart_count = (int32_t)rc;
		r = kube_json_string(it, "containerID", path, &cid, errbuf);
		if (r < 0)
			return r;
		r = parse_container_id(cid, path, c, errbuf);
		if (r < 0)
			return r;
		r = kube_json_object(it, "state", path, &state, errbuf);
		if (r < 0)
			return r;
		if (state) {
			char q[80];

			snprintf(q, sizeof(q), "%s.state", path);
			r = kube_json_object(state, "running", q, &running, errbuf);
			if (r < 0)
				return r;
			c->running = !!running;
		}
		/* allocatedResources is a ResourceList of requests (the kubelet's admitted view). */
		r = kube_json_object(it, "allocatedResources", path, &alloc, errbuf);
		if (r < 0)
			return r;
		if (alloc) {
			char q[96];

			snprintf(q, sizeof(q), "%s.allocatedResources", path);
			c->has_allocated = true;
			r = parse_resource_list(alloc, q, &c->allocated.cpu_request,
						&c->allocated.memory_request, errbuf);
			if (r < 0)
				return r;
		}
		r = parse_requirements(it, "resources", path, &c->actual, &c->has_actual, errbuf);
		if (r < 0)
			return r;
	}
	return 0;
}

static int parse_conditions(const cJSON *status, struct kube_pod *pod, char *errbuf)
{
	const cJSON *arr, *it;
	const char *legacy;
	int r, i = 0;

	r = kube_json_string(status, "resize", "status", &legacy, errbuf);
	if (r < 0)
		return r;
	if (legacy) {
		if (strcmp(legacy, "Proposed") == 0)
			pod->resize = KUBE_RESIZE_PROPOSED;
		else if (strcmp(legacy, "InProgress") == 0)
			pod->resize = KUBE_RESIZE_IN_PROGRESS;
		else if (strcmp(legacy, "Deferred") == 0)
			pod->resize = KUBE_RESIZE_DEFERRED;
		else if (strcmp(legacy, "Infeasible") == 0)
			pod->resize = KUBE_RESIZE_INFEASIBLE;
		/* Unknown legacy values are ignored: the field is informational. */
	}

	r = kube_json_array(status, "conditions", "status", &arr, errbuf);
	if (r < 0 || !arr)
		return r;
	cJSON_ArrayForEach (it, arr) {
		const char *type, *st, *reason, *message;
		enum kube_resize_status rs;
		int64_t observed;
		char path[64];

		snprintf(path, sizeof(path), "status.conditions[%d]", i++);
		if (!cJSON_IsObject(it))
			return kube_err(errbuf, "%s: not an object", path);
		r = kube_json_string(it, "type", path, &type, errbuf);
		if (r < 0)
			return r;
		if (!type)
			return kube_err(errbuf, "%s.type: missing", path);
		if (strcmp(type, "PodResizePending") != 0 &&
		    strcmp(type, "PodResizeInProgress") != 0)
			continue;
		if ((r = kube_json_string(it, "status", path, &st, errbuf)) < 0 ||
		    (r = kube_json_string(it, "reason", path, &reason, errbuf)) < 0 ||
		    (r = kube_json_string(it, "message", path, &message, errbuf)) < 0 ||
		    (r = kube_json_int(it, "observedGeneration", path, 0, INT64_MAX / 2, 0,
				       &observed, errbuf)) < 0)
			return r;
		if (st && strcmp(st, "True") != 0)
			continue;
		if (strcmp(type, "PodResizePending") == 0) {
			if (reason && strcmp(reason, "Infeasible") == 0)
				rs = KUBE_RESIZE_INFEASIBLE;
			else
				rs = KUBE_RESIZE_DEFERRED;
		} else
			rs = reason && strcmp(reason, "Error") == 0 ? KUBE_RESIZE_ERROR
								    : KUBE_RESIZE_IN_PROGRESS;
		/* Pending says more than InProgress when both are present (a new resize waits). */
		if (pod->resize == KUBE_RESIZE_DEFERRED || pod->resize == KUBE_RESIZE_INFEASIBLE)
			if (rs == KUBE_RESIZE_IN_PROGRESS || rs == KUBE_RESIZE_ERROR)
				continue;
		pod->resize = rs;
		pod->resize_observed_generation = observed;
		free(pod->resize_message);
		pod->resize_message = NULL;
		r = dup_string(message && *message ? message : NULL, &pod->resize_message);
		if (r < 0)
			return r;
	}
	return 0;
}

static int parse_owner(const cJSON *meta, struct kube_pod *pod, char *errbuf)
{
	const cJSON *arr, *it;
	int r, i = 0;

	r = kube_json_array(meta, "ownerReferences", "metadata", &arr, errbuf);
	if (r < 0 || !arr)
		return r;
	cJSON_ArrayForEach (it, arr) {
		char path[64];
		bool controller;

		snprintf(path, sizeof(path), "metadata.ownerReferences[%d]", i++);
		if (!cJSON_IsObject(it))
			return kube_err(errbuf, "%s: not an object", path);
		r = kube_json_bool(it, "controller", path, &controller, errbuf);
		if (r < 0)
			return r;
		if (!controller || pod->has_owner)
			continue;
		pod->has_owner = true;
		if ((r = required_string(it, "kind", path, &pod->owner.kind, errbuf)) < 0 ||
		    (r = required_string(it, "name", path, &pod->owner.name, errbuf)) < 0 ||
		    (r = optional_string(it, "apiVersion", path, &pod->owner.api_version, errbuf)) <
			    0 ||
		    (r = optional_string(it, "uid", path, &pod->owner.uid, errbuf)) < 0)
			return r;
	}
	return 0;
}

static int parse_enum(const char *s, const char *const *names, size_t n, int def)
{
	if (!s)
		return def;
	for (size_t i = 0; i < n; i++)
		if (names[i] && strcmp(s, names[i]) == 0)
			return (int)i;
	return -1;
}

static const char *const phase_names[] = {
	[KUBE_PHASE_UNKNOWN] = "Unknown", [KUBE_PHASE_PENDING] = "Pending",
	[KUBE_PHASE_RUNNING] = "Running", [KUBE_PHASE_SUCCEEDED] = "Succeeded",
	[KUBE_PHASE_FAILED] = "Failed",
};

static int parse_pod(const cJSON *obj, struct kube_pod *pod, char *errbuf)
{
	const cJSON *meta, *spec, *status;
	const char *kind, *s;
	int r, v;

	if (!cJSON_IsObject(obj))
		return kube_err(errbuf, "pod: not an object");
	r = kube_json_string(obj, "kind", "pod", &kind, errbuf);
	if (r < 0)
		return r;
	if (kind && strcmp(kind, "Pod") != 0)
		return kube_err(errbuf, "kind: \"%.32s\", not Pod", kind);

	r = kube_json_object(obj, "metadata", "pod", &meta, errbuf);
	if (r < 0)
		return r;
	if (!meta)
		return kube_err(errbuf, "metadata: missing");
	if ((r = required_string(meta, "uid", "metadata", &pod->uid, errbuf)) < 0 ||
	    (r = required_string(meta, "namespace", "metadata", &pod->namespace, errbuf)) < 0 ||
	    (r = required_string(meta, "name", "metadata", &pod->name, errbuf)) < 0 ||
	    (r = required_string(meta, "resourceVersion", "metadata", &pod->resource_version,
				 errbuf)) < 0)
		return r;
	if (!kube_uid_valid(pod->uid))
		return kube_err(errbuf, "metadata.uid: invalid \"%.64s\"", pod->uid);
	r = kube_json_int(meta, "generation", "metadata", 0, INT64_MAX / 2, 0, &pod->generation,
			  errbuf);
	if (r < 0)
		return r;
	r = kube_json_string(meta, "deletionTimestamp", "metadata", &s, errbuf);
	if (r < 0)
		return r;
	pod->deleting = !!s;
	if ((r = parse_kv(meta, "labels", "metadata", &pod->labels, &pod->n_labels, errbuf)) < 0 ||
	    (r = parse_kv(meta, "annotations", "metadata", &pod->annotations, &pod->n_annotations,
			  errbuf)) < 0 ||
	    (r = parse_owner(meta, pod, errbuf)) < 0)
		return r;

	r = kube_json_object(obj, "spec", "pod", &spec, errbuf);
	if (r < 0)
		return r;
	if (!spec)
		return kube_err(errbuf, "spec: missing");
	if ((r = optional_string(spec, "nodeName", "spec", &pod->node_name, errbuf)) < 0 ||
	    (r = parse_containers(spec, false, &pod->containers, &pod->n_containers, errbuf)) < 0 ||
	    (r = parse_containers(spec, true, &pod->init_containers, &pod->n_init_containers,
				  errbuf)) < 0 ||
	    (r = parse_overhead(spec, pod, errbuf)) < 0 ||
	    (r = parse_requirements(spec, "resources", "spec", &pod->resources, &pod->has_resources,
				    errbuf)) < 0)
		return r;

	r = kube_json_object(obj, "status", "pod", &status, errbuf);
	if (r < 0)
		return r;
	if (!status)
		return 0;
	r = kube_json_string(status, "qosClass", "status", &s, errbuf);
	if (r < 0)
		return r;
	if (s) {
		v = qos_class_from_string(s);
		if (v < 0)
			return kube_err(errbuf, "status.qosClass: unknown \"%.32s\"", s);
		pod->qos = v;
	}
	r = kube_json_string(status, "phase", "status", &s, errbuf);
	if (r < 0)
		return r;
	v = parse_enum(s, phase_names, ELEMENTSOF(phase_names), KUBE_PHASE_UNKNOWN);
	if (v < 0)
		return kube_err(errbuf, "status.phase: unknown \"%.32s\"", s);
	pod->phase = v;
	r = kube_json_int(status, "observedGeneration", "status", 0, INT64_MAX / 2, 0,
			  &pod->observed_generation, errbuf);
	if (r < 0)
		return r;
	if ((r = parse_container_statuses(status, false, pod, errbuf)) < 0 ||
	    (r = parse_container_statuses(status, true, pod, errbuf)) < 0 ||
	    (r = parse_conditions(status, pod, errbuf)) < 0)
		return r;
	return 0;
}

const char *kube_object_ident(const cJSON *obj, char *buf, size_t size)
{
	const cJSON *meta = cJSON_GetObjectItemCaseSensitive(obj, "metadata");
	const cJSON *ns = cJSON_GetObjectItemCaseSensitive(meta, "namespace");
	const cJSON *name = cJSON_GetObjectItemCaseSensitive(meta, "name");

	snprintf(buf, size, "%.64s/%.128s", cJSON_IsString(ns) ? ns->valuestring : "?",
		 cJSON_IsString(name) ? name->valuestring : "?");
	return buf;
}

int kube_pod_parse(const cJSON *obj, struct kube_pod **ret, char *errbuf)
{
	struct kube_pod *pod;
	int r;

	pod = calloc(1, sizeof(*pod));
	if (!pod)
		return -ENOMEM;
	r = parse_pod(obj, pod, errbuf);
	if (r < 0) {
		if (r == -ENOMEM)
			kube_err(errbuf, "out of memory");
		kube_pod_free(pod);
		return r;
	}
	*ret = pod;
	return 0;
}

int kube_pod_parse_json(const char *buf, size_t len, struct kube_pod **ret, char *errbuf)
{
	_cleanup_(cJSON_Deletep) cJSON *j = NULL;

	j = cJSON_ParseWithLength(buf, len);
	if (!j)
		return kube_err(errbuf, "not valid JSON");
	return kube_pod_parse(j, ret, errbuf);
}

static void kv_free(struct kube_kv *kv, size_t n)
{
	if (!kv)
		return;
	for (size_t i = 0; i < n; i++) {
		free(kv[i].key);
		free(kv[i].value);
	}
	free(kv);
}

static void containers_free(struct kube_container *list, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(list[i].name);
		free(list[i].container_id);
		free(list[i].runtime);
	}
	free(list);
}

struct kube_pod *kube_pod_free(struct kube_pod *p)
{
	if (!p)
		return NULL;
	free(p->uid);
	free(p->namespace);
	free(p->name);
	free(p->resource_version);
	free(p->node_name);
	kv_free(p->labels, p->n_labels);
	kv_free(p->annotations, p->n_annotations);
	free(p->owner.api_version);
	free(p->owner.kind);
	free(p->owner.name);
	free(p->owner.uid);
	containers_free(p->containers, p->n_containers);
	containers_free(p->init_containers, p->n_init_containers);
	free(p->resize_message);
	free(p);
	return NULL;
}

static const char *kv_get(const struct kube_kv *kv, size_t n, const char *key)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(kv[i].key, key) == 0)
			return kv[i].value;
	return NULL;
}

const char *kube_pod_annotation(const struct kube_pod *p, const char *key)
{
	return kv_get(p->annotations, p->n_annotations, key);
}

const char *kube_pod_label(const struct kube_pod *p, const char *key)
{
	return kv_get(p->labels, p->n_labels, key);
}

const struct kube_container *kube_pod_container(const struct kube_pod *p, const char *name)
{
	const struct kube_container *c = find_container((struct kube_pod *)p, name);

	if (c)
		return c;
	c = find_in(p->init_containers, p->n_init_containers, name);
	return c && c->sidecar ? c : NULL;
}

const char *kube_resize_status_to_string(enum kube_resize_status s)
{
	static const char *const names[] = {
		[KUBE_RESIZE_NONE] = "None",
		[KUBE_RESIZE_PROPOSED] = "Proposed",
		[KUBE_RESIZE_IN_PROGRESS] = "InProgress",
		[KUBE_RESIZE_ERROR] = "Error",
		[KUBE_RESIZE_DEFERRED] = "Deferred",
		[KUBE_RESIZE_INFEASIBLE] = "Infeasible",
	};
	return (unsigned)s < ELEMENTSOF(names) ? names[s] : "?";
}
