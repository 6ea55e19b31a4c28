/* The cross-node merge of a workload container's history (VPA's MergeContainerState over entries). */
#include "agent/recommender/merge.h"

#include <string.h>

static void histogram_copy(struct rec_decaying_histogram *dst,
			   const struct rec_decaying_histogram *src)
{
	memcpy(dst->h.weights, src->h.weights,
	       sizeof(double) * (size_t)src->h.options->num_buckets);
	dst->h.total_weight = src->h.total_weight;
	dst->h.min_bucket = src->h.min_bucket;
	dst->h.max_bucket = src->h.max_bucket;
	dst->half_life_usec = src->half_life_usec;
	dst->reference_usec = src->reference_usec;
}

void rec_aggregate_copy(struct rec_aggregate *dst, const struct rec_aggregate *src)
{
	histogram_copy(&dst->cpu, &src->cpu);
	histogram_copy(&dst->memory, &src->memory);
	dst->first_sample_usec = src->first_sample_usec;
	dst->last_sample_usec = src->last_sample_usec;
	dst->total_samples = src->total_samples;
	dst->creation_usec = src->creation_usec;
	dst->last_oom_usec = src->last_oom_usec;
	dst->last_oom_memory_bytes = src->last_oom_memory_bytes;
}

int rec_aggregate_merged(const struct rec_aggregate *local, struct rec_aggregate *const *others,
			 size_t n_others, struct rec_aggregate *ret_view)
{
	int r;

	rec_aggregate_copy(ret_view, local);
	for (size_t i = 0; i < n_others; i++) {
		r = rec_aggregate_merge(ret_view, others[i]);
		if (r < 0)
			return r;
	}
	return 0;
}
