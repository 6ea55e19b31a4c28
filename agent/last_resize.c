/* Parsing snug.io/last-resize defensively, and the bypass-grow part of writing it. */
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

static void parse_grows(const cJSON *list, uint64_t now_usec, struct last_resize *ret,
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

int last_resize_parse(const char *text, const char *container, uint64_t now_usec,
		      struct last_resize *ret, char *problem, size_t size)
{
	_cleanup_(cJSON_Deletep) cJSON *j = NULL;
	struct problems problems = { problem, size, false }, *pr = &problems;
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
	ct = cJSON_GetObjectItemCaseSensitive(j, "container");
	if (ct && !cJSON_IsString(ct))
		add_problem(pr, "container is not a string");
	/* `at` is the named container's (or, without a name, every container's). */
	else if (!ct || !container || strcmp(ct->valuestring, container) == 0) {
		at = cJSON_GetObjectItemCaseSensitive(j, "at");
		if (at)
			(void)unix_time(at, "at", now_usec, &ret->at_usec, pr);
	}
	grows = cJSON_GetObjectItemCaseSensitive(j, "bypass_grows");
	if (grows && !cJSON_IsObject(grows))
		add_problem(pr, "bypass_grows is not an object");
	else if (grows && container) {
		const cJSON *list = cJSON_GetObjectItemCaseSensitive(grows, container);

		if (list)
			parse_grows(list, now_usec, ret, pr);
	}
	return problems.any ? 1 : 0;
}

static int add_bypass_grows(cJSON *annotation, const char *container, const uint64_t *usec,
			    size_t n)
{
	cJSON *grows, *list;

	if (n == 0)
		return 0;
	grows = cJSON_GetObjectItemCaseSensitive(annotation, "bypass_grows");
	if (!grows && !(grows = cJSON_AddObjectToObject(annotation, "bypass_grows")))
		return -ENOMEM;
	list = cJSON_AddArrayToObject(grows, container);
	if (!list)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		cJSON *v = cJSON_CreateNumber((double)(usec[i] / USEC_PER_SEC));

		if (!v || !cJSON_AddItemToArray(list, v)) {
			cJSON_Delete(v);
			return -ENOMEM;
		}
	}
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
		if (add_bypass_grows(j, grows[i].container, grows[i].usec, grows[i].n) < 0)
			return NULL;
	return cJSON_PrintUnformatted(j);
}
