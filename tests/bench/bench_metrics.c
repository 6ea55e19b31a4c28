/* Benchmarks the metrics registry and endpoint at the agent's size (250 containers): update, render, scrape. */
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/wait.h>
#include <systemd/sd-event.h>
#include <unistd.h>

#include "agent/metrics/http.h"
#include "agent/metrics/snug_metrics.h"
#include "agent/util/quantity.h"
#include "agent/util/time.h"

#define CONTAINERS 250
#define RUNS 21

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double median(double *v, size_t n)
{
	qsort(v, n, sizeof(double), cmp_double);
	return v[n / 2];
}

static void populate(struct metrics_registry *reg, struct metrics_snug *m)
{
	for (int i = 0; i < CONTAINERS; i++) {
		struct metrics_series *rec[3], *s;
		char pod[32];

		snprintf(pod, sizeof(pod), "workload-%04d-7d9c8b5f4-x2k8q", i);
		if (metrics_snug_recommendation_series(m->recommendation_cpu, "production", pod,
						       "app", rec) < 0 ||
		    metrics_snug_recommendation_series(m->recommendation_memory, "production", pod,
						       "app", rec) < 0)
			abort();
		for (int k = 0; k < 3; k++)
			metrics_gauge_set(rec[k], 123456789.0 + i);
		struct metrics_family *fams[] = { m->requests_cpu, m->limits_cpu,
						  m->requests_memory, m->limits_memory };
		for (size_t f = 0; f < 4; f++) {
			if (metrics_series_get(fams[f], METRICS_VALUES("production", pod, "app"),
					       &s) < 0)
				abort();
			metrics_gauge_set(s, 268435456);
		}
	}
}

static size_t on_body(char *data, size_t size, size_t n, void *userdata)
{
	*(size_t *)userdata += size * n;
	return size * n;
}

int main(void)
{
	struct metrics_registry *reg;
	struct metrics_snug m;
	struct metrics_series *s, *h;
	double v[RUNS], handle_ns, lookup_ns;
	const int N = 1000000;
	volatile int64_t sink = 0;

	if (metrics_registry_new(&reg) < 0 || metrics_snug_register(reg, "bench", &m) < 0)
		return 1;
	populate(reg, &m);
	if (metrics_series_get(m.requests_cpu,
			       METRICS_VALUES("production", "workload-0125-7d9c8b5f4-x2k8q", "app"),
			       &s) < 0)
		return 1;
	h = m.sample_duration_s;

	for (int r = 0; r < RUNS; r++) {
		uint64_t t0 = now_nsec(CLOCK_MONOTONIC);
		for (int i = 0; i < N; i++)
			metrics_gauge_set(s, i);
		v[r] = (double)(now_nsec(CLOCK_MONOTONIC) - t0) / N;
	}
	handle_ns = median(v, RUNS);
	/* The alternative a handle saves: resolving the labels on every update (mid-registry series). */
	for (int r = 0; r < RUNS; r++) {
		uint64_t t0 = now_nsec(CLOCK_MONOTONIC);
		for (int i = 0; i < N / 100; i++) {
			struct metrics_series *x;
			if (metrics_series_get(m.requests_cpu,
					       METRICS_VALUES("production",
							      "workload-0125-7d9c8b5f4-x2k8q",
							      "app"),
					       &x) < 0)
				abort();
			metrics_gauge_set(x, i);
		}
		v[r] = (double)(now_nsec(CLOCK_MONOTONIC) - t0) / (N / 100);
	}
	lookup_ns = median(v, RUNS);
	printf("BENCH name=metrics-gauge-set-by-handle value=%.2f unit=ns baseline=%.2f "
	       "ratio=%.1f\n",
	       handle_ns, lookup_ns, lookup_ns / handle_ns);

	for (int r = 0; r < RUNS; r++) {
		uint64_t t0 = now_nsec(CLOCK_MONOTONIC);
		for (int i = 0; i < N; i++)
			metrics_histogram_observe(h, (i % 1000) * 1e-5);
		v[r] = (double)(now_nsec(CLOCK_MONOTONIC) - t0) / N;
	}
	printf("BENCH name=metrics-histogram-observe value=%.2f unit=ns\n", median(v, RUNS));

	char *text = NULL;
	size_t size = 0;
	for (int r = 0; r < RUNS; r++) {
		/* CPU time: what a scrape costs the agent, not what a busy machine adds to it. */
		uint64_t t0 = now_nsec(CLOCK_THREAD_CPUTIME_ID);
		free(text);
		if (metrics_registry_format(reg, &text, &size) < 0)
			return 1;
		v[r] = (double)(now_nsec(CLOCK_THREAD_CPUTIME_ID) - t0) / 1000.0;
	}
	printf("BENCH name=metrics-render-250-containers-cpu value=%.1f unit=us\n",
	       median(v, RUNS));
	printf("BENCH name=metrics-exposition-250-containers value=%zu unit=bytes\n", size);
	free(text);

	/* A full scrape over loopback: the server runs its sd-event loop in a child, as in the agent, and
	 * this process is the scraper. */
	int pfd[2];
	uint16_t port = 0;
	if (pipe(pfd) < 0)
		return 1;
	pid_t pid = fork();
	if (pid == 0) {
		sd_event *e = NULL;
		struct metrics_http *srv = NULL;
		struct metrics_http_handlers hh = { .registry = reg };

		close(pfd[0]);
		if (sd_event_new(&e) < 0 || metrics_http_new(e, "127.0.0.1:0", &hh, &srv) < 0)
			_exit(1);
		port = metrics_http_port(srv);
		if (write(pfd[1], &port, sizeof(port)) != sizeof(port))
			_exit(1);
		close(pfd[1]);
		sd_event_loop(e);
		_exit(0);
	}
	close(pfd[1]);
	if (pid < 0 || read(pfd[0], &port, sizeof(port)) != sizeof(port))
		return 1;
	close(pfd[0]);
	char url[128];
	size_t got = 0;
	snprintf(url, sizeof(url), "http://127.0.0.1:%u/metrics", port);
	CURL *c = curl_easy_init();
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_NOPROXY, "*");
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &got);
	for (int r = 0; r < RUNS; r++) {
		uint64_t t0 = now_nsec(CLOCK_MONOTONIC);

		if (curl_easy_perform(c) != CURLE_OK)
			return 1;
		v[r] = (double)(now_nsec(CLOCK_MONOTONIC) - t0) / 1e6;
	}
	printf("BENCH name=metrics-scrape-250-containers value=%.2f unit=ms\n", median(v, RUNS));
	curl_easy_cleanup(c);
	kill(pid, SIGTERM);
	waitpid(pid, NULL, 0);

	static const char *const qs[] = { "250m", "1.5", "128Mi", "0.5Gi", "1e3", "100.035Ki" };
	for (int r = 0; r < RUNS; r++) {
		uint64_t t0 = now_nsec(CLOCK_MONOTONIC);
		for (int i = 0; i < N; i++) {
			int64_t x;
			if (quantity_parse_bytes(qs[i % 6], &x) == 0)
				sink += x;
		}
		v[r] = (double)(now_nsec(CLOCK_MONOTONIC) - t0) / N;
	}
	printf("BENCH name=quantity-parse value=%.1f unit=ns\n", median(v, RUNS));
	metrics_registry_free(reg);
	return sink == 42;
}
