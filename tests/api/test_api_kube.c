/* API tier: the kube client against tests/fake-apiserver (a fresh fake per test on a random port,
 * throwaway CA, bearer tokens): every call and error class, reconnects, 410 relists, token
 * rotation, TLS verification, and the watch-drop soak. */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "agent/kube/kube.h"
#include "agent/util/time.h"
#include "tests/lib/kubetest.h"

#define WAIT (15 * USEC_PER_SEC)

struct fx {
	struct kt_fake fake;
	sd_event *e;
	struct kube_client *c;
	struct kt_watch w;
	struct kube_options opts;
};

static void fx_start(struct fx *f, const char *version, const char *const *extra)
{
	memset(f, 0, sizeof(*f));
	kt_fake_start(&f->fake, version, extra);
	ck_assert_int_eq(sd_event_new(&f->e), 0);
	f->opts = (struct kube_options){ .node_name = "node-1",
					 .backoff_min_usec = 50000,
					 .backoff_max_usec = 500000,
					 .request_timeout_usec = 5 * USEC_PER_SEC,
					 .watch_timeout_sec = 60 };
}

static void fx_client(struct fx *f)
{
	struct kube_config cfg;

	kt_fake_config(&f->fake, &cfg);
	ck_assert_int_eq(kube_client_new(f->e, &cfg, &f->opts, &f->c), 0);
}

static bool synced(void *ud)
{
	return kube_client_synced(ud);
}

static void fx_watch(struct fx *f)
{
	if (!f->c)
		fx_client(f);
	ck_assert_int_eq(kube_client_watch_pods(f->c, &kt_watch_ops, &f->w), 0);
	ck_assert_msg(kt_run_until(f->e, synced, f->c, WAIT), "never synced");
}

static void fx_stop(struct fx *f)
{
	kube_client_free(f->c);
	sd_event_unref(f->e);
	kt_fake_destroy(&f->fake);
}

static void pod(struct fx *f, const char *name, const char *node)
{
	kt_make_pod(&f->fake.admin, name, node, false, true);
}

static const struct kube_pod *cached(struct fx *f, const char *name)
{
	for (size_t i = 0; i < kube_client_n_pods(f->c); i++)
		if (strcmp(kube_client_pod_at(f->c, i)->name, name) == 0)
			return kube_client_pod_at(f->c, i);
	return NULL;
}

/* The fake's pods on node-1 as "uid=rv" lines, sorted; and the same for the client's cache. */
static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static char *join_sorted(char **v, size_t n)
{
	size_t len = 1;
	char *out;

	qsort(v, n, sizeof(*v), cmp_str);
	for (size_t i = 0; i < n; i++)
		len += strlen(v[i]) + 1;
	out = calloc(1, len);
	for (size_t i = 0; i < n; i++) {
		strcat(out, v[i]);
		strcat(out, "\n");
		free(v[i]);
	}
	free(v);
	return out;
}

static char *fake_node_pods(struct fx *f)
{
	char *body = NULL;
	cJSON *j, *pods, *it;
	char **v;
	size_t n = 0;

	ck_assert_int_eq(kt_fake_ctl(&f->fake, "GET", "/_fake/state", NULL, &body), 200);
	j = cJSON_Parse(body);
	free(body);
	pods = cJSON_GetObjectItem(j, "pods");
	ck_assert(cJSON_IsArray(pods));
	v = calloc((size_t)cJSON_GetArraySize(pods) + 1, sizeof(*v));
	cJSON_ArrayForEach (it, pods) {
		cJSON *meta = cJSON_GetObjectItem(it, "metadata"),
		      *spec = cJSON_GetObjectItem(it, "spec");
		cJSON *node = cJSON_GetObjectItem(spec, "nodeName");

		if (!cJSON_IsString(node) || strcmp(node->valuestring, "node-1") != 0)
			continue;
		ck_assert_int_ge(
			asprintf(&v[n++], "%s=%s", cJSON_GetObjectItem(meta, "uid")->valuestring,
				 cJSON_GetObjectItem(meta, "resourceVersion")->valuestring),
			0);
	}
	cJSON_Delete(j);
	return join_sorted(v, n);
}

static char *cache_pods(struct fx *f)
{
	size_t n = kube_client_n_pods(f->c);
	char **v = calloc(n + 1, sizeof(*v));

	for (size_t i = 0; i < n; i++) {
		const struct kube_pod *p = kube_client_pod_at(f->c, i);

		ck_assert_int_ge(asprintf(&v[i], "%s=%s", p->uid, p->resource_version), 0);
	}
	return join_sorted(v, n);
}

struct cache_eq {
	struct fx *f;
	char *want, *have;
};

static bool cache_equals_fake(void *ud)
{
	struct cache_eq *q = ud;

	free(q->want);
	free(q->have);
	q->want = fake_node_pods(q->f);
	q->have = cache_pods(q->f);
	return strcmp(q->want, q->have) == 0;
}

static void assert_cache_matches(struct fx *f)
{
	struct cache_eq q = { f, NULL, NULL };

	ck_assert_msg(kt_run_until(f->e, cache_equals_fake, &q, WAIT),
		      "cache differs from the server:\nserver:\n%scache:\n%s", q.want, q.have);
	free(q.want);
	free(q.have);
}

/* The fake's request log, as JSON text (cleared afterwards when clear). */
static char *requests(struct fx *f, bool clear)
{
	char *body = NULL;

	ck_assert_int_eq(kt_fake_ctl(&f->fake, "GET",
				     clear ? "/_fake/requests?clear=1" : "/_fake/requests", NULL,
				     &body),
			 200);
	return body;
}

static unsigned count(const char *hay, const char *needle)
{
	unsigned n = 0;

	for (const char *p = hay; (p = strstr(p, needle)); p += strlen(needle))
		n++;
	return n;
}

static void resize(struct fx *f, const char *name, const char *rv, struct resources res,
		   struct kt_result *r)
{
	struct kube_resize_container ctr = { .name = "app", .res = res };

	kt_result_done(r);
	ck_assert_int_eq(kube_resize(f->c, "default", name, rv, &ctr, 1, kt_done, r), 0);
	ck_assert_msg(kt_wait(f->e, r, WAIT), "resize of %s never completed", name);
}

static const struct resources cpu150 = { 150, 300, RESOURCE_UNSET, RESOURCE_UNSET };

/* ---- list, watch, callbacks ---- */

START_TEST(test_list_watch_callbacks)
{
	struct fx f;
	char *log;
	const struct kube_pod *p;

	fx_start(&f, "1.36", NULL);
	pod(&f, "a", "node-1");
	pod(&f, "b", "node-1");
	pod(&f, "elsewhere", "node-2");
	fx_watch(&f);
	ck_assert_uint_eq(f.w.added, 2);
	ck_assert_uint_eq(f.w.synced, 1);
	ck_assert_int_eq(f.w.path, KUBE_PATH_SUBRESOURCE);
	ck_assert_ptr_null(cached(&f, "elsewhere"));
	p = cached(&f, "a");
	ck_assert_ptr_nonnull(p);
	ck_assert_ptr_eq(kube_client_pod(f.c, p->uid), p);

	pod(&f, "c", "node-1");
	kt_admin_ok(&f.fake.admin, "PATCH", "/api/v1/namespaces/default/pods/a",
		    "application/merge-patch+json",
		    "{\"metadata\":{\"labels\":{\"touched\":\"1\"}}}");
	kt_admin_ok(&f.fake.admin, "DELETE",
		    "/api/v1/namespaces/default/pods/b?gracePeriodSeconds=0", NULL, NULL);
	assert_cache_matches(&f);
	ck_assert_uint_eq(f.w.added, 3);
	ck_assert_str_eq(f.w.last_deleted_name, "b");
	ck_assert_str_eq(kube_pod_label(cached(&f, "a"), "touched"), "1");
	ck_assert_uint_ge(f.w.updated, 2); /* c's status, a's label */

	/* what went over the wire: the node's pods only, bookmarks asked for */
	log = requests(&f, false);
	ck_assert_msg(strstr(log, "fieldSelector=spec.nodeName%3Dnode-1"), "%s", log);
	ck_assert_ptr_nonnull(strstr(log, "allowWatchBookmarks=true"));
	ck_assert_ptr_nonnull(strstr(log, "\"user\": \"node-agent\""));
	free(log);
	fx_stop(&f);
}
END_TEST

/* The watch ends at timeoutSeconds: the client renews it from its resourceVersion (no relist),
 * and bookmarks keep that resourceVersion fresh. */
START_TEST(test_watch_renewal_and_bookmarks)
{
	struct fx f;
	const struct kube_stats *st;

	fx_start(&f, "1.36", NULL);
	kt_fake_ctl_ok(&f.fake, "POST", "/_fake/watch", "{\"bookmark_interval\":0.3}");
	pod(&f, "a", "node-1");
	f.opts.watch_timeout_sec = 1;
	fx_watch(&f);
	kt_run_for(f.e, 4 * USEC_PER_SEC);
	pod(&f, "b", "node-1");
	assert_cache_matches(&f);
	st = kube_client_stats(f.c);
	ck_assert_uint_ge(st->watches, 3);
	ck_assert_uint_eq(st->lists, 1);
	ck_assert_uint_ge(st->bookmarks, 1);
	ck_assert_uint_eq(st->parse_errors, 0);
	fx_stop(&f);
}
END_TEST

/* ---- resize ---- */

START_TEST(test_resize_subresource_and_kubelet)
{
	struct fx f;
	struct kt_result r = { 0 };
	const struct kube_pod *p;
	char *log;

	fx_start(&f, "1.36", NULL);
	kt_fake_ctl_ok(&f.fake, "POST", "/_fake/kubelet", "{\"mode\":\"apply\",\"delay\":0.1}");
	pod(&f, "rz", "node-1");
	fx_watch(&f);
	resize(&f, "rz", NULL, cpu150, &r);
	ck_assert_msg(r.outcome == KUBE_OK, "%ld %s", r.code, r.message);
	ck_assert(r.has_pod);
	ck_assert_int_eq(r.pod_res.cpu_request, 150);
	ck_assert_int_eq(r.pod_res.memory_limit, 256 << 20); /* untouched */
	log = requests(&f, false);
	ck_assert_ptr_nonnull(
		strstr(log, "\"path\": \"/api/v1/namespaces/default/pods/rz/resize\""));
	ck_assert_ptr_nonnull(strstr(log, "application/strategic-merge-patch+json"));
	free(log);
	/* the simulated kubelet applies it: actual resources follow, no condition left */
	assert_cache_matches(&f);
	{
		struct cache_eq q = { &f, NULL, NULL };

		for (int i = 0; i < 100; i++) {
			p = cached(&f, "rz");
			if (p->containers[0].actual.cpu_request == 150 &&
			    p->resize == KUBE_RESIZE_NONE)
				break;
			kt_run_for(f.e, 100000);
		}
		free(q.want);
	}
	p = cached(&f, "rz");
	ck_assert_int_eq(p->containers[0].actual.cpu_request, 150);
	ck_assert_int_eq(p->containers[0].actual.cpu_limit, 300);
	ck_assert_int_eq(p->containers[0].allocated.cpu_request, 150);
	ck_assert_int_eq(p->resize, KUBE_RESIZE_NONE);
	kt_result_done(&r);
	fx_stop(&f);
}
END_TEST

static bool pod_resize_is(struct fx *f, const char *name, enum kube_resize_status want)
{
	for (int i = 0; i < 100; i++) {
		const struct kube_pod *p = cached(f, name);

		if (p && p->resize == want)
			return true;
		kt_run_for(f->e, 100000);
	}
	return false;
}

START_TEST(test_resize_conditions)
{
	struct fx f;
	struct kt_result r = { 0 };

	fx_start(&f, "1.33", NULL);
	kt_fake_ctl_ok(&f.fake, "POST", "/_fake/kubelet",
		       "{\"delay\":0.05,\"pods\":{\"inf\":\"infeasible\",\"def\":\"deferred\","
		       "\"err\":\"error\"},\"infeasible_message\":\"Node didn't have enough "
		       "capacity: cpu\"}");
	pod(&f, "inf", "node-1");
	pod(&f, "def", "node-1");
	pod(&f, "err", "node-1");
	fx_watch(&f);
	resize(&f, "inf", NULL, cpu150, &r);
	ck_assert_int_eq(r.outcome, KUBE_OK);
	resize(&f, "def", NULL, cpu150, &r);
	resize(&f, "err", NULL, cpu150, &r);
	ck_assert(pod_resize_is(&f, "inf", KUBE_RESIZE_INFEASIBLE));
	ck_assert_msg(strstr(cached(&f, "inf")->resize_message, "enough capacity"), "%s",
		      cached(&f, "inf")->resize_message);
	ck_assert(pod_resize_is(&f, "def", KUBE_RESIZE_DEFERRED));
	ck_assert(pod_resize_is(&f, "err", KUBE_RESIZE_ERROR));
	kt_result_done(&r);
	fx_stop(&f);
}
END_TEST

START_TEST(test_resize_rejections)
{
	struct fx f;
	struct kt_result r = { 0 };
	char *log;

	fx_start(&f, "1.33", NULL);
	pod(&f, "rz", "node-1");
	kt_make_pod(&f.fake.admin, "old", "node-1", false, false);
	fx_watch(&f);

	resize(&f, "rz", NULL, (struct resources){ 200, 200, 256 << 20, 256 << 20 }, &r);
	ck_assert_int_eq(r.outcome, KUBE_REJECTED);
	ck_assert_int_eq(r.code, 422);
	ck_assert_str_eq(r.reason, "Invalid");
	ck_assert_msg(strstr(r.message, "Pod QOS Class may not change as a result of resizing"),
		      "%s", r.message);

	resize(&f, "rz", NULL,
	       (struct resources){ RESOURCE_UNSET, RESOURCE_UNSET, RESOURCE_UNSET, 200 << 20 }, &r);
	ck_assert_int_eq(r.outcome, KUBE_REJECTED);
	ck_assert_msg(strstr(r.message, "memory limits cannot be decreased"), "%s", r.message);

	resize(&f, "rz", "1", cpu150, &r);
	ck_assert_int_eq(r.outcome, KUBE_CONFLICT);
	ck_assert_int_eq(r.code, 409);

	resize(&f, "old", NULL, cpu150, &r);
	ck_assert_int_eq(r.outcome, KUBE_NOT_SUPPORTED);
	ck_assert_msg(strstr(r.message, "without support for resize"), "%s", r.message);

	resize(&f, "ghost", NULL, cpu150, &r);
	ck_assert_int_eq(r.outcome, KUBE_NOT_FOUND);

	kt_fake_ctl_ok(&f.fake, "POST", "/_fake/forbid",
		       "{\"user\":\"node-agent\",\"verb\":\"patch\",\"resource\":\"pods/resize\"}");
	resize(&f, "rz", NULL, cpu150, &r);
	ck_assert_int_eq(r.outcome, KUBE_FORBIDDEN);
	ck_assert_msg(strstr(r.message, "cannot patch resource \"pods/resize\""), "%s", r.message);
	kt_fake_ctl_ok(&f.fake, "DELETE", "/_fake/forbid", NULL);

	/* the body sent: only the container's resources, by name */
	log = requests(&f, false);
	ck_assert_msg(strstr(log, "{\"spec\": {\"containers\": [{\"name\": \"app\", \"resources\": "
				  "{\"requests\": {\"cpu\": \"150m\"}, \"limits\": {\"cpu\": "
				  "\"300m\"}}}]}}"),
		      "%s", log);
	free(log);
	kt_result_done(&r);
	fx_stop(&f);
}
END_TEST

START_TEST(test_resize_transient_faults)
{
	struct fx f;
	struct kt_result r = { 0 };

	fx_start(&f, "1.36", NULL);
	pod(&f, "rz", "node-1");
	f.opts.request_timeout_usec = USEC_PER_SEC;
	fx_watch(&f);

	kt_fake_ctl_ok(&f.fake, "POST", "/_fake/faults",
		       "{\"action\":\"error\",\"status\":503,\"path\":\"/resize\",\"count\":1}");
	resize(&f, "rz", NULL, cpu150, &r);
	ck_assert_int_eq(r.outcome, KUBE_TRANSIENT);
	ck_assert_int_eq(r.code, 503);

	kt_fake_ctl_ok(&f.fake, "POST", "/_fake/faults",
		       "{\"action\":\"error\",\"status\":500,\"path\":\"/resize\",\"count\":1}");
	resize(&f, "rz", NULL, cpu150, &r);
	ck_assert_int_eq(r.outcome, KUBE_TRANSIENT);
	ck_assert_int_eq(r.code, 500);

	kt_fake_ctl_ok(&f.fake, "POST", "/_fake/faults",
		       "{\"action\":\"delay\",\"delay\":3,\"path\":\"/resize\",\"count\":1}");
	resize(&f, "rz", NULL, cpu150, &r);
	ck_assert_int_eq(r.outcome, KUBE_TRANSIENT);
	ck_assert_int_eq(r.code, 0);
	ck_assert_int_eq(r.error, -ETIMEDOUT);

	kt_fake_ctl_ok(&f.fake, "POST", "/_fake/faults",
		       "{\"action\":\"drop\",\"path\":\"/resize\",\"count\":1}");
	resize(&f, "rz", NULL, cpu150, &r);
	ck_assert_int_eq(r.outcome, KUBE_TRANSIENT);
	ck_assert_int_eq(r.code, 0);

	kt_fake_ctl_ok(&f.fake, "POST", "/_fake/faults",
		       "{\"action\":\"drop_mid\",\"path\":\"/resize\",\"count\":1}");
	resize(&f, "rz", NULL, cpu150, &r);
	ck_assert_int_eq(r.outcome, KUBE_TRANSIENT);
	ck_assert_int_eq(r.code, 0);

	/* and the next one goes through */
	resize(&f, "rz", NULL, cpu150, &r);
	ck_assert_int_eq(r.outcome, KUBE_OK);
	kt_result_done(&r);
	fx_stop(&f);
}
END_TEST

/* Cuts the watch (again, should the cut land while the client is between watches) until the
 * client's rediscovery has seen the server's new version. */
static void reconnect_until_path(struct fx *f, enum kube_resize_path want)
{
	for (int i = 0; i < 50 && kube_client_resize_path(f->c) != want; i++) {
		kt_fake_ctl_ok(&f->fake, "POST", "/_fake/close-watches", "{\"mode\":\"close\"}");
		kt_run_for(f->e, 300000);
	}
}

/* 1.27–1.31: no subresource, the spec patch is used; < 1.27: nothing is sent. Switching the server
 * and reconnecting re-runs discovery. */
START_TEST(test_resize_path_by_version)
{
	struct fx f;
	struct kt_result r = { 0 };
	char *log;

	fx_start(&f, "1.30", NULL);
	pod(&f, "rz", "node-1");
	fx_watch(&f);
	ck_assert_int_eq(kube_client_resize_path(f.c), KUBE_PATH_SPEC_PATCH);
	free(requests(&f, true));
	resize(&f, "rz", NULL, cpu150, &r);
	ck_assert_msg(r.outcome == KUBE_OK, "%ld %s", r.code, r.message);
	log = requests(&f, true);
	ck_assert_ptr_nonnull(strstr(log, "\"path\": \"/api/v1/namespaces/default/pods/rz\""));
	ck_assert_ptr_null(strstr(log, "/resize"));
	free(log);
	ck_assert(pod_resize_is(&f, "rz", KUBE_RESIZE_PROPOSED) ||
		  pod_resize_is(&f, "rz", KUBE_RESIZE_IN_PROGRESS) ||
		  cached(&f, "rz")->containers[0].spec.cpu_request == 150);

	/* the cluster turns the feature off; after a reconnect the client knows */
	kt_fake_ctl_ok(&f.fake, "POST", "/_fake/version",
		       "{\"version\":\"1.30\",\"feature_gate\":false}");
	resize(&f, "rz", NULL, (struct resources){ 170, 300, RESOURCE_UNSET, RESOURCE_UNSET }, &r);
	ck_assert_int_eq(r.outcome, KUBE_NOT_SUPPORTED);
	ck_assert_msg(strstr(r.message, "pod updates may not change fields other than"), "%s",
		      r.message);
	kt_fake_ctl_ok(&f.fake, "POST", "/_fake/version", "{\"version\":\"1.26\"}");
	reconnect_until_path(&f, KUBE_PATH_NONE);
	ck_assert_int_eq(kube_client_resize_path(f.c), KUBE_PATH_NONE);
	ck_assert_int_eq(f.w.path, KUBE_PATH_NONE);
	free(requests(&f, true));
	resize(&f, "rz", NULL, cpu150, &r);
	ck_assert_int_eq(r.outcome, KUBE_NOT_SUPPORTED);
	ck_assert_int_eq(r.code, 0);
	log = requests(&f, true);
	ck_assert_msg(!strstr(log, "PATCH"), "%s", log);
	free(log);

	/* upgraded to 1.36: the subresource */
	kt_fake_ctl_ok(&f.fake, "POST", "/_fake/version",
		       "{\"version\":\"1.36\",\"feature_gate\":true}");
	reconnect_until_path(&f, KUBE_PATH_SUBRESOURCE);
	ck_assert_int_eq(kube_client_resize_path(f.c), KUBE_PATH_SUBRESOURCE);
	ck_assert_uint_ge(f.w.path_changes, 3);
	kt_result_done(&r);
	fx_stop(&f);
}
END_TEST

/* A server without the subresource (404) while the client still believes in it. */
START_TEST(test_resize_404_subresource)
{
	struct fx f;
	struct kt_result r = { 0 };

	fx_start(&f, "1.36", NULL);
	pod(&f, "rz", "node-1");
	fx_watch(&f);
	kt_fake_ctl_ok(&f.fake, "POST", "/_fake/version", "{\"version\":\"1.26\"}");
	resize(&f, "rz", NULL, cpu150, &r);
	ck_assert_int_eq(r.code, 404);
	ck_assert_int_eq(r.outcome, KUBE_NOT_SUPPORTED);
	kt_result_done(&r);
	fx_stop(&f);
}
END_TEST

/* ---- eviction ---- */

static void evict(struct fx *f, const char *name, const char *uid, struct kt_result *r)
{
	kt_result_done(r);
	ck_assert_int_eq(kube_evict(f->c, "default", name, uid, kt_done, r), 0);
	ck_assert_msg(kt_wait(f->e, r, WAIT), "eviction of %s never completed", name);
}

static void pdb(struct fx *f, const char *name, const char *app, int allowed)
{
	char body[512], path[256], *out = NULL;
	cJSON *j;

	snprintf(body, sizeof(body),
		 "{\"apiVersion\":\"policy/v1\",\"kind\":\"PodDisruptionBudget\",\"metadata\":"
		 "{\"name\":\"%s\",\"namespace\":\"default\"},\"spec\":{\"minAvailable\":1,"
		 "\"selector\":{\"matchLabels\":{\"app\":\"%s\"}}}}",
		 name, app);
	kt_admin_ok(&f->fake.admin, "POST",
		    "/apis/policy/v1/namespaces/default/poddisruptionbudgets", "application/json",
		    body);
	if (allowed < 0)
		return;
	snprintf(path, sizeof(path), "/apis/policy/v1/namespaces/default/poddisruptionbudgets/%s",
		 name);
	ck_assert_int_eq(
		kt_http(f->fake.url, f->fake.ca, KT_FAKE_ADMIN, "GET", path, NULL, NULL, &out),
		200);
	j = cJSON_Parse(out);
	free(out);
	cJSON_DeleteItemFromObject(j, "status");
	cJSON_AddItemToObject(
		j, "status",
		cJSON_Parse(
			allowed ? "{\"observedGeneration\":1,\"disruptionsAllowed\":1,"
				  "\"currentHealthy\":2,\"desiredHealthy\":1,\"expectedPods\":2}"
				: "{\"observedGeneration\":1,\"disruptionsAllowed\":0,"
				  "\"currentHealthy\":1,\"desiredHealthy\":1,\"expectedPods\":1}"));
	out = cJSON_PrintUnformatted(j);
	cJSON_Delete(j);
	strncat(path, "/status", sizeof(path) - strlen(path) - 1);
	kt_admin_ok(&f->fake.admin, "PUT", path, "application/json", out);
	free(out);
}

START_TEST(test_evictions)
{
	struct fx f;
	struct kt_result r = { 0 };
	const struct kube_pod *p;
	char *log;

	fx_start(&f, "1.36", NULL);
	kt_fake_ctl_ok(&f.fake, "POST", "/_fake/kubelet", "{\"delete_grace\":0.2}");
	pod(&f, "blocked", "node-1");
	pod(&f, "twice", "node-1");
	pod(&f, "free", "node-1");
	pod(&f, "fresh", "node-1");
	pdb(&f, "pdb-blocked", "blocked", 0);
	pdb(&f, "pdb-t1", "twice", 1);
	pdb(&f, "pdb-t2", "twice", 1);
	pdb(&f, "pdb-fresh", "fresh", -1);
	fx_watch(&f);

	evict(&f, "blocked", NULL, &r);
	ck_assert_int_eq(r.outcome, KUBE_BLOCKED);
	ck_assert_int_eq(r.code, 429);
	ck_assert_msg(strstr(r.cause, "The disruption budget pdb-blocked needs 1 healthy pods and "
				      "has 1 currently"),
		      "%s", r.cause);
	evict(&f, "fresh", NULL, &r);
	ck_assert_int_eq(r.outcome, KUBE_BLOCKED);
	ck_assert_msg(strstr(r.cause, "is still being processed by the server"), "%s", r.cause);
	evict(&f, "twice", NULL, &r);
	ck_assert_int_eq(r.outcome, KUBE_BLOCKED);
	ck_assert_int_eq(r.code, 500);
	ck_assert_msg(strstr(r.message, "more than one PodDisruptionBudget"), "%s", r.message);
	evict(&f, "ghost", NULL, &r);
	ck_assert_int_eq(r.outcome, KUBE_NOT_FOUND);
	evict(&f, "free", "00000000-0000-0000-0000-000000000000", &r);
	ck_assert_int_eq(r.outcome, KUBE_CONFLICT);
	kt_fake_ctl_ok(&f.fake, "POST", "/_fake/faults",
		       "{\"action\":\"error\",\"status\":503,\"path\":\"/eviction\",\"count\":1}");
	evict(&f, "free", NULL, &r);
	ck_assert_int_eq(r.outcome, KUBE_TRANSIENT);
	kt_fake_ctl_ok(
		&f.fake, "POST", "/_fake/forbid",
		"{\"user\":\"node-agent\",\"verb\":\"create\",\"resource\":\"pods/eviction\"}");
	evict(&f, "free", NULL, &r);
	ck_assert_int_eq(r.outcome, KUBE_FORBIDDEN);
	kt_fake_ctl_ok(&f.fake, "DELETE", "/_fake/forbid", NULL);

	p = cached(&f, "free");
	ck_assert_ptr_nonnull(p);
	{
		char uid[64];

		snprintf(uid, sizeof(uid), "%s", p->uid);
		evict(&f, "free", uid, &r);
	}
	ck_assert_msg(r.outcome == KUBE_OK, "%ld %s", r.code, r.message);
	ck_assert_int_eq(r.code, 201);
	log = requests(&f, false);
	ck_assert_ptr_nonnull(strstr(log, "\"apiVersion\": \"policy/v1\", \"kind\": \"Eviction\""));
	free(log);
	/* the pod goes away (the simulated kubelet removes it after the grace) and the watch says so */
	for (int i = 0; i < 100 && cached(&f, "free"); i++)
		kt_run_for(f.e, 100000);
	ck_assert_ptr_null(cached(&f, "free"));
	assert_cache_matches(&f);
	ck_assert_str_eq(f.w.last_deleted_name, "free");
	kt_result_done(&r);
	fx_stop(&f);
}
END_TEST

/* ---- events, annotations, owners ---- */

START_TEST(test_events)
{
	struct fx f;
	struct kt_result r = { 0 };
	struct kube_object_ref ref = { .kind = "Pod", .namespace = "default", .name = "rz" };
	char *log;

	fx_start(&f, "1.36", NULL);
	pod(&f, "rz", "node-1");
	fx_watch(&f);
	ref.uid = cached(&f, "rz")->uid;
	ck_assert_int_eq(kube_event(f.c, &ref, "Warning", "BadAnnotation",
				    "snug.io/max-cpu: \"lots\" is not a quantity", kt_done, &r),
			 0);
	ck_assert(kt_wait(f.e, &r, WAIT));
	ck_assert_msg(r.outcome == KUBE_OK, "%ld %s", r.code, r.message);
	ck_assert_int_eq(r.code, 201);
	kt_result_done(&r);
	ck_assert_int_eq(kube_event(f.c, &ref, "Warning", "BadAnnotation", "again", kt_done, &r),
			 0);
	ck_assert(kt_wait(f.e, &r, WAIT));
	ck_assert_int_eq(r.outcome, KUBE_SUPPRESSED);
	kt_result_done(&r);
	ck_assert_int_eq(
		kube_event(f.c, &ref, "Normal", "Resized", "cpu 100m to 150m", kt_done, &r), 0);
	ck_assert(kt_wait(f.e, &r, WAIT));
	ck_assert_int_eq(r.outcome, KUBE_OK);
	kt_result_done(&r);
	ck_assert_int_eq(kube_client_stats(f.c)->events_suppressed, 1);
	ck_assert_int_eq(kube_event(f.c, &ref, "Info", "Resized", "x", NULL, NULL), -EINVAL);

	log = requests(&f, false);
	ck_assert_uint_eq(count(log, "\"path\": \"/api/v1/namespaces/default/events\""), 2);
	ck_assert_msg(strstr(log, "\"involvedObject\": {\"apiVersion\": \"v1\", \"kind\": \"Pod\", "
				  "\"namespace\": \"default\", \"name\": \"rz\", \"uid\": "),
		      "%s", log);
	ck_assert_ptr_nonnull(strstr(log, "\"reason\": \"BadAnnotation\""));
	ck_assert_ptr_nonnull(
		strstr(log, "\"source\": {\"component\": \"snug\", \"host\": \"node-1\"}"));
	ck_assert_ptr_null(strstr(log, "\"again\""));
	free(log);

	kt_fake_ctl_ok(&f.fake, "POST", "/_fake/faults",
		       "{\"action\":\"error\",\"status\":503,\"path\":\"/events\",\"count\":1}");
	ck_assert_int_eq(kube_event(f.c, &ref, "Normal", "Evicted", "x", kt_done, &r), 0);
	ck_assert(kt_wait(f.e, &r, WAIT));
	ck_assert_int_eq(r.outcome, KUBE_TRANSIENT);
	kt_result_done(&r);
	fx_stop(&f);
}
END_TEST

START_TEST(test_annotations_and_owners)
{
	static const char *const kinds[][2] = {
		{ "ReplicaSet", "/apis/apps/v1/namespaces/default/replicasets" },
		{ "StatefulSet", "/apis/apps/v1/namespaces/default/statefulsets" },
		{ "DaemonSet", "/apis/apps/v1/namespaces/default/daemonsets" },
		{ "Job", "/apis/batch/v1/namespaces/default/jobs" },
	};
	struct fx f;
	struct kt_result r = { 0 };
	const char *kv[] = { "snug.io/recommendation", "{\"app\":{\"cpu\":\"150m\"}}",
			     "snug.io/stale", NULL };

	fx_start(&f, "1.36", NULL);
	pod(&f, "rz", "node-1");
	fx_watch(&f);
	{
		struct kube_object_ref ref = { .kind = "Pod",
					       .namespace = "default",
					       .name = "rz" };

		ck_assert_int_eq(kube_annotate(f.c, &ref, kv, 2, kt_done, &r), 0);
		ck_assert(kt_wait(f.e, &r, WAIT));
		ck_assert_msg(r.outcome == KUBE_OK, "%ld %s", r.code, r.message);
		kt_result_done(&r);
		for (int i = 0;
		     i < 50 && !kube_pod_annotation(cached(&f, "rz"), "snug.io/recommendation");
		     i++)
			kt_run_for(f.e, 100000);
		ck_assert_str_eq(kube_pod_annotation(cached(&f, "rz"), "snug.io/recommendation"),
				 "{\"app\":{\"cpu\":\"150m\"}}");
	}
	for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
		struct kube_object_ref ref = { .kind = kinds[i][0],
					       .namespace = "default",
					       .name = "web" };
		char body[1024], path[256], *out = NULL;

		snprintf(body, sizeof(body),
			 "{\"metadata\":{\"name\":\"web\",\"annotations\":{\"snug.io/"
			 "stale\":\"x\"}},"
			 "\"spec\":{\"replicas\":3,\"parallelism\":2,\"selector\":{\"matchLabels\":"
			 "{\"app\":\"web\"}},\"template\":{\"metadata\":{\"labels\":{\"app\":"
			 "\"web\"}},"
			 "\"spec\":{\"containers\":[{\"name\":\"app\",\"image\":\"x\"}]}}},"
			 "\"status\":{\"desiredNumberScheduled\":5}}");
		kt_admin_ok(&f.fake.admin, "POST", kinds[i][1], "application/json", body);

		ck_assert_int_eq(kube_get(f.c, &ref, kt_done, &r), 0);
		ck_assert(kt_wait(f.e, &r, WAIT));
		ck_assert_msg(r.outcome == KUBE_OK, "%s %ld %s", kinds[i][0], r.code, r.message);
		ck_assert_ptr_nonnull(r.object);
		if (strcmp(kinds[i][0], "Job") == 0)
			ck_assert_int_eq(r.replicas, 2);
		else if (strcmp(kinds[i][0], "DaemonSet") != 0)
			ck_assert_int_eq(r.replicas, 3);
		kt_result_done(&r);

		ck_assert_int_eq(kube_annotate(f.c, &ref, kv, 2, kt_done, &r), 0);
		ck_assert(kt_wait(f.e, &r, WAIT));
		ck_assert_msg(r.outcome == KUBE_OK, "%s %ld %s", kinds[i][0], r.code, r.message);
		kt_result_done(&r);
		snprintf(path, sizeof(path), "%s/web", kinds[i][1]);
		ck_assert_int_eq(kt_http(f.fake.url, f.fake.ca, KT_FAKE_ADMIN, "GET", path, NULL,
					 NULL, &out),
				 200);
		ck_assert_msg(strstr(out, "snug.io/recommendation") &&
				      !strstr(out, "snug.io/stale"),
			      "%s", out);
		free(out);
	}
	{
		struct kube_object_ref ref = { .kind = "ReplicaSet",
					       .namespace = "default",
					       .name = "gone" };

		ck_assert_int_eq(kube_get(f.c, &ref, kt_done, &r), 0);
		ck_assert(kt_wait(f.e, &r, WAIT));
		ck_assert_int_eq(r.outcome, KUBE_NOT_FOUND);
		ck_assert_ptr_null(r.object);
		kt_result_done(&r);
		kt_fake_ctl_ok(&f.fake, "POST", "/_fake/forbid",
			       "{\"user\":\"node-agent\",\"verb\":\"patch\",\"resource\":"
			       "\"replicasets\"}");
		ref.name = "web";
		ck_assert_int_eq(kube_annotate(f.c, &ref, kv, 1, kt_done, &r), 0);
		ck_assert(kt_wait(f.e, &r, WAIT));
		ck_assert_int_eq(r.outcome, KUBE_FORBIDDEN);
		kt_result_done(&r);
		ref.kind = "CronJob";
		ck_assert_int_eq(kube_get(f.c, &ref, kt_done, &r), -EOPNOTSUPP);
	}
	fx_stop(&f);
}
END_TEST

/* ---- resilience ---- */

START_TEST(test_relist_after_410)
{
	struct fx f;
	const struct kube_stats *st;

	fx_start(&f, "1.33", NULL);
	pod(&f, "keep", "node-1");
	pod(&f, "gone", "node-1");
	pod(&f, "changed", "node-1");
	fx_watch(&f);
	/* the watch is down for a while, the world changes, the history is compacted */
	kt_fake_ctl_ok(&f.fake, "POST", "/_fake/faults",
		       "{\"action\":\"error\",\"status\":503,\"path\":\"watch=1\",\"count\":-1}");
	kt_fake_ctl_ok(&f.fake, "POST", "/_fake/close-watches", "{\"mode\":\"close\"}");
	kt_run_for(f.e, 300000);
	kt_admin_ok(&f.fake.admin, "DELETE",
		    "/api/v1/namespaces/default/pods/gone?gracePeriodSeconds=0", NULL, NULL);
	pod(&f, "new", "node-1");
	kt_admin_ok(&f.fake.admin, "PATCH", "/api/v1/namespaces/default/pods/changed",
		    "application/merge-patch+json", "{\"metadata\":{\"labels\":{\"v\":\"2\"}}}");
	kt_fake_ctl_ok(&f.fake, "POST", "/_fake/compact", NULL);
	memset(&f.w, 0, sizeof(f.w));
	kt_fake_ctl_ok(&f.fake, "DELETE", "/_fake/faults", NULL);
	assert_cache_matches(&f);
	st = kube_client_stats(f.c);
	ck_assert_uint_ge(st->relists_410, 1);
	ck_assert_uint_eq(st->lists, 2);
	/* the relist told the owner exactly what changed */
	ck_assert_uint_eq(f.w.added, 1);
	ck_assert_str_eq(f.w.last_added_name, "new");
	ck_assert_uint_eq(f.w.deleted, 1);
	ck_assert_str_eq(f.w.last_deleted_name, "gone");
	ck_assert_uint_eq(f.w.updated, 1);
	ck_assert_str_eq(f.w.last_updated_uid, cached(&f, "changed")->uid);
	ck_assert_str_eq(kube_pod_label(cached(&f, "changed"), "v"), "2");

	/* a 410 as the HTTP status of the watch request also relists */
	kt_fake_ctl_ok(&f.fake, "POST", "/_fake/faults",
		       "{\"action\":\"error\",\"status\":410,\"path\":\"watch=1\",\"count\":1}");
	kt_fake_ctl_ok(&f.fake, "POST", "/_fake/close-watches", "{\"mode\":\"end\"}");
	for (int i = 0; i < 100 && kube_client_stats(f.c)->lists < 3; i++)
		kt_run_for(f.e, 100000);
	ck_assert_uint_eq(kube_client_stats(f.c)->lists, 3);
	assert_cache_matches(&f);
	fx_stop(&f);
}
END_TEST

START_TEST(test_reconnect_after_restart)
{
	struct fx f;
	const struct kube_stats *st;

	fx_start(&f, "1.36", NULL);
	pod(&f, "a", "node-1");
	fx_watch(&f);
	kt_fake_stop(&f.fake);
	/* the server is away: the client keeps retrying with backoff, its cache stays */
	kt_run_for(f.e, USEC_PER_SEC);
	ck_assert_ptr_nonnull(cached(&f, "a"));
	ck_assert_uint_ge(kube_client_stats(f.c)->watch_restarts, 1);
	kt_fake_start(&f.fake, "1.36", NULL);
	pod(&f, "b", "node-1");
	kt_admin_ok(&f.fake.admin, "DELETE",
		    "/api/v1/namespaces/default/pods/a?gracePeriodSeconds=0", NULL, NULL);
	assert_cache_matches(&f);
	ck_assert_ptr_null(cached(&f, "a"));
	ck_assert_ptr_nonnull(cached(&f, "b"));
	st = kube_client_stats(f.c);
	ck_assert_uint_ge(st->watches, 2);
	fx_stop(&f);
}
END_TEST

START_TEST(test_list_errors_backoff)
{
	struct fx f;
	char *log;

	fx_start(&f, "1.36", NULL);
	pod(&f, "a", "node-1");
	kt_fake_ctl_ok(
		&f.fake, "POST", "/_fake/faults",
		"{\"action\":\"error\",\"status\":500,\"path\":\"^/api/v1/pods\\\\?(?!.*watch)\","
		"\"count\":3}");
	fx_watch(&f);
	ck_assert_ptr_nonnull(cached(&f, "a"));
	log = requests(&f, false);
	/* three failed lists, each preceded by discovery again (a reconnect re-checks the path) */
	ck_assert_uint_ge(count(log, "\"status\": 500"), 3);
	ck_assert_uint_ge(count(log, "\"path\": \"/api/v1\""), 4);
	free(log);
	fx_stop(&f);
}
END_TEST

/* Malformed replies: a broken pod in the list or the watch is skipped, the rest is kept. */
START_TEST(test_malformed_objects_skipped)
{
	struct fx f;

	fx_start(&f, "1.36", NULL);
	pod(&f, "good", "node-1");
	kt_fake_ctl_ok(&f.fake, "POST", "/_fake/objects",
		       "{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"name\":\"bad\","
		       "\"namespace\":\"default\",\"uid\":\"bad-1\"},\"spec\":{\"nodeName\":"
		       "\"node-1\",\"containers\":[{\"name\":\"app\",\"resources\":{\"requests\":"
		       "{\"cpu\":\"lots\"}}}]}}");
	fx_watch(&f);
	ck_assert_ptr_nonnull(cached(&f, "good"));
	ck_assert_ptr_null(cached(&f, "bad"));
	ck_assert_uint_ge(kube_client_stats(f.c)->parse_errors, 1);
	/* the owner hears which pod and which field */
	ck_assert_uint_eq(f.w.invalid, 1);
	ck_assert_msg(strstr(f.w.last_invalid,
			     "pod default/bad: "
			     "spec.containers[0].resources.requests.cpu: bad quantity"),
		      "%s", f.w.last_invalid);
	kt_fake_ctl_ok(&f.fake, "POST", "/_fake/objects",
		       "{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"name\":\"bad2\","
		       "\"namespace\":\"default\",\"uid\":\"bad-2\"},\"spec\":{\"nodeName\":"
		       "\"node-1\",\"containers\":\"app\"}}");
	pod(&f, "good2", "node-1");
	for (int i = 0; i < 50 && !cached(&f, "good2"); i++)
		kt_run_for(f.e, 100000);
	ck_assert_ptr_nonnull(cached(&f, "good2"));
	ck_assert_ptr_null(cached(&f, "bad2"));
	ck_assert_uint_ge(kube_client_stats(f.c)->parse_errors, 2);
	ck_assert_uint_eq(f.w.invalid, 2);
	ck_assert_msg(strstr(f.w.last_invalid, "pod default/bad2: spec.containers: not an array"),
		      "%s", f.w.last_invalid);
	fx_stop(&f);
}
END_TEST

/* ---- auth and TLS ---- */

START_TEST(test_token_rotation)
{
	struct fx f;
	struct kt_result r = { 0 };
	struct kube_object_ref ref = { .kind = "Pod", .namespace = "default", .name = "a" };
	char *log;

	fx_start(&f, "1.36", NULL);
	pod(&f, "a", "node-1");
	fx_watch(&f);
	/* the token expires before the kubelet rotates the file: 401 */
	kt_fake_ctl_ok(&f.fake, "POST", "/_fake/tokens", "{\"expire\":[\"agent-token\"]}");
	ck_assert_int_eq(kube_get(f.c, &ref, kt_done, &r), 0);
	ck_assert(kt_wait(f.e, &r, WAIT));
	ck_assert_int_eq(r.outcome, KUBE_UNAUTHORIZED);
	ck_assert_int_eq(r.code, 401);
	kt_result_done(&r);
	/* the kubelet writes the new token; the next request uses it */
	kt_fake_ctl_ok(&f.fake, "POST", "/_fake/tokens",
		       "{\"set\":{\"rotated-token\":{\"user\":\"node-agent\"}}}");
	kt_fake_write_token(&f.fake, "rotated-token\n");
	ck_assert_int_eq(kube_get(f.c, &ref, kt_done, &r), 0);
	ck_assert(kt_wait(f.e, &r, WAIT));
	ck_assert_msg(r.outcome == KUBE_OK, "%ld %s", r.code, r.message);
	kt_result_done(&r);
	ck_assert_uint_eq(kube_client_stats(f.c)->token_reloads, 1);
	/* the watch reconnects with the new token too */
	kt_fake_ctl_ok(&f.fake, "POST", "/_fake/close-watches", "{\"mode\":\"close\"}");
	pod(&f, "b", "node-1");
	assert_cache_matches(&f);
	log = requests(&f, false);
	ck_assert_ptr_nonnull(strstr(log, "\"status\": 401"));
	free(log);
	fx_stop(&f);
}
END_TEST

START_TEST(test_tls_unknown_ca_refused)
{
	struct fx f;
	struct kt_result r = { 0 };
	struct kube_config cfg;
	struct kube_object_ref ref = { .kind = "Pod", .namespace = "default", .name = "a" };
	char *log;

	fx_start(&f, "1.36", NULL);
	pod(&f, "a", "node-1");
	kt_fake_config(&f.fake, &cfg);
	/* the system store does not know the throwaway CA */
	cfg.ca_file = (char *)"/etc/ssl/certs/ca-certificates.crt";
	ck_assert_int_eq(kube_client_new(f.e, &cfg, &f.opts, &f.c), 0);
	free(requests(&f, true));
	ck_assert_int_eq(kube_get(f.c, &ref, kt_done, &r), 0);
	ck_assert(kt_wait(f.e, &r, WAIT));
	ck_assert_int_eq(r.outcome, KUBE_TRANSIENT);
	ck_assert_int_eq(r.code, 0);
	ck_assert_int_eq(r.error, -EPERM);
	kt_result_done(&r);
	ck_assert_int_eq(kube_client_watch_pods(f.c, &kt_watch_ops, &f.w), 0);
	kt_run_for(f.e, 500000);
	ck_assert(!kube_client_synced(f.c));
	/* nothing reached the server: every attempt died in the handshake */
	log = requests(&f, false);
	ck_assert_msg(!strstr(log, "\"method\""), "%s", log);
	free(log);
	fx_stop(&f);
}
END_TEST

START_TEST(test_plain_http_refused)
{
	static const char *const extra[] = { "--plain-http", NULL };
	struct fx f;
	struct kt_result r = { 0 };
	struct kube_config cfg;
	struct kube_object_ref ref = { .kind = "Pod", .namespace = "default", .name = "a" };
	char url[64];

	fx_start(&f, "1.36", extra);
	kt_fake_config(&f.fake, &cfg);
	snprintf(url, sizeof(url), "http://127.0.0.1:%d", f.fake.port);
	cfg.server = url;
	ck_assert_int_eq(kube_client_new(f.e, &cfg, &f.opts, &f.c), 0);
	ck_assert_int_eq(kube_get(f.c, &ref, kt_done, &r), 0);
	ck_assert(kt_wait(f.e, &r, WAIT));
	ck_assert_int_eq(r.outcome, KUBE_TRANSIENT);
	ck_assert_int_eq(r.code, 0);
	kt_result_done(&r);
	{
		char *log = NULL;

		ck_assert_int_eq(kt_http(url, NULL, KT_FAKE_ADMIN, "GET", "/_fake/requests", NULL,
					 NULL, &log),
				 200);
		ck_assert_msg(!strstr(log, "\"method\""), "%s", log);
		free(log);
	}
	fx_stop(&f);
}
END_TEST

/* kubeconfig with inline CA data (a blob, not a file) and a static token. */
START_TEST(test_kubeconfig_client)
{
	static char kc[128];
	const char *extra[] = { "--kubeconfig-out", kc, NULL };
	struct fx f;
	struct kube_config *cfg = NULL;

	memset(&f, 0, sizeof(f));
	snprintf(kc, sizeof(kc), "/tmp/snug-api-kc-%d", (int)getpid());
	fx_start(&f, "1.36", extra);
	pod(&f, "a", "node-1");
	ck_assert_int_eq(kube_config_from_kubeconfig(kc, NULL, &cfg), 0);
	unlink(kc);
	ck_assert_ptr_nonnull(cfg->ca_data);
	ck_assert_ptr_nonnull(cfg->token);
	ck_assert_int_eq(kube_client_new(f.e, cfg, &f.opts, &f.c), 0);
	kube_config_free(cfg);
	fx_watch(&f);
	ck_assert_ptr_nonnull(cached(&f, "a"));
	fx_stop(&f);
}
END_TEST

/* ---- soak: every watch dropped after 1 s, for SNUG_SOAK_SECONDS (default 60) ---- */

START_TEST(test_soak_watch_drops)
{
	struct fx f;
	const char *env = getenv("SNUG_SOAK_SECONDS");
	int seconds = env ? atoi(env) : 60;
	long rss_before, rss_after;
	uint64_t end;
	unsigned step = 0;
	char body[128];

	fx_start(&f, "1.36", NULL);
	for (int i = 0; i < 20; i++) {
		char name[32];

		snprintf(name, sizeof(name), "soak-%d", i);
		pod(&f, name, "node-1");
	}
	fx_watch(&f);
	/* warm up allocator and TLS caches before the baseline */
	kt_run_for(f.e, USEC_PER_SEC);
	rss_before = kt_rss_kib();
	snprintf(body, sizeof(body), "{\"after\":1.0,\"duration\":%d,\"mode\":\"close\"}", seconds);
	kt_fake_ctl_ok(&f.fake, "POST", "/_fake/watch-drop", body);
	/* the drop applies to watches started from now on: end the current one */
	kt_fake_ctl_ok(&f.fake, "POST", "/_fake/close-watches", "{\"mode\":\"close\"}");
	end = now_usec(CLOCK_MONOTONIC) + (uint64_t)seconds * USEC_PER_SEC;
	while (now_usec(CLOCK_MONOTONIC) < end) {
		char name[32], path[128];

		/* churn: relabel, delete and recreate pods while watches keep breaking */
		snprintf(name, sizeof(name), "soak-%u", step % 20);
		if (step % 3 == 2) {
			snprintf(path, sizeof(path),
				 "/api/v1/namespaces/default/pods/%s?gracePeriodSeconds=0", name);
			kt_admin_ok(&f.fake.admin, "DELETE", path, NULL, NULL);
			pod(&f, name, "node-1");
		} else {
			snprintf(path, sizeof(path), "/api/v1/namespaces/default/pods/%s", name);
			snprintf(body, sizeof(body),
				 "{\"metadata\":{\"labels\":{\"step\":\"%u\"}}}", step);
			kt_admin_ok(&f.fake.admin, "PATCH", path, "application/merge-patch+json",
				    body);
		}
		step++;
		kt_run_for(f.e, 150000);
	}
	kt_fake_ctl_ok(&f.fake, "DELETE", "/_fake/watch-drop", NULL);
	assert_cache_matches(&f);
	rss_after = kt_rss_kib();
	printf("soak: %d s, %u changes, %" PRIu64 " watches, %" PRIu64 " restarts, %" PRIu64
	       " lists, RSS before %ld KiB after %ld KiB\n",
	       seconds, step, kube_client_stats(f.c)->watches,
	       kube_client_stats(f.c)->watch_restarts, kube_client_stats(f.c)->lists, rss_before,
	       rss_after);
	fflush(stdout);
	ck_assert_uint_ge(kube_client_stats(f.c)->watch_restarts, (unsigned)seconds / 3);
	ck_assert_uint_eq(kube_client_stats(f.c)->parse_errors, 0);
#ifndef __SANITIZE_ADDRESS__
	/* generous: catches a leak per event or per reconnect, not allocator noise (ASan's
	 * quarantine grows by design; there LeakSanitizer does this job) */
	ck_assert_int_lt(rss_after - rss_before, 4096);
#endif
	fx_stop(&f);
}
END_TEST

/* One case per test, so CK_RUN_CASE=test_name runs just that one. */
static void add(Suite *s, const char *name, const TTest *t, int timeout)
{
	TCase *tc = tcase_create(name);

	tcase_set_timeout(tc, timeout);
	_tcase_add_test(tc, t, 0, 0, 0, 1);
	suite_add_tcase(s, tc);
}

int main(void)
{
	const char *results = getenv("SNUG_RESULTS");
	SRunner *sr;
	Suite *s;
	int run, failed;

	s = suite_create("api-kube");
	add(s, "test_list_watch_callbacks", test_list_watch_callbacks, 90);
	add(s, "test_watch_renewal_and_bookmarks", test_watch_renewal_and_bookmarks, 90);
	add(s, "test_resize_subresource_and_kubelet", test_resize_subresource_and_kubelet, 90);
	add(s, "test_resize_conditions", test_resize_conditions, 90);
	add(s, "test_resize_rejections", test_resize_rejections, 90);
	add(s, "test_resize_transient_faults", test_resize_transient_faults, 90);
	add(s, "test_resize_path_by_version", test_resize_path_by_version, 90);
	add(s, "test_resize_404_subresource", test_resize_404_subresource, 90);
	add(s, "test_evictions", test_evictions, 90);
	add(s, "test_events", test_events, 90);
	add(s, "test_annotations_and_owners", test_annotations_and_owners, 90);
	add(s, "test_relist_after_410", test_relist_after_410, 90);
	add(s, "test_reconnect_after_restart", test_reconnect_after_restart, 90);
	add(s, "test_list_errors_backoff", test_list_errors_backoff, 90);
	add(s, "test_malformed_objects_skipped", test_malformed_objects_skipped, 90);
	add(s, "test_token_rotation", test_token_rotation, 90);
	add(s, "test_tls_unknown_ca_refused", test_tls_unknown_ca_refused, 90);
	add(s, "test_plain_http_refused", test_plain_http_refused, 90);
	add(s, "test_kubeconfig_client", test_kubeconfig_client, 90);
	add(s, "test_soak_watch_drops", test_soak_watch_drops, 600);

	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	run = srunner_ntests_run(sr);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	if (results) {
		FILE *f = fopen(results, "we");

		if (f) {
			fprintf(f, "%d %d\n", run - failed, failed);
			fclose(f);
		}
	}
	return failed ? 1 : 0;
}
