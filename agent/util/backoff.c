/* One exponential backoff, capped, with optional equal jitter. */
#include "agent/util/backoff.h"

uint64_t backoff_exponential(uint64_t first_usec, uint64_t max_usec, unsigned failures)
{
	uint64_t d = first_usec;

	for (unsigned i = 1; i < failures && d < max_usec; i++)
		d *= 2;
	return d > max_usec ? max_usec : d;
}

void backoff_init(struct backoff *b, uint64_t first_usec, uint64_t max_usec, uint64_t seed)
{
	*b = (struct backoff){ .first_usec = first_usec,
			       .max_usec = max_usec < first_usec ? first_usec : max_usec,
			       .rng = seed ? seed : 1 };
}

uint64_t backoff_jittered(struct backoff *b, unsigned failures)
{
	uint64_t d = backoff_exponential(b->first_usec, b->max_usec, failures), x = b->rng;

	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	b->rng = x;
	return d / 2 + (d / 2 ? x % (d / 2 + 1) : 0);
}
