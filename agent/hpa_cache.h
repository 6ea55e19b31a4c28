/* The HorizontalPodAutoscalers of the namespaces of this node's managed pods: one LIST per
 * namespace, kept for --hpa-refresh, so that a request an HPA divides by is never changed. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct agent;
struct kube_hpa;
struct kube_pod;

struct hpa_namespace {
	struct agent *agent;
	char *name;
	bool answered;	       /* a LIST came back (answer or failure) at least once */
	bool in_flight;	       /* a LIST is on its way */
	bool failing;	       /* the last LIST failed (logged once until one succeeds) */
	uint64_t fetched_usec; /* CLOCK_MONOTONIC of the last answer */
	struct kube_hpa *hpas;
	size_t n_hpas;
	struct hpa_namespace *next;
};

/* Entries are never freed while the agent runs (a LIST in flight holds one): a node sees few
 * namespaces. */
struct hpa_cache {
	uint64_t refresh_usec; /* --hpa-refresh; 0 = HPAs are not looked up */
	struct hpa_namespace *namespaces;
	uint64_t lists, list_failures;
};

void hpa_cache_free_all(struct hpa_cache *c);
/* Starts a LIST of the namespace's HPAs unless one is in flight or the last answer is younger
 * than the refresh interval. */
void hpa_cache_refresh(struct agent *a, const char *namespace);
/* Whether a decision on this namespace's pods can be made: HPAs off, or the first LIST answered. */
bool hpa_cache_known(const struct agent *a, const char *namespace);
/* The HPA whose utilization divides by this container's CPU (*ret_cpu) or memory (*ret_memory)
 * request, by name (pointing into the cache, valid until the next answer), or NULL. */
void hpa_cache_pins(const struct agent *a, const struct kube_pod *pod, const char *container,
		    const char **ret_cpu, const char **ret_memory);
