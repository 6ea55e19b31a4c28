/* The kube client against a real kube-apiserver + etcd (started by run.sh), authenticated as the
 * snug-agent service account whose only rights come from deploy/rbac.yaml; the test plays the
 * kubelet by writing pod status. Run once per server version (1.36, 1.33). */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent/kube/kube.h"
#include "agent/util/time.h"
#include "tests/lib/kubetest.h"

#define WAIT (20 * USEC_PER_SEC)

static const char *server, *ca, *admin_token, *agent_token_file, *webhook_token_file;
static int version; /* 136, 133 */

static long admin(const char *method, const char *path, const char *ctype, const char *body,
		  char **ret)
{
	return kt_http(server, ca, admin_token, method, path, ctype, body, ret);
}

static struct kt_cluster cluster;

static void admin_ok(const char *method, const char *path, const char *ctype, const char *body)
{
	kt_admin_ok(&cluster, method, path, ctype, body);
}

static void make_pod(const char *name, const char *node, bool guaranteed, bool with_resources)
{
	kt_make_pod(&cluster, name, node, guaranteed, with_resources);
}

struct fixture {
	sd_event *e;
	struct kube_client *c;
	struct kt_watch w;
};

/* The client as snug-agent on node-1 (agent_token_file), or as snug-webhook. */
static void start_as(struct fixture *f, bool watch, const char *token_file)
{
	struct kube_config cfg = { .server = (char *)server,
				   .ca_file = (char *)ca,
				   .token_file = (char *)token_file };
	struct kube_options opts = { .node_name = "node-1",
				     .backoff_min_usec = 100000,
				     .backoff_max_usec = 1000000,
				     .watch_timeout_sec = 30 };

	memset(f, 0, sizeof(*f));
	ck_assert_int_eq(sd_event_new(&f->e), 0);
	ck_assert_int_eq(kube_client_new(f->e, &cfg, &opts, &f->c), 0);
	if (!watch)
		return;
	ck_assert_int_eq(kube_client_watch_pods(f->c, &kt_watch_ops, &f->w), 0);
	ck_assert_msg(kt_run_until(f->e, (bool (*)(void *))kube_client_synced, f->c, WAIT),
		      "never synced");
}

static void start(struct fixture *f, bool watch)
{
	start_as(f, watch, agent_token_file);
}

static void stop(struct fixture *f)
{
	kube_client_free(f->c);
	sd_event_unref(f->e);
}

static const struct kube_pod *cached(struct fixture *f, const char *name)
{
	for (size_t i = 0; i < kube_client_n_pods(f->c); i++)
		if (strcmp(kube_client_pod_at(f->c, i)->name, name) == 0)
			return kube_client_pod_at(f->c, i);
	return NULL;
}

struct wait_pod {
	struct fixture *f;
	const char *name;
	int64_t cpu_request; /* wait until the cached pod has it; -2 = until it is gone */
};

static bool pod_matches(void *ud)
{
	struct wait_pod *w = ud;
	const struct kube_pod *p = cached(w->f, w->name);

	if (w->cpu_request == -2)
		return !p;
	return p && p->containers[0].spec.cpu_request == w->cpu_request &&
	       p->containers[0].has_status;
}

static void resize(struct fixture *f, const char *name, const char *rv, struct resources res,
		   struct kt_result *r)
{
	struct kube_resize_container ctr = { .name = "app", .res = res };

	ck_assert_int_eq(kube_resize(f->c, "default", name, rv, &ctr, 1, kt_done, r), 0);
	ck_assert_msg(kt_wait(f->e, r, WAIT), "resize of %s never completed", name);
}

START_TEST(test_watch_this_node)
{
	struct fixture f;
	const struct kube_pod *p;
	struct wait_pod wp;

	make_pod("w-1", "node-1", false, true);
	make_pod("w-other", "node-2", false, true);
	start(&f, true);
	ck_assert_int_eq(kube_client_resize_path(f.c), KUBE_PATH_SUBRESOURCE);
	ck_assert_int_eq(f.w.path, KUBE_PATH_SUBRESOURCE);
	p = cached(&f, "w-1");
	ck_assert_ptr_nonnull(p);
	ck_assert_ptr_null(cached(&f, "w-other"));
	ck_assert_ptr_eq(kube_client_pod(f.c, p->uid), p);
	ck_assert_int_eq(p->qos, QOS_BURSTABLE);
	ck_assert_int_eq(p->phase, KUBE_PHASE_RUNNING);
	ck_assert_str_eq(kube_pod_annotation(p, "snug.io/mode"), "auto");
	ck_assert_int_eq(p->containers[0].spec.cpu_request, 100);
	ck_assert_int_eq(p->containers[0].spec.memory_limit, 256 << 20);
	ck_assert_str_eq(p->containers[0].runtime, "containerd");
	ck_assert(p->containers[0].has_actual);

	/* a pod that appears after the list comes through the watch */
	make_pod("w-2", "node-1", true, true);
	wp = (struct wait_pod){ &f, "w-2", 200 };
	ck_assert_msg(kt_run_until(f.e, pod_matches, &wp, WAIT), "w-2 never seen with status");
	ck_assert_int_eq(cached(&f, "w-2")->qos, QOS_GUARANTEED);
	ck_assert_uint_ge(f.w.updated, 1);
	admin_ok("DELETE", "/api/v1/namespaces/default/pods/w-2?gracePeriodSeconds=0", NULL, NULL);
	wp.cpu_request = -2;
	ck_assert_msg(kt_run_until(f.e, pod_matches, &wp, WAIT), "w-2 never deleted");
	ck_assert_str_eq(f.w.last_deleted_name, "w-2");
	ck_assert_ptr_null(cached(&f, "w-other"));
	stop(&f);
}
END_TEST

START_TEST(test_resize_accepted)
{
	struct fixture f;
	struct kt_result r = { 0 };
	struct wait_pod wp;

	make_pod("rz-ok", "node-1", false, true);
	start(&f, true);
	resize(&f, "rz-ok", NULL, (struct resources){ 150, 300, RESOURCE_UNSET, RESOURCE_UNSET },
	       &r);
	ck_assert_msg(r.outcome == KUBE_OK, "%s %ld %s", kube_outcome_to_string(r.outcome), r.code,
		      r.message);
	ck_assert(r.has_pod);
	ck_assert_int_eq(r.pod_res.cpu_request, 150);
	ck_assert_int_eq(r.pod_res.cpu_limit, 300);
	ck_assert_int_eq(r.pod_res.memory_request, 128 << 20);
	/* and the watch brings the new spec into the cache */
	wp = (struct wait_pod){ &f, "rz-ok", 150 };
	ck_assert(kt_run_until(f.e, pod_matches, &wp, WAIT));
	kt_result_done(&r);
	stop(&f);
}
END_TEST

START_TEST(test_resize_rejected_and_not_supported)
{
	struct fixture f;
	struct kt_result r = { 0 };

	make_pod("rz-bad", "node-1", false, true);
	make_pod("rz-old", "node-1", false, false);
	start(&f, true);
	/* Burstable → Guaranteed */
	resize(&f, "rz-bad", NULL, (struct resources){ 200, 200, 256 << 20, 256 << 20 }, &r);
	ck_assert_int_eq(r.outcome, KUBE_REJECTED);
	ck_assert_int_eq(r.code, 422);
	ck_assert_msg(strstr(r.message, "Pod QOS Class may not change"), "%s", r.message);
	kt_result_done(&r);

	/* memory limit down with NotRequired: 1.36 allows, 1.33 refuses */
	resize(&f, "rz-bad", NULL,
	       (struct resources){ RESOURCE_UNSET, RESOURCE_UNSET, RESOURCE_UNSET, 200 << 20 }, &r);
	if (version >= 134)
		ck_assert_msg(r.outcome == KUBE_OK, "%s", r.message);
	else {
		ck_assert_int_eq(r.outcome, KUBE_REJECTED);
		ck_assert_msg(strstr(r.message, "memory limits cannot be decreased"), "%s",
			      r.message);
	}
	kt_result_done(&r);

	/* stale resourceVersion */
	resize(&f, "rz-bad", "1",
	       (struct resources){ 120, RESOURCE_UNSET, RESOURCE_UNSET, RESOURCE_UNSET }, &r);
	ck_assert_int_eq(r.outcome, KUBE_CONFLICT);
	ck_assert_int_eq(r.code, 409);
	kt_result_done(&r);

	/* a node without resize support */
	resize(&f, "rz-old", NULL,
	       (struct resources){ 120, RESOURCE_UNSET, RESOURCE_UNSET, RESOURCE_UNSET }, &r);
	ck_assert_int_eq(r.outcome, KUBE_NOT_SUPPORTED);
	ck_assert_msg(strstr(r.message, "without support for resize"), "%s", r.message);
	kt_result_done(&r);

	/* a pod that does not exist */
	resize(&f, "rz-nope", NULL,
	       (struct resources){ 120, RESOURCE_UNSET, RESOURCE_UNSET, RESOURCE_UNSET }, &r);
	ck_assert_int_eq(r.outcome, KUBE_NOT_FOUND);
	kt_result_done(&r);
	stop(&f);
}
END_TEST

#define PDB                                                                                        \
	"{\"apiVersion\":\"policy/v1\",\"kind\":\"PodDisruptionBudget\",\"metadata\":{\"name\":"   \
	"\"%s\"},\"spec\":{\"minAvailable\":1,\"selector\":{\"matchLabels\":{\"app\":\"%s\"}}}}"

START_TEST(test_evictions)
{
	struct fixture f;
	struct kt_result r = { 0 };
	char body[512];

	make_pod("ev-pdb", "node-1", false, true);
	make_pod("ev-free", "node-1", false, true);
	make_pod("ev-two", "node-1", false, true);
	snprintf(body, sizeof(body), PDB, "pdb-a", "ev-pdb");
	admin_ok("POST", "/apis/policy/v1/namespaces/default/poddisruptionbudgets",
		 "application/json", body);
	snprintf(body, sizeof(body), PDB, "pdb-b", "ev-two");
	admin_ok("POST", "/apis/policy/v1/namespaces/default/poddisruptionbudgets",
		 "application/json", body);
	snprintf(body, sizeof(body), PDB, "pdb-c", "ev-two");
	admin_ok("POST", "/apis/policy/v1/namespaces/default/poddisruptionbudgets",
		 "application/json", body);
	/* Evictions are snug-webhook's (deploy/webhook-rbac.yaml); the agent has no such right. */
	start_as(&f, false, webhook_token_file);

	ck_assert_int_eq(kube_evict(f.c, "default", "ev-pdb", NULL, kt_done, &r), 0);
	ck_assert(kt_wait(f.e, &r, WAIT));
	ck_assert_int_eq(r.outcome, KUBE_BLOCKED);
	ck_assert_int_eq(r.code, 429);
	ck_assert_msg(strstr(r.cause, "pdb-a"), "cause: %s", r.cause);
	kt_result_done(&r);

	ck_assert_int_eq(kube_evict(f.c, "default", "ev-two", NULL, kt_done, &r), 0);
	ck_assert(kt_wait(f.e, &r, WAIT));
	ck_assert_int_eq(r.outcome, KUBE_BLOCKED);
	ck_assert_int_eq(r.code, 500);
	ck_assert_msg(strstr(r.message, "more than one PodDisruptionBudget"), "%s", r.message);
	kt_result_done(&r);

	ck_assert_int_eq(kube_evict(f.c, "default", "ev-free",
				    "00000000-0000-0000-0000-000000000000", kt_done, &r),
			 0);
	ck_assert(kt_wait(f.e, &r, WAIT));
	ck_assert_int_eq(r.outcome, KUBE_CONFLICT);
	kt_result_done(&r);

	ck_assert_int_eq(kube_evict(f.c, "default", "ev-free", NULL, kt_done, &r), 0);
	ck_assert(kt_wait(f.e, &r, WAIT));
	ck_assert_msg(r.outcome == KUBE_OK, "%s %ld %s", kube_outcome_to_string(r.outcome), r.code,
		      r.message);
	kt_result_done(&r);

	ck_assert_int_eq(kube_evict(f.c, "default", "ev-gone", NULL, kt_done, &r), 0);
	ck_assert(kt_wait(f.e, &r, WAIT));
	ck_assert_int_eq(r.outcome, KUBE_NOT_FOUND);
	kt_result_done(&r);
	stop(&f);
}
END_TEST

START_TEST(test_events_and_pod_annotations)
{
	struct fixture f;
	struct kt_result r = { 0 };
	struct kube_object_ref pod = { .kind = "Pod", .namespace = "default", .name = "an-1" };
	const char *kv[] = { "snug.io/last-resize", "{\"why\":\"oom\"}" };
	const char *del[] = { "snug.io/last-resize", NULL };
	char *out = NULL;

	make_pod("an-1", "node-1", false, true);
	start(&f, false);
	ck_assert_int_eq(
		kube_event(f.c, &pod, "Normal", "Resized", "cpu 100m to 150m", kt_done, &r), 0);
	ck_assert(kt_wait(f.e, &r, WAIT));
	ck_assert_msg(r.outcome == KUBE_OK, "%ld %s", r.code, r.message);
	ck_assert_int_eq(r.code, 201);
	kt_result_done(&r);
	/* the same object and reason again at once: not sent */
	ck_assert_int_eq(kube_event(f.c, &pod, "Normal", "Resized", "again", kt_done, &r), 0);
	ck_assert(kt_wait(f.e, &r, WAIT));
	ck_assert_int_eq(r.outcome, KUBE_SUPPRESSED);
	kt_result_done(&r);
	ck_assert_int_eq(admin("GET", "/api/v1/namespaces/default/events", NULL, NULL, &out), 200);
	ck_assert_msg(strstr(out, "cpu 100m to 150m") && !strstr(out, "\"again\""), "%s", out);
	ck_assert_ptr_nonnull(strstr(out, "\"component\":\"snug\""));
	free(out);

	ck_assert_int_eq(kube_annotate(f.c, &pod, kv, 1, kt_done, &r), 0);
	ck_assert(kt_wait(f.e, &r, WAIT));
	ck_assert_msg(r.outcome == KUBE_OK, "%ld %s", r.code, r.message);
	kt_result_done(&r);
	/* get pods is granted too */
	ck_assert_int_eq(kube_get(f.c, &pod, kt_done, &r), 0);
	ck_assert(kt_wait(f.e, &r, WAIT));
	ck_assert_msg(r.outcome == KUBE_OK, "%ld %s", r.code, r.message);
	ck_assert_ptr_nonnull(strstr(r.object, "snug.io/last-resize"));
	ck_assert_int_eq(r.replicas, -1);
	kt_result_done(&r);
	ck_assert_int_eq(admin("GET", "/api/v1/namespaces/default/pods/an-1", NULL, NULL, &out),
			 200);
	ck_assert_msg(strstr(out, "snug.io/last-resize"), "%s", out);
	free(out);
	ck_assert_int_eq(kube_annotate(f.c, &pod, del, 1, kt_done, &r), 0);
	ck_assert(kt_wait(f.e, &r, WAIT));
	ck_assert_int_eq(r.outcome, KUBE_OK);
	kt_result_done(&r);
	ck_assert_int_eq(admin("GET", "/api/v1/namespaces/default/pods/an-1", NULL, NULL, &out),
			 200);
	ck_assert_ptr_null(strstr(out, "snug.io/last-resize"));
	free(out);
	stop(&f);
}
END_TEST

#define TEMPLATE                                                                                   \
	"{\"metadata\":{\"name\":\"web\",\"labels\":{\"app\":\"web\"}},"                           \
	"\"spec\":{\"containers\":[{\"name\":\"app\",\"image\":\"x\"}]%s}}"

START_TEST(test_owners)
{
	static const struct {
		const char *kind, *path, *spec;
		int64_t replicas;
	} owners[] = {
		{ "ReplicaSet", "/apis/apps/v1/namespaces/default/replicasets",
		  "\"replicas\":3,\"selector\":{\"matchLabels\":{\"app\":\"web\"}}", 3 },
		{ "StatefulSet", "/apis/apps/v1/namespaces/default/statefulsets",
		  "\"replicas\":2,\"serviceName\":\"web\",\"selector\":{\"matchLabels\":"
		  "{\"app\":\"web\"}}",
		  2 },
		{ "DaemonSet", "/apis/apps/v1/namespaces/default/daemonsets",
		  "\"selector\":{\"matchLabels\":{\"app\":\"web\"}}", 0 },
		{ "Job", "/apis/batch/v1/namespaces/default/jobs", "\"parallelism\":4", 4 },
	};
	struct fixture f;

	start(&f, false);
	for (size_t i = 0; i < sizeof(owners) / sizeof(owners[0]); i++) {
		char tpl[512], body[1024], path[256], *out = NULL;
		struct kt_result r = { 0 };
		struct kube_object_ref ref = { .kind = owners[i].kind,
					       .namespace = "default",
					       .name = "web" };
		const char *kv[] = { "snug.io/recommendation", "cpu=150m" };

		snprintf(tpl, sizeof(tpl), TEMPLATE,
			 strcmp(owners[i].kind, "Job") == 0 ? ",\"restartPolicy\":\"Never\"" : "");
		snprintf(body, sizeof(body),
			 "{\"metadata\":{\"name\":\"web\"},\"spec\":{%s,\"template\":%s}}",
			 owners[i].spec, tpl);
		admin_ok("POST", owners[i].path, "application/json", body);

		ck_assert_int_eq(kube_get(f.c, &ref, kt_done, &r), 0);
		ck_assert(kt_wait(f.e, &r, WAIT));
		ck_assert_msg(r.outcome == KUBE_OK, "%s: %ld %s", owners[i].kind, r.code,
			      r.message);
		ck_assert_int_eq(r.replicas, owners[i].replicas);
		ck_assert_ptr_nonnull(strstr(r.object, owners[i].kind));
		kt_result_done(&r);

		/* The agent reads owners (replica count) and writes none: not even the
		 * recommendation annotation the eviction fallback used to record. */
		ck_assert_int_eq(kube_annotate(f.c, &ref, kv, 1, kt_done, &r), 0);
		ck_assert(kt_wait(f.e, &r, WAIT));
		ck_assert_msg(r.outcome == KUBE_FORBIDDEN, "%s: %ld %s", owners[i].kind, r.code,
			      r.message);
		kt_result_done(&r);
		snprintf(path, sizeof(path), "%s/web", owners[i].path);
		ck_assert_int_eq(admin("GET", path, NULL, NULL, &out), 200);
		ck_assert_msg(!strstr(out, "snug.io/recommendation"), "%s", out);
		free(out);
	}
	stop(&f);
}
END_TEST

/* The agent reads its own Node's allocatable with deploy/rbac.yaml's `get nodes`; a node that
 * does not exist is a plain not-found (the agent then leaves grows unclamped). */
START_TEST(test_node_allocatable)
{
	struct fixture f;
	struct kt_result r = { 0 };
	struct kube_node n;
	char err[KUBE_ERRBUF] = "";
	cJSON *j;

	admin_ok("POST", "/api/v1/nodes", "application/json",
		 "{\"apiVersion\":\"v1\",\"kind\":\"Node\",\"metadata\":{\"name\":\"alloc-1\"}}");
	admin_ok("PATCH", "/api/v1/nodes/alloc-1/status", "application/strategic-merge-patch+json",
		 "{\"status\":{\"capacity\":{\"cpu\":\"8\",\"memory\":\"16Gi\",\"pods\":\"110\"},"
		 "\"allocatable\":{\"cpu\":\"7800m\",\"memory\":\"15Gi\",\"pods\":\"110\"}}}");
	start(&f, false);
	ck_assert_int_eq(kube_get_node(f.c, "alloc-1", kt_done, &r), 0);
	ck_assert(kt_wait(f.e, &r, WAIT));
	ck_assert_msg(r.outcome == KUBE_OK, "%ld %s", r.code, r.message);
	ck_assert_int_eq(r.replicas, -1);
	j = cJSON_Parse(r.object);
	ck_assert_msg(kube_node_parse(j, &n, err) == 0, "%s", err);
	ck_assert_str_eq(n.name, "alloc-1");
	ck_assert_int_eq(n.cpu_allocatable, 7800);
	ck_assert_int_eq(n.memory_allocatable, INT64_C(15) << 30);
	kube_node_done(&n);
	cJSON_Delete(j);
	kt_result_done(&r);

	ck_assert_int_eq(kube_get_node(f.c, "no-such-node", kt_done, &r), 0);
	ck_assert(kt_wait(f.e, &r, WAIT));
	ck_assert_int_eq(r.outcome, KUBE_NOT_FOUND);
	kt_result_done(&r);
	stop(&f);
}
END_TEST

/* RBAC is really in force: what deploy/rbac.yaml does not grant is refused. */
START_TEST(test_rbac_limits)
{
	struct fixture f;
	struct kt_result r = { 0 };
	struct kube_object_ref dep = { .kind = "Deployment", .namespace = "default", .name = "x" };
	const char *kv[] = { "a", "b" };

	start(&f, false);
	ck_assert_int_eq(kube_annotate(f.c, &dep, kv, 1, kt_done, &r), 0);
	ck_assert(kt_wait(f.e, &r, WAIT));
	ck_assert_int_eq(r.outcome, KUBE_FORBIDDEN);
	ck_assert_msg(strstr(r.message, "system:serviceaccount:snug-system:snug-agent"), "%s",
		      r.message);
	kt_result_done(&r);
	stop(&f);
}
END_TEST

START_TEST(test_unknown_ca_refused)
{
	struct kube_config cfg = { .server = (char *)server,
				   .ca_file = (char *)"/etc/ssl/certs/ca-certificates.crt",
				   .token_file = (char *)agent_token_file };
	struct kube_object_ref pod = { .kind = "Pod", .namespace = "default", .name = "x" };
	struct kube_client *c;
	struct kt_result r = { 0 };
	sd_event *e;

	ck_assert_int_eq(sd_event_new(&e), 0);
	ck_assert_int_eq(kube_client_new(e, &cfg, NULL, &c), 0);
	ck_assert_int_eq(kube_get(c, &pod, kt_done, &r), 0);
	ck_assert(kt_wait(e, &r, WAIT));
	ck_assert_int_eq(r.outcome, KUBE_TRANSIENT);
	ck_assert_int_eq(r.code, 0);
	ck_assert_int_eq(r.error, -EPERM);
	kube_client_free(c);
	sd_event_unref(e);
}
END_TEST

/* kubeconfig with inline CA data and a client certificate (no token): the same agent identity. */
START_TEST(test_kubeconfig_client_certificate)
{
	struct kube_config *cfg = NULL;
	struct kube_options opts = { .node_name = "node-1" };
	struct kube_client *c;
	sd_event *e;

	make_pod("kc-1", "node-1", false, true);
	ck_assert_int_eq(kube_config_from_kubeconfig(getenv("SNUG_ENVTEST_KUBECONFIG"), NULL, &cfg),
			 0);
	ck_assert_ptr_nonnull(cfg->cert_data);
	ck_assert_ptr_nonnull(cfg->key_data);
	ck_assert_ptr_null(cfg->token);
	ck_assert_str_eq(cfg->namespace, "default");
	ck_assert_int_eq(sd_event_new(&e), 0);
	ck_assert_int_eq(kube_client_new(e, cfg, &opts, &c), 0);
	kube_config_free(cfg);
	ck_assert_int_eq(kube_client_watch_pods(c, NULL, NULL), 0);
	ck_assert_msg(kt_run_until(e, (bool (*)(void *))kube_client_synced, c, WAIT),
		      "never synced with the client certificate");
	ck_assert_ptr_nonnull(kube_client_pod_at(c, 0));
	kube_client_free(c);
	sd_event_unref(e);
}
END_TEST

/* Issue 15: a native sidecar is resized through the resize subresource under spec.initContainers
 * (accepted by 1.33 and 1.36); an ordinary init container is not: 1.33 refuses it in validation
 * (ValidatePodResize), 1.36 in the NodeDeclaredFeatures admission (node-1 declares no
 * InPlacePodVerticalScalingInitContainers). */
#define SIDECAR_RES                                                                                \
	"{\"requests\":{\"cpu\":\"100m\",\"memory\":\"64Mi\"},\"limits\":{\"cpu\":\"500m\","       \
	"\"memory\":\"256Mi\"}}"

/* One container status, started or finished, with the resources above. */
static void sidecar_status(char *buf, size_t size, const char *name, char id, bool running)
{
	snprintf(buf, size,
		 "{\"name\":\"%s\",\"ready\":true,\"restartCount\":0,\"image\":\"x:1\","
		 "\"imageID\":\"\",\"containerID\":\"containerd://%c%063d\",\"state\":%s,"
		 "\"resources\":" SIDECAR_RES ",\"allocatedResources\":{\"cpu\":\"100m\","
		 "\"memory\":\"64Mi\"}}",
		 name, id, 0,
		 running ? "{\"running\":{\"startedAt\":\"2026-12-05T12:00:00Z\"}}"
			 : "{\"terminated\":{\"exitCode\":0,\"reason\":\"Completed\"}}");
}

struct wait_sidecar {
	struct fixture *f;
	int64_t cpu_request;
};

static bool sidecar_matches(void *ud)
{
	struct wait_sidecar *w = ud;
	const struct kube_pod *p = cached(w->f, "sc-1");
	const struct kube_container *kc = p ? kube_pod_container(p, "proxy") : NULL;

	return kc && kc->sidecar && kc->spec.cpu_request == w->cpu_request;
}

START_TEST(test_sidecar_resize)
{
	struct kube_resize_container ctr = {
		.name = "proxy",
		.res = { 150, RESOURCE_UNSET, RESOURCE_UNSET, RESOURCE_UNSET },
		.sidecar = true,
	};
	char app[512], setup[512], proxy[512], status[2048];
	struct wait_sidecar ws;
	struct kt_result r = { 0 };
	struct fixture f;

	admin_ok("POST", "/api/v1/namespaces/default/pods", "application/json",
		 "{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"name\":\"sc-1\"},"
		 "\"spec\":{\"nodeName\":\"node-1\",\"automountServiceAccountToken\":false,"
		 "\"initContainers\":[{\"name\":\"setup\",\"image\":\"x:1\","
		 "\"resources\":" SIDECAR_RES
		 "},{\"name\":\"proxy\",\"image\":\"x:1\",\"restartPolicy\":\"Always\","
		 "\"resources\":" SIDECAR_RES
		 "}],\"containers\":[{\"name\":\"app\",\"image\":\"x:1\",\"resources\":" SIDECAR_RES
		 "}]}}");
	sidecar_status(app, sizeof(app), "app", 'a', true);
	sidecar_status(setup, sizeof(setup), "setup", 'b', false);
	sidecar_status(proxy, sizeof(proxy), "proxy", 'c', true);
	snprintf(status, sizeof(status),
		 "{\"status\":{\"phase\":\"Running\",\"containerStatuses\":[%s],"
		 "\"initContainerStatuses\":[%s,%s]}}",
		 app, setup, proxy);
	admin_ok("PATCH", "/api/v1/namespaces/default/pods/sc-1/status",
		 "application/strategic-merge-patch+json", status);
	start(&f, true);
	ck_assert_ptr_nonnull(cached(&f, "sc-1"));
	ck_assert_int_eq(kube_resize(f.c, "default", "sc-1", NULL, &ctr, 1, kt_done, &r), 0);
	ck_assert(kt_wait(f.e, &r, WAIT));
	ck_assert_msg(r.outcome == KUBE_OK, "%s %ld %s", kube_outcome_to_string(r.outcome), r.code,
		      r.message);
	kt_result_done(&r);
	ws = (struct wait_sidecar){ &f, 150 };
	ck_assert_msg(kt_run_until(f.e, sidecar_matches, &ws, WAIT), "the sidecar's new request");
	/* the app container and the ordinary init container are as they were */
	ck_assert_int_eq(cached(&f, "sc-1")->containers[0].spec.cpu_request, 100);
	ck_assert_int_eq(cached(&f, "sc-1")->init_containers[0].spec.cpu_request, 100);

	/* The same PATCH naming the ordinary init container. */
	memset(&r, 0, sizeof(r));
	ctr.name = "setup";
	ck_assert_int_eq(kube_resize(f.c, "default", "sc-1", NULL, &ctr, 1, kt_done, &r), 0);
	ck_assert(kt_wait(f.e, &r, WAIT));
	if (version >= 136) {
		ck_assert_int_eq(r.code, 403);
		ck_assert_msg(strstr(r.message, "requires features "
						"InPlacePodVerticalScalingInitContainers"),
			      "%s", r.message);
	} else {
		ck_assert_int_eq(r.outcome, KUBE_REJECTED);
		ck_assert_int_eq(r.code, 422);
		ck_assert_msg(strstr(r.message,
				     "resources for non-sidecar init containers are immutable"),
			      "%s", r.message);
	}
	kt_result_done(&r);
	stop(&f);
}
END_TEST

static void setup_cluster(void)
{
	static bool done;

	if (done)
		return;
	done = true;
	admin("POST", "/api/v1/namespaces/default/serviceaccounts", "application/json",
	      "{\"metadata\":{\"name\":\"default\"}}", NULL);
	admin("POST", "/api/v1/nodes", "application/json",
	      "{\"metadata\":{\"name\":\"node-1\"},\"status\":{\"capacity\":{\"cpu\":\"4\","
	      "\"memory\":\"8Gi\",\"pods\":\"110\"}}}",
	      NULL);
}

int main(void)
{
	char *v = getenv("SNUG_ENVTEST_VERSION");
	const char *results = getenv("SNUG_RESULTS");
	SRunner *sr;
	Suite *s;
	TCase *tc;
	int run, failed;

	server = getenv("SNUG_ENVTEST_SERVER");
	ca = getenv("SNUG_ENVTEST_CA");
	admin_token = getenv("SNUG_ENVTEST_ADMIN_TOKEN");
	agent_token_file = getenv("SNUG_ENVTEST_AGENT_TOKEN_FILE");
	webhook_token_file = getenv("SNUG_ENVTEST_WEBHOOK_TOKEN_FILE");
	if (!server || !ca || !admin_token || !agent_token_file || !webhook_token_file || !v) {
		fprintf(stderr, "run through tests/envtest/run.sh\n");
		return 2;
	}
	version = atoi(v);
	cluster = (struct kt_cluster){ server, ca, admin_token };
	setup_cluster();

	s = suite_create(version >= 134 ? "envtest-kube-1.36" : "envtest-kube-1.33");
	tc = tcase_create("client");
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_watch_this_node);
	tcase_add_test(tc, test_resize_accepted);
	tcase_add_test(tc, test_resize_rejected_and_not_supported);
	tcase_add_test(tc, test_evictions);
	tcase_add_test(tc, test_events_and_pod_annotations);
	tcase_add_test(tc, test_owners);
	tcase_add_test(tc, test_node_allocatable);
	tcase_add_test(tc, test_rbac_limits);
	tcase_add_test(tc, test_unknown_ca_refused);
	tcase_add_test(tc, test_kubeconfig_client_certificate);
	tcase_add_test(tc, test_sidecar_resize);
	suite_add_tcase(s, tc);
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
