/* The webhook's recommendation from WorkloadHistory entries: which workload a pod belongs to, and
 * VPA's target on every node's history of its containers merged. */
#include "tests/unit/unit.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent/webhook.h"
#include "agent/webhook_history.h"

static struct webhook_request *review(const char *owner_kind, const char *owner_name,
				      const char *hash)
{
	char buf[2048];
	struct webhook_request *r = NULL;

	snprintf(buf, sizeof(buf),
		 "{\"apiVersion\":\"admission.k8s.io/v1\",\"kind\":\"AdmissionReview\",\"request\":"
		 "{\"uid\":\"u\",\"kind\":{\"group\":\"\",\"version\":\"v1\",\"kind\":\"Pod\"},"
		 "\"namespace\":\"shop\",\"operation\":\"CREATE\",\"object\":{\"metadata\":{"
		 "\"labels\":{\"pod-template-hash\":\"%s\"},\"ownerReferences\":[{\"apiVersion\":"
		 "\"apps/v1\",\"kind\":\"%s\",\"name\":\"%s\",\"uid\":\"1\",\"controller\":true}]},"
		 "\"spec\":{\"containers\":[{\"name\":\"app\"},{\"name\":\"log\"}]}}}}",
		 hash, owner_kind, owner_name);
	ck_assert_int_eq(webhook_request_parse(buf, strlen(buf), &r, NULL, NULL), 0);
	return r;
}

START_TEST(test_workload_of_a_pod)
{
	struct webhook_request *r;
	char kind[64], name[254];

	r = review("ReplicaSet", "web-6d4cf56db6", "6d4cf56db6");
	ck_assert_int_eq(webhook_history_workload(r, kind, sizeof(kind), name, sizeof(name)), 0);
	ck_assert_str_eq(kind, "Deployment");
	ck_assert_str_eq(name, "web");
	webhook_request_free(r);
	/* A ReplicaSet whose name does not end in the pod's hash is its own workload. */
	r = review("ReplicaSet", "web-standalone", "6d4cf56db6");
	ck_assert_int_eq(webhook_history_workload(r, kind, sizeof(kind), name, sizeof(name)), 0);
	ck_assert_str_eq(kind, "ReplicaSet");
	ck_assert_str_eq(name, "web-standalone");
	webhook_request_free(r);
	r = review("StatefulSet", "db", "");
	ck_assert_int_eq(webhook_history_workload(r, kind, sizeof(kind), name, sizeof(name)), 0);
	ck_assert_str_eq(kind, "StatefulSet");
	webhook_request_free(r);
}
END_TEST

/* One bucket each: CPU bucket 49 starts at 1.9135 cores (P90 = its end, 2.0935), memory bucket 37
 * at 1e7 x (1.05^37 - 1) / 0.05. Two containers split VPA's minimums; only app has history. */
START_TEST(test_recommendation_from_entries)
{
	static const char *const LIST =
		"{\"kind\":\"WorkloadHistoryList\",\"items\":["
		"{\"metadata\":{\"name\":\"k.node-a\"},\"spec\":{\"nodeName\":\"node-a\","
		"\"workload\":{\"kind\":\"Deployment\",\"name\":\"web\"},\"containers\":[{\"name\":"
		"\"app\",\"totalSamplesCount\":10,\"firstSampleStart\":\"2026-12-01T00:00:00Z\","
		"\"lastSampleStart\":\"2026-12-03T00:00:00Z\",\"cpuHistogram\":{"
		"\"referenceTimestamp\":"
		"\"2026-12-03T00:00:00Z\",\"totalWeight\":1,\"numBuckets\":176,\"bucketWeights\":"
		"{\"49\":10000}},\"memoryHistogram\":{\"referenceTimestamp\":\"2026-12-03T00:00:"
		"00Z\","
		"\"totalWeight\":1,\"numBuckets\":176,\"bucketWeights\":{\"37\":10000}}}]}},"
		/* another workload under the same key (a collision): skipped */
		"{\"metadata\":{\"name\":\"k.node-b\"},\"spec\":{\"nodeName\":\"node-b\","
		"\"workload\":{\"kind\":\"StatefulSet\",\"name\":\"web\"},\"containers\":[]}}]}";
	struct rec_tunables t;
	struct webhook_request *r = review("ReplicaSet", "web-6d4cf56db6", "6d4cf56db6");
	cJSON *list = cJSON_Parse(LIST);
	struct webhook_rec *rec = NULL;
	char *text = NULL, err[WEBHOOK_ERRBUF] = "";
	int64_t cpu_m = 2093; /* floor(2.0935 x 1000) */

	rec_tunables_init_default(&t);
	ck_assert_int_eq(webhook_history_recommendation(list, r, "Deployment", "web", &t,
							1796000000LL * 1000000, &text, err),
			 0);
	ck_assert_int_eq(webhook_rec_parse(text, &rec, err), 0);
	ck_assert_uint_eq(rec->n_containers, 1);
	ck_assert_str_eq(rec->containers[0].name, "app");
	ck_assert_int_eq(rec->containers[0].cpu_request, cpu_m + cpu_m * 15 / 100);
	ck_assert_int_eq(rec->containers[0].cpu_limit, RESOURCE_UNSET);
	webhook_rec_free(rec);
	free(text);
	ck_assert_int_eq(webhook_history_recommendation(list, r, "Deployment", "other", &t,
							1796000000LL * 1000000, &text, err),
			 -ENOENT);
	cJSON_Delete(list);
	webhook_request_free(r);
}
END_TEST

/* A young workload evicted after an OOM kill: the kill is in its memory histogram, no minute of CPU
 * has ended yet. The memory request comes from the history, the CPU request is left as it is. */
START_TEST(test_memory_only_history)
{
	static const char *const LIST =
		"{\"kind\":\"WorkloadHistoryList\",\"items\":["
		"{\"metadata\":{\"name\":\"k.node-a\"},\"spec\":{\"nodeName\":\"node-a\","
		"\"workload\":{\"kind\":\"Deployment\",\"name\":\"web\"},\"containers\":[{\"name\":"
		"\"app\",\"totalSamplesCount\":0,\"cpuHistogram\":{\"totalWeight\":0,"
		"\"numBuckets\":176,"
		"\"bucketWeights\":{}},\"memoryHistogram\":{\"referenceTimestamp\":\"2026-12-03T00:"
		"00:"
		"00Z\",\"totalWeight\":1,\"numBuckets\":176,\"bucketWeights\":{\"37\":10000}}}]}}]"
		"}";
	struct rec_tunables t;
	struct webhook_request *r = review("ReplicaSet", "web-6d4cf56db6", "6d4cf56db6");
	cJSON *list = cJSON_Parse(LIST);
	struct webhook_rec *rec = NULL;
	char *text = NULL, err[WEBHOOK_ERRBUF] = "";

	rec_tunables_init_default(&t);
	ck_assert_int_eq(webhook_history_recommendation(list, r, "Deployment", "web", &t,
							1796000000LL * 1000000, &text, err),
			 0);
	ck_assert_int_eq(webhook_rec_parse(text, &rec, err), 0);
	ck_assert_uint_eq(rec->n_containers, 1);
	ck_assert_int_eq(rec->containers[0].cpu_request, RESOURCE_UNSET);
	ck_assert_int_gt(rec->containers[0].memory_request, 1000000000LL);
	webhook_rec_free(rec);
	free(text);
	cJSON_Delete(list);
	webhook_request_free(r);
}
END_TEST

Suite *webhook_history_suite(void)
{
	Suite *s = suite_create("webhook_history");
	TCase *tc = tcase_create("history");

	tcase_add_test(tc, test_workload_of_a_pod);
	tcase_add_test(tc, test_recommendation_from_entries);
	tcase_add_test(tc, test_memory_only_history);
	suite_add_tcase(s, tc);
	return s;
}
