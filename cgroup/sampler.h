/* The sampler: cgroup files of tracked containers read in one batch per tick (io_uring or pread). */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cgroup/files.h"
#include "cgroup/tree.h"

enum cg_sampler_mode {
	/* pread on a real cgroup2 tree (measured cheaper there: see cg_sampler_new), else io_uring,
	 * or pread when io_uring cannot be set up */
	CG_SAMPLER_AUTO,
	CG_SAMPLER_URING,	    /* one io_uring submission of preads at offset 0 on kept fds */
	CG_SAMPLER_PREAD,	    /* pread(fd, 0) on kept fds, one syscall per file */
	CG_SAMPLER_OPEN_READ_CLOSE, /* open/read/close every file every tick: the baseline of most agents */
};
const char *cg_sampler_mode_to_string(enum cg_sampler_mode m); /* auto uring pread orc */
/* Accepts "auto", "uring"/"io_uring", "pread", "orc"/"open-read-close". */
int cg_sampler_mode_from_string(const char *s, enum cg_sampler_mode *ret);

/* The files a sampler can read; a bit set in cg_sample.present when that part is valid. */
enum cg_file {
	CG_FILE_CPU_STAT,
	CG_FILE_MEMORY_CURRENT,
	CG_FILE_MEMORY_PEAK,
	CG_FILE_MEMORY_STAT,
	CG_FILE_MEMORY_EVENTS,
	CG_FILE_CPU_PRESSURE,
	CG_FILE_MEMORY_PRESSURE,
	CG_FILE_CPU_MAX,
	CG_FILE_CPU_WEIGHT,
	CG_FILE_MEMORY_MAX,
	CG_FILE_MEMORY_HIGH,
	_CG_FILE_MAX,
};
#define CG_FILE_BIT(f) (1u << (f))
#define CG_FILES_ALL ((1u << _CG_FILE_MAX) - 1)
/* Usage and pressure without the limit files: the sampler benchmark's lighter set. */
#define CG_FILES_USAGE                                                                             \
	(CG_FILE_BIT(CG_FILE_CPU_STAT) | CG_FILE_BIT(CG_FILE_MEMORY_CURRENT) |                     \
	 CG_FILE_BIT(CG_FILE_MEMORY_PEAK) | CG_FILE_BIT(CG_FILE_MEMORY_STAT) |                     \
	 CG_FILE_BIT(CG_FILE_MEMORY_EVENTS) | CG_FILE_BIT(CG_FILE_CPU_PRESSURE) |                  \
	 CG_FILE_BIT(CG_FILE_MEMORY_PRESSURE))
const char *cg_file_name(enum cg_file f); /* "cpu.stat", ... */

struct cg_sample {
	uint64_t
		timestamp_usec; /* CLOCK_MONOTONIC, taken once per tick after all reads completed */
	/* 0, or -ENODEV when the cgroup vanished (container exited: drop it), or another -errno
	 * from reading; when set, nothing below is valid. */
	int error;
	/* CG_FILE_BIT()s of the parts below that were read and parsed this tick. A file missing at
	 * add time (memory.peak before 5.19, PSI off) is never present; a file that failed to parse
	 * is left out and its error kept in parse_error. */
	unsigned present;
	int parse_error;
	struct cg_cpu_stat
		cpu; /* usage/user/system_usec, nr_periods, nr_throttled, throttled_usec */
	uint64_t memory_current;
	uint64_t memory_peak;
	/* current − inactive_file, clamped at 0; valid when MEMORY_CURRENT and MEMORY_STAT are. */
	uint64_t memory_working_set;
	struct cg_memory_stat memory_stat;
	struct cg_memory_events memory_events;
	struct cg_pressure cpu_pressure;
	struct cg_pressure memory_pressure;
	struct cg_cpu_max cpu_max;
	uint64_t cpu_weight;
	uint64_t memory_max;  /* CG_UNLIMITED for "max" */
	uint64_t memory_high; /* CG_UNLIMITED for "max" */
};

struct cg_sampler;
struct cg_sampler_entry;

/* Creates a sampler reading the files in `files` (CG_FILES_ALL, CG_FILES_USAGE...) beneath tree
 * (borrowed; must outlive the sampler). AUTO picks pread when tree is a real cgroup2 (kernfs)
 * mount: there every io_uring read is punted to an io-wq worker, and bench-sampler measured pread
 * on kept fds 4.3x cheaper than open/read/close at 1000 containers, the io_uring batch only 2.1x
 * (CPU and wall alike; 100 containers: 5.6x vs 3.4x CPU; Debian 6.1 under TCG). Elsewhere
 * (plain files, as in tests) AUTO picks io_uring when a ring can be set up and a probe request
 * completes, else pread (ENOSYS on old kernels, EPERM under seccomp or
 * kernel.io_uring_disabled). cg_sampler_mode() says which. URING fails instead of falling back. */
int cg_sampler_new(struct cg_tree *tree, enum cg_sampler_mode mode, unsigned files,
		   struct cg_sampler **ret);
struct cg_sampler *cg_sampler_free(struct cg_sampler *s);
static inline void cg_sampler_freep(struct cg_sampler **s)
{
	if (*s)
		cg_sampler_free(*s);
}
/* The mode in use (never AUTO). */
enum cg_sampler_mode cg_sampler_mode(const struct cg_sampler *s);

/* Starts tracking the cgroup directory relpath (relative to the tree root): opens its files once
 * (except in OPEN_READ_CLOSE mode) and allocates its buffers; files it does not have are skipped
 * (cg_sampler_entry_files() says which are read). -ENOENT when the directory or its cpu.stat is not
 * there, -EINVAL for an invalid path, -EMFILE when out of fds (raise RLIMIT_NOFILE). */
int cg_sampler_add(struct cg_sampler *s, const char *relpath, void *userdata,
		   struct cg_sampler_entry **ret);
/* Stops tracking: closes the fds, frees the buffers. */
void cg_sampler_remove(struct cg_sampler *s, struct cg_sampler_entry *e);

/* Reads every tracked container's files once and parses them into each entry's sample. Synchronous
 * (io_uring_submit_and_wait in URING mode); no allocation. A container that vanished or failed to
 * read is reported in its own sample's error, never as a tick failure. Returns the number of
 * entries whose sample has error == 0, or -errno when the tick itself failed (ring broken). */
int cg_sampler_tick(struct cg_sampler *s);

size_t cg_sampler_n_entries(const struct cg_sampler *s);
struct cg_sampler_entry *cg_sampler_entry_at(const struct cg_sampler *s, size_t i);
const struct cg_sample *cg_sampler_entry_sample(const struct cg_sampler_entry *e);
const char *cg_sampler_entry_path(const struct cg_sampler_entry *e);
void *cg_sampler_entry_userdata(const struct cg_sampler_entry *e);
unsigned cg_sampler_entry_files(const struct cg_sampler_entry *e);

/* Kept fds add up (11 per container): raises RLIMIT_NOFILE's soft limit to the hard limit and, when
 * that is still below want and the process may (CAP_SYS_RESOURCE), the hard limit too (up to
 * fs.nr_open). Sets *ret_old and *ret_new (soft limits); returns 0 or -errno. The caller logs. */
int cg_raise_nofile(uint64_t want, uint64_t *ret_old, uint64_t *ret_new);
/* The fds a sampler with `files` needs for n containers (plus a margin for everything else). */
uint64_t cg_sampler_fds_needed(unsigned files, size_t n_containers);
