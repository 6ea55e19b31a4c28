/* Setting a cgroup's limits through whoever owns its tree: files, or systemd unit properties over D-Bus, behind one table of functions. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <systemd/sd-bus.h>
#include <systemd/sd-event.h>

#include "cgroup/files.h"
#include "cgroup/layout.h"
#include "cgroup/tree.h"

enum cg_limit {
	CG_LIMIT_MEMORY_MAX, /* value: bytes; CG_UNLIMITED = "max" */
	CG_LIMIT_CPU_MAX,    /* value: the CPU limit in millicores; CG_UNLIMITED = no quota */
	CG_LIMIT_CPU_WEIGHT, /* value: the weight itself, 1..10000 */
};
/* "memory.max", "cpu.max", "cpu.weight". */
const char *cg_limit_to_string(enum cg_limit l);

/* One limit of one cgroup. */
struct cg_limit_write {
	const char *path; /* the cgroup, relative to the tree */
	enum cg_limit limit;
	uint64_t value;
	/* A memory.max being lowered: left as it is when the cgroup uses more than value at the
	 * moment of the write (the kernel would reclaim, then OOM-kill, to get under it). */
	bool not_below_usage;
};

enum cg_limit_outcome {
	CG_LIMIT_NOT_REACHED, /* a write before it failed, or the writer was freed first */
	CG_LIMIT_WRITTEN,
	CG_LIMIT_KEPT_UNDER_USAGE, /* not_below_usage, and the cgroup used more */
	CG_LIMIT_FAILED,
};

struct cg_limit_result {
	enum cg_limit_outcome outcome;
	int error;	/* FAILED: -errno */
	uint64_t usage; /* KEPT_UNDER_USAGE: memory.current at the time */
};

/* A sequence has finished: r is 0 when every write was written or kept, else the -errno of the one
 * that failed (the later ones were not tried), -ECANCELED when the writer was freed first.
 * writes[i] and results[i] (n of each) are valid during the call only. */
typedef void (*cg_limits_done_fn)(int r, const struct cg_limit_write *writes,
				  const struct cg_limit_result *results, size_t n, void *userdata);

struct cg_limits;

/* How limits are set on cgroups that belong to one cgroup driver (crun's
 * libcrun_cgroup_manager): chosen by cg_limits_backend_of(), called only by cg_limits. */
struct cg_limits_backend {
	const char *name; /* "cgroupfs", "systemd" */
	/* Starts setting w and returns 0; it finishes with cg_limits_write_done(), called once,
	 * either before this returns or later from the event loop. A return < 0 means it never
	 * started (and cg_limits_write_done() is not called). */
	int (*write)(struct cg_limits *l, const struct cg_limit_write *w);
	/* Forgets the write started last and not finished: it will not be finished. */
	void (*abandon)(struct cg_limits *l);
};
/* The backend that finishes it reports r (0 or -errno) here. */
void cg_limits_write_done(struct cg_limits *l, int r);

/* Files for the cgroupfs driver; unit properties (SetUnitProperties over D-Bus) for the systemd
 * driver, whose slices and scopes systemd re-applies on every reload (it would undo a file write). */
const struct cg_limits_backend *cg_limits_backend_of(enum cg_driver driver);

/* The limit writer of one tree; borrows tree and event, which must outlive it. */
int cg_limits_new(struct cg_tree *tree, sd_event *event, struct cg_limits **ret);
/* Finishes what is still queued with -ECANCELED (their done runs now, and must not queue more). */
struct cg_limits *cg_limits_free(struct cg_limits *l);
static inline void cg_limits_freep(struct cg_limits **l)
{
	if (*l)
		cg_limits_free(*l);
}

/* Sets writes[0..n) through backend b, strictly in order: each write starts when the one before
 * has finished (on D-Bus: when its reply came), and the first failure ends the sequence.
 * Sequences run one at a time, in the order they were given: one that undoes another never
 * overtakes it. done runs once, possibly before this returns (files are written at once, when
 * nothing is queued ahead). Returns 0, or -errno when nothing was queued (done never runs). */
int cg_limits_write(struct cg_limits *l, const struct cg_limits_backend *b,
		    const struct cg_limit_write *writes, size_t n, cg_limits_done_fn done,
		    void *userdata);
/* Sequences queued or running. */
size_t cg_limits_pending(const struct cg_limits *l);

/* How long a D-Bus write waits for systemd's reply before it fails with -ETIMEDOUT. */
#define CG_LIMITS_DBUS_TIMEOUT_USEC (10ULL * 1000 * 1000)
void cg_limits_set_dbus_timeout(struct cg_limits *l, uint64_t usec);
/* The systemd backend's connection: by default the system bus, opened at its first write, kept
 * attached to the event loop, and opened again after a disconnect. Tests give a connection to a
 * fake systemd here (a reference is taken; it is attached to the loop). */
int cg_limits_set_bus(struct cg_limits *l, sd_bus *bus);

/* A systemd unit property as SetUnitProperties takes it (all of ours are "t"). */
struct cg_unit_property {
	const char *name; /* "MemoryMax", "CPUQuotaPerSecUSec", "CPUQuotaPeriodUSec", "CPUWeight" */
	uint64_t value;
};
/* systemd keeps CPUQuotaPerSecUSec across `daemon-reload` only in whole percents of a CPU. */
#define CG_SYSTEMD_QUOTA_GRAIN_USEC 10000
/* The properties (1 or 2) that set w on a unit; returns how many, or -EINVAL. A CPU quota is
 * rounded up to CG_SYSTEMD_QUOTA_GRAIN_USEC per second. */
int cg_limit_unit_properties(const struct cg_limit_write *w, struct cg_unit_property ret[2]);
