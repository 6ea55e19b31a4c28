/* The calls that act: resize, eviction, Events, annotation patches and owner lookups, each async
 * with a typed, classified result. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "agent/kube/kube-internal.h"
#include "agent/kube/kube.h"
#include "agent/util/cleanup.h"
#include "agent/util/log.h"
#include "agent/util/quantity.h"
#include "agent/util/time.h"

#define KUBE_EVENT_MESSAGE_MAX 1024

struct call {
	struct kube_client *client;
	enum kube_call call;
	kube_done_t done;
	void *userdata;
	char *name;
	/* local completion (no request sent) */
	enum kube_outcome local_outcome;
	const char *local_message;
};

static void call_free(void *p)
{
	struct call *k = p;

	if (!k)
		return;
	free(k->name);
	free(k);
}

static struct call *call_new(struct kube_client *c, enum kube_call call, const char *name,
			     kube_done_t done, void *userdata)
{
	struct call *k = calloc(1, sizeof(*k));

	if (!k)
		return NULL;
	k->client = c;
	k->call = call;
	k->done = done;
	k->userdata = userdata;
	if (name && !(k->name = strdup(name))) {
		free(k);
		return NULL;
	}
	return k;
}

static int64_t replicas_of(const cJSON *obj)
{
	const cJSON *kind = cJSON_GetObjectItemCaseSensitive(obj, "kind");
	const cJSON *spec = cJSON_GetObjectItemCaseSensitive(obj, "spec");
	const cJSON *status = cJSON_GetObjectItemCaseSensitive(obj, "status");
	const cJSON *n = NULL;

	if (!cJSON_IsString(kind))
		return -1;
	if (strcmp(kind->valuestring, "Node") == 0)
		return -1;
	if (strcmp(kind->valuestring, "DaemonSet") == 0)
		n = cJSON_GetObjectItemCaseSensitive(status, "desiredNumberScheduled");
	else if (strcmp(kind->valuestring, "Job") == 0)
		n = cJSON_GetObjectItemCaseSensitive(spec, "parallelism");
	else if (strcmp(kind->valuestring, "Pod") != 0) {
		n = cJSON_GetObjectItemCaseSensitive(spec, "replicas");
		/* spec.replicas defaults to 1 when omitted (ReplicaSet, StatefulSet). */
		if (!n && cJSON_IsObject(spec))
			return 1;
	}
	if (!cJSON_IsNumber(n) || n->valuedouble < 0 || n->valuedouble > 1e9)
		return -1;
	return (int64_t)n->valuedouble;
}

static void on_call_done(struct kube_request *r, const struct kube_reply *reply, void *userdata)
{
	struct call *k = userdata;
	_cleanup_(cJSON_Deletep) cJSON *obj = NULL;
	struct kube_pod *pod = NULL;
	struct kube_status st;
	struct kube_result res;

	kube_result_from_reply(k->call, reply, k->name, &st, &res);
	if (res.outcome == KUBE_OK && k->call == KUBE_CALL_RESIZE) {
		char err[KUBE_ERRBUF] = "";

		/* The patch was applied whatever the body says; a bad body only loses the echo. */
		if (kube_pod_parse_json(reply->body, reply->len, &pod, err) < 0) {
			k->client->stats.parse_errors++;
			log_debug("kube: resize of %s accepted, reply unreadable: %s", k->name,
				  err);
		}
		res.pod = pod;
	} else if (res.outcome == KUBE_OK && k->call == KUBE_CALL_GET) {
		obj = cJSON_ParseWithLength(reply->body, reply->len);
		if (!cJSON_IsObject(obj)) {
			k->client->stats.parse_errors++;
			res.outcome = KUBE_BAD_REPLY;
			res.error = -EBADMSG;
			res.message = "reply is not a JSON object";
		} else {
			const cJSON *kind = cJSON_GetObjectItemCaseSensitive(obj, "kind");

			res.object = obj;
			res.replicas = replicas_of(obj);
			/* A pod read back (after a 409) is newer than the cache: the cache takes it
			 * before the callback, so a decision made there works on it. */
			if (cJSON_IsString(kind) && strcmp(kind->valuestring, "Pod") == 0 &&
			    kube_pod_parse(obj, &pod, NULL) >= 0) {
				kube_cache_offer(k->client, pod);
				pod = NULL;
			}
		}
	} else if (res.outcome == KUBE_OK &&
		   (k->call == KUBE_CALL_LIST_HPA || k->call == KUBE_CALL_LIST_HISTORY)) {
		obj = cJSON_ParseWithLength(reply->body, reply->len);
		if (!cJSON_IsObject(obj)) {
			k->client->stats.parse_errors++;
			res.outcome = KUBE_BAD_REPLY;
			res.error = -EBADMSG;
			res.message = "reply is not a JSON object";
		} else
			res.object = obj;
	} else if (res.outcome == KUBE_OK && k->call == KUBE_CALL_ANNOTATE) {
		/* The reply to a pod's annotation patch is the whole pod, newer than the cache. */
		const cJSON *kind;

		obj = cJSON_ParseWithLength(reply->body, reply->len);
		kind = cJSON_GetObjectItemCaseSensitive(obj, "kind");
		/* Unreadable: the watch brings the pod a little later, nothing is lost. */
		if (cJSON_IsString(kind) && strcmp(kind->valuestring, "Pod") == 0)
			(void)kube_pod_parse(obj, &pod, NULL);
	}
	if (k->done)
		k->done(&res, k->userdata);
	/* After the callback, which may hold res.pod: the cache takes the pod over. */
	kube_cache_offer(k->client, pod);
	kube_status_done(&st);
	call_free(k);
}

static void on_local(struct kube_request *r, const struct kube_reply *reply, void *userdata)
{
	struct call *k = userdata;
	struct kube_result res = {
		.call = k->call,
		.outcome = k->local_outcome,
		.message = k->local_message,
		.error = k->local_outcome == KUBE_NOT_SUPPORTED ? -EOPNOTSUPP
			 : k->local_outcome == KUBE_SUPPRESSED	? -EALREADY
								: -EAGAIN,
		.replicas = -1,
	};

	if (k->done)
		k->done(&res, k->userdata);
	call_free(k);
}

/* Completes a call without sending anything, from the loop (never inside the caller). */
static int complete_locally(struct kube_client *c, enum kube_call call, enum kube_outcome outcome,
			    const char *message, kube_done_t done, void *userdata)
{
	struct call *k = call_new(c, call, NULL, done, userdata);
	struct kube_request *r;
	int e;

	if (!k)
		return -ENOMEM;
	k->local_outcome = outcome;
	k->local_message = message;
	e = kube_request_new_local(c, call, &r);
	if (e < 0) {
		call_free(k);
		return e;
	}
	kube_request_submit(r, NULL, on_local, k);
	r->free_userdata = call_free;
	return 0;
}

static int send_call(struct kube_client *c, enum kube_call call, const char *method,
		     const char *path, const char *content_type, char *body, const char *name,
		     kube_done_t done, void *userdata)
{
	struct kube_request *r;
	struct call *k;
	int e;

	k = call_new(c, call, name, done, userdata);
	if (!k) {
		free(body);
		return -ENOMEM;
	}
	e = kube_request_new(c, call, method, path, content_type, body, &r);
	if (e < 0) {
		call_free(k);
		return e;
	}
	kube_request_submit(r, NULL, on_call_done, k);
	r->free_userdata = call_free;
	return 0;
}

static bool valid_name(const char *s)
{
	return s && *s && strlen(s) <= 253 && !strchr(s, '/');
}

static int object_path(const struct kube_object_ref *o, const char *suffix, char **ret)
{
	_cleanup_free_ char *ns = NULL, *name = NULL;
	const char *prefix, *plural;

	if (!o || !o->kind || !valid_name(o->namespace) || !valid_name(o->name))
		return -EINVAL;
	if (strcmp(o->kind, "Pod") == 0)
		prefix = "/api/v1", plural = "pods";
	else if (strcmp(o->kind, "ReplicaSet") == 0)
		prefix = "/apis/apps/v1", plural = "replicasets";
	else if (strcmp(o->kind, "StatefulSet") == 0)
		prefix = "/apis/apps/v1", plural = "statefulsets";
	else if (strcmp(o->kind, "DaemonSet") == 0)
		prefix = "/apis/apps/v1", plural = "daemonsets";
	else if (strcmp(o->kind, "Deployment") == 0)
		prefix = "/apis/apps/v1", plural = "deployments";
	else if (strcmp(o->kind, "Job") == 0)
		prefix = "/apis/batch/v1", plural = "jobs";
	else
		return -EOPNOTSUPP;
	ns = kube_path_escape(o->namespace);
	name = kube_path_escape(o->name);
	if (!ns || !name)
		return -ENOMEM;
	if (asprintf(ret, "%s/namespaces/%s/%s/%s%s", prefix, ns, plural, name, suffix ?: "") < 0)
		return -ENOMEM;
	return 0;
}

static char *print_json(cJSON *j)
{
	char *s = cJSON_PrintUnformatted(j);

	cJSON_Delete(j);
	return s;
}

static int add_quantity(cJSON *list, const char *key, int64_t v, bool cpu)
{
	char buf[64];
	int r;

	if (v == RESOURCE_UNSET)
		return 0;
	if (v < 0)
		return -EINVAL;
	r = cpu ? quantity_format_cpu(v, buf, sizeof(buf))
		: quantity_format_bytes(v, buf, sizeof(buf));
	if (r < 0)
		return r;
	return cJSON_AddStringToObject(list, key, buf) ? 0 : -ENOMEM;
}

/* One container of the patch: its name and the resources that change. */
static int resize_container(cJSON *arr, const struct kube_resize_container *rc)
{
	const struct resources *res = &rc->res;
	cJSON *ctr = cJSON_CreateObject(), *rr, *req, *lim;
	int r;

	if (!ctr)
		return -ENOMEM;
	cJSON_AddItemToArray(arr, ctr);
	if (!valid_name(rc->name))
		return -EINVAL;
	if (!cJSON_AddStringToObject(ctr, "name", rc->name) ||
	    !(rr = cJSON_AddObjectToObject(ctr, "resources")))
		return -ENOMEM;
	if (res->cpu_request != RESOURCE_UNSET || res->memory_request != RESOURCE_UNSET) {
		if (!(req = cJSON_AddObjectToObject(rr, "requests")))
			return -ENOMEM;
		if ((r = add_quantity(req, "cpu", res->cpu_request, true)) < 0 ||
		    (r = add_quantity(req, "memory", res->memory_request, false)) < 0)
			return r;
	}
	if (res->cpu_limit != RESOURCE_UNSET || res->memory_limit != RESOURCE_UNSET) {
		if (!(lim = cJSON_AddObjectToObject(rr, "limits")))
			return -ENOMEM;
		if ((r = add_quantity(lim, "cpu", res->cpu_limit, true)) < 0 ||
		    (r = add_quantity(lim, "memory", res->memory_limit, false)) < 0)
			return r;
	}
	return 0;
}

/* The strategic merge patch of container resources (merged by container name): app containers
 * under spec.containers, native sidecars under spec.initContainers. */
static int resize_body(const char *rv, const struct kube_resize_container *ctrs, size_t n,
		       char **ret)
{
	cJSON *root = cJSON_CreateObject(), *spec, *apps = NULL, *inits = NULL;
	int r = -ENOMEM;

	if (!root)
		return -ENOMEM;
	if (rv) {
		cJSON *meta = cJSON_AddObjectToObject(root, "metadata");

		if (!meta || !cJSON_AddStringToObject(meta, "resourceVersion", rv))
			goto fail;
	}
	spec = cJSON_AddObjectToObject(root, "spec");
	if (!spec)
		goto fail;
	for (size_t i = 0; i < n; i++) {
		cJSON **arr = ctrs[i].sidecar ? &inits : &apps;

		r = -ENOMEM;
		if (!*arr && !(*arr = cJSON_AddArrayToObject(
				       spec, ctrs[i].sidecar ? "initContainers" : "containers")))
			goto fail;
		r = resize_container(*arr, &ctrs[i]);
		if (r < 0)
			goto fail;
	}
	*ret = print_json(root);
	return *ret ? 0 : -ENOMEM;
fail:
	cJSON_Delete(root);
	return r;
}

int kube_resize(struct kube_client *c, const char *namespace, const char *name,
		const char *resource_version, const struct kube_resize_container *containers,
		size_t n_containers, kube_done_t done, void *userdata)
{
	struct kube_object_ref ref = { .kind = "Pod", .namespace = namespace, .name = name };
	_cleanup_free_ char *path = NULL;
	char *body = NULL;
	int r;

	if (n_containers == 0)
		return -EINVAL;
	if (c->path == KUBE_PATH_NONE)
		return complete_locally(c, KUBE_CALL_RESIZE, KUBE_NOT_SUPPORTED,
					"in-place resize is not available on this server", done,
					userdata);
	if (c->path == KUBE_PATH_UNKNOWN)
		return complete_locally(c, KUBE_CALL_RESIZE, KUBE_TRANSIENT,
					"the resize path is not discovered yet", done, userdata);
	/* ValidatePodUpdate of 1.27–1.31 lets a spec patch change app containers' resources only. */
	for (size_t i = 0; i < n_containers && c->path == KUBE_PATH_SPEC_PATCH; i++)
		if (containers[i].sidecar)
			return complete_locally(
				c, KUBE_CALL_RESIZE, KUBE_NOT_SUPPORTED,
				"a native sidecar is resized only through the resize "
				"subresource (Kubernetes 1.33+)",
				done, userdata);
	r = object_path(&ref, c->path == KUBE_PATH_SUBRESOURCE ? "/resize" : NULL, &path);
	if (r < 0)
		return r;
	r = resize_body(resource_version, containers, n_containers, &body);
	if (r < 0)
		return r;
	return send_call(c, KUBE_CALL_RESIZE, "PATCH", path,
			 "application/strategic-merge-patch+json", body, name, done, userdata);
}

int kube_evict(struct kube_client *c, const char *namespace, const char *name, const char *uid,
	       kube_done_t done, void *userdata)
{
	struct kube_object_ref ref = { .kind = "Pod", .namespace = namespace, .name = name };
	_cleanup_free_ char *path = NULL;
	cJSON *root, *meta;
	char *body;
	int r;

	r = object_path(&ref, "/eviction", &path);
	if (r < 0)
		return r;
	root = cJSON_CreateObject();
	if (!root)
		return -ENOMEM;
	meta = cJSON_AddObjectToObject(root, "metadata");
	if (!cJSON_AddStringToObject(root, "apiVersion", "policy/v1") ||
	    !cJSON_AddStringToObject(root, "kind", "Eviction") || !meta ||
	    !cJSON_AddStringToObject(meta, "name", name) ||
	    !cJSON_AddStringToObject(meta, "namespace", namespace))
		goto oom;
	if (uid) {
		cJSON *del = cJSON_AddObjectToObject(root, "deleteOptions");
		cJSON *pre = del ? cJSON_AddObjectToObject(del, "preconditions") : NULL;

		/* Evict the pod we decided about, not a namesake created since. */
		if (!pre || !cJSON_AddStringToObject(pre, "uid", uid))
			goto oom;
	}
	body = print_json(root);
	if (!body)
		return -ENOMEM;
	return send_call(c, KUBE_CALL_EVICT, "POST", path, "application/json", body, name, done,
			 userdata);
oom:
	cJSON_Delete(root);
	return -ENOMEM;
}

static const char *api_version_of(const struct kube_object_ref *o)
{
	if (o->api_version)
		return o->api_version;
	if (strcmp(o->kind, "Pod") == 0)
		return "v1";
	if (strcmp(o->kind, "Job") == 0)
		return "batch/v1";
	return "apps/v1";
}

/* true when an Event for this key was sent less than an interval ago; records it otherwise. */
static bool event_suppressed(struct kube_client *c, const char *key)
{
	uint64_t now = now_usec(CLOCK_MONOTONIC);
	size_t oldest = 0;

	for (size_t i = 0; i < c->n_event_keys; i++) {
		if (strcmp(c->event_keys[i].key, key) == 0) {
			if (now - c->event_keys[i].last_usec < c->event_interval_usec)
				return true;
			c->event_keys[i].last_usec = now;
			return false;
		}
		if (c->event_keys[i].last_usec < c->event_keys[oldest].last_usec)
			oldest = i;
	}
	if (c->n_event_keys < KUBE_MAX_EVENT_KEYS) {
		char *k = strdup(key);

		if (k)
			c->event_keys[c->n_event_keys++] = (struct kube_event_key){ k, now };
		return false;
	}
	/* Full: the least recently used key makes room (it is at least as old as any other). */
	{
		char *k = strdup(key);

		if (k) {
			free(c->event_keys[oldest].key);
			c->event_keys[oldest] = (struct kube_event_key){ k, now };
		}
	}
	return false;
}

static void rfc3339_now(char *buf, size_t size)
{
	time_t t = time(NULL);
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(buf, size, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

int kube_event(struct kube_client *c, const struct kube_object_ref *obj, const char *type,
	       const char *reason, const char *message, kube_done_t done, void *userdata)
{
	_cleanup_free_ char *key = NULL, *ns = NULL, *path = NULL, *name = NULL, *msg = NULL;
	cJSON *root, *meta, *inv, *src;
	char ts[32];
	char *body;

	if (!obj || !obj->kind || !valid_name(obj->namespace) || !valid_name(obj->name) ||
	    !reason || !*reason || !message || !type)
		return -EINVAL;
	if (strcmp(type, "Normal") != 0 && strcmp(type, "Warning") != 0)
		return -EINVAL;
	if (asprintf(&key, "%s/%s/%s\x1f%s", obj->namespace, obj->name, obj->uid ?: "", reason) < 0)
		return -ENOMEM;
	if (event_suppressed(c, key)) {
		c->stats.events_suppressed++;
		return complete_locally(c, KUBE_CALL_EVENT, KUBE_SUPPRESSED,
					"an Event with this reason was sent recently", done,
					userdata);
	}
	/* client-go's naming: <object>.<unix nanoseconds in hex>, plus a counter for bursts. */
	if (asprintf(&name, "%s.%llx%x", obj->name, (unsigned long long)now_nsec(CLOCK_REALTIME),
		     c->event_seq++ & 0xf) < 0)
		return -ENOMEM;
	msg = strndup(message, KUBE_EVENT_MESSAGE_MAX);
	ns = kube_path_escape(obj->namespace);
	if (!msg || !ns || asprintf(&path, "/api/v1/namespaces/%s/events", ns) < 0)
		return -ENOMEM;
	rfc3339_now(ts, sizeof(ts));

	root = cJSON_CreateObject();
	if (!root)
		return -ENOMEM;
	meta = cJSON_AddObjectToObject(root, "metadata");
	inv = cJSON_AddObjectToObject(root, "involvedObject");
	src = cJSON_AddObjectToObject(root, "source");
	if (!meta || !inv || !src || !cJSON_AddStringToObject(root, "apiVersion", "v1") ||
	    !cJSON_AddStringToObject(root, "kind", "Event") ||
	    !cJSON_AddStringToObject(meta, "name", name) ||
	    !cJSON_AddStringToObject(meta, "namespace", obj->namespace) ||
	    !cJSON_AddStringToObject(inv, "apiVersion", api_version_of(obj)) ||
	    !cJSON_AddStringToObject(inv, "kind", obj->kind) ||
	    !cJSON_AddStringToObject(inv, "namespace", obj->namespace) ||
	    !cJSON_AddStringToObject(inv, "name", obj->name) ||
	    (obj->uid && !cJSON_AddStringToObject(inv, "uid", obj->uid)) ||
	    !cJSON_AddStringToObject(root, "reason", reason) ||
	    !cJSON_AddStringToObject(root, "message", msg) ||
	    !cJSON_AddStringToObject(root, "type", type) ||
	    !cJSON_AddStringToObject(src, "component", c->component) ||
	    (c->node_name && !cJSON_AddStringToObject(src, "host", c->node_name)) ||
	    !cJSON_AddStringToObject(root, "firstTimestamp", ts) ||
	    !cJSON_AddStringToObject(root, "lastTimestamp", ts) ||
	    !cJSON_AddNumberToObject(root, "count", 1) ||
	    !cJSON_AddStringToObject(root, "reportingComponent", c->component) ||
	    !cJSON_AddStringToObject(root, "reportingInstance", c->node_name ?: c->component)) {
		cJSON_Delete(root);
		return -ENOMEM;
	}
	body = print_json(root);
	if (!body)
		return -ENOMEM;
	return send_call(c, KUBE_CALL_EVENT, "POST", path, "application/json", body, obj->name,
			 done, userdata);
}

/* The JSON merge patch {"metadata":{"labels":{...},"annotations":{...}}}: pairs key/value, a NULL
 * value deletes the key (null in a merge patch). Either list may be empty, not both. */
static int metadata_patch_body(const char *const *labels, size_t n_labels,
			       const char *const *annotations, size_t n_annotations, char **ret)
{
	const struct {
		const char *field;
		const char *const *kv;
		size_t n;
	} parts[] = { { "labels", labels, n_labels },
		      { "annotations", annotations, n_annotations } };
	cJSON *root, *meta;

	if (n_labels + n_annotations == 0)
		return -EINVAL;
	root = cJSON_CreateObject();
	meta = root ? cJSON_AddObjectToObject(root, "metadata") : NULL;
	if (!meta)
		goto oom;
	for (size_t p = 0; p < sizeof(parts) / sizeof(parts[0]); p++) {
		cJSON *obj;

		if (parts[p].n == 0)
			continue;
		obj = cJSON_AddObjectToObject(meta, parts[p].field);
		if (!obj)
			goto oom;
		for (size_t i = 0; i < parts[p].n; i++) {
			const char *k = parts[p].kv[2 * i], *v = parts[p].kv[2 * i + 1];

			if (!k || !*k) {
				cJSON_Delete(root);
				return -EINVAL;
			}
			if (!(v ? cJSON_AddStringToObject(obj, k, v)
				: cJSON_AddNullToObject(obj, k)))
				goto oom;
		}
	}
	*ret = print_json(root);
	return *ret ? 0 : -ENOMEM;
oom:
	cJSON_Delete(root);
	return -ENOMEM;
}

int kube_annotate(struct kube_client *c, const struct kube_object_ref *obj, const char *const *kv,
		  size_t n_pairs, kube_done_t done, void *userdata)
{
	_cleanup_free_ char *path = NULL;
	char *body;
	int r;

	if (n_pairs == 0)
		return -EINVAL;
	r = object_path(obj, NULL, &path);
	if (r < 0)
		return r;
	r = metadata_patch_body(NULL, 0, kv, n_pairs, &body);
	if (r < 0)
		return r;
	return send_call(c, KUBE_CALL_ANNOTATE, "PATCH", path, "application/merge-patch+json", body,
			 obj->name, done, userdata);
}

int kube_patch_pod_metadata(struct kube_client *c, const char *namespace, const char *name,
			    const char *const *labels, size_t n_labels,
			    const char *const *annotations, size_t n_annotations, kube_done_t done,
			    void *userdata)
{
	struct kube_object_ref ref = { .kind = "Pod", .namespace = namespace, .name = name };
	_cleanup_free_ char *path = NULL;
	char *body;
	int r;

	r = object_path(&ref, NULL, &path);
	if (r < 0)
		return r;
	r = metadata_patch_body(labels, n_labels, annotations, n_annotations, &body);
	if (r < 0)
		return r;
	return send_call(c, KUBE_CALL_ANNOTATE, "PATCH", path, "application/merge-patch+json", body,
			 name, done, userdata);
}

int kube_get(struct kube_client *c, const struct kube_object_ref *obj, kube_done_t done,
	     void *userdata)
{
	_cleanup_free_ char *path = NULL;
	int r;

	r = object_path(obj, NULL, &path);
	if (r < 0)
		return r;
	return send_call(c, KUBE_CALL_GET, "GET", path, NULL, NULL, obj->name, done, userdata);
}

int kube_get_node(struct kube_client *c, const char *name, kube_done_t done, void *userdata)
{
	_cleanup_free_ char *path = NULL, *n = NULL;

	if (!valid_name(name))
		return -EINVAL;
	n = kube_path_escape(name);
	if (!n)
		return -ENOMEM;
	if (asprintf(&path, "/api/v1/nodes/%s", n) < 0)
		return -ENOMEM;
	return send_call(c, KUBE_CALL_GET, "GET", path, NULL, NULL, name, done, userdata);
}

int kube_list_hpas(struct kube_client *c, const char *namespace, kube_done_t done, void *userdata)
{
	_cleanup_free_ char *path = NULL, *ns = NULL;

	if (!valid_name(namespace))
		return -EINVAL;
	ns = kube_path_escape(namespace);
	if (!ns)
		return -ENOMEM;
	if (asprintf(
		    &path,
		    "/apis/autoscaling/v2/namespaces/%s/horizontalpodautoscalers?resourceVersion=0",
		    ns) < 0)
		return -ENOMEM;
	return send_call(c, KUBE_CALL_LIST_HPA, "GET", path, NULL, NULL, namespace, done, userdata);
}

bool kube_label_value_valid(const char *s)
{
	size_t n = s ? strlen(s) : 0;

	if (n == 0 || n > 63)
		return false;
	for (const char *p = s; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		      (*p >= '0' && *p <= '9') || *p == '-' || *p == '_' || *p == '.'))
			return false;
	/* A label value starts and ends with an alphanumeric character. */
	return s[0] != '-' && s[0] != '_' && s[0] != '.' && s[n - 1] != '-' && s[n - 1] != '_' &&
	       s[n - 1] != '.';
}

int kube_list_histories(struct kube_client *c, const char *namespace, const char *workload_key,
			kube_done_t done, void *userdata)
{
	_cleanup_free_ char *path = NULL, *ns = NULL;

	if (!valid_name(namespace) || !workload_key || !kube_label_value_valid(workload_key))
		return -EINVAL;
	ns = kube_path_escape(namespace);
	if (!ns)
		return -ENOMEM;
	/* No resourceVersion=0: a new replica's first decision waits for this answer, which must
	 * hold the entries written up to now, not the watch cache's view (there is no watch cache
	 * for a resource nobody watches anyway). */
	/* At most KUBE_HISTORY_LIST_LIMIT entries (the first ones by name: the same nodes' for every
	 * reader, so every node merges the same sample of a DaemonSet's thousands of entries). */
	if (asprintf(&path,
		     "/apis/snug.io/v1alpha1/namespaces/%s/workloadhistories"
		     "?labelSelector=snug.io%%2Fworkload%%3D%s&limit=%d",
		     ns, workload_key, KUBE_HISTORY_LIST_LIMIT) < 0)
		return -ENOMEM;
	return send_call(c, KUBE_CALL_LIST_HISTORY, "GET", path, NULL, NULL, namespace, done,
			 userdata);
}

/* The escaped namespace and (name may be NULL) name of an entry. */
static int history_parts(const char *namespace, const char *name, char **ret_ns, char **ret_name)
{
	_cleanup_free_ char *ns = NULL, *n = NULL;

	if (!valid_name(namespace) || (name && !valid_name(name)))
		return -EINVAL;
	ns = kube_path_escape(namespace);
	n = name ? kube_path_escape(name) : strdup("");
	if (!ns || !n)
		return -ENOMEM;
	*ret_ns = TAKE_PTR(ns);
	*ret_name = TAKE_PTR(n);
	return 0;
}

int kube_patch_history(struct kube_client *c, const char *namespace, const char *name, char *body,
		       kube_done_t done, void *userdata)
{
	_cleanup_free_ char *path = NULL, *ns = NULL, *n = NULL;
	int r = name ? history_parts(namespace, name, &ns, &n) : -EINVAL;

	if (r >= 0 &&
	    asprintf(&path, "/apis/snug.io/v1alpha1/namespaces/%s/workloadhistories/%s", ns, n) < 0)
		r = -ENOMEM;
	if (r < 0) {
		free(body);
		return r;
	}
	return send_call(c, KUBE_CALL_PATCH_HISTORY, "PATCH", path, "application/merge-patch+json",
			 body, name, done, userdata);
}

int kube_create_history(struct kube_client *c, const char *namespace, char *body, kube_done_t done,
			void *userdata)
{
	_cleanup_free_ char *path = NULL, *ns = NULL, *n = NULL;
	int r = history_parts(namespace, NULL, &ns, &n);

	if (r >= 0 &&
	    asprintf(&path, "/apis/snug.io/v1alpha1/namespaces/%s/workloadhistories", ns) < 0)
		r = -ENOMEM;
	if (r < 0) {
		free(body);
		return r;
	}
	return send_call(c, KUBE_CALL_CREATE_HISTORY, "POST", path, "application/json", body,
			 namespace, done, userdata);
}

int kube_delete_history(struct kube_client *c, const char *namespace, const char *name,
			kube_done_t done, void *userdata)
{
	_cleanup_free_ char *path = NULL, *ns = NULL, *n = NULL;
	int r = name ? history_parts(namespace, name, &ns, &n) : -EINVAL;

	if (r < 0)
		return r;
	if (asprintf(&path, "/apis/snug.io/v1alpha1/namespaces/%s/workloadhistories/%s", ns, n) < 0)
		return -ENOMEM;
	return send_call(c, KUBE_CALL_DELETE_HISTORY, "DELETE", path, NULL, NULL, name, done,
			 userdata);
}
