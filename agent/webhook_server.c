/* The webhook's HTTPS routes on agent/http/server.c (the agent's listener, with TLS). A /mutate
 * request that needs the owner is suspended while the kube client GETs it, then resumed with the
 * answer; every error path answers "allowed" without a patch (fail open). */
#include "agent/webhook_server.h"

#include <errno.h>
#include <inttypes.h>
#include <microhttpd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent/http/server.h"
#include "agent/kube/kube.h"
#include "agent/util/cleanup.h"
#include "agent/util/log.h"
#include "agent/util/time.h"
#include "agent/shared_history.h"
#include "agent/webhook_history.h"

static void cjson_deletep(cJSON **p)
{
	if (*p)
		cJSON_Delete(*p);
}

/*
 * Its clients: the API server(s), one address each, for every pod CREATE of the cluster; the
 * kubelet's probes from the node's address; a Prometheus scraper. The API server holds one
 * connection per admission in flight: at the controller manager's 20 requests/s, burst 30
 * (SetDefaults_KubeControllerManagerConfiguration), and the owner GET's 3 s timeout, up to ~90. Hence 128 per client address (a webhook call refused beyond
 * that fails open: the pod is admitted unchanged), and 512 in all, as before: four addresses would
 * have to fill their share before the probes wait. A connection idle 30 s is closed (the API
 * server keeps idle ones for reuse; 30 s spares it most handshakes).
 */
#define WEBHOOK_HTTP_CONNECTIONS 512
#define WEBHOOK_HTTP_PER_CLIENT 128
#define WEBHOOK_HTTP_IDLE_TIMEOUT_SEC 30

struct webhook_server {
	struct kube_client *kube;
	struct webhook_caps caps;
	struct rec_tunables tunables; /* VPA's defaults: the estimator on the merged history */
	struct http_server *http;
	char *cert_file;      /* for the log */
	struct conn *lookups; /* requests whose owner GET is in flight */
	struct webhook_stats stats;
	const struct webhook_eviction_stats *evictions; /* the controller's, NULL when off */
};

/* The state of one HTTP request. */
struct conn {
	struct webhook_server *server; /* NULL once the server is gone (the GET still runs) */
	struct MHD_Connection *mhd;
	char *body;
	size_t len;
	bool too_big;
	bool suspended;
	char *answer; /* the AdmissionReview response, once known */
	struct webhook_request *req;
	struct conn *next_lookup;
};

/* ---- responses ------------------------------------------------------------------------------ */

static enum MHD_Result reply(struct MHD_Connection *c, unsigned code, const char *type,
			     const char *body)
{
	struct MHD_Response *resp;
	enum MHD_Result ret;

	resp = MHD_create_response_from_buffer(strlen(body), (void *)body, MHD_RESPMEM_MUST_COPY);
	if (!resp)
		return MHD_NO;
	MHD_add_response_header(resp, "Content-Type", type);
	ret = MHD_queue_response(c, code, resp);
	MHD_destroy_response(resp);
	return ret;
}

static void count(struct webhook_server *s, enum webhook_result r)
{
	s->stats.requests[r]++;
}

/* Builds the answer for conn from the decision; any failure here still yields "allowed". */
static void answer(struct conn *cn, const char *annotation)
{
	struct webhook_server *s = cn->server;
	_cleanup_(cjson_deletep) cJSON *patch = NULL;
	char err[WEBHOOK_ERRBUF] = "";
	enum webhook_result res;
	const char *ns = cn->req->namespace ? cn->req->namespace : "";
	const char *name = cn->req->name ? cn->req->name : "";

	res = webhook_decide(cn->req, annotation, &s->caps, &patch, err);
	if (webhook_response(cn->req->uid, res == WEBHOOK_RESULT_PATCHED ? patch : NULL,
			     &cn->answer) < 0) {
		res = WEBHOOK_RESULT_FAILED_OPEN;
		snprintf(err, sizeof(err), "out of memory building the response");
	}
	switch (res) {
	case WEBHOOK_RESULT_PATCHED: {
		_cleanup_free_ char *text = cJSON_PrintUnformatted(patch);
		log_info("webhook: pod %s/%s of %s %s: %s", ns, name, cn->req->owner.kind,
			 cn->req->owner.name, text ? text : "patched");
		break;
	}
	case WEBHOOK_RESULT_FAILED_OPEN:
		if (annotation)
			s->stats.bad_annotations++;
		log_warning("webhook: pod %s/%s admitted unchanged (failed open): %s", ns, name,
			    err);
		break;
	default:
		log_debug("webhook: pod %s/%s admitted unchanged: %s", ns, name, err);
		break;
	}
	count(s, res);
}

/* The fixed "allowed" answer for a request we cannot use at all (uid may be NULL). */
static int answer_open(struct conn *cn, const char *uid, const char *why)
{
	cn->server->stats.bad_requests++;
	count(cn->server, WEBHOOK_RESULT_FAILED_OPEN);
	log_warning("webhook: unusable AdmissionReview, admitted (failed open): %s", why);
	return webhook_response(uid, NULL, &cn->answer);
}

static bool owner_kind_supported(const char *kind)
{
	return strcmp(kind, "ReplicaSet") == 0 || strcmp(kind, "StatefulSet") == 0 ||
	       strcmp(kind, "DaemonSet") == 0 || strcmp(kind, "Job") == 0;
}

static void lookup_unlink(struct webhook_server *s, struct conn *cn)
{
	for (struct conn **p = &s->lookups; *p; p = &(*p)->next_lookup)
		if (*p == cn) {
			*p = cn->next_lookup;
			return;
		}
}

static void conn_free(struct conn *cn)
{
	free(cn->body);
	free(cn->answer);
	webhook_request_free(cn->req);
	free(cn);
}

static void on_owner(const struct kube_result *r, void *userdata)
{
	struct conn *cn = userdata;
	struct webhook_server *s = cn->server;
	const cJSON *meta, *ann, *a, *uid;
	const char *annotation = NULL;

	if (!s) { /* the server went away while the GET ran */
		conn_free(cn);
		return;
	}
	lookup_unlink(s, cn);
	if (r->outcome != KUBE_OK || !r->object) {
		s->stats.owner_errors++;
		count(s, WEBHOOK_RESULT_FAILED_OPEN);
		log_warning(
			"webhook: pod %s/%s admitted unchanged (failed open): GET %s %s: %s%s%s",
			cn->req->namespace ? cn->req->namespace : "",
			cn->req->name ? cn->req->name : "", cn->req->owner.kind,
			cn->req->owner.name, kube_outcome_to_string(r->outcome),
			r->message ? ": " : "", r->message ? r->message : "");
		if (webhook_response(cn->req->uid, NULL, &cn->answer) < 0)
			cn->answer = NULL;
		goto resume;
	}
	meta = cJSON_GetObjectItemCaseSensitive(r->object, "metadata");
	uid = cJSON_GetObjectItemCaseSensitive(meta, "uid");
	/* An owner of the same name but another uid is a different object: its recommendation was
	 * not made for this pod's workload. */
	if (cn->req->owner.uid && cJSON_IsString(uid) &&
	    strcmp(uid->valuestring, cn->req->owner.uid) != 0) {
		count(s, WEBHOOK_RESULT_SKIPPED);
		log_info("webhook: %s %s was replaced (uid differs), pod admitted unchanged",
			 cn->req->owner.kind, cn->req->owner.name);
		if (webhook_response(cn->req->uid, NULL, &cn->answer) < 0)
			cn->answer = NULL;
		goto resume;
	}
	ann = cJSON_GetObjectItemCaseSensitive(meta, "annotations");
	a = cJSON_GetObjectItemCaseSensitive(ann, WEBHOOK_ANNOTATION);
	if (cJSON_IsString(a))
		annotation = a->valuestring;
	else if (a) /* present but not a string: a broken annotation */
		annotation = "";
	answer(cn, annotation);
resume:
	if (cn->suspended) {
		cn->suspended = false;
		http_server_resume(s->http, cn->mhd);
	}
}

static int start_lookup(struct conn *cn)
{
	struct webhook_server *s = cn->server;
	const struct kube_object_ref ref = {
		.api_version = cn->req->owner.api_version,
		.kind = cn->req->owner.kind,
		.namespace = cn->req->namespace,
		.name = cn->req->owner.name,
	};

	if (!s->kube)
		return -ENOTCONN;
	if (!cn->req->namespace || !*cn->req->namespace)
		return -EINVAL;
	return kube_get(s->kube, &ref, on_owner, cn);
}

/* The workload's WorkloadHistory entries answered: their merged recommendation, or (none there,
 * or the LIST failed) the owner's annotation, read next. */
static void on_history(const struct kube_result *r, void *userdata)
{
	struct conn *cn = userdata;
	struct webhook_server *s = cn->server;
	_cleanup_free_ char *text = NULL;
	char kind[64], name[254], err[WEBHOOK_ERRBUF] = "";
	int rc = -ENOENT;

	if (!s) { /* the server went away while the LIST ran */
		conn_free(cn);
		return;
	}
	if (r->outcome == KUBE_OK && r->object &&
	    webhook_history_workload(cn->req, kind, sizeof(kind), name, sizeof(name)) >= 0)
		rc = webhook_history_recommendation(r->object, cn->req, kind, name, &s->tunables,
						    (int64_t)now_usec(CLOCK_REALTIME), &text, err);
	if (rc >= 0) {
		lookup_unlink(s, cn);
		answer(cn, text);
	} else {
		log_debug("webhook: pod %s/%s: no merged history (%s: %s), reading the owner",
			  cn->req->namespace ? cn->req->namespace : "",
			  cn->req->name ? cn->req->name : "", kube_outcome_to_string(r->outcome),
			  err[0]       ? err
			  : r->message ? r->message
				       : "no entries");
		if (start_lookup(cn) >= 0)
			return;
		lookup_unlink(s, cn);
		s->stats.owner_errors++;
		count(s, WEBHOOK_RESULT_FAILED_OPEN);
		if (webhook_response(cn->req->uid, NULL, &cn->answer) < 0)
			cn->answer = NULL;
	}
	if (cn->suspended) {
		cn->suspended = false;
		http_server_resume(s->http, cn->mhd);
	}
}

/* The merged history first: a LIST of the workload's entries (by its snug.io/workload label). */
static int start_history(struct conn *cn)
{
	struct webhook_server *s = cn->server;
	char kind[64], name[254], key[SHARED_KEY_SIZE];

	if (!s->kube || !cn->req->namespace || !*cn->req->namespace ||
	    webhook_history_workload(cn->req, kind, sizeof(kind), name, sizeof(name)) < 0)
		return start_lookup(cn);
	shared_workload_key(kind, name, key);
	if (kube_list_histories(s->kube, cn->req->namespace, key, on_history, cn) < 0)
		return start_lookup(cn);
	return 0;
}

/* POST /mutate with the whole body: answer now, or suspend until the owner is known. */
static enum MHD_Result handle_mutate(struct conn *cn)
{
	struct webhook_server *s = cn->server;
	char err[WEBHOOK_ERRBUF] = "";
	_cleanup_free_ char *uid = NULL;
	int r;

	if (cn->too_big)
		r = answer_open(cn, NULL, "body too large");
	else {
		r = webhook_request_parse(cn->body, cn->len, &cn->req, &uid, err);
		if (r < 0)
			r = answer_open(cn, uid, r == -ENOMEM ? "out of memory" : err);
		else if (cn->req->is_pod && strcmp(cn->req->operation, "CREATE") == 0 &&
			 cn->req->object && cn->req->has_owner &&
			 owner_kind_supported(cn->req->owner.kind)) {
			r = start_history(cn);
			if (r >= 0) {
				cn->next_lookup = s->lookups;
				s->lookups = cn;
				cn->suspended = true;
				http_server_suspend(s->http, cn->mhd);
				return MHD_YES;
			}
			s->stats.owner_errors++;
			count(s, WEBHOOK_RESULT_FAILED_OPEN);
			log_warning("webhook: owner lookup of %s %s not started, admitted "
				    "unchanged (failed open): %s",
				    cn->req->owner.kind, cn->req->owner.name, strerror(-r));
			r = webhook_response(cn->req->uid, NULL, &cn->answer);
		} else {
			/* Not ours: no owner to read, decide without an annotation. */
			answer(cn, NULL);
			r = cn->answer ? 0 : -ENOMEM;
		}
	}
	if (r < 0 || !cn->answer)
		return reply(cn->mhd, MHD_HTTP_INTERNAL_SERVER_ERROR, "text/plain",
			     "out of memory\n");
	return reply(cn->mhd, MHD_HTTP_OK, "application/json", cn->answer);
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *connection, const char *url,
				  const char *method, const char *version, const char *upload_data,
				  size_t *upload_data_size, void **con_cls)
{
	struct webhook_server *s = cls;
	struct conn *cn = *con_cls;

	if (!cn) {
		cn = calloc(1, sizeof(*cn));
		if (!cn)
			return MHD_NO;
		cn->server = s;
		cn->mhd = connection;
		*con_cls = cn;
		return MHD_YES;
	}
	if (*upload_data_size > 0) {
		size_t n = *upload_data_size;
		*upload_data_size = 0;
		if (cn->too_big || cn->len + n > WEBHOOK_MAX_BODY) {
			cn->too_big = true;
			return MHD_YES;
		}
		char *nb = realloc(cn->body, cn->len + n + 1);
		if (!nb)
			return MHD_NO;
		cn->body = nb;
		memcpy(cn->body + cn->len, upload_data, n);
		cn->len += n;
		cn->body[cn->len] = 0;
		return MHD_YES;
	}
	if (cn->answer) /* resumed after the owner lookup */
		return reply(connection, MHD_HTTP_OK, "application/json", cn->answer);
	if (cn->req) /* resumed without an answer: out of memory on the way */
		return reply(connection, MHD_HTTP_INTERNAL_SERVER_ERROR, "text/plain",
			     "out of memory\n");

	if (strcmp(url, "/mutate") == 0) {
		if (strcmp(method, "POST") != 0)
			return reply(connection, MHD_HTTP_METHOD_NOT_ALLOWED, "text/plain",
				     "POST only\n");
		return handle_mutate(cn);
	}
	if (strcmp(url, "/healthz") == 0)
		return reply(connection, MHD_HTTP_OK, "text/plain", "ok\n");
	if (strcmp(url, "/metrics") == 0) {
		_cleanup_free_ char *text = NULL;
		struct webhook_stats st = s->stats;

		if (s->evictions)
			st.evictions = *s->evictions;
		if (webhook_metrics_text(&st, &text) < 0)
			return reply(connection, MHD_HTTP_INTERNAL_SERVER_ERROR, "text/plain",
				     "out of memory\n");
		return reply(connection, MHD_HTTP_OK, "text/plain; version=0.0.4", text);
	}
	return reply(connection, MHD_HTTP_NOT_FOUND, "text/plain", "not found\n");
}

static void on_completed(void *cls, struct MHD_Connection *connection, void **con_cls,
			 enum MHD_RequestTerminationCode toe)
{
	struct conn *cn = *con_cls;

	*con_cls = NULL;
	if (!cn)
		return;
	if (cn->server && cn->suspended) {
		/* Never happens (suspended connections are not timed out); if it did, let the GET
		 * callback free it. */
		cn->server = NULL;
		return;
	}
	conn_free(cn);
}

static void on_tls_reloaded(void *userdata, int result)
{
	struct webhook_server *s = userdata;

	if (result < 0) {
		s->stats.tls_reload_errors++;
		log_warning_errno(
			result, "webhook: TLS files changed but do not load (%m), keeping the old "
				"certificate");
		return;
	}
	s->stats.tls_reloads++;
	log_info("webhook: TLS certificate reloaded");
}

/* ---- public --------------------------------------------------------------------------------- */

int webhook_server_new(sd_event *event, struct kube_client *kube,
		       const struct webhook_server_config *cfg, struct webhook_server **ret)
{
	struct webhook_server *s;
	int r;

	if (!event || !cfg || !cfg->listen || !cfg->cert_file || !cfg->key_file || !ret)
		return -EINVAL;
	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->kube = kube;
	s->caps = cfg->caps;
	rec_tunables_init_default(&s->tunables);
	s->cert_file = strdup(cfg->cert_file);
	if (!s->cert_file) {
		free(s);
		return -ENOMEM;
	}
	const struct http_tls_files tls = {
		.cert_file = cfg->cert_file,
		.key_file = cfg->key_file,
		.check_usec = cfg->reload_check_usec,
	};
	const struct http_server_config http = {
		.listen = cfg->listen,
		.limits = {
			.connections = WEBHOOK_HTTP_CONNECTIONS,
			.per_client = WEBHOOK_HTTP_PER_CLIENT,
			.idle_timeout_sec = WEBHOOK_HTTP_IDLE_TIMEOUT_SEC,
		},
		.tls = &tls,
		.handler = on_request,
		.completed = on_completed,
		.tls_reloaded = on_tls_reloaded,
		.userdata = s,
	};
	r = http_server_new(event, &http, &s->http);
	if (r < 0) {
		free(s->cert_file);
		free(s);
		return r;
	}
	*ret = s;
	return 0;
}

struct webhook_server *webhook_server_free(struct webhook_server *s)
{
	if (!s)
		return NULL;
	/* GETs still in flight keep their request (freed in on_owner, or never if the kube client
	 * is freed first); the server may then stop with nothing suspended. */
	for (struct conn *cn = s->lookups; cn; cn = cn->next_lookup) {
		if (cn->suspended) {
			cn->suspended = false;
			http_server_resume(s->http, cn->mhd);
		}
		cn->server = NULL;
		cn->mhd = NULL;
	}
	s->lookups = NULL;
	http_server_free(s->http);
	free(s->cert_file);
	free(s);
	return NULL;
}

uint16_t webhook_server_port(const struct webhook_server *s)
{
	return http_server_port(s->http);
}

const struct webhook_stats *webhook_server_stats(const struct webhook_server *s)
{
	return &s->stats;
}

void webhook_server_set_evictions(struct webhook_server *s, const struct webhook_eviction_stats *st)
{
	s->evictions = st;
}

int webhook_metrics_text(const struct webhook_stats *st, char **ret)
{
	_cleanup_free_ char *buf = NULL;
	size_t size = 0;
	FILE *f = open_memstream(&buf, &size);

	if (!f)
		return -ENOMEM;
	fputs("# HELP snug_webhook_requests_total Admission reviews answered, by result.\n"
	      "# TYPE snug_webhook_requests_total counter\n",
	      f);
	for (int r = 0; r < _WEBHOOK_RESULT_MAX; r++)
		fprintf(f, "snug_webhook_requests_total{result=\"%s\"} %" PRIu64 "\n",
			webhook_result_to_string(r), st->requests[r]);
	fprintf(f,
		"# HELP snug_webhook_failed_open_total Pods admitted unchanged because of an "
		"error, by cause.\n"
		"# TYPE snug_webhook_failed_open_total counter\n"
		"snug_webhook_failed_open_total{cause=\"bad_request\"} %" PRIu64 "\n"
		"snug_webhook_failed_open_total{cause=\"owner_lookup\"} %" PRIu64 "\n"
		"snug_webhook_failed_open_total{cause=\"bad_annotation\"} %" PRIu64 "\n"
		"# HELP snug_webhook_tls_reloads_total TLS certificate reloads, by result.\n"
		"# TYPE snug_webhook_tls_reloads_total counter\n"
		"snug_webhook_tls_reloads_total{result=\"ok\"} %" PRIu64 "\n"
		"snug_webhook_tls_reloads_total{result=\"error\"} %" PRIu64 "\n",
		st->bad_requests, st->owner_errors, st->bad_annotations, st->tls_reloads,
		st->tls_reload_errors);
	fprintf(f,
		"# HELP snug_webhook_evictions_total Evictions the controller made for the pods "
		"their node's agent asked to evict, by result.\n"
		"# TYPE snug_webhook_evictions_total counter\n"
		"snug_webhook_evictions_total{result=\"evicted\"} %" PRIu64 "\n"
		"snug_webhook_evictions_total{result=\"gone\"} %" PRIu64 "\n"
		"snug_webhook_evictions_total{result=\"blocked\"} %" PRIu64 "\n"
		"snug_webhook_evictions_total{result=\"error\"} %" PRIu64 "\n"
		"snug_webhook_evictions_total{result=\"failed\"} %" PRIu64 "\n"
		"snug_webhook_evictions_total{result=\"stale\"} %" PRIu64 "\n"
		"snug_webhook_evictions_total{result=\"refused-bare\"} %" PRIu64 "\n"
		"# HELP snug_webhook_eviction_requests Pods asking to be evicted now (labelled "
		"snug.io/eviction-requested=true).\n"
		"# TYPE snug_webhook_eviction_requests gauge\n"
		"snug_webhook_eviction_requests %" PRIu64 "\n",
		st->evictions.evicted, st->evictions.gone, st->evictions.blocked,
		st->evictions.errors, st->evictions.failed, st->evictions.stale,
		st->evictions.refused_bare, st->evictions.requests);
	if (fclose(f) != 0)
		return -ENOMEM;
	*ret = TAKE_PTR(buf);
	return 0;
}
