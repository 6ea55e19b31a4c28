/* Replaying a recorded history (CSV of 1 s readings) through the recommender, for `snug-agent recommend`. */
#pragma once

#include <stdint.h>
#include <stdio.h>

#include "agent/recommender/recommender.h"

struct rec_replay_options {
	int containers;		      /* minimums are split across this many containers */
	int64_t memory_request_bytes; /* the request an OOM is measured against */
};

/* Reads `unix_seconds,cpu_cores,memory_bytes,oom` rows (header line optional) from f into a fresh
 * aggregate and returns its recommendation. Rows are grouped into minutes on unix time // 60: each
 * minute's mean CPU is one sample at the minute's start; every row is a memory sample; oom=1 then
 * records an OOM at the row's time. On a bad row returns -EINVAL with *ret_line set to its number
 * and errbuf saying what is wrong. */
int rec_replay(FILE *f, const struct rec_tunables *t, const struct rec_replay_options *o,
	       struct rec_recommendation *ret, unsigned *ret_line, char *errbuf, size_t errsize);
