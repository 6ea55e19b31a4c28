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
	struct resources pod_res; /* first container's spec of the returned pod */
	char *object;		  /* get: the returned object as JSON text */
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
	unsigned added, updated, deleted, synced, path_changes, invalid;
	char last_invalid[512];
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

/* Admin side of a test cluster (real or fake): where it is and how to be admin there. */
struct kt_cluster {
	const char *server, *ca, *admin_token;
};
/* Creates a pod in "default" on node (Burstable: 100m/128Mi requests, 200m/256Mi limits;
 * guaranteed: requests = limits) and marks it Running like a kubelet; with_resources=false is a
 * kubelet that predates resize (no containerStatuses[].resources). */
void kt_make_pod(const struct kt_cluster *k, const char *name, const char *node, bool guaranteed,
		 bool with_resources);
/* An admin call that must succeed (2xx). */
void kt_admin_ok(const struct kt_cluster *k, const char *method, const char *path,
		 const char *content_type, const char *body);

/* The fake API server (tests/fake-apiserver) as a child process of the test. */
struct kt_fake {
	char dir[64]; /* temp dir: pki/, port file, state file */
	char url[64]; /* https://127.0.0.1:PORT */
	char ca[128]; /* dir/pki/ca.crt */
	int port;
	int pid;
	struct kt_cluster admin;
};
#define KT_FAKE_TOKEN "agent-token"
#define KT_FAKE_USER "node-agent"
#define KT_FAKE_ADMIN "fake-admin"
/* Starts the fake (version "1.36" …; extra: NULL-terminated extra arguments, may be NULL).
 * Certificates are made once per kt_fake and kept across restarts; port 0 = random. */
void kt_fake_start(struct kt_fake *f, const char *version, const char *const *extra);
/* SIGTERM (the fake saves its --state-file) and wait. */
void kt_fake_stop(struct kt_fake *f);
/* Stops and removes the temp dir. */
void kt_fake_destroy(struct kt_fake *f);
/* The control API (/_fake/...) with the admin token; returns the HTTP code. */
long kt_fake_ctl(struct kt_fake *f, const char *method, const char *path, const char *body,
		 char **ret_body);
void kt_fake_ctl_ok(struct kt_fake *f, const char *method, const char *path, const char *body);
/* A config for the client as the agent user, token read from dir/token (rotatable). */
void kt_fake_config(struct kt_fake *f, struct kube_config *cfg);
/* Writes the agent token file atomically (rename), as the kubelet rotates it. */
void kt_fake_write_token(struct kt_fake *f, const char *token);
