/* Shared helpers for the kube client's api and envtest tiers: run the loop until something
 * happened, capture call results and watch callbacks, and make admin calls with plain curl. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "agent/kube/kube.h"

/* What a call's completion reported (copied out of the callback). */
struct kt_result {
	bool done;
	enum kube_outcome outcome;
	long code;
	int error;
	char reason[64];
	char message[2048];
	char cause[512];
	int64_t replicas;
	bool has_pod;
	char pod_rv[64];
	struct kube_resources pod_res; /* first container's spec of the returned pod */
	char *object;		       /* get: the returned object as JSON text */
};
void kt_result_done(struct kt_result *r);
void kt_done(const struct kube_result *res, void *userdata);

/* Runs the loop until cond(ud) or timeout; returns cond's last value. */
bool kt_run_until(sd_event *e, bool (*cond)(void *ud), void *ud, uint64_t timeout_usec);
/* Runs the loop until the call completed (false on timeout). */
bool kt_wait(sd_event *e, struct kt_result *r, uint64_t timeout_usec);
/* Runs the loop for a while regardless. */
void kt_run_for(sd_event *e, uint64_t usec);

/* Watch callback recorder. */
struct kt_watch {
	unsigned added, updated, deleted, synced, path_changes;
	enum kube_resize_path path;
	char last_updated_uid[80], last_deleted_name[128], last_added_name[128];
};
extern const struct kube_watch_ops kt_watch_ops;

/* Synchronous HTTP for test setup (an admin, or the fake's control API). Returns the HTTP code,
 * 0 on transport errors; *ret_body (may be NULL) gets the reply. ca may be NULL (http://). */
long kt_http(const char *server, const char *ca, const char *token, const char *method,
	     const char *path, const char *content_type, const char *body, char **ret_body);

/* VmRSS of this process in KiB. */
long kt_rss_kib(void);
