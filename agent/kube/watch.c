/* Keeps a cache of this node's pods in step with the server: discovery (which resize path), list,
 * then watch from the list's resourceVersion; 410 → relist with a diff, errors → jittered backoff. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent/kube/kube-internal.h"
#include "agent/kube/kube.h"
#include "agent/util/cleanup.h"
#include "agent/util/log.h"
#include "agent/util/parse.h"
#include "agent/util/time.h"

static void cycle(struct kube_client *c);

int kube_rv_compare(const char *a, const char *b)
{
	uint64_t x, y;

	if (!a || !b)
		return KUBE_RV_UNORDERED;
	if (strcmp(a, b) == 0)
		return 0;
	if (safe_atou64(a, &x) < 0 || safe_atou64(b, &y) < 0)
		return KUBE_RV_UNORDERED;
	return x < y ? -1 : x > y ? 1 : 0;
}

/* Frees the watch's state and the pod cache when the client goes (set as the client's watch_done
 * hook by whatever fills that state, so the client's life cycle never calls into this file). */
static void watch_done(struct kube_client *c);

/* ---- our own writes ahead of the watch -------------------------------------------------------- */

static ssize_t ahead_find(const struct kube_client *c, const char *uid)
{
	for (size_t i = 0; i < c->n_ahead; i++)
		if (strcmp(c->ahead[i].uid, uid) == 0)
			return (ssize_t)i;
	return -1;
}

static void ahead_drop(struct kube_client *c, const char *uid)
{
	ssize_t i = ahead_find(c, uid);

	if (i < 0)
		return;
	free(c->ahead[i].uid);
	free(c->ahead[i].rv);
	c->ahead[i] = c->ahead[--c->n_ahead];
}

static void ahead_clear(struct kube_client *c)
{
	while (c->n_ahead > 0)
		ahead_drop(c, c->ahead[0].uid);
	free(c->ahead);
	c->ahead = NULL;
}

static int ahead_set(struct kube_client *c, const char *uid, const char *rv)
{
	ssize_t i = ahead_find(c, uid);
	char *t = strdup(rv);

	c->watch_done = watch_done;
	if (!t)
		return -ENOMEM;
	if (i >= 0) {
		free(c->ahead[i].rv);
		c->ahead[i].rv = t;
		return 0;
	}
	{
		struct kube_ahead *n = realloc(c->ahead, (c->n_ahead + 1) * sizeof(*n));
		char *u = strdup(uid);

		if (!n || !u) {
			if (n)
				c->ahead = n;
			free(u);
			free(t);
			return -ENOMEM;
		}
		c->ahead = n;
		c->ahead[c->n_ahead++] = (struct kube_ahead){ u, t };
	}
	return 0;
}

/* Whether a watched pod is older than what our own write already put in the cache. */
static bool behind_own_write(struct kube_client *c, const struct kube_pod *pod)
{
	ssize_t i = ahead_find(c, pod->uid);

	if (i < 0)
		return false;
	if (kube_rv_compare(pod->resource_version, c->ahead[i].rv) < 0)
		return true;
	/* Caught up (or cannot tell: the watch is the authority then). */
	ahead_drop(c, pod->uid);
	return false;
}

static ssize_t cache_find(const struct kube_client *c, const char *uid)
{
	/* A node runs at most a few hundred pods: a linear scan over uids costs less than the
	 * JSON parse that precedes every lookup. */
	for (size_t i = 0; i < c->n_pods; i++)
		if (strcmp(c->pods[i]->uid, uid) == 0)
			return (ssize_t)i;
	return -1;
}

static int cache_append(struct kube_client *c, struct kube_pod *p)
{
	c->watch_done = watch_done;
	if (c->n_pods == c->cap_pods) {
		size_t cap = c->cap_pods ? c->cap_pods * 2 : 32;
		struct kube_pod **n = realloc(c->pods, cap * sizeof(*n));

		if (!n)
			return -ENOMEM;
		c->pods = n;
		c->cap_pods = cap;
	}
	c->pods[c->n_pods++] = p;
	return 0;
}

void kube_cache_offer(struct kube_client *c, struct kube_pod *pod)
{
	ssize_t i = pod ? cache_find(c, pod->uid) : -1;
	struct kube_pod *old;
	int cmp;

	if (i < 0) {
		/* Not (or no longer) on this node as far as the watch knows: it decides. */
		kube_pod_free(pod);
		return;
	}
	old = c->pods[i];
	cmp = kube_rv_compare(pod->resource_version, old->resource_version);
	if (cmp == 0 || cmp < 0 || ahead_set(c, pod->uid, pod->resource_version) < 0) {
		kube_pod_free(pod);
		return;
	}
	log_debug("kube: pod %s/%s at resourceVersion %s from our own write (cache had %s)",
		  pod->namespace, pod->name, pod->resource_version, old->resource_version);
	c->pods[i] = pod;
	if (c->ops && c->ops->updated)
		c->ops->updated(old, pod, c->ops_userdata);
	kube_pod_free(old);
}

static void set_rv(struct kube_client *c, char *rv)
{
	free(c->rv);
	c->rv = rv;
}

static int on_retry(sd_event_source *s, uint64_t usec, void *userdata)
{
	cycle(userdata);
	return 0;
}

/* Something failed: wait (exponential, jittered), then rediscover and continue. */
static void fail_later(struct kube_client *c, const char *what)
{
	uint64_t delay;
	int r;

	c->failures++;
	c->need_discovery = true;
	delay = kube_backoff_usec(c, c->failures);
	log_debug("kube: %s; retrying in %" PRIu64 " ms (failure %u)", what, delay / 1000,
		  c->failures);
	if (c->retry_timer) {
		r = sd_event_source_set_time_relative(c->retry_timer, delay);
		if (r >= 0)
			r = sd_event_source_set_enabled(c->retry_timer, SD_EVENT_ONESHOT);
	} else
		/* Accuracy 1 ms, not sd-event's default (0 = 250 ms): the first retry comes
		 * 500 ms after a failure, and until it the cache misses every pod change (the
		 * kubelet's answer to a resize, the update an OOM-pending decision waits for). */
		r = sd_event_add_time_relative(c->event, &c->retry_timer, CLOCK_MONOTONIC, delay,
					       USEC_PER_MSEC, on_retry, c);
	if (r < 0)
		log_debug_errno(r, "kube: cannot arm the retry timer, the pod watch stops: %m");
}

static void describe_failure(const struct kube_reply *reply, char *buf, size_t size,
			     const char *what)
{
	if (reply->code == 0)
		snprintf(buf, size, "%s failed: %s", what,
			 reply->curl_error ? reply->curl_error : "no reply");
	else
		snprintf(buf, size, "%s failed: HTTP %ld", what, reply->code);
}

static void set_path(struct kube_client *c, enum kube_resize_path path)
{
	bool changed = c->path != path;

	c->path = path;
	c->need_discovery = false;
	if (changed) {
		log_debug("kube: in-place resize path: %s", kube_resize_path_to_string(path));
		if (c->ops && c->ops->resize_path)
			c->ops->resize_path(path, c->ops_userdata);
	}
}

static void on_version(struct kube_request *r, const struct kube_reply *reply, void *userdata)
{
	struct kube_client *c = userdata;
	char buf[256];
	int v;

	c->watch_req = NULL;
	if (reply->code != 200 || kube_version_parse(reply->body, reply->len, &v) < 0) {
		describe_failure(reply, buf, sizeof(buf), "GET /version");
		if (reply->code == 200)
			c->stats.parse_errors++;
		return fail_later(c, buf);
	}
	c->server_version = v;
	set_path(c, kube_resize_path_from(0, v));
	cycle(c);
}

static void on_discovery(struct kube_request *r, const struct kube_reply *reply, void *userdata)
{
	struct kube_client *c = userdata;
	struct kube_request *req;
	char buf[256];
	int has, k;

	c->watch_req = NULL;
	if (reply->code != 200 || (has = kube_discovery_has_resize(reply->body, reply->len)) < 0) {
		describe_failure(reply, buf, sizeof(buf), "GET /api/v1");
		if (reply->code == 200)
			c->stats.parse_errors++;
		return fail_later(c, buf);
	}
	if (has > 0) {
		set_path(c, KUBE_PATH_SUBRESOURCE);
		return cycle(c);
	}
	k = kube_request_new(c, KUBE_CALL_VERSION, "GET", "/version", NULL, NULL, &req);
	if (k < 0)
		return fail_later(c, "cannot build GET /version");
	c->watch_req = req;
	kube_request_submit(req, NULL, on_version, c);
}

static void list_skip(const char *why, void *userdata)
{
	struct kube_client *c = userdata;

	c->stats.parse_errors++;
	log_debug("kube: skipping a pod in the list: %s", why);
	if (c->ops && c->ops->invalid)
		c->ops->invalid(why, c->ops_userdata);
}

/* Replaces the cache with a fresh list and tells the owner what changed. */
static void apply_list(struct kube_client *c, struct kube_pod **pods, size_t n)
{
	struct kube_pod **old = c->pods;
	size_t n_old = c->n_pods;

	/* A list is at least as new as every write that completed before it was asked for. */
	ahead_clear(c);
	c->pods = pods;
	c->n_pods = c->cap_pods = n;
	for (size_t i = 0; i < n; i++) {
		struct kube_pod *prev = NULL;

		for (size_t k = 0; k < n_old; k++)
			if (old[k] && strcmp(old[k]->uid, pods[i]->uid) == 0) {
				prev = old[k];
				old[k] = NULL;
				break;
			}
		if (!prev) {
			if (c->ops && c->ops->added)
				c->ops->added(pods[i], c->ops_userdata);
		} else {
			if (strcmp(prev->resource_version, pods[i]->resource_version) != 0 &&
			    c->ops && c->ops->updated)
				c->ops->updated(prev, pods[i], c->ops_userdata);
			kube_pod_free(prev);
		}
	}
	for (size_t k = 0; k < n_old; k++) {
		if (!old[k])
			continue;
		if (c->ops && c->ops->deleted)
			c->ops->deleted(old[k], c->ops_userdata);
		kube_pod_free(old[k]);
	}
	free(old);
}

static void on_list(struct kube_request *r, const struct kube_reply *reply, void *userdata)
{
	struct kube_client *c = userdata;
	struct kube_pod **pods = NULL;
	char err[KUBE_ERRBUF] = "", buf[320];
	char *rv = NULL;
	size_t n = 0;
	int k;

	c->watch_req = NULL;
	if (reply->code != 200) {
		describe_failure(reply, buf, sizeof(buf), "pod list");
		return fail_later(c, buf);
	}
	k = kube_pod_list_parse(reply->body, reply->len, &pods, &n, &rv, list_skip, c, err);
	if (k < 0) {
		c->stats.parse_errors++;
		snprintf(buf, sizeof(buf), "pod list unusable: %s",
			 k == -ENOMEM ? "no memory" : err);
		return fail_later(c, buf);
	}
	c->stats.lists++;
	c->relist_wanted = false;
	set_rv(c, rv);
	apply_list(c, pods, n);
	c->synced = true;
	c->failures = 0;
	log_debug("kube: listed %zu pods at resourceVersion %s", n, c->rv);
	if (c->ops && c->ops->synced)
		c->ops->synced(c->ops_userdata);
	cycle(c);
}

static void apply_event(struct kube_client *c, struct kube_watch_event *ev)
{
	ssize_t i;

	switch (ev->type) {
	case KUBE_WATCH_ADDED:
	case KUBE_WATCH_MODIFIED:
		i = cache_find(c, ev->pod->uid);
		if (i < 0) {
			struct kube_pod *p = ev->pod;

			if (cache_append(c, p) < 0) {
				/* Out of memory: the cache no longer mirrors the server. */
				c->relist_wanted = true;
				return;
			}
			ev->pod = NULL;
			if (c->ops && c->ops->added)
				c->ops->added(p, c->ops_userdata);
		} else {
			struct kube_pod *old = c->pods[i];

			if (behind_own_write(c, ev->pod))
				break;
			c->pods[i] = TAKE_PTR(ev->pod);
			if (c->ops && c->ops->updated)
				c->ops->updated(old, c->pods[i], c->ops_userdata);
			kube_pod_free(old);
		}
		break;
	case KUBE_WATCH_DELETED:
		ahead_drop(c, ev->pod->uid);
		i = cache_find(c, ev->pod->uid);
		if (i >= 0) {
			struct kube_pod *old = c->pods[i];

			c->pods[i] = c->pods[--c->n_pods];
			if (c->ops && c->ops->deleted)
				c->ops->deleted(old, c->ops_userdata);
			kube_pod_free(old);
		}
		break;
	default:
		break;
	}
}

static int on_watch_line(struct kube_request *r, const char *line, size_t len, void *userdata)
{
	struct kube_client *c = userdata;
	struct kube_watch_event ev;
	char err[KUBE_ERRBUF] = "";
	int k;

	k = kube_watch_event_parse(line, len, &ev, err);
	if (k < 0) {
		c->stats.parse_errors++;
		log_debug("kube: skipping a watch event: %s", k == -ENOMEM ? "no memory" : err);
		if (k != -ENOMEM && c->ops && c->ops->invalid)
			c->ops->invalid(err, c->ops_userdata);
		/* A lost DELETED (or no memory) leaves a stale cache entry: list again. */
		if (ev.type == KUBE_WATCH_DELETED || k == -ENOMEM) {
			c->relist_wanted = true;
			kube_watch_event_done(&ev);
			return -1;
		}
		kube_watch_event_done(&ev);
		return 0;
	}
	c->stats.watch_events++;
	if (ev.type == KUBE_WATCH_ERROR) {
		if (ev.error_code == 410) {
			/* Our resourceVersion is older than the server keeps: start over. */
			log_debug("kube: watch expired (%s), relisting",
				  ev.error_message ? ev.error_message : "410");
			c->stats.relists_410++;
			c->relist_wanted = true;
		} else {
			log_debug("kube: watch error %ld: %s", ev.error_code,
				  ev.error_message ? ev.error_message : "?");
			c->watch_error = true;
		}
		kube_watch_event_done(&ev);
		return -1;
	}
	if (ev.type == KUBE_WATCH_BOOKMARK)
		c->stats.bookmarks++;
	else
		apply_event(c, &ev);
	set_rv(c, TAKE_PTR(ev.resource_version));
	kube_watch_event_done(&ev);
	return c->relist_wanted ? -1 : 0;
}

static void on_watch_done(struct kube_request *r, const struct kube_reply *reply, void *userdata)
{
	struct kube_client *c = userdata;
	char buf[320];

	c->watch_req = NULL;
	if (c->relist_wanted) {
		c->stats.watch_restarts++;
		set_rv(c, NULL);
		return cycle(c);
	}
	if (reply->code == 410) {
		c->stats.watch_restarts++;
		c->stats.relists_410++;
		set_rv(c, NULL);
		return cycle(c);
	}
	if (reply->code == 200 && reply->curl == CURLE_OK && !c->watch_error) {
		/* The server's timeoutSeconds ran out: carry on from the last resourceVersion. */
		c->failures = 0;
		return cycle(c);
	}
	c->stats.watch_restarts++;
	if (reply->code == 200) {
		/* The stream worked and then broke: the first retry waits the minimum. */
		c->failures = 0;
		snprintf(buf, sizeof(buf), "watch %s",
			 c->watch_error ? "ended with an error event"
					: (reply->curl_error ? reply->curl_error : "dropped"));
	} else
		describe_failure(reply, buf, sizeof(buf), "watch");
	c->watch_error = false;
	fail_later(c, buf);
}

static int start_request(struct kube_client *c, enum kube_call call, const char *path,
			 kube_req_line_t on_line, kube_req_done_t on_done, uint64_t timeout_usec)
{
	struct kube_request *r;
	int k;

	k = kube_request_new(c, call, "GET", path, NULL, NULL, &r);
	if (k < 0)
		return k;
	if (timeout_usec)
		curl_easy_setopt(r->easy, CURLOPT_TIMEOUT_MS, (long)(timeout_usec / 1000));
	c->watch_req = r;
	kube_request_submit(r, on_line, on_done, c);
	return 0;
}

/* The query selecting the watched pods: this node's (fieldSelector), those with a label
 * (labelSelector), or both; escaped. NULL when out of memory. */
static char *pod_selectors(const struct kube_client *c)
{
	_cleanup_free_ char *field = NULL, *fsel = NULL, *lsel = NULL;
	char *ret;

	if (c->node_name && *c->node_name) {
		if (asprintf(&field, "spec.nodeName=%s", c->node_name) < 0 ||
		    !(fsel = kube_path_escape(field)))
			return NULL;
	}
	if (c->pod_label_selector && !(lsel = kube_path_escape(c->pod_label_selector)))
		return NULL;
	if (asprintf(&ret, "%s%s%s%s%s", fsel ? "fieldSelector=" : "", fsel ?: "",
		     fsel && lsel ? "&" : "", lsel ? "labelSelector=" : "", lsel ?: "") < 0)
		return NULL;
	return ret;
}

static void cycle(struct kube_client *c)
{
	_cleanup_free_ char *sel = NULL, *path = NULL, *rv = NULL;
	int k;

	if (!c->watching || c->watch_req)
		return;
	if (c->need_discovery) {
		k = start_request(c, KUBE_CALL_DISCOVERY, "/api/v1", NULL, on_discovery, 0);
		if (k < 0)
			fail_later(c, "cannot build GET /api/v1");
		return;
	}
	sel = pod_selectors(c);
	if (!sel)
		return fail_later(c, "out of memory");
	if (!c->rv || c->relist_wanted) {
		if (asprintf(&path, "/api/v1/pods?%s", sel) < 0)
			return fail_later(c, "out of memory");
		k = start_request(c, KUBE_CALL_LIST, path, NULL, on_list, 0);
	} else {
		/* client-go's spread: timeouts in [t, 2t) so a fleet of agents does not reconnect
		 * in lockstep. */
		unsigned t = c->watch_timeout_sec;

		t += (unsigned)(kube_backoff_usec(c, 0) % (t ? t : 1));
		rv = kube_path_escape(c->rv);
		if (!rv || asprintf(&path,
				    "/api/v1/pods?%s&watch=1&resourceVersion=%s"
				    "&allowWatchBookmarks=true&timeoutSeconds=%u",
				    sel, rv, t) < 0)
			return fail_later(c, "out of memory");
		c->watch_error = false;
		c->stats.watches++;
		k = start_request(c, KUBE_CALL_WATCH, path, on_watch_line, on_watch_done,
				  (uint64_t)(t + 30) * USEC_PER_SEC);
	}
	if (k < 0)
		fail_later(c, "cannot build the pod request");
}

int kube_client_watch_pods(struct kube_client *c, const struct kube_watch_ops *ops, void *userdata)
{
	if ((!c->node_name || !*c->node_name) &&
	    (!c->pod_label_selector || !*c->pod_label_selector))
		return -EINVAL;
	if (c->watching)
		return -EBUSY;
	c->ops = ops;
	c->ops_userdata = userdata;
	c->watching = true;
	c->watch_done = watch_done;
	c->need_discovery = true;
	cycle(c);
	return 0;
}

static void watch_done(struct kube_client *c)
{
	c->watching = false;
	if (c->watch_req) {
		kube_request_cancel(c->watch_req);
		c->watch_req = NULL;
	}
	c->retry_timer = sd_event_source_disable_unref(c->retry_timer);
	for (size_t i = 0; i < c->n_pods; i++)
		kube_pod_free(c->pods[i]);
	free(c->pods);
	c->pods = NULL;
	c->n_pods = c->cap_pods = 0;
	ahead_clear(c);
	free(c->rv);
	c->rv = NULL;
}

enum kube_resize_path kube_client_resize_path(const struct kube_client *c)
{
	return c->path;
}

bool kube_client_synced(const struct kube_client *c)
{
	return c->synced;
}

const struct kube_pod *kube_client_pod(const struct kube_client *c, const char *uid)
{
	ssize_t i = cache_find(c, uid);

	return i < 0 ? NULL : c->pods[i];
}

size_t kube_client_n_pods(const struct kube_client *c)
{
	return c->n_pods;
}

const struct kube_pod *kube_client_pod_at(const struct kube_client *c, size_t i)
{
	return i < c->n_pods ? c->pods[i] : NULL;
}
