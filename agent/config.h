/* The settings of `snug-agent run`: flags and environment turned into one validated struct. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "agent/decide.h"
#include "agent/policy.h"
#include "agent/recommender/recommender.h"
#include "cgroup/sampler.h"

struct agent_config {
	char *node_name;   /* --node-name / $NODE_NAME (required) */
	char *kubeconfig;  /* --kubeconfig; NULL = in-cluster, then $KUBECONFIG, ~/.kube/config */
	char *cgroup_root; /* --cgroup-root (/sys/fs/cgroup) */
	char *state_dir;   /* --state-dir (/var/lib/snug) */
	char *listen;	   /* --listen (:9746) */
	uint64_t sample_interval_usec;	   /* --sample-interval (1 s) */
	uint64_t checkpoint_interval_usec; /* --checkpoint-interval (5 min) */
	uint64_t decide_interval_usec;	   /* --decide-interval (15 s): recommendation checks */
	uint64_t rescan_interval_usec;	   /* cgroup rescan when inotify is not enough (10 s) */
	uint64_t node_refresh_usec; /* --node-refresh (1 min): re-read the Node's allocatable */
	/* --hpa-refresh (5 min): list a namespace's HorizontalPodAutoscalers again; 0 = never list
	 * them (requests an HPA scales on are then resized like any other) */
	uint64_t hpa_refresh_usec;
	/* --history-interval (10 min): write this node's WorkloadHistory entries and read the other
	 * nodes'; 0 = history stays node-local */
	uint64_t history_interval_usec;
	bool dry_run;  /* --dry-run */
	bool api_only; /* --api-only: resize through the API, the kubelet writes cgroups */
	bool no_bpf;   /* --no-bpf */
	int log_level; /* --log-level */
	enum cg_sampler_mode sampler_mode; /* --sampler */
	struct pol_defaults policy;	   /* --default-mode, --max-cpu, --max-memory */
	struct decide_config decide;	   /* --min-change, --cooldown, throttling thresholds */
	struct rec_tunables tunables;	   /* VPA's flags; --test-half-life shortens the decay */
	/* --min-history (10 min): recommendation-driven resizes wait for this much CPU history;
	 * OOM kills, pressure and throttling act at once regardless. */
	uint64_t min_history_usec;
	/* --pressure-lookahead (3 s): memory pressure is judged on the working set this far ahead at
	 * its current growth rate, so the limit grows before a steady leak reaches it. */
	uint64_t pressure_lookahead_usec;
	/* --admission-timeout (30 s): values written into the cgroups for a resize the kubelet has
	 * neither admitted nor refused by then are reverted to what it actuated. */
	uint64_t admission_timeout_usec;
	unsigned max_evictions; /* --max-evictions per --eviction-interval on this node (1) */
	uint64_t eviction_interval_usec; /* (5 min) */
};

/* Fills the defaults above. */
void agent_config_init(struct agent_config *c);
void agent_config_done(struct agent_config *c);

/* Parses `run`'s arguments (argv[0] is "run"). Returns 0 to run, 1 when --help was printed, or
 * -EINVAL after printing what is wrong to stderr. */
int agent_config_parse(int argc, char **argv, struct agent_config *c);
