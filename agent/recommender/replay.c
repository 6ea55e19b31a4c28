/* CSV history replay: the exact, documented feeding order that makes `recommend --replay` reproducible. */
#include "agent/recommender/replay.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "agent/util/cleanup.h"
#include "agent/util/parse.h"

DEFINE_TRIVIAL_CLEANUP_FUNC(struct rec_aggregate *, rec_aggregate_free)

static int fail(char *errbuf, size_t errsize, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(errbuf, errsize, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

/* Whole seconds are taken exactly; fractions are rounded to the microsecond. */
static int parse_time(const char *s, int64_t *ret)
{
	int64_t secs;
	double d;

	if (safe_atoi64(s, &secs) == 0) {
		if (secs > INT64_MAX / 1000000 || secs < INT64_MIN / 1000000)
			return -ERANGE;
		*ret = secs * 1000000;
		return 0;
	}
	if (safe_atod(s, &d) < 0 || fabs(d) > 9e12)
		return -EINVAL;
	*ret = (int64_t)llround(d * 1e6);
	return 0;
}

static char *trim(char *s)
{
	char *e;

	while (isspace((unsigned char)*s))
		s++;
	e = s + strlen(s);
	while (e > s && isspace((unsigned char)e[-1]))
		*--e = '\0';
	return s;
}

int rec_replay(FILE *f, const struct rec_tunables *t, const struct rec_replay_options *o,
	       struct rec_recommendation *ret, unsigned *ret_line, char *errbuf, size_t errsize)
{
	_cleanup_(rec_aggregate_freep) struct rec_aggregate *a = NULL;
	_cleanup_free_ char *line = NULL;
	struct rec_container c;
	size_t cap = 0;
	unsigned lineno = 0;
	bool seen_row = false;
	int r;

	if (o->containers < 1 || o->memory_request_bytes < 0)
		return -EINVAL;
	r = rec_aggregate_new(t, 0, &a);
	if (r < 0)
		return r;
	rec_container_init(&c, a);

	while (getline(&line, &cap, f) >= 0) {
		char *fields[5], *p, *s = trim(line);
		int64_t t_usec, mem;
		double cpu, memd;
		size_t n = 0;

		lineno++;
		*ret_line = lineno;
		if (*s == '\0')
			continue;
		for (p = s; n < 5;) {
			fields[n++] = p;
			p = strchr(p, ',');
			if (!p)
				break;
			*p++ = '\0';
		}
		if (n != 4)
			return fail(errbuf, errsize, "expected 4 columns, got %zu", n);
		for (size_t i = 0; i < 4; i++)
			fields[i] = trim(fields[i]);
		/* A header is only allowed before the first row. */
		if (!seen_row && lineno == 1 && !isdigit((unsigned char)fields[0][0]) &&
		    fields[0][0] != '-' && fields[0][0] != '.')
			continue;
		seen_row = true;
		if (parse_time(fields[0], &t_usec) < 0)
			return fail(errbuf, errsize, "bad unix_seconds '%s'", fields[0]);
		if (safe_atod(fields[1], &cpu) < 0 || cpu < 0)
			return fail(errbuf, errsize, "bad cpu_cores '%s'", fields[1]);
		/* Whole bytes, as VPA keeps memory; a fraction is truncated. */
		if (safe_atoi64(fields[2], &mem) < 0) {
			if (safe_atod(fields[2], &memd) < 0 || memd < 0 || memd > 9e18)
				return fail(errbuf, errsize, "bad memory_bytes '%s'", fields[2]);
			mem = (int64_t)memd;
		}
		if (mem < 0)
			return fail(errbuf, errsize, "bad memory_bytes '%s'", fields[2]);
		if (strcmp(fields[3], "0") != 0 && strcmp(fields[3], "1") != 0)
			return fail(errbuf, errsize, "bad oom '%s' (want 0 or 1)", fields[3]);

		r = rec_container_add_cpu_reading(&c, t_usec, cpu);
		if (r < 0)
			return fail(errbuf, errsize, "bad cpu_cores '%s'", fields[1]);
		(void)rec_container_add_memory_reading(&c, t_usec, mem);
		/* An OOM too old for VPA is dropped by VPA too; not an input error. */
		if (fields[3][0] == '1')
			(void)rec_container_record_oom(&c, t_usec, o->memory_request_bytes);
	}
	if (ferror(f))
		return -EIO;
	(void)rec_container_flush_cpu(&c);
	return rec_recommend(a, o->containers, ret);
}
