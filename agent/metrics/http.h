/* The agent's HTTP endpoint (/metrics, /healthz, /readyz, /recommendations) served from its sd-event loop. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <systemd/sd-event.h>

#include "agent/metrics/metrics.h"

/*
 * libmicrohttpd in "external epoll" mode: its epoll fd is an sd-event io source and its connection
 * timeout an sd-event timer, so every request is handled on the agent's one loop thread (no locks,
 * handlers read the agent's state directly). A stalled loop therefore also stops /healthz answering,
 * which is what the kubelet's liveness probe should see.
 *
 * Routes (GET and HEAD only, else 405; unknown paths 404):
 *   /metrics          200, Prometheus text 0.0.4 of `registry` (Content-Type METRICS_CONTENT_TYPE)
 *   /healthz          200 "ok", or 503 when `healthy` says otherwise
 *   /readyz           200 "ok" when `ready` says so (or is NULL), else 503 "not ready"
 *   /recommendations  200 application/json from `recommendations`, 500 when it fails, 404 when NULL
 */
struct metrics_http_handlers {
	struct metrics_registry *registry; /* required */
	/* Refreshes gauges that are computed on demand, just before /metrics renders. Optional. */
	void (*before_scrape)(void *userdata);
	/* Optional: NULL means healthy whenever the loop answers. */
	bool (*healthy)(void *userdata);
	/* Optional: NULL means always ready. */
	bool (*ready)(void *userdata);
	/* Optional: sets *ret_json to a malloc()ed JSON document (freed by the server); -errno → 500. */
	int (*recommendations)(void *userdata, char **ret_json, size_t *ret_size);
	void *userdata;
};

struct metrics_http;

/*
 * Parses a listen address: ":9746" (every address, IPv6 and IPv4), "127.0.0.1:9746", "[::1]:9746",
 * "[::]:0". Numeric hosts only (no name lookups in a node agent's start-up path); port 0..65535, 0 picks
 * a free one. -EINVAL otherwise. ret_any is true for the ":port" form.
 */
int metrics_listen_parse(const char *s, struct sockaddr_storage *ret_addr, socklen_t *ret_len,
			 bool *ret_any);

/* Binds, listens and attaches to the loop. -EADDRINUSE, -EACCES etc. from bind(); -EINVAL for a bad
 * address; -EIO when libmicrohttpd refuses to start. */
int metrics_http_new(sd_event *event, const char *listen, const struct metrics_http_handlers *h,
		     struct metrics_http **ret);
/* The bound port (the chosen one when the address said port 0). */
uint16_t metrics_http_port(const struct metrics_http *s);
/* Stops serving, closes every connection and the listening socket. NULL is a no-op. */
struct metrics_http *metrics_http_free(struct metrics_http *s);
