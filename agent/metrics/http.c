/* Serves /metrics, /healthz, /readyz and /recommendations on the agent's loop, through agent/http/server.c. */
#include "agent/metrics/http.h"

#include <errno.h>
#include <microhttpd.h>
#include <stdlib.h>
#include <string.h>

#include "agent/http/server.h"
#include "agent/util/cleanup.h"
#include "agent/util/log.h"

struct metrics_http {
	struct http_server *server;
	struct metrics_http_handlers h;
};

static enum MHD_Result respond(struct MHD_Connection *c, unsigned status, const char *type,
			       char *body, size_t size, bool owned)
{
	struct MHD_Response *resp;
	enum MHD_Result ret;

	resp = MHD_create_response_from_buffer(
		size, body, owned ? MHD_RESPMEM_MUST_FREE : MHD_RESPMEM_PERSISTENT);
	if (!resp) {
		if (owned)
			free(body);
		return MHD_NO;
	}
	if (type)
		(void)MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, type);
	if (status == MHD_HTTP_METHOD_NOT_ALLOWED)
		(void)MHD_add_response_header(resp, MHD_HTTP_HEADER_ALLOW, "GET, HEAD");
	/* Probes and scrapes must always see the live state, never a cached one. */
	(void)MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
	ret = MHD_queue_response(c, status, resp);
	MHD_destroy_response(resp);
	return ret;
}

static enum MHD_Result respond_text(struct MHD_Connection *c, unsigned status, const char *text)
{
	return respond(c, status, "text/plain; charset=utf-8", (char *)text, strlen(text), false);
}

static enum MHD_Result serve_metrics(struct metrics_http *s, struct MHD_Connection *c)
{
	char *text = NULL;
	size_t size = 0;
	int r;

	if (s->h.before_scrape)
		s->h.before_scrape(s->h.userdata);
	r = metrics_registry_format(s->h.registry, &text, &size);
	if (r < 0) {
		log_debug_errno(r, "Failed to render metrics: %m");
		return respond_text(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "cannot render metrics\n");
	}
	return respond(c, MHD_HTTP_OK, METRICS_CONTENT_TYPE, text, size, true);
}

static enum MHD_Result serve_recommendations(struct metrics_http *s, struct MHD_Connection *c)
{
	char *json = NULL;
	size_t size = 0;
	int r;

	if (!s->h.recommendations)
		return respond_text(c, MHD_HTTP_NOT_FOUND, "not found\n");
	r = s->h.recommendations(s->h.userdata, &json, &size);
	if (r < 0 || !json) {
		log_debug_errno(r < 0 ? r : -EIO, "Failed to render recommendations: %m");
		free(json);
		return respond_text(c, MHD_HTTP_INTERNAL_SERVER_ERROR,
				    "cannot render recommendations\n");
	}
	return respond(c, MHD_HTTP_OK, "application/json", json, size, true);
}

static enum MHD_Result http_handle(void *cls, struct MHD_Connection *c, const char *url,
				   const char *method, const char *version, const char *upload_data,
				   size_t *upload_data_size, void **con_cls)
{
	struct metrics_http *s = cls;

	if (strcmp(method, MHD_HTTP_METHOD_GET) != 0 && strcmp(method, MHD_HTTP_METHOD_HEAD) != 0)
		return respond_text(c, MHD_HTTP_METHOD_NOT_ALLOWED, "method not allowed\n");
	/* HEAD gets the same response; libmicrohttpd leaves the body out. */
	if (strcmp(url, "/metrics") == 0)
		return serve_metrics(s, c);
	if (strcmp(url, "/healthz") == 0) {
		if (s->h.healthy && !s->h.healthy(s->h.userdata))
			return respond_text(c, MHD_HTTP_SERVICE_UNAVAILABLE, "unhealthy\n");
		return respond_text(c, MHD_HTTP_OK, "ok\n");
	}
	if (strcmp(url, "/readyz") == 0) {
		if (s->h.ready && !s->h.ready(s->h.userdata))
			return respond_text(c, MHD_HTTP_SERVICE_UNAVAILABLE, "not ready\n");
		return respond_text(c, MHD_HTTP_OK, "ok\n");
	}
	if (strcmp(url, "/recommendations") == 0)
		return serve_recommendations(s, c);
	return respond_text(c, MHD_HTTP_NOT_FOUND, "not found\n");
}

struct metrics_http *metrics_http_free(struct metrics_http *s)
{
	if (!s)
		return NULL;
	http_server_free(s->server);
	free(s);
	return NULL;
}

DEFINE_TRIVIAL_CLEANUP_FUNC(struct metrics_http *, metrics_http_free);

int metrics_http_new(sd_event *event, const char *listen, const struct metrics_http_handlers *h,
		     struct metrics_http **ret)
{
	_cleanup_(metrics_http_freep) struct metrics_http *s = NULL;
	int r;

	if (!event || !h || !h->registry || !ret)
		return -EINVAL;
	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->h = *h;
	const struct http_server_config cfg = {
		.listen = listen,
		.limits = {
			.connections = METRICS_HTTP_CONNECTIONS,
			.per_client = METRICS_HTTP_PER_CLIENT,
			.idle_timeout_sec = METRICS_HTTP_IDLE_TIMEOUT_SEC,
		},
		.handler = http_handle,
		.userdata = s,
	};
	r = http_server_new(event, &cfg, &s->server);
	if (r < 0)
		return r;
	*ret = TAKE_PTR(s);
	return 0;
}

uint16_t metrics_http_port(const struct metrics_http *s)
{
	return http_server_port(s->server);
}
