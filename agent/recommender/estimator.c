/* VPA's estimator chain (percentile, margin, confidence multiplier, minimum), in VPA's integer steps. */
#include "agent/recommender/recommender.h"

#include <errno.h>
#include <math.h>

int64_t rec_amount_from_float(double amount)
{
	if (amount > (double)REC_MAX_RESOURCE_AMOUNT)
		return REC_MAX_RESOURCE_AMOUNT;
	if (amount < 0)
		amount = 0;
	/* Go on amd64 turns NaN into INT64_MIN; the minimum-resource step then lifts it. */
	if (isnan(amount))
		return INT64_MIN;
	return (int64_t)amount;
}

int64_t rec_scale_resource(int64_t amount, double factor)
{
	return rec_amount_from_float((double)amount * factor);
}

int64_t rec_apply_margin(int64_t base, double fraction)
{
	return base + rec_scale_resource(base, fraction);
}

int64_t rec_apply_confidence(int64_t base, double multiplier, double exponent, double confidence)
{
	return rec_scale_resource(base, pow(1. + multiplier / confidence, exponent));
}

/* Go's Duration.Minutes(). */
static double duration_minutes(int64_t usec)
{
	int64_t min = usec / (60 * REC_USEC_PER_SEC), rest = usec % (60 * REC_USEC_PER_SEC);

	return (double)min + (double)rest / (60e6);
}

double rec_aggregate_confidence(const struct rec_aggregate *a, int64_t interval_usec)
{
	double lifespan =
		(double)(a->last_sample_usec - a->first_sample_usec) / (double)interval_usec;
	double samples = (double)a->total_samples / duration_minutes(interval_usec);

	return fmin(lifespan, samples);
}

static int64_t max64(int64_t a, int64_t b)
{
	return a > b ? a : b;
}

int rec_recommend(const struct rec_aggregate *a, int n_containers, struct rec_recommendation *ret)
{
	const struct rec_tunables *t = a->tunables;
	double fraction, conf_cpu, conf_mem, margin = t->recommendation_margin_fraction;
	int64_t min_cpu, min_mem;

	if (n_containers < 1)
		return -EINVAL;
	fraction = 1.0 / (double)n_containers;
	min_cpu = rec_scale_resource(
		rec_amount_from_float(t->pod_min_cpu_millicores * 0.001 * 1000.0), fraction);
	min_mem = rec_scale_resource(rec_amount_from_float(t->pod_min_memory_mb * 1024 * 1024),
				     fraction);
	conf_cpu = rec_aggregate_confidence(a, t->confidence_interval_cpu_usec);
	conf_mem = rec_aggregate_confidence(a, t->confidence_interval_memory_usec);

#define CPU_BASE(p) rec_amount_from_float(rec_decaying_histogram_percentile(&a->cpu, (p)) * 1000.0)
#define MEM_BASE(p) rec_amount_from_float(rec_decaying_histogram_percentile(&a->memory, (p)))
	*ret = (struct rec_recommendation){
		.target = {
			.cpu_millicores = max64(rec_apply_margin(CPU_BASE(t->target_cpu_percentile),
								 margin),
						min_cpu),
			.memory_bytes = max64(rec_apply_margin(MEM_BASE(t->target_memory_percentile),
							       margin),
					      min_mem),
		},
		/* Lower bound: x (1 + 0.001/conf)^-2, 0 without history. */
		.lower = {
			.cpu_millicores = max64(
				rec_apply_confidence(
					rec_apply_margin(CPU_BASE(t->lower_bound_cpu_percentile),
							 margin),
					0.001, -2.0, conf_cpu),
				min_cpu),
			.memory_bytes = max64(
				rec_apply_confidence(
					rec_apply_margin(MEM_BASE(t->lower_bound_memory_percentile),
							 margin),
					0.001, -2.0, conf_mem),
				min_mem),
		},
		/* Upper bound: x (1 + 1/conf), unbounded (1e14) without history. */
		.upper = {
			.cpu_millicores = max64(
				rec_apply_confidence(
					rec_apply_margin(CPU_BASE(t->upper_bound_cpu_percentile),
							 margin),
					1.0, 1.0, conf_cpu),
				min_cpu),
			.memory_bytes = max64(
				rec_apply_confidence(
					rec_apply_margin(MEM_BASE(t->upper_bound_memory_percentile),
							 margin),
					1.0, 1.0, conf_mem),
				min_mem),
		},
	};
#undef CPU_BASE
#undef MEM_BASE
	return 0;
}
