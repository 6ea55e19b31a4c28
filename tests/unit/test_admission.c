/* Unit tests for reading the kubelet's answer to a resize from the pod status (1.33 and 1.36 forms). */
#include <stdio.h>
#include <stdlib.h>

#include "agent/admission.h"
#include "tests/unit/unit.h"

#define MiB (INT64_C(1) << 20)

/* A Running pod whose container "app" has spec memory 128Mi/256Mi (what our resize asked for);
 * the status holes are filled by each case. */
static struct kube_pod *pod(int64_t generation, const char *status_extra, const char *cstatus)
{
	char json[4096], err[KUBE_ERRBUF] = "";
	struct kube_pod *p = NULL;
	int n;

	n = snprintf(json, sizeof(json),
		     "{\"kind\":\"Pod\",\"metadata\":{\"name\":\"p\",\"namespace\":\"ns\","
		     "\"uid\":\"0a-1b\",\"resourceVersion\":\"7\",\"generation\":%lld},"
		     "\"spec\":{\"containers\":[{\"name\":\"app\",\"resources\":{"
		     "\"requests\":{\"cpu\":\"100m\",\"memory\":\"128Mi\"},"
		     "\"limits\":{\"cpu\":\"200m\",\"memory\":\"256Mi\"}}}]},"
		     "\"status\":{\"phase\":\"Running\"%s,\"containerStatuses\":[{\"name\":\"app\","
		     "\"restartCount\":0%s}]}}",
		     (long long)generation, status_extra, cstatus);
	ck_assert_int_lt(n, (int)sizeof(json));
	ck_assert_msg(kube_pod_parse_json(json, (size_t)n, &p, err) == 0, "%s", err);
	return p;
}

static const struct resources want = { 100, 200, 128 * MiB, 256 * MiB };

/* What the kubelet had actuated before: 64Mi/128Mi. */
#define OLD_ACTUAL                                                                                 \
	",\"allocatedResources\":{\"cpu\":\"100m\",\"memory\":\"64Mi\"},\"resources\":{"           \
	"\"requests\":{\"cpu\":\"100m\",\"memory\":\"64Mi\"},\"limits\":{\"cpu\":\"200m\","        \
	"\"memory\":\"128Mi\"}}"
#define ALLOCATED_OURS                                                                             \
	",\"allocatedResources\":{\"cpu\":\"100m\",\"memory\":\"128Mi\"},\"resources\":{"          \
	"\"requests\":{\"cpu\":\"100m\",\"memory\":\"64Mi\"},\"limits\":{\"cpu\":\"200m\","        \
	"\"memory\":\"128Mi\"}}"
#define ACTUATED_OURS                                                                              \
	",\"allocatedResources\":{\"cpu\":\"100m\",\"memory\":\"128Mi\"},\"resources\":{"          \
	"\"requests\":{\"cpu\":\"100m\",\"memory\":\"128Mi\"},\"limits\":{\"cpu\":\"200m\","       \
	"\"memory\":\"256Mi\"}}"
#define DEFERRED(gen)                                                                              \
	",\"conditions\":[{\"type\":\"PodResizePending\",\"status\":\"True\",\"reason\":"          \
	"\"Deferred\",\"message\":\"Node didn't have enough resource: memory\"" gen "}]"

static enum admission_verdict verdict_after(struct kube_pod *reply, struct kube_pod *now)
{
	struct admission_baseline b;
	enum admission_verdict v;

	admission_baseline_init(reply, "app", &b);
	v = admission_verdict(now, "app", &want, &b);
	kube_pod_free(reply);
	kube_pod_free(now);
	return v;
}

/* 1.36 reports the generation it acted on. */
START_TEST(test_observed_generation_1_36)
{
	/* Not seen by the kubelet yet. */
	ck_assert_int_eq(verdict_after(pod(3, ",\"observedGeneration\":2", OLD_ACTUAL),
				       pod(3, ",\"observedGeneration\":2", OLD_ACTUAL)),
			 ADMISSION_WAITING);
	/* Seen, nothing pending: allocated. */
	ck_assert_int_eq(verdict_after(pod(3, ",\"observedGeneration\":2", OLD_ACTUAL),
				       pod(3, ",\"observedGeneration\":3", ALLOCATED_OURS)),
			 ADMISSION_ADMITTED);
	/* Runtime reports our values. */
	ck_assert_int_eq(verdict_after(pod(3, ",\"observedGeneration\":2", OLD_ACTUAL),
				       pod(3, ",\"observedGeneration\":3", ACTUATED_OURS)),
			 ADMISSION_ACTUATED);
	/* Deferred, about our generation. */
	ck_assert_int_eq(
		verdict_after(pod(3, ",\"observedGeneration\":2", OLD_ACTUAL),
			      pod(3,
				  ",\"observedGeneration\":3" DEFERRED(",\"observedGeneration\":3"),
				  OLD_ACTUAL)),
		ADMISSION_DEFERRED);
	/* A Deferred left from an earlier resize is not the answer to ours. */
	ck_assert_int_eq(
		verdict_after(
			pod(3, ",\"observedGeneration\":2" DEFERRED(",\"observedGeneration\":2"),
			    OLD_ACTUAL),
			pod(3, ",\"observedGeneration\":2" DEFERRED(",\"observedGeneration\":2"),
			    OLD_ACTUAL)),
		ADMISSION_WAITING);
}
END_TEST

/* 1.33 reports no generation: an answer is one that changed since the resize was accepted. */
START_TEST(test_no_generation_1_33)
{
	ck_assert_int_eq(verdict_after(pod(3, "", OLD_ACTUAL), pod(3, DEFERRED(""), OLD_ACTUAL)),
			 ADMISSION_DEFERRED);
	/* The same Deferred as before ours: no answer yet (the deadline decides). */
	ck_assert_int_eq(
		verdict_after(pod(3, DEFERRED(""), OLD_ACTUAL), pod(3, DEFERRED(""), OLD_ACTUAL)),
		ADMISSION_WAITING);
	/* The allocation moved to our requests: admitted. */
	ck_assert_int_eq(verdict_after(pod(3, "", OLD_ACTUAL), pod(3, "", ALLOCATED_OURS)),
			 ADMISSION_ADMITTED);
	ck_assert_int_eq(
		verdict_after(pod(3, "", OLD_ACTUAL),
			      pod(3,
				  ",\"conditions\":[{\"type\":\"PodResizeInProgress\",\"status\":"
				  "\"True\"}]",
				  ALLOCATED_OURS)),
		ADMISSION_ADMITTED);
	ck_assert_int_eq(verdict_after(pod(3, "", OLD_ACTUAL), pod(3, "", ACTUATED_OURS)),
			 ADMISSION_ACTUATED);
	ck_assert_int_eq(
		verdict_after(pod(3, "", OLD_ACTUAL),
			      pod(3,
				  ",\"conditions\":[{\"type\":\"PodResizePending\",\"status\":"
				  "\"True\",\"reason\":\"Infeasible\",\"message\":\"too big\"}]",
				  OLD_ACTUAL)),
		ADMISSION_INFEASIBLE);
	ck_assert_int_eq(
		verdict_after(pod(3, "", OLD_ACTUAL),
			      pod(3,
				  ",\"conditions\":[{\"type\":\"PodResizeInProgress\",\"status\":"
				  "\"True\",\"reason\":\"Error\",\"message\":\"failed\"}]",
				  ALLOCATED_OURS)),
		ADMISSION_ERROR);
}
END_TEST

/* Someone changed the resources after us: ours will never be admitted as such. */
START_TEST(test_superseded)
{
	struct kube_pod *reply = pod(3, "", OLD_ACTUAL);
	struct resources other = want;
	struct admission_baseline b;
	struct kube_pod *now = pod(4, "", OLD_ACTUAL);

	admission_baseline_init(reply, "app", &b);
	other.memory_limit = 300 * MiB;
	ck_assert_int_eq(admission_verdict(now, "app", &other, &b), ADMISSION_SUPERSEDED);
	/* The same spec at a later generation (e.g. an annotation-free spec change elsewhere) is
	 * still ours. */
	ck_assert_int_eq(admission_verdict(now, "app", &want, &b), ADMISSION_WAITING);
	ck_assert_int_eq(admission_verdict(now, "nope", &want, &b), ADMISSION_WAITING);
	kube_pod_free(reply);
	kube_pod_free(now);
}
END_TEST

Suite *admission_suite(void)
{
	Suite *s = suite_create("admission");
	TCase *tc = tcase_create("verdict");

	tcase_add_test(tc, test_observed_generation_1_36);
	tcase_add_test(tc, test_no_generation_1_33);
	tcase_add_test(tc, test_superseded);
	suite_add_tcase(s, tc);
	return s;
}
