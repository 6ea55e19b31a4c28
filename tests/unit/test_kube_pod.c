/* Unit tests for the pod parser: recorded kube-apiserver replies, kubelet-written statuses, and
 * every kind of malformed object a server (or a fuzzer) could send. */
#include "tests/unit/unit.h"
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent/kube/kube-internal.h"
#include "agent/kube/kube.h"
#include "tests/unit/kube_fixture.h"

static struct kube_pod *parse_reply(const char *rel)
{
	struct kube_pod *p = NULL;
	char err[KUBE_ERRBUF] = "";
	size_t len;
	long code;
	char *body = kube_fixture_reply(rel, &code, &len);

	ck_assert_int_lt(code, 300);
	ck_assert_msg(kube_pod_parse_json(body, len, &p, err) == 0, "%s: %s", rel, err);
	free(body);
	return p;
}

static struct kube_pod *parse_file(const char *rel)
{
	struct kube_pod *p = NULL;
	char err[KUBE_ERRBUF] = "";
	size_t len;
	char *body = kube_fixture_read(rel, &len);

	ck_assert_msg(kube_pod_parse_json(body, len, &p, err) == 0, "%s: %s", rel, err);
	free(body);
	return p;
}

START_TEST(test_recorded_resized_pod)
{
	struct kube_pod *p = parse_reply("v1.36/09-resize-allowed-cpu.reply");
	const struct kube_container *c;

	ck_assert_str_eq(p->uid, "6b4b3c6f-ba7a-4765-8b41-b18a60112788");
	ck_assert_str_eq(p->namespace, "default");
	ck_assert_str_eq(p->name, "rz");
	ck_assert_str_eq(p->resource_version, "212");
	ck_assert_str_eq(p->node_name, "node-1");
	ck_assert_int_eq(p->generation, 2);
	ck_assert_str_eq(kube_pod_label(p, "app"), "rz");
	ck_assert_ptr_null(kube_pod_annotation(p, "snug.io/mode"));
	ck_assert_int_eq(p->qos, QOS_BURSTABLE);
	ck_assert_int_eq(p->phase, KUBE_PHASE_RUNNING);
	ck_assert(!p->has_owner);
	ck_assert(!p->deleting);
	ck_assert_uint_eq(p->n_containers, 1);
	c = kube_pod_container(p, "app");
	ck_assert_ptr_nonnull(c);
	/* spec: what the resize asked for */
	ck_assert_int_eq(c->spec.cpu_request, 150);
	ck_assert_int_eq(c->spec.cpu_limit, 300);
	ck_assert_int_eq(c->spec.memory_request, 128 << 20);
	ck_assert_int_eq(c->spec.memory_limit, 256 << 20);
	ck_assert_int_eq(c->cpu_policy, KUBE_RESIZE_NOT_REQUIRED);
	ck_assert_int_eq(c->mem_policy, KUBE_RESIZE_NOT_REQUIRED);
	/* status: what the "kubelet" reported before the resize */
	ck_assert(c->has_status && c->ready && c->running);
	ck_assert_int_eq(c->restart_count, 0);
	ck_assert_str_eq(c->runtime, "containerd");
	ck_assert_str_eq(c->container_id,
			 "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa");
	ck_assert(c->has_actual);
	ck_assert_int_eq(c->actual.cpu_request, 100);
	ck_assert_int_eq(c->actual.cpu_limit, 200);
	ck_assert(!c->has_allocated);
	ck_assert_int_eq(p->resize, KUBE_RESIZE_NONE);
	ck_assert_ptr_null(kube_pod_container(p, "nope"));
	kube_pod_free(p);
}
END_TEST

START_TEST(test_recorded_pending_pod)
{
	struct kube_pod *p = parse_reply("v1.33/06-create-pod-burstable.reply");

	ck_assert_int_eq(p->phase, KUBE_PHASE_PENDING);
	ck_assert_int_eq(p->qos, QOS_BURSTABLE);
	ck_assert(!p->containers[0].has_status);
	ck_assert_ptr_null(p->containers[0].container_id);
	kube_pod_free(p);
}
END_TEST

/* Every Pod the real servers returned (both versions) parses. */
START_TEST(test_every_recorded_pod_parses)
{
	static const char *const dirs[] = { "v1.36", "v1.33" };
	unsigned pods = 0;

	for (size_t d = 0; d < 2; d++) {
		const char *base = getenv("SNUG_TESTDATA");
		char path[4096];
		struct dirent *de;
		DIR *dir;

		snprintf(path, sizeof(path), "%s/kube/%s", base ? base : "tests/data", dirs[d]);
		dir = opendir(path);
		ck_assert_ptr_nonnull(dir);
		while ((de = readdir(dir))) {
			char rel[512], err[KUBE_ERRBUF] = "";
			struct kube_pod *p = NULL;
			size_t len;
			long code;
			char *body;

			if (!strstr(de->d_name, ".reply"))
				continue;
			snprintf(rel, sizeof(rel), "%s/%s", dirs[d], de->d_name);
			body = kube_fixture_reply(rel, &code, &len);
			if (strncmp(body, "{\n  \"kind\": \"Pod\",", 18) == 0) {
				ck_assert_msg(kube_pod_parse_json(body, len, &p, err) == 0,
					      "%s: %s", rel, err);
				kube_pod_free(p);
				pods++;
			}
			free(body);
		}
		closedir(dir);
	}
	ck_assert_uint_ge(pods, 40);
}
END_TEST

START_TEST(test_kubelet_conditions_owner_sidecar)
{
	struct kube_pod *p = parse_file("kubelet-pending-infeasible.json");
	const struct kube_container *app, *side;

	ck_assert(p->has_owner);
	ck_assert_str_eq(p->owner.kind, "ReplicaSet");
	ck_assert_str_eq(p->owner.name, "web-7d9f");
	ck_assert_str_eq(p->owner.api_version, "apps/v1");
	ck_assert_str_eq(kube_pod_annotation(p, "snug.io/mode"), "auto");
	ck_assert_str_eq(kube_pod_annotation(p, "snug.io/max-memory"), "1Gi");
	/* PodResizePending says more than PodResizeInProgress */
	ck_assert_int_eq(p->resize, KUBE_RESIZE_INFEASIBLE);
	ck_assert_ptr_nonnull(strstr(p->resize_message, "enough capacity"));
	ck_assert_uint_eq(p->n_containers, 2);
	app = kube_pod_container(p, "app");
	ck_assert(app->has_allocated);
	ck_assert_int_eq(app->allocated.cpu_request, 150);
	ck_assert_int_eq(app->allocated.memory_request, 128 << 20);
	ck_assert_int_eq(app->allocated.cpu_limit, RESOURCE_UNSET);
	side = kube_pod_container(p, "sidecar");
	ck_assert_int_eq(side->spec.cpu_request, 500);
	ck_assert_int_eq(side->spec.memory_request, 1000000000);
	ck_assert_int_eq(side->spec.cpu_limit, RESOURCE_UNSET);
	ck_assert_int_eq(side->spec.memory_limit, RESOURCE_UNSET);
	ck_assert_int_eq(side->cpu_policy, KUBE_RESIZE_NOT_REQUIRED);
	ck_assert_int_eq(side->mem_policy, KUBE_RESIZE_RESTART_CONTAINER);
	ck_assert_str_eq(side->runtime, "cri-o");
	ck_assert_str_eq(side->container_id, "0123456789abcdef");
	ck_assert(side->has_status && !side->ready && !side->running);
	ck_assert_int_eq(side->restart_count, 3);
	ck_assert(!side->has_actual);
	kube_pod_free(p);

	p = parse_file("kubelet-inprogress-error.json");
	ck_assert_int_eq(p->resize, KUBE_RESIZE_ERROR);
	ck_assert_str_eq(p->resize_message, "OOMKilled during resize");
	kube_pod_free(p);

	p = parse_file("legacy-status-resize.json");
	ck_assert_int_eq(p->resize, KUBE_RESIZE_IN_PROGRESS);
	ck_assert_ptr_null(p->resize_message);
	kube_pod_free(p);
}
END_TEST

/* 1.34+: the generation the kubelet acted on, on the status and on the resize condition, so a
 * condition about an earlier resize is not taken for the answer to the latest one. */
START_TEST(test_observed_generation)
{
	struct kube_pod *p = NULL;
	char err[KUBE_ERRBUF] = "";
	static const char json[] =
		"{\"kind\":\"Pod\",\"metadata\":{\"name\":\"p\",\"namespace\":\"ns\",\"uid\":\"0a-"
		"1b\","
		"\"resourceVersion\":\"7\",\"generation\":4},\"spec\":{\"containers\":[{\"name\":"
		"\"c\"}]},\"status\":{\"phase\":\"Running\",\"observedGeneration\":3,"
		"\"conditions\":["
		"{\"type\":\"PodResizePending\",\"status\":\"True\",\"reason\":\"Deferred\","
		"\"observedGeneration\":2,\"message\":\"Node didn't have enough resource: "
		"memory\"}]}}";

	ck_assert_msg(kube_pod_parse_json(json, sizeof(json) - 1, &p, err) == 0, "%s", err);
	ck_assert_int_eq(p->generation, 4);
	ck_assert_int_eq(p->observed_generation, 3);
	ck_assert_int_eq(p->resize, KUBE_RESIZE_DEFERRED);
	ck_assert_int_eq(p->resize_observed_generation, 2);
	kube_pod_free(p);

	/* 1.33 reports neither: 0. */
	p = parse_file("kubelet-pending-infeasible.json");
	ck_assert_int_eq(p->observed_generation, 0);
	ck_assert_int_eq(p->resize_observed_generation, 0);
	kube_pod_free(p);
}
END_TEST

/* What the kubelet's pod cgroup and the scheduler count besides the app containers: init
 * containers (a native sidecar: restartPolicy Always) with their statuses, the RuntimeClass's
 * overhead and pod-level resources, as the API server stores them. */
START_TEST(test_init_containers_overhead_pod_level)
{
	static const char json[] =
		"{\"kind\":\"Pod\",\"metadata\":{\"name\":\"web\",\"namespace\":\"ns\","
		"\"uid\":\"0a-1b\",\"resourceVersion\":\"9\"},"
		"\"spec\":{\"initContainers\":["
		"{\"name\":\"setup\",\"resources\":{\"requests\":{\"cpu\":\"500m\","
		"\"memory\":\"300Mi\"},\"limits\":{\"cpu\":\"1\",\"memory\":\"400Mi\"}}},"
		"{\"name\":\"proxy\",\"restartPolicy\":\"Always\",\"resources\":{\"requests\":"
		"{\"cpu\":\"50m\",\"memory\":\"64Mi\"},\"limits\":{\"memory\":\"256Mi\"}}}],"
		"\"containers\":[{\"name\":\"app\",\"resources\":{\"limits\":{\"memory\":"
		"\"128Mi\"}}}],"
		"\"overhead\":{\"cpu\":\"250m\",\"memory\":\"64Mi\"},"
		"\"resources\":{\"requests\":{\"cpu\":\"1\"},\"limits\":{\"memory\":\"1Gi\"}}},"
		"\"status\":{\"phase\":\"Running\",\"qosClass\":\"Burstable\","
		"\"initContainerStatuses\":[{\"name\":\"setup\",\"containerID\":"
		"\"containerd://0123abcd\",\"state\":{\"terminated\":{\"exitCode\":0}}},"
		"{\"name\":\"proxy\",\"containerID\":\"containerd://4567cdef\",\"ready\":true,"
		"\"state\":{\"running\":{}},\"allocatedResources\":{\"cpu\":\"50m\","
		"\"memory\":\"64Mi\"},\"resources\":{\"requests\":{\"cpu\":\"80m\"}}},"
		"{\"name\":\"gone\"}]}}";
	const struct kube_container *setup, *proxy;
	char err[KUBE_ERRBUF] = "";
	struct kube_pod *p = NULL;

	ck_assert_msg(kube_pod_parse_json(json, strlen(json), &p, err) == 0, "%s", err);
	ck_assert_uint_eq(p->n_containers, 1);
	ck_assert_uint_eq(p->n_init_containers, 2);
	setup = &p->init_containers[0];
	proxy = &p->init_containers[1];
	ck_assert_str_eq(setup->name, "setup");
	ck_assert(!setup->sidecar);
	ck_assert_int_eq(setup->spec.cpu_request, 500);
	ck_assert_int_eq(setup->spec.cpu_limit, 1000);
	ck_assert_int_eq(setup->spec.memory_request, 300 << 20);
	ck_assert_int_eq(setup->spec.memory_limit, 400 << 20);
	ck_assert(setup->has_status && !setup->running);
	ck_assert_str_eq(proxy->name, "proxy");
	ck_assert(proxy->sidecar);
	ck_assert_int_eq(proxy->spec.memory_limit, 256 << 20);
	ck_assert_int_eq(proxy->spec.cpu_limit, RESOURCE_UNSET);
	ck_assert(proxy->has_status && proxy->ready && proxy->running);
	ck_assert_str_eq(proxy->container_id, "4567cdef");
	ck_assert(proxy->has_allocated && proxy->has_actual);
	ck_assert_int_eq(proxy->allocated.memory_request, 64 << 20);
	ck_assert_int_eq(proxy->actual.cpu_request, 80);
	/* A native sidecar is found by name like an app container (it is tracked and resized);
	 * an ordinary init container is not (never managed). */
	ck_assert_ptr_eq(kube_pod_container(p, "proxy"), proxy);
	ck_assert_ptr_null(kube_pod_container(p, "setup"));
	ck_assert_ptr_eq(kube_pod_container(p, "app"), &p->containers[0]);
	ck_assert_int_eq(p->overhead_cpu, 250);
	ck_assert_int_eq(p->overhead_mem, 64 << 20);
	ck_assert(p->has_resources);
	ck_assert_int_eq(p->resources.cpu_request, 1000);
	ck_assert_int_eq(p->resources.cpu_limit, RESOURCE_UNSET);
	ck_assert_int_eq(p->resources.memory_request, RESOURCE_UNSET);
	ck_assert_int_eq(p->resources.memory_limit, 1 << 30);
	kube_pod_free(p);
}
END_TEST

/* A minimal valid pod, with three holes for metadata extras, container extras and status. */
#define POD(META, CTR, STATUS)                                                                     \
	"{\"kind\":\"Pod\",\"metadata\":{\"name\":\"p\",\"namespace\":\"ns\",\"uid\":\"0a-1b\","   \
	"\"resourceVersion\":\"7\"" META "},\"spec\":{\"containers\":[{\"name\":\"c\"" CTR "}]},"  \
	"\"status\":{\"phase\":\"Running\"" STATUS "}}"

/* ... and one with holes for spec extras (initContainers, overhead, pod-level resources). */
#define POD_SPEC(SPEC, STATUS)                                                                     \
	"{\"kind\":\"Pod\",\"metadata\":{\"name\":\"p\",\"namespace\":\"ns\",\"uid\":\"0a-1b\","   \
	"\"resourceVersion\":\"7\"},\"spec\":{\"containers\":[{\"name\":\"c\"}]" SPEC "},"         \
	"\"status\":{\"phase\":\"Running\"" STATUS "}}"

static const struct {
	const char *json;
	const char *error;
} bad_pods[] = {
	{ "{\"kind\":\"Pod\",", "not valid JSON" },
	{ "[1,2]", "pod: not an object" },
	{ "\"Pod\"", "pod: not an object" },
	{ "{\"kind\":\"Service\",\"metadata\":{}}", "not Pod" },
	{ "{\"kind\":7}", "pod.kind: not a string" },
	{ "{\"kind\":\"Pod\",\"spec\":{}}", "metadata: missing" },
	{ "{\"metadata\":[]}", "pod.metadata: not an object" },
	{ "{\"metadata\":{\"name\":\"p\",\"namespace\":\"n\",\"resourceVersion\":\"1\"}}",
	  "metadata.uid: missing" },
	{ "{\"metadata\":{\"uid\":5}}", "metadata.uid: not a string" },
	{ "{\"metadata\":{\"uid\":\"../../etc\",\"name\":\"p\",\"namespace\":\"n\","
	  "\"resourceVersion\":\"1\"},\"spec\":{}}",
	  "metadata.uid: invalid" },
	{ "{\"metadata\":{\"uid\":\"ab\",\"name\":\"p\",\"namespace\":\"n\"}}",
	  "metadata.resourceVersion: missing" },
	{ POD(",\"labels\":{\"a\":1}", "", ""), "metadata.labels[a]: not a string" },
	{ POD(",\"annotations\":[\"x\"]", "", ""), "metadata.annotations: not an object" },
	{ POD(",\"generation\":-1", "", ""), "metadata.generation: -1 out of range" },
	{ POD(",\"generation\":1.5", "", ""), "out of range" },
	{ POD(",\"ownerReferences\":{}", "", ""), "metadata.ownerReferences: not an array" },
	{ POD(",\"ownerReferences\":[{\"controller\":\"yes\"}]", "", ""),
	  "metadata.ownerReferences[0].controller: not a boolean" },
	{ POD(",\"ownerReferences\":[{\"controller\":true,\"kind\":\"ReplicaSet\"}]", "", ""),
	  "metadata.ownerReferences[0].name: missing" },
	{ "{\"metadata\":{\"uid\":\"ab\",\"name\":\"p\",\"namespace\":\"n\",\"resourceVersion\":"
	  "\"1\"}}",
	  "spec: missing" },
	{ "{\"metadata\":{\"uid\":\"ab\",\"name\":\"p\",\"namespace\":\"n\",\"resourceVersion\":"
	  "\"1\"},\"spec\":{\"containers\":[]}}",
	  "spec.containers: missing or empty" },
	{ "{\"metadata\":{\"uid\":\"ab\",\"name\":\"p\",\"namespace\":\"n\",\"resourceVersion\":"
	  "\"1\"},\"spec\":{\"containers\":\"app\"}}",
	  "spec.containers: not an array" },
	{ "{\"metadata\":{\"uid\":\"ab\",\"name\":\"p\",\"namespace\":\"n\",\"resourceVersion\":"
	  "\"1\"},\"spec\":{\"containers\":[{\"image\":\"x\"}]}}",
	  "spec.containers[0].name: missing" },
	{ "{\"metadata\":{\"uid\":\"ab\",\"name\":\"p\",\"namespace\":\"n\",\"resourceVersion\":"
	  "\"1\"},\"spec\":{\"containers\":[{\"name\":\"a\"},{\"name\":\"a\"}]}}",
	  "spec.containers[1].name: duplicate" },
	{ "{\"metadata\":{\"uid\":\"ab\",\"name\":\"p\",\"namespace\":\"n\",\"resourceVersion\":"
	  "\"1\"},\"spec\":{\"containers\":[3]}}",
	  "spec.containers[0]: not an object" },
	{ POD("", ",\"resources\":{\"requests\":{\"cpu\":\"lots\"}}", ""),
	  "spec.containers[0].resources.requests.cpu: bad quantity" },
	{ POD("", ",\"resources\":{\"limits\":{\"memory\":\"1Zi\"}}", ""),
	  "spec.containers[0].resources.limits.memory: bad quantity" },
	{ POD("", ",\"resources\":{\"requests\":{\"cpu\":5}}", ""),
	  "spec.containers[0].resources.requests.cpu: not a string" },
	{ POD("", ",\"resources\":{\"limits\":[]}", ""),
	  "spec.containers[0].resources.limits: not an object" },
	{ POD("", ",\"resources\":\"big\"", ""), "spec.containers[0].resources: not an object" },
	{ POD("", ",\"resizePolicy\":[{\"resourceName\":\"cpu\",\"restartPolicy\":\"Sometimes\"}]",
	      ""),
	  "spec.containers[0].resizePolicy[0].restartPolicy: unknown" },
	{ POD("", ",\"resizePolicy\":[{\"resourceName\":\"cpu\"}]", ""),
	  "resizePolicy[0]: resourceName or restartPolicy missing" },
	{ POD("", ",\"resizePolicy\":{}", ""), "spec.containers[0].resizePolicy: not an array" },
	{ POD("", "", ",\"observedGeneration\":-2"), "status.observedGeneration: -2 out of range" },
	{ POD("", "",
	      ",\"conditions\":[{\"type\":\"PodResizePending\",\"observedGeneration\":\"3\"}]"),
	  "status.conditions[0].observedGeneration: not a number" },
	{ POD("", "", ",\"qosClass\":\"Platinum\""), "status.qosClass: unknown" },
	{ POD("", "", ",\"qosClass\":1"), "status.qosClass: not a string" },
	{ "{\"metadata\":{\"uid\":\"ab\",\"name\":\"p\",\"namespace\":\"n\",\"resourceVersion\":"
	  "\"1\"},\"spec\":{\"containers\":[{\"name\":\"a\"}]},\"status\":{\"phase\":\"Zombie\"}}",
	  "status.phase: unknown" },
	{ POD("", "", ",\"containerStatuses\":[{\"name\":\"c\",\"restartCount\":\"3\"}]"),
	  "status.containerStatuses[0].restartCount: not a number" },
	{ POD("", "", ",\"containerStatuses\":[{\"name\":\"c\",\"restartCount\":1e12}]"),
	  "status.containerStatuses[0].restartCount: 1e+12 out of range" },
	{ POD("", "", ",\"containerStatuses\":[{\"restartCount\":0}]"),
	  "status.containerStatuses[0].name: missing" },
	{ POD("", "", ",\"containerStatuses\":[{\"name\":\"c\",\"ready\":\"true\"}]"),
	  "status.containerStatuses[0].ready: not a boolean" },
	{ POD("", "",
	      ",\"containerStatuses\":[{\"name\":\"c\",\"containerID\":\"containerd://../../x\"}]"),
	  "status.containerStatuses[0].containerID: invalid id" },
	{ POD("", "", ",\"containerStatuses\":[{\"name\":\"c\",\"containerID\":\"abcdef\"}]"),
	  "status.containerStatuses[0].containerID: no runtime prefix" },
	{ POD("", "", ",\"containerStatuses\":[{\"name\":\"c\"},{\"name\":\"c\"}]"),
	  "status.containerStatuses[1].name: duplicate" },
	{ POD("", "",
	      ",\"containerStatuses\":[{\"name\":\"c\",\"allocatedResources\":{\"cpu\":\"-1\"}}]"),
	  "status.containerStatuses[0].allocatedResources.cpu: bad quantity" },
	{ POD("", "", ",\"containerStatuses\":[{\"name\":\"c\",\"state\":{\"running\":1}}]"),
	  "status.containerStatuses[0].state.running: not an object" },
	{ POD("", "", ",\"conditions\":[1]"), "status.conditions[0]: not an object" },
	{ POD("", "", ",\"conditions\":[{\"status\":\"True\"}]"),
	  "status.conditions[0].type: missing" },
	{ POD("", "", ",\"conditions\":[{\"type\":\"PodResizePending\",\"reason\":[]}]"),
	  "status.conditions[0].reason: not a string" },
	{ POD("", "", ",\"resize\":true"), "status.resize: not a string" },
	{ POD("", "", ",\"containerStatuses\":{}"), "status.containerStatuses: not an array" },
	{ POD_SPEC(",\"initContainers\":{}", ""), "spec.initContainers: not an array" },
	{ POD_SPEC(",\"initContainers\":[{\"image\":\"x\"}]", ""),
	  "spec.initContainers[0].name: missing" },
	{ POD_SPEC(",\"initContainers\":[{\"name\":\"i\"},{\"name\":\"i\"}]", ""),
	  "spec.initContainers[1].name: duplicate" },
	{ POD_SPEC(",\"initContainers\":[{\"name\":\"i\",\"restartPolicy\":\"Sometimes\"}]", ""),
	  "spec.initContainers[0].restartPolicy: unknown" },
	{ POD_SPEC(",\"initContainers\":[{\"name\":\"i\",\"restartPolicy\":true}]", ""),
	  "spec.initContainers[0].restartPolicy: not a string" },
	{ POD_SPEC(",\"initContainers\":[{\"name\":\"i\",\"resources\":{\"limits\":"
		   "{\"memory\":\"lots\"}}}]",
		   ""),
	  "spec.initContainers[0].resources.limits.memory: bad quantity" },
	{ POD_SPEC(",\"overhead\":[]", ""), "spec.overhead: not an object" },
	{ POD_SPEC(",\"overhead\":{\"cpu\":\"-250m\"}", ""), "spec.overhead.cpu: bad quantity" },
	{ POD_SPEC(",\"resources\":\"all\"", ""), "spec.resources: not an object" },
	{ POD_SPEC(",\"resources\":{\"limits\":{\"memory\":1}}", ""),
	  "spec.resources.limits.memory: not a string" },
	{ POD_SPEC(",\"initContainers\":[{\"name\":\"i\"}]",
		   ",\"initContainerStatuses\":[{\"name\":\"i\",\"allocatedResources\":"
		   "{\"memory\":\"x\"}}]"),
	  "status.initContainerStatuses[0].allocatedResources.memory: bad quantity" },
	{ POD_SPEC("", ",\"initContainerStatuses\":7"),
	  "status.initContainerStatuses: not an array" },
};

START_TEST(test_bad_pods)
{
	const char *json = bad_pods[_i].json;
	char err[KUBE_ERRBUF] = "";
	struct kube_pod *p = NULL;

	ck_assert_int_eq(kube_pod_parse_json(json, strlen(json), &p, err), -EINVAL);
	ck_assert_ptr_null(p);
	ck_assert_msg(strstr(err, bad_pods[_i].error), "case %d: got \"%s\", want \"%s\"", _i, err,
		      bad_pods[_i].error);
}
END_TEST

/* The base of the bad cases is itself valid, and null fields count as absent. */
START_TEST(test_minimal_and_null_fields)
{
	const char *ok = POD(",\"labels\":null,\"annotations\":{}", ",\"resources\":null",
			     ",\"containerStatuses\":null,\"conditions\":[],\"qosClass\":null");
	struct kube_pod *p = NULL;
	char err[KUBE_ERRBUF] = "";

	ck_assert_msg(kube_pod_parse_json(ok, strlen(ok), &p, err) == 0, "%s", err);
	ck_assert_int_eq(p->qos, QOS_UNKNOWN);
	ck_assert_int_eq(p->containers[0].spec.cpu_request, RESOURCE_UNSET);
	ck_assert_int_eq(p->containers[0].spec.memory_limit, RESOURCE_UNSET);
	ck_assert_uint_eq(p->n_annotations, 0);
	/* No init containers, overhead or pod-level resources. */
	ck_assert_uint_eq(p->n_init_containers, 0);
	ck_assert_int_eq(p->overhead_cpu, RESOURCE_UNSET);
	ck_assert_int_eq(p->overhead_mem, RESOURCE_UNSET);
	ck_assert(!p->has_resources);
	kube_pod_free(p);
	/* errbuf may be NULL */
	ck_assert_int_eq(kube_pod_parse_json("{", 1, &p, NULL), -EINVAL);
}
END_TEST

START_TEST(test_watch_stream_bookmarks)
{
	size_t len;
	char *buf = kube_fixture_read("v1.36/30-watch-bookmarks-timeout10.watch", &len);
	char *line, *save = NULL;
	unsigned modified = 0, bookmarks = 0;

	for (line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		struct kube_watch_event ev;
		char err[KUBE_ERRBUF] = "";

		ck_assert_msg(kube_watch_event_parse(line, strlen(line), &ev, err) == 0, "%s", err);
		if (ev.type == KUBE_WATCH_MODIFIED) {
			modified++;
			ck_assert_str_eq(ev.pod->name, "rz");
			ck_assert_str_eq(kube_pod_label(ev.pod, "touched"), "1");
		} else {
			ck_assert_int_eq(ev.type, KUBE_WATCH_BOOKMARK);
			ck_assert_ptr_null(ev.pod);
			bookmarks++;
		}
		ck_assert_str_eq(ev.resource_version, "222");
		kube_watch_event_done(&ev);
	}
	ck_assert_uint_eq(modified, 1);
	ck_assert_uint_eq(bookmarks, 2);
	free(buf);
}
END_TEST

START_TEST(test_watch_stream_expired)
{
	size_t len;
	char *buf = kube_fixture_read("v1.33/34-watch-rv-too-old.watch", &len);
	struct kube_watch_event ev;
	char err[KUBE_ERRBUF] = "";

	ck_assert_int_eq(kube_watch_event_parse(buf, len, &ev, err), 0);
	ck_assert_int_eq(ev.type, KUBE_WATCH_ERROR);
	ck_assert_int_eq(ev.error_code, 410);
	ck_assert_str_eq(ev.error_message, "too old resource version: 1 (2)");
	kube_watch_event_done(&ev);
	free(buf);
}
END_TEST

START_TEST(test_watch_bad_lines)
{
	static const struct {
		const char *line, *error;
	} cases[] = {
		{ "{\"type\":\"ADDED\"", "not valid JSON" },
		{ "[]", "not an object" },
		{ "{\"object\":{}}", "event.type: missing" },
		{ "{\"type\":\"EXPLODED\",\"object\":{}}", "event.type: unknown" },
		{ "{\"type\":\"ADDED\"}", "event.object: missing" },
		{ "{\"type\":\"BOOKMARK\",\"object\":{\"metadata\":{}}}",
		  "object.metadata.resourceVersion: missing" },
		{ "{\"type\":\"ERROR\",\"object\":{\"code\":\"410\"}}",
		  "event.object.code: not a number" },
		{ "{\"type\":\"MODIFIED\",\"object\":{\"metadata\":{\"uid\":1}}}",
		  "metadata.uid: not a string" },
	};

	for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
		struct kube_watch_event ev;
		char err[KUBE_ERRBUF] = "";

		ck_assert_int_eq(
			kube_watch_event_parse(cases[i].line, strlen(cases[i].line), &ev, err),
			-EINVAL);
		ck_assert_msg(strstr(err, cases[i].error), "case %zu: %s", i, err);
		kube_watch_event_done(&ev);
	}
}
END_TEST

static void count_skip(const char *why, void *ud)
{
	(*(unsigned *)ud)++;
	ck_assert_msg(strstr(why, "pod ns/broken: metadata.uid: not a string"), "%s", why);
}

START_TEST(test_pod_list)
{
	struct kube_pod **pods = NULL;
	char err[KUBE_ERRBUF] = "", *rv = NULL;
	unsigned skipped = 0;
	size_t n = 0, len;
	long code;
	char *body = kube_fixture_reply("v1.36/29-list-pods.reply", &code, &len);

	ck_assert_int_eq(kube_pod_list_parse(body, len, &pods, &n, &rv, count_skip, &skipped, err),
			 0);
	ck_assert_uint_eq(n, 3);
	ck_assert_str_eq(rv, "221");
	ck_assert_uint_eq(skipped, 0);
	for (size_t i = 0; i < n; i++)
		kube_pod_free(pods[i]);
	free(pods);
	free(rv);
	free(body);

	/* One broken item is skipped, the rest is kept. */
	{
		const char *list =
			"{\"kind\":\"PodList\",\"metadata\":{\"resourceVersion\":\"9\"},"
			"\"items\":[" POD("", "", "") ",{\"metadata\":{\"uid\":[],\"namespace\":"
						      "\"ns\",\"name\":\"broken\"}}]}";

		ck_assert_int_eq(kube_pod_list_parse(list, strlen(list), &pods, &n, &rv, count_skip,
						     &skipped, err),
				 0);
		ck_assert_uint_eq(n, 1);
		ck_assert_uint_eq(skipped, 1);
		kube_pod_free(pods[0]);
		free(pods);
		free(rv);
	}
	ck_assert_int_eq(kube_pod_list_parse("{\"kind\":\"PodList\",\"items\":[]}", 30, &pods, &n,
					     &rv, NULL, NULL, err),
			 -EINVAL);
	ck_assert_ptr_nonnull(strstr(err, "object.metadata: missing"));
	ck_assert_int_eq(
		kube_pod_list_parse("{\"kind\":\"Status\"}", 17, &pods, &n, &rv, NULL, NULL, err),
		-EINVAL);
	ck_assert_ptr_nonnull(strstr(err, "not PodList"));
}
END_TEST

Suite *kube_pod_suite(void)
{
	Suite *s = suite_create("kube_pod");
	TCase *tc = tcase_create("recorded");

	tcase_add_test(tc, test_recorded_resized_pod);
	tcase_add_test(tc, test_recorded_pending_pod);
	tcase_add_test(tc, test_every_recorded_pod_parses);
	tcase_add_test(tc, test_kubelet_conditions_owner_sidecar);
	tcase_add_test(tc, test_observed_generation);
	tcase_add_test(tc, test_init_containers_overhead_pod_level);
	tcase_add_test(tc, test_watch_stream_bookmarks);
	tcase_add_test(tc, test_watch_stream_expired);
	tcase_add_test(tc, test_pod_list);
	suite_add_tcase(s, tc);
	tc = tcase_create("defensive");
	tcase_add_loop_test(tc, test_bad_pods, 0, ELEMENTSOF(bad_pods));
	tcase_add_test(tc, test_minimal_and_null_fields);
	tcase_add_test(tc, test_watch_bad_lines);
	suite_add_tcase(s, tc);
	return s;
}
