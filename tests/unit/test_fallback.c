/* Unit tests for the eviction fallback engine (the node's side), with the API calls and the history
 * write replaced by a fake that the test answers by hand: order of steps (owner, history, request),
 * refusals, retries, rate limit, dedup, forget, dry run. The engine has no eviction call at all. */
#include "tests/unit/unit.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent/fallback.h"
#include "agent/util/time.h"
#include "agent/webhook.h"

struct call {
	char kind[16]; /* get, request, flush */
	char name[64];
	char *annotation; /* request: the snug.io/eviction-requested annotation */
	char *label;	  /* request: "key=value" of its one label */
	kube_done_t done;
	fallback_flush_done_t flush_done;
	void *userdata;
};

struct fake {
	struct call calls[64];
	size_t n, answered;
	char events[64][48];
	size_t n_events;
	int flush_return; /* what the flush hook returns: 1 = started (answered by hand) */
};

static struct call *add(struct fake *f, const char *kind, const char *name, kube_done_t done,
			void *ud)
{
	struct call *c;

	ck_assert_uint_lt(f->n, 64);
	c = &f->calls[f->n++];
	memset(c, 0, sizeof(*c));
	snprintf(c->kind, sizeof(c->kind), "%s", kind);
	snprintf(c->name, sizeof(c->name), "%s", name);
	c->done = done;
	c->userdata = ud;
	return c;
}

static int f_get(void *ctx, const struct kube_object_ref *obj, kube_done_t done, void *ud)
{
	add(ctx, "get", obj->name, done, ud);
	return 0;
}
static int f_patch_pod(void *ctx, const char *ns, const char *name, const char *const *labels,
		       size_t n_labels, const char *const *annotations, size_t n_annotations,
		       kube_done_t done, void *ud)
{
	struct call *c;

	ck_assert_uint_eq(n_labels, 1);
	ck_assert_uint_eq(n_annotations, 1);
	ck_assert_str_eq(annotations[0], FALLBACK_REQUEST_ANNOTATION);
	c = add(ctx, "request", name, done, ud);
	c->annotation = annotations[1] ? strdup(annotations[1]) : NULL;
	ck_assert_int_ge(asprintf(&c->label, "%s=%s", labels[0], labels[1] ? labels[1] : "null"),
			 0);
	ck_assert(!labels[1] == !annotations[1]); /* set or removed together */
	return 0;
}
static int f_event(void *ctx, const struct kube_object_ref *obj, const char *type,
		   const char *reason, const char *message, kube_done_t done, void *ud)
{
	struct fake *f = ctx;
	if (f->n_events < 64)
		snprintf(f->events[f->n_events++], 48, "%s", reason);
	return 0;
}
static const struct fallback_ops fake_ops = { f_get, f_patch_pod, f_event };

static int f_flush(void *ctx, const char *pod_uid, fallback_flush_done_t done, void *ud)
{
	struct fake *f = ctx;
	struct call *c;

	if (f->flush_return != 1)
		return f->flush_return;
	c = add(f, "flush", pod_uid, NULL, ud);
	c->flush_done = done;
	return 1;
}

static bool saw_event(const struct fake *f, const char *reason)
{
	for (size_t i = 0; i < f->n_events; i++)
		if (strcmp(f->events[i], reason) == 0)
			return true;
	return false;
}

/* Runs the loop until the fake has an unanswered call or max_usec passed. */
static struct call *next_call(sd_event *e, struct fake *f, uint64_t max_usec)
{
	uint64_t end = now_usec(CLOCK_MONOTONIC) + max_usec;

	while (f->answered >= f->n && now_usec(CLOCK_MONOTONIC) < end)
		sd_event_run(e, 10 * 1000);
	return f->answered < f->n ? &f->calls[f->answered] : NULL;
}

static void answer(struct fake *f, enum kube_outcome o, int64_t replicas, const char *owner_uid)
{
	struct call *c = &f->calls[f->answered++];
	cJSON *obj = cJSON_Parse("{\"kind\":\"ReplicaSet\",\"metadata\":{}}");
	struct kube_result r = { .outcome = o, .replicas = replicas };

	if (c->flush_done) {
		c->flush_done(o == KUBE_OK ? 0 : -EIO, c->userdata);
		cJSON_Delete(obj);
		return;
	}
	cJSON_AddStringToObject(cJSON_GetObjectItem(obj, "metadata"), "uid", owner_uid);
	if (strcmp(c->kind, "get") == 0 && o == KUBE_OK)
		r.object = obj;
	if (c->done)
		c->done(&r, c->userdata);
	cJSON_Delete(obj);
}

/* The owner GET (3 replicas) and the history write answered: the request is the next call. */
static struct call *to_request(sd_event *e, struct fake *f)
{
	struct call *c = next_call(e, f, 1000000);

	ck_assert_ptr_nonnull(c);
	ck_assert_str_eq(c->kind, "get");
	answer(f, KUBE_OK, 3, "u-rs");
	c = next_call(e, f, 1000000);
	ck_assert_ptr_nonnull(c);
	ck_assert_str_eq(c->kind, "flush");
	answer(f, KUBE_OK, -1, NULL);
	c = next_call(e, f, 1000000);
	ck_assert_ptr_nonnull(c);
	ck_assert_str_eq(c->kind, "request");
	return c;
}

static struct kube_kv allow_kv = { (char *)FALLBACK_ALLOW_SINGLE_ANNOTATION, (char *)"true" };

static void make_pod(struct kube_pod *p, const char *name, const char *owner_kind)
{
	static char uids[16][32];
	static int n;
	char *uid = uids[n++ % 16];

	snprintf(uid, 32, "uid-%s", name);
	memset(p, 0, sizeof(*p));
	p->uid = uid;
	p->namespace = (char *)"shop";
	p->name = (char *)name;
	if (owner_kind) {
		p->has_owner = true;
		p->owner.api_version = (char *)"apps/v1";
		p->owner.kind = (char *)owner_kind;
		p->owner.name = (char *)"web-7d";
		p->owner.uid = (char *)"u-rs";
	}
}

static const struct fallback_container_rec recs[] = {
	{ "app",
	  { .cpu_request = 300,
	    .cpu_limit = 600,
	    .memory_request = 200 << 20,
	    .memory_limit = -1 } },
};

static struct fallback *setup(sd_event **e, struct fake *f, const struct fallback_config *cfg)
{
	struct fallback *fb = NULL;
	struct fallback_config c = cfg ? *cfg : (struct fallback_config){ 0 };

	memset(f, 0, sizeof(*f));
	f->flush_return = 1;
	c.node_name = "node-1";
	c.flush_history = f_flush;
	c.flush_ctx = f;
	if (!c.backoff_min_usec)
		c.backoff_min_usec = 20 * 1000;
	if (!c.backoff_max_usec)
		c.backoff_max_usec = 40 * 1000;
	ck_assert_int_ge(sd_event_new(e), 0);
	ck_assert_int_eq(fallback_new_with_ops(*e, &fake_ops, f, &c, &fb), 0);
	return fb;
}

static void teardown(sd_event *e, struct fake *f, struct fallback *fb)
{
	/* answer whatever is still in flight so nothing leaks */
	while (f->answered < f->n)
		answer(f, KUBE_TRANSIENT, -1, "u-rs");
	fallback_free(fb);
	for (size_t i = 0; i < f->n; i++) {
		free(f->calls[i].annotation);
		free(f->calls[i].label);
	}
	sd_event_unref(e);
}

START_TEST(history_written_then_eviction_requested)
{
	sd_event *e;
	struct fake f;
	struct fallback *fb = setup(&e, &f, NULL);
	struct kube_pod pod;
	struct webhook_rec *rec = NULL;
	struct call *c;

	make_pod(&pod, "web-1", "ReplicaSet");
	ck_assert_int_eq(fallback_submit(fb, &pod, recs, 1, false, "resize Infeasible", NULL), 0);
	ck_assert(fallback_pending(fb, pod.uid));
	c = next_call(e, &f, 1000000);
	ck_assert_ptr_nonnull(c);
	ck_assert_str_eq(c->kind, "get");
	ck_assert_str_eq(c->name, "web-7d");
	answer(&f, KUBE_OK, 3, "u-rs");
	/* this node's history entry of the workload first: the webhook merges it */
	c = next_call(e, &f, 1000000);
	ck_assert_str_eq(c->kind, "flush");
	ck_assert_str_eq(c->name, pod.uid);
	ck_assert_uint_eq(f.n, 2);
	answer(&f, KUBE_OK, -1, NULL);
	/* then the request, on the pod itself: the label and the annotation */
	c = next_call(e, &f, 1000000);
	ck_assert_str_eq(c->kind, "request");
	ck_assert_str_eq(c->name, "web-1");
	ck_assert_str_eq(c->label, "snug.io/eviction-requested=true");
	ck_assert_int_eq(webhook_rec_parse(c->annotation, &rec, NULL), 0);
	ck_assert_str_eq(rec->node, "node-1");
	ck_assert_str_eq(rec->reason, "resize Infeasible");
	ck_assert_int_gt(rec->at, 1700000000);
	ck_assert_int_eq(rec->containers[0].cpu_request, 300);
	ck_assert_int_eq(rec->containers[0].cpu_limit, 600);
	ck_assert_int_eq(rec->containers[0].memory_request, 200 << 20);
	ck_assert_int_eq(rec->containers[0].memory_limit, RESOURCE_UNSET);
	webhook_rec_free(rec);
	answer(&f, KUBE_OK, -1, "u-rs");
	/* asked: followed until the pod goes, never asked again */
	ck_assert(fallback_pending(fb, pod.uid));
	ck_assert(fallback_requested(fb, pod.uid));
	ck_assert_uint_eq(fallback_stats(fb)->requested, 1);
	ck_assert_uint_eq(fallback_stats(fb)->flushed, 1);
	ck_assert(saw_event(&f, "SnugEvictionRequested"));
	ck_assert_ptr_null(next_call(e, &f, 100000));
	ck_assert_int_eq(fallback_submit(fb, &pod, recs, 1, false, NULL, NULL), 1);
	ck_assert_ptr_null(next_call(e, &f, 100000));
	fallback_forget(fb, pod.uid);
	ck_assert(!fallback_pending(fb, pod.uid));
	ck_assert_uint_eq(fallback_stats(fb)->queued, 0);
	teardown(e, &f, fb);
}
END_TEST

START_TEST(bare_and_unknown_owner_refused)
{
	sd_event *e;
	struct fake f;
	struct fallback *fb = setup(&e, &f, NULL);
	struct kube_pod pod;
	const char *why = NULL;

	make_pod(&pod, "bare", NULL);
	ck_assert_int_eq(fallback_submit(fb, &pod, recs, 1, true, NULL, &why), -EPERM);
	ck_assert_ptr_nonnull(why);
	make_pod(&pod, "cron", "SomeOperatorThing");
	ck_assert_int_eq(fallback_submit(fb, &pod, recs, 1, true, NULL, &why), -EPERM);
	make_pod(&pod, "dying", "ReplicaSet");
	pod.deleting = true;
	ck_assert_int_eq(fallback_submit(fb, &pod, recs, 1, true, NULL, &why), -ESTALE);
	make_pod(&pod, "web-1", "ReplicaSet");
	ck_assert_int_eq(fallback_submit(fb, &pod, recs, 0, true, NULL, &why), -EINVAL);
	ck_assert_ptr_null(next_call(e, &f, 50000));
	ck_assert_uint_eq(fallback_stats(fb)->refused_bare, 1);
	ck_assert_uint_eq(fallback_stats(fb)->refused_kind, 1);
	teardown(e, &f, fb);
}
END_TEST

START_TEST(single_replica_refused_unless_allowed)
{
	sd_event *e;
	struct fake f;
	struct fallback *fb = setup(&e, &f, NULL);
	struct kube_pod pod;
	struct call *c;

	make_pod(&pod, "solo", "ReplicaSet");
	ck_assert_int_eq(fallback_submit(fb, &pod, recs, 1, false, NULL, NULL), 0);
	c = next_call(e, &f, 1000000);
	ck_assert_str_eq(c->kind, "get");
	answer(&f, KUBE_OK, 1, "u-rs");
	ck_assert_ptr_null(next_call(e, &f, 50000));
	ck_assert(!fallback_pending(fb, pod.uid));
	ck_assert_uint_eq(fallback_stats(fb)->refused_single, 1);
	ck_assert(saw_event(&f, "SnugEvictionRefused"));

	/* a DaemonSet pod is alone on its node */
	make_pod(&pod, "ds-pod", "DaemonSet");
	ck_assert_int_eq(fallback_submit(fb, &pod, recs, 1, false, NULL, NULL), 0);
	next_call(e, &f, 1000000);
	answer(&f, KUBE_OK, 5, "u-rs");
	ck_assert_ptr_null(next_call(e, &f, 50000));
	ck_assert_uint_eq(fallback_stats(fb)->refused_single, 2);

	/* the pod's own opt-in annotation */
	make_pod(&pod, "ds-pod2", "DaemonSet");
	pod.annotations = &allow_kv;
	pod.n_annotations = 1;
	ck_assert_int_eq(fallback_submit(fb, &pod, recs, 1, false, NULL, NULL), 0);
	c = to_request(e, &f);
	ck_assert_str_eq(c->name, "ds-pod2");
	answer(&f, KUBE_OK, -1, "u-rs");
	ck_assert_uint_eq(fallback_stats(fb)->requested, 1);
	teardown(e, &f, fb);
}
END_TEST

START_TEST(failed_history_write_does_not_hold_the_request)
{
	const struct fallback_config cfg = { .max_evictions = 2 };
	sd_event *e;
	struct fake f;
	struct fallback *fb = setup(&e, &f, &cfg);
	struct kube_pod pod;
	struct call *c;

	make_pod(&pod, "web-1", "ReplicaSet");
	ck_assert_int_eq(fallback_submit(fb, &pod, recs, 1, false, NULL, NULL), 0);
	next_call(e, &f, 1000000);
	answer(&f, KUBE_OK, 3, "u-rs");
	c = next_call(e, &f, 1000000);
	ck_assert_str_eq(c->kind, "flush");
	answer(&f, KUBE_TRANSIENT, -1, NULL);
	c = next_call(e, &f, 1000000);
	ck_assert_ptr_nonnull(c);
	ck_assert_str_eq(c->kind, "request");
	answer(&f, KUBE_OK, -1, "u-rs");
	ck_assert_uint_eq(fallback_stats(fb)->flush_errors, 1);
	ck_assert_uint_eq(fallback_stats(fb)->requested, 1);

	/* nothing to write (no history of the workload here): straight to the request */
	f.flush_return = 0;
	make_pod(&pod, "web-2", "ReplicaSet");
	ck_assert_int_eq(fallback_submit(fb, &pod, recs, 1, false, NULL, NULL), 0);
	next_call(e, &f, 1000000);
	answer(&f, KUBE_OK, 3, "u-rs");
	c = next_call(e, &f, 1000000);
	ck_assert_str_eq(c->kind, "request");
	ck_assert_str_eq(c->name, "web-2");
	answer(&f, KUBE_OK, -1, "u-rs");
	ck_assert_uint_eq(fallback_stats(fb)->requested, 2);
	teardown(e, &f, fb);
}
END_TEST

START_TEST(no_shared_history_no_request)
{
	sd_event *e;
	struct fake f;
	struct fallback *fb = setup(&e, &f, NULL);
	struct kube_pod pod;

	/* --history-interval 0: the replacement would come back with the template's resources */
	f.flush_return = -EOPNOTSUPP;
	make_pod(&pod, "web-1", "ReplicaSet");
	ck_assert_int_eq(fallback_submit(fb, &pod, recs, 1, false, NULL, NULL), 0);
	next_call(e, &f, 1000000);
	answer(&f, KUBE_OK, 3, "u-rs");
	ck_assert_ptr_null(next_call(e, &f, 100000));
	ck_assert(!fallback_pending(fb, pod.uid));
	ck_assert_uint_eq(fallback_stats(fb)->refused_no_history, 1);
	ck_assert_uint_eq(fallback_stats(fb)->requested, 0);
	ck_assert(saw_event(&f, "SnugEvictionRefused"));
	teardown(e, &f, fb);
}
END_TEST

START_TEST(gone_and_give_up)
{
	const struct fallback_config cfg = { .max_attempts = 2 };
	sd_event *e;
	struct fake f;
	struct fallback *fb = setup(&e, &f, &cfg);
	struct kube_pod pod, pod2;
	struct call *c;

	make_pod(&pod, "web-1", "ReplicaSet");
	ck_assert_int_eq(fallback_submit(fb, &pod, recs, 1, false, NULL, NULL), 0);
	to_request(e, &f);
	answer(&f, KUBE_NOT_FOUND, -1, "u-rs");
	ck_assert(!fallback_pending(fb, pod.uid));
	ck_assert_uint_eq(fallback_stats(fb)->gone, 1);

	make_pod(&pod2, "web-2", "ReplicaSet");
	ck_assert_int_eq(fallback_submit(fb, &pod2, recs, 1, false, NULL, NULL), 0);
	to_request(e, &f);
	answer(&f, KUBE_FORBIDDEN, -1, "u-rs");
	/* retried: the request again, not the owner or the history */
	c = next_call(e, &f, 1000000);
	ck_assert_str_eq(c->kind, "request");
	answer(&f, KUBE_TRANSIENT, -1, "u-rs");
	ck_assert(!fallback_pending(fb, pod2.uid));
	ck_assert_uint_eq(fallback_stats(fb)->errors, 2);
	ck_assert_uint_eq(fallback_stats(fb)->failed, 1);
	ck_assert(saw_event(&f, "SnugEvictionFailed"));
	ck_assert_ptr_null(next_call(e, &f, 50000));
	teardown(e, &f, fb);
}
END_TEST

START_TEST(owner_replaced_or_gone)
{
	sd_event *e;
	struct fake f;
	struct fallback *fb = setup(&e, &f, NULL);
	struct kube_pod pod;

	make_pod(&pod, "web-1", "ReplicaSet");
	ck_assert_int_eq(fallback_submit(fb, &pod, recs, 1, false, NULL, NULL), 0);
	next_call(e, &f, 1000000);
	answer(&f, KUBE_OK, 3, "another-uid");
	ck_assert_ptr_null(next_call(e, &f, 50000));
	ck_assert_uint_eq(fallback_stats(fb)->failed, 1);

	make_pod(&pod, "web-2", "ReplicaSet");
	ck_assert_int_eq(fallback_submit(fb, &pod, recs, 1, false, NULL, NULL), 0);
	next_call(e, &f, 1000000);
	answer(&f, KUBE_NOT_FOUND, -1, "u-rs");
	ck_assert_ptr_null(next_call(e, &f, 50000));
	ck_assert_uint_eq(fallback_stats(fb)->failed, 2);
	ck_assert_uint_eq(fallback_stats(fb)->requested, 0);
	teardown(e, &f, fb);
}
END_TEST

START_TEST(rate_limit_queues_the_rest)
{
	const struct fallback_config cfg = { .max_evictions = 1, .interval_usec = 400 * 1000 };
	sd_event *e;
	struct fake f;
	struct fallback *fb = setup(&e, &f, &cfg);
	struct kube_pod a, b;
	struct call *c;

	f.flush_return = 0;
	make_pod(&a, "web-1", "ReplicaSet");
	make_pod(&b, "web-2", "ReplicaSet");
	ck_assert_int_eq(fallback_submit(fb, &a, recs, 1, false, NULL, NULL), 0);
	ck_assert_int_eq(fallback_submit(fb, &b, recs, 1, false, NULL, NULL), 0);
	ck_assert_uint_eq(fallback_stats(fb)->queued, 2);
	c = next_call(e, &f, 1000000);
	ck_assert_str_eq(c->kind, "get");
	answer(&f, KUBE_OK, 3, "u-rs");
	c = next_call(e, &f, 1000000);
	ck_assert_str_eq(c->kind, "get");
	answer(&f, KUBE_OK, 3, "u-rs");
	c = next_call(e, &f, 1000000);
	ck_assert_str_eq(c->kind, "request");
	ck_assert_str_eq(c->name, "web-1");
	answer(&f, KUBE_OK, -1, "u-rs");
	/* the budget is spent: nothing for web-2 well inside the interval */
	ck_assert_ptr_null(next_call(e, &f, 100 * 1000));
	ck_assert(fallback_pending(fb, b.uid));
	ck_assert(!fallback_requested(fb, b.uid));
	ck_assert_uint_eq(fallback_stats(fb)->rate_limited, 1);
	/* and it goes once the window has passed */
	c = next_call(e, &f, 3000000);
	ck_assert_ptr_nonnull(c);
	ck_assert_str_eq(c->kind, "request");
	ck_assert_str_eq(c->name, "web-2");
	answer(&f, KUBE_OK, -1, "u-rs");
	ck_assert_uint_eq(fallback_stats(fb)->requested, 2);
	teardown(e, &f, fb);
}
END_TEST

START_TEST(failed_request_gives_budget_back)
{
	const struct fallback_config cfg = { .max_evictions = 1,
					     .interval_usec = 3600 * USEC_PER_SEC };
	sd_event *e;
	struct fake f;
	struct fallback *fb = setup(&e, &f, &cfg);
	struct kube_pod a, b;
	struct call *c;

	make_pod(&a, "web-1", "ReplicaSet");
	make_pod(&b, "web-2", "ReplicaSet");
	ck_assert_int_eq(fallback_submit(fb, &a, recs, 1, false, NULL, NULL), 0);
	to_request(e, &f);
	answer(&f, KUBE_TRANSIENT, -1, "u-rs");
	/* the failed request disrupted nothing: web-2 may use the budget */
	ck_assert_int_eq(fallback_submit(fb, &b, recs, 1, false, NULL, NULL), 0);
	for (;;) {
		c = next_call(e, &f, 1000000);
		ck_assert_ptr_nonnull(c);
		if (strcmp(c->kind, "request") == 0 && strcmp(c->name, "web-2") == 0)
			break;
		answer(&f, strcmp(c->kind, "request") == 0 ? KUBE_TRANSIENT : KUBE_OK, 3, "u-rs");
	}
	answer(&f, KUBE_OK, -1, "u-rs");
	ck_assert_uint_eq(fallback_stats(fb)->requested, 1);
	teardown(e, &f, fb);
}
END_TEST

START_TEST(not_queued_twice)
{
	sd_event *e;
	struct fake f;
	struct fallback *fb = setup(&e, &f, NULL);
	struct kube_pod pod;
	struct webhook_rec *rec = NULL;
	const struct fallback_container_rec newer[] = {
		{ "app",
		  { .cpu_request = 900,
		    .cpu_limit = -1,
		    .memory_request = -1,
		    .memory_limit = -1 } },
	};
	struct call *c;

	make_pod(&pod, "web-1", "ReplicaSet");
	ck_assert_int_eq(fallback_submit(fb, &pod, recs, 1, false, NULL, NULL), 0);
	ck_assert_int_eq(fallback_submit(fb, &pod, newer, 1, false, "newer", NULL), 1);
	ck_assert_uint_eq(fallback_stats(fb)->queued, 1);
	ck_assert_uint_eq(fallback_stats(fb)->submitted, 1);
	ck_assert_uint_eq(fallback_stats(fb)->updated, 1);
	c = to_request(e, &f);
	ck_assert_int_eq(webhook_rec_parse(c->annotation, &rec, NULL), 0);
	ck_assert_int_eq(rec->containers[0].cpu_request, 900);
	ck_assert_str_eq(rec->reason, "newer");
	webhook_rec_free(rec);
	/* only one get, one history write, one request */
	ck_assert_uint_eq(f.n, 3);
	teardown(e, &f, fb);
}
END_TEST

START_TEST(forget_in_flight)
{
	sd_event *e;
	struct fake f;
	struct fallback *fb = setup(&e, &f, NULL);
	struct kube_pod pod;

	make_pod(&pod, "web-1", "ReplicaSet");
	ck_assert_int_eq(fallback_submit(fb, &pod, recs, 1, false, NULL, NULL), 0);
	next_call(e, &f, 1000000);
	fallback_forget(fb, pod.uid);
	ck_assert(!fallback_pending(fb, pod.uid));
	ck_assert_uint_eq(fallback_stats(fb)->queued, 0);
	answer(&f, KUBE_OK, 3, "u-rs"); /* the late answer changes nothing */
	ck_assert_ptr_null(next_call(e, &f, 50000));

	/* the engine freed while a call is in flight: the late callback only frees */
	ck_assert_int_eq(fallback_submit(fb, &pod, recs, 1, false, NULL, NULL), 0);
	next_call(e, &f, 1000000);
	fb = fallback_free(fb);
	answer(&f, KUBE_OK, 3, "u-rs");
	teardown(e, &f, NULL);
}
END_TEST

START_TEST(dry_run_writes_nothing)
{
	const struct fallback_config cfg = { .dry_run = true };
	sd_event *e;
	struct fake f;
	struct fallback *fb = setup(&e, &f, &cfg);
	struct kube_pod pod;
	struct call *c;

	make_pod(&pod, "web-1", "ReplicaSet");
	ck_assert_int_eq(fallback_submit(fb, &pod, recs, 1, false, NULL, NULL), 0);
	c = next_call(e, &f, 1000000);
	ck_assert_str_eq(c->kind, "get");
	answer(&f, KUBE_OK, 3, "u-rs");
	ck_assert_ptr_null(next_call(e, &f, 100000));
	ck_assert_uint_eq(fallback_stats(fb)->dry_run, 1);
	ck_assert_uint_eq(fallback_stats(fb)->requested, 0);
	ck_assert_uint_eq(f.n_events, 0);
	ck_assert(!fallback_pending(fb, pod.uid));
	teardown(e, &f, fb);
}
END_TEST

/* A submitted pod's first step is due at once: its timer must not get sd-event's default 250 ms
 * slack (accuracy 0), which would hold every eviction after an OOM kill back by up to that. */
START_TEST(first_step_timer_is_precise)
{
	sd_event *e;
	struct fake f;
	struct fallback *fb = setup(&e, &f, NULL);
	struct kube_pod pod;
	uint64_t accuracy = UINT64_MAX;

	make_pod(&pod, "web-1", "ReplicaSet");
	ck_assert_int_eq(fallback_submit(fb, &pod, recs, 1, false, NULL, NULL), 0);
	ck_assert_int_eq(fallback_timer_accuracy(fb, &accuracy), 0);
	ck_assert_uint_ge(accuracy, 1);
	ck_assert_uint_le(accuracy, 1000);
	ck_assert_ptr_nonnull(next_call(e, &f, 1000000));
	teardown(e, &f, fb);
}
END_TEST

START_TEST(request_withdrawn_when_the_pod_leaves_mode_auto)
{
	sd_event *e;
	struct fake f;
	struct fallback *fb = setup(&e, &f, NULL);
	struct kube_pod pod;
	struct kube_kv asked = { (char *)FALLBACK_REQUEST_LABEL, (char *)"true" };
	struct call *c;

	make_pod(&pod, "web-1", "ReplicaSet");
	ck_assert_int_eq(fallback_submit(fb, &pod, recs, 1, false, NULL, NULL), 0);
	c = to_request(e, &f);
	answer(&f, KUBE_OK, -1, "u-rs");
	/* still in mode auto, or not asked: nothing */
	fallback_pod_changed(fb, &pod, false);
	pod.labels = &asked;
	pod.n_labels = 1;
	fallback_pod_changed(fb, &pod, true);
	ck_assert_ptr_null(next_call(e, &f, 50000));
	ck_assert(fallback_requested(fb, pod.uid));
	/* the operator switched it to in-place: label and annotation removed, the entry dropped */
	fallback_pod_changed(fb, &pod, false);
	c = next_call(e, &f, 0);
	ck_assert_ptr_nonnull(c);
	ck_assert_str_eq(c->kind, "request");
	ck_assert_str_eq(c->label, "snug.io/eviction-requested=null");
	ck_assert_ptr_null(c->annotation);
	answer(&f, KUBE_OK, -1, "u-rs");
	ck_assert(!fallback_pending(fb, pod.uid));
	ck_assert_uint_eq(fallback_stats(fb)->withdrawn, 1);
	ck_assert(saw_event(&f, "SnugEvictionWithdrawn"));
	teardown(e, &f, fb);
}
END_TEST

Suite *fallback_suite(void)
{
	Suite *s = suite_create("fallback");
	TCase *tc = tcase_create("engine");

	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, history_written_then_eviction_requested);
	tcase_add_test(tc, bare_and_unknown_owner_refused);
	tcase_add_test(tc, single_replica_refused_unless_allowed);
	tcase_add_test(tc, failed_history_write_does_not_hold_the_request);
	tcase_add_test(tc, no_shared_history_no_request);
	tcase_add_test(tc, gone_and_give_up);
	tcase_add_test(tc, owner_replaced_or_gone);
	tcase_add_test(tc, rate_limit_queues_the_rest);
	tcase_add_test(tc, failed_request_gives_budget_back);
	tcase_add_test(tc, not_queued_twice);
	tcase_add_test(tc, forget_in_flight);
	tcase_add_test(tc, dry_run_writes_nothing);
	tcase_add_test(tc, first_step_timer_is_precise);
	tcase_add_test(tc, request_withdrawn_when_the_pod_leaves_mode_auto);
	suite_add_tcase(s, tc);
	return s;
}
