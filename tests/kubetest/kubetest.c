/* Helpers shared by the kube client's api and envtest tiers (see kubetest.h). */
#include "tests/kubetest/kubetest.h"

#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "agent/util/time.h"

static void copy(char *dst, size_t size, const char *src)
{
	snprintf(dst, size, "%s", src ? src : "");
}

void kt_done(const struct kube_result *res, void *userdata)
{
	struct kt_result *r = userdata;

	r->done = true;
	r->outcome = res->outcome;
	r->code = res->http_code;
	r->error = res->error;
	copy(r->reason, sizeof(r->reason), res->reason);
	copy(r->message, sizeof(r->message), res->message);
	copy(r->cause, sizeof(r->cause), res->cause);
	r->replicas = res->replicas;
	r->has_pod = !!res->pod;
	if (res->pod) {
		copy(r->pod_rv, sizeof(r->pod_rv), res->pod->resource_version);
		r->pod_res = res->pod->containers[0].spec;
	}
	free(r->object);
	r->object = res->object ? cJSON_PrintUnformatted(res->object) : NULL;
}

void kt_result_done(struct kt_result *r)
{
	free(r->object);
	*r = (struct kt_result){ 0 };
}

bool kt_run_until(sd_event *e, bool (*cond)(void *ud), void *ud, uint64_t timeout_usec)
{
	uint64_t end = now_usec(CLOCK_MONOTONIC) + timeout_usec;

	while (!cond(ud)) {
		uint64_t now = now_usec(CLOCK_MONOTONIC);

		if (now >= end)
			return false;
		if (sd_event_run(e, end - now < 100000 ? end - now : 100000) < 0)
			return cond(ud);
	}
	return true;
}

static bool result_done(void *ud)
{
	return ((struct kt_result *)ud)->done;
}

bool kt_wait(sd_event *e, struct kt_result *r, uint64_t timeout_usec)
{
	return kt_run_until(e, result_done, r, timeout_usec);
}

static bool never(void *ud)
{
	return false;
}

void kt_run_for(sd_event *e, uint64_t usec)
{
	kt_run_until(e, never, NULL, usec);
}

static void on_added(const struct kube_pod *pod, void *ud)
{
	struct kt_watch *w = ud;

	w->added++;
	copy(w->last_added_name, sizeof(w->last_added_name), pod->name);
}

static void on_updated(const struct kube_pod *old, const struct kube_pod *pod, void *ud)
{
	struct kt_watch *w = ud;

	w->updated++;
	copy(w->last_updated_uid, sizeof(w->last_updated_uid), pod->uid);
}

static void on_deleted(const struct kube_pod *pod, void *ud)
{
	struct kt_watch *w = ud;

	w->deleted++;
	copy(w->last_deleted_name, sizeof(w->last_deleted_name), pod->name);
}

static void on_synced(void *ud)
{
	((struct kt_watch *)ud)->synced++;
}

static void on_path(enum kube_resize_path p, void *ud)
{
	struct kt_watch *w = ud;

	w->path = p;
	w->path_changes++;
}

const struct kube_watch_ops kt_watch_ops = {
	.added = on_added,
	.updated = on_updated,
	.deleted = on_deleted,
	.synced = on_synced,
	.resize_path = on_path,
};

struct buf {
	char *p;
	size_t n;
};

static size_t on_write(char *data, size_t size, size_t nmemb, void *ud)
{
	struct buf *b = ud;
	size_t n = size * nmemb;
	char *p = realloc(b->p, b->n + n + 1);

	if (!p)
		return 0;
	memcpy(p + b->n, data, n);
	b->p = p;
	b->n += n;
	p[b->n] = 0;
	return n;
}

long kt_http(const char *server, const char *ca, const char *token, const char *method,
	     const char *path, const char *content_type, const char *body, char **ret_body)
{
	struct curl_slist *h = NULL;
	struct buf b = { calloc(1, 1), 0 };
	char url[2048], hdr[512];
	long code = 0;
	CURL *c;

	c = curl_easy_init();
	if (!c)
		return 0;
	snprintf(url, sizeof(url), "%s%s", server, path);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
	if (ca)
		curl_easy_setopt(c, CURLOPT_CAINFO, ca);
	if (token) {
		snprintf(hdr, sizeof(hdr), "Authorization: Bearer %s", token);
		h = curl_slist_append(h, hdr);
	}
	if (content_type) {
		snprintf(hdr, sizeof(hdr), "Content-Type: %s", content_type);
		h = curl_slist_append(h, hdr);
	}
	h = curl_slist_append(h, "Accept: application/json");
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
	if (body)
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_write);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, 30L);
	if (curl_easy_perform(c) == CURLE_OK)
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
	curl_easy_cleanup(c);
	curl_slist_free_all(h);
	if (ret_body)
		*ret_body = b.p;
	else
		free(b.p);
	return code;
}

long kt_rss_kib(void)
{
	FILE *f = fopen("/proc/self/status", "re");
	char line[256];
	long v = -1;

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "VmRSS: %ld kB", &v) == 1)
			break;
	fclose(f);
	return v;
}
