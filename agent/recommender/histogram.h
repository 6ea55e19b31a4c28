/* VPA's bucketed histograms (linear and exponential layouts) and the decaying histogram built on them. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

/* Times are int64 microseconds since the Unix epoch. Go's zero time.Time (0001-01-01T00:00:00Z) is
 * the initial reference of a decaying histogram and the "unset" value of sample times, as in VPA. */
#define REC_TIME_ZERO (-62135596800LL * 1000000LL)
#define REC_USEC_PER_SEC 1000000LL
#define REC_USEC_PER_HOUR (3600LL * REC_USEC_PER_SEC)

/* VPA's MaxCheckpointWeight: the largest bucket of a saved histogram is scaled to this. */
#define REC_MAX_CHECKPOINT_WEIGHT 10000U

enum rec_histogram_layout {
	REC_HISTOGRAM_LINEAR,
	REC_HISTOGRAM_EXPONENTIAL,
};

/* The bucketing scheme (VPA HistogramOptions); plain data so callers can keep it in a struct. */
struct rec_histogram_options {
	enum rec_histogram_layout layout;
	int num_buckets;
	/* Linear: the size of every bucket; exponential: the size of the first bucket. */
	double bucket_size;
	/* Exponential only: each bucket is `ratio` times wider than the previous one. */
	double ratio;
	/* A bucket lighter than this counts as empty. */
	double epsilon;
};

/* Bucket i covers [i*size, (i+1)*size); the last bucket starts at or beyond max_value. -EINVAL unless
 * all arguments are positive. */
int rec_histogram_options_linear(double max_value, double bucket_size, double epsilon,
				 struct rec_histogram_options *ret);
/* Bucket n >= 1 starts at first*(ratio^n - 1)/(ratio - 1). -EINVAL unless max, first, epsilon > 0 and
 * ratio > 1. */
int rec_histogram_options_exponential(double max_value, double first_bucket_size, double ratio,
				      double epsilon, struct rec_histogram_options *ret);
/* The bucket a value falls into, clamped to the first/last bucket. */
int rec_histogram_options_find_bucket(const struct rec_histogram_options *o, double value);
/* Start of bucket `bucket` (0 <= bucket < num_buckets). */
double rec_histogram_options_bucket_start(const struct rec_histogram_options *o, int bucket);

/* A dense histogram: `weights` has o->num_buckets entries and is owned by whoever set it up (the
 * aggregate state carves all its arrays out of one allocation). */
struct rec_histogram {
	const struct rec_histogram_options *options;
	double *weights;
	double total_weight;
	/* First/last bucket holding at least epsilon; min = last and max = 0 when empty. */
	int min_bucket;
	int max_bucket;
};

/* Points h at `weights` (num_buckets doubles) and clears it. */
void rec_histogram_init(struct rec_histogram *h, const struct rec_histogram_options *o,
			double *weights);
void rec_histogram_clear(struct rec_histogram *h);
void rec_histogram_add_sample(struct rec_histogram *h, double value, double weight);
/* Removes weight from value's bucket; a remainder below epsilon becomes 0 (VPA semantics). */
void rec_histogram_subtract_sample(struct rec_histogram *h, double value, double weight);
/* Adds other's buckets into h; -EINVAL when the layouts differ. */
int rec_histogram_merge(struct rec_histogram *h, const struct rec_histogram *other);
/* Multiplies all weights by factor >= 0 and drops buckets that fall under epsilon from min/max. */
void rec_histogram_scale(struct rec_histogram *h, double factor);
/* The end of the bucket where the cumulative weight reaches p * total (start of the last bucket);
 * 0 for an empty histogram. */
double rec_histogram_percentile(const struct rec_histogram *h, double p);
bool rec_histogram_is_empty(const struct rec_histogram *h);

/* The checkpoint form of a histogram: bucket -> integer weight, the largest scaled to 10000. */
struct rec_histogram_checkpoint {
	int64_t reference_usec;
	double total_weight;
	/* Dense, num_buckets entries owned by the caller; zero = bucket not stored. */
	uint32_t *bucket_weights;
	int num_buckets;
};

/* Fills cp->bucket_weights (cp->num_buckets must equal the layout's) and cp->total_weight. */
int rec_histogram_save(const struct rec_histogram *h, struct rec_histogram_checkpoint *cp);
/* Adds the checkpoint's weights to h (VPA LoadFromCheckpoint): -EINVAL on a negative total or a
 * bucket count that does not match the layout. */
int rec_histogram_load(struct rec_histogram *h, const struct rec_histogram_checkpoint *cp);

/* A histogram whose samples weigh 2^((t - reference) / half_life): newer samples count more. */
struct rec_decaying_histogram {
	struct rec_histogram h;
	int64_t half_life_usec;
	/* Always a multiple of half_life since REC_TIME_ZERO. */
	int64_t reference_usec;
};

void rec_decaying_histogram_init(struct rec_decaying_histogram *d,
				 const struct rec_histogram_options *o, double *weights,
				 int64_t half_life_usec);
void rec_decaying_histogram_clear(struct rec_decaying_histogram *d);
void rec_decaying_histogram_add_sample(struct rec_decaying_histogram *d, double value,
				       double weight, int64_t t_usec);
void rec_decaying_histogram_subtract_sample(struct rec_decaying_histogram *d, double value,
					    double weight, int64_t t_usec);
/* Aligns the older reference time with the younger one (renormalising whichever is older, so
 * `other` may be rescaled, as in VPA) and adds other into d. -EINVAL on different half-lives. */
int rec_decaying_histogram_merge(struct rec_decaying_histogram *d,
				 struct rec_decaying_histogram *other);
static inline double rec_decaying_histogram_percentile(const struct rec_decaying_histogram *d,
						       double p)
{
	return rec_histogram_percentile(&d->h, p);
}
static inline bool rec_decaying_histogram_is_empty(const struct rec_decaying_histogram *d)
{
	return rec_histogram_is_empty(&d->h);
}
int rec_decaying_histogram_save(const struct rec_decaying_histogram *d,
				struct rec_histogram_checkpoint *cp);
int rec_decaying_histogram_load(struct rec_decaying_histogram *d,
				const struct rec_histogram_checkpoint *cp);
