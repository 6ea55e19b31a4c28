/* Reads the API server's `Status` replies and turns (call, HTTP code, Status) into the outcome the
 * agent acts on; the rules follow what a real kube-apiserver answered (spec/api-transcripts). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "agent/kube/kube-internal.h"
#include "agent/kube/kube.h"
#include "agent/util/cleanup.h"

static int dup_member(const cJSON *obj, const char *key, char **ret)
{
	const cJSON *j = cJSON_GetObjectItemCaseSensitive(obj, key);

	if (!cJSON_IsString(j) || !j->valuestring)
		return 0; /* a Status with odd fields still has a code: keep what we can */
	*ret = strdup(j->valuestring);
	return *ret ? 0 : -ENOMEM;
}

int kube_status_parse(long code, const char *body, size_t len, struct kube_status *st)
{
	_cleanup_(cJSON_Deletep) cJSON *j = NULL;
	const cJSON *kind, *details, *causes, *status;
	int r;

	*st = (struct kube_status){ .code = code };
	if (!body || len == 0)
		return 0;
	j = cJSON_ParseWithLength(body, len);
	if (!j || !cJSON_IsObject(j))
		return 0;
	kind = cJSON_GetObjectItemCaseSensitive(j, "kind");
	if (!cJSON_IsString(kind) || strcmp(kind->valuestring, "Status") != 0)
		return 0;
	st->is_status = true;
	status = cJSON_GetObjectItemCaseSensitive(j, "status");
	st->failure = cJSON_IsString(status) && strcmp(status->valuestring, "Failure") == 0;
	if ((r = dup_member(j, "reason", &st->reason)) < 0 ||
	    (r = dup_member(j, "message", &st->message)) < 0)
		goto fail;
	details = cJSON_GetObjectItemCaseSensitive(j, "details");
	if (cJSON_IsObject(details)) {
		if ((r = dup_member(details, "name", &st->name)) < 0)
			goto fail;
		causes = cJSON_GetObjectItemCaseSensitive(details, "causes");
		if (cJSON_IsArray(causes) && cJSON_IsObject(cJSON_GetArrayItem(causes, 0)))
			if ((r = dup_member(cJSON_GetArrayItem(causes, 0), "message", &st->cause)) <
			    0)
				goto fail;
	}
	return 0;
fail:
	kube_status_done(st);
	return r;
}

void kube_status_done(struct kube_status *st)
{
	free(st->reason);
	free(st->message);
	free(st->cause);
	free(st->name);
	*st = (struct kube_status){ 0 };
}

static bool message_has(const struct kube_status *st, const char *needle)
{
	return st->message && strstr(st->message, needle);
}

/* The resize reply says the server or node cannot resize in place (as opposed to "not this"). */
static bool resize_unsupported(const struct kube_status *st, const char *name)
{
	if (st->code == 404)
		/* No such pod names the pod in details; a missing subresource does not. */
		return !(st->name && name && strcmp(st->name, name) == 0);
	if (st->code == 422)
		return message_has(st, "Pod running on node without support for resize") ||
		       /* 1.27–1.31 spec patch with the feature gate off */
		       message_has(st, "pod updates may not change fields other than");
	if (st->code == 405 || st->code == 415)
		return true;
	return false;
}

enum kube_outcome kube_classify(enum kube_call call, const struct kube_status *st, const char *name)
{
	long code = st->code;

	if (code == 0)
		return KUBE_TRANSIENT;
	if (code >= 200 && code < 300) {
		/* A 2xx carrying a Failure Status is not a success (eviction replies are Status). */
		if (st->is_status && st->failure)
			return KUBE_TRANSIENT;
		return KUBE_OK;
	}
	if (call == KUBE_CALL_RESIZE && resize_unsupported(st, name))
		return KUBE_NOT_SUPPORTED;
	if (call == KUBE_CALL_EVICT) {
		if (code == 429)
			return KUBE_BLOCKED;
		if (code == 500 && message_has(st, "more than one PodDisruptionBudget"))
			return KUBE_BLOCKED;
	}
	switch (code) {
	case 400:
	case 422:
		return KUBE_REJECTED;
	case 401:
		return KUBE_UNAUTHORIZED;
	case 403:
		return KUBE_FORBIDDEN;
	case 404:
	case 410:
		return KUBE_NOT_FOUND;
	case 409:
		return KUBE_CONFLICT;
	case 408:
	case 429:
		return KUBE_TRANSIENT;
	}
	if (code >= 500)
		return KUBE_TRANSIENT;
	return KUBE_REJECTED;
}

const char *kube_outcome_to_string(enum kube_outcome o)
{
	static const char *const names[] = {
		[KUBE_OK] = "ok",
		[KUBE_REJECTED] = "rejected",
		[KUBE_CONFLICT] = "conflict",
		[KUBE_NOT_SUPPORTED] = "not-supported",
		[KUBE_NOT_FOUND] = "not-found",
		[KUBE_FORBIDDEN] = "forbidden",
		[KUBE_BLOCKED] = "blocked",
		[KUBE_UNAUTHORIZED] = "unauthorized",
		[KUBE_TRANSIENT] = "transient",
		[KUBE_SUPPRESSED] = "suppressed",
		[KUBE_BAD_REPLY] = "bad-reply",
	};
	return (unsigned)o < ELEMENTSOF(names) ? names[o] : "?";
}

const char *kube_call_to_string(enum kube_call c)
{
	static const char *const names[] = {
		[KUBE_CALL_DISCOVERY] = "discovery",
		[KUBE_CALL_VERSION] = "version",
		[KUBE_CALL_LIST] = "list",
		[KUBE_CALL_WATCH] = "watch",
		[KUBE_CALL_RESIZE] = "resize",
		[KUBE_CALL_EVICT] = "evict",
		[KUBE_CALL_EVENT] = "event",
		[KUBE_CALL_ANNOTATE] = "annotate",
		[KUBE_CALL_GET] = "get",
		[KUBE_CALL_LIST_HPA] = "list-hpa",
		[KUBE_CALL_LIST_HISTORY] = "list-history",
		[KUBE_CALL_PATCH_HISTORY] = "patch-history",
		[KUBE_CALL_CREATE_HISTORY] = "create-history",
		[KUBE_CALL_DELETE_HISTORY] = "delete-history",
	};
	return (unsigned)c < ELEMENTSOF(names) ? names[c] : "?";
}

const char *kube_resize_path_to_string(enum kube_resize_path p)
{
	static const char *const names[] = {
		[KUBE_PATH_UNKNOWN] = "unknown",
		[KUBE_PATH_SUBRESOURCE] = "subresource",
		[KUBE_PATH_SPEC_PATCH] = "spec-patch",
		[KUBE_PATH_NONE] = "none",
	};
	return (unsigned)p < ELEMENTSOF(names) ? names[p] : "?";
}

/* Discovery: does the core/v1 APIResourceList name pods/resize? -EINVAL when not a list. */
int kube_discovery_has_resize(const char *body, size_t len)
{
	_cleanup_(cJSON_Deletep) cJSON *j = NULL;
	const cJSON *res, *it;

	j = cJSON_ParseWithLength(body, len);
	if (!j || !cJSON_IsObject(j))
		return -EINVAL;
	res = cJSON_GetObjectItemCaseSensitive(j, "resources");
	if (!cJSON_IsArray(res))
		return -EINVAL;
	cJSON_ArrayForEach (it, res) {
		const cJSON *n = cJSON_GetObjectItemCaseSensitive(it, "name");

		if (cJSON_IsString(n) && strcmp(n->valuestring, "pods/resize") == 0)
			return 1;
	}
	return 0;
}

/* GET /version → major*100 + minor ("1", "27+" → 127). -EINVAL on anything else. */
int kube_version_parse(const char *body, size_t len, int *ret)
{
	_cleanup_(cJSON_Deletep) cJSON *j = NULL;
	const cJSON *maj, *min;
	char *end;
	long a, b;

	j = cJSON_ParseWithLength(body, len);
	if (!j || !cJSON_IsObject(j))
		return -EINVAL;
	maj = cJSON_GetObjectItemCaseSensitive(j, "major");
	min = cJSON_GetObjectItemCaseSensitive(j, "minor");
	if (!cJSON_IsString(maj) || !cJSON_IsString(min))
		return -EINVAL;
	errno = 0;
	a = strtol(maj->valuestring, &end, 10);
	if (errno || end == maj->valuestring || *end || a < 0 || a > 99)
		return -EINVAL;
	b = strtol(min->valuestring, &end, 10);
	if (errno || end == min->valuestring || (*end && strcmp(end, "+") != 0) || b < 0 || b > 99)
		return -EINVAL;
	*ret = (int)(a * 100 + b);
	return 0;
}

enum kube_resize_path kube_resize_path_from(int has_resize, int version)
{
	if (has_resize > 0)
		return KUBE_PATH_SUBRESOURCE;
	if (version >= 127 && version <= 131)
		return KUBE_PATH_SPEC_PATCH;
	return KUBE_PATH_NONE;
}
