/* Waiting longer after each failure: one exponential backoff, capped, with optional "equal jitter"
 * (half fixed, half random) so that agents on many nodes do not retry in step. */
#pragma once

#include <stdint.h>

/* first × 2^(failures−1), capped at max (failures 0 and 1 give first). */
uint64_t backoff_exponential(uint64_t first_usec, uint64_t max_usec, unsigned failures);

struct backoff {
	uint64_t first_usec, max_usec;
	uint64_t rng; /* xorshift64 state: jitter only, no need for a good generator */
};

void backoff_init(struct backoff *b, uint64_t first_usec, uint64_t max_usec, uint64_t seed);
/* The exponential delay for the n-th consecutive failure, spread over [d/2, d]. */
uint64_t backoff_jittered(struct backoff *b, unsigned failures);
