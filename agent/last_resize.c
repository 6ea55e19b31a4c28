/* Parsing snug.io/last-resize defensively, and writing it: each resource's cooldown and budget of
 * grows inside it, per container, and the one cooldown older agents read. */
#include "agent/last_resize.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "agent/util/json.h"

/* 9999999999 s is the year 2286; 95617584000 s the year 5000: beyond any clock this runs under,
 * and × 10^6 far below 2^63. */
#define MAX_UNIX_SECONDS 95617584000.0

/* Where what was ignored is said: a caller's buffer (may be NULL) and whether anything was. */
struct problems {
	char *buf;
	size_t size;
	bool any;
};

static __attribute__((format(printf, 2, 3))) void add_problem(struct problems *p, const char *fmt,
							      ...)
{
	char *buf = p->buf;
	size_t size = p->size, len;
	va_list ap;

	p->any = true;
	if (!buf || size == 0)
		return;
	len = strnlen(buf, size);
	if (len + 3 >= size)
		return;
	if (len > 0) {
		memcpy(buf + len, "; ", 3);
		len += 2;
	}
	va_start(ap, fmt);
	vsnprintf(buf + len, size - len, fmt, ap);
	va_end(ap);
}

/* A JSON value that must be a unix time in seconds, not beyond now + skew; *ret in usec. */
static bool unix_time(const cJSON *j, const char *what, uint64_t now_usec, uint64_t *ret,
		      struct problems *pr)
{
	double v, usec;

	if (!cJSON_IsNumber(j)) {
		add_problem(pr, "%s is not a number", what);
		return false;
	}
	v = j->valuedouble;
	/* NaN fails both comparisons; ±inf fails the range. */
	if (!(v > 0 && v <= MAX_UNIX_SECONDS)) {
		add_problem(pr, "%s %g is out of range", what, v);
		return false;
	}
	usec = floor(v * (double)USEC_PER_SEC);
	if (usec > (double)now_usec + (double)LAST_RESIZE_CLOCK_SKEW_USEC) {
		add_problem(pr, "%s %.0f is %.0f s in the future", what, v,
			    (usec - (double)now_usec) / (double)USEC_PER_SEC);
		return false;
	}
	*ret = (uint64_t)usec;
	return true;
}

static void parse_grows(const cJSON *list, uint64_t now_usec, struct last_resize_resource *ret,
			struct problems *pr)
{
	const cJSON *it;

	if (!cJSON_IsArray(list)) {
		add_problem(pr, "bypass_grows entry is not an array");
		return;
	}
	cJSON_ArrayForEach (it, list) {
		uint64_t t;

		if (!unix_time(it, "a bypass grow time", now_usec, &t, pr))
			continue;
		/* Keep the newest LAST_RESIZE_MAX_GROWS, oldest first. */
		if (ret->n_bypass_grows == LAST_RESIZE_MAX_GROWS) {
			size_t oldest = 0;

			for (size_t i = 1; i < ret->n_bypass_grows; i++)
				if (ret->bypass_grows_usec[i] < ret->bypass_grows_usec[oldest])
					oldest = i;
			if (t <= ret->bypass_grows_usec[oldest])
				continue;
			memmove(ret->bypass_grows_usec + oldest,
				ret->bypass_grows_usec + oldest + 1,
				(ret->n_bypass_grows - oldest - 1) * sizeof(uint64_t));
			ret->n_bypass_grows--;
		}
		ret->bypass_grows_usec[ret->n_bypass_grows++] = t;
	}
	/* Insertion sort: at most LAST_RESIZE_MAX_GROWS entries. */
	for (size_t i = 1; i < ret->n_bypass_grows; i++)
		for (size_t k = i;
		     k > 0 && ret->bypass_grows_usec[k - 1] > ret->bypass_grows_usec[k]; k--) {
			uint64_t tmp = ret->bypass_grows_usec[k];

			ret->bypass_grows_usec[k] = ret->bypass_grows_usec[k - 1];
			ret->bypass_grows_usec[k - 1] = tmp;
		}
}

/* One resource's entry of `cooldowns`: {"at":..,"bypass_grows":[..]}, both optional. */
static void parse_resource(const cJSON *j, const char *what, uint64_t now_usec,
			   struct last_resize_resource *ret, struct problems *pr)
{
	const cJSON *at, *grows;

	if (!j)
		return;
	if (!cJSON_IsObject(j)) {
		add_problem(pr, "cooldowns %s is not an object", what);
		return;
	}
	at = cJSON_GetObjectItemCaseSensitive(j, "at");
	if (at)
		(void)unix_time(at, "at", now_usec, &ret->at_usec, pr);
	grows = cJSON_GetObjectItemCaseSensitive(j, "bypass_grows");
	if (grows)
		parse_grows(grows, now_usec, ret, pr);
}

/* A CPU value of a boost: RESOURCE_UNSET or whole millicores up to a million cores. */
static bool boost_millis(const cJSON *j, const char *what, int64_t *ret, struct problems *pr)
{
	double v;

	if (!cJSON_IsNumber(j)) {
		add_problem(pr, "boost %s is not a number", what);
		return false;
	}
	v = j->valuedouble;
	if (!(v == RESOURCE_UNSET || (v >= 0 && v <= 1e9)) || v != floor(v)) {
		add_problem(pr, "boost %s %g is out of range", what, v);
		return false;
	}
	*ret = (int64_t)v;
	return true;
}

/* The entry's `boost`: all three fields or nothing (a boost given back to half-known values
 * would be a resize nobody asked for). */
static void parse_boost(const cJSON *j, uint64_t now_usec, struct last_resize_boost *ret,
			struct problems *pr)
{
	struct last_resize_boost b = { 0 };

	if (!j)
		return;
	if (!cJSON_IsObject(j)) {
		add_problem(pr, "boost is not an object");
		return;
	}
	if (unix_time(cJSON_GetObjectItemCaseSensitive(j, "at"), "boost at", now_usec, &b.at_usec,
		      pr) &&
	    boost_millis(cJSON_GetObjectItemCaseSensitive(j, "cpu_request"), "cpu_request",
			 &b.cpu_request, pr) &&
	    boost_millis(cJSON_GetObjectItemCaseSensitive(j, "cpu_limit"), "cpu_limit",
			 &b.cpu_limit, pr))
		*ret = b;
}

/* The container's entry of `cooldowns`; false when there is none (an annotation written before
 * each resource had its own cooldown). */
static bool parse_cooldowns(const cJSON *j, const char *container, uint64_t now_usec,
			    struct last_resize *ret, struct problems *pr)
{
	const cJSON *cooldowns = cJSON_GetObjectItemCaseSensitive(j, "cooldowns"), *entry;

	if (!cooldowns || !container)
		return false;
	if (!cJSON_IsObject(cooldowns)) {
		add_problem(pr, "cooldowns is not an object");
		return false;
	}
	entry = cJSON_GetObjectItemCaseSensitive(cooldowns, container);
	if (!entry)
		return false;
	if (!cJSON_IsObject(entry)) {
		add_problem(pr, "cooldowns entry is not an object");
		return false;
	}
	parse_resource(cJSON_GetObjectItemCaseSensitive(entry, "cpu"), "cpu", now_usec, &ret->cpu,
		       pr);
	parse_resource(cJSON_GetObjectItemCaseSensitive(entry, "memory"), "memory", now_usec,
		       &ret->memory, pr);
	ret->at_usec =
		ret->cpu.at_usec > ret->memory.at_usec ? ret->cpu.at_usec : ret->memory.at_usec;
	parse_boost(cJSON_GetObjectItemCaseSensitive(entry, "boost"), now_usec, &ret->boost, pr);
	return true;
}

int last_resize_parse(const char *text, const char *container, uint64_t now_usec,
		      struct last_resize *ret, char *problem, size_t size)
{
	_cleanup_(cJSON_Deletep) cJSON *j = NULL;
	struct problems problems = { problem, size, false }, *pr = &problems;
	struct last_resize_resource legacy = { 0 };
	const cJSON *at, *ct, *grows;

	*ret = (struct last_resize){ 0 };
	if (problem && size)
		problem[0] = '\0';
	if (!text)
		return 0;
	j = cJSON_Parse(text);
	if (!cJSON_IsObject(j)) {
		add_problem(pr, "not a JSON object");
		return 1;
	}
	if (parse_cooldowns(j, container, now_usec, ret, pr))
		return problems.any ? 1 : 0;

	/* Before the split: the container's one cooldown and budget hold both resources. */
	ct = cJSON_GetObjectItemCaseSensitive(j, "container");
	if (ct && !cJSON_IsString(ct))
		add_problem(pr, "container is not a string");
	/* `at` is the named container's (or, without a name, every container's). */
	else if (!ct || !container || strcmp(ct->valuestring, container) == 0) {
		at = cJSON_GetObjectItemCaseSensitive(j, "at");
		if (at)
			(void)unix_time(at, "at", now_usec, &legacy.at_usec, pr);
	}
	grows = cJSON_GetObjectItemCaseSensitive(j, "bypass_grows");
	if (grows && !cJSON_IsObject(grows))
		add_problem(pr, "bypass_grows is not an object");
	else if (grows && container) {
		const cJSON *list = cJSON_GetObjectItemCaseSensitive(grows, container);

		if (list)
			parse_grows(list, now_usec, &legacy, pr);
	}
	ret->at_usec = legacy.at_usec;
	ret->cpu = ret->memory = legacy;
	return problems.any ? 1 : 0;
}

static cJSON *times_array(cJSON *parent, const char *name, const uint64_t *usec, size_t n)
{
	cJSON *list = cJSON_AddArrayToObject(parent, name);

	if (!list)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		cJSON *v = cJSON_CreateNumber((double)(usec[i] / USEC_PER_SEC));

		if (!v || !cJSON_AddItemToArray(list, v)) {
			cJSON_Delete(v);
			return NULL;
		}
	}
	return list;
}

/* What an agent from before the split reads: the container's grows of both resources, in order
 * (each list is oldest first). */
static int add_bypass_grows(cJSON *annotation, const struct last_resize_grows *g)
{
	uint64_t merged[2 * LAST_RESIZE_MAX_GROWS];
	size_t n = 0, i = 0, k = 0;
	size_t nc = g->cpu.n < LAST_RESIZE_MAX_GROWS ? g->cpu.n : LAST_RESIZE_MAX_GROWS;
	size_t nm = g->memory.n < LAST_RESIZE_MAX_GROWS ? g->memory.n : LAST_RESIZE_MAX_GROWS;
	const uint64_t *c = g->cpu.usec + (g->cpu.n - nc), *m = g->memory.usec + (g->memory.n - nm);
	cJSON *grows;

	if (nc + nm == 0)
		return 0;
	while (i < nc || k < nm)
		merged[n++] = k >= nm || (i < nc && c[i] <= m[k]) ? c[i++] : m[k++];
	grows = cJSON_GetObjectItemCaseSensitive(annotation, "bypass_grows");
	if (!grows && !(grows = cJSON_AddObjectToObject(annotation, "bypass_grows")))
		return -ENOMEM;
	return times_array(grows, g->container, merged, n) ? 0 : -ENOMEM;
}

static int add_resource(cJSON *entry, const char *name, const struct last_resize_cooldown *c)
{
	cJSON *r;

	if (c->at_usec == 0 && c->n == 0)
		return 0;
	r = cJSON_AddObjectToObject(entry, name);
	if (!r)
		return -ENOMEM;
	if (c->at_usec && !cJSON_AddNumberToObject(r, "at", (double)(c->at_usec / USEC_PER_SEC)))
		return -ENOMEM;
	if (c->n && !times_array(r, "bypass_grows", c->usec, c->n))
		return -ENOMEM;
	return 0;
}

static int add_boost(cJSON *entry, const struct last_resize_boost *b)
{
	cJSON *j;

	if (b->at_usec == 0)
		return 0;
	j = cJSON_AddObjectToObject(entry, "boost");
	if (!j || !cJSON_AddNumberToObject(j, "at", (double)(b->at_usec / USEC_PER_SEC)) ||
	    !cJSON_AddNumberToObject(j, "cpu_request", (double)b->cpu_request) ||
	    !cJSON_AddNumberToObject(j, "cpu_limit", (double)b->cpu_limit))
		return -ENOMEM;
	return 0;
}

static int add_cooldowns(cJSON *annotation, const struct last_resize_grows *g)
{
	cJSON *cooldowns, *entry;

	if (g->cpu.at_usec == 0 && g->cpu.n == 0 && g->memory.at_usec == 0 && g->memory.n == 0 &&
	    g->boost.at_usec == 0)
		return 0;
	cooldowns = cJSON_GetObjectItemCaseSensitive(annotation, "cooldowns");
	if (!cooldowns && !(cooldowns = cJSON_AddObjectToObject(annotation, "cooldowns")))
		return -ENOMEM;
	entry = cJSON_AddObjectToObject(cooldowns, g->container);
	if (!entry)
		return -ENOMEM;
	if (add_resource(entry, "cpu", &g->cpu) < 0 ||
	    add_resource(entry, "memory", &g->memory) < 0 || add_boost(entry, &g->boost) < 0)
		return -ENOMEM;
	return 0;
}

char *last_resize_format(const char *container, uint64_t at_usec, const char *kind,
			 const char *reason, const struct last_resize_grows *grows, size_t n_grows)
{
	_cleanup_(cJSON_Deletep) cJSON *j = cJSON_CreateObject();

	if (!j || !cJSON_AddNumberToObject(j, "at", (double)(at_usec / USEC_PER_SEC)) ||
	    !cJSON_AddStringToObject(j, "container", container) ||
	    !cJSON_AddStringToObject(j, "kind", kind) ||
	    !cJSON_AddStringToObject(j, "reason", reason))
		return NULL;
	for (size_t i = 0; i < n_grows; i++)
		if (add_bypass_grows(j, &grows[i]) < 0 || add_cooldowns(j, &grows[i]) < 0)
			return NULL;
	return cJSON_PrintUnformatted(j);
}
