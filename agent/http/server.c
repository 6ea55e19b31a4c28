/* Drives libmicrohttpd from sd-event for every snug HTTP(S) server: limits, suspended requests, TLS reloads. */
#include "agent/http/server.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "agent/http/listen.h"
#include "agent/util/cleanup.h"
#include "agent/util/log.h"
#include "agent/util/time.h"

#define HTTP_BACKLOG 128
#define HTTP_TLS_FILE_MAX (1024 * 1024)
#define HTTP_TLS_CHECK_DEFAULT_USEC (5 * USEC_PER_SEC)
/* How long a daemon replaced by a TLS reload may finish its open connections (handshakes in
 * progress, keep-alive). Suspended requests always finish first. */
#define HTTP_DRAIN_USEC (10 * USEC_PER_SEC)

/* One libmicrohttpd daemon with the certificate it was started with. A TLS reload starts a new one
 * on the same listening socket; the old one stops accepting, finishes what it holds, then stops. */
struct http_daemon {
	struct http_server *server;
	struct MHD_Daemon *mhd;
	sd_event_source *io, *timer;
	char *cert, *key; /* PEM; libmicrohttpd may refer to them while it runs */
	unsigned suspended;
	uint64_t quiesced_usec; /* CLOCK_MONOTONIC */
	struct http_daemon *next;
};

struct file_id {
	dev_t dev;
	ino_t ino;
	off_t size;
	struct timespec mtime;
};

struct http_server {
	sd_event *event;
	struct http_limits limits;
	MHD_AccessHandlerCallback handler;
	MHD_RequestCompletedCallback completed;
	void (*tls_reloaded)(void *userdata, int result);
	void *userdata;
	int listen_fd;
	uint16_t port;
	struct http_daemon *active, *draining;

	/* TLS only */
	char *cert_file, *key_file;
	uint64_t tls_check_usec;
	struct file_id cert_id, key_id;		  /* what the active daemon was loaded from */
	struct file_id seen_cert_id, seen_key_id; /* a change seen once, reloaded when it holds */
	bool change_seen;
	sd_event_source *tls_timer;
};

__attribute__((format(printf, 2, 0))) static void http_log(void *cls, const char *fmt, va_list ap)
{
	char buf[512];

	vsnprintf(buf, sizeof(buf), fmt, ap);
	buf[strcspn(buf, "\n")] = '\0';
	log_debug("libmicrohttpd: %s", buf);
}

static unsigned daemon_connections(struct http_daemon *d)
{
	const union MHD_DaemonInfo *info =
		MHD_get_daemon_info(d->mhd, MHD_DAEMON_INFO_CURRENT_CONNECTIONS);

	return info ? info->num_connections : 0;
}

/* After every run, arm the timer for whatever libmicrohttpd has to do next without fd activity:
 * connection timeouts, or 0 when it holds work epoll will not report (TLS records already read,
 * resumed requests). */
static void daemon_run(struct http_daemon *d)
{
	MHD_UNSIGNED_LONG_LONG ms;
	unsigned before = daemon_connections(d);
	int r;

	if (MHD_run(d->mhd) != MHD_YES)
		log_debug("libmicrohttpd: MHD_run failed");
	/* At the connection limit libmicrohttpd takes its listening socket out of its epoll set, and
	 * puts it back only at the start of a run. A run that closed connections is therefore followed
	 * by another: nothing else would wake it, and new clients would wait in the backlog forever. */
	if (daemon_connections(d) < before && MHD_run(d->mhd) != MHD_YES)
		log_debug("libmicrohttpd: MHD_run failed");
	if (MHD_get_timeout(d->mhd, &ms) != MHD_YES)
		r = sd_event_source_set_enabled(d->timer, SD_EVENT_OFF);
	else {
		r = sd_event_source_set_time_relative(d->timer, (uint64_t)ms * USEC_PER_MSEC);
		if (r >= 0)
			r = sd_event_source_set_enabled(d->timer, SD_EVENT_ONESHOT);
	}
	if (r < 0)
		log_debug_errno(r, "http: cannot arm the libmicrohttpd timer: %m");
}

/* Both return 0: a negative return would make sd-event disable the source, and the server with it. */
static int on_io(sd_event_source *src, int fd, uint32_t revents, void *userdata)
{
	daemon_run(userdata);
	return 0;
}

static int on_timer(sd_event_source *src, uint64_t usec, void *userdata)
{
	daemon_run(userdata);
	return 0;
}

static void daemon_free(struct http_daemon *d)
{
	if (!d)
		return;
	sd_event_source_disable_unref(d->io);
	sd_event_source_disable_unref(d->timer);
	/* Closes its listening socket too (a dup, handed over with MHD_OPTION_LISTEN_SOCKET), unless
	 * it was quiesced. */
	if (d->mhd)
		MHD_stop_daemon(d->mhd);
	free(d->cert);
	free(d->key);
	free(d);
}

DEFINE_TRIVIAL_CLEANUP_FUNC(struct http_daemon *, daemon_free);

/* A daemon on a dup of the listening socket; takes cert and key (NULL for plain HTTP). */
static int daemon_start(struct http_server *s, char *cert, char *key, struct http_daemon **ret)
{
	_cleanup_(daemon_freep) struct http_daemon *d = NULL;
	_cleanup_close_ int fd = -1;
	const union MHD_DaemonInfo *info;
	unsigned flags = MHD_USE_EPOLL | MHD_ALLOW_SUSPEND_RESUME | MHD_USE_ERROR_LOG;
	int r;

	d = calloc(1, sizeof(*d));
	if (!d) {
		free(cert);
		free(key);
		return -ENOMEM;
	}
	d->server = s;
	d->cert = cert;
	d->key = key;
	struct MHD_OptionItem tls_options[] = {
		{ MHD_OPTION_HTTPS_MEM_CERT, 0, d->cert },
		{ MHD_OPTION_HTTPS_MEM_KEY, 0, d->key },
		{ MHD_OPTION_END, 0, NULL },
	};
	if (cert)
		flags |= MHD_USE_TLS;
	else
		tls_options[0].option = MHD_OPTION_END;

	fd = fcntl(s->listen_fd, F_DUPFD_CLOEXEC, 3);
	if (fd < 0)
		return negative_errno();
	d->mhd = MHD_start_daemon(
		flags, 0, NULL, NULL, s->handler, s->userdata, MHD_OPTION_EXTERNAL_LOGGER, http_log,
		NULL, MHD_OPTION_LISTEN_SOCKET, fd, MHD_OPTION_NOTIFY_COMPLETED, s->completed,
		s->userdata, MHD_OPTION_CONNECTION_LIMIT, s->limits.connections,
		MHD_OPTION_PER_IP_CONNECTION_LIMIT, s->limits.per_client,
		MHD_OPTION_CONNECTION_TIMEOUT, s->limits.idle_timeout_sec, MHD_OPTION_ARRAY,
		tls_options, MHD_OPTION_END);
	if (!d->mhd)
		/* With TLS, the usual reason is a key and certificate that do not load. */
		return cert ? -EBADMSG : -EIO;
	TAKE_FD(fd); /* the daemon owns it now */

	info = MHD_get_daemon_info(d->mhd, MHD_DAEMON_INFO_EPOLL_FD);
	if (!info || info->epoll_fd < 0)
		return -EIO;
	r = sd_event_add_io(s->event, &d->io, info->epoll_fd, EPOLLIN, on_io, d);
	if (r < 0)
		return r;
	/* Accuracy 1 ms, not sd-event's default (0 = 250 ms): libmicrohttpd asks for a 0 ms timeout
	 * when it holds request bytes epoll cannot see, and a client (a probe, the API server) waits
	 * on the answer. */
	r = sd_event_add_time(s->event, &d->timer, CLOCK_MONOTONIC, 0, USEC_PER_MSEC, on_timer, d);
	if (r < 0)
		return r;
	(void)sd_event_source_set_description(d->io, "http-io");
	(void)sd_event_source_set_description(d->timer, "http-timer");
	daemon_run(d); /* arms the timer */
	*ret = TAKE_PTR(d);
	return 0;
}

static struct http_daemon *daemon_of(struct http_server *s, struct MHD_Connection *c)
{
	const union MHD_ConnectionInfo *info =
		MHD_get_connection_info(c, MHD_CONNECTION_INFO_DAEMON);

	if (!info)
		return NULL;
	if (s->active && s->active->mhd == info->daemon)
		return s->active;
	for (struct http_daemon *d = s->draining; d; d = d->next)
		if (d->mhd == info->daemon)
			return d;
	return NULL;
}

void http_server_suspend(struct http_server *s, struct MHD_Connection *c)
{
	struct http_daemon *d = daemon_of(s, c);

	if (d)
		d->suspended++;
	MHD_suspend_connection(c);
}

void http_server_resume(struct http_server *s, struct MHD_Connection *c)
{
	struct http_daemon *d = daemon_of(s, c);

	MHD_resume_connection(c);
	if (!d)
		return;
	if (d->suspended > 0)
		d->suspended--;
	/* Resuming only marks the connection: have the daemon run at once. Not from here, which may
	 * be inside another callback of the loop, but on the next iteration. */
	if (sd_event_source_set_time_relative(d->timer, 0) < 0 ||
	    sd_event_source_set_enabled(d->timer, SD_EVENT_ONESHOT) < 0)
		log_debug("http: cannot schedule the resumed request");
}

/* ---- TLS files ------------------------------------------------------------------------------ */

static void stat_file(const char *path, struct file_id *ret)
{
	struct stat st;

	memset(ret, 0, sizeof(*ret));
	if (stat(path, &st) == 0) {
		ret->dev = st.st_dev;
		ret->ino = st.st_ino;
		ret->size = st.st_size;
		ret->mtime = st.st_mtim;
	}
}

static bool file_id_equal(const struct file_id *a, const struct file_id *b)
{
	return a->dev == b->dev && a->ino == b->ino && a->size == b->size &&
	       a->mtime.tv_sec == b->mtime.tv_sec && a->mtime.tv_nsec == b->mtime.tv_nsec;
}

static int read_pem(const char *path, char **ret)
{
	_cleanup_fclose_ FILE *f = NULL;
	_cleanup_free_ char *buf = NULL;
	char *fit;
	size_t n;

	f = fopen(path, "re");
	if (!f)
		return negative_errno();
	buf = malloc(HTTP_TLS_FILE_MAX + 1);
	if (!buf)
		return -ENOMEM;
	n = fread(buf, 1, HTTP_TLS_FILE_MAX + 1, f);
	if (ferror(f))
		return -EIO;
	if (n > HTTP_TLS_FILE_MAX)
		return -EFBIG;
	buf[n] = '\0';
	fit = realloc(buf, n + 1); /* kept for the daemon's life: no need for the whole 1 MiB */
	if (fit)
		buf = fit;
	*ret = TAKE_PTR(buf);
	return 0;
}

/* A daemon with the certificate the files hold now. */
static int daemon_start_tls(struct http_server *s, struct http_daemon **ret)
{
	char *cert = NULL, *key = NULL;
	int r;

	/* The ids first: a change while we read is seen at the next check. */
	stat_file(s->cert_file, &s->cert_id);
	stat_file(s->key_file, &s->key_id);
	r = read_pem(s->cert_file, &cert);
	if (r < 0)
		return log_debug_errno(r, "http: cannot read %s: %m", s->cert_file);
	r = read_pem(s->key_file, &key);
	if (r < 0) {
		free(cert);
		return log_debug_errno(r, "http: cannot read %s: %m", s->key_file);
	}
	return daemon_start(s, cert, key, ret);
}

/* Stops replaced daemons once their connections are done. */
static void reap_draining(struct http_server *s)
{
	struct http_daemon **p = &s->draining;
	uint64_t now = now_usec(CLOCK_MONOTONIC);

	while (*p) {
		struct http_daemon *d = *p;

		if (d->suspended == 0 &&
		    (daemon_connections(d) == 0 || now >= d->quiesced_usec + HTTP_DRAIN_USEC)) {
			*p = d->next;
			daemon_free(d);
		} else
			p = &d->next;
	}
}

static void tls_reload(struct http_server *s)
{
	struct http_daemon *fresh = NULL, *old = s->active;
	MHD_socket fd;
	int r;

	r = daemon_start_tls(s, &fresh);
	if (r >= 0) {
		fd = MHD_quiesce_daemon(old->mhd);
		if (fd != MHD_INVALID_SOCKET)
			safe_close(fd);
		old->quiesced_usec = now_usec(CLOCK_MONOTONIC);
		old->next = s->draining;
		s->draining = old;
		s->active = fresh;
	}
	/* Else the old certificate stays; a half-written update is retried when the files change
	 * again. */
	if (s->tls_reloaded)
		s->tls_reloaded(s->userdata, r < 0 ? r : 0);
}

static int on_tls_check(sd_event_source *src, uint64_t usec, void *userdata)
{
	struct http_server *s = userdata;
	struct file_id c, k;

	stat_file(s->cert_file, &c);
	stat_file(s->key_file, &k);
	if (file_id_equal(&c, &s->cert_id) && file_id_equal(&k, &s->key_id))
		s->change_seen = false;
	else if (!s->change_seen || !file_id_equal(&c, &s->seen_cert_id) ||
		 !file_id_equal(&k, &s->seen_key_id)) {
		/* Reload only once the files held still for one interval. */
		s->change_seen = true;
		s->seen_cert_id = c;
		s->seen_key_id = k;
	} else {
		s->change_seen = false;
		tls_reload(s);
	}
	reap_draining(s);
	if (sd_event_source_set_time_relative(src, s->tls_check_usec) < 0 ||
	    sd_event_source_set_enabled(src, SD_EVENT_ONESHOT) < 0)
		log_debug("http: cannot re-arm the TLS file check");
	return 0;
}

/* ---- public --------------------------------------------------------------------------------- */

struct http_server *http_server_free(struct http_server *s)
{
	if (!s)
		return NULL;
	sd_event_source_disable_unref(s->tls_timer);
	while (s->draining) {
		struct http_daemon *d = s->draining;

		s->draining = d->next;
		daemon_free(d);
	}
	daemon_free(s->active);
	safe_close(s->listen_fd);
	free(s->cert_file);
	free(s->key_file);
	sd_event_unref(s->event);
	free(s);
	return NULL;
}

DEFINE_TRIVIAL_CLEANUP_FUNC(struct http_server *, http_server_free);

int http_server_new(sd_event *event, const struct http_server_config *cfg, struct http_server **ret)
{
	_cleanup_(http_server_freep) struct http_server *s = NULL;
	struct http_listen_address addr;
	int r;

	if (!event || !cfg || !cfg->handler || !ret || cfg->limits.connections == 0 ||
	    cfg->limits.per_client == 0 || cfg->limits.per_client >= cfg->limits.connections)
		return -EINVAL;
	if (cfg->tls && (!cfg->tls->cert_file || !cfg->tls->key_file))
		return -EINVAL;
	if (cfg->tls && MHD_is_feature_supported(MHD_FEATURE_TLS) != MHD_YES)
		return -EOPNOTSUPP;
	r = http_listen_parse(cfg->listen, &addr);
	if (r < 0)
		return r;

	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->listen_fd = -1;
	s->event = sd_event_ref(event);
	s->limits = cfg->limits;
	s->handler = cfg->handler;
	s->completed = cfg->completed;
	s->tls_reloaded = cfg->tls_reloaded;
	s->userdata = cfg->userdata;
	s->listen_fd = http_listen_open(&addr, HTTP_BACKLOG, &s->port);
	if (s->listen_fd < 0)
		return s->listen_fd;

	if (!cfg->tls) {
		r = daemon_start(s, NULL, NULL, &s->active);
		if (r < 0)
			return r;
		*ret = TAKE_PTR(s);
		return 0;
	}
	s->cert_file = strdup(cfg->tls->cert_file);
	s->key_file = strdup(cfg->tls->key_file);
	if (!s->cert_file || !s->key_file)
		return -ENOMEM;
	s->tls_check_usec = cfg->tls->check_usec ?: HTTP_TLS_CHECK_DEFAULT_USEC;
	r = daemon_start_tls(s, &s->active);
	if (r < 0)
		return r;
	/* Coarse (100 ms): a periodic look at the files, which nothing waits on; a rotated
	 * certificate is served a little later, the old one is still valid meanwhile. */
	r = sd_event_add_time_relative(event, &s->tls_timer, CLOCK_MONOTONIC, s->tls_check_usec,
				       100 * USEC_PER_MSEC, on_tls_check, s);
	if (r < 0)
		return r;
	(void)sd_event_source_set_description(s->tls_timer, "http-tls-check");
	*ret = TAKE_PTR(s);
	return 0;
}

uint16_t http_server_port(const struct http_server *s)
{
	return s->port;
}
