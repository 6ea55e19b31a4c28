/* Parses list replies (PodList, and any list's kind and items) and watch-stream lines into pods,
 * bookmarks and errors. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent/kube/kube-internal.h"
#include "agent/kube/kube.h"

static const char *const watch_types[] = {
	[KUBE_WATCH_ADDED] = "ADDED",	  [KUBE_WATCH_MODIFIED] = "MODIFIED",
	[KUBE_WATCH_DELETED] = "DELETED", [KUBE_WATCH_BOOKMARK] = "BOOKMARK",
	[KUBE_WATCH_ERROR] = "ERROR",
};

static int object_rv(const cJSON *obj, char **ret, char *errbuf)
{
	const cJSON *meta;
	const char *rv;
	int r;

	r = kube_json_object(obj, "metadata", "object", &meta, errbuf);
	if (r < 0)
		return r;
	if (!meta)
		return kube_err(errbuf, "object.metadata: missing");
	r = kube_json_string(meta, "resourceVersion", "object.metadata", &rv, errbuf);
	if (r < 0)
		return r;
	if (!rv || !*rv)
		return kube_err(errbuf, "object.metadata.resourceVersion: missing");
	*ret = strdup(rv);
	return *ret ? 0 : -ENOMEM;
}

int kube_watch_event_parse(const char *line, size_t len, struct kube_watch_event *ev, char *errbuf)
{
	_cleanup_(cJSON_Deletep) cJSON *j = NULL;
	const cJSON *obj;
	const char *type;
	int r, t = -1;

	*ev = (struct kube_watch_event){ 0 };
	j = cJSON_ParseWithLength(line, len);
	if (!j)
		return kube_err(errbuf, "watch event: not valid JSON");
	if (!cJSON_IsObject(j))
		return kube_err(errbuf, "watch event: not an object");
	r = kube_json_string(j, "type", "event", &type, errbuf);
	if (r < 0)
		return r;
	if (!type)
		return kube_err(errbuf, "event.type: missing");
	for (size_t i = 0; i < ELEMENTSOF(watch_types); i++)
		if (strcmp(type, watch_types[i]) == 0)
			t = (int)i;
	if (t < 0)
		return kube_err(errbuf, "event.type: unknown \"%.32s\"", type);
	ev->type = t;
	r = kube_json_object(j, "object", "event", &obj, errbuf);
	if (r < 0)
		return r;
	if (!obj)
		return kube_err(errbuf, "event.object: missing");

	switch (ev->type) {
	case KUBE_WATCH_ERROR: {
		const char *msg;
		int64_t code;

		r = kube_json_int(obj, "code", "event.object", 0, 999, 0, &code, errbuf);
		if (r < 0)
			return r;
		r = kube_json_string(obj, "message", "event.object", &msg, errbuf);
		if (r < 0)
			return r;
		ev->error_code = (long)code;
		if (msg && !(ev->error_message = strdup(msg)))
			return -ENOMEM;
		return 0;
	}
	case KUBE_WATCH_BOOKMARK:
		r = object_rv(obj, &ev->resource_version, errbuf);
		if (r < 0)
			kube_watch_event_done(ev);
		return r;
	default:
		r = kube_pod_parse(obj, &ev->pod, errbuf);
		if (r < 0) {
			char id[200], e[KUBE_ERRBUF];

			/* Say which pod: the caller logs this once and moves on. */
			if (errbuf && r == -EINVAL) {
				snprintf(e, sizeof(e), "%s", errbuf);
				kube_err(errbuf, "pod %s: %s",
					 kube_object_ident(obj, id, sizeof(id)), e);
			}
			return r;
		}
		ev->resource_version = strdup(ev->pod->resource_version);
		if (!ev->resource_version) {
			kube_watch_event_done(ev);
			return -ENOMEM;
		}
		return 0;
	}
}

void kube_watch_event_done(struct kube_watch_event *ev)
{
	kube_pod_free(ev->pod);
	free(ev->resource_version);
	free(ev->error_message);
	*ev = (struct kube_watch_event){ 0 };
}

int kube_pod_list_parse(const char *body, size_t len, struct kube_pod ***ret_pods, size_t *ret_n,
			char **ret_rv, void (*skip)(const char *why, void *ud), void *ud,
			char *errbuf)
{
	_cleanup_(cJSON_Deletep) cJSON *j = NULL;
	_cleanup_free_ char *rv = NULL;
	struct kube_pod **pods = NULL;
	const cJSON *items, *it;
	const char *kind;
	size_t n = 0, cap;
	int r;

	j = cJSON_ParseWithLength(body, len);
	if (!j)
		return kube_err(errbuf, "pod list: not valid JSON");
	if (!cJSON_IsObject(j))
		return kube_err(errbuf, "pod list: not an object");
	r = kube_json_string(j, "kind", "list", &kind, errbuf);
	if (r < 0)
		return r;
	if (kind && strcmp(kind, "PodList") != 0)
		return kube_err(errbuf, "list.kind: \"%.32s\", not PodList", kind);
	r = object_rv(j, &rv, errbuf);
	if (r < 0)
		return r;
	r = kube_json_array(j, "items", "list", &items, errbuf);
	if (r < 0)
		return r;
	cap = items ? (size_t)cJSON_GetArraySize(items) : 0;
	if (cap > 0) {
		pods = calloc(cap, sizeof(*pods));
		if (!pods)
			return -ENOMEM;
	}
	cJSON_ArrayForEach (it, items) {
		char err[KUBE_ERRBUF] = "";

		r = kube_pod_parse(it, &pods[n], err);
		if (r == -ENOMEM) {
			while (n > 0)
				kube_pod_free(pods[--n]);
			free(pods);
			return r;
		}
		if (r < 0) {
			char id[200], why[KUBE_ERRBUF + 200];

			snprintf(why, sizeof(why), "pod %s: %s",
				 kube_object_ident(it, id, sizeof(id)), err);
			if (skip)
				skip(why, ud);
			continue;
		}
		n++;
	}
	*ret_pods = pods;
	*ret_n = n;
	*ret_rv = TAKE_PTR(rv);
	return 0;
}

int kube_list_items(const cJSON *list, const char *kind, const char *what, const cJSON **ret,
		    char *errbuf)
{
	const char *got;
	int r;

	if (!cJSON_IsObject(list))
		return kube_err(errbuf, "%s: not an object", what);
	r = kube_json_string(list, "kind", what, &got, errbuf);
	if (r < 0)
		return r;
	if (got && strcmp(got, kind) != 0)
		return kube_err(errbuf, "%s: kind \"%.48s\", not %s", what, got, kind);
	return kube_json_array(list, "items", what, ret, errbuf);
}

int kube_list_parse(const cJSON *list, const char *kind, const char *what, size_t size,
		    int (*parse)(const cJSON *item, void *elem, char *errbuf),
		    void (*done)(void *elem), void **ret, size_t *ret_n, size_t *ret_n_bad,
		    char *errbuf)
{
	const cJSON *items, *item;
	char itemerr[KUBE_ERRBUF];
	size_t n = 0, bad = 0;
	char *array;
	int r;

	r = kube_list_items(list, kind, what, &items, errbuf);
	if (r < 0)
		return r;
	array = calloc(cJSON_GetArraySize(items) + 1, size);
	if (!array)
		return -ENOMEM;
	cJSON_ArrayForEach (item, items) {
		void *elem = array + n * size;

		itemerr[0] = '\0';
		r = parse(item, elem, itemerr);
		if (r >= 0) {
			n++;
			continue;
		}
		if (done)
			done(elem);
		memset(elem, 0, size);
		if (r == -ENOMEM) {
			for (size_t i = 0; done && i < n; i++)
				done(array + i * size);
			free(array);
			return r;
		}
		bad++;
		if (errbuf)
			snprintf(errbuf, KUBE_ERRBUF, "%s", itemerr);
	}
	*ret = array;
	*ret_n = n;
	*ret_n_bad = bad;
	return 0;
}
