/* The HTTPS side of `snug-agent webhook`: /mutate with the owner lookup through the kube client,
 * /healthz and /metrics, served by agent/http/server.c with TLS files reloaded when they change. */
#pragma once

#include <stdint.h>
#include <systemd/sd-event.h>

#include "agent/webhook.h"

struct kube_client;
struct webhook_server;

struct webhook_server_config {
	const char
		*listen; /* the forms of agent/http/listen.h: ":PORT", "ADDR:PORT", "[ADDR]:PORT" */
	const char *cert_file, *key_file; /* PEM; re-read when their mtime/size/inode change */
	struct webhook_caps caps;
	uint64_t reload_check_usec; /* how often the TLS files are checked, default 5 s */
};

/* Starts listening at once. kube may be NULL (every owner lookup then fails open); it must outlive
 * the server or be freed first (its callbacks then never come). -EINVAL on a bad listen address,
 * -errno of bind() or of reading the TLS files, -EBADMSG when the key/certificate do not load,
 * -EOPNOTSUPP without TLS in libmicrohttpd. Logs nothing: the caller says what failed. */
int webhook_server_new(sd_event *event, struct kube_client *kube,
		       const struct webhook_server_config *cfg, struct webhook_server **ret);
struct webhook_server *webhook_server_free(struct webhook_server *s);
/* The port actually bound (for ":0"). */
uint16_t webhook_server_port(const struct webhook_server *s);
const struct webhook_stats *webhook_server_stats(const struct webhook_server *s);
/* The eviction controller's counters, shown on /metrics (st must outlive the server). */
void webhook_server_set_evictions(struct webhook_server *s,
				  const struct webhook_eviction_stats *st);
/* The /metrics text (Prometheus exposition format); caller frees. */
int webhook_metrics_text(const struct webhook_stats *st, char **ret);
