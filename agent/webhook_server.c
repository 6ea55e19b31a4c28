/* The webhook's HTTPS server: libmicrohttpd in external-epoll mode inside the sd-event loop. A
 * /mutate request that needs the owner is suspended while the kube client GETs it, then resumed
 * with the answer; every error path answers "allowed" without a patch (fail open). */
#include "agent/webhook_server.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include "agent/kube/kube.h"
#include "agent/util/cleanup.h"
#include "agent/util/log.h"
#include "agent/util/parse.h"
#include "agent/util/time.h"

static void cjson_deletep(cJSON **p)
{
	if (*p)
		cJSON_Delete(*p);
}

/* One libmicrohttpd daemon with the certificate it was started with. A TLS reload starts a new
 * one on the same listening socket; the old one drains its suspended requests, then stops. */
struct daemon_slot {
	struct webhook_server *server;
	struct MHD_Daemon *mhd;
	sd_event_source *io, *timer;
	char *cert, *key;
	unsigned pending; /* suspended requests waiting for the owner */
	bool draining;
	uint64_t quiesced_usec; /* CLOCK_MONOTONIC */
	struct daemon_slot *next;
};

struct file_id {
	dev_t dev;
	ino_t ino;
	off_t size;
	struct timespec mtime;
};

struct webhook_server {
	sd_event *event;
	struct kube_client *kube;
	struct webhook_caps caps;
	char *cert_file, *key_file;
	struct file_id cert_id, key_id;
	struct file_id seen_cert_id, seen_key_id; /* a change seen once, reloaded when it holds */
	bool change_seen;
	uint64_t reload_check_usec;
	sd_event_source *reload_timer;
	int listen_fd;
	uint16_t port;
	struct daemon_slot *active, *old; /* old: quiesced daemons still draining */
	struct conn *lookups;		  /* requests whose owner GET is in flight */
	struct webhook_stats stats;
};

/* The state of one HTTP request. */
struct conn {
	struct webhook_server *server; /* NULL once the server is gone (the GET still runs) */
	struct daemon_slot *slot;
	struct MHD_Connection *mhd;
	char *body;
	size_t len;
	bool too_big;
	bool suspended;
	char *answer; /* the AdmissionReview response, once known */
	struct webhook_request *req;
	struct conn *next_lookup;
};

static int slot_run(struct daemon_slot *slot);

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

static int read_file(const char *path, char **ret)
{
	_cleanup_fclose_ FILE *f = fopen(path, "re");
	_cleanup_free_ char *buf = NULL;
	size_t n = 0, cap = 0;

	if (!f)
		return negative_errno();
	for (;;) {
		size_t got;
		if (cap - n < 4096) {
			char *nb;
			if (cap > 1024 * 1024)
				return -EFBIG;
			cap = cap ? cap * 2 : 8192;
			nb = realloc(buf, cap + 1);
			if (!nb)
				return -ENOMEM;
			buf = nb;
		}
		got = fread(buf + n, 1, cap - n, f);
		n += got;
		if (got == 0)
			break;
	}
	if (ferror(f))
		return -EIO;
	buf[n] = 0;
	*ret = TAKE_PTR(buf);
	return 0;
}

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

static void slot_free(struct daemon_slot *slot);

/* Stops quiesced daemons once their connections are done (handshakes in progress and
 * keep-alive connections get DRAIN_USEC to finish; suspended requests always finish first). */
#define DRAIN_USEC (10 * USEC_PER_SEC)
static void reap_old(struct webhook_server *s)
{
	struct daemon_slot **p = &s->old;
	uint64_t now = now_usec(CLOCK_MONOTONIC);

	while (*p) {
		struct daemon_slot *d = *p;
		const union MHD_DaemonInfo *info =
			MHD_get_daemon_info(d->mhd, MHD_DAEMON_INFO_CURRENT_CONNECTIONS);
		bool idle = info && info->num_connections == 0;

		if (d->pending == 0 && (idle || now >= d->quiesced_usec + DRAIN_USEC)) {
			*p = d->next;
			slot_free(d);
		} else
			p = &d->next;
	}
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
		cn->slot->pending--;
		MHD_resume_connection(cn->mhd);
		/* Resuming only marks it: run the daemon so the answer goes out now. */
		slot_run(cn->slot);
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
			r = start_lookup(cn);
			if (r >= 0) {
				cn->next_lookup = s->lookups;
				s->lookups = cn;
				cn->suspended = true;
				cn->slot->pending++;
				MHD_suspend_connection(cn->mhd);
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
	struct daemon_slot *slot = cls;
	struct webhook_server *s = slot->server;
	struct conn *cn = *con_cls;

	if (!cn) {
		cn = calloc(1, sizeof(*cn));
		if (!cn)
			return MHD_NO;
		cn->server = s;
		cn->slot = slot;
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
		if (webhook_metrics_text(&s->stats, &text) < 0)
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

/* ---- the daemons in the loop ---------------------------------------------------------------- */

static int slot_run(struct daemon_slot *slot)
{
	MHD_UNSIGNED_LONG_LONG ms;
	int r;

	MHD_run(slot->mhd);
	if (MHD_get_timeout(slot->mhd, &ms) == MHD_YES) {
		r = sd_event_source_set_time_relative(slot->timer, ms * 1000);
		if (r >= 0)
			r = sd_event_source_set_enabled(slot->timer, SD_EVENT_ONESHOT);
	} else
		r = sd_event_source_set_enabled(slot->timer, SD_EVENT_OFF);
	return r;
}

static int on_slot_io(sd_event_source *src, int fd, uint32_t revents, void *userdata)
{
	slot_run(userdata);
	return 0;
}

static int on_slot_timer(sd_event_source *src, uint64_t usec, void *userdata)
{
	slot_run(userdata);
	return 0;
}

static void slot_free(struct daemon_slot *slot)
{
	if (!slot)
		return;
	sd_event_source_disable_unref(slot->io);
	sd_event_source_disable_unref(slot->timer);
	if (slot->mhd)
		MHD_stop_daemon(slot->mhd);
	free(slot->cert);
	free(slot->key);
	free(slot);
}

/* A daemon on (a dup of) the listening socket with the given PEM. */
static int slot_start(struct webhook_server *s, char *cert, char *key, struct daemon_slot **ret)
{
	struct daemon_slot *slot;
	const union MHD_DaemonInfo *info;
	int fd, r;

	slot = calloc(1, sizeof(*slot));
	if (!slot) {
		free(cert);
		free(key);
		return -ENOMEM;
	}
	slot->server = s;
	slot->cert = cert;
	slot->key = key;
	fd = fcntl(s->listen_fd, F_DUPFD_CLOEXEC, 3);
	if (fd < 0) {
		r = negative_errno();
		slot_free(slot);
		return r;
	}
	slot->mhd = MHD_start_daemon(
		MHD_USE_TLS | MHD_USE_EPOLL | MHD_ALLOW_SUSPEND_RESUME | MHD_USE_ERROR_LOG, 0, NULL,
		NULL, on_request, slot, MHD_OPTION_LISTEN_SOCKET, fd, MHD_OPTION_HTTPS_MEM_CERT,
		slot->cert, MHD_OPTION_HTTPS_MEM_KEY, slot->key, MHD_OPTION_NOTIFY_COMPLETED,
		on_completed, slot, MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)30,
		MHD_OPTION_CONNECTION_LIMIT, (unsigned)512, MHD_OPTION_END);
	if (!slot->mhd) {
		close(fd);
		slot_free(slot);
		return -EBADMSG;
	}
	info = MHD_get_daemon_info(slot->mhd, MHD_DAEMON_INFO_EPOLL_FD);
	if (!info) {
		slot_free(slot);
		return -EIO;
	}
	r = sd_event_add_io(s->event, &slot->io, info->epoll_fd, EPOLLIN, on_slot_io, slot);
	if (r >= 0)
		/* Accuracy 1 ms, not sd-event's default (0 = 250 ms): libmicrohttpd asks for a
		 * 0 ms timeout when TLS holds request bytes epoll cannot see, and the API server
		 * waits on this answer to create the pod. */
		r = sd_event_add_time_relative(s->event, &slot->timer, CLOCK_MONOTONIC, 0,
					       USEC_PER_MSEC, on_slot_timer, slot);
	if (r < 0) {
		slot_free(slot);
		return r;
	}
	*ret = slot;
	return 0;
}

static int load_tls(struct webhook_server *s, struct daemon_slot **ret)
{
	char *cert = NULL, *key = NULL;
	int r;

	/* The ids first: a change while we read is seen at the next check. */
	stat_file(s->cert_file, &s->cert_id);
	stat_file(s->key_file, &s->key_id);
	r = read_file(s->cert_file, &cert);
	if (r < 0)
		return log_error_errno(r, "webhook: cannot read %s: %m", s->cert_file);
	r = read_file(s->key_file, &key);
	if (r < 0) {
		free(cert);
		return log_error_errno(r, "webhook: cannot read %s: %m", s->key_file);
	}
	r = slot_start(s, cert, key, ret);
	if (r == -EBADMSG)
		log_error("webhook: TLS key %s / certificate %s do not load", s->key_file,
			  s->cert_file);
	return r;
}

static int on_reload_check(sd_event_source *src, uint64_t usec, void *userdata)
{
	struct webhook_server *s = userdata;
	struct file_id c, k;
	struct daemon_slot *slot;
	int r;

	stat_file(s->cert_file, &c);
	stat_file(s->key_file, &k);
	if (file_id_equal(&c, &s->cert_id) && file_id_equal(&k, &s->key_id))
		s->change_seen = false;
	else if (!s->change_seen || !file_id_equal(&c, &s->seen_cert_id) ||
		 !file_id_equal(&k, &s->seen_key_id)) {
		/* Reload only once the files held still for one interval: a key written before
		 * its certificate must not be paired with the old one. */
		s->change_seen = true;
		s->seen_cert_id = c;
		s->seen_key_id = k;
	} else {
		s->change_seen = false;
		r = load_tls(s, &slot);
		if (r < 0) {
			/* Keep serving the old certificate; a half-written Secret update is retried
			 * when the files change again. */
			s->stats.tls_reload_errors++;
			log_warning("webhook: TLS files changed but do not load, keeping the old "
				    "certificate");
		} else {
			struct daemon_slot *old = s->active;
			MHD_socket fd = MHD_quiesce_daemon(old->mhd);

			if (fd != MHD_INVALID_SOCKET)
				close(fd);
			old->draining = true;
			old->quiesced_usec = now_usec(CLOCK_MONOTONIC);
			old->next = s->old;
			s->old = old;
			s->active = slot;
			s->stats.tls_reloads++;
			log_info("webhook: TLS certificate reloaded from %s", s->cert_file);
		}
	}
	reap_old(s);
	sd_event_source_set_time_relative(src, s->reload_check_usec);
	sd_event_source_set_enabled(src, SD_EVENT_ONESHOT);
	return 0;
}

/* ---- listen address ------------------------------------------------------------------------- */

static int parse_listen(const char *spec, struct sockaddr_storage *ss, socklen_t *len)
{
	_cleanup_free_ char *host = NULL;
	const char *colon, *port_s;
	uint64_t port;

	memset(ss, 0, sizeof(*ss));
	if (spec[0] == '[') {
		const char *end = strchr(spec, ']');
		if (!end || end[1] != ':')
			return -EINVAL;
		host = strndup(spec + 1, (size_t)(end - spec - 1));
		port_s = end + 2;
	} else {
		colon = strrchr(spec, ':');
		if (!colon)
			return -EINVAL;
		host = strndup(spec, (size_t)(colon - spec));
		port_s = colon + 1;
	}
	if (!host)
		return -ENOMEM;
	if (safe_atou64(port_s, &port) < 0 || port > 65535)
		return -EINVAL;
	if (!*host) {
		struct sockaddr_in6 *a = (struct sockaddr_in6 *)ss;
		a->sin6_family = AF_INET6;
		a->sin6_addr = in6addr_any;
		a->sin6_port = htons((uint16_t)port);
		*len = sizeof(*a);
	} else if (strchr(host, ':')) {
		struct sockaddr_in6 *a = (struct sockaddr_in6 *)ss;
		a->sin6_family = AF_INET6;
		if (inet_pton(AF_INET6, host, &a->sin6_addr) != 1)
			return -EINVAL;
		a->sin6_port = htons((uint16_t)port);
		*len = sizeof(*a);
	} else {
		struct sockaddr_in *a = (struct sockaddr_in *)ss;
		a->sin_family = AF_INET;
		if (inet_pton(AF_INET, host, &a->sin_addr) != 1)
			return -EINVAL;
		a->sin_port = htons((uint16_t)port);
		*len = sizeof(*a);
	}
	return 0;
}

static int open_listener(const char *spec, int *ret_fd, uint16_t *ret_port)
{
	struct sockaddr_storage ss;
	socklen_t len;
	_cleanup_close_ int fd = -1;
	int one = 1, zero = 0, r;

	r = parse_listen(spec, &ss, &len);
	if (r < 0)
		return r;
	fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return negative_errno();
	(void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (ss.ss_family == AF_INET6 &&
	    IN6_IS_ADDR_UNSPECIFIED(&((struct sockaddr_in6 *)&ss)->sin6_addr))
		(void)setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof(zero));
	if (bind(fd, (struct sockaddr *)&ss, len) < 0 || listen(fd, 128) < 0)
		return negative_errno();
	len = sizeof(ss);
	if (getsockname(fd, (struct sockaddr *)&ss, &len) < 0)
		return negative_errno();
	*ret_port = ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
						   : ((struct sockaddr_in *)&ss)->sin_port);
	*ret_fd = TAKE_FD(fd);
	return 0;
}

/* ---- public --------------------------------------------------------------------------------- */

int webhook_server_new(sd_event *event, struct kube_client *kube,
		       const struct webhook_server_config *cfg, struct webhook_server **ret)
{
	struct webhook_server *s;
	int r;

	if (!event || !cfg || !cfg->listen || !cfg->cert_file || !cfg->key_file)
		return -EINVAL;
	if (MHD_is_feature_supported(MHD_FEATURE_TLS) != MHD_YES)
		return -EOPNOTSUPP;
	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->event = sd_event_ref(event);
	s->kube = kube;
	s->caps = cfg->caps;
	s->listen_fd = -1;
	s->reload_check_usec = cfg->reload_check_usec ?: 5 * USEC_PER_SEC;
	s->cert_file = strdup(cfg->cert_file);
	s->key_file = strdup(cfg->key_file);
	r = -ENOMEM;
	if (!s->cert_file || !s->key_file)
		goto fail;
	r = open_listener(cfg->listen, &s->listen_fd, &s->port);
	if (r < 0) {
		log_error_errno(r, "webhook: cannot listen on %s: %m", cfg->listen);
		goto fail;
	}
	r = load_tls(s, &s->active);
	if (r < 0)
		goto fail;
	/* Coarse (100 ms): a periodic look at the certificate files, which nothing waits on; a
	 * rotated certificate is served a little later, the old one is still valid meanwhile. */
	r = sd_event_add_time_relative(event, &s->reload_timer, CLOCK_MONOTONIC,
				       s->reload_check_usec, 100 * USEC_PER_MSEC, on_reload_check,
				       s);
	if (r < 0)
		goto fail;
	*ret = s;
	return 0;
fail:
	webhook_server_free(s);
	return r;
}

struct webhook_server *webhook_server_free(struct webhook_server *s)
{
	if (!s)
		return NULL;
	/* GETs still in flight keep their request (freed in on_owner, or never if the kube client
	 * is freed first); the daemons may then stop with nothing suspended. */
	for (struct conn *cn = s->lookups; cn; cn = cn->next_lookup) {
		if (cn->suspended) {
			cn->suspended = false;
			cn->slot->pending--;
			MHD_resume_connection(cn->mhd);
		}
		cn->server = NULL;
		cn->mhd = NULL;
	}
	s->lookups = NULL;
	sd_event_source_disable_unref(s->reload_timer);
	while (s->old) {
		struct daemon_slot *d = s->old;
		s->old = d->next;
		slot_free(d);
	}
	slot_free(s->active);
	safe_close(s->listen_fd);
	free(s->cert_file);
	free(s->key_file);
	sd_event_unref(s->event);
	free(s);
	return NULL;
}

uint16_t webhook_server_port(const struct webhook_server *s)
{
	return s->port;
}

const struct webhook_stats *webhook_server_stats(const struct webhook_server *s)
{
	return &s->stats;
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
	if (fclose(f) != 0)
		return -ENOMEM;
	*ret = TAKE_PTR(buf);
	return 0;
}
