/* The WorkloadHistory entries a node writes and reads: names and labels within the API's limits, the
 * written object, and the other nodes' containers read back into one remote aggregate. */
#include "tests/unit/unit.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent/kube/kube.h"
#include "agent/recommender/merge.h"
#include "agent/shared_history.h"

#define START (1234567890LL * REC_USEC_PER_SEC)

START_TEST(test_names_and_labels)
{
	char key[SHARED_KEY_SIZE], key2[SHARED_KEY_SIZE], label[SHARED_LABEL_SIZE];
	char name[SHARED_NAME_SIZE], longnode[254];

	shared_workload_key("Deployment", "web", key);
	ck_assert_uint_eq(strlen(key), 16);
	shared_workload_key("Deployment", "web", key2);
	ck_assert_str_eq(key, key2);
	/* Kind and name are both in it: a StatefulSet "web" is another workload. */
	shared_workload_key("StatefulSet", "web", key2);
	ck_assert_str_ne(key, key2);
	ck_assert(shared_node_label("node-a.example.com", label));
	ck_assert_str_eq(label, "node-a.example.com");
	memset(longnode, 'n', 100);
	longnode[100] = '\0';
	/* Too long for a label value: no label (the policy allows none, not another value). */
	ck_assert(!shared_node_label(longnode, label));
	shared_entry_name(key, "node-a", name);
	ck_assert_uint_eq(strlen(name), 16 + 1 + 6);
	ck_assert_str_eq(name + 17, "node-a");
	memset(longnode, 'n', 253);
	longnode[253] = '\0';
	shared_entry_name(key, longnode, name);
	ck_assert_uint_le(strlen(name), 253);
	ck_assert(strncmp(name + 17, "h-", 2) == 0);
}
END_TEST

/* The object a node writes, as a list item a reader parses: labels, owner, spec; only the other
 * nodes' containers of the same workload land in the remote aggregate. */
START_TEST(test_entry_round_trip)
{
	struct rec_tunables t;
	struct rec_aggregate *a = NULL, *remote = NULL;
	struct shared_container cs[2];
	struct shared_entry e = { .namespace = "shop",
				  .node_name = "node-b",
				  .node_uid = "1f2e",
				  .workload_api_version = "apps/v1",
				  .workload_kind = "Deployment",
				  .workload_name = "web",
				  .containers = cs,
				  .n_containers = 2,
				  .now_usec = START };
	struct kube_history_entry *entries = NULL;
	size_t n = 0, bad = 0;
	char *text = NULL, *list_text, key[SHARED_KEY_SIZE], err[256] = "";
	cJSON *o, *list, *md, *c;

	rec_tunables_init_default(&t);
	ck_assert_int_eq(rec_aggregate_new(&t, START, &a), 0);
	rec_aggregate_add_cpu_sample(a, START, 1500);
	rec_aggregate_add_cpu_sample(a, START + 60 * REC_USEC_PER_SEC, 2500);
	rec_decaying_histogram_add_sample(&a->memory, 3e9, 1, START);
	cs[0] = (struct shared_container){ "app", a };
	cs[1] = (struct shared_container){ "sidecar", a };
	ck_assert_int_eq(shared_entry_format(&e, &text), 0);
	o = cJSON_Parse(text);
	ck_assert_ptr_nonnull(o);
	md = cJSON_GetObjectItem(o, "metadata");
	shared_workload_key("Deployment", "web", key);
	ck_assert_str_eq(cJSON_GetObjectItem(cJSON_GetObjectItem(md, "labels"), "snug.io/workload")
				 ->valuestring,
			 key);
	ck_assert_str_eq(
		cJSON_GetObjectItem(cJSON_GetObjectItem(md, "labels"), "snug.io/node")->valuestring,
		"node-b");
	ck_assert_str_eq(
		cJSON_GetObjectItem(
			cJSON_GetArrayItem(cJSON_GetObjectItem(md, "ownerReferences"), 0), "kind")
			->valuestring,
		"Node");
	c = cJSON_GetArrayItem(cJSON_GetObjectItem(cJSON_GetObjectItem(o, "spec"), "containers"),
			       0);
	ck_assert_str_eq(c->child->string, "name");
	ck_assert_str_eq(c->child->valuestring, "app");
	/* Only the non-empty buckets go over the wire: 2 CPU buckets, 1 memory bucket. */
	ck_assert_int_eq(cJSON_GetArraySize(cJSON_GetObjectItem(
				 cJSON_GetObjectItem(c, "cpuHistogram"), "bucketWeights")),
			 2);
	ck_assert_int_eq(cJSON_GetArraySize(cJSON_GetObjectItem(
				 cJSON_GetObjectItem(c, "memoryHistogram"), "bucketWeights")),
			 1);
	ck_assert_int_eq(
		asprintf(&list_text,
			 "{\"kind\":\"WorkloadHistoryList\",\"apiVersion\":\"snug.io/"
			 "v1alpha1\",\"metadata\":{},\"items\":[%s,{\"metadata\":{\"name\":"
			 "\"x\"},\"spec\":{}}]}",
			 text) > 0,
		1);
	list = cJSON_Parse(list_text);
	ck_assert_int_eq(kube_history_list_parse(list, &entries, &n, &bad, err), 0);
	ck_assert_uint_eq(n, 1);
	ck_assert_uint_eq(bad, 1);
	ck_assert_str_eq(entries[0].node_name, "node-b");
	ck_assert_str_eq(entries[0].workload_kind, "Deployment");
	cJSON_ArrayForEach (c, entries[0].containers)
		ck_assert_int_eq(shared_remote_add(&remote, c, &t, START), 0);
	/* Two containers added into one remote: the counts add (the agent adds one name only). */
	ck_assert_int_eq(remote->total_samples, 4);
	ck_assert_double_eq_tol(rec_decaying_histogram_percentile(&remote->cpu, 1.0),
				rec_decaying_histogram_percentile(&a->cpu, 1.0), 1e-9);
	free(entries);
	cJSON_Delete(list);
	cJSON_Delete(o);
	free(list_text);
	free(text);
	rec_aggregate_free(remote);
	rec_aggregate_free(a);
}
END_TEST

/* A container whose histogram is malformed leaves the remote as it was. */
START_TEST(test_remote_add_refuses_bad)
{
	struct rec_tunables t;
	struct rec_aggregate *remote = NULL;
	cJSON *c = cJSON_Parse("{\"name\":\"app\",\"totalSamplesCount\":1,\"cpuHistogram\":"
			       "{\"totalWeight\":-1,\"numBuckets\":176,\"bucketWeights\":{}}}");

	rec_tunables_init_default(&t);
	ck_assert_int_eq(shared_remote_add(&remote, c, &t, START), -EBADMSG);
	ck_assert_ptr_null(remote);
	cJSON_Delete(c);
}
END_TEST

Suite *shared_history_suite(void)
{
	Suite *s = suite_create("shared_history");
	TCase *tc = tcase_create("entries");

	tcase_add_test(tc, test_names_and_labels);
	tcase_add_test(tc, test_entry_round_trip);
	tcase_add_test(tc, test_remote_add_refuses_bad);
	suite_add_tcase(s, tc);
	return s;
}
