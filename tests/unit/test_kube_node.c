/* Unit tests for what the agent reads of its Node (status.allocatable, with an error per bad
 * field), a pod's requests as the scheduler counts them, and the pod cache taking our own writes'
 * replies ahead of the watch. */
#include "tests/unit/unit.h"
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "agent/kube/kube-internal.h"
#include "agent/kube/kube.h"
#include "tests/unit/kube_fixture.h"

#define MIB (INT64_C(1) << 20)
#define GIB (INT64_C(1) << 30)

static int parse_text(const char *text, struct kube_node *ret, char *err)
{
	cJSON *j = cJSON_Parse(text);
	int r;

	ck_assert_ptr_nonnull(j);
	r = kube_node_parse(j, ret, err);
	cJSON_Delete(j);
	return r;
}

START_TEST(test_recorded_node)
{
	long code;
	size_t len;
	char *body = kube_fixture_reply("v1.33/05-patch-node-status.reply", &code, &len);
	cJSON *j = cJSON_ParseWithLength(body, len);
	struct kube_node n;
	char err[KUBE_ERRBUF] = "";

	ck_assert_int_eq(code, 200);
	ck_assert_int_eq(kube_node_parse(j, &n, err), 0);
	ck_assert_str_eq(n.name, "node-1");
	ck_assert_str_eq(n.resource_version, "207");
	ck_assert_int_eq(n.cpu_allocatable, 4000);
	ck_assert_int_eq(n.memory_allocatable, 8 * GIB);
	kube_node_done(&n);
	cJSON_Delete(j);
	free(body);
}
END_TEST

START_TEST(test_node_errors_name_the_field)
{
	static const struct {
		const char *json, *want;
	} cases[] = {
		{ "[]", "not an object" },
		{ "{\"kind\":\"Pod\",\"metadata\":{\"name\":\"n\"}}", "not Node" },
		{ "{\"kind\":\"Node\"}", "metadata: missing" },
		{ "{\"metadata\":{\"name\":7}}", "metadata.name: not a string" },
		{ "{\"metadata\":{\"name\":\"n\"}}", "status: missing" },
		/* capacity alone is not enough: allocatable is what pods are admitted against. */
		{ "{\"metadata\":{\"name\":\"n\"},\"status\":{\"capacity\":{\"cpu\":\"4\","
		  "\"memory\":\"8Gi\"}}}",
		  "status.allocatable: missing" },
		{ "{\"metadata\":{\"name\":\"n\"},\"status\":{\"allocatable\":[]}}",
		  "allocatable: not an object" },
		{ "{\"metadata\":{\"name\":\"n\"},\"status\":{\"allocatable\":{\"memory\":\"8Gi\"}}"
		  "}",
		  "allocatable.cpu: missing" },
		{ "{\"metadata\":{\"name\":\"n\"},\"status\":{\"allocatable\":{\"cpu\":\"four\","
		  "\"memory\":\"8Gi\"}}}",
		  "allocatable.cpu: bad quantity \"four\"" },
		{ "{\"metadata\":{\"name\":\"n\"},\"status\":{\"allocatable\":{\"cpu\":\"4\"}}}",
		  "allocatable.memory: missing" },
		{ "{\"metadata\":{\"name\":\"n\"},\"status\":{\"allocatable\":{\"cpu\":\"4\","
		  "\"memory\":4}}}",
		  "allocatable.memory: not a string" },
		{ "{\"metadata\":{\"name\":\"n\"},\"status\":{\"allocatable\":{\"cpu\":\"4\","
		  "\"memory\":\"-1Gi\"}}}",
		  "allocatable.memory: bad quantity" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct kube_node n = { .name = (char *)"untouched" };
		char err[KUBE_ERRBUF] = "";

		ck_assert_int_eq(parse_text(cases[i].json, &n, err), -EINVAL);
		ck_assert_msg(strstr(err, cases[i].want), "case %zu: \"%s\" lacks \"%s\"", i, err,
			      cases[i].want);
		ck_assert_str_eq(n.name, "untouched");
	}
}
END_TEST

START_TEST(test_pod_requests_count_like_the_scheduler)
{
	struct kube_container cs[3] = {
		/* Resized up in the spec, the kubelet still on the old allocation: spec counts. */
		{ .spec = { 500, 1000, 256 * MIB, 512 * MIB },
		  .has_allocated = true,
		  .allocated = { 300, -1, 128 * MIB, -1 } },
		/* Resized down in the spec, still running with more: the actual counts. */
		{ .spec = { 100, -1, 64 * MIB, -1 },
		  .has_actual = true,
		  .actual = { 200, -1, 96 * MIB, -1 } },
		/* No requests at all. */
		{ .spec = { -1, -1, -1, -1 } },
	};
	struct kube_pod p = { .containers = cs, .n_containers = 3 };

	ck_assert_int_eq(kube_pod_requests(&p, true), 700);
	ck_assert_int_eq(kube_pod_requests(&p, false), 352 * MIB);

	/* Absurd but parseable requests saturate instead of wrapping negative. */
	cs[2].spec.memory_request = INT64_MAX - 1;
	ck_assert_int_eq(kube_pod_requests(&p, false), INT64_MAX);
	cs[2].spec.memory_request = -1;

	/* A resize the kubelet called Infeasible no longer counts its spec (determineEffective-
	 * Requests): the first container's 500m/256Mi is not what runs, the actual 300m/128Mi is. */
	cs[0].has_actual = true;
	cs[0].actual = (struct resources){ 300, -1, 128 * MIB, -1 };
	ck_assert_int_eq(kube_pod_requests(&p, true), 700);
	p.resize = KUBE_RESIZE_INFEASIBLE;
	ck_assert_int_eq(kube_pod_requests(&p, true), 500);
	ck_assert_int_eq(kube_pod_requests(&p, false), 224 * MIB);
}
END_TEST

/* component-helpers PodRequests: native sidecars summed with the app containers (at their status
 * resources when larger), each init container with the sidecars started before it as a max,
 * pod-level requests instead of the containers' when set, plus the overhead. */
START_TEST(test_pod_requests_init_sidecars_overhead)
{
	struct kube_container cs[1] = { { .spec = { 100, -1, 128 * MIB, -1 } } };
	struct kube_container init[2] = {
		/* A sidecar reported running with more than its spec says. */
		{ .spec = { 50, -1, 64 * MIB, -1 },
		  .sidecar = true,
		  .has_actual = true,
		  .actual = { 80, -1, 64 * MIB, -1 } },
		/* An ordinary init container after it: runs with it, before the app. */
		{ .spec = { 500, -1, 100 * MIB, -1 } },
	};
	struct kube_pod p = { .containers = cs,
			      .n_containers = 1,
			      .init_containers = init,
			      .n_init_containers = 2,
			      .overhead_cpu = RESOURCE_UNSET,
			      .overhead_mem = RESOURCE_UNSET };

	/* cpu: max(100 + 80, 80 + 500) = 580; memory: max(128 + 64, 64 + 100) = 192Mi. */
	ck_assert_int_eq(kube_pod_requests(&p, true), 580);
	ck_assert_int_eq(kube_pod_requests(&p, false), 192 * MIB);
	/* An init container before the sidecar runs alone. */
	init[1].sidecar = true;
	init[0].sidecar = false;
	init[0].spec.cpu_request = 500;
	init[1].spec.cpu_request = 50;
	init[1].spec.memory_request = 100 * MIB;
	init[0].spec.memory_request = 64 * MIB;
	init[1].has_actual = false;
	ck_assert_int_eq(kube_pod_requests(&p, true), 500);
	/* Overhead on top (memory: 128Mi + the sidecar's 100Mi beat the init's 64Mi). */
	p.overhead_cpu = 250;
	p.overhead_mem = 64 * MIB;
	ck_assert_int_eq(kube_pod_requests(&p, true), 750);
	ck_assert_int_eq(kube_pod_requests(&p, false), 292 * MIB);
	/* Pod-level requests replace the containers' (a resource without one keeps the sum). */
	p.has_resources = true;
	p.resources = (struct resources){ 1000, 2000, -1, GIB };
	ck_assert_int_eq(kube_pod_requests(&p, true), 1250);
	ck_assert_int_eq(kube_pod_requests(&p, false), 292 * MIB);
}
END_TEST

START_TEST(test_rv_compare)
{
	ck_assert_int_eq(kube_rv_compare("105", "105"), 0);
	ck_assert_int_lt(kube_rv_compare("99", "105"), 0);
	ck_assert_int_gt(kube_rv_compare("1000", "999"), 0);
	ck_assert_int_eq(kube_rv_compare("abc", "105"), KUBE_RV_UNORDERED);
	ck_assert_int_eq(kube_rv_compare(NULL, "105"), KUBE_RV_UNORDERED);
}
END_TEST

struct updates {
	int n;
	char old_rv[32], new_rv[32];
};

static void on_updated(const struct kube_pod *old, const struct kube_pod *pod, void *ud)
{
	struct updates *u = ud;

	u->n++;
	snprintf(u->old_rv, sizeof(u->old_rv), "%s", old->resource_version);
	snprintf(u->new_rv, sizeof(u->new_rv), "%s", pod->resource_version);
}

static struct kube_pod *pod_at_rv(const char *uid, const char *rv, int64_t cpu_limit)
{
	struct kube_pod *p = calloc(1, sizeof(*p));

	ck_assert_ptr_nonnull(p);
	p->uid = strdup(uid);
	p->namespace = strdup("default");
	p->name = strdup("web");
	p->resource_version = strdup(rv);
	p->containers = calloc(1, sizeof(*p->containers));
	ck_assert_ptr_nonnull(p->containers);
	p->containers[0].name = strdup("app");
	p->containers[0].spec = (struct resources){ 100, cpu_limit, -1, -1 };
	p->n_containers = 1;
	return p;
}

/* A resize reply replaces the cached pod at once when it is newer, never when it is older, and
 * only for pods the watch has: the next decision reads its own change. */
START_TEST(test_own_write_goes_into_the_cache)
{
	static const struct kube_watch_ops ops = { .updated = on_updated };
	struct kube_config cfg = { .server = (char *)"https://127.0.0.1:1", .token = (char *)"t" };
	struct kube_options opts = { .node_name = "node-1" };
	struct updates u = { 0 };
	struct kube_client *c;
	sd_event *e;

	ck_assert_int_eq(sd_event_new(&e), 0);
	ck_assert_int_eq(kube_client_new(e, &cfg, &opts, &c), 0);
	/* What a list would have left: one pod at rv 100, cpu limit 200m. */
	c->ops = &ops;
	c->ops_userdata = &u;
	c->pods = calloc(4, sizeof(*c->pods));
	ck_assert_ptr_nonnull(c->pods);
	c->cap_pods = 4;
	c->pods[c->n_pods++] = pod_at_rv("uid-1", "100", 200);

	kube_cache_offer(c, pod_at_rv("uid-1", "103", 300));
	ck_assert_int_eq(u.n, 1);
	ck_assert_str_eq(u.old_rv, "100");
	ck_assert_str_eq(kube_client_pod(c, "uid-1")->resource_version, "103");
	ck_assert_int_eq(kube_client_pod(c, "uid-1")->containers[0].spec.cpu_limit, 300);

	/* An older or the same reply (out of order) changes nothing. */
	kube_cache_offer(c, pod_at_rv("uid-1", "101", 250));
	kube_cache_offer(c, pod_at_rv("uid-1", "103", 250));
	ck_assert_int_eq(u.n, 1);
	ck_assert_int_eq(kube_client_pod(c, "uid-1")->containers[0].spec.cpu_limit, 300);

	/* A pod the watch does not have (gone, or another node's) is not added. */
	kube_cache_offer(c, pod_at_rv("uid-2", "104", 300));
	kube_cache_offer(c, NULL);
	ck_assert_ptr_null(kube_client_pod(c, "uid-2"));
	ck_assert_int_eq(kube_client_n_pods(c), 1);

	kube_client_free(c);
	sd_event_unref(e);
}
END_TEST

Suite *kube_node_suite(void)
{
	Suite *s = suite_create("kube_node");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_recorded_node);
	tcase_add_test(tc, test_node_errors_name_the_field);
	tcase_add_test(tc, test_pod_requests_count_like_the_scheduler);
	tcase_add_test(tc, test_pod_requests_init_sidecars_overhead);
	tcase_add_test(tc, test_rv_compare);
	tcase_add_test(tc, test_own_write_goes_into_the_cache);
	suite_add_tcase(s, tc);
	return s;
}
