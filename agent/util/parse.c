/* Strict number parsing shared by every module. */
#include "agent/util/parse.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

int safe_atou64(const char *s, uint64_t *ret)
{
	char *end;
	unsigned long long v;

	if (!s || !isdigit((unsigned char)s[0]))
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno == ERANGE)
		return -ERANGE;
	if (*end != '\0')
		return -EINVAL;
	*ret = v;
	return 0;
}

int safe_atoi64(const char *s, int64_t *ret)
{
	char *end;
	long long v;

	if (!s || !(isdigit((unsigned char)s[0]) || (s[0] == '-' && isdigit((unsigned char)s[1]))))
		return -EINVAL;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno == ERANGE)
		return -ERANGE;
	if (*end != '\0')
		return -EINVAL;
	*ret = v;
	return 0;
}

int safe_atod(const char *s, double *ret)
{
	char *end;
	double v;

	if (!s || s[0] == '\0' || isspace((unsigned char)s[0]))
		return -EINVAL;
	errno = 0;
	v = strtod(s, &end);
	if (errno == ERANGE)
		return -ERANGE;
	if (*end != '\0' || !isfinite(v))
		return -EINVAL;
	*ret = v;
	return 0;
}

int parse_duration(const char *s, uint64_t *ret_usec)
{
	static const struct {
		const char *suffix;
		double usec;
	} units[] = {
		{ "us", 1 }, { "ms", 1e3 }, { "s", 1e6 }, { "m", 60e6 }, { "h", 3600e6 },
	};
	char num[64];
	double v, mult = 1e6;
	size_t len;

	if (!s || !*s)
		return -EINVAL;
	len = strlen(s);
	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
		size_t sl = strlen(units[i].suffix);
		if (len > sl && strcmp(s + len - sl, units[i].suffix) == 0 &&
		    (sl > 1 || (s[len - 2] >= '0' && s[len - 2] <= '9') || s[len - 2] == '.')) {
			len -= sl;
			mult = units[i].usec;
			break;
		}
	}
	if (len == 0 || len >= sizeof(num))
		return -EINVAL;
	memcpy(num, s, len);
	num[len] = '\0';
	if (safe_atod(num, &v) < 0 || v < 0 || v * mult > 1e17)
		return -EINVAL;
	*ret_usec = (uint64_t)llround(v * mult);
	return 0;
}
