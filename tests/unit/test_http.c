/* Tests the metrics HTTP endpoint end to end: a real server on 127.0.0.1 in an sd-event loop, fetched with libcurl. */
#include "tests/unit/unit.h"
#include <arpa/inet.h>
#include <curl/curl.h>
#include <dirent.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <systemd/sd-event.h>
#include <unistd.h>

#include "agent/metrics/http.h"
#include "agent/metrics/snug_metrics.h"
#include "tests/unit/prom_text.h"

struct reply {
	long code;
	char *body;
	size_t size;
	char content_type[128];
};

static size_t on_body(char *data, size_t size, size_t n, void *userdata)
{
	struct reply *r = userdata;

	r->body = realloc(r->body, r->size + size * n + 1);
	memcpy(r->body + r->size, data, size * n);
	r->size += size * n;
	r->body[r->size] = '\0';
	return size * n;
}

/* One request, with the server's loop and curl taking turns on this one thread. */
static struct reply fetch(sd_event *e, uint16_t port, const char *method, const char *path)
{
	struct reply r = {};
	CURLM *multi = curl_multi_init();
	CURL *c = curl_easy_init();
	char url[256];
	const char *ct = NULL;
	int running = 1;

	snprintf(url, sizeof(url), "http://127.0.0.1:%u%s", port, path);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &r);
	curl_easy_setopt(c, CURLOPT_NOPROXY, "*");
	curl_easy_setopt(c, CURLOPT_TIMEOUT, 20L);
	if (strcmp(method, "HEAD") == 0)
		curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
	else if (strcmp(method, "POST") == 0)
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, "x=1");
	else if (strcmp(method, "GET") != 0)
		curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
	curl_multi_add_handle(multi, c);
	while (running) {
		ck_assert_int_eq(curl_multi_perform(multi, &running), CURLM_OK);
		if (running)
			ck_assert_int_ge(sd_event_run(e, 2000), 0);
	}
	for (int left;;) {
		CURLMsg *m = curl_multi_info_read(multi, &left);

		if (!m)
			break;
		ck_assert_msg(m->data.result == CURLE_OK, "%s %s: %s", method, path,
			      curl_easy_strerror(m->data.result));
	}
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r.code);
	curl_easy_getinfo(c, CURLINFO_CONTENT_TYPE, &ct);
	snprintf(r.content_type, sizeof(r.content_type), "%s", ct ? ct : "");
	if (!r.body)
		r.body = strdup("");
	curl_multi_remove_handle(multi, c);
	curl_easy_cleanup(c);
	curl_multi_cleanup(multi);
	return r;
}

struct agent_state {
	bool ready;
	int scrapes;
	struct metrics_series *tracked;
	bool fail_recommendations;
};

static bool on_ready(void *userdata)
{
	return ((struct agent_state *)userdata)->ready;
}

static void on_scrape(void *userdata)
{
	struct agent_state *a = userdata;

	a->scrapes++;
	metrics_gauge_set(a->tracked, 3);
}

static int on_recommendations(void *userdata, char **ret_json, size_t *ret_size)
{
	struct agent_state *a = userdata;

	if (a->fail_recommendations)
		return -EIO;
	*ret_json = strdup("[{\"namespace\":\"default\",\"pod\":\"web\",\"container\":\"app\"}]");
	*ret_size = strlen(*ret_json);
	return 0;
}

static int count_threads(void)
{
	DIR *d = opendir("/proc/self/task");
	int n = 0;

	ck_assert_ptr_nonnull(d);
	for (struct dirent *de; (de = readdir(d));)
		if (de->d_name[0] != '.')
			n++;
	closedir(d);
	return n;
}

START_TEST(test_routes)
{
	sd_event *e = NULL;
	struct metrics_registry *reg;
	struct metrics_snug m;
	struct metrics_http *srv = NULL, *second = NULL;
	struct agent_state a = {};
	struct metrics_series *s;
	struct reply r;
	struct prom_text t;
	char *out = NULL;
	size_t bad_line = 0;
	uint16_t port;
	int pr;

	ck_assert_int_eq(sd_event_new(&e), 0);
	ck_assert_int_eq(metrics_registry_new(&reg), 0);
	ck_assert_int_eq(metrics_snug_register(reg, "test", &m), 0);
	a.tracked = m.tracked_containers_s;
	ck_assert_int_eq(metrics_series_get(m.resizes, METRICS_VALUES("applied"), &s), 0);
	metrics_counter_inc(s);
	ck_assert_int_eq(metrics_series_get(m.api_requests, METRICS_VALUES("GET", "200"), &s), 0);
	metrics_counter_add(s, 41);

	struct metrics_http_handlers h = {
		.registry = reg,
		.before_scrape = on_scrape,
		.ready = on_ready,
		.recommendations = on_recommendations,
		.userdata = &a,
	};
	ck_assert_int_eq(metrics_http_new(e, "127.0.0.1:0", &h, &srv), 0);
	port = metrics_http_port(srv);
	ck_assert_uint_ne(port, 0);
	/* Everything runs on the caller's thread: libmicrohttpd started no thread of its own. */
	ck_assert_int_ge(sd_event_run(e, 0), 0);
	ck_assert_int_eq(count_threads(), 1);

	/* The port is really taken while we serve. */
	char addr[64];
	snprintf(addr, sizeof(addr), "127.0.0.1:%u", port);
	ck_assert_int_eq(metrics_http_new(e, addr, &h, &second), -EADDRINUSE);

	r = fetch(e, port, "GET", "/healthz");
	ck_assert_int_eq(r.code, 200);
	ck_assert_str_eq(r.body, "ok\n");
	free(r.body);

	r = fetch(e, port, "GET", "/readyz");
	ck_assert_int_eq(r.code, 503);
	ck_assert_str_eq(r.body, "not ready\n");
	free(r.body);
	a.ready = true;
	r = fetch(e, port, "GET", "/readyz");
	ck_assert_int_eq(r.code, 200);
	ck_assert_str_eq(r.body, "ok\n");
	free(r.body);

	r = fetch(e, port, "GET", "/recommendations");
	ck_assert_int_eq(r.code, 200);
	ck_assert_str_eq(r.content_type, "application/json");
	ck_assert_str_eq(r.body,
			 "[{\"namespace\":\"default\",\"pod\":\"web\",\"container\":\"app\"}]");
	free(r.body);
	a.fail_recommendations = true;
	r = fetch(e, port, "GET", "/recommendations");
	ck_assert_int_eq(r.code, 500);
	free(r.body);

	r = fetch(e, port, "GET", "/nope");
	ck_assert_int_eq(r.code, 404);
	free(r.body);
	r = fetch(e, port, "GET", "/metrics/extra");
	ck_assert_int_eq(r.code, 404);
	free(r.body);
	r = fetch(e, port, "POST", "/metrics");
	ck_assert_int_eq(r.code, 405);
	free(r.body);
	r = fetch(e, port, "DELETE", "/healthz");
	ck_assert_int_eq(r.code, 405);
	free(r.body);

	r = fetch(e, port, "HEAD", "/metrics");
	ck_assert_int_eq(r.code, 200);
	ck_assert_uint_eq(r.size, 0);
	free(r.body);

	r = fetch(e, port, "GET", "/metrics?name[]=x");
	ck_assert_int_eq(r.code, 200);
	ck_assert_str_eq(r.content_type, "text/plain; version=0.0.4; charset=utf-8");
	ck_assert_int_eq(a.scrapes, 2); /* HEAD and this GET */
	pr = prom_text_promtool_check(r.body, &out);
	if (pr == -ENOENT)
		fprintf(stderr, "SKIPPED: promtool not installed (Debian package 'prometheus'); "
				"live scrape NOT checked by promtool\n");
	else
		ck_assert_msg(pr == 0,
			      "promtool check metrics rejected the live scrape:\n%s\n---\n%s", out,
			      r.body);
	free(out);
	ck_assert_msg(prom_text_parse(r.body, &t, &bad_line) == 0, "line %zu of\n%s", bad_line,
		      r.body);
	ck_assert_ptr_nonnull(
		prom_text_find(&t, SNUG_M_API_REQUESTS, "verb", "GET", "code", "200", NULL));
	ck_assert_double_eq(
		prom_text_find(&t, SNUG_M_API_REQUESTS, "verb", "GET", "code", "200", NULL)->value,
		41);
	/* The scrape hook ran before rendering: its value is in this very scrape. */
	ck_assert_double_eq(prom_text_find(&t, SNUG_M_TRACKED_CONTAINERS, NULL)->value, 3);
	ck_assert_double_eq(prom_text_find(&t, SNUG_M_BUILD_INFO, "version", "test", NULL)->value,
			    1);
	prom_text_free(&t);
	free(r.body);

	/* Stopping frees the port: a restarted agent binds it again at once. */
	srv = metrics_http_free(srv);
	ck_assert_int_eq(metrics_http_new(e, addr, &h, &srv), 0);
	ck_assert_uint_eq(metrics_http_port(srv), port);
	r = fetch(e, port, "GET", "/healthz");
	ck_assert_int_eq(r.code, 200);
	free(r.body);

	metrics_http_free(srv);
	metrics_registry_free(reg);
	sd_event_unref(e);
}
END_TEST

/* Many clients at once on the one loop thread: each gets a complete, valid scrape. Each scrapes
 * from its own address (127.0.0.10..25), as scrapers do: one address may hold only
 * METRICS_HTTP_PER_CLIENT connections. */
START_TEST(test_concurrent_scrapes)
{
	sd_event *e = NULL;
	struct metrics_registry *reg;
	struct metrics_snug m;
	struct metrics_http *srv = NULL;
	struct reply replies[16] = {};
	CURL *handles[16];
	CURLM *multi = curl_multi_init();
	int running = 1;
	char url[128], source[32];

	ck_assert_int_eq(sd_event_new(&e), 0);
	ck_assert_int_eq(metrics_registry_new(&reg), 0);
	ck_assert_int_eq(metrics_snug_register(reg, "test", &m), 0);
	/* 250 containers' worth of series makes a scrape of a realistic size (≈ 250 kB). */
	for (int i = 0; i < 250; i++) {
		char pod[32];
		struct metrics_series *rec[3];

		snprintf(pod, sizeof(pod), "pod-%d", i);
		ck_assert_int_eq(metrics_snug_recommendation_series(m.recommendation_cpu, "default",
								    pod, "app", rec),
				 0);
		ck_assert_int_eq(metrics_snug_recommendation_series(m.recommendation_memory,
								    "default", pod, "app", rec),
				 0);
	}
	struct metrics_http_handlers h = { .registry = reg };
	ck_assert_int_eq(metrics_http_new(e, "127.0.0.1:0", &h, &srv), 0);
	snprintf(url, sizeof(url), "http://127.0.0.1:%u/metrics", metrics_http_port(srv));
	for (size_t i = 0; i < 16; i++) {
		handles[i] = curl_easy_init();
		curl_easy_setopt(handles[i], CURLOPT_URL, url);
		curl_easy_setopt(handles[i], CURLOPT_NOPROXY, "*");
		curl_easy_setopt(handles[i], CURLOPT_WRITEFUNCTION, on_body);
		curl_easy_setopt(handles[i], CURLOPT_WRITEDATA, &replies[i]);
		snprintf(source, sizeof(source), "host!127.0.0.%zu", 10 + i);
		curl_easy_setopt(handles[i], CURLOPT_INTERFACE, source);
		curl_multi_add_handle(multi, handles[i]);
	}
	while (running) {
		ck_assert_int_eq(curl_multi_perform(multi, &running), CURLM_OK);
		if (running)
			ck_assert_int_ge(sd_event_run(e, 2000), 0);
	}
	for (size_t i = 0; i < 16; i++) {
		long code = 0;

		curl_easy_getinfo(handles[i], CURLINFO_RESPONSE_CODE, &code);
		ck_assert_int_eq(code, 200);
		ck_assert_ptr_nonnull(replies[i].body);
		ck_assert_msg(strcmp(replies[i].body, replies[0].body) == 0,
			      "reply %zu differs: %zu vs %zu bytes", i, replies[i].size,
			      replies[0].size);
		ck_assert_ptr_nonnull(strstr(replies[i].body, "pod=\"pod-249\""));
		curl_multi_remove_handle(multi, handles[i]);
		curl_easy_cleanup(handles[i]);
	}
	for (size_t i = 0; i < 16; i++)
		free(replies[i].body);
	curl_multi_cleanup(multi);
	metrics_http_free(srv);
	metrics_registry_free(reg);
	sd_event_unref(e);
}
END_TEST

/* A scraper that hangs up halfway through a large response must not take the agent down (SIGPIPE
 * is left at its default here, as in a process that forgot to ignore it) nor wedge the server. */
START_TEST(test_client_hangs_up_mid_response)
{
	sd_event *e = NULL;
	struct metrics_registry *reg;
	struct metrics_snug m;
	struct metrics_http *srv = NULL;
	struct sockaddr_in a = { .sin_family = AF_INET };
	const char req[] = "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n";
	char buf[1024];
	struct reply r;

	signal(SIGPIPE, SIG_DFL);
	ck_assert_int_eq(sd_event_new(&e), 0);
	ck_assert_int_eq(metrics_registry_new(&reg), 0);
	ck_assert_int_eq(metrics_snug_register(reg, "test", &m), 0);
	/* ≈ 6 MB, more than loopback's socket buffers take, so the server is still sending. */
	static char big[2048];
	memset(big, 'x', sizeof(big) - 1);
	for (int i = 0; i < 1000; i++) {
		char pod[32];
		struct metrics_series *rec[3];

		snprintf(pod, sizeof(pod), "pod-%d", i);
		ck_assert_int_eq(metrics_snug_recommendation_series(m.recommendation_cpu, "default",
								    pod, big, rec),
				 0);
	}
	struct metrics_http_handlers h = { .registry = reg };
	ck_assert_int_eq(metrics_http_new(e, "127.0.0.1:0", &h, &srv), 0);

	for (int round = 0; round < 3; round++) {
		int fd = socket(AF_INET, SOCK_STREAM, 0), rcvbuf = 4096;

		ck_assert_int_ge(fd, 0);
		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
		a.sin_port = htons(metrics_http_port(srv));
		a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		ck_assert_int_eq(connect(fd, (struct sockaddr *)&a, sizeof(a)), 0);
		ck_assert_int_eq(write(fd, req, sizeof(req) - 1), (ssize_t)(sizeof(req) - 1));
		/* Let the server start sending, read a little, then hang up with data unread (RST). */
		for (int i = 0; i < 20; i++)
			ck_assert_int_ge(sd_event_run(e, 1000), 0);
		ck_assert_int_gt(read(fd, buf, sizeof(buf)), 0);
		close(fd);
		for (int i = 0; i < 20; i++)
			ck_assert_int_ge(sd_event_run(e, 1000), 0);
	}
	r = fetch(e, metrics_http_port(srv), "GET", "/healthz");
	ck_assert_int_eq(r.code, 200);
	free(r.body);

	metrics_http_free(srv);
	metrics_registry_free(reg);
	sd_event_unref(e);
}
END_TEST

/* A client address that opens many slow connections (a request never finished) holds only its own
 * share: /healthz still answers another address at once. Without the per-client limit the first 64
 * fill the server, which stops accepting, and /healthz waits in the backlog until they time out. */
#define SLOW_CLIENTS 70

/* A connection from 127.0.0.<host> that sends half a request and then nothing. */
static int slow_client(uint16_t port, uint8_t host)
{
	struct sockaddr_in from = { .sin_family = AF_INET }, to = { .sin_family = AF_INET };
	const char partial[] = "GET /metrics HTTP/1.1\r\nHost: x\r\n";
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	ck_assert_int_ge(fd, 0);
	from.sin_addr.s_addr = htonl(0x7f000000 | host);
	to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	to.sin_port = htons(port);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&from, sizeof(from)), 0);
	/* The kernel completes the handshake from the backlog, accepted or not. */
	ck_assert_int_eq(connect(fd, (struct sockaddr *)&to, sizeof(to)), 0);
	ck_assert_int_eq(write(fd, partial, sizeof(partial) - 1), (ssize_t)(sizeof(partial) - 1));
	return fd;
}

/* The server closed it (EOF or reset); false while it is held open. */
static bool closed_by_server(int fd)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	char c;

	if (poll(&p, 1, 0) <= 0)
		return false;
	return recv(fd, &c, 1, MSG_DONTWAIT) <= 0;
}

static unsigned count_closed(const int *fds, size_t n)
{
	unsigned closed = 0;

	for (size_t i = 0; i < n; i++)
		closed += closed_by_server(fds[i]);
	return closed;
}

START_TEST(test_per_client_limit)
{
	sd_event *e = NULL;
	struct metrics_registry *reg;
	struct metrics_snug m;
	struct metrics_http *srv = NULL;
	int fds[SLOW_CLIENTS];
	unsigned closed = 0;
	struct reply r;

	ck_assert_int_eq(sd_event_new(&e), 0);
	ck_assert_int_eq(metrics_registry_new(&reg), 0);
	ck_assert_int_eq(metrics_snug_register(reg, "test", &m), 0);
	struct metrics_http_handlers h = { .registry = reg };
	ck_assert_int_eq(metrics_http_new(e, "127.0.0.1:0", &h, &srv), 0);

	for (size_t i = 0; i < SLOW_CLIENTS; i++) {
		fds[i] = slow_client(metrics_http_port(srv), 2);
		ck_assert_int_ge(sd_event_run(e, 0), 0);
	}
	/* The server refuses what is over the limit as it accepts: milliseconds. The bound is half
	 * the idle timeout, after which the held ones would be closed too. */
	for (int i = 0; i < 100 && closed < SLOW_CLIENTS - METRICS_HTTP_PER_CLIENT; i++) {
		ck_assert_int_ge(sd_event_run(e, 50 * 1000), 0);
		closed = count_closed(fds, SLOW_CLIENTS);
	}
	ck_assert_uint_eq(closed, SLOW_CLIENTS - METRICS_HTTP_PER_CLIENT);

	/* Another address (the kubelet's, in a pod's place) is answered. */
	r = fetch(e, metrics_http_port(srv), "GET", "/healthz");
	ck_assert_int_eq(r.code, 200);
	ck_assert_str_eq(r.body, "ok\n");
	free(r.body);
	/* ... while the slow ones were still held: it did not wait for them to time out. */
	ck_assert_uint_eq(count_closed(fds, SLOW_CLIENTS), SLOW_CLIENTS - METRICS_HTTP_PER_CLIENT);

	for (size_t i = 0; i < SLOW_CLIENTS; i++)
		close(fds[i]);
	metrics_http_free(srv);
	metrics_registry_free(reg);
	sd_event_unref(e);
}
END_TEST

/* Once every connection is taken (eight addresses at their limit), new clients wait; when those
 * connections end, the server takes new ones again. libmicrohttpd stops watching its listening
 * socket at the limit, and only another run of it watches again. */
START_TEST(test_accepts_again_after_the_limit)
{
	sd_event *e = NULL;
	struct metrics_registry *reg;
	struct metrics_snug m;
	struct metrics_http *srv = NULL;
	int fds[METRICS_HTTP_CONNECTIONS];
	struct reply r;

	ck_assert_int_eq(sd_event_new(&e), 0);
	ck_assert_int_eq(metrics_registry_new(&reg), 0);
	ck_assert_int_eq(metrics_snug_register(reg, "test", &m), 0);
	struct metrics_http_handlers h = { .registry = reg };
	ck_assert_int_eq(metrics_http_new(e, "127.0.0.1:0", &h, &srv), 0);

	for (size_t i = 0; i < METRICS_HTTP_CONNECTIONS; i++) {
		fds[i] = slow_client(metrics_http_port(srv), 2 + i / METRICS_HTTP_PER_CLIENT);
		ck_assert_int_ge(sd_event_run(e, 0), 0);
	}
	for (int i = 0; i < 10; i++)
		ck_assert_int_ge(sd_event_run(e, 10 * 1000), 0);
	ck_assert_uint_eq(count_closed(fds, METRICS_HTTP_CONNECTIONS), 0);
	for (size_t i = 0; i < METRICS_HTTP_CONNECTIONS; i++)
		close(fds[i]);

	/* Without the second run this waits until curl gives up (20 s). */
	r = fetch(e, metrics_http_port(srv), "GET", "/healthz");
	ck_assert_int_eq(r.code, 200);
	free(r.body);

	metrics_http_free(srv);
	metrics_registry_free(reg);
	sd_event_unref(e);
}
END_TEST

Suite *http_suite(void)
{
	Suite *s = suite_create("http");
	TCase *tc = tcase_create("endpoint");

	tcase_add_test(tc, test_routes);
	tcase_add_test(tc, test_concurrent_scrapes);
	tcase_add_test(tc, test_client_hangs_up_mid_response);
	tcase_add_test(tc, test_per_client_limit);
	tcase_add_test(tc, test_accepts_again_after_the_limit);
	tcase_set_timeout(tc, 60);
	suite_add_tcase(s, tc);
	return s;
}
