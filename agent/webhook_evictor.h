/* The controller loop of `snug-agent webhook`, the cluster-level side of the eviction fallback: a
 * label-selected watch of the pods whose node agent asked for an eviction
 * (snug.io/eviction-requested=true, written on its own node's pod), and for each the Eviction API,
 * PDB-aware (429: retried with backoff), with Events on the pod. The node agent asks, the cluster
 * component evicts: no node agent holds the right to evict. */
#pragma once

#include <stdint.h>
#include <systemd/sd-event.h>

#include "agent/webhook.h"

#define WEBHOOK_EVICTOR_SELECTOR "snug.io/eviction-requested=true"

struct kube_client;
struct webhook_evictor;

struct webhook_evictor_config {
	uint64_t backoff_min_usec; /* first retry after a 429 or an error (default 10 s) */
	uint64_t backoff_max_usec; /* doubling stops here (default 5 min) */
	unsigned max_attempts;	   /* errors other than 429 before giving up (default 5) */
};

/* kube must have been made with options.pod_label_selector = WEBHOOK_EVICTOR_SELECTOR (and no
 * node_name); its watch starts here. kube must outlive the evictor, or be freed first. */
int webhook_evictor_new(sd_event *event, struct kube_client *kube,
			const struct webhook_evictor_config *cfg, struct webhook_evictor **ret);
struct webhook_evictor *webhook_evictor_free(struct webhook_evictor *ev);
const struct webhook_eviction_stats *webhook_evictor_stats(const struct webhook_evictor *ev);
