/* What the agent counts and exports: the glue between the agent's state and /metrics, /recommendations. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct agent;
struct agent_container;
struct agent_metrics;

int agent_metrics_new(struct agent *a, struct agent_metrics **ret);
void agent_metrics_free(struct agent_metrics *m);
/* Starts the HTTP endpoint (/metrics /healthz /readyz /recommendations) on "[addr]:port". */
int agent_metrics_listen(struct agent_metrics *m, const char *listen);

/* Events the agent reports; m may be NULL (then they are dropped). */
void agent_metrics_resize(struct agent_metrics *m, const char *result);
void agent_metrics_oom_kill(struct agent_metrics *m, const char *source, uint64_t kills);
/* A kill in a tracked container, by the limit it enforced (container-limit, pod-limit, node). */
void agent_metrics_oom_cause(struct agent_metrics *m, const char *cause);
void agent_metrics_oom_source(struct agent_metrics *m, const char *source);
void agent_metrics_oom_to_resize(struct agent_metrics *m, uint64_t usec);
void agent_metrics_sample_duration(struct agent_metrics *m, uint64_t usec);
void agent_metrics_tracked(struct agent_metrics *m, size_t n);
void agent_metrics_bad_annotations(struct agent_metrics *m, const char *namespace, const char *pod,
				   bool bad);
void agent_metrics_resize_path(struct agent_metrics *m, const char *path);
void agent_metrics_recommendation(struct agent_metrics *m, const struct agent_container *c);
void agent_metrics_container_gone(struct agent_metrics *m, const struct agent_container *c);
/* Drops a deleted pod's series (its bad-annotation counter), so /metrics does not grow with churn. */
void agent_metrics_pod_gone(struct agent_metrics *m, const char *namespace, const char *pod);
void agent_metrics_checkpoint_error(struct agent_metrics *m);
void agent_metrics_cgroup_write_error(struct agent_metrics *m);
/* A signal waited for the cooldown: its container's budget of grows inside it was spent. */
void agent_metrics_bypass_budget_spent(struct agent_metrics *m);
/* This node's allocatable (millicores, bytes), or known=false to drop the series: unknown. */
void agent_metrics_node_allocatable(struct agent_metrics *m, bool known, int64_t cpu_millis,
				    int64_t memory_bytes);
/* A failed read of this node's Node object; why: the outcome ("not-found", "invalid", ...). */
void agent_metrics_node_read_error(struct agent_metrics *m, const char *why);
