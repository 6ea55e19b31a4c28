/* Unit tests for the client object without a server: backoff bounds and jitter, calls that complete
 * locally (always later, from the loop), argument checks, event rate limiting, counters. */
#include "tests/unit/unit.h"
#include <errno.h>
#include <stdbool.h>
#include <string.h>

#include "agent/kube/kube-internal.h"
#include "agent/kube/kube.h"
#include "agent/util/time.h"

struct seen {
	bool done;
	enum kube_outcome outcome;
	long code;
	int error;
	char message[256];
};

static void done(const struct kube_result *r, void *ud)
{
	struct seen *s = ud;

	s->done = true;
	s->outcome = r->outcome;
	s->code = r->http_code;
	s->error = r->error;
	snprintf(s->message, sizeof(s->message), "%s", r->message ? r->message : "");
}

static void run_until_done(sd_event *e, struct seen *s)
{
	uint64_t end = now_usec(CLOCK_MONOTONIC) + 10 * USEC_PER_SEC;

	while (!s->done && now_usec(CLOCK_MONOTONIC) < end)
		ck_assert_int_ge(sd_event_run(e, 100000), 0);
	ck_assert(s->done);
}

/* Port 1 on loopback: nothing listens, connections are refused at once. */
static struct kube_client *client(sd_event **e, uint64_t min, uint64_t max)
{
	struct kube_config cfg = { .server = (char *)"https://127.0.0.1:1", .token = (char *)"t" };
	struct kube_options opts = { .node_name = "node-1",
				     .backoff_min_usec = min,
				     .backoff_max_usec = max };
	struct kube_client *c;

	ck_assert_int_eq(sd_event_new(e), 0);
	ck_assert_int_eq(kube_client_new(*e, &cfg, &opts, &c), 0);
	return c;
}

START_TEST(test_backoff_bounds_and_jitter)
{
	sd_event *e;
	struct kube_client *c = client(&e, 100000, 1000000);
	uint64_t first = 0;
	bool varied = false;

	for (unsigned n = 1; n <= 12; n++) {
		uint64_t d = 100000;

		for (unsigned k = 1; k < n && d < 1000000; k++)
			d *= 2;
		if (d > 1000000)
			d = 1000000;
		for (int i = 0; i < 50; i++) {
			uint64_t v = kube_backoff_usec(c, n);

			ck_assert_uint_ge(v, d / 2);
			ck_assert_uint_le(v, d);
			if (n == 5) {
				if (i == 0)
					first = v;
				else if (v != first)
					varied = true;
			}
		}
	}
	ck_assert_msg(varied, "no jitter");
	kube_client_free(c);
	sd_event_unref(e);
}
END_TEST

START_TEST(test_local_completions_are_deferred)
{
	sd_event *e;
	struct kube_client *c = client(&e, 100000, 1000000);
	struct kube_resize_container ctr = {
		"app", { 100, RESOURCE_UNSET, RESOURCE_UNSET, RESOURCE_UNSET }
	};
	struct seen s = { 0 };

	/* before discovery the path is unknown: transient, and not inside the call */
	ck_assert_int_eq(kube_client_resize_path(c), KUBE_PATH_UNKNOWN);
	ck_assert_int_eq(kube_resize(c, "default", "p", NULL, &ctr, 1, done, &s), 0);
	ck_assert(!s.done);
	run_until_done(e, &s);
	ck_assert_int_eq(s.outcome, KUBE_TRANSIENT);
	ck_assert_ptr_nonnull(strstr(s.message, "not discovered"));
	ck_assert_int_eq(kube_resize(c, "default", "p", NULL, &ctr, 0, done, &s), -EINVAL);
	kube_client_free(c);
	sd_event_unref(e);
}
END_TEST

START_TEST(test_argument_checks)
{
	sd_event *e;
	struct kube_client *c = client(&e, 100000, 1000000);
	struct kube_object_ref pod = { .kind = "Pod", .namespace = "default", .name = "p" };
	struct kube_object_ref cron = { .kind = "CronJob", .namespace = "default", .name = "p" };
	struct kube_object_ref slash = { .kind = "Pod", .namespace = "default", .name = "../x" };
	const char *kv[] = { "a", "b" };
	const char *nokey[] = { "", "b" };
	struct kube_config cfg = { .server = (char *)"https://127.0.0.1:1",
				   .token_file = (char *)"/nonexistent/token" };
	struct kube_client *c2 = NULL;

	ck_assert_int_eq(kube_annotate(c, &cron, kv, 1, NULL, NULL), -EOPNOTSUPP);
	ck_assert_int_eq(kube_annotate(c, &slash, kv, 1, NULL, NULL), -EINVAL);
	ck_assert_int_eq(kube_annotate(c, &pod, nokey, 1, NULL, NULL), -EINVAL);
	ck_assert_int_eq(kube_annotate(c, &pod, kv, 0, NULL, NULL), -EINVAL);
	ck_assert_int_eq(kube_get(c, &cron, NULL, NULL), -EOPNOTSUPP);
	ck_assert_int_eq(kube_evict(c, "default", "", NULL, NULL, NULL), -EINVAL);
	ck_assert_int_eq(kube_event(c, &pod, "Info", "R", "m", NULL, NULL), -EINVAL);
	ck_assert_int_eq(kube_event(c, &pod, "Normal", "", "m", NULL, NULL), -EINVAL);
	/* a token file that cannot be read fails at creation, not at the first request */
	ck_assert_int_lt(kube_client_new(e, &cfg, NULL, &c2), 0);
	ck_assert_ptr_null(c2);
	cfg.server = NULL;
	ck_assert_int_eq(kube_client_new(e, &cfg, NULL, &c2), -EINVAL);
	kube_client_free(c);
	sd_event_unref(e);
}
END_TEST

START_TEST(test_event_rate_limit_and_counters)
{
	sd_event *e;
	struct kube_client *c = client(&e, 100000, 1000000);
	struct kube_object_ref pod = { .kind = "Pod", .namespace = "default", .name = "p" };
	const struct kube_http_count *counts;
	struct seen s = { 0 };
	size_t n;

	ck_assert_int_eq(kube_event(c, &pod, "Normal", "Resized", "m", done, &s), 0);
	run_until_done(e, &s);
	/* nothing listens: a transport failure, counted with code 0 */
	ck_assert_int_eq(s.outcome, KUBE_TRANSIENT);
	ck_assert_int_eq(s.code, 0);
	ck_assert_int_eq(s.error, -ECONNREFUSED);
	s = (struct seen){ 0 };
	ck_assert_int_eq(kube_event(c, &pod, "Normal", "Resized", "again", done, &s), 0);
	run_until_done(e, &s);
	ck_assert_int_eq(s.outcome, KUBE_SUPPRESSED);
	ck_assert_uint_eq(kube_client_stats(c)->events_suppressed, 1);
	/* another reason for the same pod is its own budget */
	s = (struct seen){ 0 };
	ck_assert_int_eq(kube_event(c, &pod, "Warning", "Evicted", "m", done, &s), 0);
	run_until_done(e, &s);
	ck_assert_int_eq(s.outcome, KUBE_TRANSIENT);

	n = kube_client_http_counts(c, &counts);
	ck_assert_uint_eq(n, 1);
	ck_assert_int_eq(counts[0].call, KUBE_CALL_EVENT);
	ck_assert_int_eq(counts[0].code, 0);
	ck_assert_uint_eq(counts[0].count, 2);
	kube_client_free(c);
	sd_event_unref(e);
}
END_TEST

/* Freeing the client with requests and a watch in flight runs no callback and leaks nothing. */
START_TEST(test_free_with_requests_in_flight)
{
	sd_event *e;
	struct kube_client *c = client(&e, 100000, 1000000);
	struct kube_object_ref pod = { .kind = "Pod", .namespace = "default", .name = "p" };
	struct seen s = { 0 };

	ck_assert_int_eq(kube_client_watch_pods(c, &(struct kube_watch_ops){ 0 }, NULL), 0);
	ck_assert_int_eq(kube_client_watch_pods(c, &(struct kube_watch_ops){ 0 }, NULL), -EBUSY);
	ck_assert_int_eq(kube_get(c, &pod, done, &s), 0);
	ck_assert_int_eq(kube_evict(c, "default", "p", "uid", done, &s), 0);
	(void)sd_event_run(e, 0);
	kube_client_free(c);
	ck_assert(!s.done);
	sd_event_unref(e);
}
END_TEST

/* curl asks for a 0 ms timeout to start every request; sd-event's default timer accuracy (250 ms)
 * would coalesce that wakeup and hold back each request (an OOM's resize too) by up to 250 ms. */
START_TEST(test_request_start_timer_is_precise)
{
	sd_event *e;
	struct kube_client *c = client(&e, 100000, 1000000);
	struct kube_object_ref pod = { .kind = "Pod", .namespace = "default", .name = "p" };
	struct seen s = { 0 };
	uint64_t accuracy = UINT64_MAX;

	ck_assert_int_eq(kube_get(c, &pod, done, &s), 0);
	/* The deferred start hands the request to curl, which arms its timer. */
	for (int i = 0; i < 10 && !c->curl_timer; i++)
		ck_assert_int_ge(sd_event_run(e, 0), 0);
	ck_assert_ptr_nonnull(c->curl_timer);
	ck_assert_int_eq(sd_event_source_get_time_accuracy(c->curl_timer, &accuracy), 0);
	ck_assert_uint_le(accuracy, 1000);
	run_until_done(e, &s);
	ck_assert_int_eq(s.error, -ECONNREFUSED);
	kube_client_free(c);
	sd_event_unref(e);
}
END_TEST

/* The pod watch's retry after a failure (500 ms first): sd-event's default slack (250 ms for
 * accuracy 0) would add up to half of that again while the cache misses every pod change. */
START_TEST(test_watch_retry_timer_is_precise)
{
	sd_event *e;
	struct kube_client *c = client(&e, 100000, 1000000);
	uint64_t accuracy = UINT64_MAX;

	ck_assert_int_eq(kube_client_watch_pods(c, &(struct kube_watch_ops){ 0 }, NULL), 0);
	/* Discovery is refused (nothing listens): the failure arms the retry timer. */
	for (int i = 0; i < 200 && !c->retry_timer; i++)
		ck_assert_int_ge(sd_event_run(e, 100000), 0);
	ck_assert_ptr_nonnull(c->retry_timer);
	ck_assert_int_eq(sd_event_source_get_time_accuracy(c->retry_timer, &accuracy), 0);
	ck_assert_uint_ge(accuracy, 1);
	ck_assert_uint_le(accuracy, 1000);
	kube_client_free(c);
	sd_event_unref(e);
}
END_TEST

Suite *kube_client_suite(void)
{
	Suite *s = suite_create("kube_client");
	TCase *tc = tcase_create("client");

	tcase_add_test(tc, test_backoff_bounds_and_jitter);
	tcase_add_test(tc, test_local_completions_are_deferred);
	tcase_add_test(tc, test_argument_checks);
	tcase_add_test(tc, test_event_rate_limit_and_counters);
	tcase_add_test(tc, test_free_with_requests_in_flight);
	tcase_add_test(tc, test_request_start_timer_is_precise);
	tcase_add_test(tc, test_watch_retry_timer_is_precise);
	suite_add_tcase(s, tc);
	return s;
}
