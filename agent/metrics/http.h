/* The agent's HTTP endpoint (/metrics, /healthz, /readyz, /recommendations) served from its sd-event loop. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <systemd/sd-event.h>

#include "agent/metrics/metrics.h"

/*
 * Served by agent/http/server.c on the agent's one loop thread (handlers read the agent's state
 * directly). A stalled loop therefore also stops /healthz answering, which is what the kubelet's
 * liveness probe should see.
 *
 * Routes (GET and HEAD only, else 405; unknown paths 404):
 *   /metrics          200, Prometheus text 0.0.4 of `registry` (Content-Type METRICS_CONTENT_TYPE)
 *   /healthz          200 "ok", or 503 when `healthy` says otherwise
 *   /readyz           200 "ok" when `ready` says so (or is NULL), else 503 "not ready"
 *   /recommendations  200 application/json from `recommendations`, 500 when it fails, 404 when NULL
 *
 * Its clients: the kubelet's liveness and readiness probes, from the node's address, each on a
 * fresh connection (the kubelet's prober turns keep-alive off: DisableKeepAlives in
 * pkg/probe/http/http.go), so at most two at once; Prometheus, one keep-alive connection per
 * scraper; an operator's curl or port-forward. Hence:
 *   - 8 connections per client address: room for each of those to overlap a slow previous one,
 *     while one client (a pod opening slow connections without end) holds at most 8;
 *   - 64 in all: eight addresses would have to misbehave together before a probe waits, and fds
 *     and libmicrohttpd's 32 KiB per connection stay bounded (2 MiB);
 *   - 10 s idle: probes and scrapes send their request at once and are answered at once, so only
 *     a stalled client or a keep-alive between scrapes is cut (the next scrape reconnects).
 */
#define METRICS_HTTP_CONNECTIONS 64
#define METRICS_HTTP_PER_CLIENT 8
#define METRICS_HTTP_IDLE_TIMEOUT_SEC 10

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

/* Binds `listen` (the forms of agent/http/listen.h), listens and attaches to the loop. -EADDRINUSE,
 * -EACCES etc. from bind(); -EINVAL for a bad address; -EIO when libmicrohttpd refuses to start. */
int metrics_http_new(sd_event *event, const char *listen, const struct metrics_http_handlers *h,
		     struct metrics_http **ret);
/* The bound port (the chosen one when the address said port 0). */
uint16_t metrics_http_port(const struct metrics_http *s);
/* Stops serving, closes every connection and the listening socket. NULL is a no-op. */
struct metrics_http *metrics_http_free(struct metrics_http *s);
