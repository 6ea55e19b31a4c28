/* The transport: libcurl's multi interface driven by sd-event (sockets → io sources, curl's timer →
 * a time source), TLS always verified, bearer token re-read when its file changes. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <time.h>
#include <unistd.h>

#include "agent/kube/kube-internal.h"
#include "agent/kube/kube.h"
#include "agent/util/cleanup.h"
#include "agent/util/log.h"
#include "agent/util/time.h"

#define KUBE_MAX_BODY (64u << 20)

static int token_read(struct kube_client *c, bool force);

static void check_finished(struct kube_client *c)
{
	CURLMsg *msg;
	int left;

	while ((msg = curl_multi_info_read(c->multi, &left))) {
		struct kube_request *r = NULL;
		struct kube_reply reply = { 0 };
		CURL *easy;

		if (msg->msg != CURLMSG_DONE)
			continue;
		easy = msg->easy_handle;
		reply.curl = msg->data.result;
		curl_easy_getinfo(easy, CURLINFO_PRIVATE, (char **)&r);
		curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &reply.code);
		curl_multi_remove_handle(c->multi, easy);
		r->running = false;
		if (reply.curl != CURLE_OK) {
			reply.curl_error =
				r->errbuf[0] ? r->errbuf : curl_easy_strerror(reply.curl);
			/* A reply cut short is no reply, except a watch stream that had begun. */
			if (!(r->on_line && reply.code == 200))
				reply.code = 0;
		}
		reply.body = r->resp;
		reply.len = r->resp_len;
		kube_count_http(c, r->call, reply.code);
		if (c->observer)
			c->observer(r->call, reply.code,
				    now_usec(CLOCK_MONOTONIC) - r->submitted_usec, reply.len,
				    c->observer_userdata);
		if (reply.code == 401) {
			c->token_reload = true;
			/* An expired token is the usual cause: the next request re-reads the file. */
			log_debug("kube: 401 from %s, token will be re-read", r->url);
		}
		if (r->on_done)
			r->on_done(r, &reply, r->userdata);
		r->free_userdata = NULL;
		kube_request_free(r);
	}
}

static int on_io(sd_event_source *s, int fd, uint32_t revents, void *userdata)
{
	struct kube_client *c = userdata;
	int action = 0, running;

	if (revents & (EPOLLIN | EPOLLHUP))
		action |= CURL_CSELECT_IN;
	if (revents & EPOLLOUT)
		action |= CURL_CSELECT_OUT;
	if (revents & EPOLLERR)
		action |= CURL_CSELECT_ERR;
	curl_multi_socket_action(c->multi, fd, action, &running);
	check_finished(c);
	return 0;
}

/* The io sources are also kept here: curl_multi_cleanup() may close cached connections without
 * telling the socket callback, and their sources must still be released. */
static int io_remember(struct kube_client *c, sd_event_source *io)
{
	if (c->n_ios == c->cap_ios) {
		size_t cap = c->cap_ios ? c->cap_ios * 2 : 8;
		sd_event_source **p = realloc(c->ios, cap * sizeof(*p));

		if (!p)
			return -ENOMEM;
		c->ios = p;
		c->cap_ios = cap;
	}
	c->ios[c->n_ios++] = io;
	return 0;
}

static void io_forget(struct kube_client *c, sd_event_source *io)
{
	for (size_t i = 0; i < c->n_ios; i++)
		if (c->ios[i] == io) {
			c->ios[i] = c->ios[--c->n_ios];
			return;
		}
}

static int on_socket(CURL *easy, curl_socket_t s, int what, void *userdata, void *socketp)
{
	struct kube_client *c = userdata;
	sd_event_source *io = socketp;
	uint32_t events = 0;
	int r;

	if (what == CURL_POLL_REMOVE) {
		if (io) {
			io_forget(c, io);
			sd_event_source_disable_unref(io);
			curl_multi_assign(c->multi, s, NULL);
		}
		return 0;
	}
	if (what == CURL_POLL_IN || what == CURL_POLL_INOUT)
		events |= EPOLLIN;
	if (what == CURL_POLL_OUT || what == CURL_POLL_INOUT)
		events |= EPOLLOUT;
	if (io) {
		if (sd_event_source_set_io_events(io, events) < 0 ||
		    sd_event_source_set_enabled(io, SD_EVENT_ON) < 0)
			return -1;
		return 0;
	}
	r = sd_event_add_io(c->event, &io, s, events, on_io, c);
	if (r < 0) {
		log_debug_errno(r, "kube: cannot watch curl socket %d: %m", s);
		return -1;
	}
	(void)sd_event_source_set_description(io, "kube-curl-io");
	if (io_remember(c, io) < 0) {
		sd_event_source_disable_unref(io);
		return -1;
	}
	curl_multi_assign(c->multi, s, io);
	return 0;
}

static int on_curl_timer(sd_event_source *s, uint64_t usec, void *userdata)
{
	struct kube_client *c = userdata;
	int running;

	curl_multi_socket_action(c->multi, CURL_SOCKET_TIMEOUT, 0, &running);
	check_finished(c);
	return 0;
}

static int on_timer_change(CURLM *multi, long timeout_ms, void *userdata)
{
	struct kube_client *c = userdata;
	uint64_t when;
	int r;

	if (timeout_ms < 0)
		return c->curl_timer ? sd_event_source_set_enabled(c->curl_timer, SD_EVENT_OFF) < 0
					       ? -1
					       : 0
				     : 0;
	when = now_usec(CLOCK_MONOTONIC) + (uint64_t)timeout_ms * 1000;
	if (c->curl_timer) {
		if (sd_event_source_set_time(c->curl_timer, when) < 0 ||
		    sd_event_source_set_enabled(c->curl_timer, SD_EVENT_ONESHOT) < 0)
			return -1;
		return 0;
	}
	/* Accuracy 1 us, not sd-event's default (0 = 250 ms): curl asks for 0 ms to start every request,
	 * and a coalesced wakeup held each resize back by up to a quarter second. */
	r = sd_event_add_time(c->event, &c->curl_timer, CLOCK_MONOTONIC, when, 1, on_curl_timer, c);
	if (r < 0)
		return -1;
	(void)sd_event_source_set_description(c->curl_timer, "kube-curl-timer");
	return 0;
}

/* Starts queued requests. Requests are never added from inside curl callbacks (libcurl refuses
 * that), so every start goes through this deferred source. */
static int on_defer(sd_event_source *s, void *userdata)
{
	struct kube_client *c = userdata;
	struct kube_request *r, *next;

	for (r = c->requests; r; r = next) {
		CURLMcode mc;

		next = r->next;
		if (!r->queued)
			continue;
		r->queued = false;
		if (!r->easy) {
			struct kube_reply reply = { .curl = CURLE_OK };

			if (r->on_done)
				r->on_done(r, &reply, r->userdata);
			r->free_userdata = NULL;
			kube_request_free(r);
			continue;
		}
		mc = curl_multi_add_handle(c->multi, r->easy);
		if (mc != CURLM_OK) {
			struct kube_reply reply = { .curl = CURLE_FAILED_INIT,
						    .curl_error = curl_multi_strerror(mc) };

			kube_count_http(c, r->call, 0);
			if (r->on_done)
				r->on_done(r, &reply, r->userdata);
			r->free_userdata = NULL;
			kube_request_free(r);
			continue;
		}
		r->running = true;
	}
	return 0;
}

static size_t on_write(char *data, size_t size, size_t nmemb, void *userdata)
{
	struct kube_request *r = userdata;
	size_t n = size * nmemb;
	long code = 0;

	if (r->resp_len + n + 1 > r->resp_cap) {
		size_t cap = r->resp_cap ? r->resp_cap : 4096;
		char *p;

		while (cap < r->resp_len + n + 1)
			cap *= 2;
		if (cap > KUBE_MAX_BODY)
			return 0; /* aborts with CURLE_WRITE_ERROR */
		p = realloc(r->resp, cap);
		if (!p)
			return 0;
		r->resp = p;
		r->resp_cap = cap;
	}
	memcpy(r->resp + r->resp_len, data, n);
	r->resp_len += n;
	r->resp[r->resp_len] = 0;

	/* A watch answers 200 with a stream of lines; any other code carries one Status body. */
	curl_easy_getinfo(r->easy, CURLINFO_RESPONSE_CODE, &code);
	if (r->on_line && code == 200) {
		char *start = r->resp, *nl;

		while ((nl = memchr(start, '\n', r->resp_len - (size_t)(start - r->resp)))) {
			size_t len = (size_t)(nl - start);

			if (len > 0 && r->on_line(r, start, len, r->userdata) < 0) {
				r->resp_len = 0;
				return 0;
			}
			start = nl + 1;
		}
		r->resp_len -= (size_t)(start - r->resp);
		memmove(r->resp, start, r->resp_len);
		r->resp[r->resp_len] = 0;
	}
	return n;
}

char *kube_path_escape(const char *s)
{
	/* Names are DNS labels, but selectors and versions go into URLs too: escape everything. */
	char *e = curl_easy_escape(NULL, s, 0);
	char *copy;

	if (!e)
		return NULL;
	copy = strdup(e);
	curl_free(e);
	return copy;
}

static bool same_file(const struct stat *a, const struct stat *b)
{
	return a->st_ino == b->st_ino && a->st_dev == b->st_dev && a->st_size == b->st_size &&
	       a->st_mtim.tv_sec == b->st_mtim.tv_sec && a->st_mtim.tv_nsec == b->st_mtim.tv_nsec;
}

/* The kubelet rotates projected tokens by swapping a symlink: stat() sees a new inode. */
static int token_read(struct kube_client *c, bool force)
{
	_cleanup_fclose_ FILE *f = NULL;
	_cleanup_free_ char *buf = NULL;
	struct stat st;
	size_t n;

	if (!c->token_from_file)
		return 0;
	if (stat(c->cfg->token_file, &st) < 0)
		return log_debug_errno(errno, "kube: cannot stat %s: %m", c->cfg->token_file);
	if (!force && c->token && same_file(&st, &c->token_st))
		return 0;
	f = fopen(c->cfg->token_file, "re");
	if (!f)
		return log_debug_errno(errno, "kube: cannot open %s: %m", c->cfg->token_file);
	buf = calloc(1, 16385);
	if (!buf)
		return -ENOMEM;
	n = fread(buf, 1, 16384, f);
	if (ferror(f))
		return -EIO;
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r' || buf[n - 1] == ' '))
		buf[--n] = 0;
	if (n == 0 || strpbrk(buf, "\r\n"))
		return log_debug_errno(EINVAL, "kube: token file %s is empty or malformed",
				       c->cfg->token_file);
	if (fstat(fileno(f), &st) < 0)
		return negative_errno();
	if (c->token && strcmp(c->token, buf) != 0) {
		c->stats.token_reloads++;
		log_debug("kube: service account token changed, using the new one");
	}
	if (c->token)
		explicit_bzero(c->token, strlen(c->token));
	free(c->token);
	c->token = TAKE_PTR(buf);
	c->token_st = st;
	return 0;
}

static int set_tls(struct kube_client *c, CURL *e)
{
	const struct kube_config *cfg = c->cfg;
	CURLcode cc = CURLE_OK;

	/* Never relaxed: there is no code path that turns verification off. */
	cc |= curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 1L);
	cc |= curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 2L);
	if (cfg->ca_data) {
		struct curl_blob blob = { .data = cfg->ca_data,
					  .len = cfg->ca_data_len,
					  .flags = CURL_BLOB_COPY };

		cc |= curl_easy_setopt(e, CURLOPT_CAINFO_BLOB, &blob);
		/* Trust exactly the configured CA, not the system store next to it. */
		cc |= curl_easy_setopt(e, CURLOPT_CAPATH, NULL);
	} else if (cfg->ca_file) {
		cc |= curl_easy_setopt(e, CURLOPT_CAINFO, cfg->ca_file);
		cc |= curl_easy_setopt(e, CURLOPT_CAPATH, NULL);
	}
	if (cfg->cert_data) {
		struct curl_blob blob = { .data = cfg->cert_data,
					  .len = cfg->cert_data_len,
					  .flags = CURL_BLOB_COPY };

		cc |= curl_easy_setopt(e, CURLOPT_SSLCERT_BLOB, &blob);
		cc |= curl_easy_setopt(e, CURLOPT_SSLCERTTYPE, "PEM");
	} else if (cfg->cert_file)
		cc |= curl_easy_setopt(e, CURLOPT_SSLCERT, cfg->cert_file);
	if (cfg->key_data) {
		struct curl_blob blob = { .data = cfg->key_data,
					  .len = cfg->key_data_len,
					  .flags = CURL_BLOB_COPY };

		cc |= curl_easy_setopt(e, CURLOPT_SSLKEY_BLOB, &blob);
		cc |= curl_easy_setopt(e, CURLOPT_SSLKEYTYPE, "PEM");
	} else if (cfg->key_file)
		cc |= curl_easy_setopt(e, CURLOPT_SSLKEY, cfg->key_file);
	return cc == CURLE_OK ? 0 : -EINVAL;
}

static void link_request(struct kube_client *c, struct kube_request *r)
{
	r->next = c->requests;
	if (c->requests)
		c->requests->prev = r;
	c->requests = r;
}

int kube_request_new(struct kube_client *c, enum kube_call call, const char *method,
		     const char *path, const char *content_type, char *body,
		     struct kube_request **ret)
{
	_cleanup_free_ char *body_owned = body;
	struct kube_request *r;
	CURLcode cc = CURLE_OK;
	char *hdr = NULL;

	r = calloc(1, sizeof(*r));
	if (!r)
		return -ENOMEM;
	r->client = c;
	r->call = call;
	r->body = TAKE_PTR(body_owned);
	if (asprintf(&r->url, "%s%s", c->cfg->server, path) < 0) {
		r->url = NULL;
		goto oom;
	}
	r->easy = curl_easy_init();
	if (!r->easy)
		goto oom;

	if (c->token_from_file)
		(void)token_read(c, c->token_reload);
	c->token_reload = false;
	if (c->token) {
		if (asprintf(&hdr, "Authorization: Bearer %s", c->token) < 0)
			goto oom;
		r->headers = curl_slist_append(r->headers, hdr);
		explicit_bzero(hdr, strlen(hdr));
		free(hdr);
		if (!r->headers)
			goto oom;
	}
	r->headers = curl_slist_append(r->headers, "Accept: application/json");
	if (content_type) {
		if (asprintf(&hdr, "Content-Type: %s", content_type) < 0)
			goto oom;
		r->headers = curl_slist_append(r->headers, hdr);
		free(hdr);
	}
	if (!r->headers)
		goto oom;

	cc |= curl_easy_setopt(r->easy, CURLOPT_URL, r->url);
	cc |= curl_easy_setopt(r->easy, CURLOPT_PRIVATE, r);
	cc |= curl_easy_setopt(r->easy, CURLOPT_HTTPHEADER, r->headers);
	cc |= curl_easy_setopt(r->easy, CURLOPT_USERAGENT, c->user_agent);
	cc |= curl_easy_setopt(r->easy, CURLOPT_WRITEFUNCTION, on_write);
	cc |= curl_easy_setopt(r->easy, CURLOPT_WRITEDATA, r);
	cc |= curl_easy_setopt(r->easy, CURLOPT_ERRORBUFFER, r->errbuf);
	cc |= curl_easy_setopt(r->easy, CURLOPT_NOSIGNAL, 1L);
	cc |= curl_easy_setopt(r->easy, CURLOPT_PROTOCOLS_STR, "https");
	cc |= curl_easy_setopt(r->easy, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_1_1);
	cc |= curl_easy_setopt(r->easy, CURLOPT_CONNECTTIMEOUT_MS,
			       (long)(c->connect_timeout_usec / 1000));
	cc |= curl_easy_setopt(r->easy, CURLOPT_TIMEOUT_MS, (long)(c->request_timeout_usec / 1000));
	cc |= curl_easy_setopt(r->easy, CURLOPT_CUSTOMREQUEST, method);
	if (r->body) {
		cc |= curl_easy_setopt(r->easy, CURLOPT_POSTFIELDS, r->body);
		cc |= curl_easy_setopt(r->easy, CURLOPT_POSTFIELDSIZE, (long)strlen(r->body));
	}
	if (cc != CURLE_OK || set_tls(c, r->easy) < 0) {
		kube_request_free(r);
		return -EINVAL;
	}
	/* Linked into the client so kube_client_free() can abort it. */
	link_request(c, r);
	*ret = r;
	return 0;
oom:
	kube_request_free(r);
	return -ENOMEM;
}

int kube_request_new_local(struct kube_client *c, enum kube_call call, struct kube_request **ret)
{
	struct kube_request *r = calloc(1, sizeof(*r));

	if (!r)
		return -ENOMEM;
	r->client = c;
	r->call = call;
	link_request(c, r);
	*ret = r;
	return 0;
}

void kube_request_submit(struct kube_request *r, kube_req_line_t on_line, kube_req_done_t on_done,
			 void *userdata)
{
	r->on_line = on_line;
	r->on_done = on_done;
	r->userdata = userdata;
	r->submitted_usec = now_usec(CLOCK_MONOTONIC);
	r->queued = true;
	(void)sd_event_source_set_enabled(r->client->defer, SD_EVENT_ONESHOT);
}

void kube_request_free(struct kube_request *r)
{
	struct kube_client *c;

	if (!r)
		return;
	c = r->client;
	if (r->running)
		curl_multi_remove_handle(c->multi, r->easy);
	if (r->prev)
		r->prev->next = r->next;
	else if (c->requests == r)
		c->requests = r->next;
	if (r->next)
		r->next->prev = r->prev;
	if (r->easy)
		curl_easy_cleanup(r->easy);
	if (r->free_userdata)
		r->free_userdata(r->userdata);
	curl_slist_free_all(r->headers);
	free(r->url);
	free(r->body);
	free(r->resp);
	free(r);
}

void kube_request_cancel(struct kube_request *r)
{
	kube_request_free(r);
}

void kube_count_http(struct kube_client *c, enum kube_call call, long code)
{
	for (size_t i = 0; i < c->n_http_counts; i++)
		if (c->http_counts[i].call == call && c->http_counts[i].code == code) {
			c->http_counts[i].count++;
			return;
		}
	if (c->n_http_counts < KUBE_MAX_HTTP_COUNTS)
		c->http_counts[c->n_http_counts++] =
			(struct kube_http_count){ .call = call, .code = code, .count = 1 };
}

void kube_result_from_reply(enum kube_call call, const struct kube_reply *reply, const char *name,
			    struct kube_status *st, struct kube_result *res)
{
	*res = (struct kube_result){ .call = call, .http_code = reply->code, .replicas = -1 };
	if (reply->code == 0) {
		*st = (struct kube_status){ 0 };
		res->outcome = KUBE_TRANSIENT;
		res->error = reply->curl == CURLE_OPERATION_TIMEDOUT ? -ETIMEDOUT
			     : reply->curl == CURLE_PEER_FAILED_VERIFICATION ||
					     reply->curl == CURLE_SSL_CONNECT_ERROR
				     ? -EPERM
				     : -ECONNREFUSED;
		if (reply->curl == CURLE_COULDNT_CONNECT)
			res->error = -ECONNREFUSED;
		else if (reply->curl == CURLE_RECV_ERROR || reply->curl == CURLE_SEND_ERROR ||
			 reply->curl == CURLE_PARTIAL_FILE || reply->curl == CURLE_GOT_NOTHING)
			res->error = -ECONNRESET;
		res->message = reply->curl_error;
		return;
	}
	if (kube_status_parse(reply->code, reply->body, reply->len, st) < 0)
		*st = (struct kube_status){ .code = reply->code };
	res->outcome = kube_classify(call, st, name);
	res->reason = st->reason;
	res->message = st->message;
	res->cause = st->cause;
}

uint64_t kube_backoff_usec(struct kube_client *c, unsigned failures)
{
	return backoff_jittered(&c->backoff, failures);
}

static char *strdup_or(const char *s, const char *def)
{
	return strdup(s ? s : def);
}

int kube_client_new(sd_event *event, const struct kube_config *cfg, const struct kube_options *opts,
		    struct kube_client **ret)
{
	static const struct kube_options defaults = { 0 };
	struct kube_client *c;
	int r;

	if (!event || !cfg || !cfg->server)
		return -EINVAL;
	if (!opts)
		opts = &defaults;
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		return -EIO;
	c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	c->event = sd_event_ref(event);
	c->request_timeout_usec = opts->request_timeout_usec ?: 30 * USEC_PER_SEC;
	c->connect_timeout_usec = opts->connect_timeout_usec ?: 10 * USEC_PER_SEC;
	c->watch_timeout_sec = opts->watch_timeout_sec ?: 300;
	c->event_interval_usec = opts->event_interval_usec ?: 60 * USEC_PER_SEC;
	backoff_init(&c->backoff, opts->backoff_min_usec ?: 500 * 1000,
		     opts->backoff_max_usec ?: 30 * USEC_PER_SEC,
		     now_nsec(CLOCK_MONOTONIC) ^ ((uint64_t)getpid() << 32) ^ (uintptr_t)c);
	c->node_name = opts->node_name ? strdup(opts->node_name) : NULL;
	c->pod_label_selector = opts->pod_label_selector ? strdup(opts->pod_label_selector) : NULL;
	c->component = strdup_or(opts->component, "snug");
	r = -ENOMEM;
	if ((opts->node_name && !c->node_name) ||
	    (opts->pod_label_selector && !c->pod_label_selector) || !c->component ||
	    asprintf(&c->user_agent, "%s/0.1 (linux) libcurl", c->component) < 0)
		goto fail;

	c->cfg = calloc(1, sizeof(*c->cfg));
	if (!c->cfg)
		goto fail;
#define COPY(f)                                                                                    \
	if (cfg->f && !(c->cfg->f = strdup(cfg->f)))                                               \
		goto fail;
	COPY(server);
	COPY(token);
	COPY(token_file);
	COPY(ca_file);
	COPY(cert_file);
	COPY(key_file);
	COPY(namespace);
#undef COPY
#define COPY_DATA(f, l)                                                                            \
	if (cfg->f) {                                                                              \
		if (!(c->cfg->f = malloc(cfg->l + 1)))                                             \
			goto fail;                                                                 \
		memcpy(c->cfg->f, cfg->f, cfg->l);                                                 \
		c->cfg->f[cfg->l] = 0;                                                             \
		c->cfg->l = cfg->l;                                                                \
	}
	COPY_DATA(ca_data, ca_data_len);
	COPY_DATA(cert_data, cert_data_len);
	COPY_DATA(key_data, key_data_len);
#undef COPY_DATA
	if (c->cfg->token)
		c->token = strdup(c->cfg->token);
	else if (c->cfg->token_file) {
		c->token_from_file = true;
		r = token_read(c, true);
		if (r < 0)
			goto fail;
	}

	c->multi = curl_multi_init();
	if (!c->multi) {
		r = -ENOMEM;
		goto fail;
	}
	curl_multi_setopt(c->multi, CURLMOPT_SOCKETFUNCTION, on_socket);
	curl_multi_setopt(c->multi, CURLMOPT_SOCKETDATA, c);
	curl_multi_setopt(c->multi, CURLMOPT_TIMERFUNCTION, on_timer_change);
	curl_multi_setopt(c->multi, CURLMOPT_TIMERDATA, c);
	r = sd_event_add_defer(event, &c->defer, on_defer, c);
	if (r < 0)
		goto fail;
	(void)sd_event_source_set_enabled(c->defer, SD_EVENT_OFF);
	(void)sd_event_source_set_description(c->defer, "kube-start");
	*ret = c;
	return 0;
fail:
	kube_client_free(c);
	return r;
}

struct kube_client *kube_client_free(struct kube_client *c)
{
	if (!c)
		return NULL;
	if (c->watch_done)
		c->watch_done(c);
	while (c->requests)
		kube_request_free(c->requests);
	if (c->multi)
		curl_multi_cleanup(c->multi);
	while (c->n_ios > 0)
		sd_event_source_disable_unref(c->ios[--c->n_ios]);
	free(c->ios);
	sd_event_source_disable_unref(c->curl_timer);
	sd_event_source_disable_unref(c->defer);
	for (size_t i = 0; i < c->n_event_keys; i++)
		free(c->event_keys[i].key);
	if (c->token)
		explicit_bzero(c->token, strlen(c->token));
	free(c->token);
	kube_config_free(c->cfg);
	free(c->node_name);
	free(c->pod_label_selector);
	free(c->component);
	free(c->user_agent);
	sd_event_unref(c->event);
	free(c);
	return NULL;
}

const struct kube_stats *kube_client_stats(const struct kube_client *c)
{
	return &c->stats;
}

size_t kube_client_http_counts(const struct kube_client *c, const struct kube_http_count **ret)
{
	*ret = c->http_counts;
	return c->n_http_counts;
}

void kube_client_set_observer(struct kube_client *c, kube_observer_t observer, void *userdata)
{
	c->observer = observer;
	c->observer_userdata = userdata;
}
