/* Unit tests for reply classification: the Status bodies a real kube-apiserver sent (1.36 and
 * 1.33) must map to the outcome the agent acts on; plus discovery and version parsing. */
#include "tests/unit/unit.h"
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "agent/kube/kube-internal.h"
#include "agent/kube/kube.h"
#include "tests/unit/kube_fixture.h"

static const struct {
	const char *fixture;
	enum kube_call call;
	const char *name;
	long code;
	enum kube_outcome outcome;
	const char *message; /* substring of Status.message, or NULL */
	const char *cause;   /* substring of the first cause, or NULL */
} recorded[] = {
	{ "v1.36/09-resize-allowed-cpu.reply", KUBE_CALL_RESIZE, "rz", 200, KUBE_OK },
	{ "v1.36/10-resize-qos-change-to-guaranteed.reply", KUBE_CALL_RESIZE, "rz", 422,
	  KUBE_REJECTED, "Pod QOS Class may not change as a result of resizing" },
	{ "v1.36/12-resize-remove-limits.reply", KUBE_CALL_RESIZE, "rz", 422, KUBE_REJECTED,
	  "resource limits cannot be removed" },
	{ "v1.36/13-resize-ephemeral-storage.reply", KUBE_CALL_RESIZE, "rz", 422, KUBE_REJECTED,
	  "only cpu and memory resources are mutable" },
	{ "v1.33/11-resize-memory-limit-down.reply", KUBE_CALL_RESIZE, "rz", 422, KUBE_REJECTED,
	  "memory limits cannot be decreased unless resizePolicy is RestartContainer" },
	{ "v1.36/11-resize-memory-limit-down.reply", KUBE_CALL_RESIZE, "rz", 200, KUBE_OK },
	{ "v1.36/25-resize-no-status-resources.reply", KUBE_CALL_RESIZE, "rz-old", 422,
	  KUBE_NOT_SUPPORTED, "Pod running on node without support for resize" },
	{ "v1.33/25-resize-no-status-resources.reply", KUBE_CALL_RESIZE, "rz-old", 422,
	  KUBE_NOT_SUPPORTED, "without support for resize" },
	/* what a spec patch gets where the resize feature is off (1.27–1.31 without the gate) */
	{ "v1.36/16-spec-patch-resources-main-endpoint.reply", KUBE_CALL_RESIZE, "rz", 422,
	  KUBE_NOT_SUPPORTED, "pod updates may not change fields other than" },
	{ "v1.36/18-resize-as-unprivileged-agent.reply", KUBE_CALL_RESIZE, "rz", 403,
	  KUBE_FORBIDDEN, "cannot patch resource \"pods/resize\"" },
	{ "v1.36/22-agent-plain-pod-patch-forbidden.reply", KUBE_CALL_ANNOTATE, "rz", 403,
	  KUBE_FORBIDDEN, "cannot patch resource \"pods\"" },
	{ "v1.36/28-resize-besteffort-add-requests.reply", KUBE_CALL_RESIZE, "rz-be", 422,
	  KUBE_REJECTED, "\"BestEffort\": Pod QOS Class may not change" },
	{ "v1.36/106-resize-stale-resourceVersion.reply", KUBE_CALL_RESIZE, "rz-g", 409,
	  KUBE_CONFLICT, "the object has been modified" },
	{ "v1.33/106-resize-stale-resourceVersion.reply", KUBE_CALL_RESIZE, "rz-g", 409,
	  KUBE_CONFLICT, "the object has been modified" },
	{ "v1.36/104-resize-guaranteed-limits-only.reply", KUBE_CALL_RESIZE, "rz-g", 422,
	  KUBE_REJECTED, "\"Guaranteed\"" },
	{ "v1.36/38-evict-pdb-unprocessed.reply", KUBE_CALL_EVICT, "web-1", 429, KUBE_BLOCKED,
	  "would violate the pod's disruption budget", "web-pdb is still being processed" },
	{ "v1.36/41-evict-blocked-by-pdb.reply", KUBE_CALL_EVICT, "web-1", 429, KUBE_BLOCKED,
	  "disruption budget", "web-pdb needs 1 healthy pods and has 1 currently" },
	{ "v1.33/41-evict-blocked-by-pdb.reply", KUBE_CALL_EVICT, "web-1", 429, KUBE_BLOCKED,
	  "disruption budget", "needs 1 healthy pods" },
	{ "v1.36/123-evict-two-pdbs.reply", KUBE_CALL_EVICT, "db-1", 500, KUBE_BLOCKED,
	  "more than one PodDisruptionBudget" },
	{ "v1.36/46-evict-allowed-by-pdb.reply", KUBE_CALL_EVICT, "web-1", 201, KUBE_OK },
	{ "v1.36/54-evict-no-pdb.reply", KUBE_CALL_EVICT, "solo", 201, KUBE_OK },
	{ "v1.36/51-evict-nonexistent.reply", KUBE_CALL_EVICT, "nope", 404, KUBE_NOT_FOUND,
	  "pods \"nope\" not found" },
	{ "v1.36/119-evict-uid-precondition-mismatch.reply", KUBE_CALL_EVICT, "db-1", 409,
	  KUBE_CONFLICT, "the UID in the precondition" },
	{ "v1.36/56-event-core-v1.reply", KUBE_CALL_EVENT, "rz", 201, KUBE_OK },
	{ "v1.33/56-event-core-v1.reply", KUBE_CALL_EVENT, "rz", 201, KUBE_OK },
};

START_TEST(test_recorded_outcomes)
{
	struct kube_status st;
	enum kube_outcome o;
	size_t len;
	long code;
	char *body = kube_fixture_reply(recorded[_i].fixture, &code, &len);

	ck_assert_int_eq(code, recorded[_i].code);
	ck_assert_int_eq(kube_status_parse(code, body, len, &st), 0);
	o = kube_classify(recorded[_i].call, &st, recorded[_i].name);
	ck_assert_msg(o == recorded[_i].outcome, "%s: %s, want %s", recorded[_i].fixture,
		      kube_outcome_to_string(o), kube_outcome_to_string(recorded[_i].outcome));
	if (recorded[_i].message)
		ck_assert_msg(st.message && strstr(st.message, recorded[_i].message), "%s: %s",
			      recorded[_i].fixture, st.message);
	if (recorded[_i].cause)
		ck_assert_msg(st.cause && strstr(st.cause, recorded[_i].cause), "%s: %s",
			      recorded[_i].fixture, st.cause);
	if (code >= 400)
		ck_assert(st.is_status && st.failure);
	kube_status_done(&st);
	free(body);
}
END_TEST

static enum kube_outcome classify(enum kube_call call, long code, const char *body,
				  const char *name)
{
	struct kube_status st;
	enum kube_outcome o;

	ck_assert_int_eq(kube_status_parse(code, body, body ? strlen(body) : 0, &st), 0);
	o = kube_classify(call, &st, name);
	kube_status_done(&st);
	return o;
}

START_TEST(test_synthetic_outcomes)
{
	const char *gone = "{\"kind\":\"Status\",\"status\":\"Failure\",\"reason\":\"NotFound\","
			   "\"details\":{\"name\":\"web\",\"kind\":\"pods\"},\"code\":404}";
	const char *nosub = "{\"kind\":\"Status\",\"status\":\"Failure\",\"reason\":\"NotFound\","
			    "\"message\":\"the server could not find the requested resource\","
			    "\"code\":404}";
	const char *ok_failure = "{\"kind\":\"Status\",\"status\":\"Failure\",\"code\":500}";

	/* 404 naming the pod: it is gone; 404 without: the server has no resize subresource */
	ck_assert_int_eq(classify(KUBE_CALL_RESIZE, 404, gone, "web"), KUBE_NOT_FOUND);
	ck_assert_int_eq(classify(KUBE_CALL_RESIZE, 404, nosub, "web"), KUBE_NOT_SUPPORTED);
	ck_assert_int_eq(classify(KUBE_CALL_RESIZE, 404, "404 page not found", "web"),
			 KUBE_NOT_SUPPORTED);
	ck_assert_int_eq(classify(KUBE_CALL_GET, 404, nosub, "web"), KUBE_NOT_FOUND);
	ck_assert_int_eq(classify(KUBE_CALL_RESIZE, 503, "garbage{", "web"), KUBE_TRANSIENT);
	ck_assert_int_eq(classify(KUBE_CALL_RESIZE, 500, NULL, "web"), KUBE_TRANSIENT);
	ck_assert_int_eq(classify(KUBE_CALL_EVICT, 500, NULL, "web"), KUBE_TRANSIENT);
	ck_assert_int_eq(classify(KUBE_CALL_RESIZE, 0, NULL, "web"), KUBE_TRANSIENT);
	ck_assert_int_eq(classify(KUBE_CALL_RESIZE, 429, NULL, "web"), KUBE_TRANSIENT);
	ck_assert_int_eq(classify(KUBE_CALL_EVICT, 429, NULL, "web"), KUBE_BLOCKED);
	ck_assert_int_eq(classify(KUBE_CALL_GET, 401, NULL, "web"), KUBE_UNAUTHORIZED);
	ck_assert_int_eq(classify(KUBE_CALL_EVENT, 400, NULL, "web"), KUBE_REJECTED);
	/* A 2xx whose Status says Failure is not a success. */
	ck_assert_int_eq(classify(KUBE_CALL_EVICT, 201, ok_failure, "web"), KUBE_TRANSIENT);
	ck_assert_int_eq(classify(KUBE_CALL_EVICT, 201, "{}", "web"), KUBE_OK);
	/* Status fields of the wrong type are dropped, not fatal */
	{
		struct kube_status st;
		const char *odd =
			"{\"kind\":\"Status\",\"message\":5,\"details\":{\"causes\":[7]}}";

		ck_assert_int_eq(kube_status_parse(422, odd, strlen(odd), &st), 0);
		ck_assert(st.is_status);
		ck_assert_ptr_null(st.message);
		ck_assert_ptr_null(st.cause);
		kube_status_done(&st);
	}
}
END_TEST

START_TEST(test_discovery_and_version)
{
	size_t len;
	long code;
	char *body = kube_fixture_reply("v1.36/02-discovery-core-v1.reply", &code, &len);
	char *p;
	int v;

	ck_assert_int_eq(kube_discovery_has_resize(body, len), 1);
	/* the same list without the subresource (a server with the feature off) */
	p = strstr(body, "\"pods/resize\"");
	ck_assert_ptr_nonnull(p);
	memcpy(p + 1, "podz", 4);
	ck_assert_int_eq(kube_discovery_has_resize(body, len), 0);
	free(body);
	ck_assert_int_eq(kube_discovery_has_resize("{}", 2), -EINVAL);
	ck_assert_int_eq(kube_discovery_has_resize("nope", 4), -EINVAL);

	body = kube_fixture_reply("v1.33/01-version.reply", &code, &len);
	ck_assert_int_eq(kube_version_parse(body, len, &v), 0);
	ck_assert_int_eq(v, 133);
	free(body);
	ck_assert_int_eq(kube_version_parse("{\"major\":\"1\",\"minor\":\"27+\"}", 28, &v), 0);
	ck_assert_int_eq(v, 127);
	ck_assert_int_eq(kube_version_parse("{\"major\":1,\"minor\":\"27\"}", 25, &v), -EINVAL);
	ck_assert_int_eq(kube_version_parse("{\"major\":\"1\",\"minor\":\"x\"}", 26, &v), -EINVAL);

	ck_assert_int_eq(kube_resize_path_from(1, 136), KUBE_PATH_SUBRESOURCE);
	ck_assert_int_eq(kube_resize_path_from(0, 136), KUBE_PATH_NONE);
	ck_assert_int_eq(kube_resize_path_from(0, 132), KUBE_PATH_NONE);
	ck_assert_int_eq(kube_resize_path_from(0, 131), KUBE_PATH_SPEC_PATCH);
	ck_assert_int_eq(kube_resize_path_from(0, 127), KUBE_PATH_SPEC_PATCH);
	ck_assert_int_eq(kube_resize_path_from(0, 126), KUBE_PATH_NONE);
}
END_TEST

Suite *kube_status_suite(void)
{
	Suite *s = suite_create("kube_status");
	TCase *tc = tcase_create("classify");

	tcase_add_loop_test(tc, test_recorded_outcomes, 0, ELEMENTSOF(recorded));
	tcase_add_test(tc, test_synthetic_outcomes);
	tcase_add_test(tc, test_discovery_and_version);
	suite_add_tcase(s, tc);
	return s;
}
