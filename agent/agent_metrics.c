/* What the agent counts and exports: the glue between the agent's state and /metrics, /recommendations. */
#include "agent/agent_metrics.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "agent/agent.h"
#include "agent/fallback.h"
#include "agent/kube/kube.h"
#include "agent/metrics/http.h"
#include "agent/metrics/metrics.h"
#include "agent/metrics/snug_metrics.h"
#include "agent/util/json.h"
#include "agent/util/log.h"
#include "agent/util/time.h"
#include "bpf/oomwatch_api.h"

#ifndef SNUG_VERSION
#define SNUG_VERSION "0.1.0"
#endif

struct agent_metrics {
	struct agent *agent;
	struct metrics_registry *reg;
	struct metrics_snug m;
	struct metrics_family *usage_cpu, *working_set, *checkpoint_errors, *cgroup_write_errors;
	struct metrics_family *resize_path;
	struct metrics_family *node_cpu, *node_memory, *node_errors;
	struct metrics_family *bypass_budget_spent;
	struct metrics_http *http;
};

int agent_metrics_new(struct agent *a, struct agent_metrics **ret)
{
	struct agent_metrics *m = calloc(1, sizeof(*m));
	int r;

	if (!m)
		return log_oom();
	m->agent = a;
	r = metrics_registry_new(&m->reg);
	if (r < 0)
		goto fail;
	r = metrics_snug_register(m->reg, SNUG_VERSION, &m->m);
	if (r < 0)
		goto fail;
	if ((r = metrics_gauge_new(m->reg, "snug_container_usage_cpu_cores",
				   "CPU used over the last sampling interval, in cores.",
				   METRICS_LABELS("namespace", "pod", "container"),
				   &m->usage_cpu)) < 0 ||
	    (r = metrics_gauge_new(
		     m->reg, "snug_container_working_set_bytes",
		     "Memory working set (current - inactive_file) at the last sample.",
		     METRICS_LABELS("namespace", "pod", "container"), &m->working_set)) < 0 ||
	    (r = metrics_counter_new(m->reg, "snug_checkpoint_errors_total",
				     "Checkpoint files that could not be loaded or saved.",
				     METRICS_NO_LABELS, &m->checkpoint_errors)) < 0 ||
	    (r = metrics_counter_new(m->reg, "snug_cgroup_write_errors_total",
				     "cgroup limit writes that failed after an accepted resize.",
				     METRICS_NO_LABELS, &m->cgroup_write_errors)) < 0 ||
	    (r = metrics_gauge_new(
		     m->reg, "snug_resize_path",
		     "The in-place resize path the API server offers (1 for the active one).",
		     METRICS_LABELS("path"), &m->resize_path)) < 0 ||
	    (r = metrics_gauge_new(m->reg, "snug_node_allocatable_cpu_cores",
				   "This node's status.allocatable cpu as last read; absent while "
				   "unknown (then grows are not held to the node's free room).",
				   METRICS_NO_LABELS, &m->node_cpu)) < 0 ||
	    (r = metrics_gauge_new(
		     m->reg, "snug_node_allocatable_memory_bytes",
		     "This node's status.allocatable memory as last read; absent while "
		     "unknown.",
		     METRICS_NO_LABELS, &m->node_memory)) < 0 ||
	    (r = metrics_counter_new(m->reg, "snug_node_read_errors_total",
				     "Failed reads of this node's Node object, by outcome.",
				     METRICS_LABELS("reason"), &m->node_errors)) < 0 ||
	    (r = metrics_counter_new(
		     m->reg, "snug_bypass_budget_spent_total",
		     "Times a container's budget of grows inside the cooldown (OOM "
		     "kills, memory pressure, heavy throttling; --bypass-budget per "
		     "hour) was spent and a signal waited for the cooldown.",
		     METRICS_NO_LABELS, &m->bypass_budget_spent)) < 0)
		goto fail;
	/* No label (the scrape adds `node`): absent until the first good read, not a 0. */
	agent_metrics_node_allocatable(m, false, 0, 0);
	*ret = m;
	return 0;
fail:
	log_error_errno(r, "Cannot set up metrics: %m");
	agent_metrics_free(m);
	return r;
}

void agent_metrics_free(struct agent_metrics *m)
{
	if (!m)
		return;
	metrics_http_free(m->http);
	metrics_registry_free(m->reg);
	free(m);
}

static void counter_add(struct metrics_family *f, const char *const *values, double v)
{
	struct metrics_series *s;

	if (f && metrics_series_get(f, values, &s) >= 0)
		metrics_counter_add(s, v);
}

static void gauge_set(struct metrics_family *f, const char *const *values, double v)
{
	struct metrics_series *s;

	if (f && metrics_series_get(f, values, &s) >= 0)
		metrics_gauge_set(s, v);
}

void agent_metrics_resize(struct agent_metrics *m, const char *result)
{
	if (m)
		counter_add(m->m.resizes, METRICS_VALUES(result), 1);
}

void agent_metrics_oom_kill(struct agent_metrics *m, const char *source, uint64_t kills)
{
	if (m)
		counter_add(m->m.oom_kills, METRICS_VALUES(source), (double)kills);
}

void agent_metrics_oom_cause(struct agent_metrics *m, const char *cause)
{
	if (m)
		counter_add(m->m.oom_kill_causes, METRICS_VALUES(cause), 1);
}

void agent_metrics_oom_source(struct agent_metrics *m, const char *source)
{
	static const char *const sources[] = { "bpf", "memory.events" };

	if (!m)
		return;
	for (size_t i = 0; i < sizeof(sources) / sizeof(sources[0]); i++)
		gauge_set(m->m.oom_source, METRICS_VALUES(sources[i]),
			  strcmp(sources[i], source) == 0 ? 1 : 0);
}

void agent_metrics_oom_to_resize(struct agent_metrics *m, uint64_t usec)
{
	if (m && m->m.oom_to_resize_s)
		metrics_histogram_observe(m->m.oom_to_resize_s, (double)usec / 1e6);
}

void agent_metrics_sample_duration(struct agent_metrics *m, uint64_t usec)
{
	if (m && m->m.sample_duration_s)
		metrics_histogram_observe(m->m.sample_duration_s, (double)usec / 1e6);
}

void agent_metrics_tracked(struct agent_metrics *m, size_t n)
{
	if (m && m->m.tracked_containers_s)
		metrics_gauge_set(m->m.tracked_containers_s, (double)n);
}

void agent_metrics_bad_annotations(struct agent_metrics *m, const char *namespace, const char *pod,
				   bool bad)
{
	if (m && bad)
		counter_add(m->m.bad_annotations, METRICS_VALUES(namespace, pod), 1);
}

void agent_metrics_resize_path(struct agent_metrics *m, const char *path)
{
	static const char *const paths[] = { "subresource", "spec-patch", "none", "unknown" };

	if (!m)
		return;
	for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++)
		gauge_set(m->resize_path, METRICS_VALUES(paths[i]), strcmp(paths[i], path) == 0);
}

void agent_metrics_recommendation(struct agent_metrics *m, const struct agent_container *c)
{
	const struct rec_recommendation *r = &c->recommendation;
	struct metrics_series *s[3];

	if (!m)
		return;
	if (metrics_snug_recommendation_series(m->m.recommendation_cpu, c->pod->namespace,
					       c->pod->name, c->name, s) >= 0) {
		metrics_gauge_set(s[0], (double)r->target.cpu_millicores / 1000.0);
		metrics_gauge_set(s[1], (double)r->lower.cpu_millicores / 1000.0);
		metrics_gauge_set(s[2], (double)r->upper.cpu_millicores / 1000.0);
	}
	if (metrics_snug_recommendation_series(m->m.recommendation_memory, c->pod->namespace,
					       c->pod->name, c->name, s) >= 0) {
		metrics_gauge_set(s[0], (double)r->target.memory_bytes);
		metrics_gauge_set(s[1], (double)r->lower.memory_bytes);
		metrics_gauge_set(s[2], (double)r->upper.memory_bytes);
	}
}

void agent_metrics_container_gone(struct agent_metrics *m, const struct agent_container *c)
{
	if (m && c->pod && c->name)
		metrics_snug_forget_container(m->reg, c->pod->namespace, c->pod->name, c->name);
}

void agent_metrics_pod_gone(struct agent_metrics *m, const char *namespace, const char *pod)
{
	if (m && namespace && pod)
		metrics_snug_forget_pod(m->reg, namespace, pod);
}

void agent_metrics_checkpoint_error(struct agent_metrics *m)
{
	if (m)
		counter_add(m->checkpoint_errors, NULL, 1);
}

void agent_metrics_cgroup_write_error(struct agent_metrics *m)
{
	if (m)
		counter_add(m->cgroup_write_errors, NULL, 1);
}

void agent_metrics_bypass_budget_spent(struct agent_metrics *m)
{
	if (m)
		counter_add(m->bypass_budget_spent, NULL, 1);
}

void agent_metrics_node_allocatable(struct agent_metrics *m, bool known, int64_t cpu_millis,
				    int64_t memory_bytes)
{
	struct metrics_series *s;

	if (!m)
		return;
	if (known) {
		gauge_set(m->node_cpu, NULL, (double)cpu_millis / 1000.0);
		gauge_set(m->node_memory, NULL, (double)memory_bytes);
		return;
	}
	if (metrics_series_get(m->node_cpu, NULL, &s) >= 0)
		metrics_series_remove(s);
	if (metrics_series_get(m->node_memory, NULL, &s) >= 0)
		metrics_series_remove(s);
}

void agent_metrics_node_read_error(struct agent_metrics *m, const char *why)
{
	if (m)
		counter_add(m->node_errors, METRICS_VALUES(why), 1);
}

/* Brings a counter up to a count kept elsewhere (the API client's); counters never go down. */
static void counter_sync(struct metrics_series *s, double count)
{
	double cur = metrics_series_value(s);

	if (count > cur)
		metrics_counter_add(s, count - cur);
}

/* Per-container gauges that follow the state (spec resources, usage), refreshed per scrape. */
static void refresh(struct agent_metrics *m)
{
	struct agent *a = m->agent;

	for (struct agent_pod *p = a->pods; p; p = p->next) {
		const struct kube_pod *pod = a->kube ? kube_client_pod(a->kube, p->uid) : NULL;

		for (size_t i = 0; i < p->n_containers; i++) {
			struct agent_container *c = &p->containers[i];
			const struct kube_container *kc =
				pod ? kube_pod_container(pod, c->name) : NULL;
			const char *const *v = METRICS_VALUES(p->namespace, p->name, c->name);

			if (kc) {
				if (kc->spec.cpu_request >= 0)
					gauge_set(m->m.requests_cpu, v,
						  (double)kc->spec.cpu_request / 1000.0);
				if (kc->spec.cpu_limit >= 0)
					gauge_set(m->m.limits_cpu, v,
						  (double)kc->spec.cpu_limit / 1000.0);
				if (kc->spec.memory_request >= 0)
					gauge_set(m->m.requests_memory, v,
						  (double)kc->spec.memory_request);
				if (kc->spec.memory_limit >= 0)
					gauge_set(m->m.limits_memory, v,
						  (double)kc->spec.memory_limit);
			}
			if (c->entry) {
				gauge_set(m->usage_cpu, v, c->signals.cpu_cores);
				gauge_set(m->working_set, v, (double)c->signals.working_set);
			}
		}
	}
	if (a->kube) {
		const struct kube_http_count *hc;
		size_t n = kube_client_http_counts(a->kube, &hc);
		struct metrics_series *s;

		for (size_t i = 0; i < n; i++) {
			char code[16];

			snprintf(code, sizeof(code), "%ld", hc[i].code);
			if (metrics_series_get(
				    m->m.api_requests,
				    METRICS_VALUES(kube_call_to_string(hc[i].call), code), &s) >= 0)
				counter_sync(s, (double)hc[i].count);
		}
		if (m->m.watch_restarts_s)
			counter_sync(m->m.watch_restarts_s,
				     (double)kube_client_stats(a->kube)->watch_restarts);
	}
	if (m->m.tracked_containers_s)
		metrics_gauge_set(m->m.tracked_containers_s,
				  (double)cg_sampler_n_entries(a->sampler));
	if (a->fallback) {
		const struct fallback_stats *st = fallback_stats(a->fallback);
		const struct {
			const char *result;
			uint64_t n;
		} ev[] = {
			{ "requested", st->requested },
			{ "error", st->errors },
			{ "failed", st->failed },
			{ "gone", st->gone },
			{ "refused-bare", st->refused_bare },
			{ "refused-single", st->refused_single },
			{ "refused-no-history", st->refused_no_history },
			{ "dry-run", st->dry_run },
			{ "withdrawn", st->withdrawn },
		};
		struct metrics_series *s;

		for (size_t i = 0; i < sizeof(ev) / sizeof(ev[0]); i++)
			if (metrics_series_get(m->m.evictions, METRICS_VALUES(ev[i].result), &s) >=
			    0)
				counter_sync(s, (double)ev[i].n);
	}
}

static int json_resources(cJSON *parent, const char *key, int64_t cpu_millis, int64_t memory)
{
	cJSON *o = cJSON_AddObjectToObject(parent, key);

	if (!o)
		return -ENOMEM;
	if (cpu_millis >= 0 &&
	    !cJSON_AddNumberToObject(o, "cpu_cores", (double)cpu_millis / 1000.0))
		return -ENOMEM;
	if (memory >= 0 && !cJSON_AddNumberToObject(o, "memory_bytes", (double)memory))
		return -ENOMEM;
	return 0;
}

char *agent_recommendations_json(struct agent *a)
{
	_cleanup_(cJSON_Deletep) cJSON *root = cJSON_CreateObject();
	cJSON *arr;

	if (!root || !cJSON_AddStringToObject(root, "node", a->config.node_name) ||
	    !(arr = cJSON_AddArrayToObject(root, "containers")))
		return NULL;
	for (struct agent_pod *p = a->pods; p; p = p->next) {
		const struct kube_pod *pod = a->kube ? kube_client_pod(a->kube, p->uid) : NULL;

		for (size_t i = 0; i < p->n_containers; i++) {
			struct agent_container *c = &p->containers[i];
			const struct kube_container *kc =
				pod ? kube_pod_container(pod, c->name) : NULL;
			cJSON *o = cJSON_CreateObject(), *last;

			if (!o || !cJSON_AddItemToArray(arr, o))
				return NULL;
			if (!cJSON_AddStringToObject(o, "namespace", p->namespace) ||
			    !cJSON_AddStringToObject(o, "pod", p->name) ||
			    !cJSON_AddStringToObject(o, "container", c->name) ||
			    !cJSON_AddBoolToObject(o, "sidecar", c->sidecar) ||
			    !cJSON_AddStringToObject(o, "mode", pol_mode_to_string(p->pol.mode)) ||
			    !cJSON_AddBoolToObject(o, "tracked", c->entry != NULL) ||
			    !cJSON_AddStringToObject(o, "owner_kind", c->history->id.owner_kind) ||
			    !cJSON_AddStringToObject(o, "owner_name", c->history->id.owner_name))
				return NULL;
			/* Where discovery found it: which driver's layout decides how its limits
			 * are written (files, or systemd unit properties). */
			if (c->cg &&
			    (!cJSON_AddStringToObject(o, "cgroup", c->cg->path) ||
			     !cJSON_AddStringToObject(o, "driver",
						      cg_driver_to_string(c->cg->pod->driver))))
				return NULL;
			if (kc) {
				if (json_resources(o, "requests", kc->spec.cpu_request,
						   kc->spec.memory_request) < 0 ||
				    json_resources(o, "limits", kc->spec.cpu_limit,
						   kc->spec.memory_limit) < 0)
					return NULL;
			}
			if (json_resources(o, "usage",
					   c->entry ? (int64_t)(c->signals.cpu_cores * 1000) : -1,
					   c->entry ? (int64_t)c->signals.working_set : -1) < 0)
				return NULL;
			if (c->have_recommendation) {
				const struct rec_recommendation *r = &c->recommendation;
				cJSON *rec = cJSON_AddObjectToObject(o, "recommendation");

				if (!rec ||
				    json_resources(rec, "target", r->target.cpu_millicores,
						   r->target.memory_bytes) < 0 ||
				    json_resources(rec, "lower", r->lower.cpu_millicores,
						   r->lower.memory_bytes) < 0 ||
				    json_resources(rec, "upper", r->upper.cpu_millicores,
						   r->upper.memory_bytes) < 0)
					return NULL;
			}
			/* Requests an HPA divides by: snug keeps them (only limits move). */
			if (c->hpa_cpu || c->hpa_memory) {
				cJSON *h = cJSON_AddObjectToObject(o, "requests_kept_for_hpa");

				if (!h ||
				    (c->hpa_cpu &&
				     !cJSON_AddStringToObject(h, "cpu", c->hpa_cpu)) ||
				    (c->hpa_memory &&
				     !cJSON_AddStringToObject(h, "memory", c->hpa_memory)))
					return NULL;
			}
			if (c->resize.last.result != AGENT_RESULT_NONE) {
				last = cJSON_AddObjectToObject(o, "last_action");
				if (!last ||
				    !cJSON_AddNumberToObject(
					    last, "at",
					    (double)(c->resize.last.at_usec / USEC_PER_SEC)) ||
				    !cJSON_AddStringToObject(
					    last, "result",
					    agent_result_to_string(c->resize.last.result)) ||
				    !cJSON_AddStringToObject(last, "reason", c->resize.last.reason))
					return NULL;
			}
		}
	}
	return cJSON_Print(root);
}

/* ---- the HTTP endpoint's callbacks ---------------------------------------------------------- */

static void on_before_scrape(void *userdata)
{
	refresh(userdata);
}

static bool on_ready(void *userdata)
{
	struct agent_metrics *m = userdata;
	return m->agent->ready;
}

static bool on_healthy(void *userdata)
{
	struct agent_metrics *m = userdata;
	struct agent *a = m->agent;
	uint64_t now = now_usec(CLOCK_MONOTONIC);

	/* Alive while sampling ticks keep coming (a stuck loop would not answer at all). */
	return a->last_tick_usec == 0 ||
	       now - a->last_tick_usec < 10 * a->config.sample_interval_usec + 10 * USEC_PER_SEC;
}

static int on_recommendations(void *userdata, char **ret_body, size_t *ret_size)
{
	struct agent_metrics *m = userdata;
	char *j = agent_recommendations_json(m->agent);

	if (!j)
		return -ENOMEM;
	*ret_body = j;
	*ret_size = strlen(j);
	return 0;
}

int agent_metrics_listen(struct agent_metrics *m, const char *listen)
{
	struct metrics_http_handlers h = {
		.registry = m->reg,
		.before_scrape = on_before_scrape,
		.recommendations = on_recommendations,
		.ready = on_ready,
		.healthy = on_healthy,
		.userdata = m,
	};
	int r = metrics_http_new(m->agent->event, listen, &h, &m->http);

	if (r < 0)
		return log_error_errno(r, "Cannot listen on %s: %m", listen);
	log_info("Serving /metrics /healthz /readyz /recommendations on %s", listen);
	return 0;
}
