/* Leveled logging to stderr with sd-journal `<N>` priority prefixes; libraries log only at debug. */
#pragma once

#include <stdarg.h>
#include <stdbool.h>
#include <errno.h>
#include <syslog.h>

/* The process-wide maximum level (LOG_ERR..LOG_DEBUG); the daemon sets it from --log-level. */
void log_set_max_level(int level);
int log_get_max_level(void);
/* Parses "error", "warning", "info", "debug" (or 3..7); returns the level or -EINVAL. */
int log_level_from_string(const char *s);
/* When true (stderr is not a journal/pipe read by a supervisor) the `<N>` prefix is dropped. */
void log_set_prefix(bool on);

/* Logs when level <= max level; returns -abs(error) so `return log_error_errno(r, ...)` works.
 * With error != 0, errno is set to it while formatting, so "%m" prints its text. */
int log_internal(int level, int error, const char *func, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

#define log_full_errno(level, error, ...) log_internal((level), (error), __func__, __VA_ARGS__)
#define log_error_errno(error, ...) log_full_errno(LOG_ERR, (error), __VA_ARGS__)
#define log_warning_errno(error, ...) log_full_errno(LOG_WARNING, (error), __VA_ARGS__)
#define log_info_errno(error, ...) log_full_errno(LOG_INFO, (error), __VA_ARGS__)
#define log_debug_errno(error, ...) log_full_errno(LOG_DEBUG, (error), __VA_ARGS__)
/* Logs and returns -ENOMEM. */
#define log_oom() log_error_errno(ENOMEM, "Out of memory.")
#define log_error(...) ((void)log_full_errno(LOG_ERR, 0, __VA_ARGS__))
#define log_warning(...) ((void)log_full_errno(LOG_WARNING, 0, __VA_ARGS__))
#define log_notice(...) ((void)log_full_errno(LOG_NOTICE, 0, __VA_ARGS__))
#define log_info(...) ((void)log_full_errno(LOG_INFO, 0, __VA_ARGS__))
#define log_debug(...) ((void)log_full_errno(LOG_DEBUG, 0, __VA_ARGS__))
