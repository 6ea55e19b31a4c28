/* Carrying out a decision: the API resize first, then the cgroup limits, then the record of it. */
#pragma once

#include <stdint.h>

#include "agent/agent.h"
#include "agent/decide.h"
#include "cgroup/files.h"
#include "cgroup/layout.h"
#include "cgroup/tree.h"

struct kube_pod;

/* Resizes through the API (unless report-only or --dry-run); on acceptance writes the cgroups in
 * the decision's order and annotates the pod with snug.io/last-resize. */
void act_apply(struct agent *a, struct agent_pod *p, struct agent_container *c,
	       const struct kube_pod *pod, const struct decide_decision *d);
/* At shutdown, after kube_client_free(): frees the contexts of resizes, read-backs and
 * snug.io/last-resize writes that were still pending (their callbacks never run now). */
void act_free_inflight(struct agent *a);
/* Follows the kubelet's answer to a resize from the pod status: limits written into the cgroups
 * before it admitted them are put back when it defers, refuses or fails them. */
void act_pod_status(struct agent *a, struct agent_pod *p, const struct kube_pod *pod);

/* How cgroup limits are written: files for the cgroupfs driver, systemd unit properties over D-Bus
 * for the systemd driver (systemd would undo a raw write on its next reload). */
struct act_cgroup_target {
	struct cg_tree *tree;
	enum cg_driver driver;
	const char *pod_path;	    /* relative to the tree */
	const char *container_path; /* relative to the tree */
	/* The formula the node's runtime uses for a container's cpu.weight (the pod's is the
	 * kubelet's). */
	enum cg_weight_formula container_weight_formula;
	/* --dry-run: log what would be written. */
	bool dry_run;
};

/* Writes the decision's steps in order. Returns 0 or the first -errno (later steps are skipped so
 * the safe order is never broken). */
int act_write_cgroups(const struct act_cgroup_target *t, const struct decide_decision *d);

/* The decision that undoes d's cgroup writes: its steps backwards, each back to its old value. */
void act_revert_of(const struct decide_decision *d, struct decide_decision *ret);
/* Removes d's steps that write file at level. */
void act_drop_steps(struct decide_decision *d, enum decide_level level, enum decide_file file);

/* The systemd unit properties for one step, as SetUnitProperties takes them; exposed for tests. */
struct act_unit_property {
	const char *name; /* "MemoryMax", "CPUQuotaPerSecUSec", "CPUQuotaPeriodUSec", "CPUWeight" */
	uint64_t value;
};
/* systemd keeps CPUQuotaPerSecUSec across `daemon-reload` only in whole percents of a CPU. */
#define ACT_SYSTEMD_QUOTA_GRAIN_USEC 10000
/* Fills up to 2 properties for one step; returns how many. A CPU quota is rounded up to
 * ACT_SYSTEMD_QUOTA_GRAIN_USEC per second. */
int act_step_unit_properties(const struct decide_step *s, enum cg_weight_formula f,
			     struct act_unit_property ret[2]);
