/* The webhook's pure logic: AdmissionReview in, the owner's recommendation parsed, JSONPatch and
 * AdmissionReview response out. Every field read has an explicit error path: whatever comes in,
 * the caller can still answer "allowed" (fail open). */
#include "agent/webhook.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent/decide.h"
#include "agent/util/cleanup.h"
#include "agent/util/quantity.h"

static void cjson_deletep(cJSON **p)
{
	if (*p)
		cJSON_Delete(*p);
}
#define _cleanup_cjson_ _cleanup_(cjson_deletep)

static int fail(char *errbuf, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int fail(char *errbuf, const char *fmt, ...)
{
	if (errbuf) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(errbuf, WEBHOOK_ERRBUF, fmt, ap);
		va_end(ap);
	}
	return -EINVAL;
}

static const char *get_string(const cJSON *obj, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
	return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* A string member that may be absent (NULL) but must be a string when present. */
static int opt_string(const cJSON *obj, const char *key, const char **ret)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
	if (!v || cJSON_IsNull(v)) {
		*ret = NULL;
		return 0;
	}
	if (!cJSON_IsString(v) || !v->valuestring)
		return -EINVAL;
	*ret = v->valuestring;
	return 0;
}

static int strdup_or_null(const char *s, char **ret)
{
	if (!s) {
		*ret = NULL;
		return 0;
	}
	*ret = strdup(s);
	return *ret ? 0 : -ENOMEM;
}

/* ---- AdmissionReview ------------------------------------------------------------------------ */

struct webhook_request *webhook_request_free(struct webhook_request *r)
{
	if (!r)
		return NULL;
	free(r->uid);
	free(r->operation);
	free(r->namespace);
	free(r->name);
	free(r->owner.api_version);
	free(r->owner.kind);
	free(r->owner.name);
	free(r->owner.uid);
	cJSON_Delete(r->root);
	free(r);
	return NULL;
}
static void webhook_request_freep(struct webhook_request **r)
{
	webhook_request_free(*r);
}

/* ownerReferences[controller=true]; none is fine (a bare pod), a malformed list is not. */
static int parse_owner(const cJSON *meta, struct webhook_request *r, char *errbuf)
{
	const cJSON *refs = cJSON_GetObjectItemCaseSensitive(meta, "ownerReferences");
	const cJSON *ref;

	if (!refs || cJSON_IsNull(refs))
		return 0;
	if (!cJSON_IsArray(refs))
		return fail(errbuf, "metadata.ownerReferences is not a list");
	cJSON_ArrayForEach (ref, refs) {
		const cJSON *ctl;
		const char *kind, *name, *api, *uid;

		if (!cJSON_IsObject(ref))
			return fail(errbuf, "metadata.ownerReferences[] is not an object");
		ctl = cJSON_GetObjectItemCaseSensitive(ref, "controller");
		if (!cJSON_IsTrue(ctl))
			continue;
		kind = get_string(ref, "kind");
		name = get_string(ref, "name");
		api = get_string(ref, "apiVersion");
		if (!kind || !*kind || !name || !*name || !api || !*api)
			return fail(errbuf,
				    "controller ownerReference lacks kind, name or apiVersion");
		if (opt_string(ref, "uid", &uid) < 0)
			return fail(errbuf, "ownerReference uid is not a string");
		if (r->has_owner)
			return fail(errbuf, "more than one controller ownerReference");
		if (strdup_or_null(kind, &r->owner.kind) < 0 ||
		    strdup_or_null(name, &r->owner.name) < 0 ||
		    strdup_or_null(api, &r->owner.api_version) < 0 ||
		    strdup_or_null(uid, &r->owner.uid) < 0)
			return -ENOMEM;
		r->has_owner = true;
	}
	return 0;
}

int webhook_request_parse(const char *buf, size_t len, struct webhook_request **ret, char **ret_uid,
			  char *errbuf)
{
	_cleanup_(webhook_request_freep) struct webhook_request *r = NULL;
	const cJSON *req, *kind, *v, *meta;
	const char *s, *uid, *group, *version, *k, *sub;
	int rc;

	if (!buf || len == 0)
		return fail(errbuf, "empty body");
	if (len > WEBHOOK_MAX_BODY)
		return fail(errbuf, "body of %zu bytes is too large", len);
	r = calloc(1, sizeof(*r));
	if (!r)
		return -ENOMEM;
	r->root = cJSON_ParseWithLength(buf, len);
	if (!r->root)
		return fail(errbuf, "body is not JSON");
	if (!cJSON_IsObject(r->root))
		return fail(errbuf, "body is not a JSON object");
	req = cJSON_GetObjectItemCaseSensitive(r->root, "request");
	if (!cJSON_IsObject(req))
		return fail(errbuf, "no request object");
	/* The uid first: with it, even a review we cannot use gets a well-formed "allowed". */
	uid = get_string(req, "uid");
	if (!uid || !*uid)
		return fail(errbuf, "request.uid missing");
	if (ret_uid) {
		*ret_uid = strdup(uid);
		if (!*ret_uid)
			return -ENOMEM;
	}
	r->uid = strdup(uid);
	if (!r->uid)
		return -ENOMEM;

	s = get_string(r->root, "apiVersion");
	if (!s || strcmp(s, "admission.k8s.io/v1") != 0)
		return fail(errbuf, "apiVersion is not admission.k8s.io/v1");
	s = get_string(r->root, "kind");
	if (!s || strcmp(s, "AdmissionReview") != 0)
		return fail(errbuf, "kind is not AdmissionReview");

	s = get_string(req, "operation");
	if (!s || !*s)
		return fail(errbuf, "request.operation missing");
	if (strdup_or_null(s, &r->operation) < 0)
		return -ENOMEM;
	if (opt_string(req, "namespace", &s) < 0)
		return fail(errbuf, "request.namespace is not a string");
	if (strdup_or_null(s, &r->namespace) < 0)
		return -ENOMEM;
	if (opt_string(req, "name", &s) < 0)
		return fail(errbuf, "request.name is not a string");
	if (strdup_or_null(s, &r->name) < 0)
		return -ENOMEM;
	v = cJSON_GetObjectItemCaseSensitive(req, "dryRun");
	r->dry_run = cJSON_IsTrue(v);

	kind = cJSON_GetObjectItemCaseSensitive(req, "kind");
	if (!cJSON_IsObject(kind))
		return fail(errbuf, "request.kind missing");
	group = get_string(kind, "group");
	version = get_string(kind, "version");
	k = get_string(kind, "kind");
	if (!group || !version || !k)
		return fail(errbuf, "request.kind lacks group, version or kind");
	if (opt_string(req, "subResource", &sub) < 0)
		return fail(errbuf, "request.subResource is not a string");
	r->is_pod = strcmp(group, "") == 0 && strcmp(version, "v1") == 0 && strcmp(k, "Pod") == 0 &&
		    (!sub || !*sub);

	v = cJSON_GetObjectItemCaseSensitive(req, "object");
	if (v && !cJSON_IsNull(v)) {
		if (!cJSON_IsObject(v))
			return fail(errbuf, "request.object is not an object");
		r->object = (cJSON *)v;
	}
	if (r->is_pod && r->object) {
		meta = cJSON_GetObjectItemCaseSensitive(r->object, "metadata");
		if (meta && !cJSON_IsObject(meta))
			return fail(errbuf, "object.metadata is not an object");
		if (meta) {
			rc = parse_owner(meta, r, errbuf);
			if (rc < 0)
				return rc;
			if (!r->namespace) {
				if (opt_string(meta, "namespace", &s) < 0)
					return fail(errbuf,
						    "object.metadata.namespace is not a string");
				if (strdup_or_null(s, &r->namespace) < 0)
					return -ENOMEM;
			}
			if (!r->name) {
				if (opt_string(meta, "name", &s) < 0 ||
				    (!s && opt_string(meta, "generateName", &s) < 0))
					return fail(errbuf, "object.metadata.name is not a string");
				if (strdup_or_null(s, &r->name) < 0)
					return -ENOMEM;
			}
		}
	}
	*ret = TAKE_PTR(r);
	return 0;
}

/* ---- the recommendation annotation ---------------------------------------------------------- */

struct webhook_rec *webhook_rec_free(struct webhook_rec *r)
{
	if (!r)
		return NULL;
	for (size_t i = 0; i < r->n_containers; i++)
		free(r->containers[i].name);
	free(r->containers);
	free(r->node);
	free(r->reason);
	free(r);
	return NULL;
}
static void webhook_rec_freep(struct webhook_rec **r)
{
	webhook_rec_free(*r);
}

/* A quantity as the API accepts it: a string, or a plain JSON number. */
static int parse_quantity(const cJSON *v, bool cpu, int64_t *ret)
{
	char buf[64];
	const char *s;

	if (cJSON_IsString(v) && v->valuestring)
		s = v->valuestring;
	else if (cJSON_IsNumber(v)) {
		if (!(v->valuedouble >= 0 && v->valuedouble < 9e18))
			return -ERANGE;
		snprintf(buf, sizeof(buf), "%.17g", v->valuedouble);
		s = buf;
	} else
		return -EINVAL;
	return cpu ? quantity_parse_cpu_millis(s, ret) : quantity_parse_bytes(s, ret);
}

/* {"cpu":..,"memory":..} of the annotation; values must be positive. */
static int rec_pair(const cJSON *c, const char *key, int64_t *cpu, int64_t *mem, char *errbuf)
{
	const cJSON *o = cJSON_GetObjectItemCaseSensitive(c, key), *v;
	int64_t x;

	*cpu = *mem = RESOURCE_UNSET;
	if (!o || cJSON_IsNull(o))
		return 0;
	if (!cJSON_IsObject(o))
		return fail(errbuf, "%s is not an object", key);
	v = cJSON_GetObjectItemCaseSensitive(o, "cpu");
	if (v && !cJSON_IsNull(v)) {
		if (parse_quantity(v, true, &x) < 0 || x <= 0)
			return fail(errbuf, "%s.cpu is not a positive quantity", key);
		*cpu = x;
	}
	v = cJSON_GetObjectItemCaseSensitive(o, "memory");
	if (v && !cJSON_IsNull(v)) {
		if (parse_quantity(v, false, &x) < 0 || x <= 0)
			return fail(errbuf, "%s.memory is not a positive quantity", key);
		*mem = x;
	}
	return 0;
}

int webhook_rec_parse(const char *text, struct webhook_rec **ret, char *errbuf)
{
	_cleanup_cjson_ cJSON *root = NULL;
	_cleanup_(webhook_rec_freep) struct webhook_rec *r = NULL;
	const cJSON *cs, *c, *v;
	const char *s;
	size_t n;
	int rc;

	if (!text)
		return fail(errbuf, "no annotation");
	root = cJSON_Parse(text);
	if (!root)
		return fail(errbuf, "annotation is not JSON");
	if (!cJSON_IsObject(root))
		return fail(errbuf, "annotation is not a JSON object");
	r = calloc(1, sizeof(*r));
	if (!r)
		return -ENOMEM;
	v = cJSON_GetObjectItemCaseSensitive(root, "at");
	if (v && !cJSON_IsNull(v)) {
		if (!cJSON_IsNumber(v) || !(v->valuedouble >= 0 && v->valuedouble < 1e15))
			return fail(errbuf, "\"at\" is not a time in seconds");
		r->at = (int64_t)v->valuedouble;
	}
	if (opt_string(root, "node", &s) < 0)
		return fail(errbuf, "\"node\" is not a string");
	if (strdup_or_null(s, &r->node) < 0)
		return -ENOMEM;
	if (opt_string(root, "reason", &s) < 0)
		return fail(errbuf, "\"reason\" is not a string");
	if (strdup_or_null(s, &r->reason) < 0)
		return -ENOMEM;

	cs = cJSON_GetObjectItemCaseSensitive(root, "containers");
	if (!cJSON_IsArray(cs))
		return fail(errbuf, "\"containers\" is not a list");
	n = (size_t)cJSON_GetArraySize(cs);
	if (n > 256)
		return fail(errbuf, "too many containers");
	r->containers = calloc(n ? n : 1, sizeof(*r->containers));
	if (!r->containers)
		return -ENOMEM;
	cJSON_ArrayForEach (c, cs) {
		struct webhook_rec_container *rc_ = &r->containers[r->n_containers];

		if (!cJSON_IsObject(c))
			return fail(errbuf, "containers[] is not an object");
		s = get_string(c, "name");
		if (!s || !*s)
			return fail(errbuf, "containers[].name missing");
		if (webhook_rec_container(r, s))
			return fail(errbuf, "container %.64s listed twice", s);
		rc_->name = strdup(s);
		if (!rc_->name)
			return -ENOMEM;
		r->n_containers++;
		rc = rec_pair(c, "requests", &rc_->cpu_request, &rc_->memory_request, errbuf);
		if (rc < 0)
			return rc;
		rc = rec_pair(c, "limits", &rc_->cpu_limit, &rc_->memory_limit, errbuf);
		if (rc < 0)
			return rc;
	}
	*ret = TAKE_PTR(r);
	return 0;
}

const struct webhook_rec_container *webhook_rec_container(const struct webhook_rec *r,
							  const char *name)
{
	for (size_t i = 0; i < r->n_containers; i++)
		if (strcmp(r->containers[i].name, name) == 0)
			return &r->containers[i];
	return NULL;
}

static int add_quantity(cJSON *obj, const char *key, int64_t v, bool cpu)
{
	char buf[64];
	int rc;

	if (v == RESOURCE_UNSET)
		return 0;
	rc = cpu ? quantity_format_cpu(v, buf, sizeof(buf))
		 : quantity_format_bytes(v, buf, sizeof(buf));
	if (rc < 0)
		return rc;
	return cJSON_AddStringToObject(obj, key, buf) ? 0 : -ENOMEM;
}

int webhook_rec_format(const struct webhook_rec *rec, char **ret)
{
	_cleanup_cjson_ cJSON *root = cJSON_CreateObject();
	cJSON *cs;
	char *s;
	int rc;

	if (!root || !cJSON_AddNumberToObject(root, "at", (double)rec->at))
		return -ENOMEM;
	if (rec->node && !cJSON_AddStringToObject(root, "node", rec->node))
		return -ENOMEM;
	if (rec->reason && !cJSON_AddStringToObject(root, "reason", rec->reason))
		return -ENOMEM;
	cs = cJSON_AddArrayToObject(root, "containers");
	if (!cs)
		return -ENOMEM;
	for (size_t i = 0; i < rec->n_containers; i++) {
		const struct webhook_rec_container *c = &rec->containers[i];
		cJSON *o = cJSON_CreateObject(), *req, *lim;

		if (!o || !cJSON_AddItemToArray(cs, o))
			return cJSON_Delete(o), -ENOMEM;
		if (!cJSON_AddStringToObject(o, "name", c->name))
			return -ENOMEM;
		req = cJSON_AddObjectToObject(o, "requests");
		lim = cJSON_AddObjectToObject(o, "limits");
		if (!req || !lim)
			return -ENOMEM;
		if ((rc = add_quantity(req, "cpu", c->cpu_request, true)) < 0 ||
		    (rc = add_quantity(req, "memory", c->memory_request, false)) < 0 ||
		    (rc = add_quantity(lim, "cpu", c->cpu_limit, true)) < 0 ||
		    (rc = add_quantity(lim, "memory", c->memory_limit, false)) < 0)
			return rc;
	}
	s = cJSON_PrintUnformatted(root);
	if (!s)
		return -ENOMEM;
	*ret = s;
	return 0;
}

/* ---- the patch ------------------------------------------------------------------------------ */

/* resources.{requests,limits}.{cpu,memory} of a container; a request absent with a limit set is
 * the limit (the API server defaults it so). */
static int container_resources(const cJSON *c, struct resources *ret, char *errbuf)
{
	const cJSON *res = cJSON_GetObjectItemCaseSensitive(c, "resources");
	struct resources r = { RESOURCE_UNSET, RESOURCE_UNSET, RESOURCE_UNSET, RESOURCE_UNSET };
	static const char *const keys[2] = { "requests", "limits" };

	if (res && !cJSON_IsNull(res)) {
		if (!cJSON_IsObject(res))
			return fail(errbuf, "container resources is not an object");
		for (size_t k = 0; k < 2; k++) {
			const cJSON *o = cJSON_GetObjectItemCaseSensitive(res, keys[k]), *v;
			int64_t *cpu = k == 0 ? &r.cpu_request : &r.cpu_limit;
			int64_t *mem = k == 0 ? &r.memory_request : &r.memory_limit;

			if (!o || cJSON_IsNull(o))
				continue;
			if (!cJSON_IsObject(o))
				return fail(errbuf, "resources.%s is not an object", keys[k]);
			v = cJSON_GetObjectItemCaseSensitive(o, "cpu");
			if (v && parse_quantity(v, true, cpu) < 0)
				return fail(errbuf, "resources.%s.cpu is not a quantity", keys[k]);
			v = cJSON_GetObjectItemCaseSensitive(o, "memory");
			if (v && parse_quantity(v, false, mem) < 0)
				return fail(errbuf, "resources.%s.memory is not a quantity",
					    keys[k]);
		}
	}
	if (r.cpu_request == RESOURCE_UNSET)
		r.cpu_request = r.cpu_limit;
	if (r.memory_request == RESOURCE_UNSET)
		r.memory_request = r.memory_limit;
	*ret = r;
	return 0;
}

static const cJSON *pod_containers(const cJSON *pod, const char *key, char *errbuf, int *rc)
{
	const cJSON *spec = cJSON_GetObjectItemCaseSensitive(pod, "spec"), *cs;

	*rc = 0;
	if (!cJSON_IsObject(spec)) {
		*rc = fail(errbuf, "pod has no spec");
		return NULL;
	}
	cs = cJSON_GetObjectItemCaseSensitive(spec, key);
	if (!cs || cJSON_IsNull(cs))
		return NULL;
	if (!cJSON_IsArray(cs))
		*rc = fail(errbuf, "spec.%s is not a list", key);
	return cs;
}

int webhook_pod_qos(const cJSON *pod, enum qos_class *ret)
{
	const cJSON *apps, *inits, *c;
	_cleanup_free_ struct decide_container *cs = NULL;
	_cleanup_free_ struct decide_init_container *ics = NULL;
	struct decide_pod p = { .resources = { RESOURCE_UNSET, RESOURCE_UNSET, RESOURCE_UNSET,
					       RESOURCE_UNSET } };
	int n_apps, n_inits, rc;

	/* Kubernetes' rule (ComputePodQOS), the one decide applies for the agent. */
	apps = pod_containers(pod, "containers", NULL, &rc);
	if (rc < 0)
		return rc;
	inits = pod_containers(pod, "initContainers", NULL, &rc);
	if (rc < 0)
		return rc;
	n_apps = cJSON_GetArraySize(apps);
	n_inits = cJSON_GetArraySize(inits);
	if (n_apps <= 0 || n_apps + n_inits > DECIDE_MAX_CONTAINERS)
		return -EINVAL;
	cs = calloc((size_t)n_apps, sizeof(*cs));
	ics = calloc((size_t)n_inits + 1, sizeof(*ics));
	if (!cs || !ics)
		return -ENOMEM;
	cJSON_ArrayForEach (c, apps) {
		if (!cJSON_IsObject(c))
			return -EINVAL;
		rc = container_resources(c, &cs[p.n_containers++].res, NULL);
		if (rc < 0)
			return rc;
	}
	cJSON_ArrayForEach (c, inits) {
		if (!cJSON_IsObject(c))
			return -EINVAL;
		rc = container_resources(c, &ics[p.n_init_containers++].res, NULL);
		if (rc < 0)
			return rc;
	}
	p.containers = cs;
	p.init_containers = ics;
	*ret = decide_pod_qos(&p);
	return 0;
}

/* One resource of one container: the new request and limit. A limit the recommendation names is
 * the agent's own decision (an OOM kill raises the limit, not the request) and is taken as is; a
 * recommended request alone moves the limit with it, keeping their ratio. */
static void new_values(int64_t old_req, int64_t old_lim, int64_t rec_req, int64_t rec_lim,
		       int64_t cap, bool guaranteed, int64_t *ret_req, int64_t *ret_lim)
{
	int64_t req = rec_req, lim;

	if (rec_lim != RESOURCE_UNSET && old_lim != RESOURCE_UNSET) {
		lim = rec_lim;
		if (guaranteed || old_lim == old_req) {
			/* request == limit stays so: the limit is what keeps the container alive */
			if (cap != RESOURCE_UNSET && lim > cap)
				lim = cap;
			*ret_req = *ret_lim = lim;
			return;
		}
		if (req == RESOURCE_UNSET)
			req = old_req;
		else if (cap != RESOURCE_UNSET && req > cap)
			req = cap;
		/* the API server refuses a request above its limit */
		if (req != RESOURCE_UNSET && req > lim)
			req = lim;
		*ret_req = req;
		*ret_lim = lim;
		return;
	}
	if (rec_req == RESOURCE_UNSET) {
		*ret_req = old_req;
		*ret_lim = old_lim;
		return;
	}
	if (cap != RESOURCE_UNSET && req > cap)
		req = cap;
	if (guaranteed || (old_lim != RESOURCE_UNSET && old_lim == old_req))
		lim = old_lim == RESOURCE_UNSET ? RESOURCE_UNSET : req;
	else if (old_lim == RESOURCE_UNSET)
		lim = RESOURCE_UNSET;
	else if (old_req == RESOURCE_UNSET || old_req <= 0)
		/* A limit without a usable request has no ratio to keep: the limit stays, and the
		 * request may not exceed it. */
		lim = old_lim, req = req > old_lim ? old_lim : req;
	else
		lim = decide_ratio_limit(old_lim, req, old_req);
	*ret_req = req;
	*ret_lim = lim;
}

/* Whether one container's resources are what a Guaranteed pod needs of every container. */
static bool res_guaranteed(const struct resources *r)
{
	return r->cpu_limit != RESOURCE_UNSET && r->memory_limit != RESOURCE_UNSET &&
	       r->cpu_request == r->cpu_limit && r->memory_request == r->memory_limit;
}

/* Copies `old` (a requests/limits object or NULL) with cpu and memory set to the new values. */
static int merged_object(const cJSON *res, const char *key, int64_t cpu, int64_t mem, cJSON **ret)
{
	const cJSON *old = res ? cJSON_GetObjectItemCaseSensitive(res, key) : NULL;
	_cleanup_cjson_ cJSON *o = NULL;
	int rc;

	o = cJSON_IsObject(old) ? cJSON_Duplicate(old, true) : cJSON_CreateObject();
	if (!o)
		return -ENOMEM;
	cJSON_DeleteItemFromObjectCaseSensitive(o, "cpu");
	cJSON_DeleteItemFromObjectCaseSensitive(o, "memory");
	if ((rc = add_quantity(o, "cpu", cpu, true)) < 0 ||
	    (rc = add_quantity(o, "memory", mem, false)) < 0)
		return rc;
	*ret = TAKE_PTR(o);
	return 0;
}

static int add_op(cJSON *patch, const char *path, cJSON *value)
{
	cJSON *op = cJSON_CreateObject();

	if (!op || !cJSON_AddItemToArray(patch, op)) {
		cJSON_Delete(op);
		cJSON_Delete(value);
		return -ENOMEM;
	}
	if (!cJSON_AddStringToObject(op, "op", "add") ||
	    !cJSON_AddStringToObject(op, "path", path) ||
	    !cJSON_AddItemToObject(op, "value", value))
		return -ENOMEM;
	return 0;
}

int webhook_compute_patch(const cJSON *pod, const struct webhook_rec *rec,
			  const struct webhook_caps *caps, cJSON **ret_patch, char *errbuf)
{
	_cleanup_cjson_ cJSON *patch = NULL;
	const struct webhook_caps nocaps = { RESOURCE_UNSET, RESOURCE_UNSET };
	const cJSON *cs, *c;
	enum qos_class qos;
	bool all_guaranteed = true;
	size_t idx = 0;
	int rc;

	if (!caps)
		caps = &nocaps;
	if (!cJSON_IsObject(pod))
		return fail(errbuf, "object is not a pod");
	cs = pod_containers(pod, "containers", errbuf, &rc);
	if (rc < 0)
		return rc;
	if (!cs || cJSON_GetArraySize(cs) == 0)
		return fail(errbuf, "pod has no containers");
	rc = webhook_pod_qos(pod, &qos);
	if (rc < 0)
		return fail(errbuf, "pod containers or resources do not parse");
	patch = cJSON_CreateArray();
	if (!patch)
		return -ENOMEM;
	/* BestEffort stays BestEffort: any request would change the class. */
	if (qos == QOS_BEST_EFFORT) {
		*ret_patch = TAKE_PTR(patch);
		return 0;
	}
	cJSON_ArrayForEach (c, cs) {
		const struct webhook_rec_container *want;
		const cJSON *res;
		struct resources old, now;
		const char *name;
		char path[96];
		bool guaranteed = qos == QOS_GUARANTEED;

		name = get_string(c, "name");
		if (!name)
			return fail(errbuf, "containers[%zu] has no name", idx);
		rc = container_resources(c, &old, errbuf);
		if (rc < 0)
			return rc;
		want = webhook_rec_container(rec, name);
		if (!want) {
			all_guaranteed = all_guaranteed && res_guaranteed(&old);
			idx++;
			continue;
		}
		new_values(old.cpu_request, old.cpu_limit, want->cpu_request, want->cpu_limit,
			   caps->max_cpu, guaranteed, &now.cpu_request, &now.cpu_limit);
		new_values(old.memory_request, old.memory_limit, want->memory_request,
			   want->memory_limit, caps->max_memory, guaranteed, &now.memory_request,
			   &now.memory_limit);
		all_guaranteed = all_guaranteed && res_guaranteed(&now);

		res = cJSON_GetObjectItemCaseSensitive(c, "resources");
		if (!cJSON_IsObject(res))
			res = NULL;
		if (!res &&
		    (now.cpu_request != RESOURCE_UNSET || now.memory_request != RESOURCE_UNSET)) {
			cJSON *empty = cJSON_CreateObject();
			if (!empty)
				return -ENOMEM;
			snprintf(path, sizeof(path), "/spec/containers/%zu/resources", idx);
			if ((rc = add_op(patch, path, empty)) < 0)
				return rc;
		}
		if (now.cpu_request != old.cpu_request ||
		    now.memory_request != old.memory_request) {
			cJSON *o;
			if ((rc = merged_object(res, "requests", now.cpu_request,
						now.memory_request, &o)) < 0)
				return rc;
			snprintf(path, sizeof(path), "/spec/containers/%zu/resources/requests",
				 idx);
			if ((rc = add_op(patch, path, o)) < 0)
				return rc;
		}
		if (now.cpu_limit != old.cpu_limit || now.memory_limit != old.memory_limit) {
			cJSON *o;
			if ((rc = merged_object(res, "limits", now.cpu_limit, now.memory_limit,
						&o)) < 0)
				return rc;
			snprintf(path, sizeof(path), "/spec/containers/%zu/resources/limits", idx);
			if ((rc = add_op(patch, path, o)) < 0)
				return rc;
		}
		idx++;
	}
	/* Limits taken from the recommendation could make a Burstable pod Guaranteed (a different
	 * eviction order and CPU manager treatment): the owner did not ask for that. */
	if (qos == QOS_BURSTABLE && all_guaranteed) {
		const cJSON *init = pod_containers(pod, "initContainers", errbuf, &rc);

		if (rc < 0)
			return rc;
		cJSON_ArrayForEach (c, init) {
			struct resources r;

			rc = container_resources(c, &r, errbuf);
			if (rc < 0)
				return rc;
			all_guaranteed = all_guaranteed && res_guaranteed(&r);
		}
		if (all_guaranteed)
			return fail(errbuf, "the recommendation would make the pod Guaranteed");
	}
	*ret_patch = TAKE_PTR(patch);
	return 0;
}

static char *base64(const char *in, size_t len)
{
	static const char tab[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	char *out = malloc((len + 2) / 3 * 4 + 1), *o = out;
	size_t i;

	if (!out)
		return NULL;
	for (i = 0; i + 2 < len; i += 3) {
		uint32_t v = (uint32_t)(unsigned char)in[i] << 16 |
			     (uint32_t)(unsigned char)in[i + 1] << 8 | (unsigned char)in[i + 2];
		*o++ = tab[v >> 18 & 63];
		*o++ = tab[v >> 12 & 63];
		*o++ = tab[v >> 6 & 63];
		*o++ = tab[v & 63];
	}
	if (i < len) {
		uint32_t v = (uint32_t)(unsigned char)in[i] << 16;
		if (i + 1 < len)
			v |= (uint32_t)(unsigned char)in[i + 1] << 8;
		*o++ = tab[v >> 18 & 63];
		*o++ = tab[v >> 12 & 63];
		*o++ = i + 1 < len ? tab[v >> 6 & 63] : '=';
		*o++ = '=';
	}
	*o = 0;
	return out;
}

int webhook_response(const char *uid, const cJSON *patch, char **ret)
{
	_cleanup_cjson_ cJSON *root = cJSON_CreateObject();
	cJSON *resp;
	char *s;

	if (!root || !cJSON_AddStringToObject(root, "apiVersion", "admission.k8s.io/v1") ||
	    !cJSON_AddStringToObject(root, "kind", "AdmissionReview"))
		return -ENOMEM;
	resp = cJSON_AddObjectToObject(root, "response");
	if (!resp || !cJSON_AddStringToObject(resp, "uid", uid ? uid : "") ||
	    !cJSON_AddTrueToObject(resp, "allowed"))
		return -ENOMEM;
	if (patch && cJSON_GetArraySize(patch) > 0) {
		_cleanup_free_ char *text = cJSON_PrintUnformatted(patch);
		_cleanup_free_ char *b64 = NULL;

		if (!text)
			return -ENOMEM;
		b64 = base64(text, strlen(text));
		if (!b64 || !cJSON_AddStringToObject(resp, "patchType", "JSONPatch") ||
		    !cJSON_AddStringToObject(resp, "patch", b64))
			return -ENOMEM;
	}
	s = cJSON_PrintUnformatted(root);
	if (!s)
		return -ENOMEM;
	*ret = s;
	return 0;
}

const char *webhook_result_to_string(enum webhook_result r)
{
	switch (r) {
	case WEBHOOK_RESULT_PATCHED:
		return "patched";
	case WEBHOOK_RESULT_UNCHANGED:
		return "unchanged";
	case WEBHOOK_RESULT_SKIPPED:
		return "skipped";
	case WEBHOOK_RESULT_FAILED_OPEN:
		return "failed_open";
	default:
		return "unknown";
	}
}

enum webhook_result webhook_decide(const struct webhook_request *req, const char *annotation,
				   const struct webhook_caps *caps, cJSON **ret_patch, char *errbuf)
{
	_cleanup_(webhook_rec_freep) struct webhook_rec *rec = NULL;
	cJSON *patch = NULL;
	int rc;

	if (!req->is_pod || strcmp(req->operation, "CREATE") != 0) {
		fail(errbuf, "not a pod CREATE");
		return WEBHOOK_RESULT_SKIPPED;
	}
	if (!req->object) {
		fail(errbuf, "pod CREATE without an object");
		return WEBHOOK_RESULT_FAILED_OPEN;
	}
	if (!req->has_owner) {
		fail(errbuf, "pod has no controller");
		return WEBHOOK_RESULT_SKIPPED;
	}
	if (!annotation) {
		fail(errbuf, "the owner has no " WEBHOOK_ANNOTATION);
		return WEBHOOK_RESULT_SKIPPED;
	}
	rc = webhook_rec_parse(annotation, &rec, errbuf);
	if (rc < 0)
		return WEBHOOK_RESULT_FAILED_OPEN;
	rc = webhook_compute_patch(req->object, rec, caps, &patch, errbuf);
	if (rc < 0) {
		if (rc == -ENOMEM)
			fail(errbuf, "out of memory");
		return WEBHOOK_RESULT_FAILED_OPEN;
	}
	if (cJSON_GetArraySize(patch) == 0) {
		cJSON_Delete(patch);
		fail(errbuf, "resources already as recommended");
		return WEBHOOK_RESULT_UNCHANGED;
	}
	*ret_patch = patch;
	return WEBHOOK_RESULT_PATCHED;
}
