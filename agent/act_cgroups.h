/* A decision's cgroup steps as limit writes for cgroup/'s backends, in the decision's order, and their undoing. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "agent/decide.h"
#include "cgroup/files.h"
#include "cgroup/limits.h"

/* Where a container's limits go: the backend of the cgroup driver its pod was found under (files
 * for cgroupfs, unit properties for systemd) and the two cgroups. */
struct act_cgroup_target {
	const struct cg_limits_backend *backend;
	const char *pod_path;	    /* relative to the tree */
	const char *container_path; /* relative to the tree */
	/* The formula the node's runtime uses for a container's cpu.weight (the pod's is the
	 * kubelet's). */
	enum cg_weight_formula container_weight_formula;
	/* --dry-run: log what would be written. */
	bool dry_run;
};

/* d's steps as limit writes, in d's order: -1 ("max") as CG_UNLIMITED, a CPU request as the
 * cpu.weight the kubelet (pod) or the runtime (container) would give it, a lowered memory.max kept
 * above the cgroup's usage. Paths point into t. Returns how many (d->n_steps), or -ENOENT when t
 * lacks a path a step needs. */
int act_limit_writes(const struct act_cgroup_target *t, const struct decide_decision *d,
		     struct cg_limit_write ret[DECIDE_MAX_STEPS]);

/* r: 0, or the first -errno (the later steps were not written, so the safe order is never
 * broken); -ECANCELED when the writer was freed first (the agent is stopping). */
typedef void (*act_cgroups_done_fn)(int r, void *userdata);
/* Writes d's steps in order through l; a memory.max not lowered under usage is logged. done runs
 * once, maybe before this returns. Returns 0, or -errno when nothing was started (done does not
 * run). */
int act_write_cgroups(struct cg_limits *l, const struct act_cgroup_target *t,
		      const struct decide_decision *d, act_cgroups_done_fn done, void *userdata);

/* The decision that undoes d's cgroup writes: its steps backwards, each back to its old value. */
void act_revert_of(const struct decide_decision *d, struct decide_decision *ret);
/* Removes d's steps that write file at level. */
void act_drop_steps(struct decide_decision *d, enum decide_level level, enum decide_file file);

/* What act_drop_unwritten() reads the node's cgroups with, and the runtime's cpu.weight formula it
 * learns once (known, formula: the agent's, updated in place). */
struct act_node_writes {
	struct cg_tree *tree;
	bool *weight_formula_known;
	enum cg_weight_formula *container_weight_formula;
};
/* Leaves out of d what the kubelet and the runtime would not write on this node: cpu.max where the
 * cgroup holds no quota though the spec has a limit (cpuCFSQuota off, exclusive CPUs), and the
 * container's cpu.weight until the runtime's formula is learnt. who names the container in logs. */
void act_drop_unwritten(const struct act_node_writes *w, const char *pod_path,
			const char *container_path, const char *who, struct decide_decision *d);
