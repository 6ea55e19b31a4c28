/* snug's one HTTP(S) listener: libmicrohttpd driven by an sd-event loop, with per-client connection limits and TLS files reloaded when they change. */
#pragma once

#include <microhttpd.h>
#include <stdint.h>
#include <systemd/sd-event.h>

/*
 * libmicrohttpd runs in "external epoll" mode: its epoll fd is an sd-event io source and its
 * timeouts an sd-event timer, so every request is handled on the loop's one thread (no locks;
 * handlers read the caller's state directly). A stalled loop therefore also stops the server.
 *
 * Connections are bounded three ways, so that no client can keep the others out:
 *   - connections: all clients together (fds and memory stay bounded);
 *   - per_client: one client address. A client over it has its new connection accepted and
 *     closed at once, while every other address still has connections - per_client slots;
 *   - idle_timeout_sec: a connection that sends nothing this long is closed.
 * When all `connections` are in use, new connections wait in the listen backlog, unanswered.
 */
struct http_limits {
	unsigned connections;
	unsigned per_client; /* 0 < per_client < connections */
	unsigned idle_timeout_sec;
};

/* HTTPS: PEM files read at start and again once they changed (inode, size or mtime) and then held
 * still for one check (a key written before its certificate is not paired with the old one). New
 * connections get the new certificate; those open keep theirs until done (at most 10 s). */
struct http_tls_files {
	const char *cert_file, *key_file;
	uint64_t check_usec; /* how often the files are looked at; 0 = 5 s */
};

struct http_server_config {
	const char *listen; /* see agent/http/listen.h */
	struct http_limits limits;
	const struct http_tls_files *tls; /* NULL: plain HTTP */
	/* libmicrohttpd's callbacks, called with userdata on the loop thread. completed is optional. */
	MHD_AccessHandlerCallback handler;
	MHD_RequestCompletedCallback completed;
	/* Optional: the outcome of each reload: 0, or -errno when the changed files do not load (the
	 * server keeps the certificate it has). */
	void (*tls_reloaded)(void *userdata, int result);
	void *userdata;
};

struct http_server;

/* Binds, listens and serves from the loop. -EINVAL for a bad address or limits, -errno of bind()
 * (-EADDRINUSE, -EACCES, ...) or of reading the TLS files, -EBADMSG when the key and certificate do
 * not load, -EOPNOTSUPP when libmicrohttpd has no TLS, -EIO when it refuses to start. */
int http_server_new(sd_event *event, const struct http_server_config *cfg,
		    struct http_server **ret);
/* The bound port (the chosen one when the address said port 0). */
uint16_t http_server_port(const struct http_server *s);

/* From the access handler: hold the request (MHD_suspend_connection) until the answer is known.
 * A suspended request keeps its certificate's daemon alive through any number of reloads. */
void http_server_suspend(struct http_server *s, struct MHD_Connection *c);
/* From outside libmicrohttpd's callbacks: the handler is called again for c on the next loop
 * iteration. */
void http_server_resume(struct http_server *s, struct MHD_Connection *c);

/* Closes every connection and the listening socket; suspended requests must have been resumed.
 * NULL is a no-op. */
struct http_server *http_server_free(struct http_server *s);
