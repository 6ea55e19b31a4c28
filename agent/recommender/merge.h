/* A workload container's history merged across nodes: the node's own aggregate and the entries
 * other nodes shared through the API, combined by VPA's rules. Pure: no I/O, no clock. */
#pragma once

#include <stddef.h>

#include "agent/recommender/recommender.h"

/* dst becomes a copy of src (both made from the same tunables; dst keeps its own buckets). */
void rec_aggregate_copy(struct rec_aggregate *dst, const struct rec_aggregate *src);

/* The merged view: `local` copied into ret_view, then each of others[] merged into it with VPA's
 * MergeContainerState (histograms added after aligning the older reference time with the younger:
 * weights x 2^round(dt/half-life); first sample = earliest, last = latest, counts summed, the
 * latest OOM). others[] may be renormalised in place (a shift of reference time, same history).
 * -EINVAL when an aggregate has another layout; ret_view is then unspecified. */
int rec_aggregate_merged(const struct rec_aggregate *local, struct rec_aggregate *const *others,
			 size_t n_others, struct rec_aggregate *ret_view);
