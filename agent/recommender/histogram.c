/* VPA's histograms, reproduced operation by operation so percentiles match the Go recommender bit for bit. */
#include "agent/recommender/histogram.h"

#include <errno.h>
#include <math.h>
#include <string.h>

int rec_histogram_options_linear(double max_value, double bucket_size, double epsilon,
				 struct rec_histogram_options *ret)
{
	double n;

	if (!(max_value > 0.0) || !(bucket_size > 0.0) || !(epsilon > 0.0))
		return -EINVAL;
	n = ceil(max_value / bucket_size) + 1;
	if (!(n <= 1e6))
		return -EINVAL;
	*ret = (struct rec_histogram_options){
		.layout = REC_HISTOGRAM_LINEAR,
		.num_buckets = (int)n,
		.bucket_size = bucket_size,
		.epsilon = epsilon,
	};
	return 0;
}

/* Go's log(base, x) helper: the same two natural logs, so bucket edges round the same way. */
static double log_base(double base, double x)
{
	return log(x) / log(base);
}

int rec_histogram_options_exponential(double max_value, double first_bucket_size, double ratio,
				      double epsilon, struct rec_histogram_options *ret)
{
	double n;

	if (!(max_value > 0.0) || !(first_bucket_size > 0.0) || !(ratio > 1.0) || !(epsilon > 0.0))
		return -EINVAL;
	n = ceil(log_base(ratio, max_value * (ratio - 1) / first_bucket_size + 1)) + 1;
	if (!(n <= 1e6))
		return -EINVAL;
	*ret = (struct rec_histogram_options){
		.layout = REC_HISTOGRAM_EXPONENTIAL,
		.num_buckets = (int)n,
		.bucket_size = first_bucket_size,
		.ratio = ratio,
		.epsilon = epsilon,
	};
	return 0;
}

int rec_histogram_options_find_bucket(const struct rec_histogram_options *o, double value)
{
	double b;

	if (o->layout == REC_HISTOGRAM_LINEAR) {
		b = value / o->bucket_size;
		/* Go converts with int(), truncating toward zero, so (-1, 0) lands in bucket 0 too. */
		if (!(b >= 0.0))
			return 0;
	} else {
		if (!(value >= o->bucket_size))
			return 0;
		b = log_base(o->ratio, value * (o->ratio - 1) / o->bucket_size + 1);
	}
	if (b >= (double)o->num_buckets)
		return o->num_buckets - 1;
	return (int)b;
}

double rec_histogram_options_bucket_start(const struct rec_histogram_options *o, int bucket)
{
	if (o->layout == REC_HISTOGRAM_LINEAR)
		return (double)bucket * o->bucket_size;
	if (bucket == 0)
		return 0.0;
	return o->bucket_size * (pow(o->ratio, (double)bucket) - 1) / (o->ratio - 1);
}

void rec_histogram_init(struct rec_histogram *h, const struct rec_histogram_options *o,
			double *weights)
{
	h->options = o;
	h->weights = weights;
	rec_histogram_clear(h);
}

void rec_histogram_clear(struct rec_histogram *h)
{
	memset(h->weights, 0, sizeof(double) * (size_t)h->options->num_buckets);
	h->total_weight = 0.0;
	h->min_bucket = h->options->num_buckets - 1;
	h->max_bucket = 0;
}

void rec_histogram_add_sample(struct rec_histogram *h, double value, double weight)
{
	int b;

	if (!(weight >= 0.0))
		return;
	b = rec_histogram_options_find_bucket(h->options, value);
	h->weights[b] += weight;
	h->total_weight += weight;
	if (b < h->min_bucket && h->weights[b] >= h->options->epsilon)
		h->min_bucket = b;
	if (b > h->max_bucket && h->weights[b] >= h->options->epsilon)
		h->max_bucket = b;
}

static void update_min_max(struct rec_histogram *h)
{
	double eps = h->options->epsilon;
	int last = h->options->num_buckets - 1;

	while (h->weights[h->min_bucket] < eps && h->min_bucket < last)
		h->min_bucket++;
	while (h->weights[h->max_bucket] < eps && h->max_bucket > 0)
		h->max_bucket--;
}

void rec_histogram_subtract_sample(struct rec_histogram *h, double value, double weight)
{
	int b;

	if (!(weight >= 0.0))
		return;
	b = rec_histogram_options_find_bucket(h->options, value);
	if (weight > h->weights[b] - h->options->epsilon)
		weight = h->weights[b];
	h->total_weight -= weight;
	h->weights[b] -= weight;
	update_min_max(h);
}

static bool options_equal(const struct rec_histogram_options *a,
			  const struct rec_histogram_options *b)
{
	return a == b || (a->layout == b->layout && a->num_buckets == b->num_buckets &&
			  a->bucket_size == b->bucket_size && a->ratio == b->ratio &&
			  a->epsilon == b->epsilon);
}

int rec_histogram_merge(struct rec_histogram *h, const struct rec_histogram *other)
{
	if (!options_equal(h->options, other->options))
		return -EINVAL;
	for (int b = other->min_bucket; b <= other->max_bucket; b++)
		h->weights[b] += other->weights[b];
	h->total_weight += other->total_weight;
	if (other->min_bucket < h->min_bucket)
		h->min_bucket = other->min_bucket;
	if (other->max_bucket > h->max_bucket)
		h->max_bucket = other->max_bucket;
	return 0;
}

void rec_histogram_scale(struct rec_histogram *h, double factor)
{
	if (!(factor >= 0.0))
		return;
	for (int b = h->min_bucket; b <= h->max_bucket; b++)
		h->weights[b] *= factor;
	h->total_weight *= factor;
	update_min_max(h);
}

bool rec_histogram_is_empty(const struct rec_histogram *h)
{
	return h->weights[h->min_bucket] < h->options->epsilon;
}

double rec_histogram_percentile(const struct rec_histogram *h, double p)
{
	double partial = 0.0, threshold;
	int b;

	if (rec_histogram_is_empty(h))
		return 0.0;
	threshold = p * h->total_weight;
	for (b = h->min_bucket; b < h->max_bucket; b++) {
		partial += h->weights[b];
		if (partial >= threshold)
			break;
	}
	if (b < h->options->num_buckets - 1)
		return rec_histogram_options_bucket_start(h->options, b + 1);
	/* The last bucket has no end. */
	return rec_histogram_options_bucket_start(h->options, b);
}

/* Go's round(): floor(x + 0.5), halves away from -inf. */
static double go_round(double x)
{
	return floor(x + 0.5);
}

int rec_histogram_save(const struct rec_histogram *h, struct rec_histogram_checkpoint *cp)
{
	double max = 0.0, ratio;

	if (cp->num_buckets != h->options->num_buckets)
		return -EINVAL;
	memset(cp->bucket_weights, 0, sizeof(uint32_t) * (size_t)cp->num_buckets);
	cp->total_weight = h->total_weight;
	for (int b = h->min_bucket; b <= h->max_bucket; b++)
		if (h->weights[b] > max)
			max = h->weights[b];
	if (!(max > 0.0))
		return 0;
	ratio = (double)REC_MAX_CHECKPOINT_WEIGHT / max;
	for (int b = h->min_bucket; b <= h->max_bucket; b++) {
		double w = go_round(h->weights[b] * ratio);
		if (w > 0.0)
			cp->bucket_weights[b] = (uint32_t)w;
	}
	return 0;
}

int rec_histogram_load(struct rec_histogram *h, const struct rec_histogram_checkpoint *cp)
{
	int64_t sum = 0;
	double ratio;

	if (!(cp->total_weight >= 0.0) || !isfinite(cp->total_weight))
		return -EINVAL;
	if (cp->num_buckets != h->options->num_buckets)
		return -EINVAL;
	for (int b = 0; b < cp->num_buckets; b++)
		sum += cp->bucket_weights[b];
	if (sum == 0)
		return 0;
	ratio = cp->total_weight / (double)sum;
	for (int b = 0; b < cp->num_buckets; b++) {
		if (cp->bucket_weights[b] == 0)
			continue;
		if (b < h->min_bucket)
			h->min_bucket = b;
		if (b > h->max_bucket)
			h->max_bucket = b;
		h->weights[b] += (double)cp->bucket_weights[b] * ratio;
	}
	h->total_weight += cp->total_weight;
	return 0;
}

/* VPA renormalises once a factor would exceed 2^100. */
#define MAX_DECAY_EXPONENT 100

void rec_decaying_histogram_init(struct rec_decaying_histogram *d,
				 const struct rec_histogram_options *o, double *weights,
				 int64_t half_life_usec)
{
	rec_histogram_init(&d->h, o, weights);
	d->half_life_usec = half_life_usec;
	d->reference_usec = REC_TIME_ZERO;
}

void rec_decaying_histogram_clear(struct rec_decaying_histogram *d)
{
	rec_histogram_clear(&d->h);
	d->reference_usec = REC_TIME_ZERO;
}

/* Go's Time.Round(d): nearest multiple of d since the zero time, halves rounding up. */
static int64_t round_to_half_life(int64_t t, int64_t hl)
{
	int64_t r = (t - REC_TIME_ZERO) % hl;

	if (r < 0)
		r += hl;
	if (r + r < hl)
		return t - r;
	return t + (hl - r);
}

static void shift_reference(struct rec_decaying_histogram *d, int64_t new_ref)
{
	double e;

	new_ref = round_to_half_life(new_ref, d->half_life_usec);
	e = go_round((double)(d->reference_usec - new_ref) / (double)d->half_life_usec);
	/* Beyond ±4000 ldexp already gives 0 or inf; clamping keeps the int conversion defined. */
	if (e < -4000)
		e = -4000;
	if (e > 4000)
		e = 4000;
	rec_histogram_scale(&d->h, ldexp(1.0, (int)e));
	d->reference_usec = new_ref;
}

static double decay_factor(struct rec_decaying_histogram *d, int64_t t)
{
	int64_t max_allowed = d->reference_usec + d->half_life_usec * MAX_DECAY_EXPONENT;

	if (t > max_allowed)
		shift_reference(d, t);
	return exp2((double)(t - d->reference_usec) / (double)d->half_life_usec);
}

void rec_decaying_histogram_add_sample(struct rec_decaying_histogram *d, double value,
				       double weight, int64_t t_usec)
{
	rec_histogram_add_sample(&d->h, value, weight * decay_factor(d, t_usec));
}

void rec_decaying_histogram_subtract_sample(struct rec_decaying_histogram *d, double value,
					    double weight, int64_t t_usec)
{
	rec_histogram_subtract_sample(&d->h, value, weight * decay_factor(d, t_usec));
}

int rec_decaying_histogram_merge(struct rec_decaying_histogram *d,
				 struct rec_decaying_histogram *other)
{
	if (d->half_life_usec != other->half_life_usec)
		return -EINVAL;
	if (!options_equal(d->h.options, other->h.options))
		return -EINVAL;
	if (d->reference_usec < other->reference_usec)
		shift_reference(d, other->reference_usec);
	else if (other->reference_usec < d->reference_usec)
		shift_reference(other, d->reference_usec);
	return rec_histogram_merge(&d->h, &other->h);
}

int rec_decaying_histogram_save(const struct rec_decaying_histogram *d,
				struct rec_histogram_checkpoint *cp)
{
	int r = rec_histogram_save(&d->h, cp);

	if (r < 0)
		return r;
	cp->reference_usec = d->reference_usec;
	return 0;
}

int rec_decaying_histogram_load(struct rec_decaying_histogram *d,
				const struct rec_histogram_checkpoint *cp)
{
	int r = rec_histogram_load(&d->h, cp);

	if (r < 0)
		return r;
	d->reference_usec = cp->reference_usec;
	return 0;
}
