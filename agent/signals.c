/* Signal math on the kernel's counters, per container, fed one sample at a time: CPU use and
 * throttling over a window, pressure stall (PSI) over a window, the working set's growth and where
 * it is heading, which limit an OOM kill came from. Pure: no I/O, no clock. */
#include "agent/signals.h"

void signals_oom_init(struct signals_oom_state *s, uint64_t container_oom, uint64_t pod_oom)
{
	*s = (struct signals_oom_state){
		.known = true,
		.container_oom = container_oom,
		.pod_oom = pod_oom,
	};
}

void signals_oom_new_cgroup(struct signals_oom_state *s, uint64_t pod_oom_now, bool killed_already)
{
	uint64_t pod_oom = pod_oom_now;

	if (killed_already)
		pod_oom = s->known && s->pod_oom <= pod_oom_now ? s->pod_oom : 0;
	signals_oom_init(s, 0, pod_oom);
}

enum signals_oom_cause signals_oom_classify(struct signals_oom_state *s, uint64_t now_usec,
					    const struct signals_oom_reading *r)
{
	enum signals_oom_cause cause;
	/* A counter that went down belongs to a recreated cgroup: count from zero. */
	bool container_grew =
		s->known ? r->container_oom != s->container_oom : r->container_oom > 0;
	bool pod_grew = r->pod_oom_known && (s->known ? r->pod_oom != s->pod_oom : r->pod_oom > 0);
	bool near_own_limit =
		r->container_limit > 0 &&
		(double)r->container_peak >= SIGNALS_OOM_NEAR_LIMIT * (double)r->container_limit;

	if (container_grew || (pod_grew && near_own_limit))
		cause = SIGNALS_OOM_CONTAINER_LIMIT;
	else if (pod_grew)
		cause = SIGNALS_OOM_POD_LIMIT;
	else if (s->last_kill_usec && now_usec >= s->last_kill_usec &&
		 now_usec - s->last_kill_usec < SIGNALS_OOM_SAME_EVENT_USEC)
		cause = s->last_cause;
	else
		cause = SIGNALS_OOM_NODE;
	s->known = true;
	s->container_oom = r->container_oom;
	if (r->pod_oom_known)
		s->pod_oom = r->pod_oom;
	s->last_kill_usec = now_usec;
	s->last_cause = cause;
	return cause;
}

const char *signals_oom_cause_to_string(enum signals_oom_cause c)
{
	switch (c) {
	case SIGNALS_OOM_CONTAINER_LIMIT:
		return "container-limit";
	case SIGNALS_OOM_POD_LIMIT:
		return "pod-limit";
	case SIGNALS_OOM_NODE:
		return "node";
	case _SIGNALS_OOM_CAUSE_MAX:
		break;
	}
	return "invalid";
}

void signals_stall_feed(struct signals_stall *st, uint64_t ts_usec, uint64_t total_usec,
			uint64_t window_usec)
{
	uint64_t d, start;

	if (!st->have_prev || ts_usec <= st->prev_ts_usec || total_usec < st->prev_total_usec) {
		*st = (struct signals_stall){
			.have_prev = true,
			.prev_ts_usec = ts_usec,
			.prev_total_usec = total_usec,
			.bucket_start_usec = ts_usec,
		};
		return;
	}
	d = total_usec - st->prev_total_usec;
	if (d > ts_usec - st->prev_ts_usec)
		d = ts_usec - st->prev_ts_usec;
	if (ts_usec - st->bucket_start_usec > window_usec) {
		st->older_start_usec = st->bucket_start_usec;
		st->older_stall_usec = st->bucket_stall_usec;
		st->bucket_start_usec = st->prev_ts_usec;
		st->bucket_stall_usec = 0;
	}
	st->bucket_stall_usec += d;
	start = st->older_start_usec ? st->older_start_usec : st->bucket_start_usec;
	st->span_usec = ts_usec - start;
	st->share = st->span_usec ? (double)(st->older_stall_usec + st->bucket_stall_usec) /
					    (double)st->span_usec
				  : 0.0;
	st->prev_ts_usec = ts_usec;
	st->prev_total_usec = total_usec;
}

bool signals_stall_above(const struct signals_stall *st, uint64_t window_usec, double share)
{
	return st->span_usec >= window_usec && st->share >= share;
}

bool signals_feed(struct signals_state *s, const struct signals_reading *r,
		  const struct signals_windows *w)
{
	uint64_t throttle_window_usec = w->throttle_usec;
	bool rate = false;

	if (r->have_memory_psi) {
		s->psi_memory = true;
		signals_stall_feed(&s->memory_some, r->ts_usec, r->memory_some_usec, w->stall_usec);
	}
	if (r->have_memory_psi_full)
		signals_stall_feed(&s->memory_full, r->ts_usec, r->memory_full_usec, w->stall_usec);
	if (r->have_cpu_psi)
		signals_stall_feed(&s->cpu_some, r->ts_usec, r->cpu_some_usec, w->stall_usec);

	if (r->have_memory_current)
		s->memory_current = r->memory_current;
	if (r->have_memory_current && r->have_working_set) {
		/* Growth rate, smoothed over a few samples; a drop (reclaim, restart) resets it. */
		if (s->working_set_ts_usec && r->ts_usec > s->working_set_ts_usec) {
			double dt = (double)(r->ts_usec - s->working_set_ts_usec) / 1e6;
			double v = ((double)r->working_set - (double)s->working_set) / dt;

			s->working_set_rate = v <= 0 ? 0 : 0.5 * s->working_set_rate + 0.5 * v;
			if (v > 0 && s->working_set_growths == 0)
				s->working_set_growth_start_usec = s->working_set_ts_usec;
			s->working_set_growths = v <= 0 ? 0 : s->working_set_growths + 1;
			/* The interval counts as above the request when it ends above it. */
			if (s->memory_request && r->working_set > s->memory_request)
				s->over_request_usec += r->ts_usec - s->working_set_ts_usec;
		}
		if (s->memory_request)
			signals_stall_feed(&s->over_request, r->ts_usec, s->over_request_usec,
					   w->over_request_usec);
		s->working_set_ts_usec = r->ts_usec;
		s->working_set = r->working_set;
	}
	if (r->have_memory_max)
		s->memory_max = r->memory_max;
	if (!r->have_cpu)
		return false;
	if (s->have_prev && r->ts_usec > s->prev_ts_usec &&
	    r->cpu_usage_usec >= s->prev_usage_usec) {
		uint64_t dt = r->ts_usec - s->prev_ts_usec;
		uint64_t du = r->cpu_usage_usec - s->prev_usage_usec;
		uint64_t dthr = r->cpu_throttled_usec >= s->prev_throttled_usec
					? r->cpu_throttled_usec - s->prev_throttled_usec
					: 0;

		s->cpu_cores = (double)du / (double)dt;
		rate = true;
		if (s->throttle_after_resize) {
			/* The interval straddles the resize: its throttling was the old limit's. */
			s->throttle_after_resize = false;
			s->window_start_usec = r->ts_usec;
			s->window_usage_usec = s->window_throttled_usec = 0;
			s->window_readings = s->window_throttled_readings = 0;
			s->window_throttle_episodes = 0;
			s->last_reading_throttled = false;
			goto done;
		}
		if (s->window_start_usec == 0 ||
		    r->ts_usec - s->window_start_usec > 2 * throttle_window_usec) {
			s->window_start_usec = s->prev_ts_usec;
			s->window_usage_usec = s->window_throttled_usec = 0;
			s->window_readings = s->window_throttled_readings = 0;
			s->window_throttle_episodes = 0;
		}
		s->window_usage_usec += du;
		s->window_throttled_usec += dthr;
		s->window_readings++;
		if (dthr > 0) {
			s->window_throttled_readings++;
			if (!s->last_reading_throttled)
				s->window_throttle_episodes++;
		}
		s->last_reading_throttled = dthr > 0;
		s->throttle_window_usec = r->ts_usec - s->window_start_usec;
		/* Throttled time per CPU time used: how much more the container wanted. */
		s->throttle_ratio =
			s->window_usage_usec
				? (double)s->window_throttled_usec /
					  (double)(s->window_usage_usec + s->window_throttled_usec)
				: 0.0;
	}
done:
	s->have_prev = true;
	s->prev_ts_usec = r->ts_usec;
	s->prev_usage_usec = r->cpu_usage_usec;
	s->prev_throttled_usec = r->cpu_throttled_usec;
	return rate;
}

void signals_restart(struct signals_state *s)
{
	struct signals_oom_state oom = s->oom;
	uint64_t request = s->memory_request;

	/* The request is the spec's, which a restart does not change; the time above it starts
	 * over with the new cgroup. */
	*s = (struct signals_state){ .oom = oom, .memory_request = request };
}

void signals_set_memory_request(struct signals_state *s, int64_t request)
{
	uint64_t r = request > 0 ? (uint64_t)request : 0;

	if (r == s->memory_request)
		return;
	s->memory_request = r;
	s->over_request_usec = 0;
	s->over_request = (struct signals_stall){ 0 };
}

void signals_resized(struct signals_state *s, int64_t new_memory_limit)
{
	s->window_start_usec = s->window_usage_usec = s->window_throttled_usec = 0;
	s->window_readings = s->window_throttled_readings = 0;
	s->window_throttle_episodes = 0;
	s->last_reading_throttled = false;
	s->throttle_ratio = 0;
	s->throttle_window_usec = 0;
	s->throttle_after_resize = true;
	s->memory_max_grew = false;
	s->working_set_rate = 0;
	s->working_set_growths = 0;
	s->memory_some = s->memory_full = s->cpu_some = (struct signals_stall){ 0 };
	if (new_memory_limit > 0)
		s->memory_max = (uint64_t)new_memory_limit;
}

bool signals_throttled(const struct signals_state *s, uint64_t window_usec, double ratio)
{
	return s->throttle_window_usec >= window_usec && signals_throttle_ratio(s) >= ratio;
}

double signals_throttle_ratio(const struct signals_state *s)
{
	bool recurred = s->window_throttle_episodes >= 2 ||
			(double)s->window_throttled_readings >=
				SIGNALS_THROTTLED_READINGS * (double)s->window_readings;

	return recurred ? s->throttle_ratio : 0;
}

int64_t signals_projected_working_set(const struct signals_state *s, uint64_t lookahead_usec)
{
	uint64_t seen = s->working_set_ts_usec - s->working_set_growth_start_usec;
	double ahead;

	if (s->working_set_growths < SIGNALS_GROWTH_SAMPLES)
		return (int64_t)s->working_set;
	if (lookahead_usec > seen)
		lookahead_usec = seen;
	ahead = s->working_set_rate * (double)lookahead_usec / 1e6;

	return (int64_t)s->working_set + (int64_t)ahead;
}

bool signals_memory_near_limit(const struct signals_state *s, uint64_t lookahead_usec,
			       double fraction)
{
	return fraction > 0 && s->memory_max && s->memory_max != UINT64_MAX &&
	       (double)signals_projected_working_set(s, lookahead_usec) >=
		       fraction * (double)s->memory_max;
}

bool signals_memory_stalled(const struct signals_state *s, uint64_t window_usec, double share,
			    double near)
{
	return share > 0 && signals_stall_above(&s->memory_some, window_usec, share) &&
	       s->memory_max && s->memory_max != UINT64_MAX &&
	       (double)s->memory_current >= near * (double)s->memory_max;
}
