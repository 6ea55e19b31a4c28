/* Helpers shared by the kube client's files (JSON field access with errors, reply parsing). */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "agent/kube/kube.h"
#include "agent/util/backoff.h"
#include "agent/util/cleanup.h"
#include "agent/util/json.h"

/* Formats into errbuf (KUBE_ERRBUF bytes, may be NULL) and returns -EINVAL. */
int kube_err(char *errbuf, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* The JSON type a member must have when present. */
enum kube_json_type {
	KUBE_JSON_OBJECT,
	KUBE_JSON_ARRAY,
	KUBE_JSON_STRING,
	KUBE_JSON_BOOL,
	KUBE_JSON_NUMBER,
};
/* Member `key` of parent (path names parent in errors): absent or JSON null → *ret NULL and 0;
 * present with another type → -EINVAL, "<path>.<key>: not <a type>" in errbuf. The one place
 * every field's type is checked; the helpers below are it for each type. */
int kube_json_member(const cJSON *parent, const char *key, const char *path,
		     enum kube_json_type type, const cJSON **ret, char *errbuf);
static inline int kube_json_object(const cJSON *parent, const char *key, const char *path,
				   const cJSON **ret, char *errbuf)
{
	return kube_json_member(parent, key, path, KUBE_JSON_OBJECT, ret, errbuf);
}
static inline int kube_json_array(const cJSON *parent, const char *key, const char *path,
				  const cJSON **ret, char *errbuf)
{
	return kube_json_member(parent, key, path, KUBE_JSON_ARRAY, ret, errbuf);
}
/* The string itself (NULL when absent). */
int kube_json_string(const cJSON *parent, const char *key, const char *path, const char **ret,
		     char *errbuf);
/* Absent → false. */
int kube_json_bool(const cJSON *parent, const char *key, const char *path, bool *ret, char *errbuf);
int kube_json_int(const cJSON *parent, const char *key, const char *path, int64_t min, int64_t max,
		  int64_t def, int64_t *ret, char *errbuf);
/* The items of a list reply whose kind is `kind` (an absent kind is taken as it); what = the
 * list's name in messages ("hpa list"). -EINVAL with the reason in errbuf otherwise. */
int kube_list_items(const cJSON *list, const char *kind, const char *what, const cJSON **ret,
		    char *errbuf);
/* The items of a list reply of that kind, one parse() each, into a new array of `size`-byte
 * elements (one zeroed element more ends it). An item parse() refuses is skipped: done() (if any)
 * frees what it left, it is counted in *ret_n_bad and errbuf says the last one's fault. -ENOMEM
 * from parse() fails the whole list; -EINVAL when the list itself is malformed. */
int kube_list_parse(const cJSON *list, const char *kind, const char *what, size_t size,
		    int (*parse)(const cJSON *item, void *elem, char *errbuf),
		    void (*done)(void *elem), void **ret, size_t *ret_n, size_t *ret_n_bad,
		    char *errbuf);
bool kube_uid_valid(const char *s);
/* "namespace/name" of an object as far as it can be read, else "?", into buf. */
const char *kube_object_ident(const cJSON *obj, char *buf, size_t size);

int kube_discovery_has_resize(const char *body, size_t len);
int kube_version_parse(const char *body, size_t len, int *ret);
enum kube_resize_path kube_resize_path_from(int has_resize, int version);

/* Watch event lines: type and the object (parsed pod for ADDED/MODIFIED/DELETED). */
enum kube_watch_type {
	KUBE_WATCH_ADDED,
	KUBE_WATCH_MODIFIED,
	KUBE_WATCH_DELETED,
	KUBE_WATCH_BOOKMARK,
	KUBE_WATCH_ERROR,
};
struct kube_watch_event {
	enum kube_watch_type type;
	struct kube_pod *pod;	/* ADDED/MODIFIED/DELETED */
	char *resource_version; /* BOOKMARK (and the pod's for the others) */
	long error_code;	/* ERROR: Status.code */
	char *error_message;
};
/* Parses one JSON line of a watch stream; -EINVAL with errbuf on a bad line. */
int kube_watch_event_parse(const char *line, size_t len, struct kube_watch_event *ev, char *errbuf);
void kube_watch_event_done(struct kube_watch_event *ev);

/* A PodList: items parsed one by one; a bad item is reported through skip() and left out. */
int kube_pod_list_parse(const char *body, size_t len, struct kube_pod ***ret_pods, size_t *ret_n,
			char **ret_rv, void (*skip)(const char *why, void *ud), void *ud,
			char *errbuf);

int kube_base64_decode(const char *in, char **ret, size_t *ret_len);

/* ---- the client's insides (client.c, watch.c, calls.c) ---- */

#include <curl/curl.h>
#include <sys/stat.h>

struct kube_request;

/* What came back: the HTTP code (0 = none), the transport error and the body (non-stream). */
struct kube_reply {
	long code;
	CURLcode curl;
	const char *curl_error;
	const char *body;
	size_t len;
};

typedef void (*kube_req_done_t)(struct kube_request *r, const struct kube_reply *reply,
				void *userdata);
/* A watch-stream line; returning < 0 aborts the transfer (the done callback still runs). */
typedef int (*kube_req_line_t)(struct kube_request *r, const char *line, size_t len,
			       void *userdata);

struct kube_request {
	struct kube_client *client;
	struct kube_request *prev, *next; /* client->requests */
	bool queued, running;
	CURL *easy;
	enum kube_call call;
	struct curl_slist *headers;
	char *url, *body;
	char *resp;
	size_t resp_len, resp_cap;
	kube_req_line_t on_line;
	kube_req_done_t on_done;
	void *userdata;
	uint64_t submitted_usec; /* CLOCK_MONOTONIC, for the observer */
	/* Releases userdata when the request goes away without on_done (client freed). */
	void (*free_userdata)(void *userdata);
	char errbuf[CURL_ERROR_SIZE];
};

#define KUBE_MAX_HTTP_COUNTS 128
#define KUBE_MAX_EVENT_KEYS 1024

struct kube_event_key {
	char *key;
	uint64_t last_usec;
};

struct kube_client {
	sd_event *event;
	CURLM *multi;
	sd_event_source *curl_timer, *defer;
	sd_event_source **ios;
	size_t n_ios, cap_ios;
	struct kube_request *requests;
	struct kube_config *cfg;
	char *node_name, *pod_label_selector, *component, *user_agent;
	uint64_t request_timeout_usec, connect_timeout_usec;
	unsigned watch_timeout_sec;
	struct backoff backoff; /* watch and list retries */
	uint64_t event_interval_usec;

	/* bearer token and the file identity it was read from */
	char *token;
	bool token_from_file, token_reload;
	struct stat token_st;

	/* discovery, list and watch */
	const struct kube_watch_ops *ops;
	void *ops_userdata;
	bool watching, synced, need_discovery;
	/* Tears the watch and the pod cache down (set by kube_client_watch_pods, so the client's
	 * life cycle does not call into watch.c). */
	void (*watch_done)(struct kube_client *c);
	enum kube_resize_path path;
	int server_version;
	struct kube_request *watch_req; /* the discovery/list/watch request in flight */
	sd_event_source *retry_timer;
	unsigned failures;
	char *rv;
	bool relist_wanted, watch_error;
	struct kube_pod **pods;
	size_t n_pods, cap_pods;
	/* Pods whose cached object came from our own write's reply: the watch's older events for
	 * them are skipped until it reaches that resourceVersion. Few at a time. */
	struct kube_ahead {
		char *uid, *rv;
	} * ahead;
	size_t n_ahead;

	struct kube_event_key event_keys[KUBE_MAX_EVENT_KEYS];
	size_t n_event_keys;
	unsigned event_seq;

	struct kube_stats stats;
	kube_observer_t observer;
	void *observer_userdata;
	struct kube_http_count http_counts[KUBE_MAX_HTTP_COUNTS];
	size_t n_http_counts;
};

/* Builds a request for server + path; body (may be NULL) is taken over. */
int kube_request_new(struct kube_client *c, enum kube_call call, const char *method,
		     const char *path, const char *content_type, char *body,
		     struct kube_request **ret);
/* A request that sends nothing: on_done runs from the loop with an empty reply (code 0). */
int kube_request_new_local(struct kube_client *c, enum kube_call call, struct kube_request **ret);
/* Queues it: it starts from the event loop, on_done runs once, then the request is freed. */
void kube_request_submit(struct kube_request *r, kube_req_line_t on_line, kube_req_done_t on_done,
			 void *userdata);
/* Stops it without calling on_done and frees it. */
void kube_request_cancel(struct kube_request *r);
void kube_request_free(struct kube_request *r);
/* Reply → result fields common to every call (outcome, code, Status strings in st). */
void kube_result_from_reply(enum kube_call call, const struct kube_reply *reply, const char *name,
			    struct kube_status *st, struct kube_result *res);
void kube_count_http(struct kube_client *c, enum kube_call call, long code);
/* Jittered exponential delay for the n-th consecutive failure. */
uint64_t kube_backoff_usec(struct kube_client *c, unsigned failures);
char *kube_path_escape(const char *s);
/* A pod our own write returned (takes it): replaces the cached one when it is newer. */
void kube_cache_offer(struct kube_client *c, struct kube_pod *pod);
/* Orders two resourceVersions: <0, 0, >0; KUBE_RV_UNORDERED when they cannot be compared (the API
 * calls them opaque; every kube-apiserver hands out etcd's decimal revision). */
#define KUBE_RV_UNORDERED 2
int kube_rv_compare(const char *a, const char *b);
