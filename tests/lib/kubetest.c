/* Helpers shared by the kube client's api and envtest tiers (see kubetest.h). */
#include "tests/lib/kubetest.h"

#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "agent/util/time.h"

static void copy(char *dst, size_t size, const char *src)
{
	snprintf(dst, size, "%s", src ? src : "");
}

void kt_done(const struct kube_result *res, void *userdata)
{
	struct kt_result *r = userdata;

	r->done = true;
	r->outcome = res->outcome;
	r->code = res->http_code;
	r->error = res->error;
	copy(r->reason, sizeof(r->reason), res->reason);
	copy(r->message, sizeof(r->message), res->message);
	copy(r->cause, sizeof(r->cause), res->cause);
	r->replicas = res->replicas;
	r->has_pod = !!res->pod;
	if (res->pod) {
		copy(r->pod_rv, sizeof(r->pod_rv), res->pod->resource_version);
		r->pod_res = res->pod->containers[0].spec;
	}
	free(r->object);
	r->object = res->object ? cJSON_PrintUnformatted(res->object) : NULL;
}

void kt_result_done(struct kt_result *r)
{
	free(r->object);
	*r = (struct kt_result){ 0 };
}

bool kt_run_until(sd_event *e, bool (*cond)(void *ud), void *ud, uint64_t timeout_usec)
{
	uint64_t end = now_usec(CLOCK_MONOTONIC) + timeout_usec;

	while (!cond(ud)) {
		uint64_t now = now_usec(CLOCK_MONOTONIC);

		if (now >= end)
			return false;
		if (sd_event_run(e, end - now < 100000 ? end - now : 100000) < 0)
			return cond(ud);
	}
	return true;
}

static bool result_done(void *ud)
{
	return ((struct kt_result *)ud)->done;
}

bool kt_wait(sd_event *e, struct kt_result *r, uint64_t timeout_usec)
{
	return kt_run_until(e, result_done, r, timeout_usec);
}

static bool never(void *ud)
{
	return false;
}

void kt_run_for(sd_event *e, uint64_t usec)
{
	kt_run_until(e, never, NULL, usec);
}

static void on_added(const struct kube_pod *pod, void *ud)
{
	struct kt_watch *w = ud;

	w->added++;
	copy(w->last_added_name, sizeof(w->last_added_name), pod->name);
}

static void on_updated(const struct kube_pod *old, const struct kube_pod *pod, void *ud)
{
	struct kt_watch *w = ud;

	w->updated++;
	copy(w->last_updated_uid, sizeof(w->last_updated_uid), pod->uid);
}

static void on_deleted(const struct kube_pod *pod, void *ud)
{
	struct kt_watch *w = ud;

	w->deleted++;
	copy(w->last_deleted_name, sizeof(w->last_deleted_name), pod->name);
}

static void on_synced(void *ud)
{
	((struct kt_watch *)ud)->synced++;
}

static void on_path(enum kube_resize_path p, void *ud)
{
	struct kt_watch *w = ud;

	w->path = p;
	w->path_changes++;
}

static void on_invalid(const char *why, void *ud)
{
	struct kt_watch *w = ud;

	w->invalid++;
	copy(w->last_invalid, sizeof(w->last_invalid), why);
}

const struct kube_watch_ops kt_watch_ops = {
	.added = on_added,
	.updated = on_updated,
	.deleted = on_deleted,
	.synced = on_synced,
	.resize_path = on_path,
	.invalid = on_invalid,
};

struct buf {
	char *p;
	size_t n;
};

static size_t on_write(char *data, size_t size, size_t nmemb, void *ud)
{
	struct buf *b = ud;
	size_t n = size * nmemb;
	char *p = realloc(b->p, b->n + n + 1);

	if (!p)
		return 0;
	memcpy(p + b->n, data, n);
	b->p = p;
	b->n += n;
	p[b->n] = 0;
	return n;
}

long kt_http(const char *server, const char *ca, const char *token, const char *method,
	     const char *path, const char *content_type, const char *body, char **ret_body)
{
	struct curl_slist *h = NULL;
	struct buf b = { calloc(1, 1), 0 };
	char url[2048], hdr[512];
	long code = 0;
	CURL *c;

	c = curl_easy_init();
	if (!c)
		return 0;
	snprintf(url, sizeof(url), "%s%s", server, path);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
	if (ca)
		curl_easy_setopt(c, CURLOPT_CAINFO, ca);
	if (token) {
		snprintf(hdr, sizeof(hdr), "Authorization: Bearer %s", token);
		h = curl_slist_append(h, hdr);
	}
	if (content_type) {
		snprintf(hdr, sizeof(hdr), "Content-Type: %s", content_type);
		h = curl_slist_append(h, hdr);
	}
	h = curl_slist_append(h, "Accept: application/json");
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
	if (body)
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_write);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, 30L);
	if (curl_easy_perform(c) == CURLE_OK)
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
	curl_easy_cleanup(c);
	curl_slist_free_all(h);
	if (ret_body)
		*ret_body = b.p;
	else
		free(b.p);
	return code;
}

long kt_rss_kib(void)
{
	FILE *f = fopen("/proc/self/status", "re");
	char line[256];
	long v = -1;

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "VmRSS: %ld kB", &v) == 1)
			break;
	fclose(f);
	return v;
}

#include <check.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

void kt_admin_ok(const struct kt_cluster *k, const char *method, const char *path,
		 const char *content_type, const char *body)
{
	char *out = NULL;
	long code =
		kt_http(k->server, k->ca, k->admin_token, method, path, content_type, body, &out);

	ck_assert_msg(code >= 200 && code < 300, "%s %s: %ld %s", method, path, code, out);
	free(out);
}

void kt_make_pod(const struct kt_cluster *k, const char *name, const char *node, bool guaranteed,
		 bool with_resources)
{
	char body[4096], path[256];
	const char *req = guaranteed ? "{\"cpu\":\"200m\",\"memory\":\"256Mi\"}"
				     : "{\"cpu\":\"100m\",\"memory\":\"128Mi\"}";

	snprintf(body, sizeof(body),
		 "{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"name\":\"%s\","
		 "\"namespace\":\"default\",\"labels\":{\"app\":\"%s\"},"
		 "\"annotations\":{\"snug.io/mode\":\"auto\"}},\"spec\":{\"nodeName\":\"%s\","
		 "\"automountServiceAccountToken\":false,\"containers\":[{\"name\":\"app\","
		 "\"image\":\"registry.example/app:1\",\"resources\":{\"requests\":%s,"
		 "\"limits\":{\"cpu\":\"200m\",\"memory\":\"256Mi\"}}}]}}",
		 name, name, node, req);
	kt_admin_ok(k, "POST", "/api/v1/namespaces/default/pods", "application/json", body);
	snprintf(body, sizeof(body),
		 "{\"status\":{\"phase\":\"Running\",\"conditions\":[{\"type\":\"Ready\","
		 "\"status\":\"True\"}],\"containerStatuses\":[{\"name\":\"app\",\"ready\":true,"
		 "\"restartCount\":0,\"image\":\"registry.example/app:1\",\"imageID\":\"\","
		 "\"containerID\":\"containerd://%064d\",\"state\":{\"running\":"
		 "{\"startedAt\":\"2026-11-25T13:32:52Z\"}}%s}]}}",
		 (int)strlen(name),
		 with_resources
			 ? (guaranteed
				    ? ",\"resources\":{\"requests\":{\"cpu\":\"200m\",\"memory\":"
				      "\"256Mi\"},\"limits\":{\"cpu\":\"200m\",\"memory\":"
				      "\"256Mi\"}}"
				    : ",\"resources\":{\"requests\":{\"cpu\":\"100m\",\"memory\":"
				      "\"128Mi\"},\"limits\":{\"cpu\":\"200m\",\"memory\":"
				      "\"256Mi\"}}")
			 : "");
	snprintf(path, sizeof(path), "/api/v1/namespaces/default/pods/%s/status", name);
	kt_admin_ok(k, "PATCH", path, "application/strategic-merge-patch+json", body);
}

static const char *python(void)
{
	/* The fake wants Debian's interpreter (standard library only). */
	return access("/usr/bin/python3", X_OK) == 0 ? "/usr/bin/python3" : "python3";
}

void kt_fake_start(struct kt_fake *f, const char *version, const char *const *extra)
{
	const char *script = getenv("SNUG_FAKE_APISERVER");
	char portfile[96], pki[72], state[96], port[16], token[64];
	const char *argv[64];
	size_t n = 0;
	bool fresh = !f->dir[0];
	pid_t pid;

	ck_assert_msg(script, "SNUG_FAKE_APISERVER is not set");
	if (fresh) {
		snprintf(f->dir, sizeof(f->dir), "/tmp/snug-api-XXXXXX");
		ck_assert_ptr_nonnull(mkdtemp(f->dir));
		kt_fake_write_token(f, KT_FAKE_TOKEN);
	}
	snprintf(portfile, sizeof(portfile), "%s/port", f->dir);
	snprintf(pki, sizeof(pki), "%s/pki", f->dir);
	snprintf(state, sizeof(state), "%s/state.json", f->dir);
	snprintf(f->ca, sizeof(f->ca), "%s/ca.crt", pki);
	snprintf(port, sizeof(port), "%d", f->port);
	snprintf(token, sizeof(token), "%s:%s", KT_FAKE_TOKEN, KT_FAKE_USER);
	unlink(portfile);

	argv[n++] = python();
	argv[n++] = script;
	argv[n++] = "--port";
	argv[n++] = port;
	argv[n++] = "--port-file";
	argv[n++] = portfile;
	if (access(f->ca, R_OK) == 0) {
		static char cert[128], key[128];

		snprintf(cert, sizeof(cert), "%s/server.crt", pki);
		snprintf(key, sizeof(key), "%s/server.key", pki);
		argv[n++] = "--cert";
		argv[n++] = cert;
		argv[n++] = "--key";
		argv[n++] = key;
	} else {
		argv[n++] = "--gen-certs";
		argv[n++] = pki;
	}
	argv[n++] = "--token";
	argv[n++] = token;
	argv[n++] = "--token";
	argv[n++] = KT_FAKE_ADMIN ":admin";
	argv[n++] = "--admin-token";
	argv[n++] = KT_FAKE_ADMIN;
	argv[n++] = "--version";
	argv[n++] = version;
	argv[n++] = "--state-file";
	argv[n++] = state;
	for (size_t i = 0; extra && extra[i] && n < 62; i++)
		argv[n++] = extra[i];
	argv[n] = NULL;

	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		/* The fake must not outlive a test that failed (Check's forked child just exits). */
		prctl(PR_SET_PDEATHSIG, SIGTERM);
		if (!getenv("SNUG_FAKE_VERBOSE")) {
			int fd = open("/dev/null", O_WRONLY);

			dup2(fd, STDOUT_FILENO);
		}
		execvp(argv[0], (char *const *)argv);
		_exit(127);
	}
	f->pid = pid;
	for (int i = 0; i < 300; i++) {
		FILE *pf = fopen(portfile, "re");
		int status;

		if (pf) {
			int p = 0;

			if (fscanf(pf, "%d", &p) == 1 && p > 0) {
				fclose(pf);
				f->port = p;
				snprintf(f->url, sizeof(f->url), "https://127.0.0.1:%d", p);
				f->admin = (struct kt_cluster){ f->url, f->ca, KT_FAKE_ADMIN };
				return;
			}
			fclose(pf);
		}
		ck_assert_msg(waitpid(pid, &status, WNOHANG) == 0, "fake apiserver exited");
		usleep(50000);
	}
	ck_abort_msg("fake apiserver did not start");
}

void kt_fake_stop(struct kt_fake *f)
{
	int status;

	if (f->pid <= 0)
		return;
	kill(f->pid, SIGTERM);
	waitpid(f->pid, &status, 0);
	f->pid = 0;
}

void kt_fake_destroy(struct kt_fake *f)
{
	char cmd[128];

	kt_fake_stop(f);
	if (f->dir[0]) {
		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->dir);
		if (system(cmd) != 0)
			fprintf(stderr, "cannot remove %s\n", f->dir);
	}
	f->dir[0] = 0;
}

long kt_fake_ctl(struct kt_fake *f, const char *method, const char *path, const char *body,
		 char **ret_body)
{
	return kt_http(f->url, f->ca, KT_FAKE_ADMIN, method, path, body ? "application/json" : NULL,
		       body, ret_body);
}

void kt_fake_ctl_ok(struct kt_fake *f, const char *method, const char *path, const char *body)
{
	char *out = NULL;
	long code = kt_fake_ctl(f, method, path, body, &out);

	ck_assert_msg(code >= 200 && code < 300, "%s %s: %ld %s", method, path, code, out);
	free(out);
}

void kt_fake_config(struct kt_fake *f, struct kube_config *cfg)
{
	static char token_file[128];

	snprintf(token_file, sizeof(token_file), "%s/token", f->dir);
	*cfg = (struct kube_config){ .server = f->url, .ca_file = f->ca, .token_file = token_file };
}

void kt_fake_write_token(struct kt_fake *f, const char *token)
{
	char tmp[128], path[128];
	FILE *t;

	snprintf(tmp, sizeof(tmp), "%s/token.new", f->dir);
	snprintf(path, sizeof(path), "%s/token", f->dir);
	t = fopen(tmp, "we");
	ck_assert_ptr_nonnull(t);
	fputs(token, t);
	fclose(t);
	ck_assert_int_eq(rename(tmp, path), 0);
}
