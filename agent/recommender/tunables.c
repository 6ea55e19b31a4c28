/* The recommender tunables by VPA flag name, so the agent and `recommend` expose them the same way. */
#include <errno.h>
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "agent/recommender/recommender.h"
#include "agent/util/parse.h"

enum kind { DURATION, COUNT, FRACTION, NUMBER };

static const struct {
	struct rec_tunable_info info;
	enum kind kind;
	size_t offset;
} table[] = {
#define T(name, kind, field, help)                                                                 \
	{                                                                                          \
		{ name, help }, kind, offsetof(struct rec_tunables, field)                         \
	}
	T("cpu-histogram-decay-half-life", DURATION, cpu_histogram_decay_half_life_usec,
	  "half-life of CPU sample weights (24h)"),
	T("memory-histogram-decay-half-life", DURATION, memory_histogram_decay_half_life_usec,
	  "half-life of memory peak weights (24h)"),
	T("memory-aggregation-interval", DURATION, memory_aggregation_interval_usec,
	  "one memory peak per container per interval (24h)"),
	T("memory-aggregation-interval-count", COUNT, memory_aggregation_interval_count,
	  "intervals of history kept (8)"),
	T("target-cpu-percentile", FRACTION, target_cpu_percentile,
	  "CPU usage percentile for the target (0.9)"),
	T("recommendation-lower-bound-cpu-percentile", FRACTION, lower_bound_cpu_percentile,
	  "CPU usage percentile for the lower bound (0.5)"),
	T("recommendation-upper-bound-cpu-percentile", FRACTION, upper_bound_cpu_percentile,
	  "CPU usage percentile for the upper bound (0.95)"),
	T("target-memory-percentile", FRACTION, target_memory_percentile,
	  "memory peak percentile for the target (0.9)"),
	T("recommendation-lower-bound-memory-percentile", FRACTION, lower_bound_memory_percentile,
	  "memory peak percentile for the lower bound (0.5)"),
	T("recommendation-upper-bound-memory-percentile", FRACTION, upper_bound_memory_percentile,
	  "memory peak percentile for the upper bound (0.95)"),
	T("recommendation-margin-fraction", NUMBER, recommendation_margin_fraction,
	  "safety margin added to every value (0.15)"),
	T("pod-recommendation-min-cpu-millicores", NUMBER, pod_min_cpu_millicores,
	  "minimum CPU per pod, split across its containers (25)"),
	T("pod-recommendation-min-memory-mb", NUMBER, pod_min_memory_mb,
	  "minimum memory per pod in MiB, split across its containers (250)"),
	T("oom-bump-up-ratio", NUMBER, oom_bump_up_ratio,
	  "memory after an OOM kill is at least this times what was used (1.2)"),
	T("oom-min-bump-up-bytes", NUMBER, oom_min_bump_up_bytes,
	  "and at least this many bytes more (104857600)"),
	T("confidence-interval-cpu", DURATION, confidence_interval_cpu_usec,
	  "history length that counts as confidence 1 for the CPU bounds (24h)"),
	T("confidence-interval-memory", DURATION, confidence_interval_memory_usec,
	  "history length that counts as confidence 1 for the memory bounds (24h)"),
#undef T
};

const struct rec_tunable_info *rec_tunable_info(size_t i)
{
	return i < sizeof(table) / sizeof(table[0]) ? &table[i].info : NULL;
}

int rec_parse_duration(const char *s, int64_t *ret_usec)
{
	static const struct {
		const char *unit;
		double usec;
	} units[] = {
		/* Longest first so "ms" is not read as "m". */
		{ "ns", 1e-3 }, { "us", 1 },   { "\xc2\xb5s", 1 }, { "ms", 1e3 },
		{ "s", 1e6 },	{ "m", 60e6 }, { "h", 3600e6 },
	};
	double total = 0;

	if (!s || !*s)
		return -EINVAL;
	if (strcmp(s, "0") == 0) {
		*ret_usec = 0;
		return 0;
	}
	while (*s) {
		char num[32];
		size_t n = strspn(s, "0123456789."), u;
		double v;
		bool found = false;

		if (n == 0 || n >= sizeof(num))
			return -EINVAL;
		memcpy(num, s, n);
		num[n] = '\0';
		if (safe_atod(num, &v) < 0)
			return -EINVAL;
		s += n;
		for (u = 0; u < sizeof(units) / sizeof(units[0]); u++) {
			size_t l = strlen(units[u].unit);

			if (strncmp(s, units[u].unit, l) == 0 &&
			    !(units[u].unit[0] == 'm' && l == 1 && s[1] == 's')) {
				total += v * units[u].usec;
				s += l;
				found = true;
				break;
			}
		}
		if (!found)
			return -EINVAL;
	}
	if (!(total < 9e18))
		return -ERANGE;
	*ret_usec = (int64_t)total;
	return 0;
}

int rec_tunables_set(struct rec_tunables *t, const char *name, const char *value)
{
	for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++) {
		void *field = (char *)t + table[i].offset;
		uint64_t u;
		double d;
		int64_t us;

		if (strcmp(name, table[i].info.name) != 0)
			continue;
		switch (table[i].kind) {
		case DURATION:
			if (rec_parse_duration(value, &us) < 0 || us <= 0)
				return -EINVAL;
			*(int64_t *)field = us;
			return 0;
		case COUNT:
			if (safe_atou64(value, &u) < 0 || u < 1 || u > 100000)
				return -EINVAL;
			*(int64_t *)field = (int64_t)u;
			return 0;
		case FRACTION:
			if (safe_atod(value, &d) < 0 || d < 0 || d > 1)
				return -EINVAL;
			*(double *)field = d;
			return 0;
		case NUMBER:
			if (safe_atod(value, &d) < 0 || d < 0)
				return -EINVAL;
			*(double *)field = d;
			return 0;
		}
	}
	return -ENOENT;
}
