/* Clock helpers in microseconds, the unit cgroup files and sd-event use. */
#pragma once

#include <stdint.h>
#include <systemd/sd-event.h>
#include <time.h>

#define USEC_PER_SEC 1000000ULL
#define USEC_PER_MSEC 1000ULL
#define NSEC_PER_USEC 1000ULL
#define NSEC_PER_SEC 1000000000ULL

static inline uint64_t timespec_to_usec(const struct timespec *ts)
{
	return (uint64_t)ts->tv_sec * USEC_PER_SEC + (uint64_t)ts->tv_nsec / NSEC_PER_USEC;
}

static inline uint64_t now_usec(clockid_t clock)
{
	struct timespec ts;

	clock_gettime(clock, &ts);
	return timespec_to_usec(&ts);
}

static inline uint64_t now_nsec(clockid_t clock)
{
	struct timespec ts;

	clock_gettime(clock, &ts);
	return (uint64_t)ts.tv_sec * NSEC_PER_SEC + (uint64_t)ts.tv_nsec;
}

/* The event loop's time of this iteration, what its timers are compared with (the clock itself
 * when the loop has not run yet). */
static inline uint64_t event_now_usec(sd_event *e, clockid_t clock)
{
	uint64_t t;

	if (sd_event_now(e, clock, &t) < 0)
		t = now_usec(clock);
	return t;
}
