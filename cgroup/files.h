/* Parsers, readers and writers for the cgroup v2 files snug uses, and kubelet's CPU conversions. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* "max" in memory.max / memory.high / cpu.max quota: no limit. */
#define CG_UNLIMITED UINT64_MAX

/*
 * Error convention of every function here (all return 0 or a negative errno):
 *   -ENOENT   the file does not exist in a live cgroup (memory.peak before 5.19, cpu.* files when
 *             the cpu controller is not enabled, PSI files with psi=0).
 *   -ENODEV   the cgroup vanished: a read on an open fd failed with ENODEV/ENOENT (kernfs says
 *             ENODEV once a cgroup is removed), or the directory itself is gone. The caller drops
 *             the container; it is never a crash or a garbage value.
 *   -EBADMSG  the text is not what the kernel writes (garbage, a truncated line, empty input).
 *   -ENOMSG   a key the parser needs is missing (e.g. usage_usec in cpu.stat).
 *   -ERANGE   a number does not fit (overflow) or a value is outside what the file accepts.
 *   -ENOBUFS  the file did not fit the caller's buffer (so it may be cut: never parsed).
 * Parsers take (buf, len): the text need not be NUL-terminated; unknown keys are ignored.
 */

/* cpu.stat. usage/user/system are always present; the rest only with the cpu controller on
 * (has_throttling says whether nr_periods... were there). */
struct cg_cpu_stat {
	uint64_t usage_usec;
	uint64_t user_usec;
	uint64_t system_usec;
	uint64_t nr_periods;
	uint64_t nr_throttled;
	uint64_t throttled_usec;
	uint64_t nr_bursts;
	uint64_t burst_usec;
	bool has_throttling;
};

/* cpu.max: quota_usec is CG_UNLIMITED for "max". */
struct cg_cpu_max {
	uint64_t quota_usec;
	uint64_t period_usec;
};

/* memory.stat, the keys snug needs (anon, file, active_file, inactive_file are required). */
struct cg_memory_stat {
	uint64_t anon;
	uint64_t file;
	uint64_t kernel_stack;
	uint64_t shmem;
	uint64_t file_mapped;
	uint64_t file_dirty;
	uint64_t file_writeback;
	uint64_t inactive_anon;
	uint64_t active_anon;
	uint64_t inactive_file;
	uint64_t active_file;
	uint64_t unevictable;
	uint64_t slab_reclaimable;
	uint64_t slab_unreclaimable;
	uint64_t pgfault;
	uint64_t pgmajfault;
};

/* memory.events (low high max oom oom_kill required; oom_group_kill is 5.17+ so optional). */
struct cg_memory_events {
	uint64_t low;
	uint64_t high;
	uint64_t max;
	uint64_t oom;
	uint64_t oom_kill;
	uint64_t oom_group_kill;
};

/* One line of a PSI file: averages in percent, total stall time in µs. */
struct cg_psi_line {
	double avg10;
	double avg60;
	double avg300;
	uint64_t total_usec;
};

/* cpu.pressure / memory.pressure: "some" is required; "full" is optional (cpu.pressure before 5.13). */
struct cg_pressure {
	struct cg_psi_line some;
	struct cg_psi_line full;
	bool has_full;
};

int cg_parse_cpu_stat(const char *buf, size_t len, struct cg_cpu_stat *ret);
int cg_parse_cpu_max(const char *buf, size_t len, struct cg_cpu_max *ret);
/* cpu.weight: 1..10000, else -ERANGE. */
int cg_parse_cpu_weight(const char *buf, size_t len, uint64_t *ret);
/* A file holding one number (memory.current, memory.peak); optional trailing newline. */
int cg_parse_u64(const char *buf, size_t len, uint64_t *ret);
/* memory.max, memory.high, memory.low, memory.min: a number or "max" (= CG_UNLIMITED). */
int cg_parse_u64_or_max(const char *buf, size_t len, uint64_t *ret);
int cg_parse_memory_stat(const char *buf, size_t len, struct cg_memory_stat *ret);
int cg_parse_memory_events(const char *buf, size_t len, struct cg_memory_events *ret);
int cg_parse_pressure(const char *buf, size_t len, struct cg_pressure *ret);

/* Working set as cAdvisor/kubelet compute it: current − inactive_file, clamped at 0. */
static inline uint64_t cg_working_set(uint64_t current, uint64_t inactive_file)
{
	return current > inactive_file ? current - inactive_file : 0;
}

/* Reads the whole file name beneath the cgroup dir fd dirfd into buf (NUL-terminated; at most
 * size-1 bytes). Returns the length or -errno (see above: -ENOENT missing, -ENODEV vanished,
 * -ENOBUFS too big for buf). */
int cg_read_file_at(int dirfd, const char *name, char *buf, size_t size);
/* Read + parse helpers over cg_read_file_at() (a stack buffer, no allocation). */
int cg_read_cpu_stat_at(int dirfd, struct cg_cpu_stat *ret);
int cg_read_cpu_max_at(int dirfd, struct cg_cpu_max *ret);
int cg_read_cpu_weight_at(int dirfd, uint64_t *ret);
/* name: "memory.current", "memory.peak"... */
int cg_read_u64_at(int dirfd, const char *name, uint64_t *ret);
/* name: "memory.max", "memory.high"... */
int cg_read_u64_or_max_at(int dirfd, const char *name, uint64_t *ret);
int cg_read_memory_stat_at(int dirfd, struct cg_memory_stat *ret);
int cg_read_memory_events_at(int dirfd, struct cg_memory_events *ret);
/* name: "cpu.pressure", "memory.pressure". */
int cg_read_pressure_at(int dirfd, const char *name, struct cg_pressure *ret);
/* Maps a failed read of an open fd of a cgroup file (errno value e > 0) to -ENODEV when it means
 * the cgroup went away, else -e. */
int cg_read_errno(int e);

/* Writers: open beneath dirfd, one write(2), -errno (-ERANGE for values the kernel would refuse,
 * before any write). Text written is what the kernel prints back ("50000 100000\n", "max\n"). */
int cg_write_cpu_max(int dirfd, uint64_t quota_usec, uint64_t period_usec);
int cg_write_cpu_weight(int dirfd, uint64_t weight);
int cg_write_memory_max(int dirfd, uint64_t bytes);
int cg_write_memory_high(int dirfd, uint64_t bytes);

/* kubelet's CPU constants. */
#define CG_MIN_SHARES 2ULL
#define CG_MAX_SHARES 262144ULL
#define CG_SHARES_PER_CPU 1024ULL
#define CG_MIN_WEIGHT 1ULL
#define CG_MAX_WEIGHT 10000ULL
#define CG_QUOTA_PERIOD_USEC 100000ULL
#define CG_MIN_QUOTA_USEC 1000ULL

/* Millicores of request → cpu.shares (kubelet MilliCPUToShares): 0 → 2, clamp(m*1024/1000, 2, 262144). */
uint64_t cg_millicores_to_shares(uint64_t millicores);
/* Shares → millicores, the inverse rounded to nearest (2 shares → 2m, 1024 → 1000m). */
uint64_t cg_shares_to_millicores(uint64_t shares);
/* Millicores of limit → cpu.max (kubelet MilliCPUToQuota with period 100000): quota = m*100,
 * at least 1000; 0 (no limit) → quota CG_UNLIMITED. */
void cg_cpu_limit_to_max(uint64_t millicores, struct cg_cpu_max *ret);
/* cpu.max → millicores of limit (quota*1000/period rounded up); CG_UNLIMITED when "max". */
uint64_t cg_cpu_max_to_millicores(const struct cg_cpu_max *m);

/* The two shares→weight formulas in the field. */
enum cg_weight_formula {
	/* kubelet (pod and QoS cgroups), runc ≤ 1.3.1, crun < 1.23: 1 + ((s-2)*9999)/262142. */
	CG_WEIGHT_KUBELET,
	/* runc ≥ 1.3.2, crun ≥ 1.23: ceil(10^((L²+125L)/612 − 7/34)), L = log2(s). */
	CG_WEIGHT_LOG,
};
const char *cg_weight_formula_to_string(enum cg_weight_formula f);
uint64_t cg_shares_to_weight_kubelet(uint64_t shares);
uint64_t cg_shares_to_weight_log(uint64_t shares);
uint64_t cg_shares_to_weight(enum cg_weight_formula f, uint64_t shares);
/* kubelet's reverse: ((w-1)*262142)/9999 + 2. */
uint64_t cg_weight_to_shares_kubelet(uint64_t weight);
/* Inverse of the log formula: the middle of the shares range that maps to weight (clamped). */
uint64_t cg_weight_to_shares_log(uint64_t weight);
uint64_t cg_weight_to_shares(enum cg_weight_formula f, uint64_t weight);
/* Which formula produced weight for a container whose CPU request is request_millicores:
 * 0 and *ret set when exactly one matches; -EAGAIN when both give this weight (e.g. 2 shares → 1:
 * ask another container); -EINVAL when neither does. */
int cg_weight_formula_detect(uint64_t weight, uint64_t request_millicores,
			     enum cg_weight_formula *ret);
