/* Leveled logging to stderr with sd-journal `<N>` priority prefixes. */
#include "agent/util/log.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Process-wide like errno: the one piece of mutable global state, set once at start by main(). */
static int log_max_level = LOG_INFO;
static bool log_prefix = true;

void log_set_max_level(int level)
{
	log_max_level = level;
}

int log_get_max_level(void)
{
	return log_max_level;
}

void log_set_prefix(bool on)
{
	log_prefix = on;
}

int log_level_from_string(const char *s)
{
	static const struct {
		const char *name;
		int level;
	} names[] = {
		{ "error", LOG_ERR },	 { "err", LOG_ERR },	   { "warning", LOG_WARNING },
		{ "warn", LOG_WARNING }, { "notice", LOG_NOTICE }, { "info", LOG_INFO },
		{ "debug", LOG_DEBUG },
	};

	if (!s)
		return -EINVAL;
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (strcasecmp(s, names[i].name) == 0)
			return names[i].level;
	if (s[0] >= '0' && s[0] <= '7' && s[1] == '\0')
		return s[0] - '0';
	return -EINVAL;
}

int log_internal(int level, int error, const char *func, const char *fmt, ...)
{
	int saved = errno;
	error = error < 0 ? -error : error;

	if (level <= log_max_level) {
		char buf[2048];
		va_list ap;

		if (error)
			errno = error;
		va_start(ap, fmt);
		vsnprintf(buf, sizeof(buf), fmt, ap);
		va_end(ap);
		if (log_prefix)
			fprintf(stderr, "<%d>%s\n", level, buf);
		else
			fprintf(stderr, "%s\n", buf);
	}
	errno = saved;
	return -error;
}
