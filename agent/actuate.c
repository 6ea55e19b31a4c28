/* Carrying out a decision: the API resize first, then the cgroup limits, then the record of it. */
#include "agent/actuate.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "agent/act_cgroups.h"
#include "agent/agent_metrics.h"
#include "agent/events.h"
#include "agent/bypass_budget.h"
#include "agent/fallback.h"
#include "agent/kube/kube.h"
#include "agent/last_resize.h"
#include "agent/util/backoff.h"
#include "agent/util/cleanup.h"
#include "agent/util/json.h"
#include "agent/util/log.h"
#include "agent/util/quantity.h"
#include "agent/util/time.h"

/* ---- cgroup writes --------------------------------------------------------------------------- */

/* Leaves out of d what the kubelet and the runtime would not write on this node. */
static void drop_unwritten_steps(struct agent *a, struct agent_container *c,
				 struct decide_decision *d)
{
	struct act_node_writes w = {
		.tree = a->tree,
		.weight_formula_known = &a->weight_formula_known,
		.container_weight_formula = &a->container_weight_formula,
	};
	char who[512];

	snprintf(who, sizeof(who), "%s/%s %s", c->pod->namespace, c->pod->name, c->name);
	act_drop_unwritten(&w, c->cg->pod->path, c->cg->path, who, d);
}

/* ---- the record of what was done --------------------------------------------------------------- */

static void record(struct agent_container *c, enum agent_result result, const char *reason)
{
	c->resize.last.at_usec = now_usec(CLOCK_REALTIME);
	c->resize.last.result = result;
	/* A reason cut short is better than none. */
	size_t n = strnlen(reason, sizeof(c->resize.last.reason) - 1);

	memcpy(c->resize.last.reason, reason, n);
	c->resize.last.reason[n] = '\0';
}

/* Every context a pending request or retry timer holds is linked into a->act_inflight, so shutdown
 * can free those whose callbacks will never run. */
struct act_inflight {
	struct act_inflight *prev, *next;
	void (*free)(struct act_inflight *i);
};

static void inflight_link(struct agent *a, struct act_inflight *i,
			  void (*free_fn)(struct act_inflight *))
{
	i->free = free_fn;
	i->prev = NULL;
	i->next = a->act_inflight;
	if (i->next)
		i->next->prev = i;
	a->act_inflight = i;
}

static void inflight_unlink(struct agent *a, struct act_inflight *i)
{
	if (i->prev)
		i->prev->next = i->next;
	else if (a->act_inflight == i)
		a->act_inflight = i->next;
	if (i->next)
		i->next->prev = i->prev;
	i->prev = i->next = NULL;
}

void act_free_inflight(struct agent *a)
{
	while (a->act_inflight) {
		struct act_inflight *i = a->act_inflight;

		inflight_unlink(a, i);
		i->free(i);
	}
}

/* A transient failure of a last-resize write (5xx, 429, a timeout, a refused connection, a token
 * being replaced) is retried after 1, 2, 4, 8 s and then given up with a warning: losing the write
 * loses the cooldown over a restart. A newer value waiting for the pod replaces the one retried. */
#define ANNOTATE_RETRY_FIRST_USEC USEC_PER_SEC
#define ANNOTATE_RETRY_MAX_USEC (8 * USEC_PER_SEC)
#define ANNOTATE_ATTEMPTS 5

/* One last-resize value on its way, across its retries; the pod may be gone when it completes. */
struct annotate_ctx {
	struct act_inflight link; /* first: the list frees through it */
	struct agent *agent;
	char *text;
	unsigned attempts; /* sent so far */
	sd_event_source *retry;
	char uid[]; /* NUL-terminated */
};

static void annotate_ctx_free_link(struct act_inflight *i)
{
	struct annotate_ctx *ctx = (struct annotate_ctx *)i;

	sd_event_source_disable_unref(ctx->retry);
	free(ctx->text);
	free(ctx);
}

static void annotate_ctx_free(struct annotate_ctx *ctx)
{
	if (!ctx)
		return;
	inflight_unlink(ctx->agent, &ctx->link);
	annotate_ctx_free_link(&ctx->link);
}

static void annotate_start(struct agent *a, struct agent_pod *p, char *text);
static void on_annotated(const struct kube_result *res, void *userdata);

/* The pod's write is over (written, refused, given up or replaced): the newest waiting value goes. */
static void annotate_next(struct agent *a, struct agent_pod *p)
{
	p->annotating = false;
	if (p->annotation_pending)
		annotate_start(a, p, TAKE_PTR(p->annotation_pending));
}

static int annotate_send(struct agent *a, struct agent_pod *p, struct annotate_ctx *ctx)
{
	struct kube_object_ref ref = {
		.kind = "Pod", .namespace = p->namespace, .name = p->name, .uid = p->uid
	};
	const char *kv[2] = { "snug.io/last-resize", ctx->text };
	int r = kube_annotate(a->kube, &ref, kv, 1, on_annotated, ctx);

	if (r < 0)
		return log_debug_errno(r, "Cannot annotate %s/%s with the last resize: %m",
				       p->namespace, p->name);
	ctx->attempts++;
	p->annotating = true;
	return 0;
}

static int on_annotate_retry(sd_event_source *s, uint64_t usec, void *userdata)
{
	struct annotate_ctx *ctx = userdata;
	struct agent *a = ctx->agent;
	struct agent_pod *p = agent_find_pod(a, ctx->uid);

	ctx->retry = sd_event_source_disable_unref(ctx->retry);
	if (!p) {
		annotate_ctx_free(ctx);
		return 0;
	}
	if (p->annotation_pending || annotate_send(a, p, ctx) < 0) {
		annotate_ctx_free(ctx);
		annotate_next(a, p);
	}
	return 0;
}

static void on_annotated(const struct kube_result *res, void *userdata)
{
	struct annotate_ctx *ctx = userdata;
	struct agent *a = ctx->agent;
	struct agent_pod *p = agent_find_pod(a, ctx->uid);
	bool transient = res->outcome == KUBE_TRANSIENT || res->outcome == KUBE_UNAUTHORIZED;
	uint64_t delay;
	int r;

	if (res->outcome != KUBE_OK)
		log_debug("Cannot annotate pod %s with the last resize (attempt %u): %s%s%s",
			  ctx->uid, ctx->attempts, kube_outcome_to_string(res->outcome),
			  res->message ? ": " : "", res->message ? res->message : "");
	if (!p) {
		annotate_ctx_free(ctx);
		return;
	}
	/* Written, refused for good (404: the pod is gone, 403), or a newer value is waiting. */
	if (!transient || p->annotation_pending)
		goto next;
	if (ctx->attempts >= ANNOTATE_ATTEMPTS) {
		log_warning(
			"%s/%s: giving up writing snug.io/last-resize after %u attempts (%s%s%s); "
			"an agent restart will not know this resize's cooldown",
			p->namespace, p->name, ctx->attempts, kube_outcome_to_string(res->outcome),
			res->message ? ": " : "", res->message ? res->message : "");
		goto next;
	}
	delay = backoff_exponential(ANNOTATE_RETRY_FIRST_USEC, ANNOTATE_RETRY_MAX_USEC,
				    ctx->attempts);
	/* p->annotating stays set: a value that comes meanwhile waits, and replaces this one. */
	r = sd_event_add_time_relative(a->event, &ctx->retry, CLOCK_MONOTONIC, delay, 0,
				       on_annotate_retry, ctx);
	if (r >= 0)
		return;
	log_debug_errno(r, "Cannot arm the retry of %s/%s's last-resize write: %m", p->namespace,
			p->name);
next:
	annotate_ctx_free(ctx);
	annotate_next(a, p);
}

/* Takes text over. */
static void annotate_start(struct agent *a, struct agent_pod *p, char *text)
{
	size_t n = strlen(p->uid) + 1;
	struct annotate_ctx *ctx = calloc(1, sizeof(*ctx) + n);

	if (!ctx) {
		free(text);
		log_oom();
		return;
	}
	ctx->agent = a;
	ctx->text = text;
	memcpy(ctx->uid, p->uid, n);
	inflight_link(a, &ctx->link, annotate_ctx_free_link);
	if (annotate_send(a, p, ctx) < 0)
		annotate_ctx_free(ctx);
}

/* snug.io/last-resize (last_resize_format()), read back after a restart so the cooldown and its
 * budget outlive the agent. Two resizes that finish close together would race
 * their patches (the older could land last and carry the wrong cooldown over a restart): one write
 * per pod is in flight (or waiting to be retried), and only the newest of those that came meanwhile
 * follows it. */
static void annotate_last_resize(struct agent *a, struct agent_pod *p, struct agent_container *c,
				 const struct decide_decision *d)
{
	_cleanup_free_ struct last_resize_grows *grows =
		calloc(p->n_containers + 1, sizeof(*grows));
	_cleanup_free_ char *text = NULL;

	if (!grows)
		return (void)log_oom();
	bypass_budget_grows(a, p, c->resize.last_usec, grows);
	/* A boost held goes along, so that a restarted agent gives it back (and never boosts the
	 * boosted values again); the give-back's own annotation no longer carries it. */
	for (size_t i = 0; i < p->n_containers; i++) {
		const struct agent_container *o = &p->containers[i];

		if ((o->boost.state == AGENT_BOOST_ACTIVE ||
		     o->boost.state == AGENT_BOOST_RETURN_DUE) &&
		    !(o == c && d->kind == DECIDE_STARTUP_BOOST_OVER))
			grows[i].boost = (struct last_resize_boost){ o->boost.applied_realtime_usec,
								     o->boost.original_cpu_request,
								     o->boost.original_cpu_limit };
	}
	text = last_resize_format(c->name, c->resize.last_usec, decide_kind_to_string(d->kind),
				  d->reason, grows, p->n_containers);
	if (!text)
		return (void)log_oom();
	if (p->annotating) {
		free(p->annotation_pending);
		p->annotation_pending = TAKE_PTR(text);
		return;
	}
	annotate_start(a, p, TAKE_PTR(text));
}

struct act_resize {
	struct act_inflight link; /* first: the list frees through it */
	struct agent *agent;
	char *uid, *container;
	char *resource_version; /* of the pod the decision was made on; NULL if unknown */
	bool after_conflict;	/* made on the pod read back after a 409: no second read */
	struct decide_decision d;
};

static void act_resize_free_link(struct act_inflight *i)
{
	struct act_resize *r = (struct act_resize *)i;

	free(r->uid);
	free(r->container);
	free(r->resource_version);
	free(r);
}

static void act_resize_free(struct act_resize *r)
{
	if (!r)
		return;
	inflight_unlink(r->agent, &r->link);
	act_resize_free_link(&r->link);
}

static struct agent_container *find_container(struct agent *a, const char *uid, const char *name,
					      struct agent_pod **ret_pod)
{
	struct agent_pod *p = agent_find_pod(a, uid);

	if (!p)
		return NULL;
	for (size_t i = 0; i < p->n_containers; i++)
		if (strcmp(p->containers[i].name, name) == 0) {
			*ret_pod = p;
			return &p->containers[i];
		}
	return NULL;
}

static struct act_cgroup_target cgroup_target(struct agent *a, struct agent_container *c)
{
	return (struct act_cgroup_target){
		.backend = cg_limits_backend_of(c->cg->pod->driver),
		.pod_path = c->cg->pod->path,
		.container_path = c->cg->path,
		.container_weight_formula = a->container_weight_formula,
		.dry_run = a->config.dry_run,
	};
}

/* Cgroup writes on their way (on the systemd driver they finish when systemd replies): what to
 * say when they are done. The pod may be gone by then. */
struct cgroup_report {
	struct agent *agent;
	char *who;    /* "namespace/name container" */
	char *why;    /* a revert: why; NULL for the writes after an accepted resize */
	char *reason; /* a revert: the reason of the decision it undoes */
};

static void cgroup_report_free(struct cgroup_report *rep)
{
	free(rep->who);
	free(rep->why);
	free(rep->reason);
	free(rep);
}

static void on_cgroups_written(int r, void *userdata)
{
	struct cgroup_report *rep = userdata;
	struct agent *a = rep->agent;

	if (r == -ECANCELED) /* the agent is stopping */
		;
	else if (!rep->why) {
		if (r < 0) {
			log_warning_errno(r,
					  "%s: API resize accepted but writing the cgroup failed "
					  "(the kubelet will apply it): %m",
					  rep->who);
			agent_metrics_cgroup_write_error(a->metrics);
		}
	} else if (r < 0) {
		log_warning_errno(r, "%s: %s; putting back the kubelet's limits failed: %m",
				  rep->who, rep->why);
		agent_metrics_cgroup_write_error(a->metrics);
	} else {
		agent_metrics_resize(a->metrics, "reverted");
		log_warning("%s: %s: the cgroups hold the kubelet's limits again (%s)", rep->who,
			    rep->why, rep->reason);
	}
	cgroup_report_free(rep);
}

/* Starts writing d into c's cgroups, after what is still being written; the outcome is logged and
 * counted when it comes. why: NULL after an accepted resize, the cause of a revert. */
static void write_cgroups(struct agent *a, struct agent_pod *p, struct agent_container *c,
			  const struct decide_decision *d, const char *why)
{
	struct act_cgroup_target t = cgroup_target(a, c);
	struct cgroup_report *rep = calloc(1, sizeof(*rep));
	int r;

	if (rep) {
		rep->agent = a;
		if (asprintf(&rep->who, "%s/%s %s", p->namespace, p->name, c->name) < 0)
			rep->who = NULL;
		if (why) {
			rep->why = strdup(why);
			rep->reason = strdup(d->reason);
		}
	}
	if (!rep || !rep->who || (why && (!rep->why || !rep->reason))) {
		if (rep)
			cgroup_report_free(rep);
		log_oom();
		agent_metrics_cgroup_write_error(a->metrics);
		return;
	}
	r = act_write_cgroups(a->limits, &t, d, on_cgroups_written, rep);
	if (r < 0)
		on_cgroups_written(r, rep);
}

/* The API accepted: the same limits go into the cgroups now, in the safe order, but only those
 * the kubelet would write itself on this node. *written is the decision as written. Returns true
 * when something is to reach the kernel. */
static bool apply_cgroups(struct agent *a, struct agent_pod *p, struct agent_container *c,
			  const struct decide_decision *d, struct decide_decision *written)
{
	*written = *d;
	if (a->config.api_only) {
		log_debug("%s/%s %s: --api-only: the kubelet writes the cgroups", p->namespace,
			  p->name, c->name);
		written->n_steps = 0;
		return false;
	}
	if (!c->cg) {
		log_info(
			"%s/%s %s: resized through the API; its cgroup is not tracked, the kubelet "
			"applies it",
			p->namespace, p->name, c->name);
		written->n_steps = 0;
		return false;
	}
	drop_unwritten_steps(a, c, written);
	write_cgroups(a, p, c, written, NULL);
	/* Even a failed write may have done its first steps: they are undone on a refusal. */
	return !a->config.dry_run && written->n_steps > 0;
}

/* ---- the kubelet's answer ----------------------------------------------------------------------- */

static void kubelet_wait_done(struct agent_container *c)
{
	c->resize.kubelet_wait = AGENT_KUBELET_IDLE;
	c->resize.wrote_cgroups = false;
	c->resize.admission_timer = sd_event_source_disable_unref(c->resize.admission_timer);
}

/* Puts back what the kubelet actuated: the written steps undone, in reverse. */
static void revert_cgroups(struct agent *a, struct agent_pod *p, struct agent_container *c,
			   const char *why)
{
	struct decide_decision undo;

	if (!c->resize.wrote_cgroups)
		return;
	if (!c->cg) {
		log_warning("%s/%s %s: %s, but its cgroup is gone: nothing to put back "
			    "(the kubelet creates the next one with what it admitted)",
			    p->namespace, p->name, c->name, why);
		return;
	}
	act_revert_of(&c->resize.last_decision, &undo);
	write_cgroups(a, p, c, &undo, why);
}

static int on_admission_timeout(sd_event_source *s, uint64_t usec, void *userdata)
{
	struct agent_container *c = userdata;
	struct agent_pod *p = c->pod;
	struct agent *a = p->agent;
	char why[128];

	c->resize.admission_timer = sd_event_source_disable_unref(c->resize.admission_timer);
	if (c->resize.kubelet_wait != AGENT_KUBELET_ADMISSION)
		return 0;
	snprintf(why, sizeof(why), "the kubelet did not admit the resize within %llu s",
		 (unsigned long long)(a->config.admission_timeout_usec / USEC_PER_SEC));
	revert_cgroups(a, p, c, why);
	c->resize.spec_not_admitted = true;
	record(c, AGENT_RESULT_UNCONFIRMED, c->resize.last_decision.reason);
	agent_metrics_resize(a->metrics, agent_result_to_string(AGENT_RESULT_UNCONFIRMED));
	pod_event(a->kube, p, POD_EVENT_WARNING, "ResizeNotAdmitted", why);
	kubelet_wait_done(c);
	/* Signals that came meanwhile are decided on the kubelet's values now. */
	if (c->oom_pending)
		a->redecide(a, c, AGENT_TRIGGER_OOM_KILL);
	return 0;
}

/* After the API accepted: wait for the kubelet to admit what went into the cgroups. */
static void kubelet_wait_start(struct agent *a, struct agent_container *c,
			       const struct kube_pod *reply, bool wrote)
{
	int r;

	kubelet_wait_done(c);
	c->resize.spec_not_admitted = false;
	if (!reply)
		return;
	admission_baseline_init(reply, c->name, &c->resize.admission);
	c->resize.wrote_cgroups = wrote;
	c->resize.kubelet_wait = AGENT_KUBELET_ADMISSION;
	if (!wrote)
		return;
	r = sd_event_add_time_relative(a->event, &c->resize.admission_timer, CLOCK_MONOTONIC,
				       a->config.admission_timeout_usec, 100 * USEC_PER_MSEC,
				       on_admission_timeout, c);
	if (r < 0)
		log_warning_errno(r, "Cannot arm the admission deadline of %s/%s %s: %m",
				  c->pod->namespace, c->pod->name, c->name);
}

/* Mode auto without in-place resize (or a resize the node can never fit): the recommendation goes
 * on the pod's controller and the pod is evicted, so the webhook gives its replacement the new
 * resources. Returns true when the pod was queued for that. */
static bool act_fallback(struct agent *a, struct agent_pod *p, struct agent_container *c,
			 const struct decide_decision *d)
{
	const struct kube_pod *pod = kube_client_pod(a->kube, p->uid);
	struct fallback_container_rec rec;
	const char *why = NULL;
	int r;

	/* Never for a sidecar: the webhook sets app containers only, the pod would come back as is. */
	if (!a->fallback || !pod || p->pol.mode != POL_MODE_AUTO || c->sidecar)
		return false;
	rec = (struct fallback_container_rec){
		.name = c->name,
		.res = { .cpu_request = d->new_res.cpu_request,
			 .cpu_limit = d->new_res.cpu_limit,
			 .memory_request = d->new_res.memory_request,
			 .memory_limit = d->new_res.memory_limit },
	};
	r = fallback_submit(a->fallback, pod, &rec, 1, p->pol.allow_single_replica_eviction,
			    d->reason, &why);
	if (r < 0) {
		log_info("%s/%s: not evicting: %s", p->namespace, p->name, why ? why : "refused");
		return false;
	}
	return true;
}

/* The pod read back after a 409 is in the cache now (the client put it there before this callback,
 * and the watch may have brought it meanwhile): decide again on it. */
static void on_read_back(const struct kube_result *res, void *userdata)
{
	struct act_resize *ar = userdata;
	struct agent *a = ar->agent;
	struct agent_pod *p = NULL;
	struct agent_container *c = find_container(a, ar->uid, ar->container, &p);
	const struct kube_pod *pod;

	if (!c) {
		act_resize_free(ar);
		return;
	}
	c->resize.in_flight = false;
	if (res->outcome != KUBE_OK)
		log_debug("%s/%s: reading the pod back after a conflict failed (%s)", p->namespace,
			  p->name, kube_outcome_to_string(res->outcome));
	pod = kube_client_pod(a->kube, p->uid);
	/* Unchanged (the read failed and no watch event came): the same resize would only meet
	 * the same 409; the next sample or the watch's update decides. */
	if (pod && pod->resource_version && ar->resource_version &&
	    strcmp(pod->resource_version, ar->resource_version) != 0) {
		c->resize.after_conflict = true;
		a->redecide(a, c, c->oom_pending ? AGENT_TRIGGER_OOM_KILL : AGENT_TRIGGER_CONFLICT);
		c->resize.after_conflict = false;
	}
	act_resize_free(ar);
}

static int read_back(struct agent *a, struct agent_pod *p, struct agent_container *c,
		     struct act_resize *ar)
{
	struct kube_object_ref ref = {
		.kind = "Pod", .namespace = p->namespace, .name = p->name, .uid = p->uid
	};
	int r = kube_get(a->kube, &ref, on_read_back, ar);

	if (r < 0)
		log_debug_errno(r, "Cannot read %s/%s back after a conflict: %m", p->namespace,
				p->name);
	return r;
}

/* A startup boost counts from the resize the API took: one it did not take is wanted again (the
 * read-back after a conflict, or the next decision, sends it anew), or given up when refused; else
 * the container would start unboosted while the agent waits for its Ready to give the boost back. */
static void boost_not_taken(struct agent_container *c, const struct decide_decision *d,
			    bool refused)
{
	if (d->kind != DECIDE_STARTUP_BOOST || c->boost.state != AGENT_BOOST_ACTIVE)
		return;
	c->boost.deadline = sd_event_source_disable_unref(c->boost.deadline);
	c->boost.state = refused ? AGENT_BOOST_DONE : AGENT_BOOST_WANTED;
}

static void on_resize_done(const struct kube_result *res, void *userdata)
{
	struct act_resize *ar = userdata;
	struct agent *a = ar->agent;
	struct agent_pod *p = NULL;
	struct agent_container *c = find_container(a, ar->uid, ar->container, &p);
	const char *result = kube_outcome_to_string(res->outcome);
	char msg[DECIDE_REASON_MAX + 256];
	bool wrote;

	agent_metrics_resize(a->metrics, result);
	if (!c) {
		act_resize_free(ar);
		return;
	}
	c->resize.in_flight = false;
	switch (res->outcome) {
	case KUBE_OK:
		bypass_budget_cooldown_start(c, &ar->d, now_usec(CLOCK_REALTIME));
		bypass_budget_record(a, c, &ar->d, c->resize.last_usec);
		/* Throttling and pressure seen under the old limits say nothing about the new ones;
		 * until the next sample, pressure is judged against the limit just set (decisions in
		 * between would grow the limit again and again). */
		signals_resized(&c->signals,
				ar->d.new_res.memory_limit != ar->d.old_res.memory_limit
					? ar->d.new_res.memory_limit
					: 0);

		wrote = apply_cgroups(a, p, c, &ar->d, &c->resize.last_decision);
		c->resize.have_last_decision = true;
		kubelet_wait_start(a, c, res->pod ? res->pod : kube_client_pod(a->kube, p->uid),
				   wrote);
		if (ar->d.kind == DECIDE_OOM && c->oom_seen_usec) {
			uint64_t now = now_usec(CLOCK_MONOTONIC);
			if (now > c->oom_seen_usec)
				agent_metrics_oom_to_resize(a->metrics, now - c->oom_seen_usec);
		}
		/* A kill that arrived while another resize was in flight still wants its bump. */
		if (ar->d.kind == DECIDE_OOM) {
			c->oom_pending = false;
			c->oom_seen_usec = 0;
		}
		record(c, AGENT_RESULT_ACCEPTED, ar->d.reason);
		log_info("Resized %s/%s %s: %s", p->namespace, p->name, c->name, ar->d.reason);
		pod_resize_event(a->kube, p, &ar->d);
		annotate_last_resize(a, p, c, &ar->d);
		break;
	case KUBE_CONFLICT:
		/* Someone (the kubelet's status writes, most often) wrote the pod between our read
		 * and the resize: read it again now and decide on it, rather than leave the signal
		 * to the next sample. Once: a second 409 waits for the next decision. */
		record(c, AGENT_RESULT_CONFLICT, ar->d.reason);
		boost_not_taken(c, &ar->d, false);
		if (!ar->after_conflict && read_back(a, p, c, ar) >= 0) {
			c->resize.in_flight = true;
			ar = NULL; /* owned by the read */
		}
		break;
	case KUBE_TRANSIENT:
	case KUBE_UNAUTHORIZED:
	case KUBE_BAD_REPLY:
		/* Kept pending (OOM flags stay set); the next decision retries. */
		record(c, AGENT_RESULT_RETRYING, ar->d.reason);
		boost_not_taken(c, &ar->d, false);
		log_warning("Resize of %s/%s %s not done yet (%s%s%s), retrying", p->namespace,
			    p->name, c->name, result, res->message ? ": " : "",
			    res->message ? res->message : "");
		break;
	case KUBE_NOT_SUPPORTED:
		bypass_budget_cooldown_start(c, &ar->d, now_usec(CLOCK_REALTIME));
		c->oom_pending = false;
		boost_not_taken(c, &ar->d, true);
		snprintf(msg, sizeof(msg), "in-place resize not supported (%s); wanted: %s",
			 res->message ? res->message : "no message", ar->d.reason);
		log_warning("%s/%s %s: %s", p->namespace, p->name, c->name, msg);
		pod_event(a->kube, p, POD_EVENT_WARNING, "ResizeNotSupported", msg);
		record(c,
		       act_fallback(a, p, c, &ar->d) ? AGENT_RESULT_EVICTING
						     : AGENT_RESULT_UNSUPPORTED,
		       ar->d.reason);
		break;
	default:
		/* Kubernetes 1.33 refuses lowering a memory limit without resizePolicy
		 * RestartContainer (1.34 allows it again; discovery cannot tell them apart): learn
		 * it once and decide again at once, keeping the limit, instead of waiting a
		 * cooldown for a request that can never succeed. */
		if (res->outcome == KUBE_REJECTED && !a->keep_memory_limit &&
		    ar->d.new_res.memory_limit < ar->d.old_res.memory_limit && res->message &&
		    strstr(res->message, "memory limits cannot be decreased")) {
			a->keep_memory_limit = true;
			record(c, AGENT_RESULT_RETRYING, ar->d.reason);
			log_info("The API server refuses lowering memory limits (Kubernetes 1.33): "
				 "shrinking keeps them from now on (%s/%s %s)",
				 p->namespace, p->name, c->name);
			break;
		}
		/* Rejected or forbidden: say why once per cooldown, don't hammer the server. */
		bypass_budget_cooldown_start(c, &ar->d, now_usec(CLOCK_REALTIME));
		c->oom_pending = false;
		record(c, AGENT_RESULT_REJECTED, ar->d.reason);
		boost_not_taken(c, &ar->d, true);
		snprintf(msg, sizeof(msg), "resize refused (%s%s%s); wanted: %s", result,
			 res->message ? ": " : "", res->message ? res->message : "", ar->d.reason);
		log_warning("%s/%s %s: %s", p->namespace, p->name, c->name, msg);
		pod_event(a->kube, p, POD_EVENT_WARNING, "ResizeRejected", msg);
		break;
	}
	/* A kill that landed while this resize was in flight is decided at once when the cache already
	 * holds the pod as changed since; else the watch's update of the pod decides it (pod_sync). */
	if (ar && c->oom_pending && !c->resize.in_flight &&
	    (res->outcome == KUBE_OK || res->outcome == KUBE_CONFLICT)) {
		const struct kube_pod *pod = kube_client_pod(a->kube, p->uid);

		if (pod && pod->resource_version && ar->resource_version &&
		    strcmp(pod->resource_version, ar->resource_version) != 0)
			a->redecide(a, c, AGENT_TRIGGER_OOM_KILL);
	}
	act_resize_free(ar);
}

void act_apply(struct agent *a, struct agent_pod *p, struct agent_container *c,
	       const struct kube_pod *pod, const struct decide_decision *d)
{
	const struct resources *n = &d->new_res;
	const struct kube_container *kc;
	struct kube_resize_container rc;
	struct resources spec;
	struct act_resize *ar;
	int r;

	if (d->report_only || a->config.dry_run) {
		enum agent_result result =
			d->report_only ? AGENT_RESULT_REPORT_ONLY : AGENT_RESULT_DRY_RUN;

		/* Reported once per cooldown, like a resize would be. */
		bypass_budget_cooldown_start(c, d, now_usec(CLOCK_REALTIME));
		c->oom_pending = false;
		record(c, result, d->reason);
		agent_metrics_resize(a->metrics, agent_result_to_string(result));
		log_info("%s %s/%s %s: %s", d->report_only ? "Recommend" : "dry-run: would resize",
			 p->namespace, p->name, c->name, d->reason);
		if (d->report_only)
			pod_event(a->kube, p, POD_EVENT_NORMAL, "Recommendation", d->reason);
		return;
	}

	ar = calloc(1, sizeof(*ar));
	if (!ar) {
		log_oom();
		return;
	}
	ar->agent = a;
	inflight_link(a, &ar->link, act_resize_free_link);
	ar->uid = strdup(p->uid);
	ar->container = strdup(c->name);
	ar->d = *d;
	ar->resource_version = pod->resource_version ? strdup(pod->resource_version) : NULL;
	ar->after_conflict = c->resize.after_conflict;
	if (!ar->uid || !ar->container || (pod->resource_version && !ar->resource_version)) {
		act_resize_free(ar);
		log_oom();
		return;
	}
	rc = (struct kube_resize_container){
		.name = c->name,
		.sidecar = c->sidecar,
		.res = { .cpu_request = n->cpu_request,
			 .cpu_limit = n->cpu_limit,
			 .memory_request = n->memory_request,
			 .memory_limit = n->memory_limit },
	};
	/* What the spec already says is left out of the patch. The decision may start from the
	 * kubelet's values instead of the spec (after a deferred resize), so compare with the spec. */
	kc = kube_pod_container(pod, c->name);
	spec = kc ? kc->spec
		  : (struct resources){ d->old_res.cpu_request, d->old_res.cpu_limit,
					d->old_res.memory_request, d->old_res.memory_limit };
	if (rc.res.cpu_request == spec.cpu_request)
		rc.res.cpu_request = RESOURCE_UNSET;
	if (rc.res.cpu_limit == spec.cpu_limit)
		rc.res.cpu_limit = RESOURCE_UNSET;
	if (rc.res.memory_request == spec.memory_request)
		rc.res.memory_request = RESOURCE_UNSET;
	if (rc.res.memory_limit == spec.memory_limit)
		rc.res.memory_limit = RESOURCE_UNSET;

	r = kube_resize(a->kube, p->namespace, p->name, pod->resource_version, &rc, 1,
			on_resize_done, ar);
	if (r < 0) {
		log_warning_errno(r, "Cannot send the resize of %s/%s %s: %m", p->namespace,
				  p->name, c->name);
		boost_not_taken(c, d, false);
		act_resize_free(ar);
		return;
	}
	c->resize.in_flight = true;
	log_info("Resizing %s/%s %s: %s", p->namespace, p->name, c->name, d->reason);
}

static bool grew_request(const struct decide_decision *d)
{
	return d->new_res.memory_request > d->old_res.memory_request ||
	       d->new_res.cpu_request > d->old_res.cpu_request;
}

/* The kubelet will not apply our resize (now, or ever): its limits go back into the cgroups; or it
 * admitted it and failed to actuate it (Error): the admitted values stay. */
static void kubelet_refused(struct agent *a, struct agent_pod *p, struct agent_container *c,
			    const struct kube_pod *pod, enum admission_verdict v)
{
	const char *result = admission_verdict_to_string(v);
	static const enum agent_result results[] = {
		[ADMISSION_DEFERRED] = AGENT_RESULT_DEFERRED,
		[ADMISSION_INFEASIBLE] = AGENT_RESULT_INFEASIBLE,
		[ADMISSION_ERROR] = AGENT_RESULT_ERROR,
		[ADMISSION_SUPERSEDED] = AGENT_RESULT_SUPERSEDED,
	};
	const char *why = v == ADMISSION_SUPERSEDED ? "the pod's resources changed again since"
			  : pod->resize_message	    ? pod->resize_message
						    : "no message";
	char msg[DECIDE_REASON_MAX + 256];

	snprintf(msg, sizeof(msg), "kubelet %s the resize (%s)",
		 v == ADMISSION_SUPERSEDED ? "did not get to" : result, why);
	/* Error: the kubelet allocated our values (admitted them) and failed to actuate them; it
	 * retries, and starts a restarted container with them. It leaves its own pod cgroup write in
	 * place too, so the kernel keeps what was written: putting the old values back would leave a
	 * pod limit below the one the kubelet starts the next container with (seen on the real node:
	 * "cannot update a stopped container" after an OOM kill, then a kill at the old pod limit at
	 * every restart). */
	if (v != ADMISSION_ERROR)
		revert_cgroups(a, p, c, msg);
	kubelet_wait_done(c);
	c->resize.spec_not_admitted = v != ADMISSION_SUPERSEDED && v != ADMISSION_ERROR;
	record(c, results[v], msg);
	agent_metrics_resize(a->metrics, result);
	if (v == ADMISSION_SUPERSEDED) {
		log_info("%s/%s %s: %s", p->namespace, p->name, c->name, msg);
		return;
	}
	snprintf(msg, sizeof(msg), "kubelet reports the resize %s: %s%s", result, why,
		 v == ADMISSION_ERROR
			 ? " (admitted: the cgroups keep the admitted values, the kubelet "
			   "retries)"
			 : "");
	log_warning("%s/%s %s: %s", p->namespace, p->name, c->name, msg);
	pod_event(a->kube, p, POD_EVENT_WARNING, "ResizeNotApplied", msg);
	/* Infeasible is never retried by the kubelet: a new pod may fit elsewhere. */
	if (v == ADMISSION_INFEASIBLE)
		(void)act_fallback(a, p, c, &c->resize.last_decision);
	/* A kill or pressure grow the node has no room for now: decided again at once on the
	 * kubelet's values, where the limit can grow alone (a Burstable limit needs no room). */
	if (v == ADMISSION_DEFERRED && grew_request(&c->resize.last_decision) &&
	    c->resize.last_decision.kind == DECIDE_OOM) {
		c->oom_pending = true;
		if (!c->oom_seen_usec)
			c->oom_seen_usec = now_usec(CLOCK_MONOTONIC);
	}
}

void act_pod_status(struct agent *a, struct agent_pod *p, const struct kube_pod *pod)
{
	for (size_t i = 0; i < p->n_containers; i++) {
		struct agent_container *c = &p->containers[i];
		const struct resources *n = &c->resize.last_decision.new_res;
		struct resources want = { n->cpu_request, n->cpu_limit, n->memory_request,
					  n->memory_limit };
		enum admission_verdict v;

		if (c->resize.kubelet_wait == AGENT_KUBELET_IDLE)
			continue;
		v = admission_verdict(pod, c->name, &want, &c->resize.admission);
		switch (v) {
		case ADMISSION_WAITING:
			break;
		case ADMISSION_ADMITTED:
			if (c->resize.kubelet_wait == AGENT_KUBELET_ADMISSION)
				log_debug("%s/%s %s: the kubelet admitted the resize", p->namespace,
					  p->name, c->name);
			c->resize.kubelet_wait = AGENT_KUBELET_ACTUATION;
			c->resize.admission_timer =
				sd_event_source_disable_unref(c->resize.admission_timer);
			break;
		case ADMISSION_ACTUATED:
			log_debug("%s/%s %s: the kubelet actuated the resize", p->namespace,
				  p->name, c->name);
			kubelet_wait_done(c);
			break;
		default:
			kubelet_refused(a, p, c, pod, v);
			break;
		}
	}
}
