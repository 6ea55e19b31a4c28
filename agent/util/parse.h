/* Strict number parsing shared by every module: whole string, no sign surprises, -errno on failure. */
#pragma once

#include <stdint.h>

/* Decimal unsigned 64-bit; rejects empty strings, signs, trailing garbage and overflow (-ERANGE). */
int safe_atou64(const char *s, uint64_t *ret);
/* Decimal signed 64-bit. */
int safe_atoi64(const char *s, int64_t *ret);
/* Finite double in C locale notation. */
int safe_atod(const char *s, double *ret);
/* A duration: a number with an optional unit (us, ms, s, m, h; none = seconds), e.g. "500ms",
 * "1.5s", "5m"; at most ~3 years. */
int parse_duration(const char *s, uint64_t *ret_usec);
