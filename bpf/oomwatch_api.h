/* oomwatch for the agent: OOM kills and memory pressure of tracked cgroups, delivered in an sd-event loop. */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <systemd/sd-event.h>

#include "bpf/oomwatch.h"
#include "cgroup/files.h"

/*
 * Two sources feed one callback:
 *  - BPF (tracepoint oom/mark_victim → ring buffer → its epoll fd as an sd-event io source): one
 *    OOMWATCH_KILL record per kill with pid, comm, rss and the kernel's timestamp.
 *  - memory.events of every tracked cgroup (inotify IN_MODIFY): always watched for `max`/`high`
 *    growth (OOMWATCH_PRESSURE records); its `oom_kill` growth becomes OOMWATCH_KILL records when
 *    BPF is not active, and also when BPF is active but missed a kill (missed_by_bpf set, once
 *    config->missed_grace_usec passed without its BPF record).
 */

enum oomwatch_kind {
	OOMWATCH_KILL = 1,
	OOMWATCH_PRESSURE = 2,
};

enum oomwatch_source {
	OOMWATCH_SOURCE_BPF = 1,
	OOMWATCH_SOURCE_MEMORY_EVENTS = 2,
};

struct oomwatch_record {
	enum oomwatch_kind kind;
	enum oomwatch_source source;
	/* The cgroup the record is about: BPF → the victim's leaf cgroup (its directory inode, 0 when
	 * it could not be resolved); memory.events → the tracked cgroup. */
	uint64_t cgroup_id;
	/* The userdata given to oomwatch_track() for that cgroup (or its parent), or what the config's
	 * lookup callback returned for an untracked id; NULL when nobody knows the cgroup. */
	void *container;
	/* CLOCK_MONOTONIC ns: kernel_ns when the tracepoint fired (BPF only, else 0); seen_ns when
	 * user space read the record (the callback runs right after). */
	uint64_t kernel_ns;
	uint64_t seen_ns;

	/* OOMWATCH_KILL: how many kills this record stands for (BPF: 1; memory.events: the delta). */
	uint64_t kills;
	/* BPF only (0 / "" from memory.events). */
	uint32_t pid;
	uint32_t tgid;
	uint32_t uid;
	int oom_score_adj;
	char comm[OOMWATCH_COMM_LEN];
	uint64_t total_vm_kb;
	uint64_t anon_rss_kb;
	uint64_t file_rss_kb;
	uint64_t shmem_rss_kb;
	/* How the victim's cgroup was found (enum oomwatch_victim_via; 0 for memory.events). */
	int via;
	/* A memory.events kill record while BPF is active: the ring buffer did not deliver it. */
	bool missed_by_bpf;

	/* memory.events records (both kinds): growth since the last read and the counters now. A
	 * counter that went down (cgroup recreated under the same entry) counts from zero. */
	uint64_t high_delta;
	uint64_t max_delta;
	uint64_t oom_delta;
	struct cg_memory_events counters; /* memory.events now (oom_group_kill 0 before 5.17) */
};

typedef void (*oomwatch_handler_t)(const struct oomwatch_record *rec, void *userdata);
/* Maps a cgroup id that is not tracked (e.g. a container created since the last discovery) to a
 * container userdata, or NULL. parent_id is the cgroup's parent (0 when unknown). */
typedef void *(*oomwatch_lookup_t)(uint64_t cgroup_id, uint64_t parent_id, void *userdata);

struct oomwatch_config {
	/* Do not try BPF: memory.events only (operators, tests, kernels known to misbehave). */
	bool no_bpf;
	/* memory.events reports every oom_kill growth even when BPF is active (duplicates on purpose:
	 * the latency benchmark observes each kill through both paths). */
	bool report_all_sources;
	/* Where cgroup2 is mounted, to turn /proc/<pid>/cgroup paths into ids; NULL = /sys/fs/cgroup. */
	const char *cgroup_root;
	oomwatch_lookup_t lookup;
	/* Which BPF program: 0 = the best the kernel allows (tp_btf when mark_victim passes the task,
	 * else the classic tracepoint with the SIGKILL helper, else the classic one alone), or force
	 * one: OOMWATCH_VIA_TASK, OOMWATCH_VIA_CURRENT (classic + helper), OOMWATCH_VIA_PROC (classic
	 * alone: a victim other than current is looked up in /proc). */
	int bpf_program;
	/* With BPF active, how long a kill memory.events counted may wait for its BPF record before it
	 * is reported as missed_by_bpf (the kernel counts the kill just before the tracepoint fires);
	 * 0 = 1 s. */
	uint64_t missed_grace_usec;
};

struct oomwatch;

/* Starts watching: tries BPF (unless config->no_bpf) and falls back to memory.events alone when it
 * cannot load or attach (no BTF, no privilege, tracepoint missing, lockdown): that is not an error,
 * oomwatch_source() says which one is active. config may be NULL (defaults). */
int oomwatch_new(sd_event *event, const struct oomwatch_config *config, oomwatch_handler_t handler,
		 void *userdata, struct oomwatch **ret);
struct oomwatch *oomwatch_free(struct oomwatch *ow);
static inline void oomwatch_freep(struct oomwatch **ow)
{
	if (*ow)
		oomwatch_free(*ow);
}

/* Flags for oomwatch_track(). */
enum {
	/* The cgroup appeared after watching started: counts already in memory.events happened in
	 * it while we were not looking yet, so they are reported (without it they are the baseline). */
	OOMWATCH_TRACK_NEW = 1 << 0,
};

/* Tracks the cgroup directory path (relative to dir_fd, or absolute; AT_FDCWD works) whose inode is
 * cgroup_id: BPF records with that id (or whose parent has it) carry container, and its
 * memory.events is watched. Tracking an id again updates container (and retries the watch when
 * memory.events was missing). A recreated container is
 * a new id: untrack the old one, track the new one with OOMWATCH_TRACK_NEW. The handler may call
 * track/untrack. -ENOENT/-ENOTDIR when the directory is gone. */
int oomwatch_track(struct oomwatch *ow, uint64_t cgroup_id, int dir_fd, const char *path,
		   unsigned flags, void *container);
/* Stops watching cgroup_id; -ENOENT when it was not tracked. Kills its memory.events counted
 * that no BPF record claimed yet are reported first (the handler runs inside this call). */
int oomwatch_untrack(struct oomwatch *ow, uint64_t cgroup_id);
size_t oomwatch_tracked(const struct oomwatch *ow);

/* Which source delivers kills; the metrics module exports it, oomwatch_log_source() logs it. */
enum oomwatch_source oomwatch_source(const struct oomwatch *ow);
const char *oomwatch_source_to_string(enum oomwatch_source s);
/* Why BPF is not active (-errno; -ECANCELED for config->no_bpf), 0 when it is. */
int oomwatch_bpf_error(const struct oomwatch *ow);
/* With BPF active, the program in use: OOMWATCH_VIA_TASK (tp_btf), OOMWATCH_VIA_CURRENT (classic tp
 * + signal_generate helper) or OOMWATCH_VIA_PROC (classic tp alone); 0 otherwise. Each record's via
 * says how its victim was found: task, current, signal or proc. */
int oomwatch_bpf_mode(const struct oomwatch *ow);
const char *oomwatch_via_to_string(int via);
/* Records the kernel could not queue because the ring buffer was full (BPF only). */
uint64_t oomwatch_bpf_dropped(const struct oomwatch *ow);
/* With BPF active, the accuracy (us) of the timer that reports kills BPF missed; -ENODATA
 * otherwise. For tests: that report is on the OOM path and must not get sd-event's 250 ms slack. */
int oomwatch_missed_timer_accuracy(const struct oomwatch *ow, uint64_t *ret);
/* Logs the active source once at info (BPF) or warning (fallback, with the reason). */
void oomwatch_log_source(const struct oomwatch *ow);

/* Drains pending BPF records and re-reads every tracked memory.events now (the loop does this on
 * its own; tests and shutdown use it). */
int oomwatch_flush(struct oomwatch *ow);
