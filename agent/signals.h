/* Signal math on the kernel's counters, per container, fed one sample at a time: CPU use and
 * throttling over a window, pressure stall (PSI) over a window, the working set's growth and where it is heading, which limit an OOM
 * kill came from. Pure: no I/O, no clock; the agent reads the files and passes the numbers in
 * (systemd-oomd's oomd_pressure_above()/oomd_pgscan_rate() are the model). */
#pragma once

#include <stdbool.h>
#include <stdint.h>

/* Which limit an OOM kill was enforcing. */
enum signals_oom_cause {
	SIGNALS_OOM_CONTAINER_LIMIT, /* the container's own memory.max: it needs a larger limit */
	SIGNALS_OOM_POD_LIMIT, /* the pod cgroup's memory.max (the sum, pod-level resources) */
	SIGNALS_OOM_NODE,      /* the whole node (global OOM) or a cgroup above the pod */
	_SIGNALS_OOM_CAUSE_MAX,
};

/* What the container's OOM classification remembers between kills. */
struct signals_oom_state {
	bool known;		 /* the counters below were read once */
	uint64_t container_oom;	 /* the container's memory.events `oom` at the last look */
	uint64_t pod_oom;	 /* the pod cgroup's memory.events `oom` at the last look */
	uint64_t last_kill_usec; /* CLOCK_MONOTONIC of the last kill classified, 0 = none */
	enum signals_oom_cause last_cause;
};

/* Kills this close after a classified one, with no new `oom` event, are the same OOM (a group
 * kill with memory.oom.group=1, which the kubelet sets on cgroup v2, takes every process). */
#define SIGNALS_OOM_SAME_EVENT_USEC (2 * 1000000ULL)

/* Sets the baseline: the `oom` counters of the container and pod cgroups when tracking starts. */
void signals_oom_init(struct signals_oom_state *s, uint64_t container_oom, uint64_t pod_oom);

/* Sets the baseline for a container cgroup that appeared while snug runs (a start or restart):
 * its own counters start from zero. The pod cgroup outlives its containers: when the new cgroup
 * was OOM-killed before snug saw it (killed_already: its oom_kill is non-zero), pod_oom_now
 * already counts that kill, so the pod's baseline stays what it was before the restart (zero
 * when the pod was never read), and the kill is judged against it, not taken as the node's. */
void signals_oom_new_cgroup(struct signals_oom_state *s, uint64_t pod_oom_now, bool killed_already);

/* What was read right after a kill: the `oom` counters, and how close the container itself
 * came to its own limit. */
struct signals_oom_reading {
	uint64_t container_oom;
	bool pod_oom_known; /* the pod's memory.events could be read */
	uint64_t pod_oom;
	uint64_t container_peak;  /* highest usage seen (memory.peak, the victim's RSS), bytes */
	uint64_t container_limit; /* the container's memory.max, 0 = none ("max") */
};

/*
 * Classifies a kill of one of the container's processes. The kernel counts a memcg's `oom` event
 * (mem_cgroup_oom → memcg_memory_event(MEMCG_OOM)) on the cgroup whose limit was hit and on its
 * ancestors, before it picks and kills the victim, and never on descendants; a global OOM counts
 * none. So the container's counter grew → its own limit; else the pod's grew → the pod's limit;
 * else the node. But the kubelet sets the pod's memory.max to the sum of its containers' limits
 * while the pod cgroup also holds the sandbox (pause) and the kernel memory of the container
 * cgroups themselves: a one-container pod reaching its limit hits the pod's first (seen on a real
 * 6.1 kernel). A kill at the pod's limit whose container came within SIGNALS_OOM_NEAR_LIMIT of
 * its own limit is therefore the container's. Updates the state.
 */
enum signals_oom_cause signals_oom_classify(struct signals_oom_state *s, uint64_t now_usec,
					    const struct signals_oom_reading *r);
#define SIGNALS_OOM_NEAR_LIMIT 0.90

const char *signals_oom_cause_to_string(enum signals_oom_cause c);

/* ---- one container's signals, fed sample by sample ------------------------------------------ */

/* What one sample read of a container (timestamps CLOCK_MONOTONIC µs). A file not read this time
 * has its have_ flag false. */
struct signals_reading {
	uint64_t ts_usec;
	bool have_memory_current, have_working_set, have_memory_max, have_cpu;
	uint64_t memory_current;
	uint64_t working_set;			     /* memory.current − inactive_file */
	uint64_t memory_max;			     /* UINT64_MAX = "max" */
	uint64_t cpu_usage_usec, cpu_throttled_usec; /* cpu.stat, cumulative */
	/* PSI: memory.pressure and cpu.pressure `total=` (µs stalled, cumulative). */
	bool have_memory_psi, have_memory_psi_full, have_cpu_psi;
	uint64_t memory_some_usec, memory_full_usec, cpu_some_usec;
};

/*
 * One pressure-stall (PSI) counter over a window: the share of wall time the container's tasks
 * stalled (`some`: at least one task, `full`: all of them). Two buckets of the window's length, so
 * that once the first window is full the share always covers between one and two windows of the
 * recent past (a fresh bucket does not forget a stall that ended a moment ago).
 */
struct signals_stall {
	bool have_prev;
	uint64_t prev_ts_usec, prev_total_usec;
	uint64_t bucket_start_usec, bucket_stall_usec; /* the bucket being filled */
	uint64_t older_start_usec, older_stall_usec;   /* the one before; 0 = none yet */
	double share;				       /* stalled / wall over span_usec */
	uint64_t span_usec;			       /* how much wall time share covers */
};

/* Feeds the cumulative total (µs) read at ts_usec. A total that went backwards (a new cgroup) or
 * a clock that did not advance starts over. A delta above the wall time between two reads is cut
 * to it (the kernel's aggregation runs behind the read by up to one period). */
void signals_stall_feed(struct signals_stall *st, uint64_t ts_usec, uint64_t total_usec,
			uint64_t window_usec);
/* Sustained stall: at least window_usec seen, and at least share of it stalled. */
bool signals_stall_above(const struct signals_stall *st, uint64_t window_usec, double share);

struct signals_state {
	/* Memory, as last read; 0 = not read yet. */
	uint64_t memory_current, working_set, memory_max;
	uint64_t working_set_ts_usec;
	double working_set_rate; /* bytes/s, smoothed; > 0 while memory grows */
	/* How many samples in a row the working set grew: one jump is a step (a burst that takes
	 * its memory at once), not a trend to project. */
	unsigned working_set_growths;
	uint64_t working_set_growth_start_usec; /* the sample before the first of them */

	/* The working set above the container's memory request (the kubelet's eviction ranks pods
	 * by exactly that: usage above the request): the request as the agent last read it (bytes,
	 * 0 = none or not known yet), the cumulative time above it (µs), and its share of the last
	 * one to two windows. A new request starts over. */
	uint64_t memory_request;
	uint64_t over_request_usec;
	struct signals_stall over_request;
	bool memory_max_grew; /* memory.events `max` grew since the last decision */

	/* CPU: the previous cumulative counters, and the cores used between the last two. */
	bool have_prev;
	uint64_t prev_ts_usec, prev_usage_usec, prev_throttled_usec;
	double cpu_cores;

	/* Throttling over a window that restarts once it is twice the configured length. */
	uint64_t window_start_usec, window_usage_usec, window_throttled_usec;
	/* The window's readings, those whose interval was throttled at all, and the runs of such
	 * readings that began in it (episodes); last_reading_throttled: the reading before. */
	unsigned window_readings, window_throttled_readings, window_throttle_episodes;
	bool last_reading_throttled;
	double throttle_ratio; /* throttled / (used + throttled) over the window */
	uint64_t throttle_window_usec;
	/* A resize just restarted the window: the next reading's interval began under the old
	 * limits, so its throttling starts nothing (the window begins with that reading). */
	bool throttle_after_resize;

	/* Pressure stall (PSI), each over --psi-window; psi_memory: memory.pressure was read (kept
	 * across resizes, which restart the windows). */
	struct signals_stall memory_some, memory_full, cpu_some;
	bool psi_memory;

	struct signals_oom_state oom;
};

/* The windows signals_feed() measures over. */
struct signals_windows {
	uint64_t throttle_usec; /* "sustained" throttling (the window restarts after twice that) */
	uint64_t stall_usec;	/* pressure stall: the share covers one to two of these */
	uint64_t over_request_usec; /* the working set above the request: likewise */
};

/* Feeds one reading. Returns true when it yielded a new CPU rate (cpu_cores). A counter that
 * went backwards (a new cgroup under the same entry) starts over, never a negative delta. */
bool signals_feed(struct signals_state *s, const struct signals_reading *r,
		  const struct signals_windows *w);

/* A new cgroup for the container (a restart): its first readings are not growth, and what was
 * seen in the old one says nothing about it. The OOM baseline is set apart (signals_oom_init). */
void signals_restart(struct signals_state *s);

/* A resize took effect: throttling, stall and growth seen under the old limits say nothing about
 * the new ones; until the next sample, memory pressure is judged against new_memory_limit (bytes, ≤ 0 =
 * unchanged), not the old memory.max and the growth that led past it. */
void signals_resized(struct signals_state *s, int64_t new_memory_limit);

/* The container's memory request as the spec has it now (bytes, ≤ 0 = none): the working set is
 * measured against it from the next sample; a different one starts the measure over. */
void signals_set_memory_request(struct signals_state *s, int64_t request);

/* Sustained throttling: the window is at least window_usec long, ratio of the CPU time it wanted
 * was throttled, and throttling recurred: in two episodes or more (a batch job's bursts), or in at
 * least SIGNALS_THROTTLED_READINGS of its readings (a burner held at its limit). Not one burst in an
 * otherwise idle window (a container's start), which, with little CPU used since, would read as a
 * high ratio for the whole window. */
#define SIGNALS_THROTTLED_READINGS 0.25
bool signals_throttled(const struct signals_state *s, uint64_t window_usec, double ratio);
/* The window's throttled share of the CPU time wanted, 0 unless throttling recurred (above): what
 * decisions judge the limit by. */
double signals_throttle_ratio(const struct signals_state *s);

/* The working set lookahead_usec from now if it keeps growing as it does: a steady leak is met with
 * a bigger limit before it reaches the current one, not after the OOM kill. Growth seen at one
 * sample only is not projected: a burst that takes its memory in one step and holds it (or frees
 * it) is no trend, and its step is already in the working set measured. Nor is growth projected
 * further ahead than it has been seen: two seconds of a burst's allocation say nothing of a third. */
int64_t signals_projected_working_set(const struct signals_state *s, uint64_t lookahead_usec);
#define SIGNALS_GROWTH_SAMPLES 2

/* The projected working set is at least fraction of memory.max (a limit is known, fraction > 0). */
bool signals_memory_near_limit(const struct signals_state *s, uint64_t lookahead_usec,
			       double fraction);

/* A sustained memory stall (memory `some` at least share of window_usec, share > 0) while usage
 * sits at least near × memory.max: the container reclaims against its own limit. */
bool signals_memory_stalled(const struct signals_state *s, uint64_t window_usec, double share,
			    double near);
