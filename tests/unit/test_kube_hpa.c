/* Unit tests for what the agent reads of HorizontalPodAutoscalers: which requests each divides by,
 * and which pods' owners it scales. */
#include "tests/unit/unit.h"
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "agent/kube/kube-internal.h"
#include "agent/kube/kube.h"
#include "tests/unit/kube_fixture.h"

/* A list as the API server returns it (autoscaling/v2; fields it defaults are there). */
static const char *const LIST =
	"{\"kind\":\"HorizontalPodAutoscalerList\",\"apiVersion\":\"autoscaling/v2\","
	"\"metadata\":{\"resourceVersion\":\"812\"},\"items\":["
	/* CPU utilization on a Deployment */
	"{\"metadata\":{\"name\":\"web\",\"namespace\":\"shop\"},\"spec\":{\"scaleTargetRef\":"
	"{\"kind\":\"Deployment\",\"name\":\"web\",\"apiVersion\":\"apps/v1\"},\"minReplicas\":1,"
	"\"maxReplicas\":5,\"metrics\":[{\"type\":\"Resource\",\"resource\":{\"name\":\"cpu\","
	"\"target\":{\"type\":\"Utilization\",\"averageUtilization\":60}}}]},\"status\":"
	"{\"currentReplicas\":0,\"desiredReplicas\":0}},"
	/* memory AverageValue (no request read) and a ContainerResource memory utilization */
	"{\"metadata\":{\"name\":\"db\"},\"spec\":{\"scaleTargetRef\":{\"kind\":\"StatefulSet\","
	"\"name\":\"db\",\"apiVersion\":\"apps/v1\"},\"maxReplicas\":3,\"metrics\":["
	"{\"type\":\"Resource\",\"resource\":{\"name\":\"memory\",\"target\":{\"type\":"
	"\"AverageValue\",\"averageValue\":\"500Mi\"}}},"
	"{\"type\":\"ContainerResource\",\"containerResource\":{\"name\":\"memory\",\"container\":"
	"\"sql\",\"target\":{\"type\":\"Utilization\",\"averageUtilization\":70}}},"
	"{\"type\":\"Pods\",\"pods\":{\"metric\":{\"name\":\"qps\"},\"target\":{\"type\":"
	"\"AverageValue\",\"averageValue\":\"10\"}}}]}},"
	/* malformed: skipped, the others kept */
	"{\"metadata\":{\"name\":\"bad\"},\"spec\":{\"metrics\":[]}},"
	/* no metrics: the API's default, CPU utilization */
	"{\"metadata\":{\"name\":\"bare\"},\"spec\":{\"scaleTargetRef\":{\"kind\":\"ReplicaSet\","
	"\"name\":\"rs1\",\"apiVersion\":\"apps/v1\"},\"maxReplicas\":2}}"
	"]}";

static struct kube_pod *pod_owned_by(const char *api_version, const char *kind, const char *name,
				     const char *hash)
{
	char json[1024];
	struct kube_pod *p = NULL;
	char err[KUBE_ERRBUF] = "";

	snprintf(json, sizeof(json),
		 "{\"kind\":\"Pod\",\"metadata\":{\"name\":\"p\",\"namespace\":\"shop\",\"uid\":"
		 "\"0b6c7e4a-1111-4222-8333-944455556666\",\"resourceVersion\":\"1\",\"labels\":"
		 "{%s%s%s},\"ownerReferences\":[{\"apiVersion\":\"%s\",\"kind\":\"%s\",\"name\":"
		 "\"%s\",\"uid\":\"0b6c7e4a-1111-4222-8333-944455557777\",\"controller\":true}]},"
		 "\"spec\":{\"containers\":[{\"name\":\"app\"}]}}",
		 hash ? "\"pod-template-hash\":\"" : "", hash ? hash : "", hash ? "\"" : "",
		 api_version, kind, name);
	ck_assert_msg(kube_pod_parse_json(json, strlen(json), &p, err) == 0, "%s", err);
	ck_assert(p->has_owner);
	return p;
}

START_TEST(test_hpa_list_pins)
{
	cJSON *j = cJSON_Parse(LIST);
	struct kube_hpa *h = NULL;
	size_t n = 0, bad = 0;
	char err[KUBE_ERRBUF] = "";

	ck_assert_int_eq(kube_hpa_list_parse(j, &h, &n, &bad, err), 0);
	ck_assert_uint_eq(n, 3);
	ck_assert_uint_eq(bad, 1);
	ck_assert_msg(strstr(err, "scaleTargetRef: missing"), "%s", err);

	ck_assert_str_eq(h[0].name, "web");
	ck_assert_str_eq(h[0].target_kind, "Deployment");
	ck_assert(kube_hpa_pins(&h[0], "app", true));
	ck_assert(!kube_hpa_pins(&h[0], "app", false));

	/* AverageValue reads no request; the ContainerResource metric pins its container only. */
	ck_assert_str_eq(h[1].name, "db");
	ck_assert(!kube_hpa_pins(&h[1], "app", false));
	ck_assert(kube_hpa_pins(&h[1], "sql", false));
	ck_assert(!kube_hpa_pins(&h[1], "sql", true));

	ck_assert_str_eq(h[2].name, "bare");
	ck_assert(kube_hpa_pins(&h[2], "app", true));
	ck_assert(!kube_hpa_pins(&h[2], "app", false));
	kube_hpa_free_array(h, n);
	cJSON_Delete(j);
}
END_TEST

START_TEST(test_hpa_list_errors)
{
	static const char *const bad[] = {
		"[]",
		"{\"kind\":\"PodList\",\"items\":[]}",
		"{\"kind\":\"HorizontalPodAutoscalerList\",\"items\":{}}",
	};
	struct kube_hpa *h;
	size_t n, nbad;
	char err[KUBE_ERRBUF];

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		cJSON *j = cJSON_Parse(bad[i]);

		err[0] = '\0';
		ck_assert_int_eq(kube_hpa_list_parse(j, &h, &n, &nbad, err), -EINVAL);
		ck_assert_msg(err[0], "no error text for %s", bad[i]);
		cJSON_Delete(j);
	}
	/* A metric of the wrong shape makes its HPA malformed, named in the error. */
	{
		cJSON *j = cJSON_Parse(
			"{\"items\":[{\"metadata\":{\"name\":\"x\"},\"spec\":{\"scaleTargetRef\":"
			"{\"kind\":\"Deployment\",\"name\":\"x\"},\"metrics\":[{\"type\":"
			"\"Resource\",\"resource\":{\"name\":\"cpu\",\"target\":7}}]}}]}");

		ck_assert_int_eq(kube_hpa_list_parse(j, &h, &n, &nbad, err), 0);
		ck_assert_uint_eq(n, 0);
		ck_assert_uint_eq(nbad, 1);
		ck_assert_msg(strstr(err, "target: not an object"), "%s", err);
		kube_hpa_free_array(h, n);
		cJSON_Delete(j);
	}
}
END_TEST

START_TEST(test_hpa_targets)
{
	cJSON *j = cJSON_Parse(LIST);
	struct kube_hpa *h = NULL;
	size_t n = 0, bad = 0;
	struct kube_pod *p;

	ck_assert_int_eq(kube_hpa_list_parse(j, &h, &n, &bad, NULL), 0);
	/* A Deployment's pod: ReplicaSet <deployment>-<pod-template-hash>. */
	p = pod_owned_by("apps/v1", "ReplicaSet", "web-5d8f7c9b4", "5d8f7c9b4");
	ck_assert(kube_hpa_targets_pod(&h[0], p));
	ck_assert(!kube_hpa_targets_pod(&h[1], p));
	kube_pod_free(p);
	/* The name alone is not enough: the hash must be the pods' label. */
	p = pod_owned_by("apps/v1", "ReplicaSet", "web-5d8f7c9b4", "77aa");
	ck_assert(!kube_hpa_targets_pod(&h[0], p));
	kube_pod_free(p);
	p = pod_owned_by("apps/v1", "ReplicaSet", "web-5d8f7c9b4", NULL);
	ck_assert(!kube_hpa_targets_pod(&h[0], p));
	kube_pod_free(p);
	/* Another Deployment whose name starts alike. */
	p = pod_owned_by("apps/v1", "ReplicaSet", "webshop-5d8f7c9b4", "5d8f7c9b4");
	ck_assert(!kube_hpa_targets_pod(&h[0], p));
	kube_pod_free(p);
	/* The owner itself: a StatefulSet, a ReplicaSet scaled directly. */
	p = pod_owned_by("apps/v1", "StatefulSet", "db", NULL);
	ck_assert(kube_hpa_targets_pod(&h[1], p));
	ck_assert(!kube_hpa_targets_pod(&h[0], p));
	kube_pod_free(p);
	p = pod_owned_by("apps/v1", "ReplicaSet", "rs1", NULL);
	ck_assert(kube_hpa_targets_pod(&h[2], p));
	kube_pod_free(p);
	/* Same kind and name in another group is another object. */
	p = pod_owned_by("example.com/v1", "StatefulSet", "db", NULL);
	ck_assert(!kube_hpa_targets_pod(&h[1], p));
	kube_pod_free(p);
	kube_hpa_free_array(h, n);
	cJSON_Delete(j);
}
END_TEST

/* A LIST reply recorded from kube-apiserver 1.36.2 (tests/envtest/hpa_cost.py): status and
 * managedFields as the server keeps them. */
START_TEST(test_recorded_hpa_list)
{
	long code;
	size_t len, n = 0, bad = 0;
	char *body = kube_fixture_reply("v1.36/hpa-list.reply", &code, &len);
	cJSON *j = cJSON_ParseWithLength(body, len);
	struct kube_hpa *h = NULL;
	char err[KUBE_ERRBUF] = "";

	ck_assert_int_eq(code, 200);
	ck_assert_int_eq(kube_hpa_list_parse(j, &h, &n, &bad, err), 0);
	ck_assert_uint_eq(n, 1);
	ck_assert_uint_eq(bad, 0);
	ck_assert_str_eq(h[0].name, "web-0");
	ck_assert_str_eq(h[0].target_api_version, "apps/v1");
	ck_assert_str_eq(h[0].target_kind, "Deployment");
	ck_assert_str_eq(h[0].target_name, "web-0");
	ck_assert(kube_hpa_pins(&h[0], "app", true));
	ck_assert(!kube_hpa_pins(&h[0], "app", false));
	kube_hpa_free_array(h, n);
	cJSON_Delete(j);
	free(body);
}
END_TEST

Suite *kube_hpa_suite(void)
{
	Suite *s = suite_create("kube_hpa");
	TCase *tc = tcase_create("hpa");

	tcase_add_test(tc, test_hpa_list_pins);
	tcase_add_test(tc, test_hpa_list_errors);
	tcase_add_test(tc, test_hpa_targets);
	tcase_add_test(tc, test_recorded_hpa_list);
	suite_add_tcase(s, tc);
	return s;
}
