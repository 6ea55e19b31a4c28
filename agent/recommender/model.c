/* VPA's container model: aggregate history per container identity and the per-instance feed that fills it. */
#include "agent/recommender/recommender.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>

#define DAY_USEC (24LL * REC_USEC_PER_HOUR)
#define MINUTE_USEC (60LL * REC_USEC_PER_SEC)

void rec_tunables_init_default(struct rec_tunables *ret)
{
	*ret = (struct rec_tunables){
		.cpu_histogram_decay_half_life_usec = DAY_USEC,
		.memory_histogram_decay_half_life_usec = DAY_USEC,
		.memory_aggregation_interval_usec = DAY_USEC,
		.memory_aggregation_interval_count = 8,
		.target_cpu_percentile = 0.9,
		.lower_bound_cpu_percentile = 0.5,
		.upper_bound_cpu_percentile = 0.95,
		.target_memory_percentile = 0.9,
		.lower_bound_memory_percentile = 0.5,
		.upper_bound_memory_percentile = 0.95,
		.recommendation_margin_fraction = 0.15,
		.pod_min_cpu_millicores = 25,
		.pod_min_memory_mb = 250,
		.oom_bump_up_ratio = REC_OOM_BUMP_UP_RATIO,
		.oom_min_bump_up_bytes = REC_OOM_MIN_BUMP_UP_BYTES,
		.confidence_interval_cpu_usec = DAY_USEC,
		.confidence_interval_memory_usec = DAY_USEC,
		.cpu_sample_weight = 0.1,
	};
	/* epsilon = 0.001 x minSampleWeight: an 8-day-old minimum-weight sample still counts. */
	(void)rec_histogram_options_exponential(1000.0, 0.01, 1.05, 0.001 * 0.1,
						&ret->cpu_histogram);
	(void)rec_histogram_options_exponential(1e12, 1e7, 1.05, 0.001 * 0.1,
						&ret->memory_histogram);
}

static bool is_fraction(double p)
{
	return p >= 0.0 && p <= 1.0;
}

int rec_tunables_validate(const struct rec_tunables *t)
{
	if (t->cpu_histogram_decay_half_life_usec <= 0 ||
	    t->memory_histogram_decay_half_life_usec <= 0 ||
	    t->memory_aggregation_interval_usec <= 0 || t->memory_aggregation_interval_count <= 0 ||
	    t->confidence_interval_cpu_usec <= 0 || t->confidence_interval_memory_usec <= 0)
		return -EINVAL;
	if (t->memory_aggregation_interval_count > INT64_MAX / t->memory_aggregation_interval_usec)
		return -EINVAL;
	if (!is_fraction(t->target_cpu_percentile) || !is_fraction(t->lower_bound_cpu_percentile) ||
	    !is_fraction(t->upper_bound_cpu_percentile) ||
	    !is_fraction(t->target_memory_percentile) ||
	    !is_fraction(t->lower_bound_memory_percentile) ||
	    !is_fraction(t->upper_bound_memory_percentile))
		return -EINVAL;
	if (!(t->recommendation_margin_fraction >= 0.0) || !(t->pod_min_cpu_millicores >= 0.0) ||
	    !(t->pod_min_memory_mb >= 0.0) || !(t->oom_bump_up_ratio >= 1.0) ||
	    !(t->oom_min_bump_up_bytes >= 0.0) || !(t->cpu_sample_weight > 0.0))
		return -EINVAL;
	if (!isfinite(t->recommendation_margin_fraction) || !isfinite(t->pod_min_cpu_millicores) ||
	    !isfinite(t->pod_min_memory_mb) || !isfinite(t->oom_bump_up_ratio) ||
	    !isfinite(t->oom_min_bump_up_bytes) || !isfinite(t->cpu_sample_weight))
		return -EINVAL;
	if (t->cpu_histogram.num_buckets < 1 || t->memory_histogram.num_buckets < 1)
		return -EINVAL;
	return 0;
}

int64_t rec_tunables_history_window_usec(const struct rec_tunables *t)
{
	return t->memory_aggregation_interval_usec * t->memory_aggregation_interval_count;
}

int rec_aggregate_new(const struct rec_tunables *t, int64_t now_usec, struct rec_aggregate **ret)
{
	size_t ncpu = (size_t)t->cpu_histogram.num_buckets;
	size_t nmem = (size_t)t->memory_histogram.num_buckets;
	struct rec_aggregate *a;

	a = malloc(sizeof(*a) + sizeof(double) * (ncpu + nmem));
	if (!a)
		return -ENOMEM;
	a->tunables = t;
	rec_decaying_histogram_init(&a->cpu, &t->cpu_histogram, a->buckets,
				    t->cpu_histogram_decay_half_life_usec);
	rec_decaying_histogram_init(&a->memory, &t->memory_histogram, a->buckets + ncpu,
				    t->memory_histogram_decay_half_life_usec);
	a->first_sample_usec = REC_TIME_ZERO;
	a->last_sample_usec = REC_TIME_ZERO;
	a->total_samples = 0;
	a->creation_usec = now_usec;
	a->last_oom_usec = REC_TIME_ZERO;
	a->last_oom_memory_bytes = 0;
	*ret = a;
	return 0;
}

void rec_aggregate_free(struct rec_aggregate *a)
{
	free(a);
}

int rec_aggregate_merge(struct rec_aggregate *a, struct rec_aggregate *other)
{
	int r;

	r = rec_decaying_histogram_merge(&a->cpu, &other->cpu);
	if (r < 0)
		return r;
	r = rec_decaying_histogram_merge(&a->memory, &other->memory);
	if (r < 0)
		return r;
	if (a->first_sample_usec == REC_TIME_ZERO ||
	    (other->first_sample_usec != REC_TIME_ZERO &&
	     other->first_sample_usec < a->first_sample_usec))
		a->first_sample_usec = other->first_sample_usec;
	if (other->last_sample_usec > a->last_sample_usec)
		a->last_sample_usec = other->last_sample_usec;
	a->total_samples += other->total_samples;
	if (other->last_oom_usec > a->last_oom_usec) {
		a->last_oom_usec = other->last_oom_usec;
		a->last_oom_memory_bytes = other->last_oom_memory_bytes;
	}
	return 0;
}

bool rec_aggregate_is_expired(const struct rec_aggregate *a, int64_t now_usec)
{
	int64_t window = rec_tunables_history_window_usec(a->tunables);

	if (a->total_samples == 0)
		return now_usec - a->creation_usec >= window;
	return now_usec - a->last_sample_usec >= window;
}

void rec_aggregate_add_cpu_sample(struct rec_aggregate *a, int64_t t_usec, int64_t millicores)
{
	rec_decaying_histogram_add_sample(&a->cpu, (double)millicores / 1000.0,
					  a->tunables->cpu_sample_weight, t_usec);
	if (t_usec > a->last_sample_usec)
		a->last_sample_usec = t_usec;
	if (a->first_sample_usec == REC_TIME_ZERO || t_usec < a->first_sample_usec)
		a->first_sample_usec = t_usec;
	a->total_samples++;
}

void rec_container_init(struct rec_container *c, struct rec_aggregate *a)
{
	*c = (struct rec_container){
		.aggregate = a,
		.last_cpu_sample_usec = REC_TIME_ZERO,
		.window_end_usec = REC_TIME_ZERO,
		.last_memory_sample_usec = REC_TIME_ZERO,
	};
}

int rec_container_add_cpu_sample(struct rec_container *c, int64_t t_usec, int64_t millicores)
{
	/* Invalid, duplicate or out-of-order samples are discarded. */
	if (millicores < 0 || t_usec <= c->last_cpu_sample_usec)
		return 0;
	rec_aggregate_add_cpu_sample(c->aggregate, t_usec, millicores);
	c->last_cpu_sample_usec = t_usec;
	return 1;
}

static int64_t floor_div(int64_t a, int64_t b)
{
	int64_t q = a / b;

	if ((a % b != 0) && ((a < 0) != (b < 0)))
		q--;
	return q;
}

int rec_container_flush_cpu(struct rec_container *c)
{
	double mean;

	if (c->cpu_readings == 0)
		return 0;
	mean = c->cpu_sum / (double)c->cpu_readings;
	c->cpu_sum = 0.0;
	c->cpu_readings = 0;
	/* VPA keeps CPU as int64 millicores: CPUAmountFromCores(mean). */
	return rec_container_add_cpu_sample(c, c->minute * MINUTE_USEC,
					    rec_amount_from_float(mean * 1000.0));
}

int rec_container_add_cpu_reading(struct rec_container *c, int64_t t_usec, double cores)
{
	int64_t minute = floor_div(t_usec, MINUTE_USEC);
	int r = 0;

	if (!(cores >= 0.0) || !isfinite(cores))
		return -EINVAL;
	if (c->cpu_readings > 0 && minute != c->minute)
		r = rec_container_flush_cpu(c);
	if (c->cpu_readings == 0)
		c->minute = minute;
	c->cpu_sum += cores;
	c->cpu_readings++;
	return r;
}

/* Go's Duration truncate: toward zero to a multiple of m. */
static int64_t truncate_duration(int64_t d, int64_t m)
{
	return d - d % m;
}

static int add_memory_sample(struct rec_container *c, int64_t ts, int64_t usage, bool is_oom)
{
	struct rec_aggregate *a = c->aggregate;
	bool add_new_peak = false;

	/* OOM samples are always processed, even when older than the last usage sample. */
	if (usage < 0 || (!is_oom && ts < c->last_memory_sample_usec))
		return 0;
	c->last_memory_sample_usec = ts;
	if (c->window_end_usec == REC_TIME_ZERO)
		c->window_end_usec = ts;

	if (ts < c->window_end_usec) {
		int64_t old_max = rec_container_max_memory_peak(c);

		/* VPA quirk kept on purpose: an interval whose peak is 0 never gets a new peak. */
		if (old_max != 0 && usage > old_max) {
			rec_decaying_histogram_subtract_sample(&a->memory, (double)old_max, 1.0,
							       c->window_end_usec);
			add_new_peak = true;
		}
	} else {
		int64_t interval = a->tunables->memory_aggregation_interval_usec;
		int64_t shift = truncate_duration(ts - c->window_end_usec, interval) + interval;

		c->window_end_usec += shift;
		c->memory_peak = 0;
		c->oom_peak = 0;
		add_new_peak = true;
	}
	if (add_new_peak) {
		rec_decaying_histogram_add_sample(&a->memory, (double)usage, 1.0,
						  c->window_end_usec);
		if (is_oom)
			c->oom_peak = usage;
		else
			c->memory_peak = usage;
	}
	return 1;
}

int rec_container_add_memory_sample(struct rec_container *c, int64_t t_usec, int64_t bytes)
{
	return add_memory_sample(c, t_usec, bytes, false);
}

int rec_container_add_memory_reading(struct rec_container *c, int64_t t_usec, int64_t bytes)
{
	return add_memory_sample(c, t_usec, bytes, false);
}

int64_t rec_oom_bump(int64_t used, double ratio, double min_bump_bytes)
{
	int64_t needed = used + rec_amount_from_float(min_bump_bytes);
	int64_t bumped = rec_scale_resource(used, ratio);

	return bumped > needed ? bumped : needed;
}

int rec_container_record_oom(struct rec_container *c, int64_t t_usec, int64_t memory_request_bytes)
{
	const struct rec_tunables *t = c->aggregate->tunables;
	int64_t used, needed;

	if (t_usec < c->window_end_usec - t->memory_aggregation_interval_usec)
		return -ESTALE;
	/* The OOM peak is left out so repeated OOMs do not compound the bump. */
	used = memory_request_bytes > c->memory_peak ? memory_request_bytes : c->memory_peak;
	needed = rec_oom_bump(used, t->oom_bump_up_ratio, t->oom_min_bump_up_bytes);
	if (add_memory_sample(c, t_usec, needed, true) <= 0)
		return -EINVAL;
	if (t_usec >= c->aggregate->last_oom_usec) {
		c->aggregate->last_oom_usec = t_usec;
		c->aggregate->last_oom_memory_bytes = needed;
	}
	return 0;
}
