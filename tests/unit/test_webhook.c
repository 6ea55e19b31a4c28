/* Unit tests for the admission webhook's logic: AdmissionReview parsing, the recommendation
 * annotation, and the resources patch a recreated pod gets (ratio, QoS, caps, fail-open cases). */
#include "tests/unit/unit.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "agent/util/cleanup.h"
#include "agent/webhook.h"
#include "agent/webhook_server.h"

#define OWNER_RS                                                                                   \
	"\"ownerReferences\":[{\"apiVersion\":\"apps/v1\",\"kind\":\"ReplicaSet\",\"name\":"       \
	"\"web-7d\",\"uid\":\"u-rs\",\"controller\":true}]"

/* An AdmissionReview for pod CREATE with the given containers JSON and metadata extras. */
static char *review(const char *op, const char *meta_extra, const char *containers)
{
	char *s;
	ck_assert_int_ge(
		asprintf(&s,
			 "{\"apiVersion\":\"admission.k8s.io/v1\",\"kind\":\"AdmissionReview\","
			 "\"request\":{\"uid\":\"req-1\",\"kind\":{\"group\":\"\",\"version\":"
			 "\"v1\","
			 "\"kind\":\"Pod\"},\"resource\":{\"group\":\"\",\"version\":\"v1\","
			 "\"resource\":\"pods\"},\"namespace\":\"shop\",\"operation\":\"%s\","
			 "\"object\":{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{"
			 "\"generateName\":\"web-7d-\"%s%s},\"spec\":{\"containers\":%s}}}}",
			 op, meta_extra[0] ? "," : "", meta_extra, containers),
		0);
	return s;
}

static struct webhook_request *parse_ok(const char *text)
{
	struct webhook_request *r = NULL;
	char err[WEBHOOK_ERRBUF] = "";
	int rc = webhook_request_parse(text, strlen(text), &r, NULL, err);
	ck_assert_msg(rc == 0, "parse failed: %d %s", rc, err);
	return r;
}

/* Applies our "add" ops (the only op we emit) to the object; paths are /a/b/N/c. */
static void apply_patch(cJSON *obj, const cJSON *patch)
{
	const cJSON *op;

	cJSON_ArrayForEach (op, patch) {
		const char *o = cJSON_GetObjectItem(op, "op")->valuestring;
		char *path = strdup(cJSON_GetObjectItem(op, "path")->valuestring);
		cJSON *parent = obj;
		char *save = NULL, *tok, *last = NULL;

		ck_assert_str_eq(o, "add");
		for (tok = strtok_r(path + 1, "/", &save); tok; tok = strtok_r(NULL, "/", &save)) {
			if (last) {
				if (cJSON_IsArray(parent))
					parent = cJSON_GetArrayItem(parent, atoi(last));
				else
					parent = cJSON_GetObjectItem(parent, last);
				ck_assert_ptr_nonnull(parent);
			}
			last = tok;
		}
		cJSON_DeleteItemFromObject(parent, last);
		cJSON_AddItemToObject(parent, last,
				      cJSON_Duplicate(cJSON_GetObjectItem(op, "value"), true));
		free(path);
	}
}

/* Runs a review + annotation through webhook_decide and returns the resulting pod (or NULL when
 * the result is not "patched"), with the result in *res. */
static cJSON *admit(const char *text, const char *annotation, const struct webhook_caps *caps,
		    enum webhook_result *res)
{
	struct webhook_request *r = parse_ok(text);
	cJSON *patch = NULL, *pod = NULL;
	char err[WEBHOOK_ERRBUF] = "";

	*res = webhook_decide(r, annotation, caps, &patch, err);
	if (*res == WEBHOOK_RESULT_PATCHED) {
		pod = cJSON_Duplicate(r->object, true);
		apply_patch(pod, patch);
		cJSON_Delete(patch);
	} else
		ck_assert_ptr_null(patch);
	webhook_request_free(r);
	return pod;
}

static const char *res_of(const cJSON *pod, int idx, const char *kind, const char *res)
{
	const cJSON *c = cJSON_GetArrayItem(
		cJSON_GetObjectItem(cJSON_GetObjectItem(pod, "spec"), "containers"), idx);
	const cJSON *v = cJSON_GetObjectItem(
		cJSON_GetObjectItem(cJSON_GetObjectItem(c, "resources"), kind), res);
	return cJSON_IsString(v) ? v->valuestring : NULL;
}

#define REC_APP(req_cpu, req_mem)                                                                  \
	"{\"at\":1764000000,\"node\":\"node-1\",\"reason\":\"resize unsupported\","                \
	"\"containers\":[{\"name\":\"app\",\"requests\":{\"cpu\":\"" req_cpu                       \
	"\",\"memory\":\"" req_mem "\"},\"limits\":{}}]}"

START_TEST(burstable_keeps_ratio)
{
	_cleanup_free_ char *t = review(
		"CREATE", OWNER_RS,
		"[{\"name\":\"app\",\"image\":\"x\",\"resources\":{\"requests\":{\"cpu\":\"100m\","
		"\"memory\":\"128Mi\",\"ephemeral-storage\":\"1Gi\"},\"limits\":{\"cpu\":\"200m\","
		"\"memory\":\"256Mi\"}}},{\"name\":\"sidecar\",\"image\":\"y\",\"resources\":{"
		"\"requests\":{\"cpu\":\"10m\"}}}]");
	enum webhook_result res;
	cJSON *pod = admit(t, REC_APP("300m", "200Mi"), NULL, &res);

	ck_assert_int_eq(res, WEBHOOK_RESULT_PATCHED);
	ck_assert_str_eq(res_of(pod, 0, "requests", "cpu"), "300m");
	ck_assert_str_eq(res_of(pod, 0, "requests", "memory"), "200Mi");
	/* limit × new/old: 200m × 3 = 600m, 256Mi × 200/128 = 400Mi */
	ck_assert_str_eq(res_of(pod, 0, "limits", "cpu"), "600m");
	ck_assert_str_eq(res_of(pod, 0, "limits", "memory"), "400Mi");
	/* other keys kept, other containers untouched */
	ck_assert_str_eq(res_of(pod, 0, "requests", "ephemeral-storage"), "1Gi");
	ck_assert_str_eq(res_of(pod, 1, "requests", "cpu"), "10m");
	cJSON_Delete(pod);
}
END_TEST

START_TEST(no_limit_stays_none)
{
	_cleanup_free_ char *t = review("CREATE", OWNER_RS,
					"[{\"name\":\"app\",\"resources\":{\"requests\":{\"cpu\":"
					"\"100m\",\"memory\":\"128Mi\"}}}]");
	enum webhook_result res;
	cJSON *pod = admit(t, REC_APP("250m", "1Gi"), NULL, &res);

	ck_assert_int_eq(res, WEBHOOK_RESULT_PATCHED);
	ck_assert_str_eq(res_of(pod, 0, "requests", "cpu"), "250m");
	ck_assert_str_eq(res_of(pod, 0, "requests", "memory"), "1Gi");
	ck_assert_ptr_null(res_of(pod, 0, "limits", "cpu"));
	ck_assert_ptr_null(res_of(pod, 0, "limits", "memory"));
	cJSON_Delete(pod);
}
END_TEST

START_TEST(limit_equal_request_follows)
{
	/* Burstable pod (memory only limited), cpu request == limit → the limit follows. */
	_cleanup_free_ char *t = review(
		"CREATE", OWNER_RS,
		"[{\"name\":\"app\",\"resources\":{\"requests\":{\"cpu\":\"500m\",\"memory\":"
		"\"100Mi\"},\"limits\":{\"cpu\":\"500m\"}}}]");
	enum webhook_result res;
	cJSON *pod = admit(t, REC_APP("1500m", "300Mi"), NULL, &res);

	ck_assert_int_eq(res, WEBHOOK_RESULT_PATCHED);
	ck_assert_str_eq(res_of(pod, 0, "requests", "cpu"), "1500m");
	ck_assert_str_eq(res_of(pod, 0, "limits", "cpu"), "1500m");
	ck_assert_str_eq(res_of(pod, 0, "requests", "memory"), "300Mi");
	ck_assert_ptr_null(res_of(pod, 0, "limits", "memory"));
	cJSON_Delete(pod);
}
END_TEST

START_TEST(guaranteed_stays_guaranteed)
{
	_cleanup_free_ char *t = review("CREATE", OWNER_RS,
					"[{\"name\":\"app\",\"resources\":{\"limits\":{\"cpu\":"
					"\"1\",\"memory\":\"1Gi\"}}}]");
	enum webhook_result res;
	enum qos_class qos;
	struct webhook_request *r;
	cJSON *pod = admit(t, REC_APP("2", "512Mi"), NULL, &res);

	ck_assert_int_eq(res, WEBHOOK_RESULT_PATCHED);
	ck_assert_str_eq(res_of(pod, 0, "requests", "cpu"), "2");
	ck_assert_str_eq(res_of(pod, 0, "limits", "cpu"), "2");
	ck_assert_str_eq(res_of(pod, 0, "requests", "memory"), "512Mi");
	ck_assert_str_eq(res_of(pod, 0, "limits", "memory"), "512Mi");
	ck_assert_int_eq(webhook_pod_qos(pod, &qos), 0);
	ck_assert_int_eq(qos, QOS_GUARANTEED);
	cJSON_Delete(pod);
	r = parse_ok(t);
	ck_assert_int_eq(webhook_pod_qos(r->object, &qos), 0);
	ck_assert_int_eq(qos, QOS_GUARANTEED);
	webhook_request_free(r);
}
END_TEST

START_TEST(besteffort_untouched)
{
	_cleanup_free_ char *t = review("CREATE", OWNER_RS, "[{\"name\":\"app\",\"image\":\"x\"}]");
	enum webhook_result res;
	cJSON *pod = admit(t, REC_APP("300m", "200Mi"), NULL, &res);

	ck_assert_int_eq(res, WEBHOOK_RESULT_UNCHANGED);
	ck_assert_ptr_null(pod);
}
END_TEST

START_TEST(caps_apply)
{
	_cleanup_free_ char *t = review(
		"CREATE", OWNER_RS,
		"[{\"name\":\"app\",\"resources\":{\"requests\":{\"cpu\":\"100m\",\"memory\":"
		"\"128Mi\"},\"limits\":{\"cpu\":\"200m\",\"memory\":\"256Mi\"}}}]");
	const struct webhook_caps caps = { .max_cpu = 1000, .max_memory = 512 * 1024 * 1024 };
	enum webhook_result res;
	cJSON *pod = admit(t, REC_APP("4", "2Gi"), &caps, &res);

	ck_assert_int_eq(res, WEBHOOK_RESULT_PATCHED);
	ck_assert_str_eq(res_of(pod, 0, "requests", "cpu"), "1");
	ck_assert_str_eq(res_of(pod, 0, "requests", "memory"), "512Mi");
	ck_assert_str_eq(res_of(pod, 0, "limits", "cpu"), "2");
	ck_assert_str_eq(res_of(pod, 0, "limits", "memory"), "1Gi");
	cJSON_Delete(pod);
}
END_TEST

START_TEST(no_resources_object)
{
	/* Burstable because of another container; "app" has no resources at all. */
	_cleanup_free_ char *t = review("CREATE", OWNER_RS,
					"[{\"name\":\"app\"},{\"name\":\"side\",\"resources\":{"
					"\"requests\":{\"cpu\":\"10m\"}}}]");
	enum webhook_result res;
	cJSON *pod = admit(t, REC_APP("300m", "200Mi"), NULL, &res);

	ck_assert_int_eq(res, WEBHOOK_RESULT_PATCHED);
	ck_assert_str_eq(res_of(pod, 0, "requests", "cpu"), "300m");
	ck_assert_str_eq(res_of(pod, 0, "requests", "memory"), "200Mi");
	ck_assert_ptr_null(res_of(pod, 0, "limits", "cpu"));
	cJSON_Delete(pod);
}
END_TEST

START_TEST(already_as_recommended)
{
	_cleanup_free_ char *t = review("CREATE", OWNER_RS,
					"[{\"name\":\"app\",\"resources\":{\"requests\":{\"cpu\":"
					"\"300m\",\"memory\":\"200Mi\"}}}]");
	enum webhook_result res;

	ck_assert_ptr_null(admit(t, REC_APP("300m", "200Mi"), NULL, &res));
	ck_assert_int_eq(res, WEBHOOK_RESULT_UNCHANGED);
	/* a container the recommendation does not name is left alone */
	ck_assert_ptr_null(admit(t,
				 "{\"containers\":[{\"name\":\"other\",\"requests\":{\"cpu\":"
				 "\"1\"}}]}",
				 NULL, &res));
	ck_assert_int_eq(res, WEBHOOK_RESULT_UNCHANGED);
}
END_TEST

#define REC_APP_LIM(req_cpu, req_mem, lim_cpu, lim_mem)                                            \
	"{\"at\":1764000000,\"node\":\"node-1\",\"reason\":\"oom-kill\","                          \
	"\"containers\":[{\"name\":\"app\",\"requests\":{\"cpu\":\"" req_cpu                       \
	"\",\"memory\":\"" req_mem "\"},\"limits\":{\"cpu\":\"" lim_cpu "\",\"memory\":\"" lim_mem \
	"\"}}]}"

#define APP_BURSTABLE                                                                              \
	"[{\"name\":\"app\",\"resources\":{\"requests\":{\"cpu\":\"100m\",\"memory\":\"128Mi\"},"  \
	"\"limits\":{\"cpu\":\"500m\",\"memory\":\"256Mi\"}}}]"

START_TEST(recommended_limit_taken)
{
	/* What the agent records after an OOM kill: the request as it was, the limit raised. The
	 * replacement pod must get the raised limit, or the eviction was for nothing. */
	_cleanup_free_ char *t = review("CREATE", OWNER_RS, APP_BURSTABLE);
	enum webhook_result res;
	enum qos_class qos;
	cJSON *pod = admit(t, REC_APP_LIM("100m", "128Mi", "500m", "300Mi"), NULL, &res);

	ck_assert_int_eq(res, WEBHOOK_RESULT_PATCHED);
	ck_assert_str_eq(res_of(pod, 0, "requests", "cpu"), "100m");
	ck_assert_str_eq(res_of(pod, 0, "requests", "memory"), "128Mi");
	ck_assert_str_eq(res_of(pod, 0, "limits", "cpu"), "500m");
	ck_assert_str_eq(res_of(pod, 0, "limits", "memory"), "300Mi");
	ck_assert_int_eq(webhook_pod_qos(pod, &qos), 0);
	ck_assert_int_eq(qos, QOS_BURSTABLE);
	cJSON_Delete(pod);

	/* Both moved: both taken, no ratio applied on top. */
	pod = admit(t, REC_APP_LIM("300m", "200Mi", "700m", "350Mi"), NULL, &res);
	ck_assert_int_eq(res, WEBHOOK_RESULT_PATCHED);
	ck_assert_str_eq(res_of(pod, 0, "requests", "cpu"), "300m");
	ck_assert_str_eq(res_of(pod, 0, "limits", "cpu"), "700m");
	ck_assert_str_eq(res_of(pod, 0, "requests", "memory"), "200Mi");
	ck_assert_str_eq(res_of(pod, 0, "limits", "memory"), "350Mi");
	cJSON_Delete(pod);

	/* A request above the recommended limit is lowered to it (the server would refuse it). */
	pod = admit(t, REC_APP_LIM("100m", "512Mi", "500m", "300Mi"), NULL, &res);
	ck_assert_int_eq(res, WEBHOOK_RESULT_PATCHED);
	ck_assert_str_eq(res_of(pod, 0, "requests", "memory"), "300Mi");
	ck_assert_str_eq(res_of(pod, 0, "limits", "memory"), "300Mi");
	cJSON_Delete(pod);
}
END_TEST

START_TEST(recommended_limit_keeps_qos)
{
	_cleanup_free_ char *t = review("CREATE", OWNER_RS, APP_BURSTABLE);
	_cleanup_free_ char *g = review("CREATE", OWNER_RS,
					"[{\"name\":\"app\",\"resources\":{\"limits\":{\"cpu\":"
					"\"1\",\"memory\":\"1Gi\"}}}]");
	_cleanup_free_ char *nolim =
		review("CREATE", OWNER_RS,
		       "[{\"name\":\"app\",\"resources\":{\"requests\":{\"cpu\":"
		       "\"100m\",\"memory\":\"128Mi\"}}}]");
	enum webhook_result res;
	enum qos_class qos;
	cJSON *pod;

	/* Burstable → Guaranteed is not the webhook's call: admitted unchanged. */
	ck_assert_ptr_null(admit(t, REC_APP_LIM("200m", "256Mi", "200m", "256Mi"), NULL, &res));
	ck_assert_int_eq(res, WEBHOOK_RESULT_FAILED_OPEN);

	/* Guaranteed stays Guaranteed: the limit wins, the request follows it. */
	pod = admit(g, REC_APP_LIM("1", "1Gi", "1", "1500Mi"), NULL, &res);
	ck_assert_int_eq(res, WEBHOOK_RESULT_PATCHED);
	ck_assert_str_eq(res_of(pod, 0, "requests", "memory"), "1500Mi");
	ck_assert_str_eq(res_of(pod, 0, "limits", "memory"), "1500Mi");
	ck_assert_int_eq(webhook_pod_qos(pod, &qos), 0);
	ck_assert_int_eq(qos, QOS_GUARANTEED);
	cJSON_Delete(pod);

	/* No limit stays none, whatever the recommendation says. */
	pod = admit(nolim, REC_APP_LIM("300m", "200Mi", "600m", "400Mi"), NULL, &res);
	ck_assert_int_eq(res, WEBHOOK_RESULT_PATCHED);
	ck_assert_str_eq(res_of(pod, 0, "requests", "memory"), "200Mi");
	ck_assert_ptr_null(res_of(pod, 0, "limits", "memory"));
	ck_assert_ptr_null(res_of(pod, 0, "limits", "cpu"));
	cJSON_Delete(pod);
}
END_TEST

START_TEST(broken_annotation_fails_open)
{
	static const char *const bad[] = {
		"",
		"not json",
		"[]",
		"{\"containers\":{}}",
		"{\"containers\":[{\"requests\":{\"cpu\":\"1\"}}]}",
		"{\"containers\":[{\"name\":\"app\",\"requests\":{\"cpu\":\"lots\"}}]}",
		"{\"containers\":[{\"name\":\"app\",\"requests\":{\"cpu\":\"-1\"}}]}",
		"{\"containers\":[{\"name\":\"app\",\"requests\":{\"memory\":\"0\"}}]}",
		"{\"containers\":[{\"name\":\"app\",\"requests\":[]}]}",
		"{\"containers\":[{\"name\":\"app\"},{\"name\":\"app\"}]}",
		"{\"at\":\"yesterday\",\"containers\":[]}",
		"{\"node\":7,\"containers\":[]}",
	};
	_cleanup_free_ char *t = review("CREATE", OWNER_RS,
					"[{\"name\":\"app\",\"resources\":{\"requests\":{\"cpu\":"
					"\"100m\"}}}]");

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		enum webhook_result res;
		ck_assert_ptr_null(admit(t, bad[i], NULL, &res));
		ck_assert_msg(res == WEBHOOK_RESULT_FAILED_OPEN, "annotation %zu '%s' gave %s", i,
			      bad[i], webhook_result_to_string(res));
	}
}
END_TEST

START_TEST(not_ours_skipped)
{
	_cleanup_free_ char *upd = review("UPDATE", OWNER_RS, "[{\"name\":\"app\"}]");
	_cleanup_free_ char *bare = review("CREATE", "", "[{\"name\":\"app\"}]");
	_cleanup_free_ char *notctl =
		review("CREATE",
		       "\"ownerReferences\":[{\"apiVersion\":\"apps/v1\",\"kind\":\"ReplicaSet\","
		       "\"name\":\"x\",\"uid\":\"u\"}]",
		       "[{\"name\":\"app\"}]");
	static const char svc[] =
		"{\"apiVersion\":\"admission.k8s.io/v1\",\"kind\":\"AdmissionReview\",\"request\":{"
		"\"uid\":\"u2\",\"kind\":{\"group\":\"\",\"version\":\"v1\",\"kind\":\"Service\"},"
		"\"operation\":\"CREATE\",\"object\":{\"metadata\":{}}}}";
	static const char binding[] =
		"{\"apiVersion\":\"admission.k8s.io/v1\",\"kind\":\"AdmissionReview\",\"request\":{"
		"\"uid\":\"u3\",\"kind\":{\"group\":\"\",\"version\":\"v1\",\"kind\":\"Pod\"},"
		"\"subResource\":\"binding\",\"operation\":\"CREATE\",\"object\":{}}}";
	const char *const texts[] = { upd, bare, notctl, svc, binding };
	struct webhook_request *r;

	for (size_t i = 0; i < 5; i++) {
		enum webhook_result res;
		ck_assert_ptr_null(admit(texts[i], REC_APP("1", "1Gi"), NULL, &res));
		ck_assert_msg(res == WEBHOOK_RESULT_SKIPPED, "case %zu gave %s", i,
			      webhook_result_to_string(res));
	}
	/* a CREATE with an owner but no annotation on it (missing owner / no recommendation) */
	enum webhook_result res;
	_cleanup_free_ char *t = review("CREATE", OWNER_RS, "[{\"name\":\"app\"}]");
	ck_assert_ptr_null(admit(t, NULL, NULL, &res));
	ck_assert_int_eq(res, WEBHOOK_RESULT_SKIPPED);

	r = parse_ok(t);
	ck_assert(r->is_pod);
	ck_assert(r->has_owner);
	ck_assert_str_eq(r->owner.kind, "ReplicaSet");
	ck_assert_str_eq(r->owner.name, "web-7d");
	ck_assert_str_eq(r->owner.uid, "u-rs");
	ck_assert_str_eq(r->namespace, "shop");
	ck_assert_str_eq(r->name, "web-7d-");
	webhook_request_free(r);
}
END_TEST

START_TEST(bad_reviews)
{
	static const char *const bad[] = {
		"",
		"{",
		"[]",
		"null",
		"{\"apiVersion\":\"admission.k8s.io/v1\",\"kind\":\"AdmissionReview\"}",
		"{\"apiVersion\":\"admission.k8s.io/"
		"v1\",\"kind\":\"AdmissionReview\",\"request\":5}",
		"{\"apiVersion\":\"admission.k8s.io/"
		"v1\",\"kind\":\"AdmissionReview\",\"request\":{}}",
		"{\"apiVersion\":\"admission.k8s.io/v1\",\"kind\":\"AdmissionReview\",\"request\":{"
		"\"uid\":7}}",
	};
	static const char *const bad_with_uid[] = {
		/* v1beta1 is not what we registered for */
		"{\"apiVersion\":\"admission.k8s.io/v1beta1\",\"kind\":\"AdmissionReview\","
		"\"request\":{\"uid\":\"U\",\"operation\":\"CREATE\",\"kind\":{\"group\":\"\","
		"\"version\":\"v1\",\"kind\":\"Pod\"}}}",
		"{\"apiVersion\":\"admission.k8s.io/v1\",\"kind\":\"AdmissionReview\",\"request\":{"
		"\"uid\":\"U\",\"kind\":{\"group\":\"\",\"version\":\"v1\",\"kind\":\"Pod\"}}}",
		"{\"apiVersion\":\"admission.k8s.io/v1\",\"kind\":\"AdmissionReview\",\"request\":{"
		"\"uid\":\"U\",\"operation\":\"CREATE\",\"kind\":\"Pod\"}}",
		"{\"apiVersion\":\"admission.k8s.io/v1\",\"kind\":\"AdmissionReview\",\"request\":{"
		"\"uid\":\"U\",\"operation\":\"CREATE\",\"kind\":{\"group\":\"\",\"version\":"
		"\"v1\","
		"\"kind\":\"Pod\"},\"object\":[1]}}",
		"{\"apiVersion\":\"admission.k8s.io/v1\",\"kind\":\"AdmissionReview\",\"request\":{"
		"\"uid\":\"U\",\"operation\":\"CREATE\",\"kind\":{\"group\":\"\",\"version\":"
		"\"v1\","
		"\"kind\":\"Pod\"},\"object\":{\"metadata\":{\"ownerReferences\":{}}}}}",
		"{\"apiVersion\":\"admission.k8s.io/v1\",\"kind\":\"AdmissionReview\",\"request\":{"
		"\"uid\":\"U\",\"operation\":\"CREATE\",\"kind\":{\"group\":\"\",\"version\":"
		"\"v1\","
		"\"kind\":\"Pod\"},\"object\":{\"metadata\":{\"ownerReferences\":[{\"controller\":"
		"true,\"kind\":\"ReplicaSet\"}]}}}}",
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct webhook_request *r = NULL;
		char *uid = NULL;
		ck_assert_int_eq(webhook_request_parse(bad[i], strlen(bad[i]), &r, &uid, NULL),
				 -EINVAL);
		ck_assert_ptr_null(r);
		ck_assert_ptr_null(uid);
	}
	for (size_t i = 0; i < sizeof(bad_with_uid) / sizeof(bad_with_uid[0]); i++) {
		struct webhook_request *r = NULL;
		char *uid = NULL, err[WEBHOOK_ERRBUF] = "";
		ck_assert_int_eq(webhook_request_parse(bad_with_uid[i], strlen(bad_with_uid[i]), &r,
						       &uid, err),
				 -EINVAL);
		ck_assert_msg(err[0], "no message for case %zu", i);
		ck_assert_ptr_null(r);
		/* the uid is still known, so the answer can be a well-formed "allowed" */
		ck_assert_str_eq(uid, "U");
		free(uid);
	}
}
END_TEST

START_TEST(pod_with_broken_resources_fails_open)
{
	_cleanup_free_ char *t = review("CREATE", OWNER_RS,
					"[{\"name\":\"app\",\"resources\":{\"requests\":{\"cpu\":"
					"\"a lot\"}}}]");
	_cleanup_free_ char *t2 = review("CREATE", OWNER_RS, "{}");
	enum webhook_result res;

	ck_assert_ptr_null(admit(t, REC_APP("1", "1Gi"), NULL, &res));
	ck_assert_int_eq(res, WEBHOOK_RESULT_FAILED_OPEN);
	ck_assert_ptr_null(admit(t2, REC_APP("1", "1Gi"), NULL, &res));
	ck_assert_int_eq(res, WEBHOOK_RESULT_FAILED_OPEN);
}
END_TEST

START_TEST(response_format)
{
	cJSON *patch = cJSON_Parse("[{\"op\":\"add\",\"path\":\"/a\",\"value\":1}]");
	char *out = NULL;
	cJSON *root, *resp;

	ck_assert_int_eq(webhook_response("abc", patch, &out), 0);
	root = cJSON_Parse(out);
	ck_assert_str_eq(cJSON_GetObjectItem(root, "apiVersion")->valuestring,
			 "admission.k8s.io/v1");
	resp = cJSON_GetObjectItem(root, "response");
	ck_assert_str_eq(cJSON_GetObjectItem(resp, "uid")->valuestring, "abc");
	ck_assert(cJSON_IsTrue(cJSON_GetObjectItem(resp, "allowed")));
	ck_assert_str_eq(cJSON_GetObjectItem(resp, "patchType")->valuestring, "JSONPatch");
	/* base64 of [{"op":"add","path":"/a","value":1}] */
	ck_assert_str_eq(cJSON_GetObjectItem(resp, "patch")->valuestring,
			 "W3sib3AiOiJhZGQiLCJwYXRoIjoiL2EiLCJ2YWx1ZSI6MX1d");
	cJSON_Delete(root);
	free(out);
	ck_assert_int_eq(webhook_response(NULL, NULL, &out), 0);
	root = cJSON_Parse(out);
	resp = cJSON_GetObjectItem(root, "response");
	ck_assert_str_eq(cJSON_GetObjectItem(resp, "uid")->valuestring, "");
	ck_assert_ptr_null(cJSON_GetObjectItem(resp, "patch"));
	cJSON_Delete(root);
	free(out);
	cJSON_Delete(patch);
}
END_TEST

START_TEST(rec_roundtrip)
{
	struct webhook_rec_container c = { .name = (char *)"app",
					   .cpu_request = 250,
					   .cpu_limit = 500,
					   .memory_request = 256 * 1024 * 1024,
					   .memory_limit = RESOURCE_UNSET };
	struct webhook_rec rec = { .at = 1764000000,
				   .node = (char *)"node-1",
				   .reason = (char *)"resize Infeasible",
				   .containers = &c,
				   .n_containers = 1 };
	struct webhook_rec *back = NULL;
	char *text = NULL;

	ck_assert_int_eq(webhook_rec_format(&rec, &text), 0);
	ck_assert_ptr_nonnull(strstr(text, "\"cpu\":\"250m\""));
	ck_assert_ptr_nonnull(strstr(text, "\"memory\":\"256Mi\""));
	ck_assert_int_eq(webhook_rec_parse(text, &back, NULL), 0);
	ck_assert_int_eq(back->at, 1764000000);
	ck_assert_str_eq(back->node, "node-1");
	ck_assert_str_eq(back->reason, "resize Infeasible");
	ck_assert_uint_eq(back->n_containers, 1);
	ck_assert_int_eq(back->containers[0].cpu_request, 250);
	ck_assert_int_eq(back->containers[0].cpu_limit, 500);
	ck_assert_int_eq(back->containers[0].memory_request, 256 * 1024 * 1024);
	ck_assert_int_eq(back->containers[0].memory_limit, RESOURCE_UNSET);
	webhook_rec_free(back);
	free(text);
}
END_TEST

START_TEST(metrics_text)
{
	struct webhook_stats st = { 0 };
	char *text = NULL;

	st.requests[WEBHOOK_RESULT_PATCHED] = 3;
	st.requests[WEBHOOK_RESULT_FAILED_OPEN] = 2;
	st.owner_errors = 1;
	ck_assert_int_eq(webhook_metrics_text(&st, &text), 0);
	ck_assert_ptr_nonnull(strstr(text, "snug_webhook_requests_total{result=\"patched\"} 3\n"));
	ck_assert_ptr_nonnull(
		strstr(text, "snug_webhook_requests_total{result=\"failed_open\"} 2\n"));
	ck_assert_ptr_nonnull(
		strstr(text, "snug_webhook_failed_open_total{cause=\"owner_lookup\"} 1\n"));
	free(text);
}
END_TEST

/* Exit status of `snug-agent webhook ARGS` with its output thrown away. */
static int webhook_cli(const char *args)
{
	char cmd[2048];
	int st;

	ck_assert_ptr_nonnull(getenv("SNUG_AGENT"));
	snprintf(cmd, sizeof(cmd), "%s webhook %s >/dev/null 2>&1", getenv("SNUG_AGENT"), args);
	st = system(cmd);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* A bad command line exits 2 before anything starts; a good one whose TLS files do not load gets
 * past parsing and exits 1; --help exits 0. */
START_TEST(cli_exit_codes)
{
	char dir[] = "/tmp/snug-webhook-cli-XXXXXX", args[1024], path[128];
	FILE *f;

	ck_assert_int_eq(webhook_cli("--help"), 0);
	ck_assert_int_eq(webhook_cli("--tls-cert c.pem"), 2);
	ck_assert_int_eq(webhook_cli("--tls-key k.pem"), 2);
	ck_assert_int_eq(webhook_cli("--tls-cert c --tls-key k --max-cpu 0"), 2);
	ck_assert_int_eq(webhook_cli("--tls-cert c --tls-key k --max-memory lots"), 2);
	ck_assert_int_eq(webhook_cli("--tls-cert c --tls-key k --tls-check-interval 0"), 2);
	ck_assert_int_eq(webhook_cli("--tls-cert c --tls-key k --log-level loud"), 2);
	ck_assert_int_eq(webhook_cli("--tls-cert c --tls-key k extra"), 2);
	ck_assert_int_eq(webhook_cli("--tls-cert c --tls-key k --no-such-flag"), 2);

	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/kubeconfig", dir);
	f = fopen(path, "we");
	ck_assert_ptr_nonnull(f);
	fputs("current-context: x\n"
	      "clusters: [{name: x, cluster: {server: 'https://127.0.0.1:1'}}]\n"
	      "contexts: [{name: x, context: {cluster: x}}]\n",
	      f);
	fclose(f);
	/* No API server access at all: exit 1. */
	ck_assert_int_eq(webhook_cli("--tls-cert c --tls-key k --kubeconfig /nonexistent/kc"), 1);
	/* API access, but TLS files that are missing or are not PEM: exit 1. */
	snprintf(args, sizeof(args),
		 "--tls-cert %s/none.pem --tls-key %s/none.pem --kubeconfig %s "
		 "--listen 127.0.0.1:0 --max-cpu 2 --max-memory 1Gi --tls-check-interval 1",
		 dir, dir, path);
	ck_assert_int_eq(webhook_cli(args), 1);
	snprintf(args, sizeof(args),
		 "--tls-cert %s --tls-key %s --kubeconfig %s --listen 127.0.0.1:0", path, path,
		 path);
	ck_assert_int_eq(webhook_cli(args), 1);
	ck_assert_int_eq(unlink(path), 0);
	ck_assert_int_eq(rmdir(dir), 0);
}
END_TEST

Suite *webhook_suite(void)
{
	Suite *s = suite_create("webhook");
	TCase *tc = tcase_create("patch");

	tcase_add_test(tc, burstable_keeps_ratio);
	tcase_add_test(tc, no_limit_stays_none);
	tcase_add_test(tc, limit_equal_request_follows);
	tcase_add_test(tc, guaranteed_stays_guaranteed);
	tcase_add_test(tc, besteffort_untouched);
	tcase_add_test(tc, caps_apply);
	tcase_add_test(tc, no_resources_object);
	tcase_add_test(tc, already_as_recommended);
	tcase_add_test(tc, recommended_limit_taken);
	tcase_add_test(tc, recommended_limit_keeps_qos);
	tcase_add_test(tc, broken_annotation_fails_open);
	tcase_add_test(tc, pod_with_broken_resources_fails_open);
	suite_add_tcase(s, tc);
	tc = tcase_create("review");
	tcase_add_test(tc, not_ours_skipped);
	tcase_add_test(tc, bad_reviews);
	tcase_add_test(tc, response_format);
	tcase_add_test(tc, rec_roundtrip);
	tcase_add_test(tc, metrics_text);
	suite_add_tcase(s, tc);
	tc = tcase_create("cli");
	tcase_add_test(tc, cli_exit_codes);
	suite_add_tcase(s, tc);
	return s;
}
