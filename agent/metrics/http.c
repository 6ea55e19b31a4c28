/* Serves /metrics, /healthz, /readyz and /recommendations with libmicrohttpd driven by the agent's sd-event loop. */
#include "agent/metrics/http.h"

#include <arpa/inet.h>
#include <errno.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent/util/cleanup.h"
#include "agent/util/log.h"
#include "agent/util/time.h"
#include "agent/util/parse.h"

/* Prometheus scrapes and probes are small and rare; a bound keeps a flood from eating fds. */
#define HTTP_CONNECTION_LIMIT 64
#define HTTP_CONNECTION_TIMEOUT_SEC 10
#define HTTP_BACKLOG 64

struct metrics_http {
	sd_event *event;
	struct MHD_Daemon *daemon;
	sd_event_source *io;
	sd_event_source *timer;
	struct metrics_http_handlers h;
	uint16_t port;
};

int metrics_listen_parse(const char *s, struct sockaddr_storage *ret_addr, socklen_t *ret_len,
			 bool *ret_any)
{
	struct sockaddr_storage ss = {};
	char host[INET6_ADDRSTRLEN + 1];
	const char *colon, *port_s;
	uint64_t port;
	socklen_t len;
	bool any = false;

	if (!s)
		return -EINVAL;
	if (s[0] == '[') {
		const char *close = strchr(s, ']');

		if (!close || close[1] != ':' || (size_t)(close - s - 1) >= sizeof(host))
			return -EINVAL;
		memcpy(host, s + 1, (size_t)(close - s - 1));
		host[close - s - 1] = '\0';
		port_s = close + 2;
	} else {
		colon = strrchr(s, ':');
		if (!colon || (size_t)(colon - s) >= sizeof(host) ||
		    memchr(s, ':', (size_t)(colon - s)))
			return -EINVAL; /* a bare IPv6 address needs brackets */
		memcpy(host, s, (size_t)(colon - s));
		host[colon - s] = '\0';
		port_s = colon + 1;
		any = host[0] == '\0';
	}
	if (safe_atou64(port_s, &port) < 0 || port > 65535)
		return -EINVAL;

	if (any || s[0] == '[') {
		struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)&ss;

		a6->sin6_family = AF_INET6;
		a6->sin6_port = htons((uint16_t)port);
		if (any)
			a6->sin6_addr = in6addr_any;
		else if (inet_pton(AF_INET6, host, &a6->sin6_addr) != 1)
			return -EINVAL;
		len = sizeof(*a6);
	} else {
		struct sockaddr_in *a4 = (struct sockaddr_in *)&ss;

		a4->sin_family = AF_INET;
		a4->sin_port = htons((uint16_t)port);
		/* inet_pton, unlike inet_aton, refuses "127.1" and octal: what is written is what binds. */
		if (inet_pton(AF_INET, host, &a4->sin_addr) != 1)
			return -EINVAL;
		len = sizeof(*a4);
	}
	*ret_addr = ss;
	*ret_len = len;
	if (ret_any)
		*ret_any = any;
	return 0;
}

static int listen_socket(const struct sockaddr_storage *addr, socklen_t len, bool any,
			 uint16_t *ret_port)
{
	_cleanup_close_ int fd = -1;
	struct sockaddr_storage bound;
	socklen_t bound_len = sizeof(bound);
	int one = 1, zero = 0;

	fd = socket(addr->ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return negative_errno();
	/* A restarted agent must not wait out TIME_WAIT of its predecessor's scrapes. */
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0)
		return negative_errno();
	if (any && setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof(zero)) < 0)
		return negative_errno();
	if (bind(fd, (const struct sockaddr *)addr, len) < 0)
		return negative_errno();
	if (listen(fd, HTTP_BACKLOG) < 0)
		return negative_errno();
	if (getsockname(fd, (struct sockaddr *)&bound, &bound_len) < 0)
		return negative_errno();
	*ret_port = ntohs(bound.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&bound)->sin6_port
						      : ((struct sockaddr_in *)&bound)->sin_port);
	return TAKE_FD(fd);
}

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

__attribute__((format(printf, 2, 0))) static void http_log(void *cls, const char *fmt, va_list ap)
{
	char buf[512];

	vsnprintf(buf, sizeof(buf), fmt, ap);
	buf[strcspn(buf, "\n")] = '\0';
	log_debug("libmicrohttpd: %s", buf);
}

/* After every run, arm the timer for whatever libmicrohttpd has to do next without fd activity
 * (connection timeouts, or 0 when it has buffered work it could not finish). */
static int http_rearm(struct metrics_http *s)
{
	MHD_UNSIGNED_LONG_LONG ms;
	int r;

	if (MHD_get_timeout(s->daemon, &ms) != MHD_YES)
		return sd_event_source_set_enabled(s->timer, SD_EVENT_OFF);
	r = sd_event_source_set_time_relative(s->timer, (uint64_t)ms * 1000);
	if (r < 0)
		return r;
	return sd_event_source_set_enabled(s->timer, SD_EVENT_ONESHOT);
}

static int http_run(struct metrics_http *s)
{
	if (MHD_run(s->daemon) != MHD_YES)
		log_debug("libmicrohttpd: MHD_run failed");
	return http_rearm(s);
}

static int on_io(sd_event_source *src, int fd, uint32_t revents, void *userdata)
{
	return http_run(userdata);
}

static int on_timer(sd_event_source *src, uint64_t usec, void *userdata)
{
	return http_run(userdata);
}

struct metrics_http *metrics_http_free(struct metrics_http *s)
{
	if (!s)
		return NULL;
	sd_event_source_disable_unref(s->io);
	sd_event_source_disable_unref(s->timer);
	/* Closes the listening socket too (it was handed over with MHD_OPTION_LISTEN_SOCKET). */
	if (s->daemon)
		MHD_stop_daemon(s->daemon);
	sd_event_unref(s->event);
	free(s);
	return NULL;
}

DEFINE_TRIVIAL_CLEANUP_FUNC(struct metrics_http *, metrics_http_free);

int metrics_http_new(sd_event *event, const char *listen, const struct metrics_http_handlers *h,
		     struct metrics_http **ret)
{
	_cleanup_(metrics_http_freep) struct metrics_http *s = NULL;
	_cleanup_close_ int fd = -1;
	const union MHD_DaemonInfo *info;
	struct sockaddr_storage addr;
	socklen_t len;
	bool any;
	int r;

	if (!event || !h || !h->registry || !ret)
		return -EINVAL;
	r = metrics_listen_parse(listen, &addr, &len, &any);
	if (r < 0)
		return r;

	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->event = sd_event_ref(event);
	s->h = *h;

	fd = listen_socket(&addr, len, any, &s->port);
	if (fd == -EAFNOSUPPORT && any) {
		/* A kernel without IPv6: ":port" still means every (IPv4) address. */
		struct sockaddr_in *a4 = (struct sockaddr_in *)&addr;
		uint16_t port = ((struct sockaddr_in6 *)&addr)->sin6_port;

		memset(&addr, 0, sizeof(addr));
		a4->sin_family = AF_INET;
		a4->sin_port = port;
		a4->sin_addr.s_addr = htonl(INADDR_ANY);
		fd = listen_socket(&addr, sizeof(*a4), false, &s->port);
	}
	if (fd < 0)
		return fd;

	s->daemon = MHD_start_daemon(MHD_USE_EPOLL | MHD_USE_ERROR_LOG, 0, NULL, NULL, http_handle,
				     s, MHD_OPTION_EXTERNAL_LOGGER, http_log, s,
				     MHD_OPTION_LISTEN_SOCKET, fd, MHD_OPTION_CONNECTION_LIMIT,
				     (unsigned)HTTP_CONNECTION_LIMIT, MHD_OPTION_CONNECTION_TIMEOUT,
				     (unsigned)HTTP_CONNECTION_TIMEOUT_SEC, MHD_OPTION_END);
	if (!s->daemon)
		return -EIO;
	TAKE_FD(fd); /* the daemon owns it now */

	info = MHD_get_daemon_info(s->daemon, MHD_DAEMON_INFO_EPOLL_FD);
	if (!info || info->epoll_fd < 0)
		return -EIO;
	r = sd_event_add_io(event, &s->io, info->epoll_fd, EPOLLIN, on_io, s);
	if (r < 0)
		return r;
	/* Accuracy 1 ms, not sd-event's default (0 = 250 ms): libmicrohttpd asks for a 0 ms timeout
	 * when it has a request to go on with that epoll will not report. */
	r = sd_event_add_time(event, &s->timer, CLOCK_MONOTONIC, 0, USEC_PER_MSEC, on_timer, s);
	if (r < 0)
		return r;
	(void)sd_event_source_set_description(s->io, "http-io");
	(void)sd_event_source_set_description(s->timer, "http-timer");
	r = http_rearm(s);
	if (r < 0)
		return r;
	*ret = TAKE_PTR(s);
	return 0;
}

uint16_t metrics_http_port(const struct metrics_http *s)
{
	return s->port;
}
